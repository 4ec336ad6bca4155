import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QueryParamError } from '../../../lib/query/errors.js';
import { type Listing, mergeListings } from '../../../lib/query/merge-listings.js';
import type { PageRequest, StorePage } from '../../../lib/store/trail-store.js';

/** A store listing over a sorted list: pages are prefixes from a cursor, as the store's are. */
const listing =
  (items: readonly string[]): Listing<string> =>
  async (_range, page: PageRequest): Promise<StorePage<string>> => {
    const sorted = [...items].sort();
    if (page.order !== 'oldest-first') sorted.reverse();
    const start = page.cursor ? Number(page.cursor) : 0;
    const limit = page.limit ?? 50;
    const slice = sorted.slice(start, start + limit);
    return start + limit < sorted.length ? { items: slice, cursor: String(start + limit) } : { items: slice };
  };

const readAll = async (list: Listing<string>, limit: number, order: PageRequest['order']): Promise<string[]> => {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1_000; i++) {
    const p = await list({}, { limit, ...(cursor ? { cursor } : {}), ...(order ? { order } : {}) });
    out.push(...p.items);
    cursor = p.cursor;
    if (cursor === undefined) return out;
  }
  throw new Error('no end');
};

describe('mergeListings', () => {
  it('hands out every kept item of every listing once, in time order, whatever the page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 999 }), { maxLength: 40 }),
        fc.array(fc.nat(2), { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom<PageRequest['order']>('newest-first', 'oldest-first'),
        async (times, owners, limit, order) => {
          // Each time belongs to one of three listings; the third keeps only even times.
          const lists: string[][] = [[], [], []];
          for (const [i, t] of times.entries()) lists[owners[i] ?? 0]?.push(`t${String(t).padStart(3, '0')}`);
          const keepEven = (s: string) => Number(s.slice(1)) % 2 === 0;
          const merged = mergeListings(
            [
              { list: listing(lists[0] ?? []) },
              { list: listing(lists[1] ?? []) },
              { list: listing(lists[2] ?? []), keep: keepEven },
            ],
            (s) => s,
          );
          const expected = [...(lists[0] ?? []), ...(lists[1] ?? []), ...(lists[2] ?? []).filter(keepEven)].sort();
          if (order !== 'oldest-first') expected.reverse();
          expect(await readAll(merged, limit, order)).toEqual(expected);
        },
      ),
    );
  });

  it('refuses a cursor it did not issue', async () => {
    const merged = mergeListings([{ list: listing(['a']) }], (s) => s);
    await expect(merged({}, { cursor: 'not-mine' })).rejects.toBeInstanceOf(QueryParamError);
  });
});
