import * as events from 'aws-cdk-lib/aws-events';
import {
  EKS_AUTH_EVENT_SOURCE,
  EKS_EVENT_SOURCE,
  STS_EVENT_SOURCE,
  TRACKED_EKS_AUTH_EVENTS,
  TRACKED_EKS_EVENTS,
  TRACKED_STS_EVENTS,
} from '../lib/sources/cloudtrail.js';
import { FORWARD_ALARM_PREFIX, forwardAlarmName } from './names.js';

/**
 * EventBridge patterns for the CloudTrail management events the product consumes. Events of the
 * type "AWS API Call via CloudTrail" reach the default bus only when a trail records management
 * events in that account and region (docs/formats.md §3.3); the same patterns serve the member rules on
 * the default bus and the central rules on the custom bus (forwarding keeps source and detail).
 */

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

/**
 * The rules forward exactly the events the CloudTrail parser tracks: one list, owned by the parser,
 * so a newly handled operation cannot be parsed but never delivered (or delivered and rejected).
 */
export const EKS_ACCESS_EVENT_NAMES = [...TRACKED_EKS_EVENTS, ...TRACKED_EKS_AUTH_EVENTS] as const;
export const STS_ASSUME_ROLE_EVENT_NAMES = TRACKED_STS_EVENTS;

/**
 * EKS access management and the EKS Auth API (Pod Identity) share one rule: their event names differ,
 * so the name list keeps each source's events apart, and the member stacks need no new rule. The
 * EventBridge source of EKS Auth is `aws.` + its service prefix `eks-auth` (docs/formats.md §3.5).
 */
export const eksAccessEventPattern = (): events.EventPattern => ({
  source: ['aws.eks', 'aws.eks-auth'],
  detailType: [CLOUDTRAIL_DETAIL_TYPE],
  detail: { eventSource: [EKS_EVENT_SOURCE, EKS_AUTH_EVENT_SOURCE], eventName: [...EKS_ACCESS_EVENT_NAMES] },
});

export const stsAssumeRoleEventPattern = (): events.EventPattern => ({
  source: ['aws.sts'],
  detailType: [CLOUDTRAIL_DETAIL_TYPE],
  detail: { eventSource: [STS_EVENT_SOURCE], eventName: [...STS_ASSUME_ROLE_EVENT_NAMES] },
});

/** CloudWatch publishes every alarm state change to the default bus of its account and region. */
export const ALARM_STATE_DETAIL_TYPE = 'CloudWatch Alarm State Change';

/** On a member's default bus: its own forwarding alarms entering ALARM. */
export const forwardAlarmEventPattern = (): events.EventPattern => ({
  source: ['aws.cloudwatch'],
  detailType: [ALARM_STATE_DETAIL_TYPE],
  detail: { alarmName: [forwardAlarmName('Failures'), forwardAlarmName('DlqDepth')], state: { value: ['ALARM'] } },
});

/** On the central bus: the forwarding alarms of any member entering ALARM. */
export const memberAlarmEventPattern = (): events.EventPattern => ({
  source: ['aws.cloudwatch'],
  detailType: [ALARM_STATE_DETAIL_TYPE],
  detail: { alarmName: events.Match.prefix(FORWARD_ALARM_PREFIX), state: { value: ['ALARM'] } },
});

/**
 * Subscription filter pattern for `/aws/eks/<cluster>/cluster`. Filter patterns match the message
 * text, never the stream name, so this selects by content: every authenticator line is logrus
 * text with ` level=` (`time="…" level=info msg=…`), and every audit event is one JSON object whose
 * `apiVersion` is `audit.k8s.io/v1`, written before the bulky fields, so it survives the
 * `[Truncated...]` cut of oversized events. The quoted terms are needed because they contain
 * punctuation; `?` makes them alternatives. kube-apiserver / controller-manager / scheduler lines
 * (klog format) normally contain neither and are not delivered; the few that do are dropped by the
 * ingest function by stream name.
 */
export const CLUSTER_LOG_FILTER_PATTERN = '?"level=" ?"audit.k8s.io"';
