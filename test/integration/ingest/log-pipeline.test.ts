import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestsStoredHookFor } from '../../../functions/shared/alert-wiring.js';
import { AlertDispatchError } from '../../../lib/alerts/dispatch.js';
import { type Alert, DEFAULT_ALERT_CONFIG } from '../../../lib/alerts/types.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { ingestCloudTrailEvents } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads, type LogBatchItem } from '../../../lib/ingest/log-pipeline.js';
import type { MappingChangeNotice } from '../../../lib/ingest/types.js';
import type { RequestRow } from '../../../lib/query/chain-rows.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { runQuestion } from '../../../lib/query/run.js';
import { decodeKinesisData } from '../../../lib/sources/cloudwatch-logs.js';
import { DynamoDbAlertLedger } from '../../../lib/store/dynamodb/alert-ledger.js';
import { DynamoDbMappingUsageStore } from '../../../lib/store/dynamodb/mapping-usage.js';
import { injectFaults, throttle } from '../../support/ddb-faults.js';
import type { Engine } from '../../support/engine.js';
import { startEngine } from '../../support/engine.js';
import { startStoreHarness } from '../../support/store-harness.js';
import {
  ALICE,
  authenticatorLines,
  CHAIN_AUDIT_ID,
  CHAIN_KEY_2,
  chainedRequestLine,
  chainHop1,
  chainHop2,
  chainOf,
  cloudTrailEvent,
  cloudTrailEventOn,
  derived,
  gzipBase64,
  KIEM,
  KIEM_ACCESS_KEY,
  KIEM_AUDIT_ID,
  KIEM_TS,
  kiemEvent,
  kiemLine,
  kiemStartedLine,
  kiemTruncatedLine,
  PANTHER,
  pantherLogs,
  payload,
  stagesOf,
} from './scenario.js';

const NOW = Date.parse('2024-08-24T14:30:00Z');
const opts = { now: () => NOW };
const day = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' };
const item = (p: ReturnType<typeof payload>, itemId: string): LogBatchItem => ({
  itemId,
  source: 'kinesis-record',
  payload: decodeKinesisData(gzipBase64(p)),
  receivedAt: NOW,
});
const GOMYERS = 'arn:aws:iam::211125685544:user/gomyers';
const sqs = (itemId: string, body: unknown) => ({ itemId, source: 'sqs-message' as const, body: JSON.stringify(body) });

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.stop();
});

