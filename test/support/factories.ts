import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CredentialIssuance, DecisionChain, Link } from '../../lib/chain/types.js';
import type { MappingChange } from '../../lib/identity/types.js';
import { parseAuditEventObject } from '../../lib/sources/audit-event.js';
import type { AuditEvent } from '../../lib/sources/types.js';
import type { LogBatchWrite, QuarantineRecord, StoredAuditFacts } from '../../lib/store/trail-store.js';

/**
 * Storage test data: real audit events from the corpus (test/fixtures/store, see test/fixtures/SOURCES.md) parsed
 * by the product's parser, and chains built directly from their fields (the correlator has its own
 * tests; storage only needs realistic, fully typed chains).
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'store');

const parse = (value: unknown): AuditEvent => {
  const r = parseAuditEventObject(value);
  if (!r.ok) throw new Error(`fixture does not parse: ${JSON.stringify(r.issues)}`);
  return r.value;
};

/** kiempossible: SSO assumed-role `list namespaces`, allowed by an EKS access policy. */
export const kiempossibleEvent = (): AuditEvent =>
  parse(JSON.parse(readFileSync(join(FIXTURES, 'kiempossible-access-policy-allow.json'), 'utf8')));

/** panther lines: [0] kubernetes-admin ResponseStarted 200, [1] coredns 403, [2] eks:addon-manager 200. */
export const pantherEvents = (): AuditEvent[] =>
  readFileSync(join(FIXTURES, 'panther-eks-audit-lines.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parse((JSON.parse(l) as { log: unknown }).log));

const link = <T>(value: T | undefined, evidence: string, why = 'from the audit event'): Link<T> =>
  value === undefined
    ? { status: 'unknown', why: `no ${evidence}`, evidence: [] }
    : { status: 'observed', value, why, evidence: [evidence] };

export interface ChainOptions {
  cluster?: string;
  accountId?: string;
  /** Human identity to attach (status derived), e.g. an SSO user. */
  human?: string;
  pendingEnrichment?: boolean;
}

/** A DecisionChain + facts for one audit stage, every link taken from the event itself. */
export const chainFromEvent = (
  event: AuditEvent,
  opts: ChainOptions = {},
): { chain: DecisionChain; facts: StoredAuditFacts } => {
  const cluster = opts.cluster ?? 'prod';
  const accountId = opts.accountId ?? '111122223333';
  const extra = event.user.extra;
  const canonicalArn = extra['canonicalArn']?.[0];
  const code = event.responseStatus?.code;
  const decision = event.annotations['authorization.k8s.io/decision'];
  const outcome =
    code === 401
      ? 'authn-failed'
      : code === 403 || decision === 'forbid'
        ? 'forbid'
        : decision === 'allow'
          ? 'allow'
          : 'unknown';
  const chain: DecisionChain = {
    chainId: `${cluster}#${event.auditID}`,
    kind: 'request',
    cluster,
    accountId,
    at: event.requestReceivedTimestamp ?? '1970-01-01T00:00:00Z',
    auditID: event.auditID,
    principal: canonicalArn
      ? link(
          {
            type: 'assumed-role' as const,
            canonicalArn,
            ...(extra['arn']?.[0] ? { stsArn: extra['arn'][0] } : {}),
            ...(extra['accessKeyId']?.[0] ? { accessKeyId: extra['accessKeyId'][0] } : {}),
            ...(extra['principalId']?.[0] ? { principalId: extra['principalId'][0] } : {}),
            ...(extra['sessionName']?.[0] ? { sessionName: extra['sessionName'][0] } : {}),
          },
          'audit:user.extra.canonicalArn',
        )
      : { status: 'unknown', why: 'no IAM principal in user.extra', evidence: [] },
    human: opts.human
      ? {
          status: 'derived',
          value: { identity: opts.human, via: 'sso-session' },
          why: 'SSO session',
          evidence: ['test'],
        }
      : { status: 'unknown', why: 'no AssumeRole* event yet', evidence: [] },
    mapping: { status: 'unknown', why: 'not resolved in storage tests', evidence: [] },
    k8sIdentity: link(
      { ...(event.user.username ? { username: event.user.username } : {}), groups: event.user.groups },
      'audit:user',
    ),
    decision: link({ outcome, authorizer: 'unknown' as const }, 'audit:annotations'),
    request: link(
      {
        ...(event.verb ? { verb: event.verb } : {}),
        ...(event.requestURI ? { requestURI: event.requestURI } : {}),
        ...(event.objectRef?.resource ? { resource: event.objectRef.resource } : {}),
        ...(event.objectRef?.namespace ? { namespace: event.objectRef.namespace } : {}),
        ...(event.objectRef?.name ? { name: event.objectRef.name } : {}),
        ...(code !== undefined ? { statusCode: code } : {}),
        sourceIPs: event.sourceIPs,
        ...(event.userAgent ? { userAgent: event.userAgent } : {}),
        stage: String(event.stage),
        truncated: event.truncated,
      },
      'audit:event',
    ),
    pendingEnrichment: opts.pendingEnrichment ?? !opts.human,
  };
  return { chain, facts: { origin: { cluster, accountId }, event } };
};

/** A copy of a real event with another identity, time, stage or target: bulk data for paging and index tests. */
export const variant = (
  base: AuditEvent,
  patch: {
    auditID: string;
    at?: string;
    stage?: string;
    code?: number;
    username?: string;
    canonicalArn?: string;
    accessKeyId?: string;
    namespace?: string;
    resource?: string;
    name?: string;
    requestObject?: unknown;
  },
): AuditEvent => {
  const extra = { ...base.user.extra };
  if (patch.canonicalArn) extra['canonicalArn'] = [patch.canonicalArn];
  if (patch.accessKeyId) extra['accessKeyId'] = [patch.accessKeyId];
  const objectRef = { ...base.objectRef };
  if (patch.namespace !== undefined) objectRef.namespace = patch.namespace;
  if (patch.resource !== undefined) objectRef.resource = patch.resource;
  if (patch.name !== undefined) objectRef.name = patch.name;
  const out: AuditEvent = {
    ...base,
    auditID: patch.auditID,
    stage: patch.stage ?? base.stage,
    user: { ...base.user, ...(patch.username ? { username: patch.username } : {}), extra },
    objectRef,
    ...(patch.at ? { requestReceivedTimestamp: patch.at, stageTimestamp: patch.at } : {}),
    ...(patch.code !== undefined ? { responseStatus: { ...base.responseStatus, code: patch.code } } : {}),
  };
  if (patch.requestObject !== undefined) out.requestObject = patch.requestObject;
  return out;
};

export const ACCOUNT_A = '111122223333';
export const ACCOUNT_B = '444455556666';

export const accessEntryChange = (over: Partial<MappingChange> & { principalArn?: string } = {}): MappingChange => {
  const principalArn = over.principalArn ?? 'arn:aws:iam::111122223333:role/Admins';
  const { principalArn: _p, ...rest } = over;
  return {
    cluster: 'prod',
    accountId: ACCOUNT_A,
    at: '2024-08-24T10:00:00.000Z',
    sourceEventId: 'ct-0001',
    source: 'cloudtrail',
    actor: {
      aws: { type: 'AssumedRole', canonicalArn: 'arn:aws:iam::111122223333:role/Platform', accountId: ACCOUNT_A },
    },
    op: {
      kind: 'access-entry-put',
      entry: { principalArn, matchKey: principalArn.toLowerCase(), type: 'STANDARD', kubernetesGroups: ['ops'] },
    },
    ...rest,
  };
};

export const awsAuthChange = (over: Partial<MappingChange> & { roles?: string[] } = {}): MappingChange => {
  const roles = over.roles ?? ['arn:aws:iam::111122223333:role/NodeRole'];
  const { roles: _r, ...rest } = over;
  return {
    cluster: 'prod',
    accountId: ACCOUNT_A,
    at: '2024-08-24T09:00:00.000Z',
    sourceEventId: 'audit-0001',
    source: 'audit',
    actor: { k8sUsername: 'kubernetes-admin', k8sCanonicalArn: 'arn:aws:iam::111122223333:role/Platform' },
    op: {
      kind: 'aws-auth-put',
      config: {
        roles: roles.map((arn, index) => ({
          kind: 'role' as const,
          arn,
          matchKey: arn.toLowerCase(),
          username: 'system:node:{{EC2PrivateDNSName}}',
          groups: ['system:nodes'],
          flags: [],
          index,
        })),
        users: [],
        accounts: [],
        parseable: true,
        problems: [],
      },
    },
    ...rest,
  };
};

export const credentialIssuance = (over: Partial<CredentialIssuance> = {}): CredentialIssuance => ({
  accessKeyId: 'ASIATCKASJUUD7MPDOZN',
  issuedAt: '2024-08-24T14:00:00Z',
  api: 'AssumeRole',
  roleArn: 'arn:aws:iam::211125685544:role/sso_admin',
  roleMatchKey: 'arn:aws:iam::211125685544:role/sso_admin',
  sessionName: 'gomyers@paloaltonetworks.com',
  caller: { type: 'IAMUser', arn: 'arn:aws:iam::211125685544:user/gomyers', accountId: '211125685544' },
  sourceEventId: 'sts-evt-1',
  ...over,
});

export const quarantineRecord = (over: Partial<QuarantineRecord> = {}): QuarantineRecord => ({
  source: 'cloudwatch-log-event',
  sourceId: '37516444617216111111111111111111111111111111111111111111',
  code: 'AUDIT_NOT_JSON',
  issues: [{ code: 'AUDIT_NOT_JSON', message: 'an audit event is a JSON object' }],
  raw: 'not json at all',
  at: Date.parse('2024-08-24T12:00:00Z'),
  cluster: 'prod',
  accountId: ACCOUNT_A,
  ...over,
});

/**
 * A log delivery as the pipeline hands it to `putLogBatch`: every request tagged with a delivery unit
 * (one per item unless `units` says otherwise), in the order given.
 */
export const logBatchOf = (
  items: readonly { chain: DecisionChain; facts: StoredAuditFacts }[],
  units: string | readonly string[] = 'unit-0',
): LogBatchWrite => ({
  audit: items.map((it, i) => {
    const id = typeof units === 'string' ? units : (units[i] ?? `unit-${i}`);
    const index = typeof units === 'string' ? 0 : i;
    return { unit: { id, index }, facts: it.facts, chain: it.chain };
  }),
  authenticator: [],
});
