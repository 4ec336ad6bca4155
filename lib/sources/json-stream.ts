import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import type { IssueCode } from '../result.js';

/**
 * Splitting text that holds several JSON values back to back: JSON lines, `{…}{…}` with no delimiter
 * (Firehose S3 objects of CloudWatch Logs payloads, docs/formats.md §4.2), or pretty-printed documents
 * appended one after another (paginated CLI output redirected into one file).
 */

export interface JsonChunk {
  /** The text of one top-level JSON value, not yet parsed. */
  text: string;
  /** Offset of its first character in the input. */
  start: number;
}

export type JsonSplit =
  | { ok: true; chunks: JsonChunk[] }
  | { ok: false; at: number; reason: string; chunks: JsonChunk[] };

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;

/**
 * Find the boundaries of top-level objects / arrays by bracket depth, skipping string contents.
 * Only objects and arrays may appear at top level (every input we split is a sequence of
 * documents); scalars between them are reported as an error with their offset. Values are not
 * validated here: each chunk still goes through JSON.parse.
 */
export const splitJsonValues = (text: string): JsonSplit => {
  const chunks: JsonChunk[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c !== 0x7b /* { */ && c !== 0x5b /* [ */) {
      return { ok: false, at: i, reason: 'expected "{" or "[" at top level', chunks };
    }
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const d = text.charCodeAt(i);
      if (inString) {
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) inString = false;
        continue;
      }
      if (d === 0x22) inString = true;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) return { ok: false, at: start, reason: 'unterminated JSON value', chunks };
    chunks.push({ text: text.slice(start, i), start });
  }
  return { ok: true, chunks };
};

export type JsonParse = { ok: true; value: unknown } | { ok: false; error: string; tooDeep?: true };

/**
 * JSON.parse without throwing, and refusing values nested deeper than `maxDepth` (`tooDeep`):
 * JSON.parse itself copes with any depth, the walkers that come after it do not (lib/json-depth.ts).
 * A container of records (a CloudTrail file, an export) passes Infinity and checks each record, so
 * one deep record does not take the others with it.
 */
export const tryParseJson = (text: string, maxDepth: number = MAX_JSON_DEPTH): JsonParse => {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  if (maxDepth !== Number.POSITIVE_INFINITY && exceedsJsonDepth(value, maxDepth)) {
    return { ok: false, error: `JSON nested deeper than ${maxDepth} levels`, tooDeep: true };
  }
  return { ok: true, value };
};

/** The issue code of a failed tryParseJson: INPUT_TOO_DEEP, else the caller's not-JSON code. */
export const jsonFailureCode = <C extends IssueCode>(j: { tooDeep?: true }, notJson: C): C | 'INPUT_TOO_DEEP' =>
  j.tooDeep ? 'INPUT_TOO_DEEP' : notJson;

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Streaming: files too large to hold with their parse tree (docs/formats.md §4.3)
// ---------------------------------------------------------------------------------------------

/**
 * One piece of a JSON stream, still text: an element of a big array (a top-level array, or an array
 * under one of the `streamKeys` of a top-level object, such as `events` of `filter-log-events`
 * output), or a whole top-level value with those arrays left empty (`{"events":[],"nextToken":…}`).
 */
export type JsonStreamItem =
  | { kind: 'element'; doc: number; key?: string; index: number; text: string; offset: number }
  | { kind: 'document'; doc: number; text: string; offset: number };

export interface JsonStreamError {
  /** Offset in the text pushed so far. */
  at: number;
  reason: string;
  /** Start of the value that could not be read (at most 64 KiB), for the quarantine. */
  text: string;
}

const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const ERROR_TEXT_MAX = 64 * 1024;

/**
 * Splits a stream of JSON text pushed chunk by chunk into array elements and documents, holding
 * only the element being read: a 200 MB `filter-log-events` export never exists as one string or
 * one parse tree. Each piece is parsed with JSON.parse by the caller, which is many times faster
 * than a per-token streaming parser and keeps a bad element to itself (it is quarantined alone).
 * Bracket depth and string state are tracked across chunks; values are not validated here.
 */
