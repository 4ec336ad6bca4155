import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trackMappingUse } from '../../../lib/alerts/dispatch.js';
import { evaluateMappingChanges } from '../../../lib/alerts/mapping-rules.js';
import {
  type Alert,
  type AlertConfig,
  MAPPING_RULE_IDS,
  type MappingRuleId,
  type MappingUsagePort,
} from '../../../lib/alerts/types.js';
import { correlateAuditEvent } from '../../../lib/chain/correlate.js';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import { changesFromAuditEvent, changesFromCloudTrail } from '../../../lib/identity/mapping-changes.js';
import { MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { parseAuditEventObject } from '../../../lib/sources/audit-event.js';
import { parseCloudTrailFile } from '../../../lib/sources/cloudtrail.js';
import {
  authenticatorAwsAuth,
  cliExampleChanges,
  entryDelete,
  entryPut,
  FIXTURES,
  kiempossibleAuditEvent,
  mk,
  policyAssociate,
  roleArn,
  stratusBaselineAwsAuth,
  stratusChanges,
} from './helpers.js';

/**
 * Every rule on a real public sample where one exists, read through the product's own parsers
 * (test/fixtures/alerts, SOURCES.md), each with the look-alike it must stay silent on. Where no public
 * sample exists the case says so and uses values written by us.
 */

const CONFIG: AlertConfig = {
  trustedAccountIds: ['111122223333'],
  suppressions: [],
  recentMappingDays: 7,
  unusedMappingDays: 90,
};

const run = (history: MappingChange[], incoming: MappingChange[], config = CONFIG): Alert[] =>
  evaluateMappingChanges({ newChanges: incoming, allChanges: [...history, ...incoming], config });

const cli = (eventId: string): MappingChange => {
  const c = cliExampleChanges().find((x) => x.sourceEventId === eventId);
  if (!c) throw new Error(`no change of aws-cli example record ${eventId}`);
  return c;
};
const CLI = {
  createUser: 'e0e0e0e0-0000-4000-8000-000000000001',
  createEc2: 'e0e0e0e0-0000-4000-8000-000000000002',
  update: 'e0e0e0e0-0000-4000-8000-000000000003',
  delete: 'e0e0e0e0-0000-4000-8000-000000000004',
  associate: 'e0e0e0e0-0000-4000-8000-000000000005',
  disassociate: 'e0e0e0e0-0000-4000-8000-000000000006',
  createCluster: 'e0e0e0e0-0000-4000-8000-000000000007',
  loggingEnableAll: 'e0e0e0e0-0000-4000-8000-000000000008',
  authMode: 'e0e0e0e0-0000-4000-8000-000000000009',
  loggingSchedulerOff: 'e0e0e0e0-0000-4000-8000-000000000010',
} as const;

/** The stratus aws-auth backdoor as the API server audits it (the excerpt, completed: SOURCES.md). */
const backdoorChanges = (): MappingChange[] => {
  const raw = JSON.parse(readFileSync(join(FIXTURES, 'stratus-backdoor-aws-auth-audit.completed.json'), 'utf8'));
  const parsed = parseAuditEventObject(raw);
  if (!parsed.ok) throw new Error(`completed backdoor event does not parse: ${JSON.stringify(parsed.issues)}`);
  return changesFromAuditEvent(parsed.value, { cluster: 'prod', accountId: '111122223333' });
};
const baseline = () =>
  mk(
    { kind: 'aws-auth-put', config: stratusBaselineAwsAuth() },
    { at: '2022-07-20T13:13:30.000Z', source: 'backfill' },
  );
const editedEarlier = (at: string) =>
  mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at, source: 'audit' });

const broken = (() => {
  const r = parseAwsAuth({ data: { mapRoles: '- rolearn: [unclosed\n  groups: {' } });
  if (!r.ok) throw new Error('expected a parse with problems');
  return r.value;
})();

