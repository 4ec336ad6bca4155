import { credentialFromCloudTrail } from '../../../lib/chain/evidence.js';
import type { CredentialIssuance } from '../../../lib/chain/types.js';
import { principalMatchKey } from '../../../lib/identity/arn.js';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import type {
  AccessEntry,
  AccessPolicyAssociation,
  MappingChange,
  MappingChangeOp,
} from '../../../lib/identity/types.js';
import { parseAuditEventObject } from '../../../lib/sources/audit-event.js';
import type {
  AccessScope,
  AuditEvent,
  AuthenticationMode,
  AwsActor,
  CloudTrailEvent,
} from '../../../lib/sources/types.js';

/** Builders for test scenarios: mapping history, STS issuances and audit events from fixtures. */

export const CLUSTER = 'prod';
export const ADMIN_ACTOR: AwsActor = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::111122223333:assumed-role/platform-admin/ops@example.com',
  accountId: '111122223333',
};

let seq = 0;
const nextId = (prefix: string) => `${prefix}-${String(++seq).padStart(4, '0')}`;

/** A mapping change as the CloudTrail side records it, made by ADMIN_ACTOR on CLUSTER. */
export const cloudTrailChange = (at: string, op: MappingChangeOp, id?: string): MappingChange => ({
  cluster: CLUSTER,
  accountId: '111122223333',
  at,
  sourceEventId: id ?? nextId('evt'),
  source: 'cloudtrail',
  actor: { aws: ADMIN_ACTOR },
  op,
});

/** The principal's match key, or the lower-cased text for what is not a principal ARN. */
export const matchKeyOf = (arn: string): string => principalMatchKey(arn) ?? arn.toLowerCase();

export const clusterCreated = (
  at: string,
  mode: AuthenticationMode,
  creatorArn: string,
  opts: { bootstrapAdmin?: boolean; principalId?: string } = {},
): MappingChange => {
  const actor: AwsActor = { type: 'AssumedRole', arn: creatorArn };
  if (opts.principalId) actor.principalId = opts.principalId;
  const canonicalArn = principalMatchKey(creatorArn) ? creatorArnCanonical(creatorArn) : undefined;
  const creator: Extract<MappingChangeOp, { kind: 'cluster-created' }>['creator'] = {
    actor,
    bootstrapAdmin: opts.bootstrapAdmin ?? true,
  };
  if (canonicalArn) creator.canonicalArn = canonicalArn;
  return cloudTrailChange(at, { kind: 'cluster-created', creator, mode, enabledLogTypes: ['audit', 'authenticator'] });
};

const creatorArnCanonical = (arn: string): string => {
  const m = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\//.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
};

export const authMode = (at: string, mode: AuthenticationMode): MappingChange =>
  cloudTrailChange(at, { kind: 'auth-mode-set', mode });

export const accessEntry = (
  at: string,
  principalArn: string,
  opts: { type?: string; username?: string; groups?: string[]; id?: string } = {},
): MappingChange => {
  const entry: Omit<AccessEntry, 'policies' | 'principalId'> = {
    principalArn,
    matchKey: matchKeyOf(principalArn),
    type: opts.type ?? 'STANDARD',
    kubernetesGroups: opts.groups ?? [],
  };
  if (opts.username !== undefined) entry.username = opts.username;
  return cloudTrailChange(at, { kind: 'access-entry-put', entry }, opts.id);
};

export const associate = (
  at: string,
  principalArn: string,
  policyName: string,
  scope: AccessScope = { type: 'cluster', namespaces: [] },
): MappingChange => {
  const association: AccessPolicyAssociation = {
    policyArn: `arn:aws:eks::aws:cluster-access-policy/${policyName}`,
    scope,
  };
  return cloudTrailChange(at, {
    kind: 'access-policy-associate',
    principalArn,
    matchKey: matchKeyOf(principalArn),
    association,
  });
};

export const principalIdObserved = (at: string, arn: string, principalId: string): MappingChange =>
  cloudTrailChange(at, { kind: 'principal-id-observed', matchKey: matchKeyOf(arn), principalId });

export const awsAuthPut = (at: string, data: Record<string, string>): MappingChange => {
  const parsed = parseAwsAuth({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'aws-auth', namespace: 'kube-system' },
    data,
  });
  if (!parsed.ok) throw new Error(`aws-auth fixture did not parse: ${JSON.stringify(parsed.issues)}`);
  return {
    ...cloudTrailChange(at, { kind: 'aws-auth-put', config: parsed.value, rawData: data }),
    source: 'audit',
    actor: { k8sUsername: 'kubernetes-admin' },
  };
};

/** An STS AssumeRole* CloudTrail event, already in the parsed CloudTrailEvent shape. */
export const assumeRoleEvent = (input: {
  eventId: string;
  eventTime: string;
  api?: 'AssumeRole' | 'AssumeRoleWithSAML' | 'AssumeRoleWithWebIdentity';
  roleArn: string;
  sessionName?: string;
  issuedAccessKeyId: string;
  caller: AwsActor;
  subject?: string;
  sourceIdentity?: string;
  errorCode?: string;
}): CloudTrailEvent => {
  const action: Extract<CloudTrailEvent['action'], { kind: 'AssumeRole' }> = {
    kind: 'AssumeRole',
    api: input.api ?? 'AssumeRole',
    roleArn: input.roleArn,
    issuedAccessKeyId: input.issuedAccessKeyId,
  };
  if (input.sessionName) action.roleSessionName = input.sessionName;
  if (input.subject) action.subject = input.subject;
  if (input.sourceIdentity) action.sourceIdentity = input.sourceIdentity;
  const e: CloudTrailEvent = {
    eventId: input.eventId,
    eventTime: input.eventTime,
    eventName: action.api,
    eventSource: 'sts.amazonaws.com',
    actor: input.caller,
    succeeded: !input.errorCode,
    action,
  };
  if (input.errorCode) e.errorCode = input.errorCode;
  return e;
};

/** The credential issuance of assumeRoleEvent(e), as the CloudTrail pipeline records it. */
export const assumeRoleIssuance = (e: Parameters<typeof assumeRoleEvent>[0]): CredentialIssuance => {
  const c = credentialFromCloudTrail(assumeRoleEvent(e));
  if (!c) throw new Error('not an issuance');
  return c;
};

/** Parse a raw audit object (fixture, possibly modified) with the real audit parser. */
export const auditFrom = (raw: Record<string, unknown>): AuditEvent => {
  const r = parseAuditEventObject(raw);
  if (!r.ok) throw new Error(`audit fixture did not parse: ${JSON.stringify(r.issues)}`);
  return r.value;
};

/** Deep copy with overrides applied to top-level keys. */
export const withFields = (raw: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> => ({
  ...(JSON.parse(JSON.stringify(raw)) as Record<string, unknown>),
  ...over,
});
