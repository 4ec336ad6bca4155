import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../lib/canonical-json.js';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import { parseCloudTrailItem } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { replayFiles } from '../../../lib/local/replay.js';
import { formatJson } from '../../../lib/query/format.js';
import { parseAuditEvent, parseAuditEventObject } from '../../../lib/sources/audit-event.js';
import { parseAuthenticatorLine } from '../../../lib/sources/authenticator-line.js';
import { parseCloudTrailFile, parseCloudTrailRecord, parseEventBridgeEvent } from '../../../lib/sources/cloudtrail.js';
import {
  decodeAwsLogsData,
  decodeConcatenatedPayloads,
  decodeFirehoseData,
  decodeKinesisData,
  parseLogExport,
  validatePayload,
} from '../../../lib/sources/cloudwatch-logs.js';
import { redactText, redactValue } from '../../../lib/sources/redact.js';
import { decodeToken } from '../../../lib/token/decode-token.js';
import { bearerToken } from '../../support/secret-corpus.js';
import { MemoryTrailStore } from '../ingest/memory-store.js';

/**
 * Every parser and the replay of a file over malformed input: random bytes and text, real samples
 * cut short, mutated or salted with NUL bytes and invalid UTF-8, documents nested 20,000 deep, strings
 * of a megabyte. The property is totality: a result (value or issues with a stable code, and raw text)
 * or, for the replay, the file read or refused with a stable code; never an exception. Run counts stay
 * small (a few hundred per parser): the inputs are large, and CI must stay fast.
 */
const FIXTURES = resolve(__dirname, '../../fixtures');
const read = (p: string) => readFileSync(join(FIXTURES, p), 'utf8');

const samples = {
  audit: [
    JSON.stringify(JSON.parse(read('sources/audit/kiempossible-eks-audit-access-policy-allow.json'))),
    read('sources/audit/workshop-forbid-kube-scheduler-2023.rejoined.log')
      .split('\n')
      .find((l) => l.includes('{')) ?? '{}',
  ],
  authenticator: read('sources/authenticator/rotel-lambda-forwarder-2025.log')
    .split('\n')
    .filter((l) => l.startsWith('time=')),
  cloudtrail: [
    read('sources/cloudtrail/sts-assume-role-records.json'),
    read('sources/cloudtrail/lookup-events-output.json'),
  ],
  exports: [read('sources/cwl/filter-log-events-output.json'), read('sources/cwl/get-log-events-output.json')],
  payloads: [read('sources/cwl/eks-audit-kinesis-event.json'), read('sources/cwl/powertools-kinesis-firehose.json')],
  awsAuth: [read('query/kiem/kiem.yaml')],
  token: [bearerToken()],
};
const allSamples = Object.values(samples).flat();

const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

/** Malformed text, most of it grown from a real sample so that parsers get past their first check. */
const malformedText = (from: readonly string[] = allSamples): fc.Arbitrary<string> => {
  const sample = fc.constantFrom(...from);
  return fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    // lone surrogates: what a JSON \ud800 escape decodes to
    fc.array(fc.integer({ min: 0xd800, max: 0xdfff }), { maxLength: 20 }).map((cs) => String.fromCharCode(...cs)),
    fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b).toString('utf8')),
    fc.tuple(sample, fc.nat()).map(([s, n]) => s.slice(0, n % (s.length + 1))),
    fc
      .tuple(sample, fc.nat(), fc.constantFrom('\u0000', '\uFFFD', '\uD800', '"', '\\', '{', ']', '\n'))
      .map(([s, n, c]) => {
        const i = n % (s.length + 1);
        return s.slice(0, i) + c + s.slice(i);
      }),
    fc.tuple(sample, fc.integer({ min: 300, max: 20_000 }), fc.boolean()).map(([s, n, arr]) => {
      // a real document with one of its values replaced by a deep one
      const at = s.indexOf(':');
      const deep = arr ? deepArray(n) : deepObject(n);
      return at < 0 ? deep : `${s.slice(0, at + 1)}${deep},${s.slice(at + 1)}`;
    }),
    fc.integer({ min: 300, max: 20_000 }).map(deepArray),
    fc.integer({ min: 300, max: 20_000 }).map(deepObject),
    fc.tuple(sample, fc.constantFrom(100_000, 1_000_000)).map(([s, n]) => {
      const at = s.indexOf('"', s.indexOf(':'));
      return at < 0 ? 'x'.repeat(n) : `${s.slice(0, at + 1)}${'x'.repeat(n)}${s.slice(at + 1)}`;
    }),
  );
};

