import type { PageRequest, StorePage, TimeRange } from '../store/trail-store.js';
import { QueryParamError } from './errors.js';

/**
 * Several store listings read as one, in time order, with one cursor. A question whose answer is in
 * more than one partition uses it: who-did of a principal or a human also reads the cluster's denials,
 * because a 401 names its principal only once joined to the authenticator's denial at question time,
 * and the human behind a denied token is traced the same way (lib/chain/rederive.ts), so neither is
 * in the principal or human index.
 *
 * A page reads one store page of each listing, merges them by time and hands out `limit` items. The
 * cursor keeps a store cursor per listing; where a page was only partly handed out, the store cursor
 * after exactly that many items is read again (a store page is a deterministic prefix of its
 * listing), so nothing is skipped or repeated.
 */

export type Listing<T> = (range: TimeRange, page: PageRequest) => Promise<StorePage<T>>;

export interface MergedSource<T> {
  list: Listing<T>;
  /** Items of this listing to hand out (the others are another listing's, or nobody's). */
  keep?: (item: T) => boolean;
}

/** Per source: its store cursor, `null` once it is exhausted, absent before its first page. */
type Cursors = (string | null | undefined)[];

const encode = (c: Cursors): string =>
  `m.${Buffer.from(JSON.stringify(c.map((x) => (x === undefined ? 0 : x))), 'utf8').toString('base64url')}`;

const decode = (text: string | undefined, n: number): Cursors => {
  if (text === undefined) return new Array(n).fill(undefined);
  try {
    if (text.startsWith('m.')) {
      const v = JSON.parse(Buffer.from(text.slice(2), 'base64url').toString('utf8')) as unknown;
      if (Array.isArray(v) && v.length === n && v.every((x) => x === 0 || x === null || typeof x === 'string')) {
        return v.map((x) => (x === 0 ? undefined : (x as string | null)));
      }
    }
  } catch {
    // reported below
  }
  throw new QueryParamError(
    'cursor: not a cursor returned by this question (pass back nextCursor unchanged)',
    'cursor',
  );
};

export const mergeListings =
  <T>(sources: readonly MergedSource<T>[], timeOf: (item: T) => string): Listing<T> =>
  async (range, page) => {
    const limit = page.limit ?? 50;
    const newestFirst = page.order !== 'oldest-first';
    const cursors = decode(page.cursor, sources.length);
    const pages = await Promise.all(
      sources.map(async (s, i) => {
        const c = cursors[i];
        if (c === null) return { items: [] as T[], kept: [] as number[] };
        const p = await s.list(range, {
          limit,
          ...(c ? { cursor: c } : {}),
          ...(page.order ? { order: page.order } : {}),
        });
        const kept = p.items.flatMap((item, j) => (!s.keep || s.keep(item) ? [j] : []));
        return { ...p, kept };
      }),
    );
    // Merge the kept items of every page by time (ties: source order, then position).
    const heads = pages.map(() => 0);
    const out: T[] = [];
    const consumed = pages.map(() => 0);
    // A listing that has run out of kept items on this page but has more pages may hold items newer
    // than what the others offer: stop there, so the answer stays in time order.
    const waiting = (): boolean =>
      pages.some((p, i) => (heads[i] as number) >= p.kept.length && 'cursor' in p && p.cursor !== undefined);
    while (out.length < limit && !waiting()) {
      let best = -1;
      for (let i = 0; i < pages.length; i++) {
        const p = pages[i] as (typeof pages)[number];
        if ((heads[i] as number) >= p.kept.length) continue;
        if (best < 0) {
          best = i;
          continue;
        }
        const a = timeOf(p.items[p.kept[heads[i] as number] as number] as T);
        const bp = pages[best] as (typeof pages)[number];
        const b = timeOf(bp.items[bp.kept[heads[best] as number] as number] as T);
        if (newestFirst ? a > b : a < b) best = i;
      }
      if (best < 0) break;
      const p = pages[best] as (typeof pages)[number];
      const j = p.kept[heads[best] as number] as number;
      out.push(p.items[j] as T);
      heads[best] = (heads[best] as number) + 1;
      consumed[best] = j + 1;
    }
    // Where a listing's kept items were all handed out, its whole page counts as read.
    const next: Cursors = await Promise.all(
      pages.map(async (p, i) => {
        const c = cursors[i];
        if (c === null) return null;
        const raw = (heads[i] as number) >= p.kept.length ? p.items.length : (consumed[i] as number);
        if (raw === p.items.length) return 'cursor' in p && p.cursor !== undefined ? p.cursor : null;
        if (raw === 0) return c;
        const again = await (sources[i] as MergedSource<T>).list(range, {
          limit: raw,
          ...(c ? { cursor: c } : {}),
          ...(page.order ? { order: page.order } : {}),
        });
        return again.cursor ?? null;
      }),
    );
    return next.every((c) => c === null) ? { items: out } : { items: out, cursor: encode(next) };
  };
