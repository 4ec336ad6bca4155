/**
 * MappingChanges from the two sources that report identity-mapping facts: CloudTrail (access entries,
 * policies, cluster creation and configuration) and kube-apiserver audit (aws-auth edits, and the
 * principal id behind a canonical ARN).
 */
import { digitAt, isDigitAt } from '../sources/timestamps.js';
import type { AuditEvent, AwsActor, CloudTrailEvent } from '../sources/types.js';
import { canonicalizeArn } from './arn.js';
import { AWS_AUTH_NAME, AWS_AUTH_NAMESPACE, awsAuthRawData, parseAwsAuth } from './aws-auth.js';
import type { ClusterCreator, MappingActor, MappingChange, MappingChangeOp, PodIdentityAssociation } from './types.js';
import { withMatchKeys } from './workload.js';

/** ISO 8601 with milliseconds in UTC, the ordering clock of MappingChange; raw text when unparseable. */
export const toChangeInstant = (at: string): string => {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) return at;
  return isoInSameMinute(at, ms) ?? new Date(ms).toISOString();
};

// The minute of the last instant converted, and its epoch ms: a batch's audit events fall in a few
// minutes, so its ISO form is checked once per minute instead of formatting a Date per event.
let lastMinute = '';
let lastMinuteMs = 0;

/**
 * new Date(ms).toISOString() for the common `YYYY-MM-DDTHH:MM:SS.mmm…` text, without the Date: when
 * `at` parsed to exactly its minute's instant plus the SS.mmm it reads, the ISO form is that minute
 * followed by SS.mmm. The minute itself must round-trip (Date.parse rolls `02-30` over to March).
 * Undefined when that cannot be shown; the caller then formats the Date.
 */
const isoInSameMinute = (at: string, ms: number): string | undefined => {
  if (
    at.length < 24 ||
    at.charCodeAt(16) !== 0x3a ||
    at.charCodeAt(19) !== 0x2e ||
    !isDigitAt(at, 17) ||
    !isDigitAt(at, 18) ||
    !isDigitAt(at, 20) ||
    !isDigitAt(at, 21) ||
    !isDigitAt(at, 22)
  )
    return undefined;
  const seconds = digitAt(at, 17) * 10 + digitAt(at, 18);
  if (seconds > 59) return undefined;
  if (lastMinute === '' || !at.startsWith(lastMinute)) {
    const minute = at.slice(0, 16);
    const minuteIso = `${minute}:00.000Z`;
    const minuteMs = Date.parse(minuteIso);
    if (Number.isNaN(minuteMs) || new Date(minuteMs).toISOString() !== minuteIso) return undefined;
    lastMinute = minute;
    lastMinuteMs = minuteMs;
  }
  const offset = seconds * 1000 + digitAt(at, 20) * 100 + digitAt(at, 21) * 10 + digitAt(at, 22);
  return ms === lastMinuteMs + offset ? `${at.slice(0, 23)}Z` : undefined;
};

/** requestParameters ARNs come percent-encoded from URI labels (docs/formats.md §3.2). */
const decodeArn = (arn: string): string => {
  if (!arn.includes('%')) return arn.trim();
  try {
    return decodeURIComponent(arn).trim();
  } catch {
    return arn.trim();
  }
};

/** Matching key of an access entry's principal: canonical (path-less role), lower-cased. */
export const accessEntryMatchKey = (principalArn: string): string => {
  const c = canonicalizeArn(principalArn);
  // An ARN the canonicaliser rejects still names the entry; keep it addressable rather than drop it.
  return c.ok ? c.value.matchKey : principalArn.toLowerCase();
};

const creatorOf = (actor: AwsActor, bootstrapAdmin: boolean): ClusterCreator => {
  const creator: ClusterCreator = { actor, bootstrapAdmin };
  for (const arn of [actor.canonicalArn, actor.sessionIssuerArn, actor.arn]) {
    if (!arn) continue;
    const c = canonicalizeArn(arn);
    if (c.ok) {
      creator.canonicalArn = c.value.canonicalArn;
      break;
    }
  }
  return creator;
};

const associationOf = (a: import('../sources/types.js').PodIdentityAssociationFields): PodIdentityAssociation => {
  const out = withMatchKeys({ ...a, roleArn: decodeArn(a.roleArn) });
  if (a.targetRoleArn) return withMatchKeys({ ...out, targetRoleArn: decodeArn(a.targetRoleArn) });
  return out;
};

/**
 * The mapping facts a CloudTrail record states. Failed calls change nothing; STS and EKS Auth events
 * are about credentials, not mappings. UpdateClusterConfig and the identity-provider calls are applied
 * at call time although EKS completes them asynchronously: CloudTrail never records the completion.
 */
