/**
 * Evaluates the subset of EventBridge event-pattern syntax the app uses, against a real event:
 * nested objects (every key must match), arrays of exact values (any matches; an event array
 * matches when any element matches), and `{ prefix }` / `{ exists }` matchers. Anything else throws,
 * so a pattern that grows beyond this subset cannot pass the test by accident.
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) {
    throw new Error(`pattern node must be an object, got ${JSON.stringify(pattern)}`);
  }
  for (const [key, sub] of Object.entries(pattern)) {
    const value = typeof event === 'object' && event !== null ? (event as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(sub)) {
      if (!sub.some((m) => matchesValue(m, value))) return false;
    } else if (!matchesEventPattern(sub, value)) {
      return false;
    }
  }
  return true;
}

function matchesValue(matcher: unknown, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((v) => matchesValue(matcher, v));
  if (typeof matcher === 'string' || typeof matcher === 'number' || typeof matcher === 'boolean' || matcher === null) {
    return value === matcher;
  }
  if (typeof matcher === 'object' && matcher !== null) {
    const m = matcher as Record<string, unknown>;
    if (typeof m.prefix === 'string') return typeof value === 'string' && value.startsWith(m.prefix);
    if (typeof m.exists === 'boolean') return (value !== undefined) === m.exists;
  }
  throw new Error(`unsupported matcher ${JSON.stringify(matcher)}`);
}
