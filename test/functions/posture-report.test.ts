import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { DynamoDbMappingUsageStore } from '../../lib/store/dynamodb/mapping-usage.js';
import { authenticatorAwsAuth, mk, stratusChanges } from '../lib/alerts/helpers.js';
import { createTestTable, type Engine, startEngine } from '../support/engine.js';

/**
 * The scheduled posture report end to end: mapping history and usage in a real table (dynalite),
 * the handler's cold-start wiring, and the SNS Publish it sends (SNS mocked: it has no local engine).
 */
const TOPIC = 'arn:aws:sns:us-east-1:444455556666:eks-access-trail-alerts';
const sns = mockClient(SNSClient);
let engine: Engine;
let table: string;

beforeAll(async () => {
  engine = await startEngine();
  table = await createTestTable(engine.client, 'posture');
  const store = new DynamoDbTrailStore(engine.client, { tableName: table });
  await store.putMappingChanges([
    ...stratusChanges(),
    mk({ kind: 'auth-mode-set', mode: 'API_AND_CONFIG_MAP' }, { at: '2024-01-01T00:00:00.000Z', cluster: 'legacy' }),
    mk(
      { kind: 'aws-auth-put', config: authenticatorAwsAuth() },
      { at: '2024-01-01T00:00:00.000Z', cluster: 'legacy', source: 'audit' },
    ),
  ]);
  await new DynamoDbMappingUsageStore(engine.client, { tableName: table }).recordUse(
    'legacy',
    'aws-auth-user:arn:aws:iam::555555555555:user/admin',
    new Date().toISOString(),
    { accountId: '111122223333', chainId: 'legacy#recent' },
  );
});

afterAll(async () => {
  await engine?.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  sns.reset();
});

const loadHandler = async (env: Record<string, string>) => {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', engine.endpoint);
  vi.resetModules();
  return import('../../functions/posture-report.js');
};

describe('posture-report handler', () => {
  it('publishes one summary of every cluster in the table', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const mod = await loadHandler({ TABLE_NAME: table, ALERT_TOPIC_ARN: TOPIC, UNUSED_MAPPING_DAYS: '30' });
    const summary = await mod.runPostureReport({
      store: new DynamoDbTrailStore(mod.dynamoDbClient, { tableName: table }),
      usage: new DynamoDbMappingUsageStore(mod.dynamoDbClient, { tableName: table }),
      sink: new (await import('../../functions/shared/sns-alert-sink.js')).SnsAlertSink(new SNSClient({}), TOPIC),
      config: { trustedAccountIds: [], suppressions: [], recentMappingDays: 7, unusedMappingDays: 30 },
      logger: { info() {}, warn() {}, error() {} },
      now: () => Date.now(),
    });
    expect(summary).toMatchObject({ clusters: 2, published: true });
    expect(summary.bySeverity.high).toBeGreaterThan(0);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.Subject).toMatch(/^\[HIGH\] eks-access-trail posture: \d+ findings on 2 clusters$/);
    // The stratus cluster: admin policy at cluster scope; legacy: masters user, mapAccounts, migration plan.
    expect(input.Message).toContain(
      'stratus-red-team-eks-create-access-entry-role holds AmazonEKSClusterAdminPolicy (cluster scope)',
    );
    expect(input.Message).toContain('aws-auth mapAccounts admits every principal of account 555555555555');
    expect(input.Message).toContain('$ aws eks create-access-entry --cluster-name legacy');
    // Recently used, so not reported unused.
    expect(input.Message).not.toContain('user/admin never used');
    expect(input.Message).not.toContain('user/admin unused');
  });

  it('runs through the Lambda handler with the cold-start wiring', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const mod = await loadHandler({ TABLE_NAME: table, ALERT_TOPIC_ARN: TOPIC });
    const result = await mod.handler({ source: 'aws.events' }, {
      functionName: 'posture-report',
      awsRequestId: 'req-1',
    } as never);
    expect(result).toMatchObject({ clusters: 2, published: true });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC });
  });

  it('refuses to start without an alert topic', async () => {
    await expect(loadHandler({ TABLE_NAME: table, ALERT_TOPIC_ARN: '' })).rejects.toMatchObject({
      name: 'ConfigError',
      problems: [{ variable: 'ALERT_TOPIC_ARN' }],
    });
  });
});