export const changesFromCloudTrail = (event: CloudTrailEvent): MappingChange[] => {
  if (!event.succeeded || event.errorCode) return [];
  const a = event.action;
  if (a.kind === 'AssumeRole' || a.kind === 'AssumeRoleForPodIdentity') return [];
  const base = {
    cluster: a.cluster,
    at: toChangeInstant(event.eventTime),
    sourceEventId: event.eventId,
    source: 'cloudtrail' as const,
    actor: { aws: event.actor } as MappingActor,
  };
  const withAccount = (op: MappingChangeOp): MappingChange =>
    event.recipientAccountId ? { ...base, accountId: event.recipientAccountId, op } : { ...base, op };

  switch (a.kind) {
    case 'CreateAccessEntry': {
      const principalArn = decodeArn(a.principalArn);
      const entry: Extract<MappingChangeOp, { kind: 'access-entry-put' }>['entry'] = {
        principalArn,
        matchKey: accessEntryMatchKey(principalArn),
        type: a.entryType || 'STANDARD',
        kubernetesGroups: [...a.kubernetesGroups],
      };
      if (a.username) entry.username = a.username;
      return [withAccount({ kind: 'access-entry-put', entry })];
    }
    case 'UpdateAccessEntry': {
      const principalArn = decodeArn(a.principalArn);
      const op: Extract<MappingChangeOp, { kind: 'access-entry-update' }> = {
        kind: 'access-entry-update',
        principalArn,
        matchKey: accessEntryMatchKey(principalArn),
      };
      // The response carries the whole entry after the call: prefer it to the request's delta.
      const username = a.after?.username ?? a.username;
      const groups = a.after?.kubernetesGroups ?? a.kubernetesGroups;
      if (username !== undefined) op.username = username;
      if (groups !== undefined) op.kubernetesGroups = [...groups];
      return [withAccount(op)];
    }
    case 'DeleteAccessEntry': {
      const principalArn = decodeArn(a.principalArn);
      return [withAccount({ kind: 'access-entry-delete', principalArn, matchKey: accessEntryMatchKey(principalArn) })];
    }
    case 'AssociateAccessPolicy': {
      const principalArn = decodeArn(a.principalArn);
      return [
        withAccount({
          kind: 'access-policy-associate',
          principalArn,
          matchKey: accessEntryMatchKey(principalArn),
          association: {
            policyArn: decodeArn(a.policyArn),
            scope: { type: a.scope.type, namespaces: [...a.scope.namespaces] },
          },
        }),
      ];
    }
    case 'DisassociateAccessPolicy': {
      const principalArn = decodeArn(a.principalArn);
      return [
        withAccount({
          kind: 'access-policy-disassociate',
          principalArn,
          matchKey: accessEntryMatchKey(principalArn),
          policyArn: decodeArn(a.policyArn),
        }),
      ];
    }
    case 'CreateCluster': {
      const out = [
        withAccount({
          kind: 'cluster-created',
          creator: creatorOf(event.actor, a.bootstrapClusterCreatorAdminPermissions),
          mode: a.authenticationMode,
          enabledLogTypes: [...a.enabledLogTypes],
        }),
      ];
      if (a.oidcIssuer) out.push(withAccount({ kind: 'cluster-oidc-issuer', issuer: a.oidcIssuer }));
      return out;
    }
    case 'CreatePodIdentityAssociation':
      return [withAccount({ kind: 'pod-identity-association-put', association: associationOf(a.association) })];
    case 'UpdatePodIdentityAssociation': {
      const op: Extract<MappingChangeOp, { kind: 'pod-identity-association-update' }> = {
        kind: 'pod-identity-association-update',
        associationId: a.associationId,
      };
      if (a.roleArn !== undefined) op.roleArn = decodeArn(a.roleArn);
      if (a.targetRoleArn !== undefined)
        op.targetRoleArn = a.targetRoleArn === null ? null : decodeArn(a.targetRoleArn);
      if (a.disableSessionTags !== undefined) op.disableSessionTags = a.disableSessionTags;
      if (a.policy !== undefined) op.policy = a.policy;
      if (a.after) op.after = associationOf(a.after);
      return [withAccount(op)];
    }
    case 'DeletePodIdentityAssociation': {
      const op: Extract<MappingChangeOp, { kind: 'pod-identity-association-delete' }> = {
        kind: 'pod-identity-association-delete',
        associationId: a.associationId,
      };
      if (a.before) op.before = associationOf(a.before);
      return [withAccount(op)];
    }
    case 'AssociateIdentityProviderConfig':
      return [withAccount({ kind: 'identity-provider-associate', config: { ...a.config } })];
    case 'DisassociateIdentityProviderConfig':
      return [withAccount({ kind: 'identity-provider-disassociate', name: a.name, type: a.type })];
    case 'DeleteCluster':
      return [withAccount({ kind: 'cluster-deleted' })];
    case 'UpdateClusterConfig': {
      const out: MappingChange[] = [];
      if (a.authenticationMode) out.push(withAccount({ kind: 'auth-mode-set', mode: a.authenticationMode }));
      if (a.logging) {
        out.push(
          withAccount({ kind: 'logging-set', enabled: [...a.logging.enabled], disabled: [...a.logging.disabled] }),
        );
      }
      return out;
    }
    default:
      return [];
  }
};

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

