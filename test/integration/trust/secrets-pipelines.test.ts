import { gzipSync } from 'node:zlib';
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { KinesisStreamBatchResponse, SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBackfill } from '../../../lib/local/backfill.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine, stubHandlerEnv } from '../../support/engine.js';
import {
  ACCOUNT,
  auditEventWithSecrets,
  authenticatorDenialWithUrl,
  authenticatorGrantWithHeader,
  awsAuthEventWithSecrets,
  cloudTrailWithSecrets,
  leaks,
  logExportWithSecrets,
  poisonLogMessages,
  rbacEventWithSecrets,
  refusedAssumeRole,
  SYNTHETIC,
  truncatedAuditWithToken,
  unauthenticatedWithToken,
} from '../../support/secret-corpus.js';
import { dumpTableText } from '../../support/table-dump.js';
import { kinesisEvent, lambdaContext, payload, sqsEvent } from '../ingest/scenario.js';

/**
 * Secrets never kept, through the deployed paths: the real handler modules (Kinesis and direct
 * awslogs deliveries for the logs, SQS and direct EventBridge for CloudTrail) and `backfill` (AWS
 * clients faked with aws-sdk-client-mock, the pipelines and the store real). Every secret-bearing
 * input of test/support/secret-corpus.ts goes in; the table (compressed parts included), the alerts
 * published to SNS and everything the functions logged must hold none of the secrets.
 */
type Handler<R> = (event: unknown, context: unknown) => Promise<R | undefined>;

let engine: Engine;
let tableName: string;
let logHandler: Handler<KinesisStreamBatchResponse>;
let ctHandler: Handler<SQSBatchResponse>;
const mockSns = (client: SNSClient) => mockClient(client);
let sns: ReturnType<typeof mockSns>[] = [];
const logged: string[] = [];

const CLUSTER = { cluster: 'kiem', accountId: ACCOUNT };
const TS = 1724509627492;

const gz = (text: string) => gzipSync(Buffer.from(text)).toString('base64');

beforeAll(async () => {
  engine = await startEngine();
  tableName = await createTestTable(engine.client);
  // Logged at DEBUG, so that whatever the functions log is looked at too.
  stubHandlerEnv(engine, tableName, { POWERTOOLS_LOG_LEVEL: 'DEBUG', TRUSTED_ACCOUNT_IDS: '111111111111' });
  vi.resetModules();
  const ct = await import('../../../functions/cloudtrail-ingest.js');
  const log = await import('../../../functions/log-ingest.js');
  ctHandler = ct.handler as unknown as Handler<SQSBatchResponse>;
  logHandler = log.handler as unknown as Handler<KinesisStreamBatchResponse>;
  sns = [mockSns(ct.snsClient), mockSns(log.snsClient)];
  for (const m of sns) m.on(PublishCommand).resolves({ MessageId: 'm-1' });
  const capture = (s: unknown) => {
    logged.push(String(s));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});

afterAll(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  for (const m of sns) m.restore();
  await engine?.stop();
});

