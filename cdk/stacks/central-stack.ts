import { readFileSync } from 'node:fs';
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CLUSTER_DIMENSION, clusterMetricKey, ENV, METRICS } from '../../lib/runtime-env.js';
import type { TrailConfig } from '../config.js';
import { AlertRouting } from '../constructs/alert-routing.js';
import { AlertTopic } from '../constructs/alert-topic.js';
import { ClusterLogSubscriptions } from '../constructs/cluster-log-subscriptions.js';
import { LogDestination } from '../constructs/log-destination.js';
import { OcsfExport } from '../constructs/ocsf-export.js';
import { TrailFunction } from '../constructs/trail-function.js';
import { TrailTable } from '../constructs/trail-table.js';
import { eksAccessEventPattern, memberAlarmEventPattern, stsAssumeRoleEventPattern } from '../event-patterns.js';
import { LOG_STREAM_BATCHING } from '../function-settings.js';
import { acknowledge } from '../nag.js';
import {
  ALARM_NAME_PREFIX,
  CENTRAL_BUS_NAME,
  destinationRoleName,
  STREAM_NAME,
  STREAM_RETENTION_HOURS,
  trailRuleName,
} from '../names.js';
import { type Admission, admissionOf, admissionStatement } from '../policies.js';

/** metadata.product.version of the exported OCSF records: the version of this package. */
const PRODUCT_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface CentralStackProps extends StackProps {
  config: TrailConfig;
  /**
   * Single-account mode: the clusters live in this account and region, so their log groups
   * subscribe straight to the stream and the default-bus rules target the queue; no cross-account
   * destination is created.
   */
  singleAccount?: boolean;
  /**
   * Rules on this account's default bus straight to the queue, for clusters in the security account
   * itself (EventBridge does not forward from a bus to another bus of the same account and region).
   */
  localEventRules?: boolean;
}

/**
 * The security-account side: the ingestion stream behind a CloudWatch Logs destination, the event
 * bus for CloudTrail events, the four functions, the table, the alert topic, the query API and the
 * alarms.
 */
export class CentralStack extends Stack {
  readonly stream: kinesis.Stream;
  readonly bus: events.EventBus;
  readonly cloudTrailQueue: sqs.Queue;
  readonly cloudTrailDlq: sqs.Queue;
  readonly logIngestDlq: sqs.Queue;
  /** Dead-letter queue of every EventBridge rule target of this stack. */
  readonly eventDlq: sqs.Queue;
  /** Encrypts the functions' own log groups (the query audit log among them). */
  readonly logsKey: kms.Key;
  readonly rules: events.Rule[] = [];
  readonly trailTable: TrailTable;
  readonly alerts: AlertTopic;
  readonly alertRouting: AlertRouting;
  readonly logIngest: TrailFunction;
  readonly cloudTrailIngest: TrailFunction;
  readonly queryApi: TrailFunction;
  readonly postureReport: TrailFunction;
  readonly queryApiUrl: lambda.FunctionUrl;
  readonly queryApiInvokePolicy: iam.ManagedPolicy;
  readonly destinationRole: iam.Role;
  readonly destination?: LogDestination;
  readonly ocsfExport?: OcsfExport;

