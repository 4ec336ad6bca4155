import { classifyFault } from './faults.js';

export interface FallbackResult<T> {
  written: T[];
  /** Records the store refused for good, each with its own error. */
  rejected: { item: T; error: unknown }[];
  /** Set when a transient fault means the whole group must be redelivered. */
  retryError?: unknown;
}

/**
 * Writes a group in one call; when the store refuses the group for good (a validation error names no
 * record), writes each record alone to find the culprit, so one bad record is quarantined and its
 * neighbours are stored. A transient fault at any point stops and asks for redelivery: writes are
 * idempotent, so records already written are harmless to write again.
 */
export const writeWithFallback = async <T>(
  items: readonly T[],
  write: (batch: readonly T[]) => Promise<unknown>,
): Promise<FallbackResult<T>> => {
  if (items.length === 0) return { written: [], rejected: [] };
  try {
    await write(items);
    return { written: [...items], rejected: [] };
  } catch (err) {
    if (classifyFault(err) === 'retry') return { written: [], rejected: [], retryError: err };
    if (items.length === 1) return { written: [], rejected: [{ item: items[0]!, error: err }] };
  }
  const out: FallbackResult<T> = { written: [], rejected: [] };
  for (const item of items) {
    try {
      await write([item]);
      out.written.push(item);
    } catch (err) {
      if (classifyFault(err) === 'retry') return { ...out, retryError: err };
      out.rejected.push({ item, error: err });
    }
  }
  return out;
};
