import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateMappingChanges } from '../../../lib/alerts/mapping-rules.js';
import type { AlertConfig } from '../../../lib/alerts/types.js';
import type { CredentialIssuance } from '../../../lib/chain/types.js';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import type { MappingChange, MappingChangeOp } from '../../../lib/identity/types.js';
import {
  authenticatorAwsAuth,
  CI_ACTOR,
  cliExampleChanges,
  entryDelete,
  entryPut,
  mk,
  policyAssociate,
  roleArn,
  SSO_ACTOR,
  stratusBackdoorAwsAuth,
  stratusBaselineAwsAuth,
  stratusChanges,
} from './helpers.js';

const CONFIG: AlertConfig = {
  trustedAccountIds: ['111122223333', '012345678901'],
  suppressions: [],
  recentMappingDays: 7,
  unusedMappingDays: 90,
};

const run = (history: MappingChange[], incoming: MappingChange[], config: AlertConfig = CONFIG) =>
  evaluateMappingChanges({ newChanges: incoming, allChanges: [...history, ...incoming], config });

const cli = (kind: MappingChangeOp['kind']): MappingChange => {
  const c = cliExampleChanges().find((x) => x.op.kind === kind);
  if (!c) throw new Error(`no ${kind} in the aws-cli example records`);
  return c;
};

const ADMIN = roleArn('Admin');
const earlier = (op: MappingChangeOp, cluster = 'prod') => mk(op, { at: '2025-01-01T00:00:00.000Z', cluster });
const baseline = () =>
  mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at: '2024-01-01T00:00:00.000Z' });
const k8sActor = { k8sUsername: 'kubernetes-admin', k8sCanonicalArn: roleArn('ops') };
const broken = (() => {
  const r = parseAwsAuth({ data: { mapRoles: '- rolearn: [unclosed\n  groups: {' } });
  if (!r.ok) throw new Error('expected a parse with problems');
  return r.value;
})();

