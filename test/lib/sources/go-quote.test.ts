import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteGo, readGoQuoted, unquoteGo } from '../../../lib/sources/go-quote.js';

describe('unquoteGo', () => {
  it.each([
    ['plain text', '"system:masters"', 'system:masters'],
    ['escaped quote and backslash', '"a \\"b\\" c\\\\d"', 'a "b" c\\d'],
    ['C escapes', '"\\a\\b\\f\\n\\r\\t\\v"', '\x07\b\f\n\r\t\v'],
    ['\\x byte that is ASCII', '"\\x41"', 'A'],
    ['\\x bytes forming UTF-8 together', '"\\xc3\\xa9"', 'é'],
    ['octal bytes', '"\\303\\251\\101"', 'éA'],
    ['\\u escape', '"\\u00e9\\u2028"', 'é\u2028'],
    ['\\U escape beyond the BMP', '"\\U0001F600"', '😀'],
    ['literal non-ASCII text', '"naïve ✓"', 'naïve ✓'],
    ['empty string', '""', ''],
    ['raw (backquoted) literal drops CR', '`a\\nb\r`', 'a\\nb'],
  ])('unquotes %s', (_name, input, expected) => {
    expect(unquoteGo(input)).toBe(expected);
  });

  it('replaces an invalid UTF-8 byte sequence with U+FFFD, as a Go string printed as UTF-8 would show', () => {
    expect(unquoteGo('"a\\xffb"')).toBe('a\uFFFDb');
  });

  it.each([
    ['no quotes', 'abc'],
    ['unterminated', '"abc'],
    ['text after the closing quote', '"abc"d'],
    ['dangling backslash', '"abc\\'],
    ["\\' (legal only in rune literals)", '"it\\\'s"'],
    ['unknown escape', '"\\q"'],
    ['short \\x', '"\\x4"'],
    ['non-hex \\u', '"\\u00zz"'],
    ['surrogate \\u', '"\\ud800"'],
    ['\\U beyond Unicode', '"\\U00110000"'],
    ['octal above 0377', '"\\400"'],
    ['short octal', '"\\12"'],
    ['raw newline inside an interpreted literal', '"a\nb"'],
    ['raw literal containing a backquote', '`a`b`'],
    ['single character', '"'],
  ])('rejects %s', (_name, input) => {
    expect(unquoteGo(input)).toBeUndefined();
  });
});

describe('readGoQuoted', () => {
  it('reads one literal at an offset and reports where it ends', () => {
    const s = 'to User "eks:addon-manager" rest';
    const r = readGoQuoted(s, s.indexOf('"'));
    expect(r).toEqual({ value: 'eks:addon-manager', end: s.indexOf(' rest') });
  });

  it('reads a reason subject whose name holds an escaped quote', () => {
    const s = 'Group "we\\"ird" tail';
    expect(readGoQuoted(s, 6)).toEqual({ value: 'we"ird', end: 15 });
  });

  it.each([
    ['start is not a quote', 'abc', 0],
    ['start beyond the input', '"a"', 5],
    ['negative start', '"a"', -1],
    ['fractional start', '"a"', 0.5],
  ])('returns undefined when %s', (_name, input, start) => {
    expect(readGoQuoted(input, start)).toBeUndefined();
  });
});

describe('quoteGo', () => {
  it('writes what strconv.Quote writes for the characters logrus values contain', () => {
    expect(quoteGo('sts getCallerIdentity failed: {"Error":1}\n')).toBe(
      '"sts getCallerIdentity failed: {\\"Error\\":1}\\n"',
    );
    expect(quoteGo('\x01\x7f')).toBe('"\\x01\\x7f"');
  });
});

describe('properties', () => {
  it('unquoteGo(quoteGo(s)) === s for any well-formed string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(unquoteGo(quoteGo(s))).toBe(s);
      }),
    );
  });

  it('never throws on arbitrary text and offsets', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: -5, max: 50 }), (s, start) => {
        unquoteGo(s);
        unquoteGo(`"${s}"`);
        const r = readGoQuoted(`"${s}`, start);
        if (r !== undefined) expect(r.end).toBeGreaterThan(start);
      }),
    );
  });
});
