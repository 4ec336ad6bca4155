import { randomBytes } from 'node:crypto';
import { brotliCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_BYTES,
  compareRowKeys,
  DecodedPart,
  decodeRefs,
  encodePart,
  encodeRefs,
  type PartRef,
  type PartRows,
  partDigest,
  type RowKey,
} from '../../../lib/store/dynamodb/segment-codec.js';
import { TrailStoreError } from '../../../lib/store/trail-store.js';

/**
 * The bytes of a segment part (docs/data-model.md, "Segments"): rows as JSON lines behind a header of
 * row keys, Brotli, cut into chunk items of 380 KB; and the compact row references postings carry.
 */

const key = (time: string, id: string, rank = 4, kind: RowKey[3] = 'a'): RowKey => [time, id, rank, kind];

const part = (rows: { key: RowKey; value: unknown }[]): PartRows => ({
  keys: rows.map((r) => r.key),
  rows: rows.map((r) => JSON.stringify(r.value)),
});

const decode = (chunks: readonly Uint8Array[]) => new DecodedPart(chunks, 'test part');

const rowsOf = (decoded: DecodedPart) => Array.from({ length: decoded.size }, (_, i) => decoded.row<unknown>(i));

describe('encodePart / DecodedPart', () => {
  it('round-trips keys and rows, in row order', () => {
    const input = part([
      { key: key('2024-08-24T14:27:07.461683Z', 'a1', 2), value: { stage: 'ResponseStarted', n: 1 } },
      { key: key('2024-08-24T14:27:07.461683Z', 'a1', 4), value: { stage: 'ResponseComplete', n: 2 } },
      { key: key('2024-08-24T14:28:00.000000Z', 'evt-9', 0, 'd'), value: { line: 'access denied' } },
    ]);
    const chunks = encodePart(input);
    expect(chunks).toHaveLength(1);
    const decoded = decode(chunks);
    expect(decoded.keys).toEqual(input.keys);
    expect(rowsOf(decoded)).toEqual(input.rows.map((r) => JSON.parse(r)));
  });

  it('keeps text that JSON escapes (newlines, separators, non-BMP characters) inside its row', () => {
    const value = { msg: 'line one\nline two\u2028\u2029 #|,; 🙂 \u0000' };
    const decoded = decode(encodePart(part([{ key: key('2024-08-24T14:27:07.000000Z', 'x'), value }])));
    expect(decoded.size).toBe(1);
    expect(decoded.row(0)).toEqual(value);
  });

  it('round-trips an empty part', () => {
    const decoded = decode(encodePart({ keys: [], rows: [] }));
    expect(decoded.size).toBe(0);
    expect(decoded.keys).toEqual([]);
  });

  it('gives the same bytes for the same rows, every time (a redelivery rewrites identical items)', () => {
    const input = part(
      Array.from({ length: 50 }, (_, i) => ({
        key: key(`2024-08-24T14:27:${String(i).padStart(2, '0')}Z`, `r${i}`),
        value: { i },
      })),
    );
    const a = encodePart(input);
    const b = encodePart(structuredClone(input));
    expect(b.map((c) => Buffer.from(c).toString('base64'))).toEqual(a.map((c) => Buffer.from(c).toString('base64')));
  });

  it('round-trips any rows (property)', () => {
    const keyArb = fc.tuple(
      fc.string(),
      fc.string(),
      fc.integer({ min: 0, max: 4 }),
      fc.constantFrom<RowKey[3]>('a', 'd', 'l'),
    ) as fc.Arbitrary<RowKey>;
    fc.assert(
      fc.property(fc.array(fc.record({ key: keyArb, value: fc.jsonValue() }), { maxLength: 20 }), (rows) => {
        const input = part(rows);
        const decoded = decode(encodePart(input));
        expect(decoded.keys).toEqual(input.keys);
        expect(rowsOf(decoded)).toEqual(input.rows.map((r) => JSON.parse(r)));
      }),
    );
  });

  it('cuts a part over 380 KB into chunks of at most 380 KB that read back whole', () => {
    // Random text does not compress: one row of ~1 MB needs three chunk items.
    const blob = randomBytes(768 * 1024).toString('base64');
    const input = part([
      { key: key('2024-08-24T14:27:07.000000Z', 'small-1'), value: { n: 1 } },
      { key: key('2024-08-24T14:27:08.000000Z', 'huge'), value: { blob } },
      { key: key('2024-08-24T14:27:09.000000Z', 'small-2'), value: { n: 2 } },
    ]);
    const chunks = encodePart(input);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks.slice(0, -1)) expect(c.byteLength).toBe(CHUNK_BYTES);
    expect(chunks.at(-1)!.byteLength).toBeLessThanOrEqual(CHUNK_BYTES);
    const decoded = decode(chunks);
    expect(decoded.keys.map((k) => k[1])).toEqual(['small-1', 'huge', 'small-2']);
    expect(decoded.row<{ blob: string }>(1).blob).toBe(blob);
    expect(decoded.row(2)).toEqual({ n: 2 });
  });

  it('knows the digest of the bytes it was decoded from, which differs for other rows', () => {
    const one = encodePart(part([{ key: key('t', 'a'), value: { n: 1 } }]));
    const two = encodePart(
      part([
        { key: key('t', 'a'), value: { n: 1 } },
        { key: key('t', 'b'), value: { n: 2 } },
      ]),
    );
    expect(decode(one).digest).toBe(partDigest(one));
    expect(partDigest(one)).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(partDigest(two)).not.toBe(partDigest(one));
    expect(partDigest(encodePart(part([{ key: key('t', 'a'), value: { n: 1 } }])))).toBe(partDigest(one));
  });

  it('parses only the rows asked for', () => {
    const rows = ['{"n":0}', '{not json', '{"n":2}'];
    const decoded = decode(encodePart({ keys: [key('t', 'a'), key('t', 'b'), key('t', 'c')], rows }));
    expect(decoded.row(0)).toEqual({ n: 0 });
    expect(decoded.row(2)).toEqual({ n: 2 });
    expect(() => decoded.row(1)).toThrow(SyntaxError);
  });

  const brotli = (text: string) => [brotliCompressSync(Buffer.from(text, 'utf8'))];
  const chunked = encodePart(
    part([
      { key: key('2024-08-24T14:27:07.000000Z', 'big'), value: { blob: randomBytes(500 * 1024).toString('base64') } },
    ]),
  );

  it.each([
    ['bytes that are not Brotli', [Buffer.from('plain text, not compressed')], /does not decompress/],
    ['a header that is not JSON', brotli('not a header\n{}'), /header is not JSON/],
    ['another codec version', brotli('{"v":2,"k":[["t","a",4,"a"]]}\n{}'), /does not match/],
    ['a header without keys', brotli('{"v":1}\n{}'), /does not match/],
    ['more keys than rows', brotli('{"v":1,"k":[["t","a",4,"a"],["t","b",4,"a"]]}\n{}'), /does not match/],
    ['fewer keys than rows', brotli('{"v":1,"k":[["t","a",4,"a"]]}\n{}\n{}'), /does not match/],
    ['a chunk missing', chunked.slice(0, -1), /./],
    ['chunks out of order', [...chunked].reverse(), /./],
  ])('refuses %s with a non-retryable TrailStoreError VALIDATION', (_label, chunks, message) => {
    expect(chunked.length).toBeGreaterThan(1);
    let thrown: unknown;
    try {
      decode(chunks);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TrailStoreError);
    expect(thrown).toMatchObject({ code: 'VALIDATION', retryable: false });
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).toContain('test part');
  });
});

