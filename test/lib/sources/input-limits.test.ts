import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../lib/canonical-json.js';
import { ingestCloudTrailEvents, parseCloudTrailItem } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import {
  boundedJsonText,
  exceedsJsonDepth,
  JsonDepthError,
  jsonTextOf,
  MAX_JSON_DEPTH,
} from '../../../lib/json-depth.js';
import { rawText } from '../../../lib/result.js';
import { parseAuditEvent, parseAuditEventObject } from '../../../lib/sources/audit-event.js';
import { parseCloudTrailFile, parseCloudTrailRecord, parseEventBridgeEvent } from '../../../lib/sources/cloudtrail.js';
import {
  decodeConcatenatedPayloads,
  decodeKinesisData,
  logEventOrigins,
  parseLogExport,
} from '../../../lib/sources/cloudwatch-logs.js';
import { cloudTrail, KIEM, KIEM_AUDIT_ID, kiemEvent, kiemLine, logPayload } from '../ingest/fixtures.js';
import { MemoryTrailStore } from '../ingest/memory-store.js';

/** Limits on what input may be: how deep it nests (lib/json-depth.ts) and whether its bytes are UTF-8. */

const nest = (n: number, inner: unknown = 1): unknown => {
  let v = inner;
  for (let i = 0; i < n; i++) v = [v];
  return v;
};
const deepText = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const withDeepBody = (n: number) => ({ ...kiemEvent(), requestObject: nest(n) });
// Built as text: JSON.stringify itself overflows the stack on such a value.
const deepBodyLine = (n: number) => kiemLine().replace(/}$/, `,"requestObject":${deepText(n)}}`);

describe('depth', () => {
  it('measures depth without recursion, counting a cycle as too deep', () => {
    expect(exceedsJsonDepth(nest(MAX_JSON_DEPTH))).toBe(false);
    expect(exceedsJsonDepth(nest(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(exceedsJsonDepth(nest(1_000_000))).toBe(true);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(exceedsJsonDepth(cyclic)).toBe(true);
  });

  it('renders the raw text of a too-deep value cut at the limit, and rawText never throws', () => {
    const text = boundedJsonText(nest(10_000));
    expect(text.startsWith('[[[')).toBe(true);
    expect(text).toContain('"[nested too deep]"');
    expect(rawText(nest(10_000))).toBe(text);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => rawText(cyclic)).not.toThrow();
  });

  it('writes JSON text without recursion, exactly as JSON.stringify does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(jsonTextOf(v)).toBe(JSON.stringify(v));
      }),
      { numRuns: 300 },
    );
    expect(jsonTextOf(nest(100_000))).toBe(deepText(100_000).replace(']', '1]'));
  });

  it('canonicalJson refuses a value past the limit with JsonDepthError', () => {
    expect(() => canonicalJson(nest(10_000))).toThrow(JsonDepthError);
    expect(canonicalJson(nest(50))).toBe(JSON.stringify(nest(50)));
  });

  // One row per entry point: each refuses deep input with INPUT_TOO_DEEP and keeps a raw text.
  it.each([
    ['an audit message', () => parseAuditEvent(deepBodyLine(10_000))],
    ['an audit object', () => parseAuditEventObject(withDeepBody(10_000))],
    [
      'a CloudTrail record as text',
      () => parseCloudTrailRecord(`{"eventSource":"sts.amazonaws.com","x":${deepText(10_000)}}`),
    ],
    [
      'a CloudTrail record as an object',
      () => parseCloudTrailRecord({ eventSource: 'sts.amazonaws.com', x: nest(10_000) }),
    ],
    ['an EventBridge event', () => parseEventBridgeEvent({ 'detail-type': 'x', detail: nest(10_000) })],
    [
      'an SQS body',
      () => {
        const p = parseCloudTrailItem(`{"detail":${deepText(10_000)}}`);
        return p.ok ? { ok: true as const, value: p.event } : { ...p, ok: false as const };
      },
    ],
    ['a Kinesis record', () => decodeKinesisData(gzipSync(`{"logEvents":${deepText(10_000)}}`).toString('base64'))],
    ['a Firehose blob', () => decodeConcatenatedPayloads(Buffer.from(`{"a":1}${deepText(10_000)}`))],
    [
      'a log export that is only a deep array',
      () => parseLogExport(deepText(10_000), { logGroup: '/aws/eks/prod/cluster' }),
    ],
  ])('%s', (_what, parse) => {
    const r = parse();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues.map((i) => i.code)).toContain('INPUT_TOO_DEEP');
      expect(typeof r.raw).toBe('string');
    }
  });

  it('a deep audit event among others in an export becomes one event that the pipeline quarantines', async () => {
    const text = `${kiemLine()}\n${deepBodyLine(10_000)}\n`;
    const r = parseLogExport(text, { logGroup: `/aws/eks/${KIEM.cluster}/cluster`, accountId: KIEM.accountId });
    expect(r.ok && r.value[0]?.logEvents).toHaveLength(2);
    const store = new MemoryTrailStore();
    const s = await ingestLogPayloads(r.ok ? r.value : [], store, { now: () => 0 });
    expect(s.requestsStored).toBe(1);
    expect(s.quarantined).toEqual({ INPUT_TOO_DEEP: 1 });
  });

  it('a JSON array of audit events keeps the readable ones and hands the deep one on to be quarantined', async () => {
    const text = `[${kiemLine()},${deepBodyLine(10_000)}]`;
    const r = parseLogExport(text, { logGroup: `/aws/eks/${KIEM.cluster}/cluster`, accountId: KIEM.accountId });
    const store = new MemoryTrailStore();
    const s = await ingestLogPayloads(r.ok ? r.value : [], store, { now: () => 0 });
    expect([s.requestsStored, s.quarantined]).toEqual([1, { INPUT_TOO_DEEP: 1 }]);
  });

  it('a CloudTrail file keeps its readable records and refuses the deep one', () => {
    const good = ['createAccessEntry', 'assumeRole'].map((n) => (cloudTrail(n) as { detail: unknown }).detail);
    const deep = `{"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","x":${deepText(5_000)}}`;
    const r = parseCloudTrailFile(`{"Records":[${good.map((g) => JSON.stringify(g)).join(',')},${deep}]}`);
    expect(r.parsed.length).toBeGreaterThan(0);
    expect(r.rejected.map((x) => x.issues[0]?.code)).toContain('INPUT_TOO_DEEP');
  });
});

