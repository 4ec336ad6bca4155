import { describe, expect, it } from 'vitest';
import { migrationCommands, postureFindings } from '../../../lib/alerts/posture.js';
import type { Finding, MappingUsage } from '../../../lib/alerts/types.js';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import { MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import type { ClusterMappingState, MappingChange } from '../../../lib/identity/types.js';
import {
  authenticatorAwsAuth,
  entryPut,
  mk,
  policyAssociate,
  roleArn,
  SSO_ACTOR,
  stratusBackdoorAwsAuth,
} from './helpers.js';

const NOW = '2025-06-01T00:00:00.000Z';
const OLD = '2025-01-01T00:00:00.000Z';

const stateOf = (cluster: string, changes: MappingChange[]): ClusterMappingState & { accountId: string } => ({
  ...new MappingTimeline(
    cluster,
    changes.map((c) => ({ ...c, cluster })),
  ).stateAt(NOW),
  accountId: '111122223333',
});

/** aws-auth whose rows exercise every flag: a path rolearn, a duplicate, an sts ARN. */
const flaggedAwsAuth = () => {
  const r = parseAwsAuth({
    data: {
      mapRoles: [
        '- rolearn: arn:aws:iam::111122223333:role/teams/platform/ops',
        '  username: ops',
        '  groups: [ops]',
        '- rolearn: arn:aws:iam::111122223333:role/dev',
        '  username: dev-old',
        '  groups: [dev]',
        '- rolearn: arn:aws:iam::111122223333:role/dev',
        '  username: "dev:{{SessionName}}"',
        '  groups: [dev, viewers]',
      ].join('\n'),
    },
  });
  if (!r.ok) throw new Error('fixture does not parse');
  return r.value;
};

/** A fleet: a CONFIG_MAP cluster on aws-auth, an API_AND_CONFIG_MAP cluster half migrated, an API cluster. */
const fleet = () => [
  stateOf('legacy', [
    mk(
      {
        kind: 'cluster-created',
        creator: { actor: SSO_ACTOR, canonicalArn: SSO_ACTOR.canonicalArn!, bootstrapAdmin: true },
        mode: 'CONFIG_MAP',
        enabledLogTypes: ['audit'],
      },
      { at: OLD },
    ),
    mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { at: OLD, source: 'audit' }),
  ]),
  stateOf('mixed', [
    mk(
      {
        kind: 'cluster-created',
        creator: { actor: SSO_ACTOR, canonicalArn: SSO_ACTOR.canonicalArn!, bootstrapAdmin: true },
        mode: 'API_AND_CONFIG_MAP',
        enabledLogTypes: [],
      },
      { at: OLD },
    ),
    mk({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }, { at: OLD, source: 'audit' }),
    mk(entryPut('arn:aws:iam::012345678901:role/account-admin'), { at: OLD }),
    mk(entryPut('arn:aws:iam::111122223333:user/eks-user'), { at: OLD }),
    mk(entryPut(roleArn('platform')), { at: OLD }),
    mk(policyAssociate(roleArn('platform'), 'AmazonEKSClusterAdminPolicy'), { at: OLD }),
    mk(entryPut(roleArn('AWSServiceRoleForAmazonEKSNodegroup'), { type: 'EC2_LINUX' }), { at: OLD }),
  ]),
  stateOf('flagged', [
    mk({ kind: 'auth-mode-set', mode: 'API_AND_CONFIG_MAP' }, { at: OLD }),
    mk({ kind: 'aws-auth-put', config: flaggedAwsAuth() }, { at: OLD, source: 'audit' }),
  ]),
  stateOf('modern', [
    mk(
      {
        kind: 'cluster-created',
        creator: { actor: SSO_ACTOR, canonicalArn: SSO_ACTOR.canonicalArn!, bootstrapAdmin: false },
        mode: 'API',
        enabledLogTypes: ['audit', 'authenticator'],
      },
      { at: OLD },
    ),
    mk({ kind: 'aws-auth-put', config: authenticatorAwsAuth() }, { at: OLD, source: 'audit' }),
    mk(entryPut(roleArn('viewer')), { at: '2025-05-30T00:00:00.000Z' }),
  ]),
];

