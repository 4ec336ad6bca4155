import { createHash } from 'node:crypto';
import { checkDepth } from '../json-depth.js';
import { QueryParamError } from './errors.js';
import { type CursorBinding, decodeCursor } from './paging.js';
import type { QuestionParams } from './params.js';

/** The questions that page, and so take a cursor. */
export type PagedQuestion = Exclude<QuestionParams, { question: 'explain' }>;

const stableJson = (v: unknown, depth = 0): string => {
  if (v !== null && typeof v === 'object') checkDepth(depth + 1);
  if (Array.isArray(v)) return `[${v.map((x) => stableJson(x, depth + 1)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k], depth + 1)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
};

/** The question and its filters, without paging and window: what a cursor's position is a position in. */
const questionDigest = (q: PagedQuestion): string => {
  const { cursor: _cursor, limit: _limit, clockFree: _clockFree, ...rest } = q;
  const filters: Record<string, unknown> = { ...rest };
  delete filters['range'];
  delete filters['at'];
  return createHash('sha256').update(stableJson(filters)).digest('base64url').slice(0, 16);
};

const windowOf = (q: PagedQuestion): [string, string] =>
  q.question === 'access-at' ? [q.at, q.at] : [q.range.from, q.range.to];

const withWindow = (q: PagedQuestion, w: readonly [string, string]): PagedQuestion =>
  q.question === 'access-at' ? { ...q, at: w[0] } : { ...q, range: { from: w[0], to: w[1] } };

/**
 * The question a cursor continues, and the binding to stamp on the next cursor. A cursor answers one
 * question with one set of filters over one absolute window; the store's position in it (hour bucket,
 * shard keys, rows consumed) means nothing elsewhere. So:
 *  - other filters (or another question) with the cursor are refused;
 *  - a window read off the clock (`since`, or `to`/`at` left to default) would have moved between two
 *    calls and made the same cursor skip or repeat rows: the listing's own window is kept instead, and
 *    the answer says so;
 *  - a window the caller fixed (`from` and `to`, or `at`) that is not the listing's is refused.
 * Cursors issued before they carried a binding are taken as they are.
 */
export const resumeQuestion = (asked: PagedQuestion): { q: PagedQuestion; binding: CursorBinding; notes: string[] } => {
  const digest = questionDigest(asked);
  let q = asked;
  const notes: string[] = [];
  if (asked.cursor !== undefined) {
    const c = decodeCursor(asked.cursor);
    if (c.q !== undefined && c.q !== digest) {
      throw new QueryParamError(
        'cursor: it continues another question or other filters; pass the parameters of the first page with it, or start again without a cursor',
        'cursor',
      );
    }
    const mine = windowOf(asked);
    if (c.w !== undefined && (c.w[0] !== mine[0] || c.w[1] !== mine[1])) {
      const listing = asked.question === 'access-at' ? `the instant ${c.w[0]}` : `${c.w[0]} to ${c.w[1]}`;
      if (asked.clockFree) {
        throw new QueryParamError(
          `cursor: it continues a listing over ${listing}; pass that ${asked.question === 'access-at' ? 'at' : 'from and to'} with it, or start again without a cursor`,
          'cursor',
        );
      }
      q = withWindow(asked, c.w);
      notes.push(`continues the listing over ${listing} (the window of its first page, not the clock's now)`);
    }
  }
  return { q, binding: { q: digest, w: windowOf(q) }, notes };
};
