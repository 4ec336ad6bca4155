import { createHash } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { TrailStoreError } from '../trail-store.js';

/**
 * The bytes of a segment part (docs/data-model.md, "Segments"): the rows of one cluster-minute of one
 * delivery, as JSON lines, compressed together, then cut into chunks that each fit an item.
 *
 *   line 0      header: {"v":1,"k":[<row key>, …]}   (the keys of the rows, in row order)
 *   line 1..n   one row each, canonical JSON
 *
 * Row keys come first so a reader can merge and filter rows by time without parsing them, and parse
 * only the rows it hands out. JSON text never holds a raw newline, so lines split exactly.
 *
 * Brotli, not gzip: at the same speed (quality 5) it is about a third smaller on a minute of audit
 * rows, because its window spans the whole segment and audit rows repeat long runs (user blocks, user
 * agents, object paths) across the minute. Measured in docs/data-model.md.
 */

export const CODEC_VERSION = 1;

/**
 * Compressed bytes per chunk item. DynamoDB's item limit is 400 KB including keys and attribute names;
 * the rest of a chunk item is well under 1 KB.
 */
export const CHUNK_BYTES = 380 * 1024;

/** Sort key of a row inside a cell: [sortable time, request id, stage rank, row kind]. */
export type RowKey = [string, string, number, RowKind];

/** `a`: an audit stage; `d`: an authenticator denial shown as a request; `l`: an authenticator line. */
export type RowKind = 'a' | 'd' | 'l';

export const compareRowKeys = (x: RowKey, y: RowKey): number => {
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
  if (x[1] !== y[1]) return x[1] < y[1] ? -1 : 1;
  if (x[2] !== y[2]) return x[2] - y[2];
  return x[3] < y[3] ? -1 : x[3] > y[3] ? 1 : 0;
};

/** Rows of one part, sorted by key; `rows[i]` is the canonical JSON of the row with key `keys[i]`. */
export interface PartRows {
  keys: RowKey[];
  rows: string[];
}

export const encodePart = (part: PartRows): Buffer[] => {
  const header = JSON.stringify({ v: CODEC_VERSION, k: part.keys });
  // No row, no row line: `header\n` would read back as one empty row.
  const text = part.rows.length === 0 ? header : `${header}\n${part.rows.join('\n')}`;
  const input = Buffer.from(text, 'utf8');
  const packed = brotliCompressSync(input, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 5,
      [constants.BROTLI_PARAM_SIZE_HINT]: input.length,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    },
  });
  const chunks: Buffer[] = [];
  for (let at = 0; at < packed.length || chunks.length === 0; at += CHUNK_BYTES) {
    chunks.push(packed.subarray(at, Math.min(packed.length, at + CHUNK_BYTES)));
  }
  return chunks;
};

/**
 * Digest of a part's bytes (its chunks in order). References carry the digest of the part they were
 * written for: a bisected half rewrites a segment with fewer rows under the same key, and a posting
 * of the whole delivery that the half did not rewrite must then not be followed into the new rows.
 */
export const partDigest = (chunks: readonly Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('base64url').slice(0, 8);
};

/** A decoded part: keys at once, rows parsed on demand. */
export class DecodedPart {
  readonly keys: RowKey[];
  /** partDigest of the chunks it was decoded from. */
  readonly digest: string;
  private readonly lines: string[];
  private readonly parsed = new Map<number, unknown>();

  constructor(chunks: readonly Uint8Array[], where: string) {
    let text: string;
    try {
      text = brotliDecompressSync(Buffer.concat(chunks.map((c) => Buffer.from(c)))).toString('utf8');
    } catch (err) {
      throw new TrailStoreError(`${where}: segment part does not decompress`, 'VALIDATION', false, { cause: err });
    }
    this.lines = text.split('\n');
    let header: { v?: unknown; k?: unknown };
    try {
      header = JSON.parse(this.lines[0] ?? '') as { v?: unknown; k?: unknown };
    } catch (err) {
      throw new TrailStoreError(`${where}: segment part header is not JSON`, 'VALIDATION', false, { cause: err });
    }
    if (header.v !== CODEC_VERSION || !Array.isArray(header.k) || header.k.length !== this.lines.length - 1) {
      throw new TrailStoreError(`${where}: segment part header does not match its rows`, 'VALIDATION', false);
    }
    this.keys = header.k as RowKey[];
    this.digest = partDigest(chunks);
  }

  get size(): number {
    return this.keys.length;
  }

  row<T>(index: number): T {
    let v = this.parsed.get(index);
    if (v === undefined) {
      v = JSON.parse(this.lines[index + 1] as string) as unknown;
      this.parsed.set(index, v);
    }
    return v as T;
  }
}

// -------------------------------------------------------------------------------------------------
// Row references (which rows of which parts a posting or a pointer names)
// -------------------------------------------------------------------------------------------------

export interface PartRef {
  part: string;
  /** Chunk items the part was cut into. */
  chunks: number;
  /** partDigest of the part the rows were numbered in; rows of another version are not followed. */
  digest?: string;
  rows: number[];
}

/**
 * `n2~AbCd1234:0.5.1a;b1~XyZ_5678:3`: per part, its letter, its chunk count, its digest, and the row
 * indexes in base 36, ascending. Compact because a posting is written per value and segment: its
 * bytes are most of what indexing costs.
 */
export const encodeRefs = (refs: readonly PartRef[]): string =>
  refs
    .map((r) => `${r.part}${r.chunks}${r.digest ? `~${r.digest}` : ''}:${r.rows.map((i) => i.toString(36)).join('.')}`)
    .join(';');

/** One part's references, exactly as encodeRefs writes them: part name (letters), chunk count >= 1, digest, base-36 rows. */
const PART_REF = /^([nbl])([1-9][0-9]*)(?:~([A-Za-z0-9_-]+))?:((?:[0-9a-z]+)(?:\.[0-9a-z]+)*)?$/;

export const decodeRefs = (text: string): PartRef[] =>
  text.split(';').map((piece) => {
    const m = PART_REF.exec(piece);
    const chunks = Number(m?.[2]);
    const rows = m?.[4] ? m[4].split('.').map((s) => Number.parseInt(s, 36)) : [];
    if (!m || !Number.isSafeInteger(chunks) || rows.some((r) => !Number.isSafeInteger(r))) {
      throw new TrailStoreError(`row references ${JSON.stringify(text)} are malformed`, 'VALIDATION', false);
    }
    return m[3] ? { part: m[1]!, chunks, digest: m[3], rows } : { part: m[1]!, chunks, rows };
  });