/** Malformed bytes: the text above as UTF-8, with invalid sequences, gzip'd, and gzip cut short. */
const malformedBytes = (from?: readonly string[]): fc.Arbitrary<Buffer> =>
  fc.oneof(
    malformedText(from).map((t) => Buffer.from(t)),
    fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)),
    fc.tuple(malformedText(from), fc.nat()).map(([t, n]) => {
      const b = Buffer.from(t);
      const i = n % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), Buffer.from([0xff, 0xc3, 0x28]), b.subarray(i)]);
    }),
    malformedText(from).map((t) => gzipSync(t)),
    fc.tuple(malformedText(from), fc.nat()).map(([t, n]) => {
      const g = gzipSync(t);
      return g.subarray(0, n % (g.length + 1));
    }),
  );

type Result = { ok: true; value: unknown } | { ok: false; issues: { code: string; message: string }[]; raw: string };

const isResult = (r: Result): boolean => {
  if (r.ok) return true;
  return (
    r.issues.length > 0 &&
    r.issues.every((i) => typeof i.code === 'string' && i.code !== '') &&
    typeof r.raw === 'string'
  );
};

const RUNS = { numRuns: 150 };
// YAML parsing of megabyte and 20,000-deep inputs is slow: fewer runs for the aws-auth parser.
const runsFor = (name: string) => (name.startsWith('parseAwsAuth') ? { numRuns: 50 } : RUNS);

describe('parsers are total on malformed input', () => {
  const textParsers: [string, readonly string[], (t: string) => Result][] = [
    ['parseAuditEvent', samples.audit, parseAuditEvent],
    ['parseAuditEvent (truncated)', samples.audit, (t) => parseAuditEvent(`${t}[Truncated...]`)],
    ['parseAuthenticatorLine', samples.authenticator, parseAuthenticatorLine],
    ['parseCloudTrailRecord', samples.cloudtrail, parseCloudTrailRecord],
    ['parseEventBridgeEvent', samples.cloudtrail, parseEventBridgeEvent],
    [
      'parseCloudTrailItem',
      samples.cloudtrail,
      (t) => {
        const p = parseCloudTrailItem(t);
        return p.ok ? { ok: true, value: p.event } : p;
      },
    ],
    ['parseLogExport', samples.exports, (t) => parseLogExport(t, { logGroup: '/aws/eks/prod/cluster' })],
    ['decodeAwsLogsData (as text)', samples.payloads, decodeAwsLogsData],
    ['parseAwsAuth', samples.awsAuth, parseAwsAuth],
    ['decodeToken', samples.token, decodeToken],
  ];
  it.each(textParsers)('%s', (name, from, parse) => {
    fc.assert(
      fc.property(malformedText(from), (t) => {
        expect(isResult(parse(t))).toBe(true);
      }),
      runsFor(name),
    );
  });

  const byteParsers: [string, readonly string[], (b: Buffer) => Result][] = [
    ['decodeKinesisData', samples.payloads, (b) => decodeKinesisData(b.toString('base64'))],
    ['decodeAwsLogsData', samples.payloads, (b) => decodeAwsLogsData(b.toString('base64'))],
    ['decodeFirehoseData', samples.payloads, (b) => decodeFirehoseData(b.toString('base64'))],
    ['decodeConcatenatedPayloads', samples.payloads, decodeConcatenatedPayloads],
    [
      'parseCloudTrailFile',
      samples.cloudtrail,
      (b) => {
        const r = parseCloudTrailFile(b);
        const fine = r.rejected.every((x) => x.issues.length > 0 && typeof x.raw === 'string');
        return fine ? { ok: true, value: r } : { ok: false, issues: [], raw: '' };
      },
    ],
    [
      'parseCloudTrailItem (bytes)',
      samples.cloudtrail,
      (b) => {
        const p = parseCloudTrailItem(b);
        return p.ok ? { ok: true, value: p.event } : p;
      },
    ],
    ['parseAwsAuth (bytes)', samples.awsAuth, parseAwsAuth],
  ];
  it.each(byteParsers)('%s', (name, from, parse) => {
    fc.assert(
      fc.property(malformedBytes(from), (b) => {
        expect(isResult(parse(b))).toBe(true);
      }),
      runsFor(name),
    );
  });

  it('object entry points (validatePayload, parseAuditEventObject, parseCloudTrailRecord) on any JSON value, deep ones included', () => {
    const deepValue = fc.integer({ min: 300, max: 20_000 }).map((n) => JSON.parse(deepArray(n)) as unknown);
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      deepValue,
      deepValue.map((d) => ({ kind: 'Event', auditID: 'a', stage: 's', requestObject: d })),
    );
    fc.assert(
      fc.property(value, (v) => {
        for (const r of [
          validatePayload(v),
          parseAuditEventObject(v),
          parseCloudTrailRecord(v),
          parseEventBridgeEvent(v),
          parseAwsAuth(v),
        ]) {
          expect(isResult(r as Result)).toBe(true);
        }
        const item = parseCloudTrailItem(v);
        expect(item.ok || item.issues.length > 0).toBe(true);
      }),
      RUNS,
    );
  });

  it('redaction is total on malformed text', () => {
    fc.assert(
      fc.property(malformedText(), (t) => {
        expect(typeof redactText(t)).toBe('string');
      }),
      RUNS,
    );
  });
});

