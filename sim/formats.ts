/**
 * Writers for the raw formats the simulator emits (docs/formats.md). Written from the format description,
 * independently of the parsers in lib/sources, so the simulator can act as an oracle for them.
 * Times are integer microseconds since the epoch throughout the simulator; each writer rounds to the
 * precision its real source uses.
 */

// -----------------------------------------------------------------------------------------------
// Time
// -----------------------------------------------------------------------------------------------

export const US_PER_MS = 1000;
export const US_PER_S = 1_000_000;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

// Thousands of timestamps a second fall in the same second: remember its text.
let lastSecond = Number.NaN;
let lastSecondText = '';
const secondText = (second: number): string => {
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondText = new Date(second * 1000).toISOString().slice(0, 19);
  }
  return lastSecondText;
};

/** RFC 3339 at second precision, UTC `Z`: authenticator `time`, CloudTrail `eventTime`, EventBridge `time`. */
export const isoSeconds = (us: number): string => `${secondText(Math.floor(us / US_PER_S))}Z`;

/** RFC 3339 with microseconds, UTC `Z`: audit requestReceivedTimestamp / stageTimestamp. */
export const isoMicros = (us: number): string => {
  const whole = Math.floor(us / US_PER_S);
  const frac = Math.floor(us - whole * US_PER_S);
  return `${secondText(whole)}.${pad(frac, 6)}Z`;
};

/** ISO with milliseconds (ground truth, CloudWatch exports). */
export const isoMillis = (us: number): string => new Date(Math.floor(us / US_PER_MS)).toISOString();

export const parseIsoToMicros = (iso: string): number => Date.parse(iso) * US_PER_MS;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * CloudTrail renders STS `credentials.expiration` as a Java-style date, e.g. `Mar 2, 2026, 2:20:00 AM`
 * (UTC), not ISO: a parser must accept it.
 */
export const cloudTrailExpiration = (us: number): string => {
  const d = new Date(Math.floor(us / US_PER_MS));
  const h = d.getUTCHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h12}:${pad(d.getUTCMinutes())}:${pad(
    d.getUTCSeconds(),
  )} ${h < 12 ? 'AM' : 'PM'}`;
};

/** EKS CloudTrail responseElements carry timestamps as epoch seconds with a fraction (1527535003.208). */
export const epochSecondsFraction = (us: number): number => Math.floor(us / US_PER_MS) / 1000;

// -----------------------------------------------------------------------------------------------
// Go string quoting (strconv.Quote) and logrus TextFormatter
// -----------------------------------------------------------------------------------------------

/** Go `%q` of a string: printable runes kept, the rest escaped as Go does. */
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/;

export const goQuote = (s: string): string => {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
};

/** logrus writes a value bare only when every character is in this set (empty values stay bare). */
const LOGRUS_BARE = /^[A-Za-z0-9\-._/@^+]*$/;

/** A logrus text value: `fmt.Sprint` of the value, then quoted with %q unless it is all bare characters. */
export const logrusValue = (value: string | readonly string[]): string => {
  const text = typeof value === 'string' ? value : `[${value.join(' ')}]`;
  return LOGRUS_BARE.test(text) ? text : goQuote(text);
};

export type LogrusLevel = 'debug' | 'info' | 'warning' | 'error';

/**
 * One authenticator line as logrus `TextFormatter{FullTimestamp:true}` writes it without a TTY:
 * time, level, msg first, then the data keys sorted in byte order. Undefined fields are omitted;
 * empty strings are kept (`session=`).
 */
export const logrusLine = (
  timeUs: number,
  level: LogrusLevel,
  msg: string,
  fields: Record<string, string | readonly string[] | undefined>,
): string => {
  const parts = [`time=${logrusValue(isoSeconds(timeUs))}`, `level=${level}`, `msg=${logrusValue(msg)}`];
  const keys = Object.keys(fields)
    .filter((k) => fields[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) parts.push(`${k}=${logrusValue(fields[k] as string | string[])}`);
  return parts.join(' ');
};

// -----------------------------------------------------------------------------------------------
// Go encoding/json
// -----------------------------------------------------------------------------------------------

/**
 * Go's encoding/json escapes `<`, `>`, `&` and U+2028/U+2029 inside strings (requestURI shows
 * `\u0026`); those characters can only occur inside JSON strings, so a textual pass is exact.
 */
export const goJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Go marshals maps with sorted keys. */
export const sortedRecord = <T>(record: Record<string, T>): Record<string, T> => {
  const out: Record<string, T> = {};
  for (const k of Object.keys(record).sort()) out[k] = record[k] as T;
  return out;
};
