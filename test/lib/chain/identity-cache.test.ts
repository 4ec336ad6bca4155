import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuditOrigin, correlateAuditEvent } from '../../../lib/chain/correlate.js';
import { inMemoryEvidence } from '../../../lib/chain/evidence.js';
import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../../../lib/chain/types.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { parseAuditEvent } from '../../../lib/sources/audit-event.js';
import type { AuditEvent, K8sUserInfo } from '../../../lib/sources/types.js';
import { fixtureJson, pantherLog } from './fixtures.js';
import {
  accessEntry,
  associate,
  assumeRoleIssuance,
  auditFrom,
  authMode,
  awsAuthPut,
  CLUSTER,
  cloudTrailChange,
  clusterCreated,
  matchKeyOf,
  principalIdObserved,
  withFields,
} from './scenario.js';

/**
 * The correlator derives a principal's principal and mapping links once per (mapping history, state
 * version, user block) and shares them. Caching must be invisible: every chain equals the one the same
 * evidence gives without `mappingStateKeyAt`, whatever the order and repetition of the requests.
 */

const origin: AuditOrigin = { cluster: CLUSTER, accountId: '111122223333' };

/** The same lookups without mappingStateKeyAt: the correlator then derives every link afresh. */
const uncached = (evidence: CorrelationEvidence): CorrelationEvidence => ({
  mappingStateAt: (at) => evidence.mappingStateAt(at),
  credentialFor: (accessKeyId) => evidence.credentialFor(accessKeyId),
});

// ---------------------------------------------------------------------------------------------
// the history: several versions, every kind of mapping
// ---------------------------------------------------------------------------------------------

const SSO_ADMIN_ROLE = 'arn:aws:iam::211125685544:role/sso_admin';
const NODE_ROLE = 'arn:aws:iam::111122223333:role/eks-node-role';
const CI_ROLE = 'arn:aws:iam::123412341234:role/ci-deployer';
const ALICE = 'arn:aws:iam::123412341234:user/alice';
const CI_KEY = 'ASIACIDEPLOYER000001';
const DEV_ADMIN_KEY = 'ASIARLIVEKVNN6Y6J5UW';

const mapRolesV1 = `- rolearn: ${NODE_ROLE}\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n- rolearn: ${CI_ROLE}\n  username: ci-deployer\n  groups:\n    - deployers\n`;
const mapRolesV2 = `- rolearn: ${NODE_ROLE}\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n`;
const mapUsersV1 = `- userarn: ${ALICE}\n  username: alice\n  groups:\n    - dev\n`;
const mapUsersV2 = `- userarn: ${ALICE}\n  username: alice\n  groups:\n    - dev\n    - system:masters\n`;

const history = (): MappingChange[] => [
  clusterCreated('2024-01-01T00:00:00.000Z', 'CONFIG_MAP', 'arn:aws:sts::123412341234:assumed-role/DevAdministrator/c'),
  awsAuthPut('2024-01-15T00:00:00.000Z', { mapRoles: mapRolesV1, mapUsers: mapUsersV1 }),
  authMode('2024-02-01T00:00:00.000Z', 'API_AND_CONFIG_MAP'),
  accessEntry('2024-02-10T10:00:00.000Z', SSO_ADMIN_ROLE, { id: 'ct-entry-sso' }),
  associate('2024-02-10T10:00:05.000Z', SSO_ADMIN_ROLE, 'AmazonEKSViewPolicy', {
    type: 'namespace',
    namespaces: ['dev'],
  }),
  accessEntry('2024-03-01T00:00:00.000Z', NODE_ROLE, { type: 'EC2_LINUX', groups: ['system:nodes'], id: 'ct-node' }),
  // The aws-auth edit: ci-deployer's row removed, alice promoted.
  awsAuthPut('2024-04-01T00:00:00.000Z', { mapRoles: mapRolesV2, mapUsers: mapUsersV2 }),
  // Entry updates and deletes have no builder of their own.
  cloudTrailChange(
    '2024-05-01T00:00:00.000Z',
    {
      kind: 'access-entry-update',
      principalArn: SSO_ADMIN_ROLE,
      matchKey: matchKeyOf(SSO_ADMIN_ROLE),
      username: 'sso-admin:{{SessionName}}',
      kubernetesGroups: ['admins'],
    },
    'ct-update-sso',
  ),
  principalIdObserved('2024-05-02T00:00:00.000Z', SSO_ADMIN_ROLE, 'AROATCKASJUUBCXRRKSFT'),
  // Changes that alter no state (a recreated principal never rebinds; no entry for the CI role): the
  // requests on either side of them share one state version, and so the cached links.
  principalIdObserved('2024-05-03T00:00:00.000Z', SSO_ADMIN_ROLE, 'AROARECREATEDSSOADMIN'),
  principalIdObserved('2024-05-04T00:00:00.000Z', CI_ROLE, 'AROACIDEPLOYER000001'),
  cloudTrailChange(
    '2024-06-01T00:00:00.000Z',
    { kind: 'access-entry-delete', principalArn: NODE_ROLE, matchKey: matchKeyOf(NODE_ROLE) },
    'ct-delete-node',
  ),
  associate('2024-06-15T00:00:00.000Z', SSO_ADMIN_ROLE, 'AmazonEKSClusterAdminPolicy'),
];