/** First use of the kiempossible access entry (sso_admin, AmazonEKSClusterAdminPolicy). */
const firstUse = async (createdAt: string): Promise<Alert[]> => {
  const SSO = 'arn:aws:iam::211125685544:role/sso_admin';
  const history = [
    mk(entryPut(SSO), { at: createdAt, id: 'create-sso' }),
    mk(policyAssociate(SSO, 'AmazonEKSClusterAdminPolicy'), { at: createdAt, id: 'assoc-sso' }),
  ];
  const parsed = parseAuditEventObject(kiempossibleAuditEvent());
  if (!parsed.ok) throw new Error('kiempossible fixture does not parse');
  const timeline = new MappingTimeline('prod', history);
  const chain = correlateAuditEvent(
    parsed.value,
    { cluster: 'prod', accountId: '111122223333' },
    { mappingStateAt: (at) => timeline.stateAt(at), credentialFor: () => undefined },
  );
  const uses = new Map<string, string>();
  const usage: MappingUsagePort = {
    recordUse: async (_c, key, at) => {
      const seen = uses.has(key);
      uses.set(key, at);
      return { firstUse: !seen };
    },
    list: async () => [],
  };
  return trackMappingUse([chain], { usage, config: CONFIG });
};

/** The aws-cli example records of Pod Identity and identity-provider calls (fixtures, SOURCES.md). */
const WORKLOAD = {
  podCreate: '10000000-0000-4000-8000-000000000002',
  podUpdate: '10000000-0000-4000-8000-000000000003',
  podDelete: '10000000-0000-4000-8000-000000000004',
  idpAssociate: '10000000-0000-4000-8000-000000000005',
  idpDisassociate: '10000000-0000-4000-8000-000000000006',
} as const;
const workload = (eventId: string): MappingChange => {
  const c = parseCloudTrailFile(readFileSync(join(FIXTURES, 'workload-records-from-aws-cli-examples.json'), 'utf8'))
    .parsed.flatMap(changesFromCloudTrail)
    .find((x) => x.sourceEventId === eventId);
  if (!c) throw new Error(`no change of aws-cli workload example record ${eventId}`);
  return c;
};
/** A change as a later backfill lists it again: state, not an event, so it never alerts. */
const relisted = (c: MappingChange): MappingChange => ({
  ...c,
  sourceEventId: `backfill-relist-${c.sourceEventId}`,
  source: 'backfill',
  at: '2025-06-01T00:00:00.000Z',
});
/** The aws-cli example association, with changed fields (values written by us). */
const podCreateWith = (extra: { targetRoleArn?: string; disableSessionTags?: boolean }): MappingChange => {
  const c = workload(WORKLOAD.podCreate);
  if (c.op.kind !== 'pod-identity-association-put') throw new Error('expected the association change');
  return { ...c, op: { ...c.op, association: { ...c.op.association, ...extra } } };
};
const EXAMPLE_ROLE = 'arn:aws:iam::111122223333:role/my-role';

interface Case {
  /** The public sample, or why there is none. */
  sample: string;
  fires: () => Alert[] | Promise<Alert[]>;
  lookAlike: string;
  silent: () => Alert[] | Promise<Alert[]>;
}

