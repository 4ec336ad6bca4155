import type { Alert } from '../alerts/types.js';
import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../chain/types.js';
import type { MappingChange } from '../identity/types.js';
import type { Issue, NonEmptyIssues } from '../result.js';
import type { AuditEvent, AuthenticatorLine, LogEventOrigin } from '../sources/types.js';

/**
 * The storage port: the one contract that ingestion (lib/ingest), local mode, the questions
 * (lib/query) and the alert stage see. lib/store/dynamodb/ implements it over one DynamoDB table
 * (docs/data-model.md); a new layout is a new implementation of this interface, nothing else.
 *
 * What is stored are FACTS: the audit event of every request stage, the authenticator lines, mapping
 * changes and AssumeRole* issuances. Links that depend on other sources (which mapping, which human)
 * are derived again when a question is answered (docs/design.md, "facts at write time"), so the store
 * never holds a derived chain; the chains handed to writes only tell the store how to index the facts.
 */

// -------------------------------------------------------------------------------------------------
// Shared shapes
// -------------------------------------------------------------------------------------------------

/** A cluster: EKS names are unique per account and region only, so the account is part of its identity. */
export interface ClusterRef {
  accountId: string;
  cluster: string;
}

/**
 * The account of a cluster whose account no source has named yet (a log export replayed without
 * `--account`). Answers show such a cluster as `_/<name>` until an account claims the name.
 */
export const UNKNOWN_ACCOUNT = '_';

/** Inclusive ISO 8601 bounds; either may be absent (the store then applies its default window). */
export interface TimeRange {
  from?: string;
  to?: string;
}

export interface PageRequest {
  /** Items per page (default 50, at most 1,000). */
  limit?: number;
  /** Opaque; from the previous page of the same listing. */
  cursor?: string;
  /** Default newest first. */
  order?: 'newest-first' | 'oldest-first';
}

export interface StorePage<T> {
  items: T[];
  /** Absent on the last page. */
  cursor?: string;
}

/** Where a quarantined record came from. */
export type QuarantineSource =
  | 'kinesis-record'
  | 'cloudwatch-logs-subscription'
  | 'cloudwatch-log-event'
  | 'eventbridge-event'
  | 'sqs-message'
  | 'cloudtrail-record'
  | 'replay-file';

export interface QuarantineRecord {
  source: QuarantineSource;
  /**
   * Stable identity of the bad record (CloudWatch event id, Kinesis sequence number, SQS message id,
   * eventID; for a replayed file a digest of the file's content, the record's position and its raw
   * text). Idempotency key: two different records never share one.
   */
  sourceId: string;
  /** First issue's code, for counting. */
  code: Issue['code'];
  issues: NonEmptyIssues;
  /**
   * The raw text, with its secrets redacted (lib/sources/redact.ts) and otherwise as read (truncated to
   * fit an item only when over 350 KB, flagged so).
   */
  raw: string;
  /** Epoch ms when first quarantined (not a clock read in lib: the caller passes it). */
  at: number;
  cluster?: string;
  accountId?: string;
}

/**
 * The facts of one audit-event stage as stored, enough to derive its chain again later (late data):
 * the parsed event without request/response bodies (those are kept only for aws-auth and RBAC
 * object changes, where they are the evidence).
 */
export interface StoredAuditFacts {
  /** `invalidUtf8`: the event was read from bytes that were not valid UTF-8 (LogEventOrigin.invalidUtf8). */
  origin: { cluster: string; accountId?: string; eventId?: string; timestamp?: number; invalidUtf8?: true };
  event: AuditEvent;
}

export interface StoredAuthenticatorRecord {
  origin: LogEventOrigin;
  line: AuthenticatorLine;
}

/**
 * One Kubernetes request as the trail holds it: every audit stage stored for it (a watch logs
 * ResponseStarted, then ResponseComplete minutes later, possibly in another delivery), oldest stage
 * first; or an authenticator `access denied` line that has no audit event of its own. `handle` names
 * where it is stored, for `putLateLinks`; it is opaque outside the implementation that issued it.
 */
