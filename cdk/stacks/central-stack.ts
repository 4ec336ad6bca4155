import { readFileSync } from 'node:fs';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { TrailConfig } from '../config.js';
import { AlertRouting } from '../constructs/alert-routing.js';
import { AlertTopic } from '../constructs/alert-topic.js';
import { ClusterLogSubscriptions } from '../constructs/cluster-log-subscriptions.js';
import { DigestSigner } from '../constructs/digest-signer.js';
import type { LogDestination } from '../constructs/log-destination.js';
import { OcsfExport } from '../constructs/ocsf-export.js';
import type { TrailFunction } from '../constructs/trail-function.js';
import { TrailTable } from '../constructs/trail-table.js';
import { type Admission, admissionOf } from '../policies.js';
import { addAlarms, createMemberAlarmsRule } from './central/alarms.js';
import {
  createCentralBus,
  createForwardedEventRules,
  createLocalEventRules,
  createQueues,
  eventTargetProps,
} from './central/cloudtrail-events.js';
import {
  connectIngestSources,
  createDailyPostureRule,
  createFunctions,
  createLogsKey,
  grantFunctions,
  LOG_STREAM_MAX_RECORD_AGE,
} from './central/functions.js';
import { createLogDelivery, createLogStream } from './central/log-stream.js';
import { createQueryApiAccess } from './central/query-api.js';

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
 * alarms. Each concern is built in cdk/stacks/central/; every construct is created with this stack
 * as its scope, so the logical ids are those of the constructs' ids alone.
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
  readonly digests: DigestSigner;

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
    const logStream = createLogStream(this, config);
    this.stream = logStream.stream;
    const delivery = createLogDelivery(this, logStream, admission, single);
    this.destinationRole = delivery.destinationRole;
    this.destination = delivery.destination;

    // ---- CloudTrail events: custom bus -> rules -> queue
    this.bus = createCentralBus(this, admission);
    const queues = createQueues(this);
    this.cloudTrailQueue = queues.cloudTrailQueue;
    this.cloudTrailDlq = queues.cloudTrailDlq;
    this.logIngestDlq = queues.logIngestDlq;
    this.eventDlq = queues.eventDlq;
    const targetProps = eventTargetProps(this.eventDlq);
    this.rules.push(...createForwardedEventRules(this, this.bus, this.cloudTrailQueue, targetProps));

    // ---- functions
    this.logsKey = createLogsKey(this);
    const fns = createFunctions(this, config, this.logsKey);
    this.logIngest = fns.logIngest;
    this.cloudTrailIngest = fns.cloudTrailIngest;
    this.queryApi = fns.queryApi;
    this.postureReport = fns.postureReport;
    grantFunctions(fns, this.trailTable, this.alerts);
    this.alertRouting = new AlertRouting(this, 'AlertRouting', {
      ...(config.alertRouting ? { settings: config.alertRouting } : {}),
      clusters: config.clusters,
    });
    this.alertRouting.grantTo(this.logIngest.fn);
    this.alertRouting.grantTo(this.cloudTrailIngest.fn);
    connectIngestSources(fns, config, this.stream, queues);

    // ---- query API
    const queryAccess = createQueryApiAccess(this, this.queryApi.fn);
    this.queryApiUrl = queryAccess.url;
    this.queryApiInvokePolicy = queryAccess.invokePolicy;

    // ---- posture report
    this.rules.push(createDailyPostureRule(this, this.postureReport.fn, this.eventDlq));

    // ---- single-account mode: the member side lives here too
    if (single) {
      new ClusterLogSubscriptions(this, 'Clusters', {
        clusters: config.clusters,
        destination: { kind: 'stream', streamArn: this.stream.streamArn, roleArn: this.destinationRole.roleArn },
        logRetention,
      });
    }
    if (single || props.localEventRules === true) {
      this.rules.push(...createLocalEventRules(this, this.cloudTrailQueue, targetProps));
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

    // ---- the member stacks' alarms, forwarded to the central bus by their own rules
    this.rules.push(createMemberAlarmsRule(this, this.bus, this.alerts, targetProps));

    // ---- tamper evidence: hourly signed digests of what the trail stored
    this.digests = new DigestSigner(this, 'Digests', {
      table: this.trailTable,
      writers: [this.logIngest.fn, this.cloudTrailIngest.fn],
      logRetention,
      logsKey: this.logsKey,
      alarmTopic: this.alerts.topic,
      deadLetterQueue: this.eventDlq,
      // Records reach the table this late at most: the log stream's event source gives up after this.
      retryWindow: LOG_STREAM_MAX_RECORD_AGE,
    });
    this.rules.push(this.digests.schedule);

    // ---- alarms
    addAlarms(this, config, {
      alerts: this.alerts,
      logIngest: this.logIngest,
      cloudTrailIngest: this.cloudTrailIngest,
      postureReport: this.postureReport,
      ...(this.ocsfExport ? { ocsfExport: this.ocsfExport } : {}),
      logIngestDlq: this.logIngestDlq,
      cloudTrailDlq: this.cloudTrailDlq,
      eventDlq: this.eventDlq,
      rules: this.rules,
    });

    this.addOutputs();
  }

  private addOutputs(): void {
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
}
