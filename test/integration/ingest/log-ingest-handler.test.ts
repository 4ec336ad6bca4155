import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { injectFaults, throttle } from '../../support/ddb-faults.js';
import { createTestTable, type Engine, startEngine, stubHandlerEnv } from '../../support/engine.js';
import { dumpTable } from '../../support/table-dump.js';
import {
  authenticatorLines,
  awslogsEvent,
  chainOf,
  derived,
  gzipBase64,
  KIEM,
  KIEM_AUDIT_ID,
  KIEM_TS,
  kiemLine,
  kiemStartedLine,
  kiemTruncatedLine,
  kinesisEvent,
  lambdaContext,
  PANTHER,
  pantherLogs,
  payload,
  stagesOf,
} from './scenario.js';

/**
 * The real Lambda handler (middy, Powertools, module-level DynamoDB client) against a real engine:
 * the handler finds it through AWS_ENDPOINT_URL_DYNAMODB, as it would find DynamoDB in AWS.
 */

type Handler = (event: unknown, context: unknown) => Promise<KinesisStreamBatchResponse | undefined>;

let engine: Engine;
let tableName: string;
let handler: Handler;
let handlerClient: DynamoDBClient;
let reader: DynamoDbTrailStore;
const context = lambdaContext('log-ingest');
const day = { from: '2024-08-24T00:00:00Z', to: '2024-08-25T00:00:00Z' };

