import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toTrailStoreError } from '../../../lib/store/errors.js';
import { decodeCursor, encodeCursor } from '../../../lib/store/fan-out.js';
import { canonicalJson, itemSize, truncateUtf8, writeUnits } from '../../../lib/store/item-codec.js';
import { TrailStoreError } from '../../../lib/store/trail-store.js';

describe('canonicalJson', () => {
  it('gives the same bytes whatever order properties were assigned in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(JSON.parse(canonicalJson(obj))).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
    );
  });

  it('drops undefined members and turns Maps into objects', () => {
    expect(canonicalJson({ b: 1, a: undefined, m: new Map([['k', 1]]) })).toBe('{"b":1,"m":{"k":1}}');
  });
});

describe('sizes', () => {
  it('counts attribute names and UTF-8 value bytes', () => {
    expect(itemSize({ pk: 'ab', data: 'é' })).toBe(2 + 2 + 4 + 2);
    expect(writeUnits({ pk: 'x', data: 'y'.repeat(1024) })).toBe(2);
    expect(writeUnits({ pk: 'x' })).toBe(1);
  });

  it('truncates on a character boundary and never exceeds the budget', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.nat(200), (s, max) => {
        const cut = truncateUtf8(s, max);
        expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(Math.max(max, 0));
        expect(s.startsWith(cut)).toBe(true);
      }),
    );
  });
});

describe('total functions', () => {
  it('toTrailStoreError maps anything thrown without throwing', () => {
    fc.assert(
      fc.property(fc.anything(), (thrown) => {
        expect(toTrailStoreError(thrown, 'op')).toBeInstanceOf(TrailStoreError);
      }),
    );
  });

  it('decodeCursor accepts its own output and rejects anything else with VALIDATION only', () => {
    const check = (v: unknown): v is { v: 1 } => typeof v === 'object' && v !== null && (v as { v?: unknown }).v === 1;
    expect(decodeCursor(encodeCursor({ v: 1 }), check)).toEqual({ v: 1 });
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          decodeCursor(s, check);
        } catch (err) {
          expect(err).toMatchObject({ code: 'VALIDATION' });
        }
      }),
    );
  });
});

describe('regressions found by the property tests', () => {
  it('keeps a __proto__ key as data in canonical JSON', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":[],"a":1}'))).toBe('{"__proto__":[],"a":1}');
  });

  it.each([
    ['an object whose toString is not a function', { toString: '' }],
    ['an object with a numeric name and message', { name: 7, message: 8 }],
    ['a null-prototype object', Object.create(null)],
  ])('maps %s to a TrailStoreError without throwing', (_kind, thrown) => {
    const mapped = toTrailStoreError(thrown, 'PutItem');
    expect(mapped.code).toBe('UNKNOWN');
    expect(mapped.message.startsWith('PutItem: ')).toBe(true);
  });
});
