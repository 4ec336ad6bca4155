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
  const text = `${JSON.stringify({ v: CODEC_VERSION, k: part.keys })}\n${part.rows.join('\n')}`;
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

/** A decoded part: keys at once, rows parsed on demand. */
export class DecodedPart {
  readonly keys: RowKey[];
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
  rows: number[];
}

/**
 * `n2:0.5.1a;b1:3`: per part, its letter, its chunk count, and the row indexes in base 36, ascending.
 * Compact because a posting is written per value and segment: its bytes are most of what indexing costs.
 */
export const encodeRefs = (refs: readonly PartRef[]): string =>
  refs.map((r) => `${r.part}${r.chunks}:${r.rows.map((i) => i.toString(36)).join('.')}`).join(';');

export const decodeRefs = (text: string): PartRef[] => {
  const out: PartRef[] = [];
  for (const piece of text.split(';')) {
    const colon = piece.indexOf(':');
    const part = piece.slice(0, 1);
    const chunks = Number.parseInt(piece.slice(1, colon), 10);
    const rows = piece
      .slice(colon + 1)
      .split('.')
      .filter((s) => s !== '')
      .map((s) => Number.parseInt(s, 36));
    if (colon < 2 || !Number.isInteger(chunks) || chunks < 1 || rows.some((r) => !Number.isInteger(r) || r < 0)) {
      throw new TrailStoreError(`row references ${JSON.stringify(text)} are malformed`, 'VALIDATION', false);
    }
    out.push({ part, chunks, rows });
  }
  return out;
};
