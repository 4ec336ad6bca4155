import { describe, expect, it } from 'vitest';
import { correlateAuditEvent } from '../../../lib/chain/correlate.js';
import { inMemoryEvidence } from '../../../lib/chain/evidence.js';
import type { CredentialIssuance, DecisionChain } from '../../../lib/chain/types.js';
import {
  activityOfVerb,
  apiActivity,
  entityManagement,
  OCSF_VERSION,
  type OcsfContext,
  UNMAPPED_NAMESPACE,
} from '../../../lib/export/ocsf.js';
import { plainRecord } from '../../../lib/export/plain.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { ocsfErrors } from '../../support/ocsf-schema.js';
import { fixtureJson, pantherLog } from '../chain/fixtures.js';
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
  principalIdObserved,
} from '../chain/scenario.js';

/**
 * The OCSF mapping on real audit events (test/fixtures/chain, sources in test/fixtures/SOURCES.md),
 * correlated by the product's correlator: each record validates against the OCSF 1.8.0 JSON Schema
 * and carries the chain's links in the attributes docs/ocsf.md names.
 */

const origin = { cluster: CLUSTER, accountId: '111122223333' };
const evidence = (mappingChanges: MappingChange[], credentials: CredentialIssuance[] = []) =>
  inMemoryEvidence({ cluster: CLUSTER, mappingChanges, credentials });

const SSO_ADMIN_ROLE = 'arn:aws:iam::211125685544:role/sso_admin';
const CLUSTER_ADMIN = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';

const kiemChanges = [
  clusterCreated('2024-01-01T00:00:00.000Z', 'API_AND_CONFIG_MAP', 'arn:aws:sts::211125685544:assumed-role/creator/x', {
    bootstrapAdmin: false,
  }),
  accessEntry('2024-02-01T10:00:00.000Z', SSO_ADMIN_ROLE, { id: 'ct-create-entry' }),
  associate('2024-02-01T10:00:05.000Z', SSO_ADMIN_ROLE, 'AmazonEKSClusterAdminPolicy'),
];
const saml = assumeRoleIssuance({
  eventId: 'ct-saml-1',
  eventTime: '2024-08-24T14:00:00Z',
  api: 'AssumeRoleWithSAML',
  roleArn: SSO_ADMIN_ROLE,
  sessionName: 'gomyers@paloaltonetworks.com',
  issuedAccessKeyId: 'ASIATCKASJUUD7MPDOZN',
  caller: { type: 'SAMLUser', principalId: 'okta:gomyers' },
  subject: 'gomyers@paloaltonetworks.com',
});
const kiemEvidence = evidence(kiemChanges, [saml]);
const kiemChain = correlateAuditEvent(
  auditFrom(fixtureJson('kiempossible-access-policy-allow.json')),
  origin,
  kiemEvidence,
);

const ctx: OcsfContext = {
  productVersion: '0.1.0',
  region: 'eu-west-1',
  credentialFor: (k) => kiemEvidence.credentialFor(k),
};

const devAdminChain = correlateAuditEvent(
  auditFrom(pantherLog('Not 403')),
  origin,
  evidence([
    clusterCreated(
      '2022-11-01T00:00:00.000Z',
      'CONFIG_MAP',
      'arn:aws:sts::123412341234:assumed-role/DevAdministrator/creator-session',
    ),
  ]),
);
const rbacChain = correlateAuditEvent(auditFrom(fixtureJson('non-eks-rolebinding-allow.json')), origin, evidence([]));
const forbidChain = correlateAuditEvent(
  auditFrom(fixtureJson('workshop-forbid-kube-scheduler-2023.json')),
  origin,
  evidence([]),
);

// biome-ignore lint/suspicious/noExplicitAny: assertions walk nested template and record fields
type Rec = Record<string, any>;

