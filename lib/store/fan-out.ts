import { TrailStoreError } from './trail-store.js';

/**
 * Reading a write-sharded listing: every bucket (hour or day) of the range has N shard partitions,
 * each sorted on its own; a page is the k-way merge of the shard streams of one bucket after the
 * other. The cursor remembers, per stream, the key of the last item handed out, so a page never
 * skips or repeats an item even when the page ends in the middle of a bucket.
 */

export type Key = Record<string, unknown>;

export interface StreamSpec {
  pk: string;
  /** Key condition on the index sort key: inclusive range or prefix. */
  between?: [string, string];
  beginsWith?: string;
}

export interface FanOutQuery {
  index: string;
  pkAttr: string;
  skAttr: string;
  /** Buckets in read order (already reversed for newest-first). */
  buckets: string[];
  streams(bucket: string): StreamSpec[];
  forward: boolean;
  /** Drop index entries the key condition could not exclude (e.g. time outside the range). */
  keep?(item: Key): boolean;
}

export interface QueryPage {
  Items?: Key[];
  LastEvaluatedKey?: Key;
}

export type RunQuery = (input: {
  IndexName: string;
  KeyConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
  ScanIndexForward: boolean;
  Limit: number;
  ExclusiveStartKey?: Key;
}) => Promise<QueryPage>;

type StreamState = { k: Key } | 1 | null;

interface CursorState {
  v: 1;
  b: number;
  s: StreamState[];
}

export const encodeCursor = (state: unknown): string =>
  Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');

export const decodeCursor = <T>(cursor: string | undefined, check: (v: unknown) => v is T): T | undefined => {
  if (cursor === undefined || cursor === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new TrailStoreError('cursor is not one this store issued', 'VALIDATION', false, { cause: err });
  }
  if (!check(parsed)) throw new TrailStoreError('cursor is not one this store issued', 'VALIDATION', false);
  return parsed;
};

const isFanOutCursor = (v: unknown): v is CursorState =>
  typeof v === 'object' &&
  v !== null &&
  (v as CursorState).v === 1 &&
  Number.isInteger((v as CursorState).b) &&
  Array.isArray((v as CursorState).s);

/** A bound on queries per page, so a page over a long, mostly empty range returns early with a cursor. */
export const MAX_QUERIES_PER_PAGE = 800;

export const readFanOutPage = async (
  q: FanOutQuery,
  run: RunQuery,
  limit: number,
  cursor?: string,
): Promise<{ items: Key[]; cursor?: string; queries: number }> => {
  const st: CursorState = decodeCursor(cursor, isFanOutCursor) ?? { v: 1, b: 0, s: [] };
  const out: Key[] = [];
  let queries = 0;
  const dir = q.forward ? 1 : -1;
  const skOf = (item: Key) => String(item[q.skAttr] ?? '');
  const tie = (item: Key) => String(item['pk'] ?? '');

  while (st.b < q.buckets.length) {
    const specs = q.streams(q.buckets[st.b]!);
    const bufs = specs.map((spec, i) => {
      const prior = st.s[i] ?? null;
      return {
        spec,
        items: [] as Key[],
        after: prior !== null && prior !== 1 ? prior.k : undefined,
        exhausted: prior === 1,
      };
    });
    const fill = async (i: number) => {
      const buf = bufs[i]!;
      const names: Record<string, string> = { '#pk': q.pkAttr };
      const values: Record<string, unknown> = { ':pk': buf.spec.pk };
      let cond = '#pk = :pk';
      if (buf.spec.between) {
        names['#sk'] = q.skAttr;
        values[':a'] = buf.spec.between[0];
        values[':b'] = buf.spec.between[1];
        cond += ' AND #sk BETWEEN :a AND :b';
      } else if (buf.spec.beginsWith !== undefined) {
        names['#sk'] = q.skAttr;
        values[':p'] = buf.spec.beginsWith;
        cond += ' AND begins_with(#sk, :p)';
      }
      queries++;
      const res = await run({
        IndexName: q.index,
        KeyConditionExpression: cond,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: q.forward,
        Limit: Math.min(Math.max(limit - out.length + 1, 10), 500),
        ...(buf.after ? { ExclusiveStartKey: buf.after } : {}),
      });
      buf.items = [...(res.Items ?? [])];
      if (!res.LastEvaluatedKey) buf.exhausted = true;
      else if (buf.items.length === 0) buf.after = res.LastEvaluatedKey;
      if (buf.items.length === 0 && buf.exhausted) st.s[i] = 1;
    };

    for (;;) {
      const need = bufs.map((b, i) => (b.items.length === 0 && !b.exhausted ? i : -1)).filter((i) => i >= 0);
      if (need.length > 0) {
        if (queries + need.length > MAX_QUERIES_PER_PAGE && queries > 0) {
          return { items: out, cursor: encodeCursor(st), queries };
        }
        await Promise.all(need.map(fill));
        continue;
      }
      let best = -1;
      for (let i = 0; i < bufs.length; i++) {
        const head = bufs[i]!.items[0];
        if (!head) continue;
        if (best < 0) {
          best = i;
          continue;
        }
        const cur = bufs[best]!.items[0]!;
        const c = skOf(head) < skOf(cur) ? -1 : skOf(head) > skOf(cur) ? 1 : tie(head) < tie(cur) ? -1 : 1;
        if (c * dir < 0) best = i;
      }
      if (best < 0) break; // bucket drained
      const buf = bufs[best]!;
      const item = buf.items.shift()!;
      const key: Key = {};
      for (const attr of ['pk', 'sk', q.pkAttr, q.skAttr]) key[attr] = item[attr];
      buf.after = key;
      st.s[best] = buf.items.length === 0 && buf.exhausted ? 1 : { k: key };
      if (!q.keep || q.keep(item)) out.push(item);
      if (out.length >= limit) {
        const drained = bufs.every((b) => b.items.length === 0 && b.exhausted);
        if (drained && st.b + 1 >= q.buckets.length) return { items: out, queries };
        if (drained) return { items: out, cursor: encodeCursor({ v: 1, b: st.b + 1, s: [] }), queries };
        return { items: out, cursor: encodeCursor(st), queries };
      }
    }
    st.b += 1;
    st.s = [];
  }
  return { items: out, queries };
};
