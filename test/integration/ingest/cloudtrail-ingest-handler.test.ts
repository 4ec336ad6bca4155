import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { injectFaults, throttle } from '../../support/ddb-faults.js';
import { createTestTable, type Engine, startEngine, stubHandlerEnv } from '../../support/engine.js';
import { dumpTable } from '../../support/table-dump.js';
import {
  ALICE,
  CHAIN_AUDIT_ID,
  chainedRequestLine,
  chainHop1,
  chainHop2,
  chainOf,
  cloudTrailEvent,
  KIEM,
  KIEM_ACCESS_KEY,
  KIEM_AUDIT_ID,
  KIEM_TS,
  kiemLine,
  lambdaContext,
  payload,
  sqsEvent,
} from './scenario.js';

type Handler = (event: unknown, context: unknown) => Promise<SQSBatchResponse | undefined>;

let engine: Engine;
let tableName: string;
let handler: Handler;
let handlerClient: DynamoDBClient;
let reader: DynamoDbTrailStore;
const context = lambdaContext('cloudtrail-ingest');
const body = (name: Parameters<typeof cloudTrailEvent>[0]) => JSON.stringify(cloudTrailEvent(name));
const day = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' };
const GOMYERS = 'arn:aws:iam::211125685544:user/gomyers';

beforeAll(async () => {
  engine = await startEngine();
  tableName = await createTestTable(engine.client);
  stubHandlerEnv(engine, tableName);
  vi.resetModules();
  const mod = await import('../../../functions/cloudtrail-ingest.js');
  handler = mod.handler as unknown as Handler;
  handlerClient = mod.dynamoDbClient;
  // SNS has no local engine; alert publishing itself is covered by alert-wiring.test.ts.
  mockClient(mod.snsClient).on(PublishCommand).resolves({ MessageId: 'm' });
  reader = new DynamoDbTrailStore(engine.client, { tableName });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await engine?.stop();
});

