import { type ClusterRef, cellOf, parseClusterRefKey } from '../keys.js';
import { TrailStoreError } from '../trail-store.js';
import { compareRowKeys, DecodedPart, decodeRefs, type RowKey } from './segment-codec.js';
import { type Item, itemKey, type TableClient } from './table-client.js';

/**
 * Listing rows in time order over segments (docs/data-model.md, "Reading"). Every segment lies in one
 * cell (a minute of request time), and the items that lead to segments (the parts themselves, or
 * postings) are sorted by cell in their partition. A listing therefore reads one cell at a time: all
 * of its segments, merged by row key. A page that ends inside a cell resumes by reading that cell
 * again and skipping what it already handed out, so nothing is skipped or repeated; reading is in
 * proportion to the cells that hold matching rows, never to the length of the window.
 */

/** Where a row lives. */
export interface RowLocation {
  ref: ClusterRef;
  cell: string;
  anchor: string;
  part: string;
  chunks: number;
  /** partDigest of the part version the row number belongs to (see PartRef.digest). */
  digest?: string;
  row: number;
}

/** The part rows a posting's encoded refs (its `r` attribute) point to, in the segment at ref, cell and anchor. */
export const postingSelections = (
  ref: ClusterRef,
  cell: string,
  anchor: string,
  refs: string,
): { loc: Omit<RowLocation, 'row'>; rows: number[] }[] =>
  decodeRefs(refs).map((r) => ({
    loc: { ref, cell, anchor, part: r.part, chunks: r.chunks, ...(r.digest ? { digest: r.digest } : {}) },
    rows: r.rows,
  }));

export interface ListedRow {
  key: RowKey;
  at: RowLocation;
  /** The row's JSON, parsed. */
  value<T>(): T;
}

/** One partition read in cell order: the segment or authenticator partition, or a posting partition. */
export interface CellQuery {
  pk: string;
  /** Sort key range: cells from..to (inclusive), as `<cell>` prefixes. */
  fromCell: string;
  toCell: string;
  forward: boolean;
  /** What the partition holds: segment parts, authenticator parts, or postings that point at segment parts. */
  kind: 'segments' | 'authenticator' | 'postings';
  /** For parts: the cluster the partition belongs to. For cluster-scoped postings: the cluster in the posting pk. */
  ref?: ClusterRef;
  /** For parts: which part letters to read (undefined = all). */
  partFilter?: (part: string) => boolean;
  /** Optional Query FilterExpression on postings (e.g. the cluster of a fleet-wide posting). */
  filter?: { expression: string; names?: Record<string, string>; values: Record<string, unknown> };
  /**
   * Optional test on each row a posting names, for postings that cover more than the question (a kind
   * posting names the rows of every namespace it lists).
   */
  rowFilter?: (row: ListedRow) => boolean;
  /**
   * More partitions read as if they were this one, merged cell by cell: the partition of the same
   * cluster name written before its account was known (docs/data-model.md, "Clusters without an
   * account"). `ref` is the cluster that partition's items belong to.
   */
  also?: { pk: string; ref?: ClusterRef }[];
}

export interface ListCursor {
  /** Cell being read when the page ended. */
  c: string;
  /** Key of the last row handed out in that cell; absent: the whole cell was handed out. */
  k?: RowKey;
}

export const encodeListCursor = (c: ListCursor): string => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');

export const decodeListCursor = (text: string | undefined): ListCursor | undefined => {
  if (text === undefined || text === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<ListCursor>;
    if (typeof v.c === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v.c)) {
      if (v.k === undefined) return { c: v.c };
      if (Array.isArray(v.k) && v.k.length === 4 && typeof v.k[0] === 'string' && typeof v.k[1] === 'string') {
        return { c: v.c, k: v.k as RowKey };
      }
    }
  } catch {
    // reported below
  }
  throw new TrailStoreError('cursor: not a cursor of this listing (pass back the one returned)', 'VALIDATION', false);
};

/** Query page size: parts can be ~380 KB, so a page of items is bounded by DynamoDB's 1 MB anyway. */
const PAGE_ITEMS = 200;

/** Reads one partition cell by cell. */
class CellReader {
  private last: Record<string, unknown> | undefined;
  private buffer: Item[] = [];
  private exhausted = false;
  private started = false;
  queries = 0;

  constructor(
    private readonly table: TableClient,
    private readonly q: CellQuery,
  ) {}

