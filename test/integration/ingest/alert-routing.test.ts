import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { type AwsSecurityFinding, BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALERT_EVENT_DETAIL_TYPE, ALERT_EVENT_SOURCE } from '../../../lib/alerts/alert-event.js';
import { DynamoDbAlertLedger } from '../../../lib/store/dynamodb/alert-ledger.js';
import { alertDetailErrors } from '../../support/alert-event-schema.js';
import { createTestTable, type Engine, startEngine, stubHandlerEnv } from '../../support/engine.js';
import { cloudTrailEventOn, KIEM, lambdaContext, sqsEvent } from './scenario.js';

/**
 * Alert routing of the deployed functions, end to end: the real cloudtrail-ingest handler (middy,
 * Powertools, its cold-start configuration) over the trail on a local engine, with SNS, EventBridge and
 * Security Hub faked by aws-sdk-client-mock (none of them has a local engine). Every alert goes to
 * Security Hub, then EventBridge, then SNS; a destination that may heal makes the delivery come again,
 * one that refuses for good is logged and skipped.
 */

type Handler = (event: unknown, context: unknown) => Promise<SQSBatchResponse | undefined>;

const PRODUCT = 'arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default';
let engine: Engine;
let tableName: string;
let handler: Handler;
const sns = mockClient(SNSClient);
const events = mockClient(EventBridgeClient);
const hub = mockClient(SecurityHubClient);
/** The destinations in the order they were called. */
let order: string[] = [];

const healthy = () => {
  sns.reset();
  events.reset();
  hub.reset();
  order = [];
  sns.on(PublishCommand).callsFake(() => {
    order.push('sns');
    return { MessageId: 'm-1' };
  });
  events.on(PutEventsCommand).callsFake(() => {
    order.push('eventbridge');
    return { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] };
  });
  hub.on(BatchImportFindingsCommand).callsFake(() => {
    order.push('securityhub');
    return { FailedCount: 0, SuccessCount: 1, FailedFindings: [] };
  });
};

const entries = (): PutEventsRequestEntry[] =>
  events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
const findings = (): AwsSecurityFinding[] =>
  hub.commandCalls(BatchImportFindingsCommand).flatMap((c) => c.args[0].input.Findings ?? []);

/** CreateAccessEntry + AssociateAccessPolicy(ClusterAdmin) of the scenario, on a cluster of its own. */
const batch = (cluster: string) =>
  sqsEvent([
    JSON.stringify(cloudTrailEventOn('createAccessEntry', cluster)),
    JSON.stringify(cloudTrailEventOn('associateAccessPolicy', cluster)),
  ]);

beforeAll(async () => {
  engine = await startEngine();
  tableName = await createTestTable(engine.client);
  stubHandlerEnv(engine, tableName, {
    TRUSTED_ACCOUNT_IDS: '111111111111',
    ALERT_EVENT_BUS_NAME: 'default',
    ALERT_SECURITY_HUB_PRODUCT_ARN: PRODUCT,
    ALERT_CLUSTER_REGIONS: JSON.stringify({ [`${KIEM.accountId}/routed`]: 'eu-west-1' }),
  });
  vi.resetModules();
  handler = (await import('../../../functions/cloudtrail-ingest.js')).handler as unknown as Handler;
});

beforeEach(healthy);

afterAll(async () => {
  vi.unstubAllEnvs();
  sns.restore();
  events.restore();
  hub.restore();
  await engine?.stop();
});