describe('cloudtrail-ingest handler, SQS delivery', () => {
  it('stores mapping changes and issuances, re-derives the human of earlier requests, and quarantines poison without failing it', async () => {
    // The request arrives first (CloudTrail lags minutes): its human is unknown at write time.
    await ingestLogPayloads(
      [payload({ ...KIEM, kind: 'audit' }, [{ message: kiemLine(), timestamp: KIEM_TS }])],
      reader,
      { now: () => KIEM_TS },
    );
    expect((await chainOf(reader, KIEM, KIEM_AUDIT_ID))?.human.status).toBe('unknown');
    expect((await reader.requestsByHuman(GOMYERS, day)).items).toEqual([]);

    const event = sqsEvent([
      body('createAccessEntry'),
      body('associateAccessPolicy'),
      body('assumeRole'),
      body('failedCreateAccessEntry'),
      body('describeCluster'),
      'this body is not JSON',
      JSON.stringify({
        ...cloudTrailEvent('createAccessEntry'),
        'detail-type': 'EC2 Instance State-change Notification',
      }),
      body('createAccessEntry'),
    ]);
    const res = await handler(event, context);
    expect(res).toEqual({ batchItemFailures: [] });

    const changes = await reader.mappingChanges(KIEM);
    const fromCloudTrail = changes.filter((c) => c.source === 'cloudtrail');
    expect(fromCloudTrail.map((c) => c.op.kind).sort()).toEqual(['access-entry-put', 'access-policy-associate']);
    expect(fromCloudTrail.every((c) => c.actor.aws?.arn === 'arn:aws:iam::211125685544:user/platform-admin')).toBe(
      true,
    );

    const cred = await reader.credential(KIEM_ACCESS_KEY);
    expect(cred).toMatchObject({ roleArn: 'arn:aws:iam::211125685544:role/sso_admin', api: 'AssumeRole' });
    expect(cred?.caller.arn).toBe('arn:aws:iam::211125685544:user/gomyers');

    const chain = await chainOf(reader, KIEM, KIEM_AUDIT_ID);
    expect(chain?.human.status).not.toBe('unknown');
    expect(chain?.human.value?.credentialEventId).toBe('c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03');
    // The late issuance indexed the human of the request stored before it (putLateLinks).
    const byHuman = await reader.requestsByHuman(GOMYERS, day);
    expect(byHuman.items.map((r) => r.kind === 'request' && r.auditID)).toEqual([KIEM_AUDIT_ID]);

    const q = await reader.quarantined(undefined, day, { limit: 50 });
    const poison = q.items.filter((r) => r.source === 'sqs-message');
    expect(poison.map((r) => [r.sourceId, r.code]).sort()).toEqual(
      [
        [event.Records[5]!.messageId, 'ENVELOPE_NOT_JSON'],
        [event.Records[6]!.messageId, 'ENVELOPE_SHAPE'],
      ].sort(),
    );
    expect(poison.find((r) => r.code === 'ENVELOPE_NOT_JSON')?.raw).toBe('this body is not JSON');
  });

  it('follows a role chain: the first hop arriving last still indexes the human of a request made with the second key', async () => {
    await ingestLogPayloads(
      [payload({ ...KIEM, kind: 'audit' }, [{ message: chainedRequestLine(), timestamp: KIEM_TS }])],
      reader,
      { now: () => KIEM_TS },
    );
    expect(await handler(sqsEvent([JSON.stringify(chainHop2())]), context)).toEqual({ batchItemFailures: [] });
    expect((await reader.requestsByHuman(ALICE, day)).items).toEqual([]);
    expect(await handler(sqsEvent([JSON.stringify(chainHop1())]), context)).toEqual({ batchItemFailures: [] });
    const byHuman = await reader.requestsByHuman(ALICE, day);
    expect(byHuman.items.map((r) => r.kind === 'request' && r.auditID)).toEqual([CHAIN_AUDIT_ID]);
    expect((await chainOf(reader, KIEM, CHAIN_AUDIT_ID))?.human.value).toMatchObject({ identity: ALICE });
  });

  it('leaves the table byte-identical when the same messages are delivered again', async () => {
    const event = sqsEvent([body('createAccessEntry'), body('associateAccessPolicy'), body('assumeRole')]);
    await handler(event, context);
    const before = await dumpTable(engine.client, tableName);
    expect(await handler(sqsEvent(event.Records.map((r) => r.body)), context)).toEqual({ batchItemFailures: [] });
    expect(await dumpTable(engine.client, tableName)).toEqual(before);
  });

  it('returns exactly the throttled message to the queue', async () => {
    const stsOnly = {
      ...cloudTrailEvent('assumeRole'),
      detail: {
        ...(cloudTrailEvent('assumeRole')['detail'] as Record<string, unknown>),
        eventID: 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3eff',
        responseElements: {
          credentials: { accessKeyId: 'ASIATCKASJUUTHROTTLE', expiration: 'Aug 24, 2024, 3:20:00 PM' },
          assumedRoleUser: {
            assumedRoleId: 'AROATCKASJUUBCXRRKSFT:other',
            arn: 'arn:aws:sts::211125685544:assumed-role/sso_admin/other',
          },
        },
      },
    };
    // Credentials are written with conditional puts; the first message exhausts the store's attempts.
    const faults = injectFaults(handlerClient, {
      PutItemCommand: Array.from({ length: 8 }, () => ({ kind: 'throw' as const, error: throttle })),
    });
    const event = sqsEvent([JSON.stringify(stsOnly), 'poison', body('failedCreateAccessEntry')]);
    const res = await handler(event, context);
    faults.detach();
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
    expect(await reader.credential('ASIATCKASJUUTHROTTLE')).toBeUndefined();
    expect(await handler(sqsEvent([JSON.stringify(stsOnly)]), context)).toEqual({ batchItemFailures: [] });
    expect(await reader.credential('ASIATCKASJUUTHROTTLE')).toBeDefined();
  });
});

