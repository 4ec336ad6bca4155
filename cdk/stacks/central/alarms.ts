import { Duration, type Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { CLUSTER_DIMENSION, clusterMetricKey, METRICS } from '../../../lib/runtime-env.js';
import type { TrailConfig } from '../../config.js';
import type { AlertTopic } from '../../constructs/alert-topic.js';
import type { OcsfExport } from '../../constructs/ocsf-export.js';
import type { TrailFunction } from '../../constructs/trail-function.js';
import { memberAlarmEventPattern } from '../../event-patterns.js';
import { ALARM_NAME_PREFIX, CENTRAL_BUS_NAME, STREAM_RETENTION_HOURS, trailRuleName } from '../../names.js';
import type { EventTargetProps } from './cloudtrail-events.js';

/** Alarms of the member stacks, forwarded to the central bus by their own rules, to the alert topic. */
export function createMemberAlarmsRule(
  stack: Stack,
  bus: events.IEventBus,
  alerts: AlertTopic,
  targetProps: EventTargetProps,
): events.Rule {
  const memberAlarms = new events.Rule(stack, 'MemberAlarms', {
    ruleName: trailRuleName('MemberAlarms'),
    eventBus: bus,
    description: 'Alarms of the member stacks (EventBridge forwarding failures) -> alert topic',
    eventPattern: memberAlarmEventPattern(),
  });
  memberAlarms.addTarget(
    alerts.eventTarget({
      ...targetProps,
      message: events.RuleTargetInput.fromText(
        `eks-access-trail: alarm ${events.EventField.fromPath('$.detail.alarmName')} is ${events.EventField.fromPath('$.detail.state.value')} in account ${events.EventField.account} ${events.EventField.region}: ${events.EventField.fromPath('$.detail.state.reason')}`,
      ),
    }),
  );
  return memberAlarms;
}

/** What the central stack's alarms watch. */
export interface AlarmedResources {
  alerts: AlertTopic;
  logIngest: TrailFunction;
  cloudTrailIngest: TrailFunction;
  postureReport: TrailFunction;
  ocsfExport?: OcsfExport;
  logIngestDlq: sqs.Queue;
  cloudTrailDlq: sqs.Queue;
  eventDlq: sqs.Queue;
  /** Every EventBridge rule of the stack. */
  rules: readonly events.Rule[];
}

interface AlarmOptions {
  periods?: number;
  comparison?: cloudwatch.ComparisonOperator;
  missing?: cloudwatch.TreatMissingData;
  name?: string;
}

type AddAlarm = (
  id: string,
  metric: cloudwatch.IMetric,
  description: string,
  threshold: number,
  opts?: AlarmOptions,
) => cloudwatch.Alarm;

const FIVE_MINUTES = Duration.minutes(5);

/** Every alarm of the central stack, each notifying the alert topic. */
export function addAlarms(stack: Stack, config: TrailConfig, watched: AlarmedResources): void {
  const notify = new cwActions.SnsAction(watched.alerts.topic);
  const alarm: AddAlarm = (id, metric, description, threshold, opts = {}) => {
    const a = new cloudwatch.Alarm(stack, id, {
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
  addFunctionAlarms(alarm, watched);
  addQueueAlarms(alarm, watched);
  addEventBridgeAlarms(alarm, watched);
  addSilenceAlarms(alarm, config);
}

/** Failed invocations, a stream consumer falling behind, and quarantined records. */
function addFunctionAlarms(alarm: AddAlarm, w: AlarmedResources): void {
  alarm(
    'LogIngestErrors',
    w.logIngest.fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
    'log-ingest invocations failed (whole batches are being retried)',
    1,
  );
  alarm(
    'CloudTrailIngestErrors',
    w.cloudTrailIngest.fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
    'cloudtrail-ingest invocations failed',
    1,
  );
  alarm(
    'PostureReportErrors',
    w.postureReport.fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
    'the daily posture report failed',
    1,
  );
  if (w.ocsfExport) {
    alarm(
      'OcsfExportErrors',
      w.ocsfExport.fn.fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      'the OCSF export failed (the window is retried twice by EventBridge, then missing from the lake)',
      1,
    );
  }
  alarm(
    'LogIngestIteratorAge',
    w.logIngest.fn.metric('IteratorAge', { period: FIVE_MINUTES, statistic: 'Maximum' }),
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
}

/** Messages waiting in the failure queues of the two ingest paths. */
function addQueueAlarms(alarm: AddAlarm, w: AlarmedResources): void {
  alarm(
    'LogIngestDlqDepth',
    w.logIngestDlq.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }),
    `Kinesis batches that exhausted retries: their shard/sequence ranges are in the failure queue; replay them from the stream within ${STREAM_RETENTION_HOURS / 24} days of arrival (docs/deploy.md)`,
    1,
  );
  alarm(
    'CloudTrailDlqDepth',
    w.cloudTrailDlq.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }),
    'CloudTrail events that failed 5 deliveries to cloudtrail-ingest',
    1,
  );
}

/** EventBridge: deliveries that failed for good, and those that could not even reach the DLQ. */
function addEventBridgeAlarms(alarm: AddAlarm, w: AlarmedResources): void {
  const ruleMetric = (rule: events.Rule, metricName: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName,
      // Rules of a custom bus are measured per bus and rule; default-bus rules per rule only. The
      // rules are named, so RuleName is the literal name.
      dimensionsMap: (rule.node.defaultChild as events.CfnRule).eventBusName
        ? { EventBusName: CENTRAL_BUS_NAME, RuleName: trailRuleName(rule.node.id) }
        : { RuleName: trailRuleName(rule.node.id) },
      period: FIVE_MINUTES,
      statistic: 'Sum',
    });
  const acrossRules = (metricName: string) =>
    new cloudwatch.MathExpression({
      expression: 'SUM(METRICS())',
      usingMetrics: Object.fromEntries(w.rules.map((r, i) => [`r${i}`, ruleMetric(r, metricName)])),
      period: FIVE_MINUTES,
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
    w.eventDlq.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }),
    'Events EventBridge could not deliver wait in the event DLQ (kept 14 days); redrive them (docs/deploy.md)',
    1,
  );
}

/**
 * A watched cluster that sends nothing: nothing is published for it, and missing data is what
 * these alarms are for. Every five-minute period of the window must be empty, so a batching window
 * or a late delivery never fires them.
 */
function addSilenceAlarms(alarm: AddAlarm, config: TrailConfig): void {
  const silence: AlarmOptions = {
    periods: config.silenceAlarmMinutes / 5,
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
      period: FIVE_MINUTES,
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
        period: FIVE_MINUTES,
        statistic: 'Sum',
      }),
      `No control-plane log event from cluster ${key} for ${config.silenceAlarmMinutes} minutes: logging turned off, the subscription filter or destination broken, or ingestion stalled`,
      1,
      { ...silence, name: `${ALARM_NAME_PREFIX}ClusterSilent-${key.replaceAll('/', '-')}` },
    );
  }
}