describe('walkers refuse depth instead of overflowing the stack', () => {
  it.each([
    ['canonicalJson', (v: unknown) => canonicalJson(v)],
    ['formatJson', (v: unknown) => formatJson(v)],
    ['redactValue', (v: unknown) => redactValue(v)],
  ])('%s throws JsonDepthError on a value 20,000 deep', (_name, walk) => {
    const v = JSON.parse(deepArray(20_000)) as unknown;
    expect(() => walk(v)).toThrow(expect.objectContaining({ name: 'JsonDepthError' }));
  });
});

describe('the log pipeline over malformed deliveries', () => {
  it('never throws, and accounts for every item', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(malformedBytes(samples.payloads), { minLength: 1, maxLength: 4 }), async (blobs) => {
        const store = new MemoryTrailStore();
        const items = blobs.map((b, i) => ({
          itemId: `k-${i}`,
          source: 'kinesis-record' as const,
          payload: decodeKinesisData(b.toString('base64')),
          receivedAt: 0,
        }));
        const s = await ingestLogPayloads(items, store, { now: () => 0 });
        expect(s.outcomes).toHaveLength(items.length);
        expect(s.failedItemIds).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});

describe('the replay over malformed files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  // Replay refuses a file it cannot use (listed with a code) instead of throwing, and quarantines the
  // records it cannot read: every file ends up read or refused, and the replay always returns.
  it('reads a file or refuses it with a stable code, and quarantines what it cannot read', async () => {
    await fc.assert(
      fc.asyncProperty(
        malformedBytes(),
        fc.constantFrom('prod.filter-log-events.json', 'cloudtrail.json.gz', 'prod.yaml'),
        async (bytes, name) => {
          const path = join(dir, `${n++}-${name}`);
          writeFileSync(path, bytes);
          const s = await replayFiles([path], new MemoryTrailStore(), {
            now: () => 0,
            logGroup: '/aws/eks/prod/cluster',
            cluster: 'prod',
            at: '2024-08-24T00:00:00Z',
          });
          expect(s.files.length + s.refused.length).toBeGreaterThanOrEqual(1);
          for (const r of s.refused) expect(r.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
        },
      ),
      { numRuns: 80 },
    );
  });
});