describe('cloudtrail-ingest handler, records the store refuses for good', () => {
  /** The scenario's event with one field replaced, under its own eventID. */
  const variant = (name: Parameters<typeof cloudTrailEvent>[0], eventID: string, patch: Record<string, unknown>) => {
    const e = cloudTrailEvent(name);
    return { ...e, detail: { ...(e['detail'] as Record<string, unknown>), eventID, ...patch } };
  };
  // DynamoDB refuses a partition key over 2048 bytes (ValidationException, never retryable): an
  // access key id or a cluster name of 3000 characters lands in one.
  const assumeRole = cloudTrailEvent('assumeRole')['detail'] as { responseElements: Record<string, never> };
  const hugeKey = variant('assumeRole', 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3ea1', {
    responseElements: {
      ...assumeRole.responseElements,
      credentials: { accessKeyId: `ASIA${'X'.repeat(3000)}`, expiration: 'Aug 24, 2024, 3:20:00 PM' },
    },
  });
  const hugeClusterParameters = {
    name: `k${'x'.repeat(3000)}`,
    principalArn: 'arn:aws:iam::211125685544:role/sso_admin',
  };
  const hugeCluster = variant('createAccessEntry', 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3ea2', {
    requestParameters: hugeClusterParameters,
  });

  it('quarantines the refused event as STORE_REJECTED with its raw text, acknowledges it, and stores its neighbours', async () => {
    const neighbour = variant('associateAccessPolicy', 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3ea3', {});
    const event = sqsEvent([JSON.stringify(hugeKey), JSON.stringify(hugeCluster), JSON.stringify(neighbour)]);
    const res = await handler(event, context);
    // Acknowledged: retrying a refusal would only cycle it to the DLQ without its diagnosis.
    expect(res).toEqual({ batchItemFailures: [] });

    const q = await reader.quarantined('STORE_REJECTED', day, { limit: 50 });
    const mine = q.items.filter((r) => event.Records.some((m) => m.messageId === r.sourceId));
    expect(mine.map((r) => r.sourceId).sort()).toEqual(
      [event.Records[0]!.messageId, event.Records[1]!.messageId].sort(),
    );
    for (const r of mine) {
      const sent = event.Records.find((m) => m.messageId === r.sourceId)!;
      expect(r.source).toBe('sqs-message');
      expect(r.raw).toBe(sent.body);
      expect(r.issues[0]!.message).toMatch(/store refused the (credential issuance|mapping changes).*2048 bytes/);
    }
    expect(mine.find((r) => r.sourceId === event.Records[1]!.messageId)?.accountId).toBe('211125685544');

    const changes = await reader.mappingChanges(KIEM);
    expect(changes.some((c) => c.sourceEventId === 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3ea3')).toBe(true);
  });

  it('redelivers the event when the quarantine write itself meets a transient fault', async () => {
    const again = variant('createAccessEntry', 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3ea4', {
      requestParameters: hugeClusterParameters,
    });
    // The refusal comes from the engine (BatchWriteItem of the cluster registry); the quarantine
    // write (PutItem) is then throttled past the store's attempts.
    const faults = injectFaults(handlerClient, {
      PutItemCommand: Array.from({ length: 8 }, () => ({ kind: 'throw' as const, error: throttle })),
    });
    const event = sqsEvent([JSON.stringify(again)]);
    const res = await handler(event, context);
    faults.detach();
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    const q = await reader.quarantined('STORE_REJECTED', day, { limit: 50 });
    expect(q.items.some((r) => r.sourceId === event.Records[0]!.messageId)).toBe(true);
  });
});

describe('cloudtrail-ingest handler, direct EventBridge invocation', () => {
  it('ingests one EventBridge event', async () => {
    await expect(handler(cloudTrailEvent('createAccessEntry'), context)).resolves.toBeUndefined();
    const changes = await reader.mappingChanges(KIEM);
    expect(changes.some((c) => c.sourceEventId === 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e01')).toBe(true);
  });

  it('throws on a transient fault so EventBridge redelivers', async () => {
    const event = {
      ...cloudTrailEvent('associateAccessPolicy'),
      detail: {
        ...(cloudTrailEvent('associateAccessPolicy')['detail'] as Record<string, unknown>),
        eventID: 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3eee',
      },
    };
    const faults = injectFaults(handlerClient, {
      PutItemCommand: Array.from({ length: 8 }, () => ({ kind: 'throw' as const, error: throttle })),
    });
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'TransientIngestError' });
    faults.detach();
    await expect(handler(event, context)).resolves.toBeUndefined();
  });
});