describe('secrets never kept: deployed ingestion and backfill', () => {
  it('log-ingest (Kinesis and awslogs) keeps no secret of audit events, authenticator lines or unreadable records', async () => {
    const audit = payload({ ...CLUSTER, kind: 'audit' }, [
      { message: JSON.stringify(auditEventWithSecrets()), timestamp: TS },
      { message: JSON.stringify(rbacEventWithSecrets()), timestamp: TS + 13_000 },
      { message: JSON.stringify(awsAuthEventWithSecrets()), timestamp: TS + 23_000 },
      { message: truncatedAuditWithToken(), timestamp: TS + 30_000 },
      { message: JSON.stringify(unauthenticatedWithToken()), timestamp: TS + 171_800 },
      ...poisonLogMessages()
        .filter((p) => p.stream.startsWith('kube-apiserver-audit'))
        .map((p, i) => ({ message: p.message, timestamp: TS + 40_000 + i })),
    ]);
    const authn = payload({ ...CLUSTER, kind: 'authenticator' }, [
      { message: authenticatorGrantWithHeader(), timestamp: TS - 1_000 },
      { message: authenticatorDenialWithUrl(), timestamp: TS + 170_000 },
      ...poisonLogMessages()
        .filter((p) => p.stream.startsWith('authenticator'))
        .map((p, i) => ({ message: p.message, timestamp: TS + 50_000 + i })),
    ]);
    const records = [
      gz(JSON.stringify(audit)),
      gz(JSON.stringify(authn)),
      // gzip of text that is no payload, and plain text that is not gzip: quarantined whole.
      gz(`{"messageType":"DATA_MESSAGE","logEvents":[{"message":"access_token=${SYNTHETIC.accessToken}"`),
      Buffer.from(`Authorization: Bearer ${SYNTHETIC.bearer}`).toString('base64'),
    ];
    expect(await logHandler(kinesisEvent(records), lambdaContext('log-ingest'))).toEqual({ batchItemFailures: [] });
    const direct = payload({ ...CLUSTER, kind: 'audit' }, [
      {
        message: JSON.stringify({ ...auditEventWithSecrets(), auditID: '5ec2e7a1-0000-4000-8000-0000000000d1' }),
        timestamp: TS + 1,
      },
    ]);
    await logHandler({ awslogs: { data: gz(JSON.stringify(direct)) } }, lambdaContext('log-ingest'));

    const dump = await dumpTableText(engine.client, tableName);
    expect(leaks(dump)).toEqual([]);
    expect(dump.join('\n')).toContain('access_token=[REDACTED:bearer-token key=ASIATCKASJUUD7MPDOZN');
  });

  it('cloudtrail-ingest (SQS and EventBridge) keeps no session token, stored, quarantined or alerted', async () => {
    const records = cloudTrailWithSecrets().Records;
    const asEventBridge = (r: Record<string, unknown>) => ({
      version: '0',
      id: `eb-${String(r.eventID)}`,
      'detail-type': 'AWS API Call via CloudTrail',
      source: r.eventSource === 'sts.amazonaws.com' ? 'aws.sts' : 'aws.eks',
      account: ACCOUNT,
      time: r.eventTime,
      region: 'us-east-1',
      resources: [],
      detail: r,
    });
    const bodies = [
      ...records.map((r) => JSON.stringify(asEventBridge(r))),
      `not JSON, but it holds X-Amz-Security-Token=${encodeURIComponent(SYNTHETIC.sessionToken)}`,
    ];
    expect(await ctHandler(sqsEvent(bodies), lambdaContext('cloudtrail-ingest'))).toEqual({ batchItemFailures: [] });
    await ctHandler(
      asEventBridge(refusedAssumeRole('5ec2e7a1-0000-4000-8000-0000000000cc')),
      lambdaContext('cloudtrail-ingest'),
    );
    const dump = await dumpTableText(engine.client, tableName);
    expect(leaks(dump)).toEqual([]);
    const all = dump.join('\n');
    expect(all).toContain('ASIATCKASJUUD7MPDOZN');
    // The refused record is quarantined with its raw text, its session token replaced by a marker.
    expect(all).toContain('[REDACTED:sessionToken]');
  });

  it('publishes no secret in an alert and logs none', () => {
    const published = sns.flatMap((m) => m.commandCalls(PublishCommand).map((c) => JSON.stringify(c.args[0].input)));
    // aws-auth changed (its data kept as evidence) and the access entries of the kiem fixture alert.
    expect(published.length).toBeGreaterThan(0);
    expect(leaks(published)).toEqual([]);
    expect(logged.length).toBeGreaterThan(0);
    expect(leaks(logged)).toEqual([]);
  });

  it('backfill keeps no secret of FilterLogEvents pages or LookupEvents records', async () => {
    const table = await createTestTable(engine.client, 'backfill-secrets');
    const store = new DynamoDbTrailStore(engine.client, { tableName: table });
    const logs = mockClient(CloudWatchLogsClient);
    const cloudtrail = mockClient(CloudTrailClient);
    const eks = mockClient(EKSClient);
    try {
      const events = logExportWithSecrets().events;
      logs.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) => ({
        events: events.filter((e) => e.logStreamName.startsWith(input.logStreamNamePrefix ?? '')),
      }));
      const records = cloudTrailWithSecrets().Records;
      cloudtrail.on(LookupEventsCommand).callsFake((input: LookupEventsCommandInput) => {
        const attr = input.LookupAttributes?.[0];
        const mine = records.filter((r) =>
          attr?.AttributeKey === 'EventSource'
            ? r.eventSource === attr.AttributeValue
            : r.eventName === attr?.AttributeValue,
        );
        return { Events: mine.map((r) => ({ CloudTrailEvent: JSON.stringify(r) })) };
      });
      eks
        .on(DescribeClusterCommand)
        .resolves({ cluster: { name: 'kiem', accessConfig: { authenticationMode: 'CONFIG_MAP' } } });
      const summary = await runBackfill(
        {
          logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
          cloudtrail: new CloudTrailClient({ region: 'us-east-1' }),
          eks: new EKSClient({ region: 'us-east-1' }),
        },
        store,
        {
          cluster: 'kiem',
          accountId: ACCOUNT,
          from: '2024-08-01T00:00:00.000Z',
          to: '2024-09-01T00:00:00.000Z',
          now: () => Date.parse('2024-09-01T00:00:00Z'),
        },
      );
      expect(summary.logEvents).toBe(events.length);
      expect(summary.quarantined).toMatchObject({ CLOUDTRAIL_MISSING_FIELD: 1, INPUT_TOO_DEEP: 1 });
      const dump = await dumpTableText(engine.client, table);
      expect(leaks(dump)).toEqual([]);
      expect(dump.join('\n')).toContain('[REDACTED:bearer-token key=ASIATCKASJUUD7MPDOZN');
    } finally {
      logs.restore();
      cloudtrail.restore();
      eks.restore();
    }
  });
});