const CASES: Record<MappingRuleId, Case> = {
  'access-entry-created': {
    sample: 'stratus red team CreateAccessEntry (CloudTrail)',
    fires: () => run([], stratusChanges().slice(0, 1)),
    lookAlike: 'the aws-cli CreateAccessEntry re-listed unchanged by a later backfill',
    silent: () =>
      run(
        [cli(CLI.createUser)],
        [
          {
            ...cli(CLI.createUser),
            sourceEventId: 'backfill-relist',
            source: 'backfill',
            at: '2025-06-01T00:00:00.000Z',
          },
        ],
      ),
  },
  'access-entry-updated': {
    sample: 'aws-cli UpdateAccessEntry (kubernetesGroups tester)',
    fires: () =>
      run(
        [mk(entryPut(roleArn('Admin')), { at: '2025-01-01T00:00:00.000Z', cluster: 'eks-customer' })],
        [cli(CLI.update)],
      ),
    lookAlike: 'the same UpdateAccessEntry against an entry that already had those groups',
    silent: () =>
      run(
        [
          mk(entryPut(roleArn('Admin'), { groups: ['tester'] }), {
            at: '2025-01-01T00:00:00.000Z',
            cluster: 'eks-customer',
          }),
        ],
        [cli(CLI.update)],
      ),
  },
  'access-entry-deleted': {
    sample: 'aws-cli DeleteAccessEntry',
    fires: () =>
      run(
        [mk(entryPut(roleArn('Admin')), { at: '2025-01-01T00:00:00.000Z', cluster: 'eks-customer' })],
        [cli(CLI.delete)],
      ),
    lookAlike: 'EKS deleting the entry of its own service-linked node group role',
    silent: () =>
      run(
        [],
        [
          mk(
            entryDelete(
              'arn:aws:iam::111122223333:role/aws-service-role/eks-nodegroup.amazonaws.com/AWSServiceRoleForAmazonEKSNodegroup',
            ),
          ),
        ],
      ),
  },
  'access-entry-churn': {
    sample: 'none public (no CloudTrail sample pairs a create with its delete): values written by us',
    fires: () =>
      run(
        [mk(entryPut(roleArn('temp')), { at: '2025-05-01T10:00:00.000Z' })],
        [mk(entryDelete(roleArn('temp')), { at: '2025-05-01T10:20:00.000Z' })],
      ),
    lookAlike: 'the aws-cli create and delete of different entries, days apart',
    silent: () => run([cli(CLI.createUser)], [cli(CLI.delete)]),
  },
  'access-policy-associated': {
    sample: 'stratus red team AssociateAccessPolicy (AmazonEKSClusterAdminPolicy, cluster scope)',
    fires: () => run(stratusChanges().slice(0, 1), stratusChanges().slice(1)),
    lookAlike: 'the aws-cli association received twice (same policy, same scope)',
    silent: () =>
      run([cli(CLI.associate)], [{ ...cli(CLI.associate), sourceEventId: 'again', at: '2025-06-01T00:00:00.000Z' }]),
  },
  'access-policy-disassociated': {
    sample: 'aws-cli DisassociateAccessPolicy',
    fires: () => run([cli(CLI.associate)], [cli(CLI.disassociate)]),
    lookAlike: 'the same call for a policy the entry never had',
    silent: () =>
      run(
        [mk(entryPut(roleArn('Admin')), { at: '2025-01-01T00:00:00.000Z', cluster: 'eks-customer' })],
        [cli(CLI.disassociate)],
      ),
  },
  'aws-auth-created': {
    sample:
      'stratus backdoor aws-auth content, re-created after a delete (EKS audits a create at Metadata level, so no public create body exists)',
    fires: () =>
      run(
        [baseline(), mk({ kind: 'aws-auth-delete' }, { at: '2023-01-01T00:00:00.000Z', source: 'audit' })],
        [editedEarlier('2024-01-01T00:00:00.000Z')],
      ),
    lookAlike: 'the first aws-auth snapshot a backfill reads (the baseline, not a change anyone made)',
    silent: () => run([], [baseline()]),
  },
  'aws-auth-edited': {
    sample: 'stratus red team aws-auth backdoor (audit event, parsed as ingest parses it)',
    fires: () => run([baseline()], backdoorChanges()),
    lookAlike: 'the stratus aws-auth applied again unchanged',
    silent: () => run([baseline()], [editedEarlier('2024-01-01T00:00:00.000Z')]),
  },
  'aws-auth-deleted': {
    sample: 'none public (no audit sample of an aws-auth delete): values written by us over the stratus aws-auth',
    fires: () => run([baseline()], [mk({ kind: 'aws-auth-delete' }, { source: 'audit' })]),
    lookAlike: 'deleting an aws-auth that is already deleted',
    silent: () =>
      run(
        [baseline(), mk({ kind: 'aws-auth-delete' }, { at: '2023-01-01T00:00:00.000Z' })],
        [mk({ kind: 'aws-auth-delete' })],
      ),
  },
  'aws-auth-unparseable': {
    sample: 'none public (no sample of a broken aws-auth): a mapRoles with unclosed YAML, written by us',
    fires: () => run([baseline()], [mk({ kind: 'aws-auth-put', config: broken }, { source: 'audit' })]),
    lookAlike: 'the stratus backdoor edit, which parses',
    silent: () => run([baseline()], backdoorChanges()),
  },
  'system-masters-mapping': {
    sample: 'stratus red team aws-auth backdoor row (system:masters)',
    fires: () => run([baseline()], backdoorChanges()),
    lookAlike: 'the aws-iam-authenticator fixture adding its node role row (system:nodes)',
    silent: () =>
      run(
        [
          mk(
            { kind: 'aws-auth-put', config: { ...authenticatorAwsAuth(), roles: [] } },
            { at: '2024-01-01T00:00:00.000Z' },
          ),
        ],
        [mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { source: 'audit' })],
      ),
  },
  'untrusted-account-mapping': {
    sample: 'aws-iam-authenticator aws-auth fixture (rows of account 555555555555, not trusted here)',
    fires: () => run([baseline()], [mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { source: 'audit' })]),
    lookAlike: 'the same fixture when 555555555555 is a trusted member account',
    silent: () =>
      run([baseline()], [mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { source: 'audit' })], {
        ...CONFIG,
        trustedAccountIds: ['111122223333', '555555555555'],
      }),
  },
  'aws-auth-map-accounts': {
    sample: 'aws-iam-authenticator aws-auth fixture (mapAccounts 555555555555)',
    fires: () => run([baseline()], [mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { source: 'audit' })]),
    lookAlike: 'an edit of the same fixture that keeps its mapAccounts',
    silent: () =>
      run(
        [
          mk(
            { kind: 'aws-auth-put', config: { ...authenticatorAwsAuth(), users: [] } },
            { at: '2024-01-01T00:00:00.000Z' },
          ),
        ],
        [mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { source: 'audit' })],
      ),
  },
  'auth-mode-changed': {
    sample: 'aws-cli UpdateClusterConfig accessConfig (API_AND_CONFIG_MAP)',
    fires: () => run([], [cli(CLI.authMode)]),
    lookAlike: 'the same UpdateClusterConfig on a cluster already in that mode',
    silent: () =>
      run([{ ...cli(CLI.authMode), sourceEventId: 'earlier', at: '2025-01-01T00:00:00.000Z' }], [cli(CLI.authMode)]),
  },
  'control-plane-logging-disabled': {
    sample:
      'none public turns audit logging off; values written by us (the two public UpdateClusterConfig logging samples are the look-alikes)',
    fires: () => run([], [mk({ kind: 'logging-set', enabled: [], disabled: ['audit', 'scheduler'] })]),
    lookAlike:
      'awsdocs UpdateClusterConfig enabling every log type, and the aws-cli one turning scheduler and controllerManager off',
    silent: () => run([], [cli(CLI.loggingEnableAll), cli(CLI.loggingSchedulerOff)]),
  },
  'cluster-created-creator-admin': {
    sample: 'aws-cli CreateCluster (CONFIG_MAP, the creator is an invisible admin)',
    fires: () => run([], [cli(CLI.createCluster)]),
    lookAlike: 'the same CreateCluster in API mode without the bootstrap admin',
    silent: () => {
      const c = cli(CLI.createCluster);
      if (c.op.kind !== 'cluster-created') throw new Error('expected the CreateCluster change');
      return run([], [{ ...c, op: { ...c.op, mode: 'API', creator: { ...c.op.creator, bootstrapAdmin: false } } }]);
    },
  },
  'new-mapping-first-use': {
    sample: 'KIEMPossible audit event: sso_admin lists namespaces through its access entry',
    fires: () => firstUse('2024-08-22T09:00:00.000Z'),
    lookAlike: 'the same request through an access entry created two months before',
    silent: () => firstUse('2024-06-20T09:00:00.000Z'),
  },
  'pod-identity-association-created': {
    sample: 'aws-cli create-pod-identity-association example (default/default to my-role)',
    fires: () => run([], [workload(WORKLOAD.podCreate)]),
    lookAlike: 'the same association listed again by a later backfill',
    silent: () => run([workload(WORKLOAD.podCreate)], [relisted(workload(WORKLOAD.podCreate))]),
  },
  'pod-identity-association-updated': {
    sample: 'aws-cli update-pod-identity-association example (my-role to s3-role)',
    fires: () => run([workload(WORKLOAD.podCreate)], [workload(WORKLOAD.podUpdate)]),
    lookAlike: 'the updated association listed again by a later backfill',
    silent: () =>
      run([workload(WORKLOAD.podCreate), workload(WORKLOAD.podUpdate)], [relisted(workload(WORKLOAD.podUpdate))]),
  },
  'pod-identity-association-deleted': {
    sample: 'aws-cli delete-pod-identity-association example',
    fires: () => run([workload(WORKLOAD.podCreate), workload(WORKLOAD.podUpdate)], [workload(WORKLOAD.podDelete)]),
    lookAlike: 'the deletion listed again by a later backfill',
    silent: () =>
      run(
        [workload(WORKLOAD.podCreate), workload(WORKLOAD.podUpdate), workload(WORKLOAD.podDelete)],
        [relisted(workload(WORKLOAD.podDelete))],
      ),
  },
  'pod-identity-escalation': {
    sample:
      'aws-cli create-pod-identity-association example, its role mapped to system:masters on the same cluster (the mapping written by us)',
    fires: () =>
      run(
        [
          mk(entryPut(EXAMPLE_ROLE, { groups: ['system:masters'] }), {
            at: '2025-01-01T00:00:00.000Z',
            cluster: 'eks-customer',
          }),
        ],
        [workload(WORKLOAD.podCreate)],
      ),
    lookAlike: 'the same association when the role is mapped with a plain group only',
    silent: () =>
      run(
        [
          mk(entryPut(EXAMPLE_ROLE, { groups: ['viewers'] }), {
            at: '2025-01-01T00:00:00.000Z',
            cluster: 'eks-customer',
          }),
        ],
        [workload(WORKLOAD.podCreate)],
      ),
  },
  'pod-identity-cross-account-target': {
    sample:
      'none public sets targetRoleArn; the aws-cli example association with a target role in another account (value written by us)',
    fires: () => run([], [podCreateWith({ targetRoleArn: 'arn:aws:iam::444455556666:role/deployer' })]),
    lookAlike: 'the same association with a target role in its own account',
    silent: () => run([], [podCreateWith({ targetRoleArn: 'arn:aws:iam::111122223333:role/deployer' })]),
  },
  'pod-identity-session-tags-disabled': {
    sample:
      'none public disables session tags; the aws-cli example association with disableSessionTags (value written by us)',
    fires: () => run([], [podCreateWith({ disableSessionTags: true })]),
    lookAlike: 'the aws-cli example association as published (session tags on)',
    silent: () => run([], [workload(WORKLOAD.podCreate)]),
  },
  'identity-provider-associated': {
    sample: 'aws-cli associate-identity-provider-config example (my-identity-provider)',
    fires: () => run([], [workload(WORKLOAD.idpAssociate)]),
    lookAlike: 'the same provider listed again by a later backfill',
    silent: () => run([workload(WORKLOAD.idpAssociate)], [relisted(workload(WORKLOAD.idpAssociate))]),
  },
  'identity-provider-disassociated': {
    sample: 'aws-cli disassociate-identity-provider-config example',
    fires: () => run([workload(WORKLOAD.idpAssociate)], [workload(WORKLOAD.idpDisassociate)]),
    lookAlike: 'the removal listed again by a later backfill',
    silent: () =>
      run(
        [workload(WORKLOAD.idpAssociate), workload(WORKLOAD.idpDisassociate)],
        [relisted(workload(WORKLOAD.idpDisassociate))],
      ),
  },
};

describe('every alert rule on its real public sample, and silent on its look-alike', () => {
  it('covers every rule', () => {
    expect(Object.keys(CASES).sort()).toEqual([...MAPPING_RULE_IDS].sort());
  });

  it.each(Object.entries(CASES))('%s', async (ruleId, c) => {
    const fired = await c.fires();
    expect(
      fired.map((a) => a.ruleId),
      `fires on: ${c.sample}`,
    ).toContain(ruleId);
    const hit = fired.find((a) => a.ruleId === ruleId)!;
    expect(hit.evidence?.command).toMatch(/^eks-trail /);
    expect(
      (await c.silent()).map((a) => a.ruleId),
      `silent on: ${c.lookAlike}`,
    ).not.toContain(ruleId);
  });
});