const used = (cluster: string, mappingKey: string, lastUsedAt: string): MappingUsage => ({
  cluster,
  accountId: '111122223333',
  mappingKey,
  firstUsedAt: OLD,
  lastUsedAt,
});

const find = (findings: Finding[], ruleId: string, cluster: string, match: (f: Finding) => boolean = () => true) =>
  findings.filter((f) => f.ruleId === ruleId && f.cluster === cluster && match(f));

describe('postureFindings on a constructed fleet', () => {
  const usage = [
    used('mixed', 'access-entry:arn:aws:iam::111122223333:role/platform', '2025-05-31T00:00:00.000Z'),
    used('mixed', 'access-entry:arn:aws:iam::111122223333:user/eks-user', '2025-01-15T00:00:00.000Z'),
  ];
  const findings = postureFindings({ states: fleet(), usage, now: NOW, config: { unusedMappingDays: 30 } });

  it.each<[string, string, string, (f: Finding) => boolean, string]>([
    [
      'an IAM user in aws-auth mapUsers',
      'iam-user-mapped',
      'legacy',
      (f) => f.principalArn === 'arn:aws:iam::555555555555:user/admin',
      'medium',
    ],
    [
      'an IAM user as an access entry',
      'iam-user-mapped',
      'mixed',
      (f) => f.principalArn === 'arn:aws:iam::111122223333:user/eks-user',
      'medium',
    ],
    [
      'a system:masters aws-auth row',
      'system-masters-mapping',
      'legacy',
      (f) => f.principalArn === 'arn:aws:iam::555555555555:user/admin',
      'high',
    ],
    [
      'the stratus backdoor row',
      'system-masters-mapping',
      'mixed',
      (f) => f.principalArn?.endsWith('backdoor-aws-auth-role') === true,
      'high',
    ],
    [
      'cluster-admin policy at cluster scope',
      'cluster-admin-policy',
      'mixed',
      (f) => f.principalArn === roleArn('platform'),
      'high',
    ],
    [
      'a rolearn with a path',
      'aws-auth-row-never-matches',
      'flagged',
      (f) => f.principalArn?.includes('/teams/') === true,
      'medium',
    ],
    ['a shadowed duplicate row', 'aws-auth-shadowed-duplicate', 'flagged', () => true, 'low'],
    ['mapAccounts', 'aws-auth-map-accounts', 'legacy', () => true, 'high'],
    [
      'the CONFIG_MAP creator grant',
      'creator-invisible-admin',
      'legacy',
      (f) => f.principalArn === SSO_ACTOR.canonicalArn,
      'high',
    ],
    [
      'the bootstrap creator entry',
      'creator-invisible-admin',
      'mixed',
      (f) => f.principalArn === SSO_ACTOR.canonicalArn,
      'medium',
    ],
    [
      'a mapping unused for longer than the window',
      'mapping-unused',
      'mixed',
      (f) => f.principalArn?.endsWith('user/eks-user') === true,
      'low',
    ],
    [
      'a mapping never used since it was created',
      'mapping-unused',
      'legacy',
      (f) => f.principalArn === 'arn:aws:iam::555555555555:user/admin',
      'low',
    ],
  ])('reports %s', (_name, ruleId, cluster, match, severity) => {
    const hits = find(findings, ruleId, cluster, match);
    expect(hits, findings.map((f) => `${f.cluster} ${f.ruleId} ${f.principalArn}`).join('\n')).toHaveLength(1);
    expect(hits[0]?.severity).toBe(severity);
  });

  it.each<[string, string, string, (f: Finding) => boolean]>([
    [
      'anything about the EKS service-linked node role',
      'mapping-unused',
      'mixed',
      (f) => f.principalArn?.includes('AWSServiceRole') === true,
    ],
    [
      'a node role row as system:masters',
      'system-masters-mapping',
      'legacy',
      (f) => f.principalArn?.includes('NodeInstanceRole') === true,
    ],
    ['a recently used mapping as unused', 'mapping-unused', 'mixed', (f) => f.principalArn === roleArn('platform')],
    ['a mapping younger than the window as unused', 'mapping-unused', 'modern', () => true],
    ['aws-auth rows of an API-mode cluster (ignored by EKS)', 'system-masters-mapping', 'modern', () => true],
    ['a creator without bootstrap admin', 'creator-invisible-admin', 'modern', () => true],
    [
      'an aws-auth row already covered by an access entry',
      'aws-auth-migration',
      'mixed',
      (f) => f.principalArn?.endsWith('role/account-admin') === true,
    ],
  ])('does not report %s', (_name, ruleId, cluster, match) => {
    expect(find(findings, ruleId, cluster, match)).toEqual([]);
  });

  it('lists principals still on aws-auth with their migration commands', () => {
    const [backdoor] = find(
      findings,
      'aws-auth-migration',
      'mixed',
      (f) => f.principalArn?.endsWith('backdoor-aws-auth-role') === true,
    );
    expect(backdoor?.commands).toEqual([
      'aws eks create-access-entry --cluster-name mixed --principal-arn arn:aws:iam::012345678901:role/stratus-red-team-eks-backdoor-aws-auth-role --username backdoor',
      'aws eks associate-access-policy --cluster-name mixed --principal-arn arn:aws:iam::012345678901:role/stratus-red-team-eks-backdoor-aws-auth-role --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster',
    ]);
    const [node] = find(
      findings,
      'aws-auth-migration',
      'legacy',
      (f) => f.principalArn?.includes('NodeInstanceRole') === true,
    );
    expect(node?.commands).toEqual([
      'aws eks create-access-entry --cluster-name legacy --principal-arn arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6 --type EC2_LINUX',
    ]);
    // CONFIG_MAP clusters must enable access entries first.
    expect(node?.detail).toContain('authenticationMode=API_AND_CONFIG_MAP');
  });

  it('orders findings most severe first with unique ids', () => {
    const ranks = findings.map((f) => ['critical', 'high', 'medium', 'low', 'info'].indexOf(f.severity));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(new Set(findings.map((f) => f.findingId)).size).toBe(findings.length);
  });

  it('honours suppressions', () => {
    const quiet = postureFindings({
      states: fleet(),
      usage,
      now: NOW,
      config: { unusedMappingDays: 30, suppressions: [{ ruleId: 'mapping-unused' }, { cluster: 'legacy' }] },
    });
    expect(quiet.filter((f) => f.ruleId === 'mapping-unused' || f.cluster === 'legacy')).toEqual([]);
    expect(quiet.length).toBeGreaterThan(0);
  });
});

describe('migrationCommands', () => {
  it.each([
    [
      'a templated username with a colon is kept and quoted for the shell',
      {
        kind: 'role' as const,
        arn: roleArn('dev'),
        matchKey: roleArn('dev').toLowerCase(),
        username: 'dev:{{SessionName}}',
        groups: ['dev', 'viewers'],
        flags: [],
        index: 0,
      },
      [
        "aws eks create-access-entry --cluster-name c --principal-arn arn:aws:iam::111122223333:role/dev --username 'dev:{{SessionName}}' --kubernetes-groups dev viewers",
      ],
    ],
    [
      'a reserved username prefix falls back to the EKS default',
      {
        kind: 'user' as const,
        arn: 'arn:aws:iam::111122223333:user/ci',
        matchKey: 'arn:aws:iam::111122223333:user/ci',
        username: 'system:ci',
        groups: ['deployers'],
        flags: [],
        index: 0,
      },
      [
        'aws eks create-access-entry --cluster-name c --principal-arn arn:aws:iam::111122223333:user/ci --kubernetes-groups deployers',
      ],
    ],
  ])('%s', (_name, row, expected) => {
    expect(migrationCommands('c', row).commands).toEqual(expected);
  });
});