describe('evaluateMappingChanges: each rule fires on its scenario', () => {
  it.each<[string, () => MappingChange[], () => MappingChange[], string, string]>([
    [
      'access entry created (stratus CreateAccessEntry)',
      () => [],
      () => stratusChanges().slice(0, 1),
      'access-entry-created',
      'medium',
    ],
    [
      'access entry updated (aws-cli UpdateAccessEntry)',
      () => [earlier(entryPut(ADMIN), 'eks-customer')],
      () => [cli('access-entry-update')],
      'access-entry-updated',
      'medium',
    ],
    [
      'access entry deleted (aws-cli DeleteAccessEntry)',
      () => [earlier(entryPut(ADMIN), 'eks-customer')],
      () => [cli('access-entry-delete')],
      'access-entry-deleted',
      'low',
    ],
    [
      'cluster-admin policy at cluster scope (stratus AssociateAccessPolicy)',
      () => stratusChanges().slice(0, 1),
      () => stratusChanges().slice(1),
      'access-policy-associated',
      'high',
    ],
    [
      'namespaced edit policy (aws-cli AssociateAccessPolicy)',
      () => [earlier(entryPut(ADMIN), 'eks-customer')],
      () => [cli('access-policy-associate')],
      'access-policy-associated',
      'medium',
    ],
    [
      'policy disassociated (aws-cli DisassociateAccessPolicy)',
      () => [earlier(entryPut(ADMIN), 'eks-customer'), cli('access-policy-associate')],
      () => [cli('access-policy-disassociate')],
      'access-policy-disassociated',
      'low',
    ],
    [
      'aws-auth created after a delete',
      () => [baseline(), mk({ kind: 'aws-auth-delete' }, { at: '2024-02-01T00:00:00.000Z', source: 'audit' })],
      () => [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { source: 'audit', actor: k8sActor })],
      'aws-auth-created',
      'medium',
    ],
    [
      'aws-auth edited (stratus backdoor row)',
      () => [baseline()],
      () => [mk({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }, { source: 'audit', actor: k8sActor })],
      'aws-auth-edited',
      'medium',
    ],
    [
      'aws-auth row added to system:masters (stratus backdoor)',
      () => [baseline()],
      () => [mk({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }, { source: 'audit', actor: k8sActor })],
      'system-masters-mapping',
      'critical',
    ],
    [
      'access entry with system:masters in its groups',
      () => [],
      () => [mk(entryPut(roleArn('breakglass'), { groups: ['system:masters'] }))],
      'system-masters-mapping',
      'critical',
    ],
    [
      'aws-auth deleted while nodes depend on it',
      () => [baseline()],
      () => [mk({ kind: 'aws-auth-delete' }, { source: 'audit', actor: k8sActor })],
      'aws-auth-deleted',
      'high',
    ],
    [
      'aws-auth no longer parseable',
      () => [baseline()],
      () => [mk({ kind: 'aws-auth-put', config: broken }, { source: 'audit', actor: k8sActor })],
      'aws-auth-unparseable',
      'critical',
    ],
    [
      'access entry for a principal of an untrusted account',
      () => [],
      () => [mk(entryPut(roleArn('vendor', '999988887777')))],
      'untrusted-account-mapping',
      'high',
    ],
    [
      'aws-auth mapAccounts entry added (authenticator fixture)',
      () => [baseline()],
      () => [mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { source: 'audit', actor: k8sActor })],
      'aws-auth-map-accounts',
      'critical',
    ],
    [
      'authentication mode changed (aws-cli UpdateClusterConfig accessConfig)',
      () => [],
      () => [cli('auth-mode-set')],
      'auth-mode-changed',
      'medium',
    ],
    [
      'audit logging disabled',
      () => [],
      () => [mk({ kind: 'logging-set', enabled: [], disabled: ['audit', 'scheduler'] })],
      'control-plane-logging-disabled',
      'high',
    ],
    [
      'cluster created in CONFIG_MAP mode (aws-cli CreateCluster)',
      () => [],
      () => [cli('cluster-created')],
      'cluster-created-creator-admin',
      'high',
    ],
    [
      'access entry created and deleted within the hour',
      () => [mk(entryPut(roleArn('temp')), { at: '2025-05-01T10:00:00.000Z', id: 'put-temp' })],
      () => [mk(entryDelete(roleArn('temp')), { at: '2025-05-01T10:20:00.000Z', id: 'del-temp' })],
      'access-entry-churn',
      'high',
    ],
  ])('%s', (_name, history, incoming, ruleId, severity) => {
    const alerts = run(history(), incoming());
    const hit = alerts.find((a) => a.ruleId === ruleId);
    expect(hit, `rules fired: ${alerts.map((a) => a.ruleId).join(', ')}`).toBeDefined();
    expect(hit?.severity).toBe(severity);
    expect(hit?.diff.lines.length).toBeGreaterThan(0);
    expect(hit?.alertId.startsWith(`${ruleId}#`)).toBe(true);
  });
});