describe('ingestLogPayloads against a real engine', () => {
  it('stores a real audit event and real denials, read back as a request and two authn failures', async () => {
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
      requestsStored: 1,
      stagesStored: 1,
      // two `access denied` lines in the knowledge-center sample
      authnFailureChains: 2,
      // one cluster-cell of audit rows, one of authenticator lines
      segments: 2,
      failedItemIds: [],
      quarantined: {},
    });
    expect(summary.lagMs).toBe(NOW - (KIEM_TS - 60_000));

    const chain = await chainOf(h.store, KIEM, KIEM_AUDIT_ID);
    expect(chain?.chainId).toBe(`${KIEM.cluster}#${KIEM_AUDIT_ID}`);
    expect(chain?.principal.value?.canonicalArn).toBe('arn:aws:iam::211125685544:role/sso_admin');
    expect(chain?.decision.value?.authorizer).toBe('eks-access-policy');
    // No AssumeRole event yet: the human waits for it, and the request is indexed by its key meanwhile.
    expect(chain?.human.status).toBe('unknown');
    expect(chain?.pendingEnrichment).toBe(true);
    const pending = await h.store.requestsByAccessKey(KIEM_ACCESS_KEY, day);
    expect(pending.items.map((r) => r.kind === 'request' && r.auditID)).toEqual([KIEM_AUDIT_ID]);

    const denials = await h.store.denials(KIEM, day);
    const failures = (await derived(h.store, denials.items)).filter((d) => d.kind === 'authn-failure');
    expect(failures).toHaveLength(2);
    expect(failures.map((f) => f.decision.value?.denial?.stage).sort()).toEqual(['sts', 'unmapped']);
    const records = await h.store.authenticatorRecords(KIEM, day);
    expect(records.items).toHaveLength(3);
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
    // The truncated event is a stage of the same request (flagged), not a quarantine entry; the full
    // event of the same stage came first, so it is the one kept.
    expect(summary).toMatchObject({ requestsStored: 1, duplicates: 1 });
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
    const chain = await chainOf(h.store, KIEM, KIEM_AUDIT_ID);
    expect(chain?.request.value?.truncated).toBe(false);
  });

  it('stores a truncated audit event as a truncated request', async () => {
    const h = await startStoreHarness(engine);
    const p = payload({ ...KIEM, kind: 'audit' }, [{ message: kiemTruncatedLine(), timestamp: KIEM_TS }]);
    const summary = await ingestLogPayloads([item(p, 't')], h.store, opts);
    expect(summary.quarantined).toEqual({});
    const chain = await chainOf(h.store, KIEM, KIEM_AUDIT_ID);
    expect(chain?.request.value?.truncated).toBe(true);
  });

  it('counts duplicates of auditID+stage and of event ids once, and counts a watch as one request of two stages', async () => {
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
    expect({ requestsStored: summary.requestsStored, stagesStored: summary.stagesStored }).toEqual({
      requestsStored: 3,
      stagesStored: 4,
    });
    const at = '2022-11-29T22:46:37.995Z';
    const twoStages = await chainOf(h.store, PANTHER, 'c8c5bc49-cd5d-45d6-999c-b55783c7840f', at);
    expect(twoStages?.request.value?.stage).toBe('ResponseComplete');
    expect(twoStages?.request.value?.statusCode).toBe(403);
    const listed = await h.store.requestsByCluster(
      PANTHER,
      { from: '2022-11-29T00:00:00Z', to: '2022-11-30T00:00:00Z' },
      { order: 'oldest-first' },
    );
    expect(listed.items.map((r) => (r.kind === 'request' ? [r.auditID, r.stages.length] : []))).toEqual([
      ['35506555-dffc-4337-b2b1-c4af52b88e18', 1],
      ['e2626946-90e1-4d0c-829e-ad5a78572926', 1],
      ['c8c5bc49-cd5d-45d6-999c-b55783c7840f', 2],
    ]);
  });

  it('keeps both of two calls with bare payloads (no delivery unit named) of the same cluster and cell', async () => {
    const h = await startStoreHarness(engine);
    // Each call's payload is its first: a unit id from the position alone would key both segments alike.
    await ingestLogPayloads(
      [payload({ ...KIEM, kind: 'audit' }, [{ message: kiemStartedLine(), timestamp: KIEM_TS }])],
      h.store,
      opts,
    );
    await ingestLogPayloads(
      [payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }])],
      h.store,
      opts,
    );
    expect(await stagesOf(h.store, KIEM, KIEM_AUDIT_ID)).toEqual(['ResponseStarted', 'ResponseComplete']);
    // The same bare payload again rewrites its own segment: nothing changes.
    const before = await h.dump();
    await ingestLogPayloads(
      [payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS, id: 'same' }])],
      h.store,
      opts,
    );
    const once = await h.dump();
    await ingestLogPayloads(
      [payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS, id: 'same' }])],
      h.store,
      opts,
    );
    expect(await h.dump()).toEqual(once);
    expect(once.length).toBeGreaterThan(before.length);
  });

  // BUG (lib/store, not fixed here): a request whose stages differ in notability (a service account's
  // ResponseStarted 200 is bulk, its ResponseComplete 403 notable) is found by auditID through its
  // notable pointer only, and only the notable stage comes back, even when `at` is given: the
  // StoredRequest misses a stage (the cluster listing has both). `explain` derives from the rest.
  it('requestByAuditId returns every stored stage of a request whose stages differ in notability', async () => {
    const h = await startStoreHarness(engine);
    const [, , p11, p12] = pantherLogs().map((l) => JSON.stringify(l));
    const p = payload({ ...PANTHER, kind: 'audit' }, [
      { message: p11!, timestamp: 1_669_762_000_000 },
      { message: p12!, timestamp: 1_669_762_000_001 },
    ]);
    await ingestLogPayloads([item(p, 'k')], h.store, opts);
    const id = 'c8c5bc49-cd5d-45d6-999c-b55783c7840f';
    expect(await stagesOf(h.store, PANTHER, id, '2022-11-29T22:46:37.995Z')).toEqual([
      'ResponseStarted',
      'ResponseComplete',
    ]);
    expect(await stagesOf(h.store, PANTHER, id)).toEqual(['ResponseStarted', 'ResponseComplete']);
  });

  it('fails the Kinesis record whose mapping changes met a throttle and every later one, keeps earlier ones, and succeeds on redelivery', async () => {
    const h = await startStoreHarness(engine);
    const faulty = h.engine.newClient({ maxAttempts: 1 });
    const store = h.storeWith(faulty, { retry: { maxAttempts: 2, sleep: async () => {} } });
    // seq-1 holds only a poison line (quarantined with a conditional PutItem, no BatchWrite).
    // Mapping changes of the whole batch are stored before any request, so the first BatchWrite of
    // the batch is seq-3's (its audit events' principal-id observations register the cluster); it is
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
    expect(await h.store.requestByAuditId(KIEM, KIEM_AUDIT_ID)).toBeUndefined();
    // Lambda redelivers from seq-3 on: now it goes through and the request has both stages.
    const retry = await ingestLogPayloads(items.slice(2), store, { ...opts, stopAtFirstFailure: true });
    expect(retry.failedItemIds).toEqual([]);
    expect(await stagesOf(h.store, KIEM, KIEM_AUDIT_ID)).toEqual(['ResponseStarted', 'ResponseComplete']);
    expect((await chainOf(h.store, KIEM, KIEM_AUDIT_ID))?.request.value?.stage).toBe('ResponseComplete');
  });

  it('fails every record the delivery wrote when putLogBatch stays throttled; the redelivery leaves the table as a clean delivery would', async () => {
    const h = await startStoreHarness(engine);
    const faulty = h.engine.newClient({ maxAttempts: 1 });
    const store = h.storeWith(faulty, { retry: { maxAttempts: 2, sleep: async () => {} } });
    const lines = authenticatorLines('rotel-lambda-forwarder-2025.log');
    const items = [
      item(payload({ ...KIEM, kind: 'audit' }, [{ message: 'not json', timestamp: KIEM_TS, id: 'poison' }]), 'seq-1'),
      item(payload({ ...KIEM, kind: 'authenticator' }, [{ message: lines[0]!, timestamp: KIEM_TS }]), 'seq-2'),
      item(payload({ ...KIEM, kind: 'audit' }, [{ message: kiemStartedLine(), timestamp: KIEM_TS + 4 }]), 'seq-3'),
      item(payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS + 5 }]), 'seq-4'),
    ];
    // The first BatchWrites go through: the pending marks of the principal-id observations
    // (docs/tamper-evidence.md), the cluster's registry item written with those observations, and the
    // pending marks of putLogBatch. Its parts write is then throttled past the store's attempts.
    const faults = injectFaults(faulty, {
      BatchWriteItemCommand: [
        { kind: 'unprocessed', keep: 25 },
        { kind: 'unprocessed', keep: 25 },
        { kind: 'unprocessed', keep: 25 },
        { kind: 'throw', error: throttle },
        { kind: 'throw', error: throttle },
      ],
    });
    const summary = await ingestLogPayloads(items, store, { ...opts, stopAtFirstFailure: true });
    faults.detach();
    expect(faults.fired).toEqual([
      'BatchWriteItemCommand:unprocessed',
      'BatchWriteItemCommand:unprocessed',
      'BatchWriteItemCommand:unprocessed',
      'BatchWriteItemCommand:throw',
      'BatchWriteItemCommand:throw',
    ]);
    // One write for the delivery: every record that held rows fails with it; the poison alone is done.
    expect(summary.outcomes.map((o) => [o.itemId, o.failed])).toEqual([
      ['seq-1', false],
      ['seq-2', true],
      ['seq-3', true],
      ['seq-4', true],
    ]);
    expect(summary).toMatchObject({ quarantined: { AUDIT_NOT_JSON: 1 }, requestsStored: 0, authenticatorRecords: 0 });
    expect(await h.store.requestByAuditId(KIEM, KIEM_AUDIT_ID)).toBeUndefined();

    const retry = await ingestLogPayloads(items.slice(1), store, { ...opts, stopAtFirstFailure: true });
    expect(retry).toMatchObject({ failedItemIds: [], requestsStored: 1, stagesStored: 2, authenticatorRecords: 1 });
    const clean = await startStoreHarness(engine);
    await ingestLogPayloads(items, clean.store, { ...opts, stopAtFirstFailure: true });
    expect(await h.dump()).toEqual(await clean.dump());
  });

  it('quarantines the records of the one Kinesis record the store refuses for good and stores the others', async () => {
    const h = await startStoreHarness(engine);
    const faulty = h.engine.newClient({ maxAttempts: 1 });
    const store = h.storeWith(faulty);
    const lines = authenticatorLines('rotel-lambda-forwarder-2025.log');
    const refused = payload({ ...KIEM, kind: 'authenticator' }, [
      { message: lines[0]!, timestamp: KIEM_TS, id: 'refused-line' },
    ]);
    const fine = payload({ ...KIEM, kind: 'authenticator' }, [
      { message: lines[1]!, timestamp: KIEM_TS + 1, id: 'fine-line' },
    ]);
    // The shape DynamoDB returns for a request it will never accept (HTTP 400, not retryable).
    const validation = () =>
      Object.assign(new Error('One or more parameter values were invalid'), {
        name: 'ValidationException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    // the delivery's write, then the first record's own write, are refused
    const faults = injectFaults(faulty, {
      BatchWriteItemCommand: [
        { kind: 'throw', error: validation },
        { kind: 'throw', error: validation },
      ],
    });
    const summary = await ingestLogPayloads([item(refused, 'k1'), item(fine, 'k2')], store, opts);
    faults.detach();
    expect(summary.failedItemIds).toEqual([]);
    expect(summary.authenticatorRecords).toBe(1);
    expect(summary.quarantined).toEqual({ STORE_REJECTED: 1 });
    const q = await h.store.quarantined('STORE_REJECTED', { from: '2024-08-01T00:00:00Z', to: '2024-09-01T00:00:00Z' });
    expect(q.items.map((r) => [r.sourceId, r.raw])).toEqual([['refused-line', lines[0]]]);
    const records = await h.store.authenticatorRecords(KIEM, day);
    expect(records.items.map((r) => r.origin.eventId)).toEqual(['fine-line']);
  });

  it('stores aws-auth edits before correlating and tells the alert hook which changes are new', async () => {
    const h = await startStoreHarness(engine);
    const notices: MappingChangeNotice[] = [];
    const ct = await ingestCloudTrailEvents([sqs('m1', cloudTrailEvent('createAccessEntry'))], h.store, {
      ...opts,
      onNewMappingChanges: async (n) => void notices.push(n),
    });
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
    const body = cloudTrailEvent('associateAccessPolicy');
    const failing = await ingestCloudTrailEvents([sqs('m', body)], h.store, {
      ...opts,
      onNewMappingChanges: async () => {
        throw new Error('SNS unavailable');
      },
    });
    expect(failing.failedItemIds).toEqual(['m']);
    const notices: MappingChangeNotice[] = [];
    const retried = await ingestCloudTrailEvents([sqs('m', body)], h.store, {
      ...opts,
      onNewMappingChanges: async (n) => void notices.push(n),
    });
    expect(retried.failedItemIds).toEqual([]);
    expect(notices[0]?.newChanges).toEqual([]);
    expect(notices[0]?.redelivered.map((c) => c.op.kind)).toEqual(['access-policy-associate']);
  });

  it('loads evidence with the access keys of the batch so a known issuance names the human at write time', async () => {
    const h = await startStoreHarness(engine);
    await ingestCloudTrailEvents([sqs('ar', cloudTrailEvent('assumeRole'))], h.store, opts);
    expect(await h.store.credential(KIEM_ACCESS_KEY)).toBeDefined();
    const p = payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }]);
    const atWrite: DecisionChain[] = [];
    await ingestLogPayloads([item(p, 'x')], h.store, {
      ...opts,
      onRequestsStored: async (chains) => void atWrite.push(...chains),
    });
    expect(atWrite.map((c) => c.human.value?.credentialEventId)).toEqual(['c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03']);
    // Indexed under the human at ingest, and not left pending for a late issuance.
    expect((await h.store.requestsByHuman(GOMYERS, day)).items).toHaveLength(1);
    expect((await h.store.requestsByAccessKey(KIEM_ACCESS_KEY, day)).items).toEqual([]);
    const chain = await chainOf(h.store, KIEM, KIEM_AUDIT_ID);
    expect(chain?.human.value?.credentialEventId).toBe('c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03');
  });
});

