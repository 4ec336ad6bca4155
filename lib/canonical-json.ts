import { checkDepth } from './json-depth.js';

/**
 * JSON with object keys sorted at every level, so the same value always serialises to the same bytes
 * whatever order its properties were assigned in: redelivery must rewrite byte-identical items.
 * `undefined` members are dropped (as JSON.stringify does); Maps and Sets become objects/arrays.
 * Throws JsonDepthError past MAX_JSON_DEPTH (lib/json-depth.ts) rather than overflowing the stack.
 */
export const canonicalJson = (value: unknown): string => JSON.stringify(normalise(value, 0)) ?? 'null';

const normalise = (value: unknown, depth: number): unknown => {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && !Number.isFinite(value)) return null;
    return value;
  }
  checkDepth(depth + 1);
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : normalise(v, depth + 1)));
  if (value instanceof Map) return normalise(Object.fromEntries(value), depth);
  if (value instanceof Set) return [...value].map((v) => normalise(v, depth + 1));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    // defineProperty, not assignment: keys come from untrusted input (audit bodies, annotations), and
    // `out['__proto__'] = v` would set the prototype and silently drop the key from the stored facts.
    if (v !== undefined && typeof v !== 'function') {
      Object.defineProperty(out, k, {
        value: normalise(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return out;
};