describe('evaluateMappingChanges: benign look-alikes stay silent', () => {
  const nodegroupRole =
    'arn:aws:iam::111122223333:role/aws-service-role/eks-nodegroup.amazonaws.com/AWSServiceRoleForAmazonEKSNodegroup';
  it.each<[string, () => MappingChange[], () => MappingChange[], string]>([
    [
      'a backfill snapshot re-listing an unchanged entry',
      () => [earlier(entryPut(ADMIN, { groups: ['ops'] }))],
      () => [mk(entryPut(ADMIN, { groups: ['ops'] }), { source: 'backfill' })],
      'access-entry-created',
    ],
    [
      'an entry for an EKS service-linked role',
      () => [],
      () => [mk(entryPut(nodegroupRole, { type: 'EC2_LINUX' }))],
      'access-entry-created',
    ],
    [
      'an entry for the AWS-owned cluster manager role',
      () => [],
      () => [
        mk(entryPut('arn:aws:iam::927209226484:role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL')),
      ],
      'untrusted-account-mapping',
    ],
    [
      'an update that leaves username and groups as they were',
      () => [earlier(entryPut(ADMIN, { groups: ['tester'] }), 'eks-customer')],
      () => [cli('access-entry-update')],
      'access-entry-updated',
    ],
    [
      'associating a policy again with the same scope',
      () => [
        earlier(entryPut(ADMIN)),
        mk(policyAssociate(ADMIN, 'AmazonEKSViewPolicy'), { at: '2025-02-01T00:00:00.000Z' }),
      ],
      () => [mk(policyAssociate(ADMIN, 'AmazonEKSViewPolicy'))],
      'access-policy-associated',
    ],
    [
      'disassociating a policy the entry does not have',
      () => [earlier(entryPut(ADMIN, {}), 'eks-customer')],
      () => [cli('access-policy-disassociate')],
      'access-policy-disassociated',
    ],
    [
      'aws-auth re-applied with identical content',
      () => [baseline()],
      () => [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { source: 'audit', actor: k8sActor })],
      'aws-auth-edited',
    ],
    [
      'a node role row added (system:nodes, not system:masters)',
      () => [
        mk(
          { kind: 'aws-auth-put', config: { ...authenticatorAwsAuth(), roles: [] } },
          { at: '2024-01-01T00:00:00.000Z' },
        ),
      ],
      () => [mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { source: 'audit', actor: k8sActor })],
      'system-masters-mapping',
    ],
    [
      'a parseable aws-auth edit',
      () => [baseline()],
      () => [mk({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }, { source: 'audit', actor: k8sActor })],
      'aws-auth-unparseable',
    ],
    [
      'an entry for a principal of a trusted account',
      () => [],
      () => [mk(entryPut(roleArn('vendor', '012345678901')))],
      'untrusted-account-mapping',
    ],
    [
      'an aws-auth edit that keeps the same mapAccounts',
      () => [
        mk(
          { kind: 'aws-auth-put', config: { ...authenticatorAwsAuth(), users: [] } },
          { at: '2024-01-01T00:00:00.000Z' },
        ),
      ],
      () => [mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { source: 'audit', actor: k8sActor })],
      'aws-auth-map-accounts',
    ],
    [
      'setting the mode it already has',
      () => [mk({ kind: 'auth-mode-set', mode: 'API_AND_CONFIG_MAP' }, { at: '2025-01-01T00:00:00.000Z' })],
      () => [mk({ kind: 'auth-mode-set', mode: 'API_AND_CONFIG_MAP' })],
      'auth-mode-changed',
    ],
    [
      'disabling scheduler logs only (aws-cli UpdateClusterConfig logging)',
      () => [],
      () => [cli('logging-set')],
      'control-plane-logging-disabled',
    ],
    [
      'a cluster created in API mode without bootstrap admin',
      () => [],
      () => [
        mk({
          kind: 'cluster-created',
          creator: { actor: SSO_ACTOR, canonicalArn: SSO_ACTOR.canonicalArn!, bootstrapAdmin: false },
          mode: 'API',
          enabledLogTypes: ['audit', 'authenticator'],
        }),
      ],
      'cluster-created-creator-admin',
    ],
    [
      'an entry deleted two hours after its creation',
      () => [mk(entryPut(roleArn('temp')), { at: '2025-05-01T08:00:00.000Z' })],
      () => [mk(entryDelete(roleArn('temp')), { at: '2025-05-01T10:00:00.000Z' })],
      'access-entry-churn',
    ],
    [
      'deleting aws-auth that is already deleted',
      () => [baseline(), mk({ kind: 'aws-auth-delete' }, { at: '2024-02-01T00:00:00.000Z' })],
      () => [mk({ kind: 'aws-auth-delete' })],
      'aws-auth-deleted',
    ],
  ])('%s', (_name, history, incoming, ruleId) => {
    const alerts = run(history(), incoming());
    expect(alerts.map((a) => a.ruleId)).not.toContain(ruleId);
  });

  it('rates a namespaced view policy below a cluster-scoped one', () => {
    const [ns] = run(
      [earlier(entryPut(ADMIN))],
      [mk(policyAssociate(ADMIN, 'AmazonEKSViewPolicy', { type: 'namespace', namespaces: ['dev'] }))],
    );
    expect(ns?.severity).toBe('medium');
  });

  it('rates an entry EKS itself created for a node role as info', () => {
    const actor = { aws: { type: 'AWSService', invokedBy: 'eks.amazonaws.com' } };
    const [a] = run([], [mk(entryPut(roleArn('nodes'), { type: 'EC2_LINUX' }), { actor })]);
    expect(a).toMatchObject({ ruleId: 'access-entry-created', severity: 'info' });
  });
});

