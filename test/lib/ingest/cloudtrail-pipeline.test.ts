import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ingestCloudTrailEvents, parseCloudTrailItem } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { parseEventBridgeEvent } from '../../../lib/sources/cloudtrail.js';
import { TrailStoreError } from '../../../lib/store/trail-store.js';
import { ALICE, CHAIN_AUDIT_ID, chainedRequestLine, chainHop1, chainHop2 } from '../../integration/ingest/scenario.js';
import { cloudTrail, KIEM_AUDIT_ID, kiemLine, logPayload } from './fixtures.js';
import { MemoryTrailStore } from './memory-store.js';

const opts = { now: () => Date.parse('2024-08-24T15:00:00Z') };
const createEntry = cloudTrail('createAccessEntry');
const day = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' };
const KIEM_KEY = 'ASIATCKASJUUD7MPDOZN';
const GOMYERS = 'arn:aws:iam::211125685544:user/gomyers';

describe('parseCloudTrailItem', () => {
  const parsed = parseEventBridgeEvent(createEntry);
  it.each([
    ['an EventBridge event object', createEntry],
    ['an SQS body (JSON text)', JSON.stringify(createEntry)],
    ['JSON bytes', Buffer.from(JSON.stringify(createEntry))],
    ['a raw CloudTrail record (replay)', createEntry['detail']],
    ['an already parsed event (local mode)', parsed.ok ? parsed.value : undefined],
  ])('accepts %s', (_shape, body) => {
    const r = parseCloudTrailItem(body);
    expect(r.ok && r.event.eventId).toBe('c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e01');
  });

  it.each([
    ['text that is not JSON', 'not json', 'ENVELOPE_NOT_JSON'],
    ['a JSON array', '[1,2]', 'ENVELOPE_SHAPE'],
    ['a number', 42, 'ENVELOPE_SHAPE'],
    ['null', null, 'ENVELOPE_SHAPE'],
    [
      'an EventBridge event of another detail-type',
      { ...createEntry, 'detail-type': 'Scheduled Event' },
      'ENVELOPE_SHAPE',
    ],
    ['an API this product does not track', cloudTrail('describeCluster'), 'CLOUDTRAIL_UNSUPPORTED_EVENT'],
  ])('rejects %s with a stable code and the raw text', (_case, body, code) => {
    const r = parseCloudTrailItem(body);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues.map((i) => i.code)).toContain(code);
      expect(typeof r.raw).toBe('string');
    }
  });

  it('never throws on any input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue(), fc.uint8Array(), fc.anything()), (v) => {
        parseCloudTrailItem(v);
      }),
      { numRuns: 500 },
    );
  });
});