  private async fill(): Promise<void> {
    if (this.exhausted) return;
    const { pk, fromCell, toCell, forward } = this.q;
    const input = {
      KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
      ExpressionAttributeValues: { ':p': pk, ':a': fromCell, ':b': `${toCell}~`, ...(this.q.filter?.values ?? {}) },
      ScanIndexForward: forward,
      Limit: PAGE_ITEMS,
      ...(this.q.filter ? { FilterExpression: this.q.filter.expression } : {}),
      ...(this.q.filter?.names ? { ExpressionAttributeNames: this.q.filter.names } : {}),
      ...(this.last ? { ExclusiveStartKey: this.last } : {}),
    };
    this.started = true;
    this.queries++;
    const page = await this.table.queryPage(input, `Query(${pk.slice(0, 2)})`);
    this.buffer.push(...page.items);
    this.last = page.last;
    if (!page.last) this.exhausted = true;
  }

  /** The items of the next cell, or undefined when the range is done. */
  async nextCell(): Promise<{ cell: string; items: Item[] } | undefined> {
    if (!this.started || this.buffer.length === 0) {
      while (this.buffer.length === 0 && !this.exhausted) await this.fill();
    }
    const first = this.buffer[0];
    if (!first) return undefined;
    const cell = String(first['sk']).slice(0, 16);
    // A cell is complete once an item of another cell shows up, or the partition range ends.
    for (;;) {
      const other = this.buffer.findIndex((i) => String(i['sk']).slice(0, 16) !== cell);
      if (other >= 0) return { cell, items: this.buffer.splice(0, other) };
      if (this.exhausted) return { cell, items: this.buffer.splice(0) };
      await this.fill();
    }
  }
}

/** Several partitions read as one, cell by cell: each cell's items come with the cluster they belong to. */
class MergedCellReader {
  private readonly readers: { reader: CellReader; ref?: ClusterRef }[];
  private readonly pending: ({ cell: string; items: Item[] } | null | undefined)[];

  constructor(
    table: TableClient,
    private readonly q: CellQuery,
  ) {
    const parts = [{ pk: q.pk, ...(q.ref ? { ref: q.ref } : {}) }, ...(q.also ?? [])];
    this.readers = parts.map((p) => ({
      reader: new CellReader(table, { ...q, pk: p.pk }),
      ...(p.ref ? { ref: p.ref } : {}),
    }));
    this.pending = this.readers.map(() => undefined);
  }

  async nextCell(): Promise<{ cell: string; groups: { items: Item[]; ref?: ClusterRef }[] } | undefined> {
    for (let i = 0; i < this.readers.length; i++) {
      if (this.pending[i] === undefined) this.pending[i] = (await this.readers[i]!.reader.nextCell()) ?? null;
    }
    let best: string | undefined;
    for (const p of this.pending) {
      if (!p) continue;
      if (best === undefined || (this.q.forward ? p.cell < best : p.cell > best)) best = p.cell;
    }
    if (best === undefined) return undefined;
    const groups: { items: Item[]; ref?: ClusterRef }[] = [];
    this.pending.forEach((p, i) => {
      if (!p || p.cell !== best) return;
      const ref = this.readers[i]!.ref;
      groups.push(ref ? { items: p.items, ref } : { items: p.items });
      this.pending[i] = undefined;
    });
    return { cell: best, groups };
  }
}

/** `cell#anchor#<part>[.<chunk>]` -> its pieces. */
const parseSegmentSk = (sk: string): { cell: string; anchor: string; part: string; chunk: number } => {
  const [cell = '', anchor = '', tail = ''] = sk.split('#');
  const dot = tail.indexOf('.');
  return {
    cell,
    anchor,
    part: dot < 0 ? tail : tail.slice(0, dot),
    chunk: dot < 0 ? 0 : Number.parseInt(tail.slice(dot + 1), 10),
  };
};

/** `cell#anchor[.<chunk>]` of the authenticator partition. */
const parseAuthnSk = (sk: string): { cell: string; anchor: string; part: string; chunk: number } => {
  const [cell = '', tail = ''] = sk.split('#');
  const dot = tail.indexOf('.');
  return {
    cell,
    anchor: dot < 0 ? tail : tail.slice(0, dot),
    part: 'l',
    chunk: dot < 0 ? 0 : Number.parseInt(tail.slice(dot + 1), 10),
  };
};

