import { PublishCommand, type PublishCommandInput, type SNSClient } from '@aws-sdk/client-sns';
import type { KinesisStreamBatchResponse, SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbAlertLedger } from '../../../lib/store/dynamodb/alert-ledger.js';
import { DynamoDbMappingUsageStore } from '../../../lib/store/dynamodb/mapping-usage.js';
import { createTestTable, type Engine, startEngine, stubHandlerEnv } from '../../support/engine.js';
import {
  cloudTrailEvent,
  cloudTrailEventOn,
  gzipBase64,
  KIEM,
  KIEM_TS,
  kiemEvent,
  kinesisEvent,
  lambdaContext,
  payload,
  sqsEvent,
} from './scenario.js';

/**
 * The alert wiring of both ingest handlers, end to end: real handler modules (middy, Powertools), the
 * real table on a local engine for the trail, the alert ledger and mapping usage; SNS faked with
 * aws-sdk-client-mock on the handlers' own client, since SNS has no local engine.
 */

type Handler<R> = (event: unknown, context: unknown) => Promise<R | undefined>;

const mockSns = (client: SNSClient) => mockClient(client);
type SnsMock = ReturnType<typeof mockSns>;

const TOPIC = 'arn:aws:sns:us-east-1:111111111111:eks-access-trail-alerts';
let engine: Engine;
let tableName: string;
let ctHandler: Handler<SQSBatchResponse>;
let logHandler: Handler<KinesisStreamBatchResponse>;
let ctSns: SnsMock;
let logSns: SnsMock;

const published = (m: SnsMock): PublishCommandInput[] => m.commandCalls(PublishCommand).map((c) => c.args[0].input);
const attrs = (p: PublishCommandInput) => ({
  ruleId: p.MessageAttributes?.['ruleId']?.StringValue,
  severity: p.MessageAttributes?.['severity']?.StringValue,
  cluster: p.MessageAttributes?.['cluster']?.StringValue,
});

beforeAll(async () => {
  engine = await startEngine();
  tableName = await createTestTable(engine.client);
  stubHandlerEnv(engine, tableName, {
    ALERT_TOPIC_ARN: TOPIC,
    // The kiem account itself is always trusted; 012345678901 (the stratus backdoor role) is not.
    TRUSTED_ACCOUNT_IDS: '111111111111',
    RECENT_MAPPING_DAYS: '7',
  });
  vi.resetModules();
  const ct = await import('../../../functions/cloudtrail-ingest.js');
  const log = await import('../../../functions/log-ingest.js');
  ctHandler = ct.handler as unknown as Handler<SQSBatchResponse>;
  logHandler = log.handler as unknown as Handler<KinesisStreamBatchResponse>;
  ctSns = mockSns(ct.snsClient);
  logSns = mockSns(log.snsClient);
});

beforeEach(() => {
  ctSns.reset();
  logSns.reset();
  ctSns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  logSns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  ctSns?.restore();
  logSns?.restore();
  await engine?.stop();
});

const ctBatch = () =>
  sqsEvent([
    JSON.stringify(cloudTrailEvent('createAccessEntry')),
    JSON.stringify(cloudTrailEvent('associateAccessPolicy')),
  ]);

/** The kiem request (sso_admin through its access entry) as one Kinesis record, on a chosen cluster. */
const kiemRecord = (cluster: string = KIEM.cluster) =>
  gzipBase64(
    payload({ ...KIEM, cluster, kind: 'audit' }, [{ message: JSON.stringify(kiemEvent()), timestamp: KIEM_TS }]),
  );

describe('cloudtrail-ingest publishes access-entry alerts', () => {
  it('CreateAccessEntry + AssociateAccessPolicy(ClusterAdmin): alerts once, and nothing on a redelivered batch', async () => {
    const res = await ctHandler(ctBatch(), lambdaContext('cloudtrail-ingest'));
    expect(res).toEqual({ batchItemFailures: [] });
    const first = published(ctSns);
    expect(first.every((p) => p.TopicArn === TOPIC)).toBe(true);
    expect(first.map(attrs)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ruleId: 'access-entry-created', cluster: KIEM.cluster }),
        expect.objectContaining({ ruleId: 'access-policy-associated', cluster: KIEM.cluster }),
      ]),
    );
    const policy = first.find((p) => attrs(p).ruleId === 'access-policy-associated')!;
    expect(['critical', 'high']).toContain(attrs(policy).severity);
    expect(policy.Message).toContain('AmazonEKSClusterAdminPolicy');
    // The ledger holds exactly what went out.
    const ledger = new DynamoDbAlertLedger(engine.client, { tableName });
    const entries = await ledger.alertsByCluster(KIEM);
    expect(entries.map((e) => e.ruleId).sort()).toEqual(first.map((p) => attrs(p).ruleId).sort());
    expect(entries.every((e) => e.state === 'claimed')).toBe(true);

    // SQS redelivers the very same messages (visibility timeout, duplicate EventBridge delivery).
    ctSns.resetHistory();
    expect(await ctHandler(ctBatch(), lambdaContext('cloudtrail-ingest'))).toEqual({ batchItemFailures: [] });
    expect(published(ctSns)).toEqual([]);
  });
});

