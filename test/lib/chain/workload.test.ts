import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { correlateAuditEvent } from '../../../lib/chain/correlate.js';
import { credentialFromCloudTrail, inMemoryEvidence } from '../../../lib/chain/evidence.js';
import { humanFor } from '../../../lib/chain/human.js';
import type { CredentialIssuance, Link, PrincipalLink } from '../../../lib/chain/types.js';
import { inMemoryWorkloads, withWorkloads } from '../../../lib/chain/workload-evidence.js';
import { changesFromCloudTrail } from '../../../lib/identity/mapping-changes.js';
import { MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { withMatchKeys } from '../../../lib/identity/workload.js';
import { parseCloudTrailFile } from '../../../lib/sources/cloudtrail.js';
import { fixtureJson } from './fixtures.js';
import { accessEntry, auditFrom, CLUSTER, clusterCreated, withFields } from './scenario.js';

const ctFixture = (name: string) =>
  parseCloudTrailFile(readFileSync(new URL(`../../fixtures/sources/cloudtrail/${name}`, import.meta.url), 'utf8'));

const immersion = ctFixture('immersion-day-pod-identity-records.json').parsed;
const podIssuance = credentialFromCloudTrail(immersion[1]!) as CredentialIssuance;
const SOURCE = { accountId: '823571991546', cluster: 'eksworkshop-eksctl' };
const POD_ROLE = 'arn:aws:iam::823571991546:role/eks-pod-s3-read-access-role';

/** The association the workshop created before the pod asked for credentials. */
const association = (over: Partial<MappingChange> = {}): MappingChange => ({
  cluster: SOURCE.cluster,
  accountId: SOURCE.accountId,
  at: '2024-04-16T08:00:00.000Z',
  sourceEventId: 'ct-create-association',
  source: 'cloudtrail',
  actor: {
    aws: {
      type: 'AssumedRole',
      arn: 'arn:aws:sts::823571991546:assumed-role/AWSReservedSSO_Admins_0123456789abcdef/alice@example.com',
      sessionIssuerArn:
        'arn:aws:iam::823571991546:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admins_0123456789abcdef',
      sessionName: 'alice@example.com',
    },
  },
  op: {
    kind: 'pod-identity-association-put',
    association: withMatchKeys({
      associationId: 'a-lfw52xh1ihr1szuwp',
      namespace: 'ns-a',
      serviceAccount: 'sa1',
      roleArn: POD_ROLE,
    }),
  },
  ...over,
});

const principalOf = (accessKeyId: string): Link<PrincipalLink> => ({
  status: 'observed',
  value: { type: 'assumed-role', canonicalArn: POD_ROLE, accessKeyId },
  why: '',
  evidence: [],
});

const evidenceWith = (credentials: CredentialIssuance[], sourceChanges: MappingChange[], issuers = {}) =>
  inMemoryEvidence({
    cluster: CLUSTER,
    mappingChanges: [],
    credentials,
    workload: inMemoryWorkloads({
      timelines: [{ ref: SOURCE, timeline: new MappingTimeline(SOURCE.cluster, sourceChanges) }],
      issuers,
    }),
  });

describe('EKS Pod Identity sessions (immersion-day STS record)', () => {
  it('reads the pod from the session tags into the issuance', () => {
    expect(podIssuance.workload).toEqual({
      kind: 'pod-identity',
      from: 'session-tags',
      cluster: 'eksworkshop-eksctl',
      clusterArn: 'arn:aws:eks:us-west-2:823571991546:cluster/eksworkshop-eksctl',
      accountId: '823571991546',
      namespace: 'ns-a',
      serviceAccount: 'sa1',
      pod: 'app1',
      podUid: '0cda7f85-c1f9-4dee-b6e9-a0b50c8f3012',
    });
  });

  it('names the workload, the association in force and who created it', () => {
    const h = humanFor(principalOf(podIssuance.accessKeyId), evidenceWith([podIssuance], [association()]));
    expect(h.pending).toBe(false);
    expect(h.link.status).toBe('derived');
    expect(h.link.value).toMatchObject({
      identity: 'serviceaccount:823571991546/eksworkshop-eksctl/ns-a/sa1',
      via: 'pod-identity',
      credentialEventId: '7b7e4636-4713-3d04-b86a-cd6774cdbae9',
      workload: {
        kind: 'pod-identity',
        cluster: 'eksworkshop-eksctl',
        accountId: '823571991546',
        namespace: 'ns-a',
        serviceAccount: 'sa1',
        pod: 'app1',
        podStatus: 'observed',
        association: {
          status: 'derived',
          associationId: 'a-lfw52xh1ihr1szuwp',
          roleArn: POD_ROLE,
          createdByHuman: 'alice@example.com',
          sourceEventId: 'ct-create-association',
        },
      },
    });
    expect(h.link.evidence).toContain('cloudtrail:7b7e4636-4713-3d04-b86a-cd6774cdbae9');
  });

  it('still names the pod when the association is not in the trail, and says the link may complete later', () => {
    const h = humanFor(principalOf(podIssuance.accessKeyId), evidenceWith([podIssuance], []));
    expect(h.link.value?.workload?.pod).toBe('app1');
    expect(h.link.value?.workload?.association).toBeUndefined();
    expect(h.link.why).toContain('no Pod Identity association of ns-a/sa1 is recorded');
    expect(h.pending).toBe(true);
  });

  it('follows a role chain from the pod session to the workload', () => {
    const deployer: CredentialIssuance = {
      accessKeyId: 'ASIACHAINEDDEPLOYER1',
      issuedAt: '2024-04-16T09:25:00Z',
      api: 'AssumeRole',
      roleArn: 'arn:aws:iam::111122223333:role/deployer',
      roleMatchKey: 'arn:aws:iam::111122223333:role/deployer',
      caller: {
        type: 'AssumedRole',
        arn: 'arn:aws:sts::823571991546:assumed-role/eks-pod-s3-read-access-role/eks-eksworksho-app1-498124c2-a555-40bf-9059-ca9a26821eb0',
        accessKeyId: podIssuance.accessKeyId,
      },
      sourceEventId: 'ct-chained',
    };
    const h = humanFor(principalOf(deployer.accessKeyId), evidenceWith([podIssuance, deployer], [association()]));
    expect(h.link.value?.via).toBe('pod-identity');
    expect(h.link.value?.chain).toEqual([deployer.caller.arn]);
    expect(h.link.value?.credentialEventId).toBe('ct-chained');
  });

  it('without session tags, finds the one association that fits the session name and role', () => {
    const untagged: CredentialIssuance = { ...podIssuance, workload: { kind: 'pod-identity', from: 'session-name' } };
    const h = humanFor(principalOf(untagged.accessKeyId), evidenceWith([untagged], [association()]));
    expect(h.link.status).toBe('derived');
    expect(h.link.value?.workload).toMatchObject({
      cluster: 'eksworkshop-eksctl',
      namespace: 'ns-a',
      serviceAccount: 'sa1',
      pod: 'app1',
      podStatus: 'derived',
    });
  });

  it('without session tags and two fitting associations, leaves the workload unknown', () => {
    const untagged: CredentialIssuance = { ...podIssuance, workload: { kind: 'pod-identity', from: 'session-name' } };
    const second = association({
      sourceEventId: 'ct-second',
      op: {
        kind: 'pod-identity-association-put',
        association: withMatchKeys({
          associationId: 'a-2',
          namespace: 'ns-b',
          serviceAccount: 'sa2',
          roleArn: POD_ROLE,
        }),
      },
    });
    const h = humanFor(principalOf(untagged.accessKeyId), evidenceWith([untagged], [association(), second]));
    expect(h.link.status).toBe('unknown');
    expect(h.link.why).toContain('ambiguous');
  });

  it('reads an EKS Auth response: the association is observed', () => {
    const rec = ctFixture('workload-records-from-aws-cli-examples.json').parsed.find(
      (e) => e.eventName === 'AssumeRoleForPodIdentity',
    );
    const iss = credentialFromCloudTrail(rec!) as CredentialIssuance;
    expect(iss).toMatchObject({
      api: 'AssumeRoleForPodIdentity',
      roleArn: 'arn:aws:iam::111122223333:role/eks-pod-s3-readonly-access',
      accessKeyId: 'ASIAQAHCJ2QPPKHZNJFH',
      workload: {
        from: 'eks-auth-response',
        namespace: 'ns-a',
        serviceAccount: 'app1',
        associationId: 'a-lfw52xh1ihr1szuwp',
      },
    });
    const h = humanFor(principalOf(iss.accessKeyId), evidenceWith([iss], []));
    expect(h.link.value?.workload?.association).toMatchObject({
      status: 'observed',
      associationId: 'a-lfw52xh1ihr1szuwp',
    });
  });
});

describe('IRSA sessions', () => {
  const rec = ctFixture('workload-records-from-aws-cli-examples.json').parsed.find(
    (e) => e.eventName === 'AssumeRoleWithWebIdentity',
  );
  const iss = credentialFromCloudTrail(rec!) as CredentialIssuance;
  const ISSUER = 'oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW';

  it('reads the service account and the EKS issuer of the token', () => {
    expect(iss.workload).toEqual({
      kind: 'irsa',
      from: 'web-identity-token',
      issuer: ISSUER,
      namespace: 'monitoring',
      serviceAccount: 'cost-exporter',
      audience: 'sts.amazonaws.com',
    });
  });

  it('names the cluster that owns the issuer, and says IRSA never names the pod', () => {
    const ev = inMemoryEvidence({
      cluster: CLUSTER,
      mappingChanges: [],
      credentials: [iss],
      workload: inMemoryWorkloads({
        timelines: [],
        issuers: { [ISSUER]: { accountId: '111122223333', cluster: 'my-eks-cluster' } },
      }),
    });
    const h = humanFor(principalOf(iss.accessKeyId), ev);
    expect(h.pending).toBe(false);
    expect(h.link.value).toMatchObject({
      identity: 'serviceaccount:111122223333/my-eks-cluster/monitoring/cost-exporter',
      via: 'irsa',
      workload: {
        kind: 'irsa',
        cluster: 'my-eks-cluster',
        trust: { issuer: ISSUER, subject: 'system:serviceaccount:monitoring:cost-exporter' },
      },
    });
    expect(h.link.value?.workload?.pod).toBeUndefined();
    expect(h.link.why).toContain('IRSA tokens do not name the pod');
  });

  it('names the issuer when no cluster is known to own it, and waits for one', () => {
    const h = humanFor(
      principalOf(iss.accessKeyId),
      inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [iss] }),
    );
    expect(h.link.value?.identity).toBe(`serviceaccount:${ISSUER}/monitoring/cost-exporter`);
    expect(h.pending).toBe(true);
  });

  it('loads the issuer and the pod clusters up front for the keys it is given', async () => {
    const base = inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [iss, podIssuance] });
    const asked: string[] = [];
    const ev = await withWorkloads(base, [iss.accessKeyId, podIssuance.accessKeyId], {
      issuerCluster: async (k) => {
        asked.push(k);
        return { accountId: '111122223333', cluster: 'my-eks-cluster' };
      },
      clusters: async () => [SOURCE],
      timeline: async (ref) => new MappingTimeline(ref.cluster, ref.cluster === SOURCE.cluster ? [association()] : []),
    });
    expect(asked).toEqual([ISSUER]);
    expect(ev.workload?.clusterOfIssuer(ISSUER)).toEqual({ accountId: '111122223333', cluster: 'my-eks-cluster' });
    expect(ev.workload?.stateOf(SOURCE, '2024-04-16T09:20:04Z')?.podIdentityAssociations?.size).toBe(1);
    // Nothing to load when no key went to a pod.
    const plain = inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [] });
    expect(
      await withWorkloads(plain, ['ASIANOTHING'], {
        issuerCluster: async () => undefined,
        clusters: async () => [],
        timeline: async () => new MappingTimeline('x', []),
      }),
    ).toBe(plain);
  });
});