const credentials = (): CredentialIssuance[] => [
  assumeRoleIssuance({
    eventId: 'ct-assume-ci',
    eventTime: '2023-11-01T00:00:00Z',
    roleArn: CI_ROLE,
    sessionName: 'pipeline-7',
    issuedAccessKeyId: CI_KEY,
    caller: { type: 'IAMUser', arn: 'arn:aws:iam::123412341234:user/bob', accessKeyId: 'AKIABOB0000000000001' },
  }),
  assumeRoleIssuance({
    eventId: 'ct-assume-dev',
    eventTime: '2023-11-01T00:00:00Z',
    roleArn: 'arn:aws:iam::123412341234:role/DevAdministrator',
    issuedAccessKeyId: DEV_ADMIN_KEY,
    caller: { type: 'IAMUser', arn: 'arn:aws:iam::123412341234:user/carol', accessKeyId: 'AKIACAROL00000000001' },
  }),
  assumeRoleIssuance({
    eventId: 'ct-saml-1',
    eventTime: '2023-11-01T00:00:00Z',
    api: 'AssumeRoleWithSAML',
    roleArn: SSO_ADMIN_ROLE,
    issuedAccessKeyId: 'ASIATCKASJUUD7MPDOZN',
    caller: { type: 'SAMLUser' },
    subject: 'gomyers@paloaltonetworks.com',
  }),
];

const evidence = (mappingChanges = history()) =>
  inMemoryEvidence({ cluster: CLUSTER, mappingChanges, credentials: credentials() });

// ---------------------------------------------------------------------------------------------
// the requests: real fixture events, re-timed
// ---------------------------------------------------------------------------------------------

const kiem = fixtureJson('kiempossible-access-policy-allow.json');
const devAdmin = pantherLog('Not 403');

const kiemForbidden = withFields(kiem, {
  requestURI: '/api/v1/namespaces/wareville/secrets?limit=500',
  objectRef: { resource: 'secrets', namespace: 'wareville', apiVersion: 'v1' },
  responseStatus: {
    metadata: {},
    status: 'Failure',
    message:
      'secrets is forbidden: User "arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com" cannot list resource "secrets" in API group "" in the namespace "wareville"',
    reason: 'Forbidden',
    code: 403,
  },
  annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
});

const node = withFields(pantherLog('legitimate EKS node from AWS IP - should not alert'), {
  user: {
    username: 'system:node:ip-192-168-3-178.us-west-2.compute.internal',
    uid: 'aws-iam-authenticator:111122223333:AROANODEROLE00000001',
    groups: ['system:nodes', 'system:authenticated'],
    extra: {
      accessKeyId: ['ASIANODEKEY000000001'],
      arn: ['arn:aws:sts::111122223333:assumed-role/eks-node-role/i-0123456789abcdef0'],
      canonicalArn: [NODE_ROLE],
      principalId: ['AROANODEROLE00000001'],
      sessionName: ['i-0123456789abcdef0'],
    },
  },
});

const iamUser = withFields(devAdmin, {
  user: {
    username: 'alice',
    uid: 'aws-iam-authenticator:123412341234:AIDAALICE00000000001',
    groups: ['dev', 'system:authenticated'],
    extra: {
      accessKeyId: ['AKIAALICE00000000001'],
      arn: [ALICE],
      canonicalArn: [ALICE],
      principalId: ['AIDAALICE00000000001'],
      sessionName: [''],
    },
  },
  annotations: {
    'authorization.k8s.io/decision': 'allow',
    'authorization.k8s.io/reason':
      'RBAC: allowed by RoleBinding "dev-edit/default" of ClusterRole "edit" to Group "dev"',
  },
});

/** An authenticator before v0.5.1 wrote only the access key: the role comes from its AssumeRole issuance. */
const accessKeyOnly = (accessKeyId: string) =>
  withFields(devAdmin, {
    user: {
      username: 'ci-deployer',
      groups: ['deployers', 'system:authenticated'],
      extra: { accessKeyId: [accessKeyId] },
    },
    annotations: {
      'authorization.k8s.io/decision': 'allow',
      'authorization.k8s.io/reason':
        'RBAC: allowed by ClusterRoleBinding "deploy" of ClusterRole "edit" to Group "deployers"',
    },
  });

