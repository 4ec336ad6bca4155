/**
 * Memoisation of pure functions of strings, for the parsers the ingest path calls on every record
 * with the same few inputs (role ARNs, RBAC reasons). Bounded, because a Lambda container lives for
 * hours: when full the cache starts over, which costs one recomputation per input and never a wrong
 * answer. Results are shared between callers, so they must be treated as read-only; they are deeply
 * frozen so that a caller that mutates one fails loudly in tests instead of corrupting a later answer.
 */

export const DEFAULT_MEMO_SIZE = 10_000;

export const memoizeByString = <T>(fn: (key: string) => T, maxEntries = DEFAULT_MEMO_SIZE): ((key: string) => T) => {
  const cache = new Map<string, T>();
  return (key: string): T => {
    const hit = cache.get(key);
    if (hit !== undefined || cache.has(key)) return hit as T;
    const value = deepFreeze(fn(key));
    if (cache.size >= maxEntries) cache.clear();
    cache.set(key, value);
    return value;
  };
};

/**
 * Freeze a value and everything reachable from it (objects, arrays, Map and Set entries are not
 * traversed: nothing memoised holds them). For results shared across requests.
 */
export const deepFreeze = <T>(value: T): T => {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || Object.isFrozen(v) || v instanceof Map || v instanceof Set) continue;
    Object.freeze(v);
    // Only objects need a visit: most values are strings, which would be pushed only to be dropped.
    for (const inner of Object.values(v)) if (typeof inner === 'object' && inner !== null) stack.push(inner);
  }
  return value;
};

/**
 * Store `key` as the most recently used entry of an insertion-ordered Map and evict the least
 * recently used ones beyond `maxEntries`: a bounded per-container cache.
 */
export const setMostRecent = <K, V>(map: Map<K, V>, key: K, value: V, maxEntries: number): void => {
  map.delete(key);
  map.set(key, value);
  while (map.size > maxEntries) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
};