describe('covering tracks: create and delete within an hour', () => {
  const put = mk(entryPut(roleArn('shadow')), { at: '2025-05-01T10:00:00.000Z', id: 'ct-put' });
  const del = mk(entryDelete(roleArn('shadow')), {
    at: '2025-05-01T10:45:00.000Z',
    id: 'ct-del',
    actor: { aws: CI_ACTOR },
  });
  const churn = (alerts: ReturnType<typeof run>) => alerts.filter((a) => a.ruleId === 'access-entry-churn');

  it.each([
    ['create stored first, delete arrives', [put], [del]],
    ['delete stored first, create arrives late', [del], [put]],
    ['both arrive in one batch', [], [put, del]],
    ['both arrive in one batch, reversed', [], [del, put]],
  ])('%s: one alert, the same one', (_name, history, incoming) => {
    const found = churn(run(history, incoming));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      alertId: 'access-entry-churn#ct-del',
      at: del.at,
      sourceEventIds: ['ct-put', 'ct-del'],
      actor: { awsArn: CI_ACTOR.arn },
    });
  });

  it('gives byte-identical alerts whichever end arrives last', () => {
    expect(churn(run([put], [del]))).toEqual(churn(run([del], [put])));
  });
});

describe('suppressions', () => {
  const incoming = () => [mk(entryPut(roleArn('vendor', '999988887777')))];
  it.each([
    ['by rule id', { ruleId: 'untrusted-account-mapping' }],
    ['by the actor who made the change', { principal: '*:role/AWSReservedSSO_Admins_*' }],
    ['by principal glob', { principal: 'arn:aws:iam::999988887777:role/*' }],
    ['by cluster', { cluster: 'pr?d' }],
    ['by rule and principal together', { ruleId: 'untrusted-account-mapping', principal: '*:role/vendor' }],
  ])('silence the rule %s', (_name, rule) => {
    const alerts = run([], incoming(), { ...CONFIG, suppressions: [rule] });
    expect(alerts.map((a) => a.ruleId)).not.toContain('untrusted-account-mapping');
  });

  it.each([
    ['an empty rule', {}],
    ['another rule id', { ruleId: 'aws-auth-edited' }],
    [
      'a principal glob that matches neither the mapped principal nor the actor',
      { principal: 'arn:aws:iam::555555555555:*' },
    ],
    ['the right rule on another cluster', { ruleId: 'untrusted-account-mapping', cluster: 'staging' }],
  ])('keep the alert for %s', (_name, rule) => {
    const alerts = run([], incoming(), { ...CONFIG, suppressions: [rule] });
    expect(alerts.map((a) => a.ruleId)).toContain('untrusted-account-mapping');
  });
});

