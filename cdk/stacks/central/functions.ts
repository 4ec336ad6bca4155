import { Annotations, Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { ENV } from '../../../lib/runtime-env.js';
import type { TrailConfig } from '../../config.js';
import type { AlertTopic } from '../../constructs/alert-topic.js';
import { TrailFunction } from '../../constructs/trail-function.js';
import type { TrailTable } from '../../constructs/trail-table.js';
import { LOG_STREAM_BATCHING } from '../../function-settings.js';
import { trailRuleName } from '../../names.js';
import type { TrailQueues } from './cloudtrail-events.js';

/**
 * How long log-ingest's event source retries a record before reporting it to the failure queue: the
 * latest a log event can still reach the table, so the digests wait this long too.
 */
export const LOG_STREAM_MAX_RECORD_AGE = Duration.hours(6);

/** cloudtrail-ingest's timeout; its queue's visibility timeout is derived from it. */
export const CLOUDTRAIL_INGEST_TIMEOUT = Duration.seconds(60);

/** Encrypts the functions' own log groups (the query audit log among them). */
export function createLogsKey(stack: Stack): kms.Key {
  const logsKey = new kms.Key(stack, 'LogsKey', {
    description: 'eks-access-trail function log groups encryption (query audit log included)',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // CloudWatch Logs encrypts with the key as its regional service principal, for log groups of this
  // account and region only (the encryption context names the log group).
  logsKey.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'], // in a key policy "*" means this key
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
  return logsKey;
}

export interface TrailFunctions {
  logIngest: TrailFunction;
  cloudTrailIngest: TrailFunction;
  queryApi: TrailFunction;
  postureReport: TrailFunction;
}

/** The environment every function reads, and the alert rules' settings for those that raise alerts. */
function functionEnvironments(stack: Stack, config: TrailConfig) {
  const common: Record<string, string> = {
    [ENV.trustedAccountIds]: [...new Set([stack.account, ...config.memberAccountIds])].join(','),
    [ENV.retentionDays]: JSON.stringify(config.retentionDays),
    ...(config.organizationId !== undefined ? { [ENV.organizationId]: config.organizationId } : {}),
  };
  // ALERT_TOPIC_ARN comes with AlertTopic.grantPublishTo, together with the publish right.
  const alert: Record<string, string> = {
    [ENV.recentMappingDays]: String(config.recentMappingDays),
    [ENV.unusedMappingDays]: String(config.unusedMappingDays),
    ...(config.alertSuppressions.length > 0
      ? { [ENV.alertSuppressions]: JSON.stringify(config.alertSuppressions) }
      : {}),
  };
  return { common, alert };
}

/** The four functions of the central stack, with their environments. */
export function createFunctions(stack: Stack, config: TrailConfig, logsKey: kms.IKey): TrailFunctions {
  const logSettings = { logRetention: config.logRetentionDays as logs.RetentionDays, logsKey };
  const env = functionEnvironments(stack, config);
  const logIngest = new TrailFunction(stack, 'LogIngest', {
    entry: 'log-ingest',
    description: 'EKS authenticator and audit log events from Kinesis -> decision chains',
    timeout: Duration.minutes(5),
    ...logSettings,
    environment: { ...env.common, ...env.alert },
  });
  const cloudTrailIngest = new TrailFunction(stack, 'CloudTrailIngest', {
    entry: 'cloudtrail-ingest',
    description: 'EKS access-management and STS AssumeRole* CloudTrail events -> mapping history, credentials',
    timeout: CLOUDTRAIL_INGEST_TIMEOUT,
    ...logSettings,
    environment: { ...env.common, ...env.alert },
  });
  const queryApi = new TrailFunction(stack, 'QueryApi', {
    entry: 'query-api',
    description: 'Compliance queries over the trail (IAM-authenticated function URL, access grants, audit log)',
    timeout: Duration.seconds(30),
    ...logSettings,
    environment: { ...env.common, [ENV.queryAccessPolicy]: JSON.stringify(config.queryAccess) },
  });
  if (config.queryAccess.length === 0) {
    Annotations.of(stack).addWarningV2(
      'eks-access-trail:no-query-access',
      'queryAccess grants nobody: the query API will answer every caller 403 ACCESS_DENIED (docs/deploy.md, "Query API access")',
    );
  }
  const postureReport = new TrailFunction(stack, 'PostureReport', {
    entry: 'posture-report',
    description: 'Daily posture report over identity mappings',
    timeout: Duration.minutes(5),
    ...logSettings,
    environment: { ...env.common, ...env.alert },
  });
  return { logIngest, cloudTrailIngest, queryApi, postureReport };
}

/** What each function may do with the table and the alert topic: ingest writes, the rest reads. */
export function grantFunctions(fns: TrailFunctions, table: TrailTable, alerts: AlertTopic): void {
  table.grantWriteTo(fns.logIngest.fn);
  table.grantWriteTo(fns.cloudTrailIngest.fn);
  table.grantReadTo(fns.queryApi.fn);
  table.grantReadTo(fns.postureReport.fn);
  // Mapping changes arrive both as CloudTrail events (access entries) and as audit events (aws-auth edits).
  alerts.grantPublishTo(fns.logIngest.fn);
  alerts.grantPublishTo(fns.cloudTrailIngest.fn);
  alerts.grantPublishTo(fns.postureReport.fn);
}

/** The stream feeds log-ingest, the CloudTrail queue feeds cloudtrail-ingest. */
export function connectIngestSources(
  fns: TrailFunctions,
  config: TrailConfig,
  stream: kinesis.IStream,
  queues: TrailQueues,
): void {
  fns.logIngest.fn.addEventSource(
    new sources.KinesisEventSource(stream, {
      // Oldest first: after an outage nothing still in the stream is skipped.
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      // Fuller batches are fewer, fuller segments: the cost per request (cdk/function-settings.ts).
      batchSize: LOG_STREAM_BATCHING.batchSize,
      maxBatchingWindow: Duration.seconds(config.logBatchingWindowSeconds),
      parallelizationFactor: config.parallelizationFactor,
      // A poison record is isolated by bisection and reported as a partial failure, so the rest of
      // the shard moves on; bounded retries and age stop it from blocking the shard for 24 h.
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: 5,
      maxRecordAge: LOG_STREAM_MAX_RECORD_AGE,
      onFailure: new ExactSqsOnFailure(queues.logIngestDlq, queues.queueKey),
    }),
  );
  fns.cloudTrailIngest.fn.addEventSource(
    new sources.SqsEventSource(queues.cloudTrailQueue, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(5),
      reportBatchItemFailures: true,
    }),
  );
}

/**
 * On-failure destination for the Kinesis mapping with exact grants: SqsDlq's grantSendMessages also
 * grants kms:ReEncrypt* and kms:GenerateDataKey*, which sending to one encrypted queue does not need.
 */
class ExactSqsOnFailure implements lambda.IEventSourceDlq {
  constructor(
    private readonly queue: sqs.IQueue,
    private readonly key: kms.IKey,
  ) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    targetHandler.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    targetHandler.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.key.keyArn] }),
    );
    return { destination: this.queue.queueArn };
  }
}

/** Runs the posture report once a day. */
export function createDailyPostureRule(
  stack: Stack,
  postureReport: lambda.IFunction,
  eventDlq: sqs.IQueue,
): events.Rule {
  return new events.Rule(stack, 'DailyPosture', {
    ruleName: trailRuleName('DailyPosture'),
    description: 'Runs the eks-access-trail posture report once a day',
    schedule: events.Schedule.cron({ minute: '0', hour: '6' }),
    targets: [
      new targets.LambdaFunction(postureReport, {
        deadLetterQueue: eventDlq,
        retryAttempts: 2,
        maxEventAge: Duration.hours(2),
      }),
    ],
  });
}
