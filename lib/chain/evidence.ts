import { canonicalizeArn, principalMatchKey, splitArn } from '../identity/arn.js';
import { MappingTimeline } from '../identity/mapping-timeline.js';
import type { MappingChange } from '../identity/types.js';
import { eksIssuerKey, serviceAccountOfSubject } from '../identity/workload.js';
import type { CloudTrailAction, CloudTrailEvent } from '../sources/types.js';
import type { CorrelationEvidence, CredentialIssuance, IssuedWorkload, WorkloadEvidence } from './types.js';

/** EKS Pod Identity assumes pod roles as this service (docs/formats.md §3.5). */
export const POD_IDENTITY_SERVICE = 'pods.eks.amazonaws.com';

/** `arn:<p>:eks:<region>:<account>:cluster/<name>` -> account and name. */
const clusterOfArn = (arn: string | undefined): { accountId?: string; cluster?: string } => {
  const parts = arn ? splitArn(arn) : undefined;
  if (parts?.service !== 'eks' || !parts.resource.startsWith('cluster/')) return {};
  const out: { accountId?: string; cluster?: string } = { cluster: parts.resource.slice('cluster/'.length) };
  if (parts.accountId) out.accountId = parts.accountId;
  return out;
};

/** The pod an AssumeRole / AssumeRoleWithWebIdentity record issued its key to, when it says so. */
const workloadOfSts = (
  event: CloudTrailEvent,
  a: Extract<CloudTrailAction, { kind: 'AssumeRole' }>,
): IssuedWorkload | undefined => {
  if (a.api === 'AssumeRoleWithWebIdentity') {
    const issuer = eksIssuerKey(a.issuer) ?? eksIssuerKey(event.actor.identityProvider);
    const sa = serviceAccountOfSubject(a.subject);
    if (!issuer || !sa) return undefined;
    const w: IssuedWorkload = { kind: 'irsa', from: 'web-identity-token', issuer, ...sa };
    if (a.audience) w.audience = a.audience;
    return w;
  }
  if (a.api !== 'AssumeRole' || event.actor.type !== 'AWSService' || event.actor.invokedBy !== POD_IDENTITY_SERVICE)
    return undefined;
  const tags = a.podTags ?? {};
  const w: IssuedWorkload = { kind: 'pod-identity', from: a.podTags ? 'session-tags' : 'session-name' };
  const arn = tags['eks-cluster-arn'];
  const fromArn = clusterOfArn(arn);
  if (arn) w.clusterArn = arn;
  const cluster = tags['eks-cluster-name'] ?? fromArn.cluster;
  if (cluster) w.cluster = cluster;
  if (fromArn.accountId) w.accountId = fromArn.accountId;
  if (tags['kubernetes-namespace']) w.namespace = tags['kubernetes-namespace'];
  if (tags['kubernetes-service-account']) w.serviceAccount = tags['kubernetes-service-account'];
  if (tags['kubernetes-pod-name']) w.pod = tags['kubernetes-pod-name'];
  if (tags['kubernetes-pod-uid']) w.podUid = tags['kubernetes-pod-uid'];
  return w;
};

/** An EKS Auth AssumeRoleForPodIdentity record that carries its response (the API shape). */
const credentialFromEksAuth = (
  event: CloudTrailEvent,
  a: Extract<CloudTrailAction, { kind: 'AssumeRoleForPodIdentity' }>,
): CredentialIssuance | undefined => {
  if (!a.issuedAccessKeyId || !a.assumedRoleArn) return undefined;
  const role = canonicalizeArn(a.assumedRoleArn);
  if (!role.ok) return undefined;
  const w: IssuedWorkload = { kind: 'pod-identity', from: 'eks-auth-response', cluster: a.cluster };
  if (event.recipientAccountId) w.accountId = event.recipientAccountId;
  if (a.subject) {
    w.namespace = a.subject.namespace;
    w.serviceAccount = a.subject.serviceAccount;
  }
  if (a.associationId) w.associationId = a.associationId;
  if (a.associationArn) w.associationArn = a.associationArn;
  if (a.audience) w.audience = a.audience;
  const c: CredentialIssuance = {
    accessKeyId: a.issuedAccessKeyId,
    issuedAt: event.eventTime,
    api: 'AssumeRoleForPodIdentity',
    roleArn: role.value.canonicalArn,
    roleMatchKey: role.value.matchKey,
    caller: event.actor,
    sourceEventId: event.eventId,
    workload: w,
  };
  if (a.assumedRoleId) c.assumedRoleId = a.assumedRoleId;
  if (role.value.sessionName) c.sessionName = role.value.sessionName;
  if (a.expiration) c.expiresAt = a.expiration;
  return c;
};

