import { describe, expect, it } from 'vitest';
import { bucketEndMs, classOfKey, coverageOf } from '../../../lib/integrity/coverage.js';

/** Which items the digests cover, in which scope and bucket (docs/tamper-evidence.md, "What a digest covers"). */

describe('coverageOf', () => {
  it.each([
    [
      'a segment part',
      { pk: 'S#111122223333#prod', sk: '2025-06-02T08:05#abc#n.1' },
      { scope: 'C#111122223333#prod', bucket: '2025-06-02T08', cls: 'segment', external: false },
    ],
    [
      'an authenticator part',
      { pk: 'N#_#prod', sk: '2025-06-02T23:55#abc' },
      { scope: 'C#_#prod', bucket: '2025-06-02T23', cls: 'authenticator', external: false },
    ],
    [
      'a mapping change',
      { pk: 'MC#C#111122223333#prod', sk: 'access-entry-created#e1#arn' },
      { scope: 'C#111122223333#prod', bucket: 'history', cls: 'mapping', external: false },
    ],
    [
      'an issuance',
      { pk: 'CRED#ASIA1', sk: 'CRED', at: '2025-06-02T07:59:59.000000Z' },
      { scope: 'CRED', bucket: '2025-06-02T07', cls: 'credential', external: true },
    ],
    [
      'a human posting',
      { pk: 'IH#alice', sk: '2025-06-02T08:05#C#111122223333#prod#abc#ASIA1', cl: 'C#111122223333#prod' },
      { scope: 'C#111122223333#prod', bucket: '2025-06-02T08', cls: 'human-posting', external: true },
    ],
  ])('covers %s', (_what, item, expected) => {
    expect(coverageOf(item)).toEqual(expected);
    expect(classOfKey(item.pk)).toBe(expected.cls);
  });

  it.each([
    ['a principal posting', { pk: 'IP#arn:aws:iam::1:role/x', sk: '2025-06-02T08:05#C#1#prod#abc', cl: 'C#1#prod' }],
    ['a notable pointer', { pk: 'R#C#1#prod#audit', sk: '2025-06-02T08:05#abc' }],
    ['the registry', { pk: 'CL#1#prod', sk: 'CLUSTER' }],
    ['quarantine', { pk: 'Q#replay-file#f:1', sk: 'Q' }],
    ['an alert', { pk: 'ALERT#a1', sk: 'ALERT' }],
    ['a digest', { pk: 'DG#C#1#prod', sk: 'L#2025' }],
    ['a pending mark', { pk: 'DP#C#1#prod', sk: '2025-06-02T08' }],
    ['an issuance without its time', { pk: 'CRED#ASIA1', sk: 'CRED' }],
    ['a human posting without its cluster', { pk: 'IH#alice', sk: '2025-06-02T08:05#x' }],
  ])('leaves out %s', (_what, item) => {
    expect(coverageOf(item)).toBeUndefined();
  });

  it('closes an hour bucket at the next hour; the history is never waited for', () => {
    expect(bucketEndMs('2025-06-02T08')).toBe(Date.parse('2025-06-02T09:00:00Z'));
    expect(bucketEndMs('history')).toBe(Number.NEGATIVE_INFINITY);
  });
});