describe('ingestCloudTrailEvents (pipeline logic over an in-memory port)', () => {
  it('counts failed calls and untracked APIs without quarantining them, and dedupes on eventID', async () => {
    const store = new MemoryTrailStore();
    const s = await ingestCloudTrailEvents(
      [
        { itemId: '1', source: 'sqs-message', body: cloudTrail('failedCreateAccessEntry') },
        { itemId: '2', source: 'sqs-message', body: cloudTrail('describeCluster') },
        { itemId: '3', source: 'sqs-message', body: createEntry },
        { itemId: '4', source: 'sqs-message', body: JSON.stringify(createEntry) },
      ],
      store,
      opts,
    );
    expect(s).toMatchObject({
      events: 2,
      failedCalls: 1,
      skippedUnsupported: 1,
      duplicates: 1,
      mappingChanges: 1,
      newMappingChanges: 1,
      quarantined: {},
      failedItemIds: [],
    });
    expect(store.changes.size).toBe(1);
  });

  it('derives the human of requests stored before the AssumeRole event that issued their key, and indexes it', async () => {
    const store = new MemoryTrailStore();
    await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, opts);
    // Stored while the human was pending: found by its access key, not by a human.
    expect((await store.requestsByAccessKey(KIEM_KEY, day, {})).items).toHaveLength(1);
    expect((await store.requestsByHuman(GOMYERS, day, {})).items).toEqual([]);
    const s = await ingestCloudTrailEvents(
      [{ itemId: 'a', source: 'sqs-message', body: cloudTrail('assumeRole') }],
      store,
      opts,
    );
    expect(s).toMatchObject({ credentials: 1, newCredentials: 1, requestsReenriched: 1, failedItemIds: [] });
    expect(store.lateLinks.map((l) => l.chain.human.value?.credentialEventId)).toEqual([
      'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03',
    ]);
    const byHuman = await store.requestsByHuman(GOMYERS, day, {});
    expect(byHuman.items.map((r) => r.kind === 'request' && r.auditID)).toEqual([KIEM_AUDIT_ID]);
  });

  it('names the human at write time when the issuance came first: nothing left to re-derive', async () => {
    const store = new MemoryTrailStore();
    await ingestCloudTrailEvents([{ itemId: 'a', source: 'sqs-message', body: cloudTrail('assumeRole') }], store, opts);
    await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, opts);
    expect((await store.requestsByAccessKey(KIEM_KEY, day, {})).items).toEqual([]);
    expect((await store.requestsByHuman(GOMYERS, day, {})).items).toHaveLength(1);
    // A redelivered issuance re-derives nothing, and fails nothing.
    const again = await ingestCloudTrailEvents(
      [{ itemId: 'a', source: 'sqs-message', body: cloudTrail('assumeRole') }],
      store,
      opts,
    );
    expect(again).toMatchObject({ newCredentials: 0, requestsReenriched: 0, failedItemIds: [] });
  });

  it.each([
    ['the first hop, then the second', [chainHop1, chainHop2]],
    ['the second hop, then the first', [chainHop2, chainHop1]],
  ])('follows a role chain down credentialsIssuedTo when both issuances arrive late: %s', async (_order, hops) => {
    const store = new MemoryTrailStore();
    await ingestLogPayloads([logPayload('audit', [chainedRequestLine()])], store, opts);
    for (const [i, hop] of hops.entries()) {
      const s = await ingestCloudTrailEvents([{ itemId: `hop-${i}`, source: 'sqs-message', body: hop() }], store, opts);
      expect(s.failedItemIds).toEqual([]);
    }
    const byHuman = await store.requestsByHuman(ALICE, day, {});
    expect(byHuman.items.map((r) => r.kind === 'request' && r.auditID)).toEqual([CHAIN_AUDIT_ID]);
    const last = store.lateLinks[store.lateLinks.length - 1]!.chain;
    expect(last.human.value).toMatchObject({
      identity: ALICE,
      via: 'iam-user',
      chain: ['arn:aws:sts::211125685544:assumed-role/deployer/alice-deploy'],
    });
  });

  it('does not look for requests of a key issued to an AWS service (no person behind it)', async () => {
    const store = new MemoryTrailStore();
    const e = structuredClone(cloudTrail('assumeRole')) as { detail: Record<string, unknown> };
    e.detail['userIdentity'] = { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' };
    const s = await ingestCloudTrailEvents([{ itemId: 'svc', source: 'sqs-message', body: e }], store, opts);
    expect(s).toMatchObject({ newCredentials: 1, failedItemIds: [] });
    expect(store.calls).not.toContain('requestsByAccessKey');
  });

  const throttled = () => new TrailStoreError('throttled', 'THROTTLED', true);
  const invalid = () => new TrailStoreError('bad request', 'VALIDATION', false);

  it.each([
    ['requestsByAccessKey', 'a transient fault', throttled, true],
    ['evidenceFor', 'a transient fault', throttled, true],
    ['putLateLinks', 'a transient fault', throttled, true],
    ['credentialsIssuedTo', 'a transient fault', throttled, true],
    ['putCredentials', 'a transient fault', throttled, true],
    ['requestsByAccessKey', 'a refusal for good', invalid, false],
    ['evidenceFor', 'a refusal for good', invalid, false],
    ['putLateLinks', 'a refusal for good', invalid, false],
    ['credentialsIssuedTo', 'a refusal for good', invalid, false],
  ] as const)('late issuance: %s meeting %s fails the item: %s', async (op, _what, error, fails) => {
    const store = new MemoryTrailStore();
    await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, opts);
    store.failures[op] = error;
    const item = { itemId: 'a', source: 'sqs-message' as const, body: cloudTrail('assumeRole') };
    const s = await ingestCloudTrailEvents([item], store, opts);
    expect(s.failedItemIds).toEqual(fails ? ['a'] : []);
    if (!fails) return;
    // The redelivery (the issuance is no longer new) still derives and indexes the human.
    store.failures = {};
    const retried = await ingestCloudTrailEvents([item], store, opts);
    expect(retried).toMatchObject({ failedItemIds: [], requestsReenriched: 1 });
    expect((await store.requestsByHuman(GOMYERS, day, {})).items).toHaveLength(1);
  });

  it.each([
    ['putMappingChanges', 'createAccessEntry', 'mapping changes'],
    ['putCredentials', 'assumeRole', 'credential issuance'],
  ] as const)(
    'a refusal for good of %s quarantines the whole event as STORE_REJECTED and acknowledges it',
    async (op, name, what) => {
      const store = new MemoryTrailStore();
      store.failures[op] = invalid;
      const body = JSON.stringify(cloudTrail(name));
      const s = await ingestCloudTrailEvents(
        [{ itemId: 'm1', source: 'sqs-message', body, receivedAt: 1_724_509_800_000 }],
        store,
        opts,
      );
      expect(s).toMatchObject({ failedItemIds: [], quarantined: { STORE_REJECTED: 1 }, quarantineRejected: 0 });
      expect(store.quarantineEntries.get('sqs-message#m1')).toMatchObject({
        code: 'STORE_REJECTED',
        // Kept whole but for its session token (lib/sources/redact.ts).
        raw: body.replace('"sessionToken":"redacted"', '"sessionToken":"[REDACTED:sessionToken]"'),
        at: 1_724_509_800_000,
        issues: [{ code: 'STORE_REJECTED', message: `store refused the ${what}: bad request` }],
      });
    },
  );

  it('redelivers a refused event whose quarantine write meets a transient fault, and logs one refused for good', async () => {
    const store = new MemoryTrailStore();
    store.failures.putCredentials = invalid;
    store.failures.quarantine = throttled;
    const item = { itemId: 'm1', source: 'sqs-message' as const, body: cloudTrail('assumeRole') };
    expect((await ingestCloudTrailEvents([item], store, opts)).failedItemIds).toEqual(['m1']);
    const errors: string[] = [];
    store.failures.quarantine = invalid;
    const s = await ingestCloudTrailEvents([item], store, {
      ...opts,
      logger: { info() {}, warn() {}, error: (m: string) => void errors.push(m) },
    });
    // The last place left for its raw text is the function's log.
    expect(s).toMatchObject({ failedItemIds: [], quarantineRejected: 1 });
    expect(errors).toContain('quarantine write refused by the store');
  });

  it('quarantines poison under the item id and leaves its neighbours alone', async () => {
    const store = new MemoryTrailStore();
    const s = await ingestCloudTrailEvents(
      [
        { itemId: 'poison', source: 'sqs-message', body: '{"detail-type":', receivedAt: 1_724_509_800_000 },
        { itemId: 'ok', source: 'sqs-message', body: createEntry },
      ],
      store,
      opts,
    );
    expect(s.quarantined).toEqual({ ENVELOPE_NOT_JSON: 1 });
    expect(store.quarantineEntries.get('sqs-message#poison')).toMatchObject({
      raw: '{"detail-type":',
      at: 1_724_509_800_000,
    });
    expect(s.newMappingChanges).toBe(1);
  });
});