describe('the stored hook over a real engine: first-use alerts once through a failed delivery', () => {
  it('fails the delivery when a publication fails; the redelivery sends only what did not go out', async () => {
    const h = await startStoreHarness(engine);
    // Access entries created through CloudTrail on two clusters: each first use is an alert.
    const other = 'kiem-second';
    await ingestCloudTrailEvents(
      [
        sqs('e1', cloudTrailEvent('createAccessEntry')),
        sqs('p1', cloudTrailEvent('associateAccessPolicy')),
        sqs('e2', cloudTrailEventOn('createAccessEntry', other)),
        sqs('p2', cloudTrailEventOn('associateAccessPolicy', other)),
      ],
      h.store,
      opts,
    );
    const published: Alert[] = [];
    let failNext = 1;
    const wiring = {
      ledger: new DynamoDbAlertLedger(engine.client, { tableName: h.tableName }),
      usage: new DynamoDbMappingUsageStore(engine.client, { tableName: h.tableName }),
      config: DEFAULT_ALERT_CONFIG,
      sink: {
        // The second publication of the first delivery fails (SNS throttled it).
        publish: async (a: Alert) => {
          if (published.length === 1 && failNext-- > 0) throw new Error('Rate exceeded');
          published.push(a);
        },
      },
    };
    const hookErrors: unknown[] = [];
    const hook = requestsStoredHookFor(wiring);
    const onRequestsStored = async (chains: readonly DecisionChain[]) => {
      try {
        await hook(chains);
      } catch (err) {
        hookErrors.push(err);
        throw err;
      }
    };
    const delivery = [
      item(payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }]), 'r1'),
      item(
        payload({ ...KIEM, cluster: other, kind: 'audit' }, [
          { message: JSON.stringify(kiemEvent()), timestamp: KIEM_TS },
        ]),
        'r2',
      ),
    ];
    const failed = await ingestLogPayloads(delivery, h.store, { ...opts, onRequestsStored });
    expect(failed.failedItemIds).toEqual(['r1', 'r2']);
    expect(hookErrors[0]).toBeInstanceOf(AlertDispatchError);
    expect(published).toHaveLength(1);
    // The requests were stored all the same (the redelivery rewrites the same items).
    expect(failed.requestsStored).toBe(2);

    const retried = await ingestLogPayloads(delivery, h.store, { ...opts, onRequestsStored });
    expect(retried.failedItemIds).toEqual([]);
    // Each cluster's first use went out exactly once over the two deliveries.
    expect(published.map((a) => [a.ruleId, a.cluster]).sort()).toEqual([
      ['new-mapping-first-use', KIEM.cluster],
      ['new-mapping-first-use', other],
    ]);
    expect(new Set(published.map((a) => a.alertId)).size).toBe(2);
    // A third delivery of the same records publishes nothing.
    await ingestLogPayloads(delivery, h.store, { ...opts, onRequestsStored });
    expect(published).toHaveLength(2);
  });
});