export const segmentPartKeys = (
  partitionPk: string,
  loc: Pick<RowLocation, 'cell' | 'anchor' | 'part' | 'chunks'>,
): { pk: string; sk: string }[] =>
  Array.from({ length: loc.chunks }, (_, i) => ({
    pk: partitionPk,
    sk:
      loc.part === 'l'
        ? `${loc.cell}#${loc.anchor}${i === 0 ? '' : `.${i}`}`
        : `${loc.cell}#${loc.anchor}#${loc.part}${i === 0 ? '' : `.${i}`}`,
  }));

type SkParser = (sk: string) => { cell: string; anchor: string; part: string; chunk: number };

const parserFor = (part: string): SkParser => (part === 'l' ? parseAuthnSk : parseSegmentSk);

/** Decoded parts of one read, shared by every selection that needs them. */
export class PartCache {
  private readonly parts = new Map<string, DecodedPart>();

  constructor(private readonly partitionOf: (ref: ClusterRef, part: string) => string) {}

  key(loc: Pick<RowLocation, 'ref' | 'cell' | 'anchor' | 'part'>): string {
    return `${loc.ref.accountId}\u0000${loc.ref.cluster}\u0000${loc.cell}\u0000${loc.anchor}\u0000${loc.part}`;
  }

  get(loc: Pick<RowLocation, 'ref' | 'cell' | 'anchor' | 'part'>): DecodedPart | undefined {
    return this.parts.get(this.key(loc));
  }

  /**
   * Decodes parts from their chunk items. A part whose chunks are not all present is left out: it
   * expired by TTL between reads, and so do its postings soon after.
   */
  addItems(ref: ClusterRef, items: readonly Item[], parse: SkParser): void {
    const byPart = new Map<
      string,
      { loc: Omit<RowLocation, 'row' | 'chunks'>; chunks: Map<number, Uint8Array>; n: number }
    >();
    for (const item of items) {
      const s = parse(String(item['sk']));
      const loc = { ref, cell: s.cell, anchor: s.anchor, part: s.part };
      const k = this.key(loc);
      let e = byPart.get(k);
      if (!e) {
        e = { loc, chunks: new Map(), n: 0 };
        byPart.set(k, e);
      }
      // Chunk 0 says how many chunks the part has now: a part rewritten smaller (a bisected half)
      // leaves the old version's later chunks behind, which are not part of it.
      if (s.chunk === 0) e.n = Number(item['nc'] ?? 1);
      e.chunks.set(s.chunk, item['z'] as Uint8Array);
    }
    for (const [k, e] of byPart) {
      if (this.parts.has(k) || e.n === 0 || Array.from({ length: e.n }, (_, i) => i).some((i) => !e.chunks.has(i)))
        continue;
      const ordered = Array.from({ length: e.n }, (_, i) => e.chunks.get(i) as Uint8Array);
      const where = `${this.partitionOf(ref, e.loc.part)} ${e.loc.cell}#${e.loc.anchor}#${e.loc.part}`;
      try {
        this.parts.set(k, new DecodedPart(ordered, where));
      } catch (err) {
        // A write that failed between two chunks of a part leaves old and new chunks together until
        // the delivery is retried; that, or damaged bytes, must not take the whole answer down. The
        // part is left out and named, so a caller can say the answer may be incomplete.
        if (!(err instanceof TrailStoreError)) throw err;
        this.unreadable.push(where);
      }
    }
  }

  /** Parts that could not be decoded during this read (left out of the answer). */
  readonly unreadable: string[] = [];

  /** Fetches (BatchGetItem) and decodes the parts these locations need that are not decoded yet. */
  async load(table: TableClient, locs: readonly Omit<RowLocation, 'row'>[]): Promise<void> {
    const wanted = new Map<string, Omit<RowLocation, 'row'>>();
    for (const l of locs) if (!this.parts.has(this.key(l))) wanted.set(this.key(l), l);
    if (wanted.size === 0) return;
    const keyList = [...wanted.values()].flatMap((l) => segmentPartKeys(this.partitionOf(l.ref, l.part), l));
    const got = await table.batchGet(keyList);
    for (const l of wanted.values()) {
      const items = segmentPartKeys(this.partitionOf(l.ref, l.part), l).flatMap((k) => {
        const item = got.get(itemKey(k));
        return item ? [item] : [];
      });
      this.addItems(l.ref, items, parserFor(l.part));
    }
  }
}