export type StoredRequest =
  | {
      kind: 'request';
      ref: ClusterRef;
      /** requestReceivedTimestamp, sortable form (docs/data-model.md, "Time"). */
      at: string;
      auditID: string;
      stages: StoredAuditFacts[];
      handle?: string;
    }
  | { kind: 'authn-failure'; ref: ClusterRef; at: string; denial: StoredAuthenticatorRecord; handle?: string };

// -------------------------------------------------------------------------------------------------
// Writes
// -------------------------------------------------------------------------------------------------

/**
 * One log record the transport can redeliver on its own: a Kinesis record, an awslogs payload, a file
 * chunk. Rows carry it so that the store can key what it writes by the first unit that contributed,
 * which is what makes a retried or bisected batch rewrite the same items (docs/data-model.md, "Writes").
 */
export interface DeliveryUnit {
  /**
   * Stable across redeliveries, and never reused for other content: a Kinesis eventID (records are
   * immutable), the digest of an awslogs payload, or for replayed and backfilled batches a digest of
   * the whole batch and the position in it (lib/ingest/log-pipeline.ts batchUnitIds).
   */
  id: string;
  /** Position in the delivery; rows of a unit with a smaller index come first. */
  index: number;
}

/** An audit stage with the chain correlated from it at ingest (used for indexing only). */
export interface AuditRowWrite {
  unit: DeliveryUnit;
  facts: StoredAuditFacts;
  chain: DecisionChain;
}

/** An authenticator line; `chain` only for `access denied` lines (their authn-failure chain). */
export interface AuthenticatorRowWrite {
  unit: DeliveryUnit;
  record: StoredAuthenticatorRecord;
  chain?: DecisionChain;
}

export interface LogBatchWrite {
  audit: AuditRowWrite[];
  authenticator: AuthenticatorRowWrite[];
}

export interface LogBatchWriteResult {
  /** Segments (one cluster-minute of one delivery) the rows were stored in. */
  segments: number;
  /** Items written, index items included (what the write cost is counted in). */
  items: number;
}

/** A late-derived link of a stored request: today the human behind an access key whose issuance arrived late. */
export interface LateLinkWrite {
  /** StoredRequest.handle of the request. */
  handle: string;
  chain: DecisionChain;
}

// -------------------------------------------------------------------------------------------------
// Alert ledger and mapping usage
// -------------------------------------------------------------------------------------------------

/**
 * The alert ledger: an alert id is claimed once, so a change seen again (redelivery, retry, a concurrent
 * invocation) is alerted once. `recordIfNew` is true when this call claimed it (the caller then sends it).
 */
export interface AlertLedger {
  recordIfNew(alert: Alert): Promise<boolean>;
  /**
   * Give an alert id back after its publication failed, so a redelivery sends it. Optional: a ledger
   * without it may lose an alert whose publication failed.
   */
  release?(alert: Alert): Promise<void>;
}

/** An alert as the ledger recorded it. */
export interface AlertLedgerEntry {
  alertId: string;
  ruleId: string;
  severity: string;
  cluster: string;
  accountId?: string;
  at: string;
  /** `claimed`: recorded and handed to the sink; `released`: its publication failed and it awaits a retry. */
  state: string;
  /** The alert as raised (rule, severity, actor, diff with before/after, evidence); absent only on a damaged item. */
  alert?: Alert;
  /** The before/after bodies were left out to fit the item (the diff lines are kept). */
  trimmed?: boolean;
}

/** Listing what the ledger recorded: the `alerts` question and the console read this. */
export interface AlertListing {
  /**
   * Alerts whose time (the change's or the first use's own time) falls in the inclusive window, newest
   * first unless `oldest-first`: of one cluster, or of every cluster when `ref` is undefined.
   */
  listAlerts(
    ref: ClusterRef | undefined,
    range: { from: string; to: string },
    page: PageRequest,
  ): Promise<StorePage<AlertLedgerEntry>>;
}

/** What recording one use of a mapping found. */
export interface RecordUseResult {
  /** No earlier use was recorded, or this use is earlier than every recorded one. */
  firstUse: boolean;
  /** The last use recorded before this call, when this call moved it forward. */
  lastUsedBefore?: string;
}

