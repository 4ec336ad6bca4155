import { describe, expect, it } from 'vitest';
import { compareBucket, foldManifests, replacementReason } from '../../../lib/integrity/compare.js';
import type { Manifest } from '../../../lib/integrity/digest-format.js';
import { epochMsOf } from '../../../lib/store/keys.js';

/** What the signed manifests of a bucket say against what is stored (signer and verifier both). */

const S = 'S#1#prod';
const v1: Manifest = {
  scope: 'C#1#prod',
  bucket: '2025-06-02T08',
  signedAt: '2025-06-02T09:20:00.000000Z',
  entries: [
    { pk: S, sk: 'a', h: 'ha', x: 2_000_000_000 },
    { pk: S, sk: 'b', h: 'hb', x: 1_000 },
    { pk: S, sk: 'c', h: 'hc' },
  ],
};
const v2: Manifest = {
  ...v1,
  signedAt: '2025-06-02T10:20:00.000000Z',
  entries: [{ pk: S, sk: 'c', h: 'hc2', r: 'retry' }],
};
const NOW = Date.parse('2025-06-03T00:00:00Z');

describe('foldManifests and compareBucket', () => {
  it('takes the later version of a key, and sorts each item into one kind', () => {
    const signed = foldManifests([v2, v1]);
    expect(signed.get(`${S}\u0000c`)).toMatchObject({ h: 'hc2', signedAt: v2.signedAt, r: 'retry' });
    const d = compareBucket(
      signed,
      [
        { pk: S, sk: 'a', h: 'ha-changed' },
        { pk: S, sk: 'c', h: 'hc2' },
        { pk: S, sk: 'd', h: 'hd' },
      ],
      NOW,
    );
    expect(d.altered.map((a) => a.now.sk)).toEqual(['a']);
    expect(d.added.map((a) => a.sk)).toEqual(['d']);
    expect(d.expired.map((e) => e.sk)).toEqual(['b']);
    expect(d.missing).toEqual([]);
    expect(d.matching).toBe(1);
  });

  it('calls a signed item gone before its expiry missing', () => {
    const d = compareBucket(foldManifests([v1]), [], NOW);
    expect(d.missing.map((m) => m.sk).sort()).toEqual(['a', 'c']);
    expect(d.expired.map((m) => m.sk)).toEqual(['b']);
  });
});

describe('replacementReason', () => {
  const signedAt = '2025-06-02T09:20:00.000000Z';
  const at = (pk: string, sk: string, o?: string, no?: string) => ({
    signed: { pk, sk, h: 'old', signedAt, ...(o ? { o } : {}) },
    now: { pk, sk, h: 'new', ...(no ? { o: no } : {}) },
  });
  const H = 3_600_000;
  it.each([
    [
      'an earlier principal-id sighting',
      at('MC#C#1#p', 'principal-id-observed#k#id', '2025-06-02T08', '2025-06-01T08'),
      0,
      'earlier-observation',
    ],
    [
      'a later principal-id sighting',
      at('MC#C#1#p', 'principal-id-observed#k#id', '2025-06-02T08', '2025-06-03T08'),
      0,
      undefined,
    ],
    ['any other mapping change', at('MC#C#1#p', 'access-entry-created#e#arn', 'a', '0'), 0, undefined],
    ['a part rewritten within the retry window', at(S, 'x#n'), 5 * H, 'retry'],
    ['a part rewritten after it', at(S, 'x#n'), 7 * H, undefined],
    ['an authenticator part within the window', at('N#1#prod', 'x'), H, 'retry'],
    ['an issuance', at('CRED#A', 'CRED'), 0, undefined],
    ['a human posting', at('IH#alice', 'x'), 0, undefined],
  ])('%s', (_what, altered, after, expected) => {
    expect(replacementReason(altered, epochMsOf(signedAt) + after, 6 * H, epochMsOf)).toBe(expected);
  });
});
