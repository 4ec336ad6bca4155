import { principalMatchKey } from '../identity/arn.js';
import { MappingTimeline } from '../identity/mapping-timeline.js';
import type { MappingChange } from '../identity/types.js';
import type { CloudTrailEvent } from '../sources/types.js';
import type { CorrelationEvidence, CredentialIssuance } from './types.js';

/**
 * The STS issuance an AssumeRole* CloudTrail record describes: which caller received which temporary
 * access key (docs/formats.md §5.12). Only successful calls issue credentials; every other event -> undefined.
 */
export const credentialFromCloudTrail = (event: CloudTrailEvent): CredentialIssuance | undefined => {
  if (!event.succeeded || event.errorCode) return undefined;
  const a = event.action;
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
}): CorrelationEvidence => {
  const timeline = new MappingTimeline(input.cluster, input.mappingChanges);
  const byKey = new Map<string, CredentialIssuance>();
  for (const c of input.credentials) {
    const seen = byKey.get(c.accessKeyId);
    byKey.set(c.accessKeyId, seen ? earlier(seen, c) : c);
  }
  return timelineEvidence(timeline, (accessKeyId) => byKey.get(accessKeyId));
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