describe('invalid UTF-8', () => {
  // A message with one invalid byte (0xff) where a valid character was.
  const withBadByte = (payload: unknown, marker: string): Buffer => {
    const text = Buffer.from(JSON.stringify(payload));
    const at = text.indexOf(marker);
    return Buffer.concat([text.subarray(0, at), Buffer.from([0xff]), text.subarray(at + 1)]);
  };

  it('flags the payload and exactly the events that show U+FFFD, and stores them flagged', async () => {
    const p = logPayload('audit', [
      kiemLine(),
      JSON.stringify({ ...kiemEvent(), auditID: 'x-bad', userAgent: 'kubectl/v1 (l\u00e9)' }),
    ]);
    // 0xff replaces the first byte of `é` (0xc3 0xa9) in the second event only.
    const bytes = withBadByte(p, '\u00e9');
    const decoded = decodeKinesisData(gzipSync(bytes).toString('base64'));
    expect(decoded.ok && decoded.value.invalidUtf8).toBe(true);
    const origins = decoded.ok ? logEventOrigins(decoded.value) : undefined;
    expect(origins?.ok && origins.value.map((o) => o.invalidUtf8 === true)).toEqual([false, true]);

    const store = new MemoryTrailStore();
    const s = await ingestLogPayloads([{ itemId: 'k1', source: 'kinesis-record', payload: decoded }], store, {
      now: () => 0,
    });
    expect(s.invalidUtf8).toBe(1);
    const stored = store.batches.flatMap((b) =>
      b.audit.map((a) => [a.facts.event.auditID, a.facts.origin.invalidUtf8]),
    );
    expect(stored).toEqual([
      [KIEM_AUDIT_ID, undefined],
      ['x-bad', true],
    ]);
  });

  it('quarantines an unreadable event of such a payload with an INPUT_INVALID_UTF8 issue too', async () => {
    const p = logPayload('audit', ['{"kind":"Event","auditID":"\u00e9']);
    const decoded = decodeKinesisData(gzipSync(withBadByte(p, '\u00e9')).toString('base64'));
    const store = new MemoryTrailStore();
    await ingestLogPayloads([{ itemId: 'k1', source: 'kinesis-record', payload: decoded }], store, { now: () => 0 });
    const [q] = [...store.quarantineEntries.values()];
    expect(q?.issues.map((i) => i.code)).toEqual(['AUDIT_NOT_JSON', 'INPUT_INVALID_UTF8']);
  });

  it('flags the payloads of a Firehose blob that is not valid UTF-8', () => {
    const blob = withBadByte(logPayload('audit', ['caf\u00e9']), '\u00e9');
    const r = decodeConcatenatedPayloads(gzipSync(blob));
    expect(r.ok && r.value.map((p) => p.invalidUtf8)).toEqual([true]);
  });

  it('refuses CloudTrail records read from invalid bytes that show U+FFFD, and keeps the others', async () => {
    const [first, second] = ['createAccessEntry', 'assumeRole'].map(
      (n) => (cloudTrail(n) as { detail: Record<string, unknown> }).detail,
    );
    const altered = { ...second, userAgent: 'aws-cli/2 caf\u00e9' };
    const bytes = withBadByte({ Records: [first, altered] }, '\u00e9');
    const file = parseCloudTrailFile(bytes);
    expect(file.rejected.map((x) => x.issues[0]?.code)).toEqual(['INPUT_INVALID_UTF8']);
    expect(file.parsed).toHaveLength(1);

    const item = parseCloudTrailItem(withBadByte(altered, '\u00e9'));
    expect(!item.ok && item.issues[0]?.code).toBe('INPUT_INVALID_UTF8');
    const store = new MemoryTrailStore();
    const s = await ingestCloudTrailEvents(
      [
        {
          itemId: 'f:0',
          source: 'replay-file',
          body: JSON.parse(withBadByte(altered, '\u00e9').toString('utf8')),
          invalidUtf8: true,
        },
      ],
      store,
      { now: () => 0 },
    );
    expect(s.quarantined).toEqual({ INPUT_INVALID_UTF8: 1 });
  });
});
