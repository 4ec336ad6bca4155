import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitJsonValues, tryParseJson } from '../../../lib/sources/json-stream.js';

describe('splitJsonValues', () => {
  it('splits {…}{…} with no delimiter, JSON lines and appended pretty documents', () => {
    const text = '{"a":"}{"}{"b":[1,{"c":"\\"]"}]}\n[2]\n{\n  "d": 3\n}\n';
    const r = splitJsonValues(text);
    expect(r.ok).toBe(true);
    expect(r.chunks.map((c) => JSON.parse(c.text))).toEqual([{ a: '}{' }, { b: [1, { c: '"]' }] }, [2], { d: 3 }]);
    expect(r.chunks.map((c) => c.start)).toEqual([0, text.indexOf('{"b"'), text.indexOf('[2]'), text.indexOf('{\n')]);
  });

  it.each([
    ['a scalar between documents', '{"a":1} 42', 'expected "{" or "[" at top level', 8],
    ['an unterminated document', '{"a":1}{"b":', 'unterminated JSON value', 7],
    ['an unterminated string', '{"a":"x', 'unterminated JSON value', 0],
  ])('reports %s with its offset, keeping the chunks before it', (_name, text, reason, at) => {
    const r = splitJsonValues(text);
    expect(r).toMatchObject({ ok: false, reason, at });
  });

  it('recovers every document of any concatenation of JSON values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.jsonValue())), { maxLength: 6 }),
        fc.boolean(),
        (docs, pretty) => {
          const text = docs.map((d) => JSON.stringify(d, null, pretty ? 2 : undefined)).join(pretty ? '\n' : '');
          const r = splitJsonValues(text);
          expect(r.ok).toBe(true);
          expect(r.chunks.map((c) => JSON.parse(c.text))).toEqual(docs);
        },
      ),
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(typeof splitJsonValues(s).ok).toBe('boolean');
        expect(typeof tryParseJson(s).ok).toBe('boolean');
      }),
    );
  });
});
