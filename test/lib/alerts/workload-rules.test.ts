import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateMappingChanges } from '../../../lib/alerts/mapping-rules.js';
import { postureFindings } from '../../../lib/alerts/posture.js';
import { DEFAULT_ALERT_CONFIG } from '../../../lib/alerts/types.js';
import { fleetAdminLookup } from '../../../lib/alerts/workload-rules.js';
import { changesFromCloudTrail } from '../../../lib/identity/mapping-changes.js';
import { MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import type { MappingChange, MappingChangeOp } from '../../../lib/identity/types.js';
import { withMatchKeys } from '../../../lib/identity/workload.js';
import { parseCloudTrailFile } from '../../../lib/sources/cloudtrail.js';
import { entryPut, FIXTURES, mk, policyAssociate, roleArn } from './helpers.js';

/** The aws-cli example records of Pod Identity and identity-provider calls (fixtures, SOURCES.md). */
const cliChanges = (): MappingChange[] =>
  parseCloudTrailFile(
    readFileSync(join(FIXTURES, 'workload-records-from-aws-cli-examples.json'), 'utf8'),
  ).parsed.flatMap(changesFromCloudTrail);

const put = (
  namespace: string,
  serviceAccount: string,
  role: string,
  extra: { targetRoleArn?: string; disableSessionTags?: boolean; id?: string } = {},
): MappingChangeOp => ({
  kind: 'pod-identity-association-put',
  association: withMatchKeys({
    associationId: extra.id ?? `a-${namespace}-${serviceAccount}`,
    namespace,
    serviceAccount,
    roleArn: role,
    ...(extra.targetRoleArn ? { targetRoleArn: extra.targetRoleArn } : {}),
    ...(extra.disableSessionTags ? { disableSessionTags: true } : {}),
  }),
});

const evaluate = (changes: MappingChange[], extra: Partial<Parameters<typeof evaluateMappingChanges>[0]> = {}) =>
  evaluateMappingChanges({ newChanges: changes, allChanges: changes, config: DEFAULT_ALERT_CONFIG, ...extra });

const byRule = (alerts: ReturnType<typeof evaluate>, ruleId: string) => alerts.filter((a) => a.ruleId === ruleId);

describe('alerts on Pod Identity associations', () => {
  it('reads the aws-cli example create, update and delete as created, updated and deleted alerts', () => {
    const alerts = evaluate(cliChanges().filter((c) => c.cluster === 'eks-customer'));
    expect(alerts.map((a) => a.ruleId).sort()).toEqual([
      'pod-identity-association-created',
      'pod-identity-association-deleted',
      'pod-identity-association-updated',
    ]);
    const created = byRule(alerts, 'pod-identity-association-created')[0];
    // The default service account of the default namespace: every pod that names none gets the role.
    expect(created?.severity).toBe('high');
    expect(created?.human).toBe('alice@example.com');
    expect(created?.diff.lines).toContain('+ roleArn: arn:aws:iam::111122223333:role/my-role');
    expect(byRule(alerts, 'pod-identity-association-updated')[0]?.diff.lines).toEqual(
      expect.arrayContaining([
        '- roleArn: arn:aws:iam::111122223333:role/my-role',
        '+ roleArn: arn:aws:iam::111122223333:role/s3-role',
      ]),
    );
    expect(byRule(alerts, 'pod-identity-association-deleted')[0]?.severity).toBe('low');
  });

  it.each([
    ['a workload service account', 'payments', 'api', 'medium'],
    ['the default service account', 'payments', 'default', 'high'],
    ['a kube-system service account', 'kube-system', 'aws-node', 'high'],
  ])('flags %s as %s', (_kind, ns, sa, severity) => {
    const alerts = evaluate([mk(put(ns, sa, roleArn('app')))]);
    expect(byRule(alerts, 'pod-identity-association-created')[0]?.severity).toBe(severity);
  });

  it('a redelivered association alerts once, and a backfill baseline not at all', () => {
    const c = mk(put('payments', 'api', roleArn('app')), { id: 'evt-create' });
    expect(evaluate([c, c])).toHaveLength(1);
    expect(evaluate([mk(put('payments', 'api', roleArn('app')), { source: 'backfill' })])).toEqual([]);
  });

  it('an association to a role that administers another watched cluster is critical, naming the cluster', () => {
    const admin = roleArn('platform-admin');
    const other = [
      mk(entryPut(admin), { cluster: 'build-eu' }),
      mk(policyAssociate(admin, 'AmazonEKSClusterAdminPolicy'), { cluster: 'build-eu' }),
    ];
    const lookup = fleetAdminLookup([{ ref: { accountId: '111122223333', cluster: 'build-eu' }, changes: other }]);
    const alerts = evaluate([mk(put('ci', 'runner', admin), { at: '2025-05-02T00:00:00.000Z' })], {
      adminMappingsElsewhere: lookup,
    });
    const esc = byRule(alerts, 'pod-identity-escalation');
    expect(esc).toHaveLength(1);
    expect(esc[0]?.severity).toBe('critical');
    expect(esc[0]?.diff.lines).toContain(
      '  111122223333/build-eu: access entry with AmazonEKSClusterAdminPolicy (cluster scope)',
    );
  });

  it('an association to a role that administers its own cluster is high, with no fleet lookup needed', () => {
    const admin = roleArn('platform-admin');
    const alerts = evaluate([
      mk(entryPut(admin, { groups: ['system:masters'] }), { at: '2025-05-01T00:00:00.000Z' }),
      mk(put('ci', 'runner', admin), { at: '2025-05-02T00:00:00.000Z' }),
    ]);
    expect(byRule(alerts, 'pod-identity-escalation')[0]?.severity).toBe('high');
  });

  it('flags a target role in another account and disabled session tags', () => {
    const alerts = evaluate([
      mk(
        put('ci', 'runner', roleArn('app'), {
          targetRoleArn: roleArn('deployer', '444455556666'),
          disableSessionTags: true,
        }),
      ),
    ]);
    expect(byRule(alerts, 'pod-identity-cross-account-target')[0]).toMatchObject({
      severity: 'high',
      related: { principalArn: 'arn:aws:iam::444455556666:role/deployer' },
    });
    expect(byRule(alerts, 'pod-identity-session-tags-disabled')).toHaveLength(1);
  });
});

describe('alerts on OIDC identity providers', () => {
  it('alerts when a provider is associated and when it is removed', () => {
    const alerts = evaluate(cliChanges().filter((c) => c.cluster === 'my-eks-cluster'));
    const assoc = byRule(alerts, 'identity-provider-associated')[0];
    expect(assoc?.severity).toBe('high');
    expect(assoc?.diff.lines[0]).toContain(
      'my-identity-provider: users of https://oidc.eks.us-east-2.amazonaws.com/id/38D6A4619A0A69E342B113ED7F1A7652',
    );
    expect(byRule(alerts, 'identity-provider-disassociated')[0]?.diff.lines[0]).toContain('- my-identity-provider');
  });
});

describe('posture of workload identities', () => {
  const NOW = '2025-06-01T00:00:00.000Z';
  const state = (cluster: string, changes: MappingChange[]) => ({
    ...new MappingTimeline(
      cluster,
      changes.map((c) => ({ ...c, cluster })),
    ).stateAt(NOW),
    accountId: '111122223333',
  });

  it('lists escalation paths across clusters, privileged service accounts, target roles, untagged sessions and providers', () => {
    const admin = roleArn('platform-admin');
    const findings = postureFindings({
      states: [
        state('build-eu', [
          mk(
            put('default', 'default', admin, { targetRoleArn: roleArn('x', '444455556666'), disableSessionTags: true }),
          ),
          ...cliChanges()
            .filter((c) => c.op.kind === 'identity-provider-associate')
            .map((c) => ({ ...c, cluster: 'build-eu' })),
        ]),
        state('prod', [mk(entryPut(admin)), mk(policyAssociate(admin, 'AmazonEKSClusterAdminPolicy'))]),
      ],
      usage: [],
      now: NOW,
      config: {},
    });
    const rules = findings.filter((f) => f.cluster === 'build-eu').map((f) => `${f.ruleId}:${f.severity}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        'pod-identity-escalation-path:critical',
        'pod-identity-privileged-service-account:medium',
        'pod-identity-cross-account-target:medium',
        'pod-identity-session-tags-disabled:low',
        'oidc-identity-provider:medium',
      ]),
    );
    const esc = findings.find((f) => f.ruleId === 'pod-identity-escalation-path');
    expect(esc?.detail).toContain('111122223333/prod: access entry with AmazonEKSClusterAdminPolicy');
  });
});