describe('API Activity (6003) from real requests', () => {
  it.each([
    ['SSO user via access entry + ClusterAdmin policy (kiempossible)', kiemChain],
    ['cluster creator through system:masters (panther)', devAdminChain],
    ['RBAC RoleBinding allow (non-EKS sample)', rbacChain],
    ['403 of kube-scheduler (EKS workshop)', forbidChain],
  ])('%s validates against the OCSF 1.8.0 API Activity JSON Schema', (_name, chain) => {
    expect(ocsfErrors(OCSF_VERSION, 'api_activity', apiActivity(chain, ctx))).toBe('');
  });

  it('puts the Kubernetes identity in actor.user and the IAM principal beside it', () => {
    const r = apiActivity(kiemChain, ctx) as Rec;
    const k = kiemChain.k8sIdentity.value!;
    expect(r.actor.user).toMatchObject({
      name: k.username,
      uid_alt: SSO_ADMIN_ROLE,
      type: 'IAM role session',
      account: { uid: '211125685544', type_id: 10 },
      credential_uid: 'ASIATCKASJUUD7MPDOZN',
    });
    expect(r.actor.user.groups).toEqual(k.groups.map((name) => ({ name })));
  });

  it('names the human as the session issuer with the session times of the SAML issuance, and the IdP', () => {
    const r = apiActivity(kiemChain, ctx) as Rec;
    expect(r.actor.session).toMatchObject({
      issuer: 'gomyers@paloaltonetworks.com',
      credential_uid: 'ASIATCKASJUUD7MPDOZN',
      created_time: Date.parse('2024-08-24T14:00:00Z'),
    });
    expect(r.actor.session.uid_alt).toMatch(/^arn:aws:sts::211125685544:assumed-role\/sso_admin\//);
    expect(r.actor.idp).toEqual({ name: 'SAML identity provider', protocol_name: 'SAML' });
    // No fact the trail keeps says whether MFA was used: the attribute stays absent, not false.
    expect(r.actor.session).not.toHaveProperty('is_mfa');
  });

  it('names the EKS access policy that allowed the request in actor.authorizations', () => {
    const r = apiActivity(kiemChain, ctx) as Rec;
    expect(r.actor.authorizations).toEqual([
      expect.objectContaining({
        decision: 'Allowed',
        policy: expect.objectContaining({
          name: 'AmazonEKSClusterAdminPolicy',
          uid: CLUSTER_ADMIN,
          type: 'EKS access policy',
        }),
      }),
    ]);
  });

  it('names the RBAC binding and its role, each with a name and a uid', () => {
    const r = apiActivity(rbacChain, ctx) as Rec;
    const reason = rbacChain.decision.value?.reason;
    if (reason?.kind !== 'rbac-allow') throw new Error('fixture is an RBAC allow');
    const policies = (r.actor.authorizations as Rec[]).map((a) => a.policy);
    expect(policies[0]).toMatchObject({ type: reason.binding.kind, is_applied: true });
    expect(policies[0].uid).toContain(`${reason.binding.kind}/`);
    expect(policies[0].name).toContain(reason.binding.name);
    if (reason.role)
      expect(policies[1]).toMatchObject({ type: reason.role.kind, name: expect.stringContaining(reason.role.name) });
  });

  it('reports a 403 as a failure with the missing permission and a Denied decision', () => {
    const r = apiActivity(forbidChain, ctx) as Rec;
    expect(r).toMatchObject({ status_id: 2, status: 'Failure', status_code: '403' });
    expect(r.status_detail).toMatch(/^authorization: missing /);
    expect(r.actor.authorizations).toEqual([{ decision: 'Denied' }]);
    expect(r.unmapped[UNMAPPED_NAMESPACE].decision.denial.stage).toBe('authorization');
  });

  it('maps verb, API group, auditID, object and addresses to api, resources and src_endpoint', () => {
    const r = apiActivity(devAdminChain, ctx) as Rec;
    const q = devAdminChain.request.value!;
    expect(r.api).toMatchObject({
      operation: 'get',
      service: { name: 'core' },
      request: { uid: devAdminChain.auditID },
    });
    expect(r.resources).toEqual([
      {
        uid: 'default/pods/log/kube-bench-drn4j',
        type: 'pods/log',
        namespace: 'default',
        name: 'kube-bench-drn4j',
        group: { name: 'core' },
      },
    ]);
    expect(r.src_endpoint.ip).toBe(q.sourceIPs[0]);
    expect(r.http_request.user_agent).toBe(q.userAgent);
    expect(r.cloud).toEqual({
      provider: 'AWS',
      region: 'eu-west-1',
      account: { uid: '111122223333', type: 'AWS Account', type_id: 10 },
    });
    expect(r.metadata).toMatchObject({
      version: '1.8.0',
      uid: `111122223333/${devAdminChain.chainId}`,
      log_name: 'kube-apiserver-audit',
    });
  });

  it('keeps the mapping, its key and every link status with why and evidence in unmapped.eks_trail', () => {
    const u = (apiActivity(kiemChain, ctx) as Rec).unmapped[UNMAPPED_NAMESPACE];
    expect(u.mapping).toMatchObject({ source: 'access-entry', key: SSO_ADMIN_ROLE });
    expect(u.links.mapping).toEqual({
      status: kiemChain.mapping.status,
      why: kiemChain.mapping.why,
      evidence: kiemChain.mapping.evidence,
    });
    expect(u.human).toMatchObject({
      identity: 'gomyers@paloaltonetworks.com',
      via: 'saml',
      credential_event_uid: 'ct-saml-1',
    });
  });

  /** Every string and number a chain holds, by where it sits. */
  const leaves = (v: unknown, path = ''): [string, string | number][] => {
    if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${path}[${i}]`));
    if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaves(x, `${path}.${k}`));
    return typeof v === 'string' || typeof v === 'number' ? [[path, v]] : [];
  };
  const valuesOf = (v: unknown): Set<string> => new Set(leaves(v).map(([, x]) => String(x)));

  it.each([
    ['kiempossible', kiemChain],
    ['panther creator', devAdminChain],
    ['RBAC allow', rbacChain],
    ['403', forbidChain],
  ])('drops no value of the chain (%s)', (_name, chain: DecisionChain) => {
    const present = valuesOf(apiActivity(chain, ctx));
    const missing = leaves(chain).filter(([, v]) => v !== '' && !present.has(String(v)));
    expect(missing).toEqual([]);
  });
});

describe('activity of a verb', () => {
  it.each([
    ['create', 1],
    ['get', 2],
    ['list', 2],
    ['watch', 2],
    ['update', 3],
    ['patch', 3],
    ['delete', 4],
    ['deletecollection', 4],
    ['impersonate', 99],
    [undefined, 0],
  ])('%s -> activity_id %s', (verb, id) => {
    expect(activityOfVerb(verb).id).toBe(id);
  });
});

describe('Entity Management (3004) from mapping changes', () => {
  const changes: [string, MappingChange, number][] = [
    ['access-entry-put', kiemChanges[1] as MappingChange, 1],
    ['access-policy-associate', kiemChanges[2] as MappingChange, 1],
    [
      'access-entry-update',
      cloudTrailChange('2024-03-01T00:00:00.000Z', {
        kind: 'access-entry-update',
        principalArn: SSO_ADMIN_ROLE,
        matchKey: SSO_ADMIN_ROLE,
        kubernetesGroups: ['viewers'],
      }),
      3,
    ],
    [
      'access-policy-disassociate',
      cloudTrailChange('2024-03-02T00:00:00.000Z', {
        kind: 'access-policy-disassociate',
        principalArn: SSO_ADMIN_ROLE,
        matchKey: SSO_ADMIN_ROLE,
        policyArn: CLUSTER_ADMIN,
      }),
      4,
    ],
    [
      'access-entry-delete',
      cloudTrailChange('2024-03-03T00:00:00.000Z', {
        kind: 'access-entry-delete',
        principalArn: SSO_ADMIN_ROLE,
        matchKey: SSO_ADMIN_ROLE,
      }),
      4,
    ],
    [
      'aws-auth-put',
      awsAuthPut('2024-03-04T00:00:00.000Z', {
        mapRoles: '- rolearn: arn:aws:iam::111122223333:role/ops\n  username: ops\n  groups: [system:masters]\n',
      }),
      3,
    ],
    ['aws-auth-delete', cloudTrailChange('2024-03-05T00:00:00.000Z', { kind: 'aws-auth-delete' }), 4],
    ['auth-mode-set', authMode('2024-03-06T00:00:00.000Z', 'API'), 3],
    ['cluster-created', kiemChanges[0] as MappingChange, 1],
    ['cluster-deleted', cloudTrailChange('2024-03-07T00:00:00.000Z', { kind: 'cluster-deleted' }), 4],
    [
      'logging-set',
      cloudTrailChange('2024-03-08T00:00:00.000Z', { kind: 'logging-set', enabled: [], disabled: ['audit'] }),
      3,
    ],
    ['principal-id-observed', principalIdObserved('2024-03-09T00:00:00.000Z', SSO_ADMIN_ROLE, 'AROAEXAMPLE'), 99],
  ];

  it.each(changes.map(([kind, change, id]) => ({ kind, change, id })))(
    '$kind validates with activity_id $id',
    ({ change, id }) => {
      const r = entityManagement(change, ctx) as Rec;
      expect(ocsfErrors(OCSF_VERSION, 'entity_management', r)).toBe('');
      expect(r.activity_id).toBe(id);
      expect(r.type_uid).toBe(300400 + id);
      // The change as stored, untouched: the evidence behind the record.
      expect(r.entity.data).toEqual(change.op);
      expect(r.metadata.correlation_uid).toBe(change.sourceEventId);
    },
  );

  it('names the policy of an association and the IAM caller who made it', () => {
    const r = entityManagement(kiemChanges[2] as MappingChange, ctx) as Rec;
    expect(r.entity).toMatchObject({ type_id: 5, policy: { name: 'AmazonEKSClusterAdminPolicy', uid: CLUSTER_ADMIN } });
    expect(r.actor.user).toMatchObject({
      uid: 'arn:aws:sts::111122223333:assumed-role/platform-admin/ops@example.com',
    });
  });

  it('names the Kubernetes user who edited aws-auth', () => {
    const r = entityManagement(changes[5]?.[1] as MappingChange, ctx) as Rec;
    expect(r.actor.user).toMatchObject({ name: 'kubernetes-admin' });
    expect(r.entity).toMatchObject({ name: 'kube-system/aws-auth', type: 'aws-auth ConfigMap' });
  });
});

describe('plain JSON-lines record', () => {
  it('carries the structured fields of the chain under stable keys', () => {
    const p = plainRecord(kiemChain);
    expect(p).toMatchObject({
      time: kiemChain.at,
      cluster: CLUSTER,
      principal: SSO_ADMIN_ROLE,
      human: 'gomyers@paloaltonetworks.com',
      mapping: { source: 'access-entry', key: SSO_ADMIN_ROLE },
      decision: { outcome: 'allow', authorizer: 'eks-access-policy', policy: 'AmazonEKSClusterAdminPolicy' },
      verb: kiemChain.request.value?.verb,
    });
    expect(p.k8s_groups).toEqual(kiemChain.k8sIdentity.value?.groups);
  });

  it('names the binding and role of an RBAC allow', () => {
    const p = plainRecord(rbacChain);
    expect(p.decision.binding).toMatch(/^(Cluster)?RoleBinding\//);
  });
});
