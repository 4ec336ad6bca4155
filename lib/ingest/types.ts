import type { DecisionChain } from '../chain/types.js';
import type { MappingChange } from '../identity/types.js';
import type { IssueCode, NonEmptyIssues } from '../result.js';
import { redactIssues, redactText } from '../sources/redact.js';
import type { QuarantineRecord, QuarantineSource } from '../store/trail-store.js';
import type { StructuredLogger } from '../structured-logger.js';

/**
 * Shared vocabulary of the two ingestion pipelines. Everything here is plain data: the Lambda
 * handlers, the CLI's local mode and the tests drive the same code.
 */

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

/**
 * Hook for the stage after requests are stored (first-use alerts, mapping usage): it gets the chains
 * the ingest correlated. If it throws a transient fault, the delivery is failed for retry; the stored
 * items are rewritten identically and the alert ledger keeps each alert to one publication.
 */
export type RequestsStoredHook = (chains: readonly DecisionChain[]) => Promise<void>;

export interface IngestOptions {
  /** Epoch ms; only used for the lag metric and as a last-resort quarantine time. */
  now: () => number;
  onNewMappingChanges?: MappingChangeHook;
  onRequestsStored?: RequestsStoredHook;
  logger?: StructuredLogger;
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

/**
 * The one builder of quarantine entries: what was refused, why, its raw text, and when (the event's
 * own time where there is one, so a redelivery writes the same entry). The raw text and the issue
 * messages are redacted here, whatever the parser did (lib/sources/redact.ts): a record refused
 * because it is unreadable is exactly the one whose secrets no parser got to see.
 */
export const quarantineEntry = (
  where: { source: QuarantineSource; sourceId: string; cluster?: string | undefined; accountId?: string | undefined },
  issues: NonEmptyIssues,
  raw: string,
  at: number,
): QuarantineRecord => {
  const redacted = redactIssues(issues);
  const rec: QuarantineRecord = {
    source: where.source,
    sourceId: where.sourceId,
    code: redacted[0].code,
    issues: redacted,
    raw: redactText(raw),
    at,
  };
  if (where.cluster !== undefined) rec.cluster = where.cluster;
  if (where.accountId !== undefined) rec.accountId = where.accountId;
  return rec;
};

export const countCodes = (counts: QuarantineCounts, records: readonly QuarantineRecord[]): void => {
  for (const r of records) counts[r.code] = (counts[r.code] ?? 0) + 1;
};