  constructor(scope: Construct, id: string, props: CentralStackProps) {
    super(scope, id, props);
    const { config } = props;
    const single = props.singleAccount === true;
    const admission: Admission = admissionOf(config, single);
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    // ---- storage and alerts
    this.trailTable = new TrailTable(this, 'Trail');
    this.alerts = new AlertTopic(this, 'Alerts', { alertEmails: config.alertEmails });

    // ---- log ingestion: Kinesis stream (+ cross-account destination)
    const streamKey = new kms.Key(this, 'StreamKey', {
      description: 'eks-access-trail log stream encryption',
      enableKeyRotation: true,
    });
    this.stream = new kinesis.Stream(this, 'LogStream', {
      streamName: STREAM_NAME,
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: streamKey,
      // Seven days, not the included 24 h: a batch that exhausts its retries is reported to the
      // on-failure queue by shard and sequence range only, and its data must still be in the stream
      // when someone replays it (docs/deploy.md, "Replaying failed records"). It also outlasts a
      // stalled event source mapping by a week instead of a day.
      retentionPeriod: Duration.hours(STREAM_RETENTION_HOURS),
      ...(config.kinesisShards > 0
        ? { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: config.kinesisShards }
        : { streamMode: kinesis.StreamMode.ON_DEMAND }),
    });

    acknowledge(
      this.stream,
      'AwsSolutions-KDS3',
      'The stream carries audit events with user identities and aws-auth bodies; a customer-managed key lets the security account control and audit who can decrypt them, which the aws/kinesis key (whose policy cannot be edited) does not. The KMS request cost it adds (one producer service, one consumer) is accepted for that control.',
    );

    this.destinationRole = new iam.Role(this, 'DestinationRole', {
      roleName: destinationRoleName(this.region),
      description: 'Assumed by CloudWatch Logs to deliver EKS control-plane log events into the trail stream',
      assumedBy: new iam.ServicePrincipal('logs.amazonaws.com', {
        // Confused-deputy guard: only log groups of admitted accounts (any region) may cause CloudWatch
        // Logs to use this role. With an organization there is no account list to enumerate.
        ...(admission.kind === 'accounts'
          ? {
              conditions: {
                StringLike: {
                  'aws:SourceArn': [...new Set([...admission.accounts, this.account])].map(
                    (a) => `arn:${this.partition}:logs:*:${a}:*`,
                  ),
                },
              },
            }
          : {}),
      }),
    });
    this.destinationRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kinesis:PutRecord', 'kinesis:PutRecords'],
        resources: [this.stream.streamArn],
      }),
    );
    this.destinationRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [streamKey.keyArn] }),
    );
    if (!single) {
      this.destination = new LogDestination(this, 'Destination', {
        streamArn: this.stream.streamArn,
        roleArn: this.destinationRole.roleArn,
        admission,
      });
      this.destination.node.addDependency(this.destinationRole);
    }

    // ---- CloudTrail events: custom bus -> rules -> queue
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: CENTRAL_BUS_NAME });
    if (admission.kind === 'organization' || admission.accounts.some((a) => a !== this.account)) {
      this.bus.addToResourcePolicy(
        admissionStatement(admission, 'events:PutEvents', this.bus.eventBusArn, 'AdmitMembers'),
      );
    }

    const queueKey = new kms.Key(this, 'QueueKey', {
      description: 'eks-access-trail queues encryption',
      enableKeyRotation: true,
    });
    const encryptedQueue = (qid: string, extra: sqs.QueueProps = {}) =>
      new sqs.Queue(this, qid, {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: queueKey,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        ...extra,
      });
    this.cloudTrailDlq = encryptedQueue('CloudTrailDlq');
    this.logIngestDlq = encryptedQueue('LogIngestFailures');
    acknowledge(
      this.logIngestDlq,
      'AwsSolutions-SQS3',
      'This queue is itself the on-failure destination of the Kinesis event source mapping: it holds the shard and sequence ranges of batches that exhausted retries, replayed by hand from the stream (kept 7 days); no consumer reads it, so a DLQ behind it would never receive anything. cdk-nag only recognises redrive-policy DLQs.',
    );
    this.eventDlq = encryptedQueue('EventDeliveryDlq');
    acknowledge(
      this.eventDlq,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the EventBridge rule targets (DeadLetterConfig): it keeps events EventBridge could not deliver for 14 days, alarmed on depth; no consumer reads it, so a DLQ behind it would never receive anything. cdk-nag only recognises redrive-policy DLQs.',
    );
    // Events EventBridge gave up on go to the DLQ; 24 h of retries covers a queue or function outage.
    const targetProps = { deadLetterQueue: this.eventDlq, retryAttempts: 185, maxEventAge: Duration.hours(24) };
    const cloudTrailTimeout = Duration.seconds(60);
    this.cloudTrailQueue = encryptedQueue('CloudTrailQueue', {
      // Lambda's guidance for SQS sources: visibility timeout at least six times the function timeout.
      visibilityTimeout: Duration.seconds(cloudTrailTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.cloudTrailDlq, maxReceiveCount: 5 },
    });

    const eksRule = new events.Rule(this, 'EksAccessEvents', {
      ruleName: trailRuleName('EksAccessEvents'),
      eventBus: this.bus,
      description: 'EKS access-management CloudTrail events forwarded by member accounts',
      eventPattern: eksAccessEventPattern(),
    });
    const stsRule = new events.Rule(this, 'StsAssumeRoleEvents', {
      ruleName: trailRuleName('StsAssumeRoleEvents'),
      eventBus: this.bus,
      description: 'STS AssumeRole* CloudTrail events forwarded by member accounts',
      eventPattern: stsAssumeRoleEventPattern(),
    });
    for (const rule of [eksRule, stsRule]) rule.addTarget(new targets.SqsQueue(this.cloudTrailQueue, targetProps));
    this.rules.push(eksRule, stsRule);

    // ---- functions
    this.logsKey = new kms.Key(this, 'LogsKey', {
      description: 'eks-access-trail function log groups encryption (query audit log included)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs encrypts with the key as its regional service principal, for log groups of this
    // account and region only (the encryption context names the log group).
    this.logsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'], // in a key policy "*" means this key
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*`,
          },
        },
      }),
    );
    const logs_ = { logRetention, logsKey: this.logsKey };
    const commonEnv: Record<string, string> = {
      [ENV.trustedAccountIds]: [...new Set([this.account, ...config.memberAccountIds])].join(','),
      [ENV.retentionDays]: JSON.stringify(config.retentionDays),
      ...(config.organizationId !== undefined ? { [ENV.organizationId]: config.organizationId } : {}),
    };
    // The alert rules' settings, for every function that raises alerts (ALERT_TOPIC_ARN comes with
    // AlertTopic.grantPublishTo, together with the publish right).
    const alertEnv: Record<string, string> = {
      [ENV.recentMappingDays]: String(config.recentMappingDays),
      [ENV.unusedMappingDays]: String(config.unusedMappingDays),
      ...(config.alertSuppressions.length > 0
        ? { [ENV.alertSuppressions]: JSON.stringify(config.alertSuppressions) }
        : {}),
    };
    this.logIngest = new TrailFunction(this, 'LogIngest', {
      entry: 'log-ingest',
      description: 'EKS authenticator and audit log events from Kinesis -> decision chains',
      timeout: Duration.minutes(5),
      ...logs_,
      environment: { ...commonEnv, ...alertEnv },
    });
    this.cloudTrailIngest = new TrailFunction(this, 'CloudTrailIngest', {
      entry: 'cloudtrail-ingest',
      description: 'EKS access-management and STS AssumeRole* CloudTrail events -> mapping history, credentials',
      timeout: cloudTrailTimeout,
      ...logs_,
      environment: { ...commonEnv, ...alertEnv },
    });
    this.queryApi = new TrailFunction(this, 'QueryApi', {
      entry: 'query-api',
      description: 'Compliance queries over the trail (IAM-authenticated function URL, access grants, audit log)',
      timeout: Duration.seconds(30),
      ...logs_,
      environment: { ...commonEnv, [ENV.queryAccessPolicy]: JSON.stringify(config.queryAccess) },
    });
    if (config.queryAccess.length === 0) {
      Annotations.of(this).addWarningV2(
        'eks-access-trail:no-query-access',
        'queryAccess grants nobody: the query API will answer every caller 403 ACCESS_DENIED (docs/deploy.md, "Query API access")',
      );
    }
    this.postureReport = new TrailFunction(this, 'PostureReport', {
      entry: 'posture-report',
      description: 'Daily posture report over identity mappings',
      timeout: Duration.minutes(5),
      ...logs_,
      environment: { ...commonEnv, ...alertEnv },
    });

    this.trailTable.grantWriteTo(this.logIngest.fn);
    this.trailTable.grantWriteTo(this.cloudTrailIngest.fn);
    this.trailTable.grantReadTo(this.queryApi.fn);
    this.trailTable.grantReadTo(this.postureReport.fn);
    // Mapping changes arrive both as CloudTrail events (access entries) and as audit events (aws-auth edits).
    this.alerts.grantPublishTo(this.logIngest.fn);
    this.alerts.grantPublishTo(this.cloudTrailIngest.fn);
    this.alerts.grantPublishTo(this.postureReport.fn);
    this.alertRouting = new AlertRouting(this, 'AlertRouting', {
      ...(config.alertRouting ? { settings: config.alertRouting } : {}),
      clusters: config.clusters,
    });
    this.alertRouting.grantTo(this.logIngest.fn);
    this.alertRouting.grantTo(this.cloudTrailIngest.fn);

    this.logIngest.fn.addEventSource(
      new sources.KinesisEventSource(this.stream, {
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
        maxRecordAge: Duration.hours(6),
        onFailure: new ExactSqsOnFailure(this.logIngestDlq, queueKey),
      }),
    );
    this.cloudTrailIngest.fn.addEventSource(
      new sources.SqsEventSource(this.cloudTrailQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
      }),
    );

    // ---- query API
    this.queryApiUrl = this.queryApi.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    this.queryApiInvokePolicy = new iam.ManagedPolicy(this, 'QueryApiInvoke', {
      managedPolicyName: `EksAccessTrail-QueryApiInvoke-${this.region}`,
      description: 'Attach to auditor roles: call the eks-access-trail query API (read-only)',
      statements: [
        new iam.PolicyStatement({
          sid: 'InvokeTheFunctionUrl',
          actions: ['lambda:InvokeFunctionUrl'],
          resources: [this.queryApi.fn.functionArn],
          conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        }),
        // Function URLs created since October 2025 also require lambda:InvokeFunction; the condition
        // limits it to invocations through the URL. A direct Invoke could hand the handler any
        // requestContext, caller identity included: this policy must never allow one.
        new iam.PolicyStatement({
          sid: 'InvokeOnlyThroughTheUrl',
          actions: ['lambda:InvokeFunction'],
          resources: [this.queryApi.fn.functionArn],
          conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        }),
      ],
    });

    // ---- posture report
    this.rules.push(
      new events.Rule(this, 'DailyPosture', {
        ruleName: trailRuleName('DailyPosture'),
        description: 'Runs the eks-access-trail posture report once a day',
        schedule: events.Schedule.cron({ minute: '0', hour: '6' }),
        targets: [
          new targets.LambdaFunction(this.postureReport.fn, {
            deadLetterQueue: this.eventDlq,
            retryAttempts: 2,
            maxEventAge: Duration.hours(2),
          }),
        ],
      }),
    );

    // ---- single-account mode: the member side lives here too
    if (single) {
      new ClusterLogSubscriptions(this, 'Clusters', {
        clusters: config.clusters,
        destination: { kind: 'stream', streamArn: this.stream.streamArn, roleArn: this.destinationRole.roleArn },
        logRetention,
      });
    }
    if (single || props.localEventRules === true) {
      this.rules.push(
        new events.Rule(this, 'LocalEksAccessEvents', {
          ruleName: trailRuleName('LocalEksAccessEvents'),
          description: 'EKS access-management CloudTrail events of this account',
          eventPattern: eksAccessEventPattern(),
          targets: [new targets.SqsQueue(this.cloudTrailQueue, targetProps)],
        }),
        new events.Rule(this, 'LocalStsAssumeRoleEvents', {
          ruleName: trailRuleName('LocalStsAssumeRoleEvents'),
          description: 'STS AssumeRole* CloudTrail events of this account and region',
          eventPattern: stsAssumeRoleEventPattern(),
          targets: [new targets.SqsQueue(this.cloudTrailQueue, targetProps)],
        }),
      );
    }

    // ---- OCSF export (optional)
    if (config.ocsfExport) {
      this.ocsfExport = new OcsfExport(this, 'OcsfExport', {
        config: config.ocsfExport,
        table: this.trailTable,
        clusters: config.clusters,
        logRetention,
        logsKey: this.logsKey,
        productVersion: PRODUCT_VERSION,
        deadLetterQueue: this.eventDlq,
      });
    }

    // ---- alarms of the member stacks, forwarded to the central bus by their own rules
    {
      const memberAlarms = new events.Rule(this, 'MemberAlarms', {
        ruleName: trailRuleName('MemberAlarms'),
        eventBus: this.bus,
        description: 'Alarms of the member stacks (EventBridge forwarding failures) -> alert topic',
        eventPattern: memberAlarmEventPattern(),
      });
      memberAlarms.addTarget(
        this.alerts.eventTarget({
          ...targetProps,
          message: events.RuleTargetInput.fromText(
            `eks-access-trail: alarm ${events.EventField.fromPath('$.detail.alarmName')} is ${events.EventField.fromPath('$.detail.state.value')} in account ${events.EventField.account} ${events.EventField.region}: ${events.EventField.fromPath('$.detail.state.reason')}`,
          ),
        }),
      );
      this.rules.push(memberAlarms);
    }

    this.addAlarms(config);

    new CfnOutput(this, 'QueryApiUrl', { value: this.queryApiUrl.url, description: 'SigV4-signed requests only' });
    new CfnOutput(this, 'QueryApiInvokePolicyArn', { value: this.queryApiInvokePolicy.managedPolicyArn });
    new CfnOutput(this, 'QueryAuditLogGroup', {
      value: this.queryApi.logGroup.logGroupName,
      description: 'Log group of the query API, one "query audit" JSON line per request',
    });
    new CfnOutput(this, 'TableName', { value: this.trailTable.table.tableName });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alerts.topic.topicArn });
    new CfnOutput(this, 'CentralBusArn', { value: this.bus.eventBusArn });
    if (this.destination) new CfnOutput(this, 'DestinationArn', { value: this.destination.destinationArn });
  }

  private addAlarms(config: TrailConfig): void {
    const notify = new cwActions.SnsAction(this.alerts.topic);
    const alarm = (
      id: string,
      metric: cloudwatch.IMetric,
      description: string,
      threshold: number,
      opts: {
        periods?: number;
        comparison?: cloudwatch.ComparisonOperator;
        missing?: cloudwatch.TreatMissingData;
        name?: string;
      } = {},
    ) => {
      const a = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: opts.periods ?? 1,
        datapointsToAlarm: opts.periods ?? 1,
        comparisonOperator: opts.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // Counts of failures and messages are absent when there are none: missing is not breaching.
        // Only the silence alarms below invert this.
        treatMissingData: opts.missing ?? cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
        ...(opts.name !== undefined ? { alarmName: opts.name } : {}),
      });
      a.addAlarmAction(notify);
      return a;
    };
    const fiveMinutes = Duration.minutes(5);
    alarm(
      'LogIngestErrors',
      this.logIngest.fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      'log-ingest invocations failed (whole batches are being retried)',
      1,
    );
    alarm(
      'CloudTrailIngestErrors',
      this.cloudTrailIngest.fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      'cloudtrail-ingest invocations failed',
      1,
    );
    alarm(
      'PostureReportErrors',
      this.postureReport.fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      'the daily posture report failed',
      1,
    );
    if (this.ocsfExport) {
      alarm(
        'OcsfExportErrors',
        this.ocsfExport.fn.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        'the OCSF export failed (the window is retried twice by EventBridge, then missing from the lake)',
        1,
      );
    }
    alarm(
      'LogIngestIteratorAge',
      this.logIngest.fn.metric('IteratorAge', { period: fiveMinutes, statistic: 'Maximum' }),
      'log-ingest is more than 15 minutes behind the Kinesis stream',
      Duration.minutes(15).toMilliseconds(),
      { periods: 3 },
    );
    for (const [id, service] of [
      ['LogIngestQuarantine', 'log-ingest'],
      ['CloudTrailIngestQuarantine', 'cloudtrail-ingest'],
    ] as const) {
      alarm(
        id,
        new cloudwatch.Metric({
          namespace: METRICS.namespace,
          metricName: METRICS.quarantined,
          dimensionsMap: { service },
          period: Duration.minutes(15),
          statistic: 'Sum',
        }),
        `${service} quarantined records it could not parse or the store refused (see the quarantine items in the table)`,
        1,
      );
    }
    alarm(
      'LogIngestDlqDepth',
      this.logIngestDlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      `Kinesis batches that exhausted retries: their shard/sequence ranges are in the failure queue; replay them from the stream within ${STREAM_RETENTION_HOURS / 24} days of arrival (docs/deploy.md)`,
      1,
    );
    alarm(
      'CloudTrailDlqDepth',
      this.cloudTrailDlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      'CloudTrail events that failed 5 deliveries to cloudtrail-ingest',
      1,
    );

    // EventBridge: deliveries that failed for good, and those that could not even reach the DLQ.
    const ruleMetric = (rule: events.Rule, metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName,
        // Rules of a custom bus are measured per bus and rule; default-bus rules per rule only. The
        // rules are named, so RuleName is the literal name.
        dimensionsMap: (rule.node.defaultChild as events.CfnRule).eventBusName
          ? { EventBusName: CENTRAL_BUS_NAME, RuleName: trailRuleName(rule.node.id) }
          : { RuleName: trailRuleName(rule.node.id) },
        period: fiveMinutes,
        statistic: 'Sum',
      });
    const acrossRules = (metricName: string) =>
      new cloudwatch.MathExpression({
        expression: 'SUM(METRICS())',
        usingMetrics: Object.fromEntries(this.rules.map((r, i) => [`r${i}`, ruleMetric(r, metricName)])),
        period: fiveMinutes,
        label: `${metricName} of every rule`,
      });
    alarm(
      'EventTargetFailures',
      acrossRules('FailedInvocations'),
      'EventBridge failed to deliver events to a target of this stack (they are in the event DLQ)',
      1,
    );
    alarm(
      'EventDlqUnreachable',
      acrossRules('InvocationsFailedToBeSentToDlq'),
      'EventBridge could deliver events neither to their target nor to the event DLQ: they are lost',
      1,
    );
    alarm(
      'EventDlqDepth',
      this.eventDlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      'Events EventBridge could not deliver wait in the event DLQ (kept 14 days); redrive them (docs/deploy.md)',
      1,
    );

    // A watched cluster that sends nothing: nothing is published for it, and missing data is what
    // this alarm is for. Every five-minute period of the window must be empty, so a batching window
    // or a late delivery never fires it.
    const periods = config.silenceAlarmMinutes / 5;
    const silence = {
      periods,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      missing: cloudwatch.TreatMissingData.BREACHING,
    };
    // The whole log path, whatever the per-cluster settings: log-ingest publishes RecordsIn on every
    // invocation, and is invoked only when the stream has records, so silence here means no cluster
    // delivered anything or the event source mapping stopped.
    alarm(
      'LogIngestSilent',
      new cloudwatch.Metric({
        namespace: METRICS.namespace,
        metricName: METRICS.recordsIn,
        dimensionsMap: { service: 'log-ingest' },
        period: fiveMinutes,
        statistic: 'Sum',
      }),
      `log-ingest received no log event for ${config.silenceAlarmMinutes} minutes: every cluster silent, or ingestion stalled`,
      1,
      { ...silence, name: `${ALARM_NAME_PREFIX}LogIngestSilent` },
    );
    for (const c of config.clusters.filter((x) => x.silenceAlarm)) {
      const key = clusterMetricKey(c.account, c.region, c.name);
      alarm(
        `ClusterSilent-${c.account}-${c.region}-${c.name}`,
        new cloudwatch.Metric({
          namespace: METRICS.namespace,
          metricName: METRICS.clusterLogEvents,
          dimensionsMap: { service: 'log-ingest', [CLUSTER_DIMENSION]: key },
          period: fiveMinutes,
          statistic: 'Sum',
        }),
        `No control-plane log event from cluster ${key} for ${config.silenceAlarmMinutes} minutes: logging turned off, the subscription filter or destination broken, or ingestion stalled`,
        1,
        { ...silence, name: `${ALARM_NAME_PREFIX}ClusterSilent-${key.replaceAll('/', '-')}` },
      );
    }
  }
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