describe('compareRowKeys', () => {
  it.each([
    ['time first', key('2024-08-24T14:27:07.000001Z', 'z'), key('2024-08-24T14:27:07.000002Z', 'a'), -1],
    ['then the request id', key('t', 'a', 4), key('t', 'b', 1), -1],
    ['then the stage rank', key('t', 'a', 2), key('t', 'a', 4), -1],
    ['then the row kind', key('t', 'a', 0, 'a'), key('t', 'a', 0, 'd'), -1],
    ['equal keys', key('t', 'a', 4), key('t', 'a', 4), 0],
    ['reversed', key('t', 'b'), key('t', 'a'), 1],
  ] as const)('orders by %s', (_label, x, y, sign) => {
    expect(Math.sign(compareRowKeys(x, y))).toBe(sign);
    expect(Math.sign(compareRowKeys(y, x))).toBe(-sign || 0);
  });
});

describe('row references', () => {
  it('encode per part its letter, chunk count and base-36 rows', () => {
    const refs: PartRef[] = [
      { part: 'n', chunks: 2, rows: [0, 5, 46] },
      { part: 'b', chunks: 1, rows: [3] },
    ];
    expect(encodeRefs(refs)).toBe('n2:0.5.1a;b1:3');
    expect(decodeRefs('n2:0.5.1a;b1:3')).toEqual(refs);
    expect(decodeRefs('l12:')).toEqual([{ part: 'l', chunks: 12, rows: [] }]);
  });

  it('carry the digest of the part version they number rows in', () => {
    const refs: PartRef[] = [
      { part: 'b', chunks: 1, digest: 'Xy_Z-123', rows: [3] },
      { part: 'n', chunks: 2, digest: 'AbCd1234', rows: [0, 5, 46] },
    ];
    expect(encodeRefs(refs)).toBe('b1~Xy_Z-123:3;n2~AbCd1234:0.5.1a');
    expect(decodeRefs('b1~Xy_Z-123:3;n2~AbCd1234:0.5.1a')).toEqual(refs);
  });

  it('decodeRefs(encodeRefs(x)) is x for any references (property)', () => {
    const refArb: fc.Arbitrary<PartRef> = fc.record(
      {
        part: fc.constantFrom('n', 'b', 'l'),
        chunks: fc.integer({ min: 1, max: 10_000 }),
        digest: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
        rows: fc.array(fc.nat({ max: 2 ** 40 }), { maxLength: 30 }),
      },
      { requiredKeys: ['part', 'chunks', 'rows'] },
    );
    fc.assert(
      fc.property(fc.array(refArb, { minLength: 1, maxLength: 4 }), (refs) => {
        expect(decodeRefs(encodeRefs(refs))).toEqual(refs);
      }),
    );
  });

  it.each([
    ['empty text', ''],
    ['a part letter only', 'n'],
    ['no colon', 'n2'],
    ['no chunk count', 'n:0'],
    ['zero chunks', 'n0:0'],
    ['a negative chunk count', 'n-1:0'],
    ['a chunk count with trailing text', 'n2x:0'],
    ['a fractional chunk count', 'n1.5:0'],
    ['an unknown part letter', 'x1:0'],
    ['an upper-case part letter', 'N1:0'],
    ['a negative row', 'n1:-1'],
    ['a row that is not base 36', 'n1:0.!'],
    ['an empty row between dots', 'n1:0..1'],
    ['a trailing dot', 'n1:0.'],
    ['white space', 'n1: 0'],
    ['an empty part after a separator', 'n1:0;'],
    ['two colons', 'n1:0:1'],
    ['an empty digest', 'n1~:0'],
    ['a digest with a key separator', 'n1~ab#cd:0'],
    ['a digest before the chunk count', 'n~abcd1:0'],
  ])('refuses %s with a non-retryable TrailStoreError VALIDATION', (_label, text) => {
    let thrown: unknown;
    try {
      decodeRefs(text);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TrailStoreError);
    expect(thrown).toMatchObject({ code: 'VALIDATION', retryable: false });
  });

  it('never throws anything but TrailStoreError on any text (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          decodeRefs(text);
        } catch (err) {
          expect(err).toBeInstanceOf(TrailStoreError);
        }
      }),
    );
  });
});
