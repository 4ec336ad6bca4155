import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseTimestamp, splitCloudWatchPrefix, timestampMs } from '../../../lib/sources/timestamps.js';

describe('normaliseTimestamp', () => {
  it.each([
    ['RFC 3339 with microseconds kept verbatim (audit)', '2024-08-24T14:27:07.461683Z', '2024-08-24T14:27:07.461683Z'],
    ['RFC 3339 seconds (CloudTrail)', '2018-05-28T19:16:43Z', '2018-05-28T19:16:43Z'],
    ['a local offset (self-run authenticator)', '2020-02-20T22:04:31-08:00', '2020-02-20T22:04:31-08:00'],
    ['Panther space form, 2 fraction digits', '2022-11-29 00:09:04.38', '2022-11-29T00:09:04.38Z'],
    ['Panther space form, nanoseconds', '2024-11-13 18:34:10.595141000', '2024-11-13T18:34:10.595141000Z'],
    ['epoch seconds with fraction (CloudTrail createdAt)', 1527535003.208, '2018-05-28T19:16:43.208Z'],
    ['epoch milliseconds (CloudWatch)', 1729520895158, '2024-10-21T14:28:15.158Z'],
    ['epoch seconds as text', '1527535003', '2018-05-28T19:16:43.000Z'],
  ])('reads %s', (_name, input, expected) => {
    expect(normaliseTimestamp(input)).toBe(expected);
  });

  it.each([
    ['free text', 'yesterday'],
    ['a date without time', '2024-01-01'],
    ['an impossible month', '2024-13-01T00:00:00Z'],
    ['an infinite number', Number.POSITIVE_INFINITY],
    ['an object', { t: 1 }],
    ['null', null],
  ])('refuses %s rather than guessing', (_name, input) => {
    expect(normaliseTimestamp(input)).toBeUndefined();
  });

  it('gives epoch milliseconds', () => {
    expect(timestampMs('2022-11-29 00:09:04.38')).toBe(Date.UTC(2022, 10, 29, 0, 9, 4, 380));
    expect(timestampMs('nope')).toBeUndefined();
  });
});

describe('splitCloudWatchPrefix', () => {
  it.each([
    ['console export', '2023-03-23T15:00:41.719Z time="x"', Date.UTC(2023, 2, 23, 15, 0, 41, 719), 'time="x"'],
    ['aws logs tail', '2023-05-20T04:14:53.798000+00:00 {"a":1}', Date.UTC(2023, 4, 20, 4, 14, 53, 798), '{"a":1}'],
    ['compact offset', '2023-05-20T06:14:53+0200 m', Date.UTC(2023, 4, 20, 4, 14, 53), 'm'],
  ])('strips the %s prefix and reads its time', (_name, line, ms, rest) => {
    expect(splitCloudWatchPrefix(line)).toEqual({ prefixMs: ms, rest });
  });

  it('leaves lines without a prefix alone (a logrus time= is part of the message)', () => {
    expect(splitCloudWatchPrefix('time="2023-03-23T15:00:41Z" level=info')).toEqual({
      rest: 'time="2023-03-23T15:00:41Z" level=info',
    });
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.double(), fc.jsonValue()), (v) => {
        const r = normaliseTimestamp(v);
        if (r !== undefined) expect(Number.isNaN(Date.parse(r))).toBe(false);
        if (typeof v === 'string') expect(typeof splitCloudWatchPrefix(v).rest).toBe('string');
      }),
    );
  });
});
