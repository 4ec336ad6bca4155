import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseForbiddenMessage } from '../../../lib/authz/forbidden-message.js';
import { fixtureJson } from '../chain/fixtures.js';

const messages = fixtureJson<Record<string, string>>('forbidden-messages.json');

describe('parseForbiddenMessage on real 403 messages', () => {
  it('reads a namespaced resource denial with the core group (non-EKS secrets sample)', () => {
    expect(parseForbiddenMessage(messages['non-eks-secrets-namespace'] as string)).toEqual({
      ok: true,
      value: {
        username: 'mayor-malware',
        verb: 'list',
        resource: 'secrets',
        apiGroup: '',
        namespace: 'wareville',
        scope: 'namespace',
      },
    });
  });

  it('reads a cluster-scope denial with a group-qualified resource (EKS workshop kube-scheduler)', () => {
    expect(parseForbiddenMessage(messages['eks-workshop-pdb-cluster-scope'] as string)).toEqual({
      ok: true,
      value: {
        username: 'system:kube-scheduler',
        verb: 'list',
        resource: 'poddisruptionbudgets',
        apiGroup: 'policy',
        scope: 'cluster',
      },
    });
  });

  it.each([
    ['non-eks-anonymous-head-path', 'head', '/'],
    ['panther-anonymous-get-path', 'get', '/vendor/phpunit/src/Util/PHP/eval-stdin.php'],
  ])('reads a non-resource path denial (%s)', (key, verb, path) => {
    expect(parseForbiddenMessage(messages[key] as string)).toEqual({
      ok: true,
      value: { username: 'system:anonymous', verb, path, scope: 'path' },
    });
  });
});

describe('parseForbiddenMessage grammar variants', () => {
  it.each([
    [
      'named object with subresource',
      'pods "web-0" is forbidden: User "dev" cannot create resource "pods/exec" in API group "" in the namespace "prod"',
      {
        username: 'dev',
        verb: 'create',
        resource: 'pods',
        subresource: 'exec',
        apiGroup: '',
        namespace: 'prod',
        name: 'web-0',
        scope: 'namespace',
      },
    ],
    [
      'newer reason suffix (plain)',
      'secrets is forbidden: User "u" cannot get resource "secrets" in API group "" in the namespace "a": RBAC: role.rbac.authorization.k8s.io "r" not found',
      {
        username: 'u',
        verb: 'get',
        resource: 'secrets',
        apiGroup: '',
        namespace: 'a',
        scope: 'namespace',
        reasonSuffix: 'RBAC: role.rbac.authorization.k8s.io "r" not found',
      },
    ],
    [
      'older reason suffix (Go-quoted)',
      'nodes is forbidden: User "u" cannot list resource "nodes" in API group "" at the cluster scope: "no \\"rule\\""',
      { username: 'u', verb: 'list', resource: 'nodes', apiGroup: '', scope: 'cluster', reasonSuffix: 'no "rule"' },
    ],
    [
      'username with escaped quote and an access-entry style ARN username',
      'configmaps is forbidden: User "arn:aws:sts::111122223333:assumed-role/dev/a\\"b" cannot watch resource "configmaps" in API group "" at the cluster scope',
      {
        username: 'arn:aws:sts::111122223333:assumed-role/dev/a"b',
        verb: 'watch',
        resource: 'configmaps',
        apiGroup: '',
        scope: 'cluster',
      },
    ],
  ])('%s', (_name, message, expected) => {
    expect(parseForbiddenMessage(message)).toEqual({ ok: true, value: expected });
  });
});

describe('parseForbiddenMessage rejects what is not an authorization denial', () => {
  it.each([
    ['empty', ''],
    ['admission / PodSecurity 403', 'pods "x" is forbidden: violates PodSecurity "restricted:latest": privileged'],
    [
      'terminating namespace',
      'pods "x" is forbidden: unable to create new content in namespace a because it is being terminated',
    ],
    ['unterminated username', 'secrets is forbidden: User "u cannot list resource "secrets"'],
    ['missing scope', 'secrets is forbidden: User "u" cannot list resource "secrets" in API group ""'],
    ['neither resource nor path', 'forbidden: User "u" cannot get thing "x"'],
    ['free text', 'Unauthorized'],
  ])('%s', (_name, message) => {
    const r = parseForbiddenMessage(message);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.code).toBe('FORBIDDEN_MESSAGE_GRAMMAR');
  });
});

describe('parseForbiddenMessage is total', () => {
  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(typeof parseForbiddenMessage(s).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on message-shaped fragments', () => {
    const frag = fc.constantFrom(
      'secrets ',
      'is forbidden: ',
      'forbidden: ',
      'User ',
      '"u"',
      '"',
      '\\',
      ' cannot ',
      'get ',
      'resource ',
      'path ',
      '"pods/log"',
      ' in API group ',
      '""',
      ' in the namespace ',
      ' at the cluster scope',
      ': ',
    );
    fc.assert(
      fc.property(fc.array(frag, { maxLength: 14 }), (parts) => {
        expect(typeof parseForbiddenMessage(parts.join('')).ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});
