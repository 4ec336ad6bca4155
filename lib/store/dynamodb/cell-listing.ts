import { type ClusterRef, cellOf, keys, parseClusterRefKey, timeFromCell } from '../keys.js';
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

/**
 * Query page size. Part listings read only the parts' keys and bounds (a projected Query), so a page
 * is small; postings are small items too.
 */
const PAGE_ITEMS = 500;

/**
 * What a part listing reads of each part item: its sort key, chunk count, row count and time bounds
 * (segment-writer.ts partBounds). The parts themselves are fetched by key once a listing knows which
 * it is about to hand out.
 */
const PART_PROJECTION = {
  ProjectionExpression: '#sk, #nc, #nr, #hi, #lo',
  ExpressionAttributeNames: { '#sk': 'sk', '#nc': 'nc', '#nr': 'nr', '#hi': 'hi', '#lo': 'lo' },
};

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
    const projected = this.q.kind !== 'postings';
    const names = { ...(projected ? PART_PROJECTION.ExpressionAttributeNames : {}), ...(this.q.filter?.names ?? {}) };
    const input = {
      KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
      ExpressionAttributeValues: { ':p': pk, ':a': fromCell, ':b': `${toCell}~`, ...(this.q.filter?.values ?? {}) },
      ScanIndexForward: forward,
      Limit: PAGE_ITEMS,
      ...(projected ? { ProjectionExpression: PART_PROJECTION.ProjectionExpression } : {}),
      ...(this.q.filter ? { FilterExpression: this.q.filter.expression } : {}),
      ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
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

/** `cell#anchor[.<chunk>]` of the authenticator partition: one part, `l`, per segment. */
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
    sk: loc.part === 'l' ? keys.authnSk(loc.cell, loc.anchor, i) : keys.segmentSk(loc.cell, loc.anchor, loc.part, i),
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
  /**
   * Narrower windows inside [from, to] (sortable, inclusive): only rows inside one of them are listed,
   * and only parts that reach one of them are fetched.
   */
  windows?: readonly (readonly [string, string])[];
  /**
   * About how many rows the caller will take: parts are fetched in rounds that each aim at this many
   * rows (doubling every round), so a page of the newest rows of a busy cell fetches the latest few
   * parts, not the whole cell. Default: every part of a cell at once.
   */
  want?: number;
}

/** A part a listing may fetch: where it is, which of its rows are asked for, and their time bounds. */
interface Candidate {
  loc: Omit<RowLocation, 'row'>;
  /** Rows a posting names; undefined: every row of the part. */
  rows?: number[];
  /** Full sortable bounds of those rows; '' and '~' when the item does not say (read it regardless). */
  lo: string;
  hi: string;
  /** Rows it may yield. */
  size: number;
}

interface PlannedCell {
  cell: string;
  candidates: Candidate[];
}

const UNKNOWN_LO = '';
const UNKNOWN_HI = '~';

/**
 * Reads cells in order and yields their rows in listing order (newest first unless the query is
 * forward), restricted to the window. A cell comes out in one or more slices, the last marked
 * `complete`: its parts are fetched in order of their bounds (latest `hi` first when listing newest
 * first), and a row is handed out once no part left to fetch can hold a row before it. Rows with the
 * same key from two segments (a transport duplicate) come out once.
 */
