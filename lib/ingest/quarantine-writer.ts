import type { QuarantineRecord, TrailStore } from '../store/trail-store.js';
import type { StructuredLogger } from '../structured-logger.js';
import { describeError } from './faults.js';
import { countCodes, type QuarantineCounts } from './types.js';
import { writeWithFallback } from './write.js';

/**
 * Writes quarantine entries for either pipeline. Returns the fault when the write must be retried
 * (the item is then redelivered and quarantined on that delivery); counts codes otherwise. An entry
 * the store refuses for good goes to the function's log with its raw text, the last place left.
 */
export const writeQuarantine = async (
  store: Pick<TrailStore, 'quarantine'>,
  records: readonly QuarantineRecord[],
  summary: { quarantined: QuarantineCounts; quarantineRejected: number },
  log: Pick<StructuredLogger, 'error'>,
): Promise<unknown> => {
  if (records.length === 0) return undefined;
  const res = await writeWithFallback(records, (batch) => store.quarantine([...batch]));
  if (res.retryError !== undefined) return res.retryError;
  countCodes(summary.quarantined, res.written);
  for (const r of res.rejected) {
    summary.quarantineRejected++;
    log.error('quarantine write refused by the store', {
      source: r.item.source,
      sourceId: r.item.sourceId,
      code: r.item.code,
      raw: r.item.raw.slice(0, 8_192),
      error: describeError(r.error),
    });
  }
  return undefined;
};