const unauthenticated = {
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'Metadata',
  auditID: 'placeholder',
  stage: 'ResponseStarted',
  requestURI: '/api/v1/namespaces/default/pods',
  verb: 'list',
  user: {},
  sourceIPs: ['203.0.113.7'],
  responseStatus: { metadata: {}, message: 'Authentication failed, attempted: bearer', code: 401 },
};

const RAW_EVENTS: Record<string, Record<string, unknown>> = {
  'sso role session via access entry': kiem,
  'sso role session forbidden': kiemForbidden,
  'permission-set role, never mapped in the history': fixtureJson('sso-access-entry-user-extra.json'),
  'cluster creator (2022 extra, principal id from uid)': devAdmin,
  'node role': node,
  'IAM user': iamUser,
  'access-key-only extra with an issuance': accessKeyOnly(CI_KEY),
  'access-key-only extra without an issuance': accessKeyOnly('ASIAUNKNOWNKEY000001'),
  'service account': pantherLog('403 and Private IP'),
  'system:anonymous allowed': pantherLog('Anonymous API Access Web Scanner Allowed'),
  'system:anonymous denied': pantherLog('Anonymous API Access Web Scanner Denied'),
  'eks:addon-manager': pantherLog('eks:addon-manager from public ip as lambda'),
  '401 with an empty user': unauthenticated,
};

/** Before the history, at and between its changes, and twice inside the last version. */
const TIMES = [
  '2023-12-01T00:00:00.000000Z',
  '2024-01-10T12:00:00.000000Z',
  '2024-01-15T00:00:00.000000Z',
  '2024-01-20T08:30:00.123456Z',
  '2024-02-05T00:00:00.000000Z',
  '2024-02-10T10:00:02.500000Z',
  '2024-02-20T00:00:00.000001Z',
  '2024-03-15T00:00:00.000000Z',
  '2024-04-15T00:00:00.000000Z',
  '2024-05-01T12:00:00.000000Z',
  '2024-05-03T12:00:00.000000Z',
  '2024-05-15T00:00:00.000000Z',
  '2024-06-10T00:00:00.000000Z',
  '2024-07-01T00:00:00.000000Z',
  '2024-08-24T14:27:07.461683Z',
];

interface Sample {
  name: string;
  event: AuditEvent;
  origin: AuditOrigin;
}

const retimed = (name: string, raw: Record<string, unknown>, at: string, n: number): Sample => ({
  name: `${name} @ ${at}`,
  event: auditFrom(
    withFields(raw, {
      auditID: `audit-${String(n).padStart(4, '0')}`,
      requestReceivedTimestamp: at,
      stageTimestamp: at,
    }),
  ),
  origin,
});

/**
 * CloudWatch cut the event before its timestamps: the extra block is lost with the cut (the user is
 * recovered as username, uid and groups only), and the instant is the CloudWatch event timestamp.
 */
const truncated = (at: string, n: number): Sample => {
  const text = JSON.stringify(withFields(kiem, { auditID: `audit-cut-${n}` }));
  const cut = `${text.slice(0, text.indexOf('"requestReceivedTimestamp"'))}[Truncated...]`;
  const parsed = parseAuditEvent(cut);
  if (!parsed.ok || !parsed.value.truncated) throw new Error('the cut fixture is not a truncated audit event');
  return { name: `truncated @ ${at}`, event: parsed.value, origin: { ...origin, timestamp: Date.parse(at) } };
};

const POOL: Sample[] = TIMES.flatMap((at, t) => [
  ...Object.entries(RAW_EVENTS).map(([name, raw], e) => retimed(name, raw, at, t * 100 + e)),
  truncated(at, t),
]);

// ---------------------------------------------------------------------------------------------

