import type { StorePage } from '../store/trail-store.js';
import { QueryParamError } from './errors.js';

/**
 * Paging for questions that filter what the store returns (verb, outcome, session…). A store page cut
 * short by the limit cannot be resumed from the store's own cursor without losing the rest of it, so the
 * query cursor remembers the store cursor the page STARTED from plus how many of its raw items were
 * already consumed; resuming re-reads that page (DynamoDB pages are deterministic for a given start key)
 * and skips them.
 */

export type FetchPage<T> = (cursor: string | undefined, limit: number) => Promise<StorePage<T>>;

interface QueryCursor {
  /** Store cursor the page started from (absent for the first page). */
  c?: string;
  /** Raw items of that page already consumed. */
  s: number;
  /**
   * The limit the page was read with: `s` counts items of a store page of that size, so resuming with
   * another limit would re-read a page of another size and skip or repeat rows.
   */
  l?: number;
  /** Digest of the question and its filters the listing answers (CursorBinding.q). */
  q?: string;
  /** The absolute window, or instant, the listing is read over (CursorBinding.w). */
  w?: [string, string];
}

/**
 * What a cursor may only be resumed with. Its position means nothing for another question, other
 * filters or another window: resumed with them, it would silently skip or repeat rows.
 */
export interface CursorBinding {
  q: string;
  w?: readonly [string, string];
}

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 50;

export const encodeCursor = (c: QueryCursor): string => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');

export const decodeCursor = (text: string | undefined): QueryCursor => {
  if (text === undefined || text === '') return { s: 0 };
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const { s, c, l, q, w } = o;
      if (
        typeof s === 'number' &&
        Number.isInteger(s) &&
        s >= 0 &&
        (c === undefined || typeof c === 'string') &&
        (l === undefined || (typeof l === 'number' && Number.isInteger(l) && l > 0)) &&
        (q === undefined || typeof q === 'string') &&
        (w === undefined || (Array.isArray(w) && w.length === 2 && w.every((x) => typeof x === 'string')))
      ) {
        const out: QueryCursor = { s };
        if (c !== undefined) out.c = c;
        if (l !== undefined) out.l = l;
        if (q !== undefined) out.q = q;
        if (w !== undefined) out.w = [w[0] as string, w[1] as string];
        return out;
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

/**
 * Collect up to `limit` kept rows, reading store pages of `limit` raw items. Bounded by `maxReads` store
 * pages so a filter that matches nothing cannot scan a whole year in one call: the caller then gets
 * fewer rows and a cursor to continue.
 */
export const collectPage = async <T, R>(
  fetch: FetchPage<T>,
  keep: (item: T) => R | undefined,
  limit: number,
  cursor: string | undefined,
  opts: { maxReads?: number; binding?: CursorBinding } = {},
): Promise<{ rows: R[]; nextCursor?: string }> => {
  const maxReads = opts.maxReads ?? 20;
  const start = decodeCursor(cursor);
  let { c, s } = start;
  const { l } = start;
  if (l !== undefined && l !== limit) {
    throw new QueryParamError(
      `cursor: it continues a listing read ${l} at a time; pass limit ${l} with it, or start again without a cursor`,
      'cursor',
    );
  }
  const at = (start: string | undefined, skip: number): string =>
    encodeCursor({ ...(start === undefined ? {} : { c: start }), s: skip, l: limit, ...bound(opts.binding) });
  const rows: R[] = [];
  for (let reads = 0; reads < maxReads; reads++) {
    const page = await fetch(c, limit);
    for (let i = s; i < page.items.length; i++) {
      const r = keep(page.items[i] as T);
      if (r !== undefined) rows.push(r);
      if (rows.length >= limit) {
        const consumed = i + 1;
        if (consumed < page.items.length) return { rows, nextCursor: at(c, consumed) };
        return page.cursor ? { rows, nextCursor: at(page.cursor, 0) } : { rows };
      }
    }
    if (!page.cursor) return { rows };
    c = page.cursor;
    s = 0;
  }
  return c === undefined ? { rows } : { rows, nextCursor: at(c, 0) };
};

/** Paging of an in-memory, already ordered list (mapping history, access-at). */
export const slicePage = <T>(
  all: readonly T[],
  limit: number,
  cursor: string | undefined,
  binding?: CursorBinding,
): { rows: T[]; nextCursor?: string } => {
  const { s } = decodeCursor(cursor);
  const rows = all.slice(s, s + limit);
  return s + limit < all.length ? { rows, nextCursor: encodeCursor({ s: s + limit, ...bound(binding) }) } : { rows };
};

const bound = (b: CursorBinding | undefined): Pick<QueryCursor, 'q' | 'w'> =>
  b === undefined ? {} : b.w === undefined ? { q: b.q } : { q: b.q, w: [b.w[0], b.w[1]] };
