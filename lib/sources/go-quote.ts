/**
 * Go string-literal unquoting, as `strconv.Unquote` does it for the `%q` / `strconv.Quote` output that
 * logrus (authenticator lines, docs/formats.md §1.1) and the Kubernetes authorizers (reasons, 403 messages,
 * docs/formats.md §2.3 and §5.7) write.
 *
 * `\xNN` and octal `\NNN` escapes are single BYTES: Go quotes bytes of invalid UTF-8 that way, so
 * consecutive byte escapes are collected and decoded as UTF-8 together (invalid sequences become
 * U+FFFD, which is what a Go string printed to a UTF-8 sink would show too).
 */

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

const readHex = (input: string, from: number, len: number): number | undefined => {
  if (from + len > input.length) return undefined;
  for (let k = from; k < from + len; k++) if (!isHex(input.charCodeAt(k))) return undefined;
  return Number.parseInt(input.slice(from, from + len), 16);
};

/**
 * Read one Go double-quoted string literal whose opening `"` is at `start`.
 * Returns the value and `end`, the index just past the closing quote; undefined when `start` is not
 * a `"`, the literal is unterminated, contains a raw newline, or has an escape Go would reject
 * (`\'` is only legal in rune literals; `\u` must not be a surrogate; octal must be <= 0377).
 */
export const readGoQuoted = (input: string, start: number): { value: string; end: number } | undefined => {
  if (typeof input !== 'string' || !Number.isInteger(start) || start < 0 || input[start] !== '"') return undefined;
  // Most values hold no escape at all: find the closing quote and slice, without the decoder below.
  for (let k = start + 1; k < input.length; k++) {
    const c = input.charCodeAt(k);
    if (c === 0x22 /* " */) return { value: input.slice(start + 1, k), end: k + 1 };
    if (c === 0x5c /* \ */ || c === 0x0a /* \n */) break;
  }
  const out: string[] = [];
  let bytes: number[] = [];
  const flushBytes = (): void => {
    if (bytes.length > 0) {
      out.push(Buffer.from(bytes).toString('utf8'));
      bytes = [];
    }
  };
  let i = start + 1;
  let runStart = i;
  while (i < input.length) {
    const c = input.charCodeAt(i);
    if (c !== 0x22 /* " */ && c !== 0x5c /* \ */ && c !== 0x0a /* \n */) {
      i++;
      continue;
    }
    if (i > runStart) {
      flushBytes();
      out.push(input.slice(runStart, i));
    }
    if (c === 0x0a) return undefined;
    if (c === 0x22) {
      flushBytes();
      return { value: out.join(''), end: i + 1 };
    }
    const e = input[i + 1];
    if (e === undefined) return undefined;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      flushBytes();
      out.push(simple);
      i += 2;
    } else if (e === 'x') {
      const n = readHex(input, i + 2, 2);
      if (n === undefined) return undefined;
      bytes.push(n);
      i += 4;
    } else if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8;
      const cp = readHex(input, i + 2, len);
      if (cp === undefined || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
      flushBytes();
      out.push(String.fromCodePoint(cp));
      i += 2 + len;
    } else if (e >= '0' && e <= '7') {
      const digits = input.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(digits)) return undefined;
      const n = Number.parseInt(digits, 8);
      if (n > 0xff) return undefined;
      bytes.push(n);
      i += 4;
    } else {
      return undefined;
    }
    runStart = i;
  }
  return undefined;
};

/**
 * Unquote a whole Go string literal: `"…"` (interpreted) or `` `…` `` (raw; Go drops carriage returns
 * from raw literals). Undefined when `s` is not exactly one valid literal.
 */
export const unquoteGo = (s: string): string | undefined => {
  if (typeof s !== 'string' || s.length < 2) return undefined;
  if (s[0] === '`') {
    if (s[s.length - 1] !== '`') return undefined;
    const body = s.slice(1, -1);
    if (body.includes('`')) return undefined;
    return body.replaceAll('\r', '');
  }
  const r = readGoQuoted(s, 0);
  return r !== undefined && r.end === s.length ? r.value : undefined;
};

/**
 * The inverse for printable text, as Go's `strconv.Quote` writes it (used by tests and to rebuild
 * reason strings for display). Non-printable code points use the shortest Go escape.
 */
export const quoteGo = (s: string): string => {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
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
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (/\p{C}/u.test(ch) && cp > 0x7f)
      out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
};
