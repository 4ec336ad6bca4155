import { Duration, type Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { eksAccessEventPattern, stsAssumeRoleEventPattern } from '../../event-patterns.js';
import { acknowledge } from '../../nag.js';
import { CENTRAL_BUS_NAME, trailRuleName } from '../../names.js';
import { type Admission, admissionStatement } from '../../policies.js';
import { CLOUDTRAIL_INGEST_TIMEOUT } from './functions.js';

/** The custom bus member accounts forward their CloudTrail events (and alarm changes) to. */
export function createCentralBus(stack: Stack, admission: Admission): events.EventBus {
  const bus = new events.EventBus(stack, 'Bus', { eventBusName: CENTRAL_BUS_NAME });
  if (admission.kind === 'organization' || admission.accounts.some((a) => a !== stack.account)) {
    bus.addToResourcePolicy(admissionStatement(admission, 'events:PutEvents', bus.eventBusArn, 'AdmitMembers'));
  }
  return bus;
}

export interface TrailQueues {
  queueKey: kms.Key;
  cloudTrailQueue: sqs.Queue;
  cloudTrailDlq: sqs.Queue;
  logIngestDlq: sqs.Queue;
  /** Dead-letter queue of every EventBridge rule target of the stack. */
  eventDlq: sqs.Queue;
}

/** The queues of the stack, all under one customer-managed key. */
export function createQueues(stack: Stack): TrailQueues {
  const queueKey = new kms.Key(stack, 'QueueKey', {
    description: 'eks-access-trail queues encryption',
    enableKeyRotation: true,
  });
  const encryptedQueue = (qid: string, extra: sqs.QueueProps = {}) =>
    new sqs.Queue(stack, qid, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: queueKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      ...extra,
    });
  const cloudTrailDlq = encryptedQueue('CloudTrailDlq');
  const logIngestDlq = encryptedQueue('LogIngestFailures');
  acknowledge(
    logIngestDlq,
    'AwsSolutions-SQS3',
    'This queue is itself the on-failure destination of the Kinesis event source mapping: it holds the shard and sequence ranges of batches that exhausted retries, replayed by hand from the stream (kept 7 days); no consumer reads it, so a DLQ behind it would never receive anything. cdk-nag only recognises redrive-policy DLQs.',
  );
  const eventDlq = encryptedQueue('EventDeliveryDlq');
  acknowledge(
    eventDlq,
    'AwsSolutions-SQS3',
    'This queue is itself the dead-letter queue of the EventBridge rule targets (DeadLetterConfig): it keeps events EventBridge could not deliver for 14 days, alarmed on depth; no consumer reads it, so a DLQ behind it would never receive anything. cdk-nag only recognises redrive-policy DLQs.',
  );
  const cloudTrailQueue = encryptedQueue('CloudTrailQueue', {
    // Lambda's guidance for SQS sources: visibility timeout at least six times the function timeout.
    visibilityTimeout: Duration.seconds(CLOUDTRAIL_INGEST_TIMEOUT.toSeconds() * 6),
    deadLetterQueue: { queue: cloudTrailDlq, maxReceiveCount: 5 },
  });
  return { queueKey, cloudTrailQueue, cloudTrailDlq, logIngestDlq, eventDlq };
}

export type EventTargetProps = Required<
  Pick<targets.SqsQueueProps, 'deadLetterQueue' | 'retryAttempts' | 'maxEventAge'>
>;

/** Events EventBridge gave up on go to the DLQ; 24 h of retries covers a queue or function outage. */
export const eventTargetProps = (eventDlq: sqs.IQueue): EventTargetProps => ({
  deadLetterQueue: eventDlq,
  retryAttempts: 185,
  maxEventAge: Duration.hours(24),
});

/** Rules on the central bus: the CloudTrail events member accounts forward, to the cloudtrail-ingest queue. */
export function createForwardedEventRules(
  stack: Stack,
  bus: events.IEventBus,
  queue: sqs.IQueue,
  targetProps: EventTargetProps,
): events.Rule[] {
  const eksRule = new events.Rule(stack, 'EksAccessEvents', {
    ruleName: trailRuleName('EksAccessEvents'),
    eventBus: bus,
    description: 'EKS access-management CloudTrail events forwarded by member accounts',
    eventPattern: eksAccessEventPattern(),
  });
  const stsRule = new events.Rule(stack, 'StsAssumeRoleEvents', {
    ruleName: trailRuleName('StsAssumeRoleEvents'),
    eventBus: bus,
    description: 'STS AssumeRole* CloudTrail events forwarded by member accounts',
    eventPattern: stsAssumeRoleEventPattern(),
  });
  for (const rule of [eksRule, stsRule]) rule.addTarget(new targets.SqsQueue(queue, targetProps));
  return [eksRule, stsRule];
}

/**
 * Rules on this account's default bus straight to the queue, for clusters in the security account
 * itself (EventBridge does not forward from a bus to another bus of the same account and region).
 */
export function createLocalEventRules(stack: Stack, queue: sqs.IQueue, targetProps: EventTargetProps): events.Rule[] {
  return [
    new events.Rule(stack, 'LocalEksAccessEvents', {
      ruleName: trailRuleName('LocalEksAccessEvents'),
      description: 'EKS access-management CloudTrail events of this account',
      eventPattern: eksAccessEventPattern(),
      targets: [new targets.SqsQueue(queue, targetProps)],
    }),
    new events.Rule(stack, 'LocalStsAssumeRoleEvents', {
      ruleName: trailRuleName('LocalStsAssumeRoleEvents'),
      description: 'STS AssumeRole* CloudTrail events of this account and region',
      eventPattern: stsAssumeRoleEventPattern(),
      targets: [new targets.SqsQueue(queue, targetProps)],
    }),
  ];
}
