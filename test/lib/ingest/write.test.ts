import { describe, expect, it } from 'vitest';
import { classifyFault } from '../../../lib/ingest/faults.js';
import { writeWithFallback } from '../../../lib/ingest/write.js';
import { TrailStoreError } from '../../../lib/store/trail-store.js';

const err = (code: TrailStoreError['code'], retryable: boolean) => new TrailStoreError(code, code, retryable);

describe('classifyFault', () => {
  it.each([
    ['throttling', err('THROTTLED', true), 'retry'],
    ['service unavailable', err('UNAVAILABLE', true), 'retry'],
    ['a missing table (operator fault, not the record)', err('NOT_FOUND', false), 'retry'],
    ['an error below the store mapping', new Error('ECONNRESET'), 'retry'],
    ['a validation error', err('VALIDATION', false), 'reject'],
    ['an item still too large', err('ITEM_TOO_LARGE', false), 'reject'],
    ['a final unknown store error', err('UNKNOWN', false), 'reject'],
  ])('%s -> %s', (_case, e, expected) => {
    expect(classifyFault(e)).toBe(expected);
  });
});

describe('writeWithFallback', () => {
  const recorder = (refuse: (batch: readonly number[]) => Error | undefined) => {
    const calls: number[][] = [];
    const write = async (batch: readonly number[]) => {
      calls.push([...batch]);
      const e = refuse(batch);
      if (e) throw e;
    };
    return { calls, write };
  };

  it('writes the group in one call when the store takes it', async () => {
    const r = recorder(() => undefined);
    expect(await writeWithFallback([1, 2, 3], r.write)).toEqual({ written: [1, 2, 3], rejected: [] });
    expect(r.calls).toEqual([[1, 2, 3]]);
  });

  it('asks for redelivery on a transient fault without splitting the group', async () => {
    const r = recorder(() => err('THROTTLED', true));
    const res = await writeWithFallback([1, 2], r.write);
    expect(res.retryError).toBeInstanceOf(TrailStoreError);
    expect(r.calls).toEqual([[1, 2]]);
  });

  it('isolates the record the store refuses and writes the others', async () => {
    const r = recorder((b) => (b.includes(2) ? err('VALIDATION', false) : undefined));
    const res = await writeWithFallback([1, 2, 3], r.write);
    expect(res.written).toEqual([1, 3]);
    expect(res.rejected.map((x) => x.item)).toEqual([2]);
    expect(r.calls).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('stops splitting and asks for redelivery when a transient fault hits a single write', async () => {
    let n = 0;
    const r = recorder(() => (++n === 1 ? err('VALIDATION', false) : n === 3 ? err('THROTTLED', true) : undefined));
    const res = await writeWithFallback([1, 2, 3], r.write);
    expect(res.written).toEqual([1]);
    expect(res.retryError).toBeDefined();
  });

  it('does nothing for an empty group', async () => {
    const r = recorder(() => undefined);
    expect(await writeWithFallback([], r.write)).toEqual({ written: [], rejected: [] });
    expect(r.calls).toEqual([]);
  });
});
