import { Aws, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../config.js';
import { ClusterLogSubscriptions } from '../constructs/cluster-log-subscriptions.js';
import { eksAccessEventPattern, forwardAlarmEventPattern, stsAssumeRoleEventPattern } from '../event-patterns.js';
import { acknowledge } from '../nag.js';
import { centralBusArn, destinationArn, forwardAlarmName, trailRuleName } from '../names.js';

export interface MemberStackProps extends StackProps {
  /** Clusters of this stack's account and region (may be empty for an STS-only stack in us-east-1). */
  clusters: ClusterConfig[];
  centralAccount: string;
  centralRegion: string;
  /** Forward EKS access-management events (false in the extra us-east-1 STS-only stack). */
  forwardEksEvents: boolean;
  forwardStsEvents: boolean;
  /** Retention of the log group of the control-plane logging provider function, if any. */
  logRetentionDays: logs.RetentionDays;
}

/**
 * The workload-account side: subscription filters on the clusters' control-plane log groups to the
 * central destination of this region, and default-bus rules forwarding CloudTrail events to the
 * central bus. Built only from names (no cross-stack references), so it can be deployed in each
 * account with `cdk deploy` or as a service-managed StackSet template.
 */
export class MemberStack extends Stack {
  readonly subscriptions?: ClusterLogSubscriptions;
  readonly forwardRole?: iam.Role;
  /** Events the central bus did not accept, kept for redrive. */
  readonly forwardDlq?: sqs.Queue;
  readonly rules: events.Rule[] = [];
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, props);
    if (props.clusters.length > 0) {
      this.subscriptions = new ClusterLogSubscriptions(this, 'Clusters', {
        clusters: props.clusters,
        destination: {
          kind: 'destination',
          destinationArn: destinationArn(Aws.PARTITION, this.region, props.centralAccount),
        },
        logRetention: props.logRetentionDays,
      });
    }

    if (!props.forwardEksEvents && !props.forwardStsEvents) return;
    const busArn = centralBusArn(Aws.PARTITION, props.centralRegion, props.centralAccount);
    const centralBus = events.EventBus.fromEventBusArn(this, 'CentralBus', busArn);
    const forwardRole = new iam.Role(this, 'ForwardRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'EventBridge forwards EKS / STS CloudTrail events to the eks-access-trail central bus',
    });
    forwardRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [busArn] }));
    this.forwardRole = forwardRole;
    // A member has no KMS key of its own to pay for: SQS-managed encryption keeps the DLQ encrypted
    // at rest with nothing to grant EventBridge.
    const dlq = new sqs.Queue(this, 'ForwardDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      dlq,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the forwarding rules (DeadLetterConfig): it keeps events the central bus did not accept for 14 days, alarmed on depth; no consumer reads it, so a DLQ behind it would never receive anything. cdk-nag only recognises redrive-policy DLQs.',
    );
    this.forwardDlq = dlq;
    // EventBridge retries a refused PutEvents with its default policy (24 h) before the DLQ.
    const target = new targets.EventBus(centralBus, { role: forwardRole, deadLetterQueue: dlq });

    if (props.forwardEksEvents) {
      this.rules.push(
        new events.Rule(this, 'ForwardEksAccessEvents', {
          ruleName: trailRuleName('ForwardEksAccessEvents'),
          description: 'EKS access-management CloudTrail events -> eks-access-trail central bus',
          eventPattern: eksAccessEventPattern(),
          targets: [target],
        }),
      );
    }
    if (props.forwardStsEvents) {
      this.rules.push(
        new events.Rule(this, 'ForwardStsAssumeRoleEvents', {
          ruleName: trailRuleName('ForwardStsAssumeRoleEvents'),
          description: 'STS AssumeRole* CloudTrail events -> eks-access-trail central bus',
          eventPattern: stsAssumeRoleEventPattern(),
          targets: [target],
        }),
      );
    }
    this.addForwardingAlarms(dlq, target);
  }

  /**
   * Failed forwarding and DLQ depth. A member account has no alert topic, so the alarms' state
   * changes travel the same way as the events: to the central bus, whose MemberAlarms rule sends
   * them to the alert topic. When forwarding itself is refused (the central bus no longer admits this
   * account), the state change waits in the DLQ with the events, and the alarm shows in this account.
   */
  private addForwardingAlarms(dlq: sqs.Queue, target: events.IRuleTarget): void {
    const fiveMinutes = Duration.minutes(5);
    const failed = new cloudwatch.MathExpression({
      expression: 'SUM(METRICS())',
      // Default-bus rules are measured by rule name alone.
      usingMetrics: Object.fromEntries(
        this.rules.flatMap((r, i) =>
          ['FailedInvocations', 'InvocationsFailedToBeSentToDlq'].map((metricName) => [
            `r${i}${metricName === 'FailedInvocations' ? 'f' : 'd'}`,
            new cloudwatch.Metric({
              namespace: 'AWS/Events',
              metricName,
              dimensionsMap: { RuleName: trailRuleName(r.node.id) },
              period: fiveMinutes,
              statistic: 'Sum',
            }),
          ]),
        ),
      ),
      period: fiveMinutes,
      label: 'forwarding failures of every rule',
    });
    const alarm = (id: string, name: string, metric: cloudwatch.IMetric, description: string) =>
      new cloudwatch.Alarm(this, id, {
        alarmName: name,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // Failure counts and queue depth are absent when there is nothing to report.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    this.alarms.push(
      alarm(
        'ForwardFailures',
        forwardAlarmName('Failures'),
        failed,
        'EventBridge could not forward EKS / STS events to the eks-access-trail central bus (they are in the forward DLQ, or lost if that failed too)',
      ),
      alarm(
        'ForwardDlqDepth',
        forwardAlarmName('DlqDepth'),
        dlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
        'EKS / STS events the central bus did not accept wait in the forward DLQ (kept 14 days); redrive them (docs/deploy.md)',
      ),
    );
    this.rules.push(
      new events.Rule(this, 'ForwardAlarms', {
        ruleName: trailRuleName('ForwardAlarms'),
        description: 'State changes of the forwarding alarms -> eks-access-trail central bus (alert topic)',
        eventPattern: forwardAlarmEventPattern(),
        targets: [target],
      }),
    );
  }
}
