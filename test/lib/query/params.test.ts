import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePrincipal, parseQuestionParams, parseTouchedTarget } from '../../../lib/query/params.js';

const NOW = Date.parse('2026-11-01T12:00:00Z');

describe('parseQuestionParams', () => {
  it('builds typed who-did parameters with a canonical principal and an absolute window', () => {
    const r = parseQuestionParams(
      'who-did',
      {
        cluster: 'prod',
        principal: 'arn:aws:sts::111122223333:assumed-role/Admin/alice',
        since: '2h',
        verb: 'GET,list',
        limit: '10',
      },
      NOW,
    );
    expect(r).toEqual({
      ok: true,
      value: {
        question: 'who-did',
        cluster: 'prod',
        range: { from: '2026-11-01T10:00:00.000Z', to: '2026-11-01T12:00:00.000Z' },
        limit: 10,
        principal: {
          arn: 'arn:aws:sts::111122223333:assumed-role/Admin/alice',
          matchKey: 'arn:aws:iam::111122223333:role/admin',
          canonicalArn: 'arn:aws:iam::111122223333:role/Admin',
          sessionName: 'alice',
        },
        verbs: ['get', 'list'],
      },
    });
  });

  it('accepts camelCase keys from JSON callers and `mappings` as mappings-history', () => {
    const r = parseQuestionParams('explain', { auditId: 'fb5dba68-6262-4718-b45e-d293b03e434d' }, NOW);
    expect(r.ok && r.value).toEqual({ question: 'explain', auditId: 'fb5dba68-6262-4718-b45e-d293b03e434d' });
    expect(parseQuestionParams('mappings', {}, NOW).ok).toBe(true);
  });

  it.each([
    ['frob', {}, 'question'],
    ['who-did', { namspace: 'x' }, 'namspace'],
    ['who-did', { outcome: 'maybe' }, 'outcome'],
    ['who-did', { limit: '0' }, 'limit'],
    ['who-did', { limit: '5000' }, 'limit'],
    ['who-did', { principal: 'alice' }, 'principal'],
    ['who-did', { principal: 'arn:aws:iam::111122223333:role/a', human: 'bob' }, 'principal'],
    ['who-did', { cluster: 'bad name' }, 'cluster'],
    ['who-did', { since: '3mo' }, 'since'],
    ['explain', {}, 'audit-id'],
    ['denied', { stage: 'rbac' }, 'stage'],
    ['access-at', { at: 'noon' }, 'at'],
    ['touched', {}, 'target'],
    ['touched', { target: 'a/b/c/d/e' }, 'target'],
    ['touched', { target: 'a//c' }, 'target'],
    ['touched', { target: '/.apps' }, 'target'],
    ['touched', { target: 'ns/pods', access: 'modify' }, 'access'],
    ['explain', { since: '1h', 'audit-id': 'x' }, 'since'],
  ])('%s %j is refused naming %s', (q, params, param) => {
    const r = parseQuestionParams(q, params, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe('QUERY_PARAM');
      expect(r.issues[0]?.path).toBe(param);
    }
  });

  it('lists the valid choices in the message of an enumeration', () => {
    const r = parseQuestionParams('who-did', { outcome: 'maybe' }, NOW);
    expect(!r.ok && r.issues[0]?.message).toBe('outcome: "maybe" is not one of allow, forbid, authn-failed, unknown');
  });

  it('never throws on arbitrary parameters', () => {
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string(), fc.jsonValue()), (q, params) => {
        parseQuestionParams(q, params, NOW);
      }),
    );
  });
});

describe('parseTouchedTarget', () => {
  it.each([
    [
      'kube-system/configmaps/aws-auth',
      { kind: 'object', namespace: 'kube-system', resource: 'configmaps', name: 'aws-auth' },
    ],
    ['/clusterrolebindings/admin', { kind: 'object', resource: 'clusterrolebindings', name: 'admin' }],
    ['-/clusterrolebindings/admin', { kind: 'object', resource: 'clusterrolebindings', name: 'admin' }],
    ['kube-system/secrets', { kind: 'resource', namespace: 'kube-system', resource: 'secrets' }],
    ['namespace/dev', { kind: 'namespace', namespace: 'dev' }],
    ['dev/', { kind: 'namespace', namespace: 'dev' }],
    ['secrets', { kind: 'resource', resource: 'secrets' }],
    ['deployments.apps', { kind: 'resource', resource: 'deployments', apiGroup: 'apps' }],
    [
      'kube-system/daemonsets.apps/aws-node',
      { kind: 'object', namespace: 'kube-system', resource: 'daemonsets', apiGroup: 'apps', name: 'aws-node' },
    ],
    [
      'payments/pods/log/api-0',
      { kind: 'object', namespace: 'payments', resource: 'pods', subresource: 'log', name: 'api-0' },
    ],
    ['/nodes/status/ip-10-0-0-1', { kind: 'object', resource: 'nodes', subresource: 'status', name: 'ip-10-0-0-1' }],
    ['/namespaces/payments', { kind: 'object', resource: 'namespaces', name: 'payments' }],
    ['/pods', { kind: 'resource', resource: 'pods', clusterScope: true }],
    [
      '/clusterrolebindings.rbac.authorization.k8s.io',
      { kind: 'resource', resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io', clusterScope: true },
    ],
  ])('%s', (text, value) => {
    expect(parseTouchedTarget(text)).toEqual({ ok: true, value });
  });
});

describe('parsePrincipal', () => {
  it('keeps IAM user paths (the authenticator does) and has no session filter', () => {
    const r = parsePrincipal('arn:aws:iam::111122223333:user/ops/bob');
    expect(r.ok && r.value).toEqual({
      arn: 'arn:aws:iam::111122223333:user/ops/bob',
      matchKey: 'arn:aws:iam::111122223333:user/ops/bob',
      canonicalArn: 'arn:aws:iam::111122223333:user/ops/bob',
    });
  });
});

describe('an account wildcard principal', () => {
  it.each([
    ['access-at', true],
    ['mappings-history', true],
    ['who-did', false],
    ['denied', false],
  ])('%s accepts arn:aws:iam::<account>:* (as access-at prints mapAccounts): %s', (question, accepted) => {
    const r = parseQuestionParams(question, { principal: 'arn:aws:iam::626603526743:*' }, NOW);
    expect(r.ok).toBe(accepted);
  });
});
