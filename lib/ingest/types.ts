import type { MappingChange } from '../identity/types.js';
import type { Issue, IssueCode } from '../result.js';
import type { QuarantineRecord, QuarantineSource } from '../store/trail-store.js';

/**
 * Shared vocabulary of the two ingestion pipelines. Everything here is plain data: the Lambda
 * handlers, the CLI's local mode and the tests drive the same code.
 */

/** Minimal structured logger; the Powertools Logger satisfies it, tests pass a recorder or nothing. */
export interface IngestLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export const silentLogger: IngestLogger = { info() {}, warn() {}, error() {} };

/**
 * What the alert layer gets after mapping changes were stored. `newChanges` were stored for the first
 * time by this call. `redelivered` were already stored: they are passed too because a previous
 * delivery may have stored them and then failed before its alerts went out (the alert ledger dedupes
 * on alert id, so evaluating them again is safe and nothing is lost). `allChanges` is the cluster's
 * full history after the write, for before/after diffs through MappingTimeline.
 */
export interface MappingChangeNotice {
  cluster: string;
  accountId?: string;
  newChanges: MappingChange[];
  redelivered: MappingChange[];
  allChanges: MappingChange[];
}

/**
 * Hook for alerts. If it throws, the batch items that carried the changes are failed for retry (the
 * changes are then `redelivered`), so an SNS outage delays alerts instead of dropping them.
 */
export type MappingChangeHook = (notice: MappingChangeNotice) => Promise<void>;

export interface IngestOptions {
  /** Epoch ms; only used for the lag metric and as a last-resort quarantine time. */
  now: () => number;
  onNewMappingChanges?: MappingChangeHook;
  logger?: IngestLogger;
}

export type QuarantineCounts = Partial<Record<IssueCode, number>>;

/** The outcome of one batch item (Kinesis record, SQS message, awslogs payload). */
export interface ItemOutcome {
  itemId: string;
  /** true when a transient fault hit this item: the transport must redeliver it. */
  failed: boolean;
  /** The fault, for logs. */
  error?: unknown;
}

/** Quarantine entry being prepared (the pipeline fills `at` and counts codes). */
export interface PendingQuarantine {
  source: QuarantineSource;
  sourceId: string;
  issues: Issue[];
  raw: string;
  at: number;
  cluster?: string;
  accountId?: string;
}

export const toQuarantineRecord = (q: PendingQuarantine): QuarantineRecord => {
  const first = q.issues[0];
  const rec: QuarantineRecord = {
    source: q.source,
    sourceId: q.sourceId,
    code: first?.code ?? 'INGEST_INTERNAL',
    issues: q.issues.length > 0 ? q.issues : [{ code: 'INGEST_INTERNAL', message: 'no issue recorded' }],
    raw: q.raw,
    at: q.at,
  };
  if (q.cluster !== undefined) rec.cluster = q.cluster;
  if (q.accountId !== undefined) rec.accountId = q.accountId;
  return rec;
};

export const countCodes = (counts: QuarantineCounts, records: readonly QuarantineRecord[]): void => {
  for (const r of records) counts[r.code] = (counts[r.code] ?? 0) + 1;
};
