import { TrailStoreError } from '../store/trail-store.js';

/**
 * Partial-failure policy (docs/design.md, principle 3): a record that cannot be parsed is quarantined; a
 * storage fault that may heal (throttling, 5xx, network) fails its batch item so the transport
 * redelivers it; a storage fault that will not heal (validation, item too large after trimming) is
 * quarantined too, because retrying it would only stall the shard until the record expires.
 */
export type FaultDisposition = 'retry' | 'reject';

/**
 * Errors that are not TrailStoreError come from below the store's error mapping (a socket reset
 * before the SDK classified it, a bug): retrying is the safe side, since every write is idempotent
 * and the event source mapping bounds retries (maximum record age, retry attempts, DLQ).
 * NOT_FOUND is retried although the store marks it final: a missing table or index is an operator
 * fault that says nothing about the record, and quarantining (into the same missing table) would
 * lose every record of the stream until it is fixed.
 */
export const classifyFault = (err: unknown): FaultDisposition =>
  err instanceof TrailStoreError && !err.retryable && err.code !== 'NOT_FOUND' ? 'reject' : 'retry';

/** Thrown by the pipelines' single-item entry points when the item must be redelivered. */
export class TransientIngestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientIngestError';
  }
}

export const describeError = (err: unknown): { name: string; message: string; code?: string } => {
  if (err instanceof TrailStoreError) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Unknown', message: String(err) };
};
