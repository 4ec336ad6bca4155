/**
 * Evaluates a CloudWatch Logs filter pattern of the "unstructured terms" form against a message:
 * space-separated terms, optionally double-quoted (needed for punctuation), all required unless
 * prefixed by `?` (then any of the `?` terms suffices). Terms match case-sensitively as substrings.
 * JSON (`{…}`), space-delimited (`[…]`) and regex (`%…%`) patterns throw: out of this subset.
 */
export function matchesTermPattern(pattern: string, message: string): boolean {
  const trimmed = pattern.trim();
  if (trimmed === '') return true;
  if (/^[{[%]/.test(trimmed)) throw new Error(`not a term pattern: ${pattern}`);
  const tokens = [...trimmed.matchAll(/(\?|-)?(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)].map((m) => ({
    op: m[1] ?? '',
    term: m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''),
  }));
  const anyOf = tokens.filter((t) => t.op === '?');
  const required = tokens.filter((t) => t.op === '');
  const excluded = tokens.filter((t) => t.op === '-');
  if (anyOf.length > 0 && (required.length > 0 || excluded.length > 0)) {
    throw new Error('mixing ? terms with plain or - terms is outside the supported subset');
  }
  if (anyOf.length > 0) return anyOf.some((t) => message.includes(t.term));
  return required.every((t) => message.includes(t.term)) && !excluded.some((t) => message.includes(t.term));
}