beforeAll(async () => {
  engine = await startEngine();
  tableName = await createTestTable(engine.client);
  stubHandlerEnv(engine, tableName);
  vi.resetModules();
  const mod = await import('../../../functions/log-ingest.js');
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

const auditPayload = () =>
  payload({ ...KIEM, kind: 'audit' }, [
    { message: kiemStartedLine(), timestamp: KIEM_TS - 10 },
    { message: kiemLine(), timestamp: KIEM_TS },
  ]);

const authnPayload = () =>
  payload(
    { ...KIEM, kind: 'authenticator' },
    [
      ...authenticatorLines('rotel-lambda-forwarder-2025.log'),
      ...authenticatorLines('aws-knowledge-center-eks-api-server-unauthorized.log'),
    ].map((message, i) => ({ message, timestamp: KIEM_TS - 30_000 + i })),
  );

describe('log-ingest handler, Kinesis delivery', () => {
  it('turns a batch of real lines into queryable requests and quarantines the poison, reporting no failure for it', async () => {
    const audit = auditPayload();
    const authn = authnPayload();
    const panther = payload(
      { ...PANTHER, kind: 'audit' },
      pantherLogs().map((l, i) => ({ message: JSON.stringify(l), timestamp: 1_669_762_000_000 + i })),
    );
    const notEks = payload({ ...KIEM, kind: 'audit', logGroup: '/aws/rds/instance/db-1/postgresql' }, [
      { message: kiemLine(), timestamp: KIEM_TS },
    ]);
    const truncated = payload({ ...KIEM, kind: 'audit' }, [
      { message: kiemTruncatedLine(), timestamp: KIEM_TS + 1 },
      { message: '{"kind":"Event"', timestamp: KIEM_TS + 2, id: 'poison-json' },
    ]);
    const event = kinesisEvent([
      gzipBase64(audit),
      Buffer.from('definitely not gzip').toString('base64'),
      gzipBase64(authn),
      gzipBase64(panther),
      gzipBase64(notEks),
      gzipBase64(truncated),
    ]);
    const res = await handler(event, context);
    expect(res).toEqual({ batchItemFailures: [] });

    const chain = await chainOf(reader, KIEM, KIEM_AUDIT_ID);
    expect(chain?.request.value).toMatchObject({ stage: 'ResponseComplete', verb: 'list', statusCode: 200 });
    expect(chain?.k8sIdentity.value?.username).toBe(
      'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
    );
    expect(await stagesOf(reader, KIEM, KIEM_AUDIT_ID)).toEqual(['ResponseStarted', 'ResponseComplete']);
    const byPrincipal = await reader.requestsByPrincipal('arn:aws:iam::211125685544:role/sso_admin', day);
    expect((await derived(reader, byPrincipal.items)).map((c) => c.chainId)).toEqual([
      `${KIEM.cluster}#${KIEM_AUDIT_ID}`,
    ]);
    const denials = await reader.denials(KIEM, day);
    expect(denials.items.filter((d) => d.kind === 'authn-failure')).toHaveLength(2);
    // Panther's samples are synthetic here (decision allow with a 403 status): stored as given.
    const twoStages = await chainOf(reader, PANTHER, 'c8c5bc49-cd5d-45d6-999c-b55783c7840f');
    expect(twoStages?.request.value).toMatchObject({ stage: 'ResponseComplete', statusCode: 403 });
    const pantherRequests = await reader.requestsByCluster(PANTHER, {
      from: '2022-11-29T00:00:00Z',
      to: '2022-11-30T00:00:00Z',
    });
    expect(pantherRequests.items.map((r) => (r.kind === 'request' ? r.auditID : r.kind)).sort()).toEqual([
      '35506555-dffc-4337-b2b1-c4af52b88e18',
      'c8c5bc49-cd5d-45d6-999c-b55783c7840f',
      'e2626946-90e1-4d0c-829e-ad5a78572926',
    ]);

    const q = await reader.quarantined(undefined, day, { limit: 100 });
    expect(q.items.map((r) => r.code).sort()).toEqual([
      'AUDIT_NOT_JSON',
      'ENVELOPE_NOT_EKS_LOG_GROUP',
      'ENVELOPE_NOT_GZIP',
    ]);
    const badGzip = q.items.find((r) => r.code === 'ENVELOPE_NOT_GZIP');
    expect(badGzip).toMatchObject({ source: 'kinesis-record', sourceId: event.Records[1]!.kinesis.sequenceNumber });
    expect(q.items.find((r) => r.code === 'AUDIT_NOT_JSON')?.raw).toBe('{"kind":"Event"');
  });

  it('leaves the table byte-identical when the same batch is delivered again', async () => {
    const event = kinesisEvent([gzipBase64(auditPayload()), gzipBase64(authnPayload())]);
    await handler(event, context);
    const before = await dumpTable(engine.client, tableName);
    const again = await handler(event, context);
    expect(again).toEqual({ batchItemFailures: [] });
    expect(await dumpTable(engine.client, tableName)).toEqual(before);
  });

  it('absorbs a short throttle through the store retries', async () => {
    // putLogBatch's writes: throttled, then half left unprocessed, then through.
    const faults = injectFaults(handlerClient, {
      BatchWriteItemCommand: [
        { kind: 'throw', error: throttle },
        { kind: 'throw', error: throttle },
        { kind: 'unprocessed', keep: 1 },
      ],
    });
    const p = payload({ ...KIEM, kind: 'audit' }, [{ message: kiemTruncatedLine(), timestamp: KIEM_TS + 100 }]);
    const res = await handler(kinesisEvent([gzipBase64(p)]), context);
    faults.detach();
    expect(faults.fired).toEqual([
      'BatchWriteItemCommand:throw',
      'BatchWriteItemCommand:throw',
      'BatchWriteItemCommand:unprocessed',
    ]);
    expect(res).toEqual({ batchItemFailures: [] });
  });

  it('reports the first record that stayed throttled, so Lambda resumes the shard from it', async () => {
    // The poison record before it is not failed with the write (it holds no row): it is quarantined now.
    // More throttles than the store's bounded attempts: the write gives up as a transient fault.
    const faults = injectFaults(handlerClient, {
      BatchWriteItemCommand: Array.from({ length: 8 }, () => ({ kind: 'throw' as const, error: throttle })),
    });
    const poison = Buffer.from('garbage').toString('base64');
    const p = payload({ ...KIEM, kind: 'authenticator' }, [
      { message: authenticatorLines('rotel-lambda-forwarder-2025.log')[1]!, timestamp: KIEM_TS + 200 },
    ]);
    const event = kinesisEvent([poison, gzipBase64(p), gzipBase64(p)]);
    const res = await handler(event, context);
    faults.detach();
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
  });
});

describe('log-ingest handler, direct CloudWatch Logs subscription', () => {
  it('stores an awslogs payload and acknowledges it', async () => {
    const p = payload({ ...PANTHER, kind: 'audit' }, [
      { message: JSON.stringify(pantherLogs()[0]), timestamp: 1_669_680_544_000 },
    ]);
    await expect(handler(awslogsEvent(p), context)).resolves.toBeUndefined();
    const chain = await chainOf(reader, PANTHER, '35506555-dffc-4337-b2b1-c4af52b88e18');
    expect(chain?.k8sIdentity.value?.username).toBe('kubernetes-admin');
  });

  it('quarantines an undecodable payload without asking for a retry', async () => {
    await expect(handler({ awslogs: { data: 'H4sI!!!not-base64' } }, context)).resolves.toBeUndefined();
  });

  it('throws on a transient fault so Lambda retries the whole payload', async () => {
    const faults = injectFaults(handlerClient, {
      BatchWriteItemCommand: Array.from({ length: 8 }, () => ({ kind: 'throw' as const, error: throttle })),
    });
    const p = payload({ ...KIEM, kind: 'authenticator' }, [
      { message: authenticatorLines('rotel-lambda-forwarder-2025.log')[0]!, timestamp: KIEM_TS + 300 },
    ]);
    await expect(handler(awslogsEvent(p), context)).rejects.toMatchObject({ name: 'TransientIngestError' });
    faults.detach();
    await expect(handler(awslogsEvent(p), context)).resolves.toBeUndefined();
  });

  it('quarantines an event of an unknown shape instead of failing', async () => {
    await expect(handler({ hello: 'world' }, context)).resolves.toBeUndefined();
    const q = await reader.quarantined('ENVELOPE_SHAPE', {
      from: new Date(Date.now() - 3_600_000).toISOString(),
      to: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(q.items.map((r) => r.raw)).toContain('{"hello":"world"}');
  });
});
