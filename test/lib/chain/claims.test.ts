import { describe, expect, it } from 'vitest';
import { correlateAuditEvent } from '../../../lib/chain/correlate.js';
import { inMemoryEvidence } from '../../../lib/chain/evidence.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { fixtureJson, fixtureText, pantherLog } from './fixtures.js';
import { auditFrom, CLUSTER, withFields } from './scenario.js';

/**
 * What a chain claims, on real audit events (test/fixtures/SOURCES.md): every authorizer named for
 * what it is, every "observed" link backed by a record, and no cause stated that the record does not
 * prove.
 */

const LINK_STATUS_KEYS = ['principal', 'human', 'mapping', 'k8sIdentity', 'decision', 'request'] as const;
const none = inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [] });
const chainOf = (raw: Record<string, unknown>): DecisionChain =>
  correlateAuditEvent(auditFrom(raw), { cluster: CLUSTER }, none);

const kiem = fixtureJson('kiempossible-access-policy-allow.json');
const nonEksRbac = fixtureJson('non-eks-rolebinding-allow.json');
const masters = pantherLog('Not 403');
const node = pantherLog('legitimate EKS node from AWS IP - should not alert');
const coredns = pantherLog('403 and Private IP');
const addonManager = pantherLog('eks:addon-manager from public ip as lambda');
const anonymousAllowed = pantherLog('Anonymous API Access Web Scanner Allowed');
const anonymousDenied = pantherLog('Anonymous API Access Web Scanner Denied');
const annotations = (reason: string) => ({
  annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': reason },
});
const panther = fixtureText('panther-eks-audit-selection.jsonl')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { test_name: string; log: Record<string, unknown> });

describe('the authorizer is named for what it is', () => {
  it.each([
    // Real events, as the API server logged them.
    ['RBAC allow (ClusterRoleBinding)', coredns, 'rbac', 'observed', undefined],
    ['RBAC allow (RoleBinding of an EKS component)', addonManager, 'rbac', 'observed', undefined],
    ['RBAC allow (legacy unquoted form, anonymous)', anonymousAllowed, 'rbac', 'observed', undefined],
    ['RBAC allow (non-EKS RoleBinding)', nonEksRbac, 'rbac', 'observed', undefined],
    ['EKS access policy', kiem, 'eks-access-policy', 'observed', undefined],
    ['empty reason, user in system:masters', masters, 'system:masters', 'derived', undefined],
    ['empty reason, node identity in system:nodes', node, 'node', 'derived', undefined],
    ['forbid with an empty reason', anonymousDenied, 'none', 'observed', undefined],
    // Real events with one field changed, for reasons no public sample shows (derived fixtures).
    [
      'a free-text allow reason (a webhook)',
      withFields(coredns, annotations('allowed by the OPA policy k8s.authz')),
      'webhook',
      'derived',
      undefined,
    ],
    [
      'empty reason on a non-resource path, neither masters nor a node',
      withFields(anonymousAllowed, annotations('')),
      'unknown',
      'observed',
      ['always-allowed-path', 'webhook'],
    ],
    [
      'empty reason on a resource, neither masters nor a node',
      withFields(coredns, annotations('')),
      'unknown',
      'observed',
      ['webhook'],
    ],
    [
      'empty reason for a node username outside system:nodes',
      withFields(node, {
        user: { ...(node.user as Record<string, unknown>), groups: ['system:authenticated'] },
      }),
      'unknown',
      'observed',
      ['webhook'],
    ],
  ])('%s: %s', (_kind, raw, authorizer, status, candidates) => {
    const c = chainOf(raw);
    expect(c.decision.value?.authorizer).toBe(authorizer);
    expect(c.decision.status).toBe(status);
    expect(c.decision.value?.candidates).toEqual(candidates);
    // Nothing calls an empty reason "system:masters or always-allowed path" any more.
    expect(c.decision.why).not.toMatch(/system:masters or always-allowed/);
  });

  it('says why a system:masters allow is the system:masters authorizer, and a node allow the Node authorizer', () => {
    expect(chainOf(masters).decision.why).toContain('runs before every other');
    expect(chainOf(node).decision.why).toContain('Node authorizer allows nodes without a reason');
    expect(chainOf(withFields(coredns, annotations(''))).decision.why).toContain(
      'the record does not name the authorizer (possible: a webhook authorizer that writes no reason)',
    );
  });
});