describe('the stored hook over a real engine: a usage write that meets a throttle', () => {
  it('fails the delivery, and the redelivery records the use and sends the first-use alert once', async () => {
    const h = await startStoreHarness(engine);
    await ingestCloudTrailEvents(
      [sqs('e1', cloudTrailEvent('createAccessEntry')), sqs('p1', cloudTrailEvent('associateAccessPolicy'))],
      h.store,
      opts,
    );
    const usageClient = engine.newClient({ maxAttempts: 1 });
    const published: Alert[] = [];
    const hook = requestsStoredHookFor({
      ledger: new DynamoDbAlertLedger(engine.client, { tableName: h.tableName }),
      usage: new DynamoDbMappingUsageStore(usageClient, { tableName: h.tableName }),
      config: DEFAULT_ALERT_CONFIG,
      sink: { publish: async (a: Alert) => void published.push(a) },
    });
    const delivery = [item(payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }]), 'r1')];
    const faults = injectFaults(usageClient, { PutItemCommand: [{ kind: 'throw', error: throttle }] });
    const failed = await ingestLogPayloads(delivery, h.store, { ...opts, onRequestsStored: hook });
    faults.detach();
    expect(faults.fired).toEqual(['PutItemCommand:throw']);
    expect(failed.failedItemIds).toEqual(['r1']);
    expect(published).toEqual([]);
    const retried = await ingestLogPayloads(delivery, h.store, { ...opts, onRequestsStored: hook });
    expect(retried.failedItemIds).toEqual([]);
    expect(published.map((a) => a.ruleId)).toEqual(['new-mapping-first-use']);
    await ingestLogPayloads(delivery, h.store, { ...opts, onRequestsStored: hook });
    expect(published).toHaveLength(1);
  });
});