export class JsonValueStream {
  private pos = 0;
  private readonly stack: number[] = [];
  private inString = false;
  private escaped = false;
  private doc = -1;
  private docIsObject = false;
  private docParts: string[] = [];
  /** Index in the current chunk where the document text resumes; -1 while paused or idle. */
  private docStart = -1;
  private docOffset = 0;
  /** Depth whose array elements are streamed; -1 when none. */
  private elemDepth = -1;
  private elemKey: string | undefined;
  private elemIndex = 0;
  private elemActive = false;
  private elemKind: 'bracket' | 'string' | 'scalar' = 'bracket';
  private elemParts: string[] = [];
  private elemStart = -1;
  private elemOffset = 0;
  private inKey = false;
  private keyBuf = '';
  private lastKey: string | undefined;
  private expectKey = false;
  private prevSig = 0;
  private failed: JsonStreamError | undefined;

  constructor(private readonly streamKeys: ReadonlySet<string> = new Set()) {}

  get error(): JsonStreamError | undefined {
    return this.failed;
  }

  /** Top-level values begun so far. */
  get documents(): number {
    return this.doc + 1;
  }

  /** Pieces completed by this chunk; none once an error was found. */
  push(chunk: string): JsonStreamItem[] {
    const out: JsonStreamItem[] = [];
    if (this.failed) return out;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.inKey) {
            this.inKey = false;
            this.lastKey = this.keyBuf;
          } else if (this.elemActive && this.elemKind === 'string' && this.stack.length === this.elemDepth) {
            this.finishElement(chunk, i + 1, out);
          }
        } else if (this.inKey && this.keyBuf.length < 256) this.keyBuf += chunk[i];
        continue;
      }
      if (isSpace(c)) {
        if (this.elemActive && this.elemKind === 'scalar') this.finishElement(chunk, i, out);
        continue;
      }
      const depth = this.stack.length;
      if (depth === 0) {
        if (c !== OPEN_OBJ && c !== OPEN_ARR) {
          this.fail(this.pos + i, 'expected "{" or "[" at top level', chunk.slice(i, i + 256));
          return out;
        }
        this.startDocument(c, i);
        continue;
      }
      if (this.elemDepth > 0 && depth === this.elemDepth) {
        if (this.elemActive && this.elemKind === 'scalar' && (c === COMMA || c === CLOSE_ARR)) {
          this.finishElement(chunk, i, out);
        }
        if (!this.elemActive) {
          if (c === COMMA) continue;
          if (c === CLOSE_ARR) {
            this.stack.pop();
            this.endStreamedArray(i, out);
            continue;
          }
          this.startElement(c, i);
          continue;
        }
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.docIsObject && depth === 1 && this.expectKey) {
          this.inKey = true;
          this.keyBuf = '';
          this.expectKey = false;
        }
        continue;
      }
      if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (
          c === OPEN_ARR &&
          this.docIsObject &&
          depth === 1 &&
          this.prevSig === COLON &&
          this.lastKey !== undefined &&
          this.streamKeys.has(this.lastKey)
        ) {
          this.stack.push(c);
          if (this.docStart >= 0) this.docParts.push(chunk.slice(this.docStart, i + 1));
          this.docStart = -1;
          this.elemDepth = 2;
          this.elemKey = this.lastKey;
          this.elemIndex = 0;
          this.prevSig = c;
          continue;
        }
        this.stack.push(c);
        if (depth === 1) this.prevSig = c;
        continue;
      }
      if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        const open = this.stack.pop();
        if ((c === CLOSE_OBJ && open !== OPEN_OBJ) || (c === CLOSE_ARR && open !== OPEN_ARR)) {
          this.fail(this.pos + i, `unexpected "${String.fromCharCode(c)}"`, this.captured(chunk, i + 1));
          return out;
        }
        if (this.stack.length === 0) {
          this.finishDocument(chunk, i + 1, out);
        } else if (this.elemActive && this.elemKind === 'bracket' && this.stack.length === this.elemDepth) {
          this.finishElement(chunk, i + 1, out);
        } else if (this.stack.length === 1) this.prevSig = c;
        continue;
      }
      if (depth === 1 && this.docIsObject) {
        if (c === COMMA) {
          this.expectKey = true;
          this.lastKey = undefined;
        }
        this.prevSig = c;
      }
    }
    if (this.docStart >= 0) {
      this.docParts.push(chunk.slice(this.docStart));
      this.docStart = 0;
    }
    if (this.elemActive) {
      this.elemParts.push(chunk.slice(this.elemStart));
      this.elemStart = 0;
    }
    this.pos += n;
    return out;
  }

  /** Pieces completed at the end of the text (a trailing scalar element), or the error of an unfinished value. */
  end(): JsonStreamItem[] {
    const out: JsonStreamItem[] = [];
    if (this.failed) return out;
    if (this.elemActive && this.elemKind === 'scalar') this.finishElement('', 0, out);
    if (this.stack.length > 0 || this.inString) {
      this.fail(this.pos, 'unterminated JSON value at the end of the text', this.captured('', 0));
    }
    return out;
  }

  private startDocument(c: number, i: number): void {
    this.doc++;
    this.stack.push(c);
    this.docIsObject = c === OPEN_OBJ;
    this.docOffset = this.pos + i;
    this.prevSig = c;
    this.lastKey = undefined;
    if (c === OPEN_ARR) {
      // A top-level array is streamed element by element; its document is only `[]`.
      this.docParts = ['['];
      this.docStart = -1;
      this.elemDepth = 1;
      this.elemKey = undefined;
      this.elemIndex = 0;
    } else {
      this.docParts = [];
      this.docStart = i;
      this.expectKey = true;
    }
  }

  private startElement(c: number, i: number): void {
    this.elemActive = true;
    this.elemParts = [];
    this.elemStart = i;
    this.elemOffset = this.pos + i;
    if (c === OPEN_OBJ || c === OPEN_ARR) {
      this.elemKind = 'bracket';
      this.stack.push(c);
    } else if (c === QUOTE) {
      this.elemKind = 'string';
      this.inString = true;
    } else this.elemKind = 'scalar';
  }

  private finishElement(chunk: string, end: number, out: JsonStreamItem[]): void {
    this.elemParts.push(chunk.slice(this.elemStart, end));
    const text = this.elemParts.join('');
    this.elemParts = [];
    this.elemActive = false;
    this.elemStart = -1;
    const item: JsonStreamItem = {
      kind: 'element',
      doc: this.doc,
      index: this.elemIndex++,
      text,
      offset: this.elemOffset,
    };
    if (this.elemKey !== undefined) item.key = this.elemKey;
    out.push(item);
  }

  private endStreamedArray(i: number, out: JsonStreamItem[]): void {
    this.elemDepth = -1;
    this.elemKey = undefined;
    if (this.stack.length === 0) {
      this.docParts.push(']');
      this.emitDocument(out);
      return;
    }
    this.docStart = i;
    this.prevSig = CLOSE_ARR;
  }

  private finishDocument(chunk: string, end: number, out: JsonStreamItem[]): void {
    if (this.docStart >= 0) this.docParts.push(chunk.slice(this.docStart, end));
    this.emitDocument(out);
  }

  private emitDocument(out: JsonStreamItem[]): void {
    out.push({ kind: 'document', doc: this.doc, text: this.docParts.join(''), offset: this.docOffset });
    this.docParts = [];
    this.docStart = -1;
    this.docIsObject = false;
    this.expectKey = false;
    this.lastKey = undefined;
  }

  private captured(chunk: string, end: number): string {
    const parts = this.elemActive
      ? [...this.elemParts, chunk.slice(Math.max(0, this.elemStart), end)]
      : [...this.docParts, this.docStart >= 0 ? chunk.slice(this.docStart, end) : ''];
    return parts.join('').slice(0, ERROR_TEXT_MAX);
  }

  private fail(at: number, reason: string, text: string): void {
    this.failed = { at, reason, text };
  }
}
