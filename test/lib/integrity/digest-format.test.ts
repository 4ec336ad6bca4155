import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DigestLink,
  decodeLinkBody,
  decodeManifest,
  encodeLinkBody,
  encodeManifest,
  type Manifest,
} from '../../../lib/integrity/digest-format.js';

/** The stored digest records (docs/tamper-evidence.md, "Digests"): manifests and chain links, both parsed by total decoders. */

const manifest: Manifest = {
  scope: 'C#111122223333#prod',
  bucket: '2025-06-02T08',
  signedAt: '2025-06-02T09:20:00.000000Z',
  entries: [
    { pk: 'S#111122223333#prod', sk: '2025-06-02T08:05#abc#n', h: 'h2', x: 1783411800 },
    { pk: 'N#111122223333#prod', sk: '2025-06-02T08:00#abc', h: 'h1', x: 1757000000 },
    {
      pk: 'MC#C#111122223333#prod',
      sk: 'principal-id-observed#k#AROA1',
      h: 'h3',
      o: '2025-06-02T08:00:00.000000Z#e',
      r: 'earlier-observation',
    },
  ],
};

const link: DigestLink = {
  scope: 'C#111122223333#prod',
  signedAt: '2025-06-02T09:20:00.000000Z',
  prev: { signedAt: '2025-06-02T08:20:00.000000Z', sha256: 'abc' },
  manifests: [
    { bucket: 'history', entries: 1, sha256: 'm2' },
    { bucket: '2025-06-02T08', entries: 3, sha256: 'm1' },
  ],
  cutoff: '2025-06-02T09:05:00.000000Z',
  keyId: 'arn:aws:kms:eu-west-1:111122223333:key/k',
  algorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
};

describe('manifests', () => {
  it('round-trip, entries sorted by key whatever order they were given in', () => {
    const text = encodeManifest(manifest);
    const back = decodeManifest(text);
    expect(back.ok && back.value.entries.map((e) => e.pk)).toEqual([
      'MC#C#111122223333#prod',
      'N#111122223333#prod',
      'S#111122223333#prod',
    ]);
    expect(back.ok && back.value.entries.find((e) => e.pk.startsWith('MC'))).toEqual(manifest.entries[2]);
    expect(encodeManifest({ ...manifest, entries: [...manifest.entries].reverse() })).toBe(text);
  });

  it.each([
    ['a header that is not JSON', 'not json'],
    ['a header of another version', '{"v":2,"scope":"s","bucket":"b","signedAt":"t","n":0}'],
    [
      'an entry count that does not match',
      '{"v":1,"scope":"s","bucket":"b","signedAt":"t","n":2}\n["p","s","h",null,null,null]',
    ],
    ['an entry that is not JSON', '{"v":1,"scope":"s","bucket":"b","signedAt":"t","n":1}\n[oops'],
    ['an entry of the wrong shape', '{"v":1,"scope":"s","bucket":"b","signedAt":"t","n":1}\n{"pk":"p"}'],
    ['an entry without its hash', '{"v":1,"scope":"s","bucket":"b","signedAt":"t","n":1}\n["p","s","",null,null,null]'],
    [
      'an expiry that is not a whole number',
      '{"v":1,"scope":"s","bucket":"b","signedAt":"t","n":1}\n["p","s","h","soon",null,null]',
    ],
    [
      'an unknown replacement reason',
      '{"v":1,"scope":"s","bucket":"b","signedAt":"t","n":1}\n["p","s","h",null,null,"because"]',
    ],
  ])('refuse %s with DIGEST_MALFORMED', (_kind, text) => {
    const r = decodeManifest(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0].code).toBe('DIGEST_MALFORMED');
      expect(r.raw).toBe(text);
    }
  });

  it('never throw, whatever the text (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.array(fc.json()).map((a) => a.join('\n')),
        ),
        (text) => {
          expect(() => decodeManifest(text)).not.toThrow();
        },
      ),
    );
  });
});

describe('links', () => {
  it('encode to canonical JSON (the signed bytes), manifests sorted by bucket, and decode back', () => {
    const body = encodeLinkBody(link);
    expect(body).toBe(encodeLinkBody({ ...link, manifests: [...link.manifests].reverse() }));
    const back = decodeLinkBody(body);
    expect(back.ok && back.value).toEqual({
      ...link,
      manifests: [...link.manifests].sort((a, b) => (a.bucket < b.bucket ? -1 : 1)),
    });
    const first = decodeLinkBody(encodeLinkBody({ ...link, prev: null }));
    expect(first.ok && first.value.prev).toBeNull();
  });

  it.each([
    ['not JSON', 'nope'],
    ['another version', JSON.stringify({ ...link, v: 9 })],
    ['no scope', JSON.stringify({ ...JSON.parse(encodeLinkBody(link)), scope: '' })],
    ['an unknown algorithm', JSON.stringify({ ...JSON.parse(encodeLinkBody(link)), algorithm: 'HMAC_SHA_256' })],
    ['a malformed prev', JSON.stringify({ ...JSON.parse(encodeLinkBody(link)), prev: { signedAt: 'x' } })],
    ['no prev at all', JSON.stringify({ ...JSON.parse(encodeLinkBody(link)), prev: undefined })],
    ['manifests that are not a list', JSON.stringify({ ...JSON.parse(encodeLinkBody(link)), manifests: {} })],
    [
      'a malformed manifest reference',
      JSON.stringify({ ...JSON.parse(encodeLinkBody(link)), manifests: [{ bucket: 'b' }] }),
    ],
  ])('refuse %s with DIGEST_MALFORMED', (_kind, body) => {
    const r = decodeLinkBody(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0].code).toBe('DIGEST_MALFORMED');
  });

  it('never throw, whatever the text (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ v: 1, ...(typeof v === 'object' && v !== null ? v : { x: v }) })),
        ),
        (text) => {
          expect(() => decodeLinkBody(text)).not.toThrow();
        },
      ),
    );
  });
});