describe('late issuance through a role chain (credentialsIssuedTo), real engine', () => {
  const whoDid = async (store: Parameters<typeof runQuestion>[0], human: string) => {
    const p = parseQuestionParams('who-did', { human, from: day.from, to: day.to }, NOW);
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    return (await runQuestion(store, p.value)).rows as RequestRow[];
  };

  it.each([
    ['the first hop, then the second', [chainHop1, chainHop2], false],
    ['the second hop, then the first', [chainHop2, chainHop1], false],
    ['both hops in one SQS batch, second first', [chainHop2, chainHop1], true],
  ])(
    'who-did by human finds a request made with the chained key when both issuances arrive after it: %s',
    async (_order, hops, oneBatch) => {
      const h = await startStoreHarness(engine);
      await ingestLogPayloads(
        [item(payload({ ...KIEM, kind: 'audit' }, [{ message: chainedRequestLine(), timestamp: KIEM_TS }]), 'r')],
        h.store,
        opts,
      );
      expect(await whoDid(h.store, ALICE)).toEqual([]);
      expect((await h.store.requestsByAccessKey(CHAIN_KEY_2, day)).items).toHaveLength(1);

      const batches = oneBatch ? [hops] : hops.map((hop) => [hop]);
      for (const [b, batch] of batches.entries()) {
        const s = await ingestCloudTrailEvents(
          batch.map((hop, i) => sqs(`hop-${b}-${i}`, hop())),
          h.store,
          opts,
        );
        expect(s.failedItemIds).toEqual([]);
      }
      const rows = await whoDid(h.store, ALICE);
      expect(rows.map((r) => [r.auditID, r.human?.identity, r.principal.accessKeyId])).toEqual([
        [CHAIN_AUDIT_ID, ALICE, CHAIN_KEY_2],
      ]);
      // Nothing else is attributed to alice, and the request is no longer attributed to the role session alone.
      expect(await whoDid(h.store, 'arn:aws:sts::211125685544:assumed-role/deployer/alice-deploy')).toEqual([]);
    },
  );

  it('re-derives a late request of the directly issued key too, and a redelivered issuance changes nothing', async () => {
    const h = await startStoreHarness(engine);
    await ingestLogPayloads(
      [item(payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }]), 'r')],
      h.store,
      opts,
    );
    const first = await ingestCloudTrailEvents([sqs('ar', cloudTrailEvent('assumeRole'))], h.store, opts);
    expect(first).toMatchObject({ newCredentials: 1, requestsReenriched: 1, failedItemIds: [] });
    expect((await whoDid(h.store, GOMYERS)).map((r) => r.auditID)).toEqual([KIEM_AUDIT_ID]);
    const before = await h.dump();
    const again = await ingestCloudTrailEvents([sqs('ar', cloudTrailEvent('assumeRole'))], h.store, opts);
    expect(again).toMatchObject({ newCredentials: 0, failedItemIds: [] });
    expect(await h.dump()).toEqual(before);
  });
});

