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
