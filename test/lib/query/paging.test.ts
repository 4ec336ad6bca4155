import { describe, expect, it } from 'vitest';
import { QueryParamError } from '../../../lib/query/errors.js';
import { collectPage, decodeCursor, slicePage } from '../../../lib/query/paging.js';
import type { StorePage } from '../../../lib/store/trail-store.js';

/** A deterministic store of 0..n-1 in pages, as DynamoDB pages are for one start key. */
const pages =
  (n: number) =>
  async (cursor: string | undefined, limit: number): Promise<StorePage<number>> => {
    const start = cursor ? Number(cursor) : 0;
    const items = Array.from({ length: Math.min(limit, n - start) }, (_, i) => start + i);
    return start + limit < n ? { items, cursor: String(start + limit) } : { items };
  };

describe('collectPage', () => {
  it('resumes inside a store page after a filtered page filled up, losing and repeating nothing', async () => {
    const even = (x: number) => (x % 2 === 0 ? x : undefined);
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const p = await collectPage(pages(23), even, 3, cursor);
      seen.push(...p.rows);
      cursor = p.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]);
  });

  it('refuses to resume with another limit than the page was read with, which would skip or repeat rows', async () => {
    const even = (x: number) => (x % 2 === 0 ? x : undefined);
    const first = await collectPage(pages(23), even, 3, undefined);
    expect(first.nextCursor).toBeDefined();
    await expect(collectPage(pages(23), even, 4, first.nextCursor)).rejects.toThrow(QueryParamError);
    await expect(collectPage(pages(23), even, 4, first.nextCursor)).rejects.toThrow(/limit 3/);
    const same = await collectPage(pages(23), even, 3, first.nextCursor);
    expect(same.rows).toEqual([6, 8, 10]);
  });

  it('still reads cursors issued before they named their limit', async () => {
    const even = (x: number) => (x % 2 === 0 ? x : undefined);
    const old = Buffer.from(JSON.stringify({ c: '3', s: 2 })).toString('base64url');
    const p = await collectPage(pages(23), even, 3, old);
    expect(p.rows).toEqual([6, 8, 10]);
  });

  it('stops after maxReads store pages and hands back a cursor', async () => {
    const none = () => undefined;
    const p = await collectPage(pages(100), none, 5, undefined, { maxReads: 2 });
    expect(p.rows).toEqual([]);
    expect(p.nextCursor).toBeDefined();
  });
});

describe('cursors', () => {
  it.each([
    '%%%',
    Buffer.from('[1]').toString('base64url'),
    Buffer.from('{"s":-1}').toString('base64url'),
    Buffer.from('{"s":0,"l":0}').toString('base64url'),
    Buffer.from('{"s":0,"l":"50"}').toString('base64url'),
  ])('refuses the forged cursor %s', (c) => {
    expect(() => decodeCursor(c)).toThrow(QueryParamError);
  });

  it('slices in-memory answers', () => {
    const a = slicePage([1, 2, 3, 4, 5], 2, undefined);
    const b = slicePage([1, 2, 3, 4, 5], 2, a.nextCursor);
    const c = slicePage([1, 2, 3, 4, 5], 2, b.nextCursor);
    expect([a.rows, b.rows, c.rows, c.nextCursor]).toEqual([[1, 2], [3, 4], [5], undefined]);
  });
});
