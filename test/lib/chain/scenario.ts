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

const change = (at: string, op: MappingChangeOp, id?: string): MappingChange => ({
  cluster: CLUSTER,
  accountId: '111122223333',
  at,
  sourceEventId: id ?? nextId('evt'),
  source: 'cloudtrail',
  actor: { aws: ADMIN_ACTOR },
  op,
});

const key = (arn: string): string => principalMatchKey(arn) ?? arn.toLowerCase();

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
  return change(at, { kind: 'cluster-created', creator, mode, enabledLogTypes: ['audit', 'authenticator'] });
};

const creatorArnCanonical = (arn: string): string => {
  const m = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\//.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
};

export const authMode = (at: string, mode: AuthenticationMode): MappingChange =>
  change(at, { kind: 'auth-mode-set', mode });

export const accessEntry = (
  at: string,
  principalArn: string,
  opts: { type?: string; username?: string; groups?: string[]; id?: string } = {},
): MappingChange => {
  const entry: Omit<AccessEntry, 'policies' | 'principalId'> = {
    principalArn,
    matchKey: key(principalArn),
    type: opts.type ?? 'STANDARD',
    kubernetesGroups: opts.groups ?? [],
  };
  if (opts.username !== undefined) entry.username = opts.username;
  return change(at, { kind: 'access-entry-put', entry }, opts.id);
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
  return change(at, { kind: 'access-policy-associate', principalArn, matchKey: key(principalArn), association });
};

export const principalIdObserved = (at: string, arn: string, principalId: string): MappingChange =>
  change(at, { kind: 'principal-id-observed', matchKey: key(arn), principalId });

export const awsAuthPut = (at: string, data: Record<string, string>): MappingChange => {
  const parsed = parseAwsAuth({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'aws-auth', namespace: 'kube-system' },
    data,
  });
  if (!parsed.ok) throw new Error(`aws-auth fixture did not parse: ${JSON.stringify(parsed.issues)}`);
  return {
    ...change(at, { kind: 'aws-auth-put', config: parsed.value, rawData: data }),
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