describe('log-ingest publishes first-use alerts', () => {
  it('the first request through the new access entry alerts once; a redelivered record alerts no more', async () => {
    // The access entry of 2024-08-20 is in the trail (previous test); the request is 2024-08-24.
    const res = await logHandler(kinesisEvent([kiemRecord()]), lambdaContext('log-ingest'));
    expect(res).toEqual({ batchItemFailures: [] });
    const sent = published(logSns);
    expect(sent.map(attrs)).toEqual([{ ruleId: 'new-mapping-first-use', severity: 'high', cluster: KIEM.cluster }]);
    expect(sent[0]!.Message).toContain('sso_admin');

    const usage = await new DynamoDbMappingUsageStore(engine.client, { tableName }).list(KIEM.cluster, KIEM.accountId);
    expect(usage).toEqual([
      expect.objectContaining({
        mappingKey: expect.stringContaining('sso_admin'),
        firstUsedAt: expect.stringMatching(/^2024-08-24T14:27:07/),
      }),
    ]);

    logSns.resetHistory();
    expect(await logHandler(kinesisEvent([kiemRecord()]), lambdaContext('log-ingest'))).toEqual({
      batchItemFailures: [],
    });
    expect(published(logSns)).toEqual([]);
  });

  it('an SNS failure fails the Kinesis record; the retry sends the first-use alert exactly once', async () => {
    const cluster = 'kiem-retry';
    // Same access entry on a second cluster, created through CloudTrail.
    await ctHandler(
      sqsEvent([
        JSON.stringify(cloudTrailEventOn('createAccessEntry', cluster)),
        JSON.stringify(cloudTrailEventOn('associateAccessPolicy', cluster)),
      ]),
      lambdaContext('cloudtrail-ingest'),
    );

    logSns.on(PublishCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' }));
    const event = kinesisEvent([kiemRecord(cluster)]);
    const failed = await logHandler(event, lambdaContext('log-ingest'));
    expect(failed?.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.kinesis.sequenceNumber }]);

    logSns.reset();
    logSns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    expect(await logHandler(event, lambdaContext('log-ingest'))).toEqual({ batchItemFailures: [] });
    expect(published(logSns).map(attrs)).toEqual([{ ruleId: 'new-mapping-first-use', severity: 'high', cluster }]);
    logSns.resetHistory();
    await logHandler(event, lambdaContext('log-ingest'));
    expect(published(logSns)).toEqual([]);
  });
});

describe('log-ingest publishes aws-auth alerts', () => {
  it('a kubectl patch of aws-auth adding a system:masters role is a critical alert, sent once', async () => {
    const cluster = 'kiem-aws-auth';
    const baseline = {
      ...kiemEvent(),
      auditID: '7d1c0a52-4b0e-4f63-9a57-1f1d3c0e0001',
      verb: 'patch',
      objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth', apiVersion: 'v1' },
      requestURI: '/api/v1/namespaces/kube-system/configmaps/aws-auth',
      responseStatus: { metadata: {}, code: 200 },
    };
    // The full ConfigMap after the patch (a patch's requestObject is only the patch document).
    const { requestObject: configMap } = (
      await import('../../fixtures/alerts/stratus-backdoor-aws-auth-audit-excerpt.json', {
        with: { type: 'json' },
      })
    ).default as { requestObject: Record<string, unknown> };
    const patch = {
      ...baseline,
      level: 'RequestResponse',
      requestObject: { data: { mapRoles: (configMap['data'] as Record<string, string>)['mapRoles'] } },
      responseObject: configMap,
    };
    const record = gzipBase64(
      payload({ ...KIEM, cluster, kind: 'audit' }, [{ message: JSON.stringify(patch), timestamp: KIEM_TS }]),
    );
    const event = kinesisEvent([record]);
    expect(await logHandler(event, lambdaContext('log-ingest'))).toEqual({ batchItemFailures: [] });
    const sent = published(logSns).map(attrs);
    expect(sent).toContainEqual({ ruleId: 'system-masters-mapping', severity: 'critical', cluster });
    // A first sight of aws-auth has no "before": each system:masters row of it is reported, the backdoor too.
    const masters = published(logSns).filter((p) => attrs(p).ruleId === 'system-masters-mapping');
    expect(masters.some((p) => p.Message?.includes('role/stratus-red-team-eks-backdoor-aws-auth-role'))).toBe(true);

    logSns.resetHistory();
    expect(await logHandler(event, lambdaContext('log-ingest'))).toEqual({ batchItemFailures: [] });
    expect(published(logSns)).toEqual([]);
  });
});