describe('users without IAM identity', () => {
  const kiem = fixtureJson('kiempossible-access-policy-allow.json');
  const oidcChanges = (): MappingChange[] => [
    clusterCreated('2024-01-01T00:00:00.000Z', 'API', 'arn:aws:sts::211125685544:assumed-role/creator/x'),
    ...changesFromCloudTrail(
      ctFixture('workload-records-from-aws-cli-examples.json').parsed.find(
        (e) => e.eventName === 'AssociateIdentityProviderConfig',
      )!,
    ).map((c) => ({ ...c, cluster: CLUSTER, at: '2024-02-01T00:00:00.000Z' })),
  ];
  const oidcEvent = withFields(kiem, {
    user: { username: 'my-username-prefixcarol@example.com', groups: ['my-groups-prefixsre', 'system:authenticated'] },
  });

  it('an OIDC provider user gets the provider as mapping and the claim as human', () => {
    const c = correlateAuditEvent(
      auditFrom(oidcEvent),
      { cluster: CLUSTER },
      inMemoryEvidence({ cluster: CLUSTER, mappingChanges: oidcChanges(), credentials: [] }),
    );
    expect(c.principal).toMatchObject({
      status: 'derived',
      value: { type: 'oidc-user', oidc: { provider: 'my-identity-provider', claim: 'carol@example.com' } },
    });
    expect(c.mapping).toMatchObject({
      status: 'derived',
      value: {
        source: 'oidc-provider',
        oidcProvider: {
          name: 'my-identity-provider',
          issuerUrl: 'https://oidc.eks.us-east-2.amazonaws.com/id/38D6A4619A0A69E342B113ED7F1A7652',
          usernameClaim: 'email',
          usernamePrefix: 'my-username-prefix',
          groupsClaim: 'my-claim',
        },
        groups: ['my-groups-prefixsre'],
      },
    });
    expect(c.human).toMatchObject({ status: 'derived', value: { identity: 'carol@example.com', via: 'oidc' } });
  });

  it('the same user before the provider was associated stays unknown', () => {
    const early = withFields(oidcEvent, { requestReceivedTimestamp: '2024-01-15T00:00:00.000000Z' });
    const c = correlateAuditEvent(
      auditFrom(early),
      { cluster: CLUSTER },
      inMemoryEvidence({ cluster: CLUSTER, mappingChanges: oidcChanges(), credentials: [] }),
    );
    expect(c.principal.status).toBe('unknown');
  });

  const nodeEvent = withFields(kiem, {
    user: {
      username: 'system:node:fargate-ip-10-0-1-2.us-west-2.compute.internal',
      groups: ['system:nodes', 'system:authenticated'],
    },
  });
  const FARGATE = 'arn:aws:iam::211125685544:role/fargate-pod-execution';
  const nodeChanges = (extra: MappingChange[] = []): MappingChange[] => [
    clusterCreated('2024-01-01T00:00:00.000Z', 'API', 'arn:aws:sts::211125685544:assumed-role/creator/x', {
      bootstrapAdmin: false,
    }),
    accessEntry('2024-01-02T00:00:00.000Z', FARGATE, { type: 'FARGATE_LINUX' }),
    ...extra,
  ];

  it('a node without user.extra gets the one node-type access entry that fits its name', () => {
    const c = correlateAuditEvent(
      auditFrom(nodeEvent),
      { cluster: CLUSTER },
      inMemoryEvidence({ cluster: CLUSTER, mappingChanges: nodeChanges(), credentials: [] }),
    );
    expect(c.principal).toMatchObject({ status: 'derived', value: { canonicalArn: FARGATE } });
    expect(c.mapping).toMatchObject({
      status: 'derived',
      value: { source: 'access-entry', accessEntry: { principalArn: FARGATE, type: 'FARGATE_LINUX' } },
    });
  });

  it('a node without user.extra that two node entries fit has an unknown mapping naming both', () => {
    const hybrid = accessEntry('2024-01-03T00:00:00.000Z', 'arn:aws:iam::211125685544:role/hybrid-nodes', {
      type: 'HYBRID_LINUX',
    });
    const c = correlateAuditEvent(
      auditFrom(nodeEvent),
      { cluster: CLUSTER },
      inMemoryEvidence({ cluster: CLUSTER, mappingChanges: nodeChanges([hybrid]), credentials: [] }),
    );
    expect(c.mapping.status).toBe('unknown');
    expect(c.mapping.why).toContain('2 node mappings fit');
  });

  it('a control-plane certificate user stays a component with a certificate mapping', () => {
    const cert = withFields(kiem, { user: { username: 'system:kube-scheduler', groups: ['system:authenticated'] } });
    const c = correlateAuditEvent(
      auditFrom(cert),
      { cluster: CLUSTER },
      inMemoryEvidence({ cluster: CLUSTER, mappingChanges: oidcChanges(), credentials: [] }),
    );
    expect(c.principal.value?.type).toBe('k8s-internal');
    expect(c.mapping.value?.source).toBe('certificate');
  });
});
