import { describe, expect, it } from 'vitest';
import { canonicalItemText, itemHash } from '../../../lib/integrity/item-hash.js';

/** The content hash a digest lists per item (docs/tamper-evidence.md, "What a digest covers"). */

const part = {
  pk: 'S#111122223333#prod',
  sk: '2025-06-02T08:05#abc#n',
  z: new Uint8Array([1, 2, 3]),
  nc: 1,
  nr: 4,
  expiresAt: 1783411800,
};

describe('itemHash', () => {
  it('does not depend on attribute order, nor on the order DynamoDB hands back a set', () => {
    const reordered = { expiresAt: 1783411800, nr: 4, nc: 1, z: new Uint8Array([1, 2, 3]), sk: part.sk, pk: part.pk };
    expect(itemHash(reordered)).toBe(itemHash(part));
    expect(itemHash({ ...part, ns: new Set(['b', 'a']) })).toBe(itemHash({ ...part, ns: new Set(['a', 'b']) }));
  });

  it.each([
    ['a byte of the payload', { z: new Uint8Array([1, 2, 4]) }],
    ['the TTL (how long the evidence is kept)', { expiresAt: 1783411801 }],
    ['the row count', { nr: 5 }],
    ['an added attribute', { extra: 'x' }],
    ['the sort key', { sk: '2025-06-02T08:05#abd#n' }],
  ])('changes with %s', (_what, change) => {
    expect(itemHash({ ...part, ...change })).not.toBe(itemHash(part));
  });

  it.each([
    ['binary and a string of the same bytes', { v: new Uint8Array(Buffer.from('abc')) }, { v: 'abc' }],
    ['a number and its digits as a string', { v: 12 }, { v: '12' }],
    ['a string set and a list of the same strings', { v: new Set(['a']) }, { v: ['a'] }],
    ['a map and a list of pairs', { v: { a: 1 } }, { v: [['a', 1]] }],
    ['null and the string "null"', { v: null }, { v: 'null' }],
  ])('tells apart %s', (_what, a, b) => {
    expect(itemHash(a)).not.toBe(itemHash(b));
  });

  it('is SHA-256, base64url, full length', () => {
    expect(itemHash(part)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(canonicalItemText({ b: 1, a: 'x' })).toBe('[["a",["S","x"]],["b",["N","1"]]]');
  });
});