export interface CellRowsOptions {
  table: TableClient;
  query: CellQuery;
  /** Partition of a segment part: `S#…` for audit parts, `N#…` for authenticator parts. */
  partitionOf: (ref: ClusterRef, part: string) => string;
  /** Inclusive bounds on row time (sortable). */
  from: string;
  to: string;
}

/**
 * Reads cells in order and yields, per cell, its rows in listing order (newest first unless the query
 * is forward), restricted to the window. Rows with the same key from two segments (a transport
 * duplicate) come out once.
 */
export async function* cellRows(
  opts: CellRowsOptions,
  startAfter?: ListCursor,
): AsyncGenerator<{ cell: string; rows: ListedRow[] }> {
  const { table, query } = opts;
  const q: CellQuery = { ...query };
  if (startAfter) {
    if (q.forward) q.fromCell = startAfter.c > q.fromCell ? startAfter.c : q.fromCell;
    else q.toCell = startAfter.c < q.toCell ? startAfter.c : q.toCell;
  }
  if (q.fromCell > q.toCell) return;
  const reader = new MergedCellReader(table, q);
  const cache = new PartCache(opts.partitionOf);
  for (;;) {
    const next = await reader.nextCell();
    if (!next) return;
    const { cell, groups } = next;
    if (startAfter && startAfter.k === undefined && cell === startAfter.c) continue;
    const selections: { loc: Omit<RowLocation, 'row'>; rows?: number[] }[] = [];
    if (query.kind !== 'postings') {
      const parse = query.kind === 'authenticator' ? parseAuthnSk : parseSegmentSk;
      for (const g of groups) {
        const ref = g.ref as ClusterRef;
        const kept = g.items.filter((i) => query.partFilter?.(parse(String(i['sk'])).part) ?? true);
        cache.addItems(ref, kept, parse);
        const seen = new Set<string>();
        for (const i of kept) {
          const s = parse(String(i['sk']));
          const k = `${s.anchor}#${s.part}`;
          if (seen.has(k)) continue;
          seen.add(k);
          selections.push({ loc: { ref, cell, anchor: s.anchor, part: s.part, chunks: Number(i['nc'] ?? 1) } });
        }
      }
    } else {
      for (const g of groups) {
        for (const p of g.items) {
          const sk = String(p['sk']).split('#');
          // Cluster-scoped postings: `<cell>#<anchor>`; fleet-wide: `<cell>#C#<acct>#<cluster>#<anchor>[#<session>]`.
          const fleet = sk[1] === 'C';
          const ref = fleet ? parseClusterRefKey(`C#${sk[2]}#${sk[3]}`) : g.ref;
          const anchor = fleet ? sk[4] : sk[1];
          if (!ref || !anchor) continue;
          selections.push(...postingSelections(ref, cell, anchor, String(p['r'])));
        }
      }
      await cache.load(
        table,
        selections.map((s) => s.loc),
      );
    }
    const rows: ListedRow[] = [];
    for (const s of selections) {
      const part = cache.get(s.loc);
      // A reference written for another version of the part names other rows: not followed.
      if (!part || (s.loc.digest !== undefined && s.loc.digest !== part.digest)) continue;
      const indexes = s.rows ?? Array.from({ length: part.size }, (_, i) => i);
      for (const row of indexes) {
        const key = part.keys[row];
        if (!key || key[0] < opts.from || key[0] > opts.to) continue;
        const at: RowLocation = { ...s.loc, digest: part.digest, row };
        const listed: ListedRow = { key, at, value: <T>() => part.row<T>(row) };
        if (query.rowFilter && !query.rowFilter(listed)) continue;
        rows.push(listed);
      }
    }
    rows.sort((a, b) => compareRowKeys(a.key, b.key));
    if (!q.forward) rows.reverse();
    const unique: ListedRow[] = [];
    for (const r of rows) {
      const prev = unique[unique.length - 1];
      if (prev && compareRowKeys(prev.key, r.key) === 0) continue;
      unique.push(r);
    }
    let start = 0;
    if (startAfter?.k && cell === startAfter.c) {
      const after = startAfter.k;
      while (start < unique.length) {
        const c = compareRowKeys(unique[start]!.key, after);
        if (q.forward ? c > 0 : c < 0) break;
        start++;
      }
    }
    yield { cell, rows: unique.slice(start) };
  }
}

/** The cell range of a window (sortable bounds). */
export const cellRange = (from: string, to: string): { fromCell: string; toCell: string } => ({
  fromCell: cellOf(from),
  toCell: cellOf(to),
});
