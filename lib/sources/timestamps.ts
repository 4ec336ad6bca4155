/**
 * Timestamp normalisation shared by the parsers (docs/formats.md §5.9: every source has its own precision).
 */

/** Whether the character at `i` is an ASCII digit; for the hand-read timestamps of the per-event hot paths. */
export const isDigitAt = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i);
  return c >= 0x30 && c <= 0x39;
};

/** The value of the ASCII digit at `i` (check it with isDigitAt first). */
export const digitAt = (s: string, i: number): number => s.charCodeAt(i) - 0x30;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
// Panther rewrites timestamps as `2022-11-29 00:09:04.38`: UTC, space instead of T, no zone.
const SPACE_NO_ZONE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/;
const NUMERIC = /^-?\d+(?:\.\d+)?$/;

/** Epoch numbers below this are seconds (CloudTrail `createdAt: 1527535003.208`), above are ms. */
const EPOCH_MS_THRESHOLD = 1e11;

const epochToIso = (n: number): string | undefined => {
  if (!Number.isFinite(n)) return undefined;
  const ms = Math.abs(n) < EPOCH_MS_THRESHOLD ? n * 1000 : n;
  const d = new Date(Math.round(ms));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
};

/**
 * RFC 3339 text for a timestamp given as RFC 3339 (kept verbatim, so microsecond audit precision
 * survives), as the Panther space-separated UTC form, or as epoch seconds / milliseconds (number or
 * numeric string). Undefined when the input is none of these, rather than guessing a zone.
 */
export const normaliseTimestamp = (v: unknown): string | undefined => {
  if (typeof v === 'number') return epochToIso(v);
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (RFC3339.test(s)) return Number.isNaN(Date.parse(s)) ? undefined : s;
  const m = SPACE_NO_ZONE.exec(s);
  if (m) {
    const iso = `${m[1]}T${m[2]}Z`;
    return Number.isNaN(Date.parse(iso)) ? undefined : iso;
  }
  if (NUMERIC.test(s)) return epochToIso(Number(s));
  return undefined;
};

/** Epoch milliseconds of an RFC 3339 / normalisable timestamp, or undefined. */
export const timestampMs = (v: unknown): number | undefined => {
  const iso = normaliseTimestamp(v);
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
};

/**
 * A leading CloudWatch event timestamp as console / Insights / `aws logs tail` exports write it
 * (`2023-03-23T15:00:41.719Z `, `2023-05-20T04:14:53.798000+00:00 `). It is not part of the message
 * (docs/formats.md §0).
 */
export const CLOUDWATCH_PREFIX = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))[ \t]+/;

export const splitCloudWatchPrefix = (line: string): { prefixMs?: number; rest: string } => {
  const m = CLOUDWATCH_PREFIX.exec(line);
  if (!m) return { rest: line };
  const raw = (m[1] as string).replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(raw);
  const rest = line.slice(m[0].length);
  return Number.isNaN(ms) ? { rest } : { prefixMs: ms, rest };
};
