import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../chain/types.js';
import type { MappingChange } from '../identity/types.js';
import type { Issue } from '../result.js';
import type { AuditEvent, AuthenticatorLine, LogEventOrigin } from '../sources/types.js';

/**
 * The storage port used by the ingestion pipeline (lib/ingest), local mode and the query layer.
 * lib/store/dynamodb-trail-store.ts implements it over DynamoDB; every write is idempotent on the
 * natural key given in the comments, so redelivering a batch leaves the table byte-for-byte the same.
 */

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
  /** Stable identity of the bad record (CloudWatch event id, Kinesis sequence number, SQS message id, eventID, file:line). Idempotency key. */
  sourceId: string;
  /** First issue's code, for counting. */
  code: Issue['code'];
  issues: Issue[];
  /** The raw text, untouched (truncated to fit an item only when over 350 KB, flagged so). */
  raw: string;
  /** Epoch ms when first quarantined (not a clock read in lib: the caller passes it). */
  at: number;
  cluster?: string;
  accountId?: string;
}

/**
 * The facts of one audit-event stage as stored, enough to re-run correlation later (late data):
 * the parsed event without request/response bodies (those are kept only for aws-auth and RBAC
 * object changes, where they are the evidence).
 */
export interface StoredAuditFacts {
  origin: { cluster: string; accountId?: string; eventId?: string; timestamp?: number };
  event: AuditEvent;
}

export interface StoredAuthenticatorRecord {
  origin: LogEventOrigin;
  line: AuthenticatorLine;
}

export interface TrailStore {
  /**
   * Writes chains and the facts they were built from. Idempotent on chainId (+ stage: the chain of a
   * request is the merge of its stages; a later stage never loses information an earlier one had).
   */
  putChains(items: { chain: DecisionChain; facts: StoredAuditFacts }[]): Promise<void>;
  /** Idempotent on (cluster, sourceEventId, op kind). Returns the changes that were NEW (first delivery). */
  putMappingChanges(changes: MappingChange[]): Promise<MappingChange[]>;
  /** Every mapping change known for a cluster (account optional when the name is unique). */
  mappingChanges(cluster: string, accountId?: string): Promise<MappingChange[]>;
  /** Idempotent on sourceEventId. Returns the issuances that were new. */
  putCredentials(items: CredentialIssuance[]): Promise<CredentialIssuance[]>;
  credential(accessKeyId: string): Promise<CredentialIssuance | undefined>;
  /** Authenticator lines worth keeping (STS response, access granted/denied, static mappings), idempotent on CloudWatch event id. */
  putAuthenticatorRecords(items: StoredAuthenticatorRecord[]): Promise<void>;
  /** Idempotent on (source, sourceId). */
  quarantine(items: QuarantineRecord[]): Promise<void>;
  /**
   * Evidence for correlating requests of one cluster, loaded from the table (cached per invocation by
   * the caller). `accessKeys`: the access key ids the caller is about to correlate; their AssumeRole*
   * issuances are fetched up front because `credentialFor` is synchronous (keys not listed resolve to undefined).
   */
  evidenceFor(cluster: string, accountId?: string, accessKeys?: string[]): Promise<CorrelationEvidence>;
  /**
   * Chains that used this access key, for re-enrichment when its AssumeRole* issuance arrives late
   * (an access key lives at most 12 h, so this stays bounded). Only chains still pending or with an
   * unknown human link are listed (a sparse index): once re-enrichment rewrites a chain it drops out. Late mapping changes are handled at
   * query time instead: the query layer re-derives the mapping link from the stored facts and the
   * current history, so the answer never depends on arrival order.
   */
  chainsUsingAccessKey(accessKeyId: string): Promise<StoredAuditFacts[]>;
}

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
