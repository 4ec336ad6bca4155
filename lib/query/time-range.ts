import { fail, issue, ok, type ParseResult } from '../result.js';

/**
 * A question's window once resolved: both ends given, ISO 8601 UTC with milliseconds, inclusive. (The
 * storage port's TimeRange may leave either end to the store's default.)
 */
export interface QuestionWindow {
  from: string;
  to: string;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Default window when a question gets neither `since` nor `from`: audit questions are usually about "lately". */
export const DEFAULT_SINCE = '24h';

/**
 * A duration such as `90m`, `24h`, `7d`, `1h30m` or `2w`. Months and years are refused on purpose: their
 * length varies, and a compliance answer must say exactly which window it covered.
 */
export const parseDuration = (text: string, param = 'since'): ParseResult<number> => {
  const s = text.trim();
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(s)) {
    return fail(
      text,
      issue(
        'QUERY_PARAM',
        `${param}: "${text}" is not a duration (use e.g. 90m, 24h, 7d, 1h30m; units ms s m h d w)`,
        param,
      ),
    );
  }
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
  }
  if (total <= 0 || !Number.isSafeInteger(total)) {
    return fail(text, issue('QUERY_PARAM', `${param}: "${text}" must be a positive duration`, param));
  }
  return ok(total);
};

/**
 * An instant: ISO 8601 (a date alone means midnight UTC; a date-time without zone is read as UTC, because
 * every AWS source writes UTC and a laptop's zone must not shift an audit answer) or epoch ms / seconds.
 */
export const parseInstant = (text: string, param: string): ParseResult<number> => {
  const s = text.trim();
  if (/^\d{13}$/.test(s)) return ok(Number(s));
  if (/^\d{10}(\.\d+)?$/.test(s)) return ok(Math.round(Number(s) * 1000));
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  if (!m) {
    return fail(
      text,
      issue('QUERY_PARAM', `${param}: "${text}" is not a time (use ISO 8601, e.g. 2026-11-01T12:00:00Z)`, param),
    );
  }
  const [, y, mo, d, hh = '00', mi = '00', ss = '00', frac = '', zone = 'Z'] = m;
  const z = zone === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = frac ? frac.slice(0, 4).padEnd(4, '0') : '.000';
  const t = Date.parse(`${y}-${mo}-${d}T${hh}:${mi}:${ss}${ms}${z}`);
  // Date.parse rolls 2026-02-30 over into March; a bad calendar date must be refused instead.
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (
    Number.isNaN(t) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(hh) > 23 ||
    Number(mi) > 59 ||
    Number(ss) > 60
  ) {
    return fail(text, issue('QUERY_PARAM', `${param}: "${text}" is not a valid date-time`, param));
  }
  return ok(t);
};

export interface TimeRangeInput {
  since?: string;
  from?: string;
  to?: string;
}

/**
 * Resolve `since` (relative to `now`) or `from`/`to` into an absolute inclusive window. `since` and
 * `from` are mutually exclusive; `to` defaults to now. The window is returned absolute so a paged query
 * keeps the same window across pages even though the wall clock moves.
 */
export const parseTimeRange = (
  input: TimeRangeInput,
  now: number,
  defaultSince: string = DEFAULT_SINCE,
): ParseResult<QuestionWindow> => {
  const raw = JSON.stringify(input);
  if (input.since !== undefined && input.from !== undefined) {
    return fail(raw, issue('QUERY_PARAM', 'since: give either since or from/to, not both', 'since'));
  }
  let to = now;
  if (input.to !== undefined) {
    const r = parseInstant(input.to, 'to');
    if (!r.ok) return r;
    to = r.value;
  }
  let from: number;
  if (input.from !== undefined) {
    const r = parseInstant(input.from, 'from');
    if (!r.ok) return r;
    from = r.value;
  } else {
    const d = parseDuration(input.since ?? defaultSince, 'since');
    if (!d.ok) return d;
    from = to - d.value;
  }
  if (from > to) {
    return fail(raw, issue('QUERY_PARAM', 'from: the window starts after it ends (from > to)', 'from'));
  }
  return ok({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
};

/** True when an ISO timestamp (any precision: audit µs, CloudTrail s) falls inside the window. */
export const inRange = (at: string, range: QuestionWindow): boolean => {
  const t = Date.parse(at);
  if (Number.isNaN(t)) return false;
  return t >= Date.parse(range.from) && t <= Date.parse(range.to);
};