describe('a link is observed only when a record shows it', () => {
  const chains: [string, DecisionChain][] = [
    ['kiem', chainOf(kiem)],
    ['non-EKS RoleBinding', chainOf(nonEksRbac)],
    ...panther.map((p): [string, DecisionChain] => [p.test_name, chainOf(p.log)]),
  ];
  it.each(chains)('%s', (_name, c) => {
    for (const k of LINK_STATUS_KEYS) {
      const link = c[k];
      if (link.status !== 'observed') continue;
      expect(link.evidence.length, `${k} is observed without evidence`).toBeGreaterThan(0);
      for (const e of link.evidence) expect(e, `${k} evidence`).toMatch(/^(audit|authenticator|cloudtrail):/);
    }
  });
});

describe('no cause is stated that the record does not prove', () => {
  // Users with no IAM trace in user.extra or user.uid: an OIDC user (panther: attacker@example.com
  // style), a certificate component, a service-account token.
  const oidc = withFields(coredns, { user: { username: 'alice@example.com', groups: ['system:authenticated'] } });
  const certificate = withFields(coredns, {
    user: { username: 'system:kube-controller-manager', groups: ['system:authenticated'] },
  });

  it('a user without an IAM trace is unknown, with the possibilities listed', () => {
    const c = chainOf(oidc);
    expect(c.principal).toMatchObject({ status: 'unknown', value: { type: 'unknown' } });
    expect(c.principal.why).toMatch(/possible: an OIDC identity provider, a client certificate, or an authenticator/);
    expect(c.human.status).toBe('unknown');
    expect(c.human.why).not.toMatch(/v0\.5\.1/);
    expect(c.mapping.status).toBe('unknown');
    expect(c.mapping.why).toContain('names no IAM identity');
  });

  it('a control-plane component is a certificate user, derived', () => {
    const c = chainOf(certificate);
    expect(c.principal).toMatchObject({ status: 'derived', value: { type: 'k8s-internal' } });
    expect(c.mapping).toMatchObject({ status: 'derived', value: { source: 'certificate' } });
    expect(c.human.why).not.toMatch(/v0\.5\.1/);
  });

  it('a service-account token names no authenticator version either', () => {
    const c = chainOf(coredns);
    expect(c.principal.value?.type).toBe('service-account');
    expect(c.human.why).toContain("workload's service-account token");
    for (const k of LINK_STATUS_KEYS) expect(c[k].why).not.toMatch(/v0\.5\.1/);
  });

  it('an IAM principal without an access key gives the possible causes, not one', () => {
    // The panther kubernetes-admin event with its accessKeyId removed (derived).
    const user = masters.user as { extra: Record<string, string[]> };
    const { accessKeyId: _key, ...extra } = user.extra;
    const c = chainOf(withFields(masters, { user: { ...user, extra } }));
    expect(c.principal.value?.canonicalArn).toBe('arn:aws:iam::123412341234:role/DevAdministrator');
    expect(c.human.status).toBe('unknown');
    expect(c.human.why).toContain('possible causes');
  });
});

describe('one object has one target, whatever the verb', () => {
  // The coredns event turned into requests on a Namespace (derived: verb, objectRef and URI changed).
  const onNamespace = (verb: string, objectRef: Record<string, unknown>, requestURI: string) =>
    chainOf(withFields(coredns, { verb, objectRef, requestURI })).request.value;

  it.each([
    ['create', { resource: 'namespaces', name: 'payments', apiVersion: 'v1' }, '/api/v1/namespaces'],
    ['get', { resource: 'namespaces', namespace: 'payments', name: 'payments' }, '/api/v1/namespaces/payments'],
    ['delete', { resource: 'namespaces', namespace: 'payments', name: 'payments' }, '/api/v1/namespaces/payments'],
    [
      'update',
      { resource: 'namespaces', namespace: 'payments', name: 'payments', subresource: 'finalize' },
      '/api/v1/namespaces/payments/finalize',
    ],
  ])('%s of a namespace is the cluster-scoped object /namespaces/payments', (verb, objectRef, uri) => {
    const r = onNamespace(verb, objectRef, uri);
    expect(r?.namespace).toBeUndefined();
    expect(r).toMatchObject({ resource: 'namespaces', name: 'payments' });
  });

  it('keeps the namespace of a namespaced object', () => {
    const r = onNamespace('get', { resource: 'pods', namespace: 'payments', name: 'api-0' }, '/api/v1/x');
    expect(r).toMatchObject({ namespace: 'payments', resource: 'pods', name: 'api-0' });
  });
});