export async function* cellRows(
  opts: CellRowsOptions,
  startAfter?: ListCursor,
): AsyncGenerator<{ cell: string; rows: ListedRow[]; complete: boolean }> {
  const { table, query } = opts;
  const q: CellQuery = { ...query };
  if (startAfter) {
    if (q.forward) q.fromCell = startAfter.c > q.fromCell ? startAfter.c : q.fromCell;
    else q.toCell = startAfter.c < q.toCell ? startAfter.c : q.toCell;
  }
  if (q.fromCell > q.toCell) return;
  const reader = new MergedCellReader(table, q);
  const cache = new PartCache(opts.partitionOf);
  const windows = opts.windows;
  const inWindow = (t: string): boolean =>
    t >= opts.from && t <= opts.to && (!windows || windows.some(([a, b]) => t >= a && t <= b));
  const reaches = (c: Candidate): boolean =>
    c.hi >= opts.from && c.lo <= opts.to && (!windows || windows.some(([a, b]) => c.hi >= a && c.lo <= b));
  const resumeKey = (cell: string): RowKey | undefined =>
    startAfter?.k && cell === startAfter.c ? startAfter.k : undefined;
  // A row is handed out in listing order: newest first, unless forward.
  const before = (x: RowKey, y: RowKey): boolean => (q.forward ? compareRowKeys(x, y) < 0 : compareRowKeys(x, y) > 0);

  /** The parts a cell's items lead to, pruned to the window, in the order they are fetched. */
  const plan = (cell: string, groups: { items: Item[]; ref?: ClusterRef }[]): PlannedCell => {
    const candidates: Candidate[] = [];
    if (query.kind !== 'postings') {
      const parse = query.kind === 'authenticator' ? parseAuthnSk : parseSegmentSk;
      for (const g of groups) {
        const ref = g.ref as ClusterRef;
        for (const i of g.items) {
          const s = parse(String(i['sk']));
          // A part is listed by its first chunk, which carries its size and bounds.
          // An empty part (written so that a retry replaces an earlier version) has nothing to hand out.
          if (s.chunk !== 0 || Number(i['nr'] ?? 1) === 0 || !(query.partFilter?.(s.part) ?? true)) continue;
          candidates.push({
            loc: { ref, cell, anchor: s.anchor, part: s.part, chunks: Number(i['nc'] ?? 1) },
            lo: typeof i['lo'] === 'string' ? timeFromCell(cell, i['lo']) : UNKNOWN_LO,
            hi: typeof i['hi'] === 'string' ? timeFromCell(cell, i['hi']) : UNKNOWN_HI,
            size: Number(i['nr'] ?? 1),
          });
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
          const hi = typeof p['hi'] === 'string' ? timeFromCell(cell, p['hi']) : UNKNOWN_HI;
          for (const sel of postingSelections(ref, cell, anchor, String(p['r']))) {
            candidates.push({ ...sel, lo: UNKNOWN_LO, hi, size: sel.rows.length });
          }
        }
      }
    }
    const resume = resumeKey(cell);
    const kept = candidates.filter(
      (c) => reaches(c) && (!resume || (q.forward ? c.hi >= resume[0] : c.lo <= resume[0])),
    );
    kept.sort((x, y) =>
      q.forward ? (x.lo < y.lo ? -1 : x.lo > y.lo ? 1 : 0) : x.hi > y.hi ? -1 : x.hi < y.hi ? 1 : 0,
    );
    return { cell, candidates: kept };
  };

  // Cells read ahead of the one being handed out, so that one fetch serves several small cells.
  const ahead: PlannedCell[] = [];
  let readerDone = false;
  const nextPlanned = async (): Promise<PlannedCell | undefined> => {
    for (;;) {
      const queued = ahead.shift();
      if (queued) return queued;
      if (readerDone) return undefined;
      const next = await reader.nextCell();
      if (!next) {
        readerDone = true;
        return undefined;
      }
      if (startAfter && startAfter.k === undefined && next.cell === startAfter.c) continue;
      return plan(next.cell, next.groups);
    }
  };

  // What a fetch aims at: the rows the caller still wants, times a factor that doubles whenever a fetch
  // hands out fewer rows than it aimed at (filters, the window or the resume point dropped some).
  const wanted = opts.want ?? Number.POSITIVE_INFINITY;
  let emitted = 0;
  let factor = 1;
  // Rows already fetched but held back (pending) count towards the page, so that a cell about to
  // fill it does not read the cells after it ahead.
  const aim = (held: number): number =>
    Number.isFinite(wanted) ? Math.max(1, wanted - emitted - held) * factor : wanted;
  for (;;) {
    const current = await nextPlanned();
    if (!current) return;
    const { cell, candidates } = current;
    const resume = resumeKey(cell);
    let pending: ListedRow[] = [];
    let last: RowKey | undefined;
    let next = 0;
    let yielded = false;
    while (next < candidates.length || !yielded) {
      // One fetch: this cell's next parts up to `want` rows, then, if the cell is used up, the parts of
      // the cells after it (read ahead) up to the same budget.
      // Postings name a few rows in many parts and bound them only by `hi`: their rows would be held
      // back round after round, so a cell's postings are followed in one fetch; a cell that names
      // fewer rows than the page still needs fetches the postings of the cells after it with it.
      const target = aim(pending.length);
      const want = query.kind === 'postings' ? Number.POSITIVE_INFINITY : target;
      const batch: Candidate[] = [];
      let budget = 0;
      while (next < candidates.length && (batch.length === 0 || budget < want)) {
        const c = candidates[next++]!;
        batch.push(c);
        budget += c.size;
      }
      const batchBudget = budget;
      let got = 0;
      const prefetch: Candidate[] = [];
      if (next >= candidates.length && budget < target && Number.isFinite(target)) {
        let i = 0;
        while (budget < target) {
          let p = ahead[i];
          if (!p) {
            if (readerDone) break;
            const more = await reader.nextCell();
            if (!more) {
              readerDone = true;
              break;
            }
            if (startAfter && startAfter.k === undefined && more.cell === startAfter.c) continue;
            p = plan(more.cell, more.groups);
            ahead.push(p);
          }
          for (const c of p.candidates) {
            prefetch.push(c);
            budget += c.size;
          }
          i++;
        }
      }
      await cache.load(
        table,
        [...batch, ...prefetch].map((c) => c.loc),
      );
      for (const c of batch) {
        const part = cache.get(c.loc);
        // A reference written for another version of the part names other rows: not followed.
        if (!part || (c.loc.digest !== undefined && c.loc.digest !== part.digest)) continue;
        const indexes = c.rows ?? Array.from({ length: part.size }, (_, i) => i);
        for (const row of indexes) {
          const key = part.keys[row];
          if (!key || !inWindow(key[0])) continue;
          if (resume && !before(resume, key)) continue;
          const at: RowLocation = { ...c.loc, digest: part.digest, row };
          const listed: ListedRow = { key, at, value: <T>() => part.row<T>(row) };
          if (query.rowFilter && !query.rowFilter(listed)) continue;
          pending.push(listed);
          got++;
        }
      }
      // Rows no part left to fetch can precede: those after the next part's bound, in listing order.
      const bound = next < candidates.length ? candidates[next]! : undefined;
      const ready = bound ? pending.filter((r) => (q.forward ? r.key[0] < bound.lo : r.key[0] > bound.hi)) : pending;
      pending = bound ? pending.filter((r) => !(q.forward ? r.key[0] < bound.lo : r.key[0] > bound.hi)) : [];
      ready.sort((a, b) => compareRowKeys(a.key, b.key));
      if (!q.forward) ready.reverse();
      const out: ListedRow[] = [];
      for (const r of ready) {
        if (last && compareRowKeys(last, r.key) === 0) continue;
        out.push(r);
        last = r.key;
      }
      const complete = next >= candidates.length;
      yielded = true;
      emitted += out.length;
      if (got < Math.min(batchBudget, target)) factor *= 2;
      if (out.length > 0 || complete) yield { cell, rows: out, complete };
    }
  }
}

/** The cell range of a window (sortable bounds). */
export const cellRange = (from: string, to: string): { fromCell: string; toCell: string } => ({
  fromCell: cellOf(from),
  toCell: cellOf(to),
});
