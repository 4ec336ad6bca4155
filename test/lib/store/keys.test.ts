import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketsBetween, shardOf, sortableFromEpochMs, sortableTime, stableHash } from '../../../lib/store/keys.js';

describe('sortableTime', () => {
  it.each([
    ['audit µs', '2024-08-24T14:27:07.461683Z', '2024-08-24T14:27:07.461683Z'],
    ['CloudWatch ms', '2024-08-24T14:27:07.461Z', '2024-08-24T14:27:07.461000Z'],
    ['CloudTrail seconds', '2024-08-24T14:27:07Z', '2024-08-24T14:27:07.000000Z'],
    ['local offset', '2024-08-24T16:27:07+02:00', '2024-08-24T14:27:07.000000Z'],
    ['nanoseconds', '2024-11-13T23:50:32.672347000Z', '2024-11-13T23:50:32.672347Z'],
    ['panther space form without zone', '2022-11-29 00:09:04.38', '2022-11-29T00:09:04.380000Z'],
  ])('%s', (_label, input, expected) => {
    expect(sortableTime(input)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['words', 'yesterday'],
    ['month 13', '2024-13-01T00:00:00Z'],
    ['epoch', '1724509627'],
  ])('rejects %s', (_label, input) => {
    expect(sortableTime(input)).toBeUndefined();
  });

  it('pads an upper bound to the end of its precision', () => {
    expect(sortableTime('2024-08-24T23:59:59Z', 'end')).toBe('2024-08-24T23:59:59.999999Z');
    expect(sortableTime('2024-08-24T23:59:59.999Z', 'end')).toBe('2024-08-24T23:59:59.999999Z');
  });

  it('orders as time for any two instants at ms precision, whatever the input precision', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (a, b) => {
          const sa = sortableTime(new Date(a).toISOString())!;
          const sb = sortableFromEpochMs(b);
          expect(Math.sign(sa.localeCompare(sb))).toBe(Math.sign(a - b));
        },
      ),
    );
  });

  it('never throws on any text', () => {
    fc.assert(fc.property(fc.string(), (s) => void sortableTime(s)));
  });
});

describe('buckets and shards', () => {
  it('lists hour buckets inclusively across a day boundary', () => {
    expect(bucketsBetween('2024-08-24T22:30:00.000000Z', '2024-08-25T01:00:00.000000Z', 'hour')).toEqual([
      '2024-08-24T22',
      '2024-08-24T23',
      '2024-08-25T00',
      '2024-08-25T01',
    ]);
    expect(bucketsBetween('2024-02-28T10:00:00.000000Z', '2024-03-01T00:00:00.000000Z', 'day')).toEqual([
      '2024-02-28',
      '2024-02-29',
      '2024-03-01',
    ]);
  });

  it('keeps shard numbers stable across releases (they are stored in keys)', () => {
    expect(stableHash('CH#111122223333#prod#fb5dba68-6262-4718-b45e-d293b03e434d')).toBe(
      stableHash('CH#111122223333#prod#fb5dba68-6262-4718-b45e-d293b03e434d'),
    );
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
  });

  it('spreads natural keys over every shard', () => {
    const used = new Set(Array.from({ length: 2000 }, (_, i) => shardOf(`CH#1#prod#audit-${i}`, 16)));
    expect(used.size).toBe(16);
  });
});