/**
 * The STS issuance an AssumeRole* CloudTrail record describes: which caller received which temporary
 * access key (docs/formats.md §5.12), and the pod it went to when the record names one (§3.5). Only
 * successful calls issue credentials; every other event -> undefined.
 */
export const credentialFromCloudTrail = (event: CloudTrailEvent): CredentialIssuance | undefined => {
  if (!event.succeeded || event.errorCode) return undefined;
  const a = event.action;
  if (a.kind === 'AssumeRoleForPodIdentity') return credentialFromEksAuth(event, a);
  if (a.kind !== 'AssumeRole' || !a.issuedAccessKeyId) return undefined;
  const c: CredentialIssuance = {
    accessKeyId: a.issuedAccessKeyId,
    issuedAt: event.eventTime,
    api: a.api,
    roleArn: a.roleArn,
    // Role ARNs in requestParameters may carry a path; matching is path-less (docs/formats.md §5.1).
    roleMatchKey: principalMatchKey(a.roleArn) ?? a.roleArn.toLowerCase(),
    caller: event.actor,
    sourceEventId: event.eventId,
  };
  if (a.expiration !== undefined) c.expiresAt = a.expiration;
  if (a.roleSessionName !== undefined) c.sessionName = a.roleSessionName;
  if (a.assumedRoleId !== undefined) c.assumedRoleId = a.assumedRoleId;
  if (a.subject !== undefined) c.subject = a.subject;
  if (a.sourceIdentity !== undefined) c.sourceIdentity = a.sourceIdentity;
  const workload = workloadOfSts(event, a);
  if (workload) c.workload = workload;
  return c;
};

/** Same key seen twice (redelivery): keep one deterministically, whatever the order given. */
const earlier = (a: CredentialIssuance, b: CredentialIssuance): CredentialIssuance => {
  if (a.issuedAt !== b.issuedAt) return a.issuedAt < b.issuedAt ? a : b;
  return a.sourceEventId <= b.sourceEventId ? a : b;
};

/** Evidence held in memory: tests, the CLI's local mode and the simulator. */
export const inMemoryEvidence = (input: {
  mappingChanges: MappingChange[];
  credentials: CredentialIssuance[];
  cluster: string;
  workload?: WorkloadEvidence;
}): CorrelationEvidence => {
  const timeline = new MappingTimeline(input.cluster, input.mappingChanges);
  const byKey = new Map<string, CredentialIssuance>();
  for (const c of input.credentials) {
    const seen = byKey.get(c.accessKeyId);
    byKey.set(c.accessKeyId, seen ? earlier(seen, c) : c);
  }
  const evidence = timelineEvidence(timeline, (accessKeyId) => byKey.get(accessKeyId));
  if (input.workload) evidence.workload = input.workload;
  return evidence;
};

/** Evidence over a folded mapping timeline; the timeline is the history identity the correlator caches on. */
export const timelineEvidence = (
  timeline: MappingTimeline,
  credentialFor: (accessKeyId: string) => CredentialIssuance | undefined,
): CorrelationEvidence => ({
  mappingStateAt: (at) => timeline.stateAt(at),
  mappingStateKeyAt: (at) => ({ history: timeline, version: timeline.stateVersionAt(at) }),
  credentialFor,
});