/** When a mapping was first and last used (first-use alerts, the unused-mapping posture finding). */
export interface MappingUsage {
  cluster: string;
  accountId?: string;
  mappingKey: string;
  firstUsedAt: string;
  lastUsedAt: string;
  firstChainId?: string;
  lastChainId?: string;
}

/** When each identity mapping was first and last used: recorded by the alert stage, read by the posture report. */
export interface MappingUsagePort {
  recordUse(
    cluster: string,
    mappingKey: string,
    at: string,
    opts?: { accountId?: string; chainId?: string },
  ): Promise<RecordUseResult>;
  list(cluster: string, accountId?: string): Promise<MappingUsage[]>;
}

// -------------------------------------------------------------------------------------------------
// The port
// -------------------------------------------------------------------------------------------------

export interface ResourceSelector {
  namespace?: string;
  /** objectRef.resource (plural, without group), e.g. `secrets`. */
  resource?: string;
  /** Needs `resource`; for cluster-scoped kinds leave `namespace` out. */
  name?: string;
}

export interface TrailStore {
  /** Claims each alert id once (the alert stage), and lists what it recorded. */
  readonly alerts: AlertLedger & AlertListing & { alertsByCluster(ref: ClusterRef): Promise<AlertLedgerEntry[]> };
  /** First and last use of each mapping (the alert stage writes it, the posture report reads it). */
  readonly usage: MappingUsagePort;

  // --- ingest -------------------------------------------------------------------------------------

  /**
   * Stores the audit stages and authenticator lines of one delivery, in delivery order. Idempotent:
   * the same delivery (or a retried or bisected part of it) rewrites the same items byte for byte.
   * Throws TrailStoreError; a retryable one means the whole delivery must come again.
   */
  putLogBatch(batch: LogBatchWrite): Promise<LogBatchWriteResult>;
  /** Idempotent on (cluster, sourceEventId, op kind, target). Returns the changes that were NEW (first delivery). */
  putMappingChanges(changes: MappingChange[]): Promise<MappingChange[]>;
  /** Idempotent on the access key id. Returns the issuances that were new. */
  putCredentials(items: CredentialIssuance[]): Promise<CredentialIssuance[]>;
  /** Idempotent on (source, sourceId). */
  quarantine(items: QuarantineRecord[]): Promise<void>;
  /**
   * Evidence for correlating requests of one cluster. `accessKeys`: the keys about to be correlated;
   * their issuances are fetched up front because `credentialFor` is synchronous.
   */
  evidenceFor(ref: ClusterRef | string, accessKeys?: string[]): Promise<CorrelationEvidence>;
  credential(accessKeyId: string): Promise<CredentialIssuance | undefined>;
  /** Issuances made BY a session of this access key (role chaining: the next hop's keys). */
  credentialsIssuedTo(callerAccessKeyId: string): Promise<CredentialIssuance[]>;
  /** Indexes links derived after the facts were stored (the human behind a late issuance). Idempotent. */
  putLateLinks(items: LateLinkWrite[]): Promise<void>;
  /**
   * Issuances to pods (EKS Pod Identity, IRSA) of one role, by its lower-cased path-less ARN, oldest
   * first: which sessions each service account received. Optional: a store without the index answers
   * the workload questions from mapping history alone.
   */
  workloadIssuances?(roleMatchKey: string, range: TimeRange): Promise<CredentialIssuance[]>;
  /** Pod Identity issuances to one pod of a cluster (the session tags name it), oldest first. */
  podIssuances?(ref: ClusterRef, namespace: string, pod: string): Promise<CredentialIssuance[]>;
  /** The cluster whose own OIDC issuer this is (`oidc.eks.<region>.amazonaws.com/id/<ID>`). */
  issuerCluster?(issuerKey: string): Promise<ClusterRef | undefined>;

  // --- questions ------------------------------------------------------------------------------------

