import type * as events from 'aws-cdk-lib/aws-events';

/**
 * EventBridge patterns for the CloudTrail management events the product consumes. Events of the
 * type "AWS API Call via CloudTrail" reach the default bus only when a trail records management
 * events in that account and region (FORMATS.md §3.3); the same patterns serve the member rules on
 * the default bus and the central rules on the custom bus (forwarding keeps source and detail).
 */

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

/** EKS operations that change who can reach a cluster, or how authentication and logging work. */
export const EKS_ACCESS_EVENT_NAMES = [
  'CreateAccessEntry',
  'UpdateAccessEntry',
  'DeleteAccessEntry',
  'AssociateAccessPolicy',
  'DisassociateAccessPolicy',
  'CreateCluster',
  'DeleteCluster',
  'UpdateClusterConfig',
] as const;

/** STS calls that issue the temporary access keys seen in authenticator lines and audit `user.extra`. */
export const STS_ASSUME_ROLE_EVENT_NAMES = ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'] as const;

export const eksAccessEventPattern = (): events.EventPattern => ({
  source: ['aws.eks'],
  detailType: [CLOUDTRAIL_DETAIL_TYPE],
  detail: { eventSource: ['eks.amazonaws.com'], eventName: [...EKS_ACCESS_EVENT_NAMES] },
});

export const stsAssumeRoleEventPattern = (): events.EventPattern => ({
  source: ['aws.sts'],
  detailType: [CLOUDTRAIL_DETAIL_TYPE],
  detail: { eventSource: ['sts.amazonaws.com'], eventName: [...STS_ASSUME_ROLE_EVENT_NAMES] },
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