describe('identity cache', () => {
  it('cached and uncached correlation give identical chains', () => {
    const ev = evidence();
    const plain = uncached(ev);
    const expected = POOL.map((s) => correlateAuditEvent(s.event, s.origin, plain));
    const first = POOL.map((s) => correlateAuditEvent(s.event, s.origin, ev));
    const second = POOL.map((s) => correlateAuditEvent(s.event, s.origin, ev));
    POOL.forEach((s, i) => {
      expect(first[i], `first pass: ${s.name}`).toEqual(expected[i]);
      expect(second[i], `second pass: ${s.name}`).toEqual(expected[i]);
    });
    // The comparison is only meaningful if the cache served part of the second pass.
    const served = POOL.filter((_, i) => second[i]?.principal === first[i]?.principal).length;
    expect(served).toBeGreaterThan(POOL.length / 2);
    // ...and if the pool spans the cases the history distinguishes.
    const sources = new Set(expected.map((c) => c.mapping.value?.source ?? `unknown: ${c.mapping.why.slice(0, 20)}`));
    expect([...sources]).toEqual(
      expect.arrayContaining([
        'access-entry',
        'aws-auth-role',
        'aws-auth-user',
        'cluster-creator',
        'eks-internal',
        'service-account',
        'anonymous',
        'unmapped',
      ]),
    );
  });

  it('gives the uncached chain for any sequence of requests, repeats and order included', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(POOL.length - 1), { minLength: 1, maxLength: 60 }), (picks) => {
        const ev = evidence();
        const plain = uncached(ev);
        for (const p of picks) {
          const s = POOL[p] as Sample;
          expect(correlateAuditEvent(s.event, s.origin, ev)).toEqual(correlateAuditEvent(s.event, s.origin, plain));
        }
      }),
      { numRuns: 100 },
    );
  });

  describe('never lets two users share an entry', () => {
    const base = auditFrom(devAdmin).user;
    const at = '2024-02-20T00:00:00.000000Z';
    const eventFor = (user: K8sUserInfo, n: number) =>
      auditFrom(
        withFields(devAdmin, {
          auditID: `audit-key-${n}`,
          user,
          requestReceivedTimestamp: at,
          stageTimestamp: at,
        }),
      );
    const variants: [string, K8sUserInfo][] = [
      ['one more group', { ...base, groups: [...base.groups, 'ops'] }],
      ['another access key', { ...base, extra: { ...base.extra, accessKeyId: ['ASIAOTHERKEY00000001'] } }],
      ['another session name', { ...base, extra: { ...base.extra, sessionName: ['other-session'] } }],
      [
        'another uid (the principal id of a 2022 event)',
        { ...base, uid: 'aws-iam-authenticator:123412341234:AROAOTHER' },
      ],
    ];

    it.each(variants)('%s', (_what, other) => {
      const a = eventFor(base, 1);
      const b = eventFor(other, 2);
      for (const order of [
        [a, b],
        [b, a],
      ] as const) {
        const ev = evidence();
        const plain = uncached(ev);
        for (const e of order) {
          expect(correlateAuditEvent(e, origin, ev)).toEqual(correlateAuditEvent(e, origin, plain));
        }
      }
      // The two users really are told apart by the links the cache holds.
      const plain = uncached(evidence());
      const ca = correlateAuditEvent(a, origin, plain);
      const cb = correlateAuditEvent(b, origin, plain);
      expect([cb.principal, cb.mapping]).not.toEqual([ca.principal, ca.mapping]);
    });
  });

  it('does not let a later correlation change an earlier chain', () => {
    const ev = evidence();
    const at = '2024-07-01T00:00:00.000000Z';
    const event = (raw: Record<string, unknown>, id: string) =>
      auditFrom(withFields(raw, { auditID: id, requestReceivedTimestamp: at, stageTimestamp: at }));
    const produced: { chain: DecisionChain; snapshot: DecisionChain }[] = [];
    for (const [raw, id] of [
      [kiem, 'm-1'],
      [kiemForbidden, 'm-2'],
      [kiem, 'm-3'],
      [iamUser, 'm-4'],
      [iamUser, 'm-5'],
      [node, 'm-6'],
      [node, 'm-7'],
    ] as const) {
      const chain = correlateAuditEvent(event(raw, id), origin, ev);
      produced.push({ chain, snapshot: structuredClone(chain) });
    }
    // Shared links, so the check is not vacuous.
    expect(produced[2]?.chain.principal).toBe(produced[0]?.chain.principal);
    for (const { chain, snapshot } of produced) expect(chain).toEqual(snapshot);
  });

  it('does not share the explanation of an empty history between requests', () => {
    const ev = inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [] });
    const t1 = '2024-08-24T14:27:07.461683Z';
    const t2 = '2024-09-01T08:00:00.000000Z';
    const at = (t: string, id: string) =>
      correlateAuditEvent(
        auditFrom(withFields(kiem, { auditID: id, requestReceivedTimestamp: t, stageTimestamp: t })),
        origin,
        ev,
      );
    const first = at(t1, 'e-1');
    const second = at(t2, 'e-2');
    expect(first.mapping.status).toBe('unknown');
    expect(first.mapping.why).toContain(`at ${t1}`);
    expect(second.mapping.why).toContain(`at ${t2}`);
    expect(second.mapping.why).not.toContain(t1);
    expect(first.mapping.why).not.toContain(t2);
    expect(first.pendingEnrichment).toBe(true);
    expect(second.pendingEnrichment).toBe(true);
  });
});