describe('attribution and determinism', () => {
  it('names the SSO user behind the actor of a change', () => {
    const [a] = run([], [mk(entryPut(roleArn('x')))]);
    expect(a).toMatchObject({
      human: 'alice@example.com',
      actor: { awsArn: SSO_ACTOR.arn, accessKeyId: SSO_ACTOR.accessKeyId },
    });
  });

  it('names the caller that assumed a shared role, from its AssumeRole issuance', () => {
    const issuance: CredentialIssuance = {
      accessKeyId: CI_ACTOR.accessKeyId!,
      issuedAt: '2025-05-01T09:55:00Z',
      api: 'AssumeRole',
      roleArn: roleArn('deployer'),
      roleMatchKey: roleArn('deployer').toLowerCase(),
      caller: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob', accountId: '111122223333' },
      sourceEventId: 'sts-1',
    };
    const [a] = evaluateMappingChanges({
      newChanges: [mk(entryPut(roleArn('x')), { actor: { aws: CI_ACTOR } })],
      allChanges: [],
      config: CONFIG,
      credentialFor: (k) => (k === issuance.accessKeyId ? issuance : undefined),
    });
    expect(a?.human).toBe('arn:aws:iam::111122223333:user/bob');
  });

  it('leaves the human out when the issuance is unknown', () => {
    const [a] = run([], [mk(entryPut(roleArn('x')), { actor: { aws: CI_ACTOR } })]);
    expect(a?.human).toBeUndefined();
  });

  it('gives the same alerts for a redelivered change', () => {
    const history = [baseline()];
    const edit = mk({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }, { source: 'audit', actor: k8sActor });
    expect(run(history, [edit])).toEqual(run(history, [edit, edit]));
    expect(evaluateMappingChanges({ newChanges: [edit], allChanges: history, config: CONFIG })).toEqual(
      run(history, [edit]),
    );
  });

  it('judges a late change against the history before it, not the latest state', () => {
    const create = mk(entryPut(ADMIN), { at: '2025-01-01T00:00:00.000Z' });
    const update = mk(
      { kind: 'access-entry-update', principalArn: ADMIN, matchKey: ADMIN.toLowerCase(), kubernetesGroups: ['ops'] },
      { at: '2025-03-01T00:00:00.000Z' },
    );
    const laterDelete = mk(entryDelete(ADMIN), { at: '2025-06-01T00:00:00.000Z' });
    const [a] = run([create, laterDelete], [update]);
    expect(a).toMatchObject({ ruleId: 'access-entry-updated' });
    expect(a?.diff.lines).toEqual(['- kubernetesGroups: (none)', '+ kubernetesGroups: ops']);
  });

  const arbOp: fc.Arbitrary<MappingChangeOp> = fc.oneof(
    fc.constantFrom('a', 'b', 'c').map((n) => entryPut(roleArn(n))),
    fc.constantFrom('a', 'b').map((n) => entryDelete(roleArn(n))),
    fc.constantFrom('AmazonEKSViewPolicy', 'AmazonEKSClusterAdminPolicy').map((p) => policyAssociate(roleArn('a'), p)),
    fc.constant<MappingChangeOp>({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }),
    fc.constant<MappingChangeOp>({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }),
    fc.constant<MappingChangeOp>({ kind: 'aws-auth-delete' }),
    fc.constantFrom<MappingChangeOp>(
      { kind: 'auth-mode-set', mode: 'API' },
      { kind: 'auth-mode-set', mode: 'API_AND_CONFIG_MAP' },
    ),
  );
  // One source event states one fact: ids are unique per generated change.
  const arbChanges = fc
    .array(fc.tuple(arbOp, fc.integer({ min: 0, max: 240 })), { maxLength: 12 })
    .map((list) =>
      list.map(([op, minute], i) =>
        mk(op, { at: new Date(Date.UTC(2025, 4, 1, 0, minute)).toISOString(), id: `p-${i}` }),
      ),
    );

  it('never throws and does not depend on arrival order', () => {
    fc.assert(
      fc.property(arbChanges, fc.nat(), (changes, split) => {
        const cut = changes.length === 0 ? 0 : split % changes.length;
        const history = changes.slice(0, cut);
        const incoming = changes.slice(cut);
        const forward = run(history, incoming);
        const backward = run([...history].reverse(), [...incoming].reverse());
        expect(backward).toEqual(forward);
        expect(new Set(forward.map((a) => a.alertId)).size).toBe(forward.length);
      }),
      { numRuns: 150 },
    );
  });
});
