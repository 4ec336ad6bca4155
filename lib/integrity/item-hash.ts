import { createHash } from 'node:crypto';

/**
 * The content hash of one stored item, as a digest lists it (docs/tamper-evidence.md, "What a
 * digest covers"). Every attribute counts, keys and TTL included: a changed `expiresAt` shortens how
 * long evidence is kept, which is tampering too.
 *
 * Items arrive as the document client unmarshals them, so the hash is taken over a canonical form of
 * DynamoDB's own value types, not over JSON: a binary attribute and a string of the same bytes, or a
 * set and a list, hash differently. Map keys and set members are sorted, because DynamoDB does not
 * keep their order (a set comes back in any order).
 */

type Tagged = [string, unknown];

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const tagged = (value: unknown): Tagged => {
  if (value === null || value === undefined) return ['NULL', true];
  if (typeof value === 'string') return ['S', value];
  if (typeof value === 'number' || typeof value === 'bigint') return ['N', String(value)];
  if (typeof value === 'boolean') return ['BOOL', value];
  if (value instanceof Uint8Array) return ['B', Buffer.from(value).toString('base64')];
  if (value instanceof Set) {
    const members = [...value];
    if (members.every((m) => typeof m === 'string')) return ['SS', [...members].sort(compareText)];
    if (members.every((m) => typeof m === 'number' || typeof m === 'bigint')) {
      return ['NS', members.map(String).sort(compareText)];
    }
    return ['BS', members.map((m) => Buffer.from(m as Uint8Array).toString('base64')).sort(compareText)];
  }
  if (Array.isArray(value)) return ['L', value.map(tagged)];
  if (typeof value === 'object') {
    const entries = Object.keys(value as object)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort(compareText)
      .map((k) => [k, tagged((value as Record<string, unknown>)[k])]);
    return ['M', entries];
  }
  return ['S', String(value)];
};

/** The canonical text an item's hash is taken over (exported for tests and for explaining a mismatch). */
export const canonicalItemText = (item: Readonly<Record<string, unknown>>): string => JSON.stringify(tagged(item)[1]);

/** SHA-256 of the canonical form, base64url (43 characters): second-preimage resistant at full length. */
export const itemHash = (item: Readonly<Record<string, unknown>>): string =>
  createHash('sha256').update(canonicalItemText(item)).digest('base64url');

/** SHA-256 of a text, base64url: what a link records of a manifest and of the link before it. */
export const textHash = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64url');
