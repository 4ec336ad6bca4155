import { SUBSCRIPTION_FILTER_PREFIX } from '../lib/runtime-env.js';

/**
 * Names shared by the central and member stacks. Members are synthesized without any reference to
 * the central stack's outputs (they may live in another account, deployed by a StackSet), so the
 * cross-account resources have fixed, predictable names and their ARNs are built from them.
 */

/** CloudWatch Logs destination in the central account, one per region that has clusters. */
export const DESTINATION_NAME = 'eks-access-trail';
/** Central Kinesis stream; named so that destinations in other regions can target it by ARN. */
export const STREAM_NAME = 'eks-access-trail';
export const streamArn = (partition: string, region: string, account: string): string =>
  `arn:${partition}:kinesis:${region}:${account}:stream/${STREAM_NAME}`;

/** Custom EventBridge bus in the central account and central region. */
export const CENTRAL_BUS_NAME = 'eks-access-trail';

/**
 * Subscription filter name on `/aws/eks/<cluster>/cluster`. It reaches the ingest function as
 * `subscriptionFilters[0]` of every payload, which carries the source region (the payload itself
 * has the owner account and log group, but no region).
 */
export const subscriptionFilterName = (region: string): string => `${SUBSCRIPTION_FILTER_PREFIX}${region}`;

/** The log group EKS creates for control-plane logs; the cluster owns it, never the stack. */
export const clusterLogGroupName = (cluster: string): string => `/aws/eks/${cluster}/cluster`;

export const destinationArn = (partition: string, region: string, account: string): string =>
  `arn:${partition}:logs:${region}:${account}:destination:${DESTINATION_NAME}`;

export const centralBusArn = (partition: string, region: string, account: string): string =>
  `arn:${partition}:events:${region}:${account}:event-bus/${CENTRAL_BUS_NAME}`;

/**
 * Role CloudWatch Logs assumes to put records into the central stream. IAM is global, so the
 * central stack creates it once and the destinations of other regions reuse it by name.
 */
export const destinationRoleName = (centralRegion: string): string =>
  `eks-access-trail-cwl-to-kinesis-${centralRegion}`;

/** Stack names. */
export const STACK = {
  central: 'EksAccessTrail-Central',
  single: 'EksAccessTrail',
  destination: (region: string) => `EksAccessTrail-Destination-${region}`,
  member: (account: string, region: string) => `EksAccessTrail-Member-${account}-${region}`,
  singleGlobalSts: 'EksAccessTrail-GlobalSts',
} as const;

/** Region where STS records calls made to the global endpoint (sts.amazonaws.com). */
export const GLOBAL_STS_REGION = 'us-east-1';

/**
 * Retention of the central stream, hours. Failed Kinesis batches are reported by shard and sequence
 * range only (the on-failure queue keeps no data), so the stream is what a replay reads from.
 */
export const STREAM_RETENTION_HOURS = 168;

/**
 * Explicit alarm and rule names start with this. Alarm state events are selected by it, and a rule's
 * metrics are found by its name (a generated name is only known after deployment).
 */
export const ALARM_NAME_PREFIX = 'EksAccessTrail-';

/** Name of an EventBridge rule of the stacks, from its construct id. */
export const trailRuleName = (constructId: string): string => `${ALARM_NAME_PREFIX}${constructId}`;

/**
 * Alarms of the member stacks. Their state changes are forwarded to the central bus, where one rule
 * sends them to the alert topic: a member account has no topic of its own to notify.
 */
export const FORWARD_ALARM_PREFIX = `${ALARM_NAME_PREFIX}Forward`;
export const forwardAlarmName = (what: 'Failures' | 'DlqDepth'): string => `${FORWARD_ALARM_PREFIX}${what}`;
