import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ingestCloudTrailEvents, parseCloudTrailItem } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { parseEventBridgeEvent } from '../../../lib/sources/cloudtrail.js';
import { cloudTrail, KIEM, KIEM_AUDIT_ID, kiemLine, logPayload } from './fixtures.js';
import { MemoryTrailStore } from './memory-store.js';

const opts = { now: () => Date.parse('2024-08-24T15:00:00Z') };
const createEntry = cloudTrail('createAccessEntry');

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

  it('re-correlates chains stored before the AssumeRole event that issued their key', async () => {
    const store = new MemoryTrailStore();
    await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, opts);
    const chainId = `${KIEM.cluster}#${KIEM_AUDIT_ID}`;
    expect(store.chains.get(chainId)?.chain.human.status).toBe('unknown');
    const s = await ingestCloudTrailEvents(
      [{ itemId: 'a', source: 'sqs-message', body: cloudTrail('assumeRole') }],
      store,
      opts,
    );
    expect(s).toMatchObject({ credentials: 1, newCredentials: 1, chainsReenriched: 1 });
    expect(store.chains.get(chainId)?.chain.human.value?.credentialEventId).toBe(
      'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03',
    );
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
    expect(store.quarantined.get('sqs-message#poison')).toMatchObject({
      raw: '{"detail-type":',
      at: 1_724_509_800_000,
    });
    expect(s.newMappingChanges).toBe(1);
  });
});