describe('cloudtrail-ingest routes every alert to Security Hub, EventBridge and SNS', () => {
  it('puts a documented event on the bus and imports an ASFF finding per alert, SNS last', async () => {
    expect(await handler(batch('routed'), lambdaContext('cloudtrail-ingest'))).toEqual({ batchItemFailures: [] });
    const sent = sns.commandCalls(PublishCommand).length;
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(entries()).toHaveLength(sent);
    expect(findings()).toHaveLength(sent);
    expect(order.slice(0, 3)).toEqual(['securityhub', 'eventbridge', 'sns']);

    for (const e of entries()) {
      expect(e).toMatchObject({
        Source: ALERT_EVENT_SOURCE,
        DetailType: ALERT_EVENT_DETAIL_TYPE,
        EventBusName: 'default',
        Resources: [`arn:aws:eks:eu-west-1:${KIEM.accountId}:cluster/routed`],
      });
      expect(alertDetailErrors(JSON.parse(e.Detail!))).toBe('');
    }
    const policy = entries()
      .map((e) => JSON.parse(e.Detail!))
      .find((d) => d.ruleId === 'access-policy-associated');
    expect(policy).toMatchObject({
      cluster: 'routed',
      accountId: KIEM.accountId,
      evidence: { question: 'mappings-history' },
    });

    const f = findings().find((x) => x.GeneratorId === 'eks-access-trail/access-policy-associated')!;
    expect(f).toMatchObject({
      ProductArn: PRODUCT,
      AwsAccountId: '111111111111',
      Resources: expect.arrayContaining([
        expect.objectContaining({
          Type: 'AwsEksCluster',
          Id: `arn:aws:eks:eu-west-1:${KIEM.accountId}:cluster/routed`,
        }),
      ]),
    });
    expect(['CRITICAL', 'HIGH']).toContain(f.FindingProviderFields?.Severity?.Label);
  });

  it('retries the delivery when EventBridge throttles an entry, then sends each alert once everywhere', async () => {
    events.on(PutEventsCommand).callsFake(() => {
      order.push('eventbridge');
      return { FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] };
    });
    const first = await handler(batch('throttled'), lambdaContext('cloudtrail-ingest'));
    expect(first?.batchItemFailures.length).toBeGreaterThan(0);
    // Nothing reached the mailbox: SNS comes after the failed destination.
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    const ledger = new DynamoDbAlertLedger(engine.client, { tableName });
    const held = await ledger.alertsByCluster({ accountId: KIEM.accountId, cluster: 'throttled' });
    expect(held.every((e) => e.state === 'released')).toBe(true);

    healthy();
    expect(await handler(batch('throttled'), lambdaContext('cloudtrail-ingest'))).toEqual({ batchItemFailures: [] });
    const ids = (xs: { Detail?: string }[]) => xs.map((x) => JSON.parse(x.Detail!).alertId).sort();
    expect(ids(entries())).toEqual(held.map((e) => e.alertId).sort());
    expect(sns.commandCalls(PublishCommand)).toHaveLength(held.length);
    // A third delivery (SQS redelivers at least once) sends nothing anywhere.
    healthy();
    await handler(batch('throttled'), lambdaContext('cloudtrail-ingest'));
    expect(order).toEqual([]);
  });

  it.each([
    [
      'Security Hub is not enabled in the account',
      () =>
        hub.on(BatchImportFindingsCommand).rejects(
          Object.assign(new Error('Account is not subscribed to AWS Security Hub'), {
            name: 'InvalidAccessException',
            $metadata: { httpStatusCode: 401 },
          }),
        ),
    ],
    [
      'EventBridge refuses the entry for good',
      () => events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'MalformedDetail' }] }),
    ],
    [
      'the role may not put events on the bus',
      () =>
        events.on(PutEventsCommand).rejects(
          Object.assign(new Error('not authorized to perform: events:PutEvents'), {
            name: 'AccessDeniedException',
            $metadata: { httpStatusCode: 400 },
          }),
        ),
    ],
    [
      'Security Hub rejects the finding',
      () =>
        hub.on(BatchImportFindingsCommand).resolves({
          FailedCount: 1,
          SuccessCount: 0,
          FailedFindings: [{ Id: 'x', ErrorCode: 'InvalidInput', ErrorMessage: 'bad' }],
        }),
    ],
  ])('still alerts by SNS, without retrying, when %s', async (_name, fault) => {
    fault();
    const cluster = `refused-${_name.replace(/[^a-z]+/gi, '-').toLowerCase()}`.slice(0, 90);
    expect(await handler(batch(cluster), lambdaContext('cloudtrail-ingest'))).toEqual({ batchItemFailures: [] });
    expect(sns.commandCalls(PublishCommand).length).toBeGreaterThanOrEqual(2);
  });

  it('retries when the network fails before Security Hub answers', async () => {
    hub.on(BatchImportFindingsCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const res = await handler(batch('network'), lambdaContext('cloudtrail-ingest'));
    expect(res?.batchItemFailures.length).toBeGreaterThan(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
