import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestCloudTrailEvents } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads, type LogBatchItem } from '../../../lib/ingest/log-pipeline.js';
import type { MappingChangeNotice } from '../../../lib/ingest/types.js';
import { decodeKinesisData } from '../../../lib/sources/cloudwatch-logs.js';
import { injectFaults, throttle } from '../../support/ddb-faults.js';
import type { Engine } from '../../support/engine.js';
import { startEngine } from '../../support/engine.js';
import { startStoreHarness } from '../../support/store-harness.js';
import {
  authenticatorLines,
  cloudTrailEvent,
  gzipBase64,
  KIEM,
  KIEM_ACCESS_KEY,
  KIEM_AUDIT_ID,
  KIEM_TS,
  kiemLine,
  kiemStartedLine,
  kiemTruncatedLine,
  PANTHER,
  pantherLogs,
  payload,
} from './scenario.js';

const NOW = Date.parse('2024-08-24T14:30:00Z');
const opts = { now: () => NOW };
const item = (p: ReturnType<typeof payload>, itemId: string): LogBatchItem => ({
  itemId,
  source: 'kinesis-record',
  payload: decodeKinesisData(gzipBase64(p)),
  receivedAt: NOW,
});

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.stop();
});

describe('ingestLogPayloads against a real engine', () => {
  it('stores a request chain for a real audit event and an authn-failure chain for a real denial', async () => {
    const h = await startStoreHarness(engine);
    const audit = payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }]);
    const authn = payload(
      { ...KIEM, kind: 'authenticator' },
      authenticatorLines('aws-knowledge-center-eks-api-server-unauthorized.log').map((message, i) => ({
        message,
        timestamp: KIEM_TS - 60_000 + i,
      })),
    );
    const summary = await ingestLogPayloads([item(audit, 'a'), item(authn, 'b')], h.store, opts);

    expect(summary).toMatchObject({
      items: 2,
      recordsIn: 4,
      auditEvents: 1,
      authenticatorLines: 3,
      authenticatorRecords: 3,
      // two `access denied` lines in the knowledge-center sample, plus the request
      chainsWritten: 3,
      authnFailureChains: 2,
      failedItemIds: [],
      quarantined: {},
    });
    expect(summary.lagMs).toBe(NOW - (KIEM_TS - 60_000));

    const stored = await h.store.chainByAuditId(KIEM, KIEM_AUDIT_ID);
    expect(stored?.chain.chainId).toBe(`${KIEM.cluster}#${KIEM_AUDIT_ID}`);
    expect(stored?.chain.principal.value?.canonicalArn).toBe('arn:aws:iam::211125685544:role/sso_admin');
    expect(stored?.chain.decision.value?.authorizer).toBe('eks-access-policy');
    // No AssumeRole event yet: the human waits for it.
    expect(stored?.chain.human.status).toBe('unknown');
    expect(stored?.chain.pendingEnrichment).toBe(true);

    const denials = await h.store.denials(KIEM, { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' });
    const failures = denials.items.filter((d) => d.chain.kind === 'authn-failure');
    expect(failures).toHaveLength(2);
    expect(failures.map((f) => f.chain.decision.value?.denial?.stage).sort()).toEqual(['sts', 'unmapped']);
  });

  it('quarantines each kind of poison with its raw text and code while the good records are stored', async () => {
    const h = await startStoreHarness(engine);
    const notGzip: LogBatchItem = {
      itemId: 'bad-gzip',
      source: 'kinesis-record',
      payload: decodeKinesisData(Buffer.from('this is not gzip').toString('base64')),
      receivedAt: NOW,
    };
    const mixed = payload({ ...KIEM, kind: 'audit' }, [
      { message: kiemLine(), timestamp: KIEM_TS },
      { message: '{"kind":"Event","apiVersion":"audit.k8s.io/v1"', timestamp: KIEM_TS + 1, id: 'bad-json-1' },
      { message: kiemTruncatedLine(), timestamp: KIEM_TS + 2 },
    ]);
    const truncatedId = mixed.logEvents[2]!.id;
    const notEks = payload({ ...KIEM, kind: 'audit', logGroup: '/aws/lambda/some-function' }, [
      { message: kiemLine(), timestamp: KIEM_TS },
    ]);
    const badLine = payload({ ...KIEM, kind: 'authenticator' }, [
      { message: '   ', timestamp: KIEM_TS, id: 'empty-authn-line' },
    ]);
    const control = {
      messageType: 'CONTROL_MESSAGE' as const,
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
      subscriptionFilters: [],
      logEvents: [
        {
          id: '',
          timestamp: 1600110003794,
          message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.',
        },
      ],
    };
    const summary = await ingestLogPayloads(
      [notGzip, item(mixed, 'mixed'), item(notEks, 'not-eks'), item(badLine, 'bad-line'), item(control, 'control')],
      h.store,
      { ...opts, stopAtFirstFailure: true },
    );
    expect(summary.failedItemIds).toEqual([]);
    expect(summary.skippedControlMessages).toBe(1);
    expect(summary.quarantined).toEqual({
      ENVELOPE_NOT_GZIP: 1,
      AUDIT_NOT_JSON: 1,
      ENVELOPE_NOT_EKS_LOG_GROUP: 1,
      AUTHN_LINE_EMPTY: 1,
    });
    // The truncated event is a chain, flagged, not a quarantine entry.
    expect(summary.chainsWritten).toBe(1);
    const q = await h.store.quarantined(
      undefined,
      { from: '2024-08-24T00:00:00Z', to: '2024-08-25T00:00:00Z' },
      { limit: 100 },
    );
    const byId = new Map(q.items.map((r) => [r.sourceId, r]));
    expect(byId.get('bad-gzip')).toMatchObject({ source: 'kinesis-record', code: 'ENVELOPE_NOT_GZIP' });
    expect(byId.get('bad-json-1')).toMatchObject({
      source: 'cloudwatch-log-event',
      code: 'AUDIT_NOT_JSON',
      raw: '{"kind":"Event","apiVersion":"audit.k8s.io/v1"',
      cluster: KIEM.cluster,
      accountId: KIEM.accountId,
    });
    expect(byId.get('not-eks')?.raw).toContain('/aws/lambda/some-function');
    expect(byId.get('empty-authn-line')?.code).toBe('AUTHN_LINE_EMPTY');
    expect(byId.has(truncatedId)).toBe(false);
    const chain = await h.store.chainByAuditId(KIEM, KIEM_AUDIT_ID);
    expect(chain?.chain.request.value?.truncated).toBe(false);
  });

  it('stores a truncated audit event as a truncated chain', async () => {
    const h = await startStoreHarness(engine);
    const p = payload({ ...KIEM, kind: 'audit' }, [{ message: kiemTruncatedLine(), timestamp: KIEM_TS }]);
    const summary = await ingestLogPayloads([item(p, 't')], h.store, opts);
    expect(summary.quarantined).toEqual({});
    const chain = await h.store.chainByAuditId(KIEM, KIEM_AUDIT_ID);
    expect(chain?.chain.request.value?.truncated).toBe(true);
  });

  it('counts duplicates of auditID+stage and of event ids once, and merges two stages into one chain', async () => {
    const h = await startStoreHarness(engine);
    const [p5, p6, p11, p12] = pantherLogs().map((l) => JSON.stringify(l));
    const first = payload({ ...PANTHER, kind: 'audit' }, [
      { message: p11!, timestamp: 1_669_762_000_000, id: 'e-11' },
      { message: p12!, timestamp: 1_669_762_000_001, id: 'e-12' },
      // the same stage re-sent under another event id
      { message: p12!, timestamp: 1_669_762_000_002, id: 'e-12-again' },
      { message: p5!, timestamp: 1_669_680_544_000, id: 'e-5' },
      { message: p6!, timestamp: 1_669_761_246_000, id: 'e-6' },
    ]);
    // the same CloudWatch event delivered again in the next Kinesis record
    const again = payload({ ...PANTHER, kind: 'audit' }, [{ message: p5!, timestamp: 1_669_680_544_000, id: 'e-5' }]);
    const summary = await ingestLogPayloads([item(first, 'k1'), item(again, 'k2')], h.store, opts);
    expect(summary.duplicates).toBe(2);
    expect(summary.auditEvents).toBe(4);
    const twoStages = await h.store.chainByAuditId(PANTHER, 'c8c5bc49-cd5d-45d6-999c-b55783c7840f');
    expect(twoStages?.chain.request.value?.stage).toBe('ResponseComplete');
    expect(twoStages?.chain.request.value?.statusCode).toBe(403);
  });

  it('fails the throttled Kinesis record and every later one, keeps earlier ones, and succeeds on redelivery', async () => {
    const h = await startStoreHarness(engine);
    const faulty = h.engine.newClient({ maxAttempts: 1 });
    const store = h.storeWith(faulty, { retry: { maxAttempts: 2, sleep: async () => {} } });
    // seq-1 holds only a poison line (quarantined with a conditional PutItem, no BatchWrite).
    // Mapping changes of the whole batch are stored before any chain, so the first BatchWrite of the
    // batch is seq-3's (its audit events' principal-id observations register the cluster); it is
    // throttled past the store's bounded retries.
    const lines = authenticatorLines('rotel-lambda-forwarder-2025.log');
    const p1 = payload({ ...KIEM, kind: 'audit' }, [
      { message: 'not json at all', timestamp: KIEM_TS, id: 'poison-1' },
    ]);
    const p2 = payload({ ...KIEM, kind: 'authenticator' }, [{ message: lines[0]!, timestamp: KIEM_TS }]);
    const p3 = payload({ ...KIEM, kind: 'audit' }, [
      { message: kiemStartedLine(), timestamp: KIEM_TS + 4 },
      { message: kiemLine(), timestamp: KIEM_TS + 5 },
    ]);
    const p4 = payload({ ...KIEM, kind: 'authenticator' }, [{ message: lines[1]!, timestamp: KIEM_TS + 6 }]);
    const faults = injectFaults(faulty, {
      BatchWriteItemCommand: [
        { kind: 'throw', error: throttle },
        { kind: 'throw', error: throttle },
      ],
    });
    const items = [item(p1, 'seq-1'), item(p2, 'seq-2'), item(p3, 'seq-3'), item(p4, 'seq-4')];
    const summary = await ingestLogPayloads(items, store, { ...opts, stopAtFirstFailure: true });
    faults.detach();
    expect(faults.fired).toEqual(['BatchWriteItemCommand:throw', 'BatchWriteItemCommand:throw']);
    expect(summary.outcomes.map((o) => [o.itemId, o.failed])).toEqual([
      ['seq-1', false],
      ['seq-2', false],
      ['seq-3', true],
      ['seq-4', true],
    ]);
    expect(summary.failedItemIds[0]).toBe('seq-3');
    expect(summary.quarantined).toEqual({ AUDIT_NOT_JSON: 1 });
    expect(summary.authenticatorRecords).toBe(1);
    expect(await h.store.chainByAuditId(KIEM, KIEM_AUDIT_ID)).toBeUndefined();
    // Lambda redelivers from seq-3 on: now it goes through and the request ends as its final stage.
    const retry = await ingestLogPayloads(items.slice(2), store, { ...opts, stopAtFirstFailure: true });
    expect(retry.failedItemIds).toEqual([]);
    const chain = await h.store.chainByAuditId(KIEM, KIEM_AUDIT_ID);
    expect(chain?.chain.request.value?.stage).toBe('ResponseComplete');
  });

  it('quarantines a record the store refuses for good and stores its neighbours', async () => {
    const h = await startStoreHarness(engine);
    const faulty = h.engine.newClient({ maxAttempts: 1 });
    const store = h.storeWith(faulty);
    const lines = authenticatorLines('rotel-lambda-forwarder-2025.log');
    const p = payload({ ...KIEM, kind: 'authenticator' }, [
      { message: lines[0]!, timestamp: KIEM_TS, id: 'refused-line' },
      { message: lines[1]!, timestamp: KIEM_TS + 1, id: 'fine-line' },
    ]);
    // The shape DynamoDB returns for a request it will never accept (HTTP 400, not retryable).
    const validation = () =>
      Object.assign(new Error('One or more parameter values were invalid'), {
        name: 'ValidationException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    // the group write, then the first single write, are refused
    const faults = injectFaults(faulty, {
      BatchWriteItemCommand: [
        { kind: 'throw', error: validation },
        { kind: 'throw', error: validation },
      ],
    });
    const summary = await ingestLogPayloads([item(p, 'k')], store, opts);
    faults.detach();
    expect(summary.failedItemIds).toEqual([]);
    expect(summary.authenticatorRecords).toBe(1);
    expect(summary.quarantined).toEqual({ STORE_REJECTED: 1 });
    const q = await h.store.quarantined('STORE_REJECTED', { from: '2024-08-01T00:00:00Z', to: '2024-09-01T00:00:00Z' });
    expect(q.items.map((r) => [r.sourceId, r.raw])).toEqual([['refused-line', lines[0]]]);
    const records = await h.store.authenticatorRecords(KIEM, {
      from: '2024-08-24T00:00:00Z',
      to: '2024-08-25T00:00:00Z',
    });
    expect(records.items.map((r) => r.origin.eventId)).toEqual(['fine-line']);
  });

  it('stores aws-auth edits before correlating and tells the alert hook which changes are new', async () => {
    const h = await startStoreHarness(engine);
    const notices: MappingChangeNotice[] = [];
    const ct = await ingestCloudTrailEvents(
      [{ itemId: 'm1', source: 'sqs-message', body: JSON.stringify(cloudTrailEvent('createAccessEntry')) }],
      h.store,
      { ...opts, onNewMappingChanges: async (n) => void notices.push(n) },
    );
    expect(ct.newMappingChanges).toBe(1);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ cluster: KIEM.cluster, accountId: KIEM.accountId, redelivered: [] });
    expect(notices[0]!.newChanges.map((c) => c.op.kind)).toEqual(['access-entry-put']);
    expect(notices[0]!.allChanges).toHaveLength(1);

    // The audit event carries extra.principalId: an observation, new the first time only.
    const p = payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }]);
    const first = await ingestLogPayloads([item(p, 'x')], h.store, {
      ...opts,
      onNewMappingChanges: async (n) => void notices.push(n),
    });
    expect(first.newMappingChanges).toBe(first.mappingChanges);
    const second = await ingestLogPayloads([item(p, 'x')], h.store, {
      ...opts,
      onNewMappingChanges: async (n) => void notices.push(n),
    });
    expect(second.newMappingChanges).toBe(0);
    // a redelivered principal-id observation alone is not worth a notice
    expect(notices).toHaveLength(first.newMappingChanges > 0 ? 2 : 1);
  });

  it('fails the item when the alert hook fails, and hands the changes over again as redelivered', async () => {
    const h = await startStoreHarness(engine);
    const body = JSON.stringify(cloudTrailEvent('associateAccessPolicy'));
    const failing = await ingestCloudTrailEvents([{ itemId: 'm', source: 'sqs-message', body }], h.store, {
      ...opts,
      onNewMappingChanges: async () => {
        throw new Error('SNS unavailable');
      },
    });
    expect(failing.failedItemIds).toEqual(['m']);
    const notices: MappingChangeNotice[] = [];
    const retried = await ingestCloudTrailEvents([{ itemId: 'm', source: 'sqs-message', body }], h.store, {
      ...opts,
      onNewMappingChanges: async (n) => void notices.push(n),
    });
    expect(retried.failedItemIds).toEqual([]);
    expect(notices[0]?.newChanges).toEqual([]);
    expect(notices[0]?.redelivered.map((c) => c.op.kind)).toEqual(['access-policy-associate']);
  });

  it('loads evidence with the access keys of the batch so a known issuance names the human at write time', async () => {
    const h = await startStoreHarness(engine);
    await ingestCloudTrailEvents(
      [{ itemId: 'ar', source: 'sqs-message', body: JSON.stringify(cloudTrailEvent('assumeRole')) }],
      h.store,
      opts,
    );
    expect(await h.store.credential(KIEM_ACCESS_KEY)).toBeDefined();
    const p = payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }]);
    await ingestLogPayloads([item(p, 'x')], h.store, opts);
    const chain = await h.store.chainByAuditId(KIEM, KIEM_AUDIT_ID);
    expect(chain?.chain.human.status).not.toBe('unknown');
    expect(chain?.chain.human.value?.credentialEventId).toBe('c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03');
  });
});
