import { createHash } from 'node:crypto';
import { checkDepth } from '../json-depth.js';

export { canonicalJson } from '../canonical-json.js';

export const contentHash = (...parts: string[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return h.digest('base64url').slice(0, 22);
};

/** DynamoDB's hard item limit (attribute names + values, UTF-8), including every attribute. */
export const DYNAMODB_ITEM_LIMIT = 400 * 1024;

/**
 * Our budget below the hard limit: the estimate below is close but not exact for numbers, and a
 * margin keeps an item that is "just under" from failing on the service.
 */
export const ITEM_BUDGET = 390 * 1024;

/** Item size as DynamoDB bills and limits it: name bytes + value bytes (numbers: ~1 byte per 2 digits + 1). */
export const itemSize = (item: Record<string, unknown>): number => {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name, 'utf8') + valueSize(value);
  }
  return size;
};

const valueSize = (value: unknown, depth = 0): number => {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  // Items are shallow (rows are stored as JSON text); the bound only keeps the stack safe (lib/json-depth.ts).
  checkDepth(depth + 1);
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + valueSize(v, depth + 1), 0);
  if (typeof value === 'object') {
    let n = 3;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      n += 1 + Buffer.byteLength(k) + valueSize(v, depth + 1);
    }
    return n;
  }
  return 0;
};

/** Write units one write of this item costs on the table (1 WCU per started KB). */
export const writeUnits = (item: Record<string, unknown>): number => Math.max(1, Math.ceil(itemSize(item) / 1024));

/** Cut a string to at most `maxBytes` UTF-8 bytes without splitting a character. */
export const truncateUtf8 = (text: string, maxBytes: number): string => {
  const buf = Buffer.from(text, 'utf8');
  if (buf.byteLength <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // step back over UTF-8 continuation bytes (10xxxxxx) so the cut lands on a character boundary
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
};