describe('a name the API server generated (generateName), real engine', () => {
  // The real KIEMPossible event turned into a create of a pod with generateName (derived: verb,
  // objectRef and URI changed, the response body added as the RequestResponse level logs it).
  const GENERATED = 'web-7f9c4-x2k8q';
  const createLine = (): string => {
    const e = kiemEvent();
    e['auditID'] = 'c0ffee00-0000-4000-8000-00000000a001';
    e['verb'] = 'create';
    e['level'] = 'RequestResponse';
    e['requestURI'] = '/api/v1/namespaces/web/pods';
    e['objectRef'] = { resource: 'pods', namespace: 'web', apiVersion: 'v1' };
    e['responseStatus'] = { metadata: {}, code: 201 };
    e['requestObject'] = { kind: 'Pod', apiVersion: 'v1', metadata: { generateName: 'web-7f9c4-' } };
    e['responseObject'] = {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: GENERATED, generateName: 'web-7f9c4-', namespace: 'web', uid: 'u-1' },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    };
    return JSON.stringify(e);
  };

  it('is stored with the request, so touched finds the object and explain names it', async () => {
    const h = await startStoreHarness(engine);
    const s = await ingestLogPayloads(
      [item(payload({ ...KIEM, kind: 'audit' }, [{ message: createLine(), timestamp: KIEM_TS }]), 'g')],
      h.store,
      opts,
    );
    expect(s.failedItemIds).toEqual([]);
    const ask = async (question: string, params: Record<string, string>) => {
      const p = parseQuestionParams(question, params, NOW);
      if (!p.ok) throw new Error(JSON.stringify(p.issues));
      return runQuestion(h.store, p.value);
    };
    const touched = await ask('touched', { cluster: KIEM.cluster, target: `web/pods/${GENERATED}`, ...day });
    expect((touched.rows as RequestRow[]).map((r) => [r.verb, r.target, r.name])).toEqual([
      ['create', `web/pods/${GENERATED}`, GENERATED],
    ]);
    const explain = await ask('explain', { cluster: KIEM.cluster, 'audit-id': 'c0ffee00-0000-4000-8000-00000000a001' });
    const request = (
      explain.rows as { link: string; value: { name?: string }; evidence: string[]; why: string }[]
    ).find((r) => r.link === 'request');
    expect(request?.value.name).toBe(GENERATED);
    expect(request?.evidence).toContain('audit:responseObject.metadata.name');
    expect(request?.why).toContain('generated by the API server');
    // The stored facts keep that one field of the body, not the body.
    const stored = await h.store.requestByAuditId(
      { accountId: KIEM.accountId, cluster: KIEM.cluster },
      'c0ffee00-0000-4000-8000-00000000a001',
    );
    const event = stored?.kind === 'request' ? stored.stages[0]?.event : undefined;
    expect(event?.responseObject).toEqual({ metadata: { name: GENERATED } });
    expect(event?.requestObject).toBeUndefined();
  });
});