  /** Every cluster the trail knows, as (account, name). */
  clusters(): Promise<ClusterRef[]>;
  /** Every mapping change known for a cluster, oldest first (a bare name resolves through the registry). */
  mappingChanges(ref: ClusterRef | string): Promise<MappingChange[]>;
  requestsByCluster(ref: ClusterRef, range: TimeRange, page: PageRequest): Promise<StorePage<StoredRequest>>;
  /** Fleet-wide when `ref` is undefined. */
  requestsByPrincipal(
    matchKey: string,
    range: TimeRange,
    page: PageRequest,
    ref?: ClusterRef,
  ): Promise<StorePage<StoredRequest>>;
  /** Requests of one human (SSO user, IAM user, assume-role caller…); fleet-wide when `ref` is undefined. */
  requestsByHuman(
    identity: string,
    range: TimeRange,
    page: PageRequest,
    ref?: ClusterRef,
  ): Promise<StorePage<StoredRequest>>;
  /** The authenticated Kubernetes user (not an impersonated one). */
  requestsByK8sUser(
    ref: ClusterRef,
    username: string,
    range: TimeRange,
    page: PageRequest,
  ): Promise<StorePage<StoredRequest>>;
  requestsByResource(
    ref: ClusterRef,
    sel: ResourceSelector,
    range: TimeRange,
    page: PageRequest,
  ): Promise<StorePage<StoredRequest>>;
  /** 401s, 403s and authenticator denials. */
  denials(ref: ClusterRef, range: TimeRange, page: PageRequest): Promise<StorePage<StoredRequest>>;
  /**
   * Requests made with one access key while the human behind it was not known yet (its AssumeRole*
   * event had not arrived): what a late issuance derives the human of. A temporary key lives at most
   * 12 h, so this stays bounded.
   */
  requestsByAccessKey(accessKeyId: string, range: TimeRange, page: PageRequest): Promise<StorePage<StoredRequest>>;
  /**
   * One request by auditID. Notable requests (IAM callers other than nodes, denials, identity and
   * secret access) are found by id alone; any request is found when `at`, its requestReceivedTimestamp,
   * is given. Undefined when neither finds it.
   */
  requestByAuditId(ref: ClusterRef, auditID: string, at?: string): Promise<StoredRequest | undefined>;
  /**
   * Authenticator log lines of one cluster in a window (STS responses, grants, denials, mappers).
   * `within`: only lines inside one of these narrower windows (the seconds around a few 401s), which
   * a store may answer without reading the rest of the window. A store may also return lines outside
   * them; callers match by time anyway.
   */
  authenticatorRecords(
    ref: ClusterRef,
    range: TimeRange,
    page: PageRequest,
    within?: readonly TimeRange[],
  ): Promise<StorePage<StoredAuthenticatorRecord>>;
  /** Quarantined records, newest first, optionally of one issue code. */
  quarantined(
    code: QuarantineRecord['code'] | undefined,
    range: TimeRange,
    page: PageRequest,
  ): Promise<StorePage<QuarantineRecord & { rawTruncated?: boolean; rawBytes?: number }>>;
}

/** The half of the port the ingest pipelines (and local replay) use. */
export type IngestPort = Pick<
  TrailStore,
  | 'putLogBatch'
  | 'putMappingChanges'
  | 'mappingChanges'
  | 'putCredentials'
  | 'credential'
  | 'credentialsIssuedTo'
  | 'quarantine'
  | 'evidenceFor'
  | 'requestsByAccessKey'
  | 'putLateLinks'
>;

/** The half of the port the questions (CLI, query API, console) read; of the alert ledger, only its listing. */
export type QuestionPort = Pick<
  TrailStore,
  | 'clusters'
  | 'mappingChanges'
  | 'requestsByCluster'
  | 'requestsByPrincipal'
  | 'requestsByHuman'
  | 'requestsByK8sUser'
  | 'requestsByResource'
  | 'denials'
  | 'requestByAuditId'
  | 'evidenceFor'
  | 'authenticatorRecords'
  | 'workloadIssuances'
  | 'podIssuances'
  | 'issuerCluster'
> & { readonly alerts: AlertListing };

/** Storage faults, mapped from SDK errors. `retryable` decides whether a batch item is retried or quarantined. */
export class TrailStoreError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'THROTTLED'
      | 'UNAVAILABLE'
      | 'VALIDATION'
      | 'CONDITION'
      | 'ITEM_TOO_LARGE'
      | 'NOT_FOUND'
      | 'UNKNOWN',
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TrailStoreError';
  }
}