const first = (extra: Record<string, string[]> | undefined, ...keys: string[]): string | undefined => {
  for (const k of keys) {
    const v = extra?.[k]?.[0];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
};

const principalIdOf = (extra: Record<string, string[]> | undefined): string | undefined =>
  first(extra, 'principalId', 'sigs.k8s.io/aws-iam-authenticator/principalId');

const ACTOR_TYPE = {
  'assumed-role': 'AssumedRole',
  role: 'AssumedRole',
  user: 'IAMUser',
  root: 'Root',
  'federated-user': 'FederatedUser',
} as const;

/** The IAM principal behind an audit user, from user.extra (every key optional: docs/formats.md §1.7). */
const auditActor = (event: AuditEvent): MappingActor => {
  const actor: MappingActor = {};
  if (event.user.username) actor.k8sUsername = event.user.username;
  const extra = event.user.extra;
  const stsArn = first(extra, 'arn');
  const canonicalArn = first(extra, 'canonicalArn');
  const parsed = canonicalizeArn(canonicalArn ?? stsArn ?? '');
  if (!parsed.ok) return actor;
  actor.k8sCanonicalArn = canonicalArn ?? parsed.value.canonicalArn;
  const aws: AwsActor = {
    type: ACTOR_TYPE[parsed.value.type],
    canonicalArn: actor.k8sCanonicalArn,
    accountId: parsed.value.accountId,
  };
  if (stsArn) aws.arn = stsArn;
  const principalId = principalIdOf(extra);
  if (principalId) aws.principalId = principalId;
  const accessKeyId = first(extra, 'accessKeyId');
  if (accessKeyId) aws.accessKeyId = accessKeyId;
  const sessionName = first(extra, 'sessionName');
  if (sessionName) aws.sessionName = sessionName;
  actor.aws = aws;
  return actor;
};

const isAwsAuthRef = (event: AuditEvent): boolean => {
  const ref = event.objectRef;
  return (
    ref?.resource === 'configmaps' &&
    !ref.apiGroup &&
    !ref.subresource &&
    ref.namespace === AWS_AUTH_NAMESPACE &&
    ref.name === AWS_AUTH_NAME
  );
};

const succeeded = (event: AuditEvent): boolean => {
  const code = event.responseStatus?.code;
  return typeof code === 'number' && code >= 200 && code < 300;
};

/**
 * Mapping facts from one audit event, with sourceEventId = auditID:
 *  - `principal-id-observed` when user.extra carries both the canonical ARN and the principal id
 *    (binding an access entry to the principal that existed when it was created);
 *  - `aws-auth-put` for a successful update/patch of kube-system/aws-auth at ResponseComplete, from
 *    responseObject (the stored result; for update the requestObject is the full object too);
 *  - `aws-auth-delete` for a successful delete.
 * A `create` of aws-auth is logged at Metadata level by the EKS audit policy (docs/formats.md §2.6), so its
 * content is unknown: it yields nothing unless a body happens to be present (custom audit policy).
 * Truncated events have no usable body and yield only what the user block gives.
 */
export const changesFromAuditEvent = (
  event: AuditEvent,
  origin: { cluster: string; accountId?: string },
): MappingChange[] => {
  const awsAuthWrite = isAwsAuthRef(event) && event.stage === 'ResponseComplete' && succeeded(event);
  // Most requests neither edit aws-auth nor carry a principal id: they need no actor and no instant.
  if (!awsAuthWrite && principalIdOf(event.user.extra) === undefined) return [];
  const out: MappingChange[] = [];
  const actor = auditActor(event);
  const at = toChangeInstant(event.stageTimestamp ?? event.requestReceivedTimestamp ?? '');
  const base = (op: MappingChangeOp): MappingChange => {
    const change: MappingChange = {
      cluster: origin.cluster,
      at,
      sourceEventId: event.auditID,
      source: 'audit',
      actor,
      op,
    };
    if (origin.accountId) change.accountId = origin.accountId;
    return change;
  };

  const principalId = actor.aws?.principalId;
  if (principalId && actor.k8sCanonicalArn) {
    const c = canonicalizeArn(actor.k8sCanonicalArn);
    if (c.ok) out.push(base({ kind: 'principal-id-observed', matchKey: c.value.matchKey, principalId }));
  }

  if (!awsAuthWrite) return out;
  const verb = event.verb;
  if (verb === 'delete') {
    out.push(base({ kind: 'aws-auth-delete' }));
    return out;
  }
  if (verb !== 'update' && verb !== 'patch' && verb !== 'create') return out;
  // responseObject is what the API server stored; a patch's requestObject is only the patch document.
  const bodies = verb === 'patch' ? [event.responseObject] : [event.responseObject, event.requestObject];
  for (const body of bodies) {
    if (body === undefined || body === null) continue;
    const parsed = parseAwsAuth(body);
    if (!parsed.ok) continue;
    const op: Extract<MappingChangeOp, { kind: 'aws-auth-put' }> = { kind: 'aws-auth-put', config: parsed.value };
    const rawData = awsAuthRawData(body);
    if (rawData) op.rawData = rawData;
    out.push(base(op));
    break;
  }
  return out;
};
