/**
 * Names of the environment variables the Lambda functions read. The CDK constructs that grant a
 * function access to a resource set the variable naming it (cdk/ imports these constants), and each
 * function's config loader (functions/config/) validates them at cold start.
 */
export const ENV = {
  /** The trail table (chains, mapping history, credentials, quarantine, alerts). */
  tableName: 'TABLE_NAME',
  /** Digest signer: ARN of the asymmetric KMS key that signs the digests (docs/tamper-evidence.md). */
  digestKeyArn: 'DIGEST_KEY_ARN',
  /** Digest signer: minutes a pending mark waits before it is covered (the longest ingest function timeout). */
  digestSettleMinutes: 'DIGEST_SETTLE_MINUTES',
  /** Digest signer: minutes Lambda may retry a log batch (the event source's maximum record age). */
  digestRetryWindowMinutes: 'DIGEST_RETRY_WINDOW_MINUTES',
  /** SNS topic for mapping-change alerts and posture findings. */
  alertTopicArn: 'ALERT_TOPIC_ARN',
  /** Comma-separated 12-digit account ids considered "inside" (alerts on mappings admitting others). */
  trustedAccountIds: 'TRUSTED_ACCOUNT_IDS',
  /** AWS Organizations id (o-…), informational in alerts. */
  organizationId: 'TRUSTED_ORGANIZATION_ID',
  /** JSON array of alert suppression rules. */
  alertSuppressions: 'ALERT_SUPPRESSIONS',
  /** EventBridge bus (name, in the function's account and region) every alert is put on as an event. */
  alertEventBusName: 'ALERT_EVENT_BUS_NAME',
  /** Security Hub default product ARN to import alerts into as ASFF findings; absent = not imported. */
  alertSecurityHubProductArn: 'ALERT_SECURITY_HUB_PRODUCT_ARN',
  /** JSON object "<account>/<cluster>" -> region, for the cluster ARN of routed alerts. */
  alertClusterRegions: 'ALERT_CLUSTER_REGIONS',
  /** JSON object: retention days per item class, e.g. {"chain":400,"quarantine":30}. */
  retentionDays: 'RETENTION_DAYS',
  /** Days without use after which a mapping is reported as unused (posture). */
  unusedMappingDays: 'UNUSED_MAPPING_DAYS',
  /** Days after its creation during which a mapping's first use raises an alert. */
  recentMappingDays: 'RECENT_MAPPING_DAYS',
  /** OCSF export: s3://bucket/prefix of the API Activity custom source. */
  ocsfApiActivityLocation: 'OCSF_API_ACTIVITY_LOCATION',
  /** OCSF export: s3://bucket/prefix of the Entity Management (mapping changes) custom source; optional. */
  ocsfEntityManagementLocation: 'OCSF_ENTITY_MANAGEMENT_LOCATION',
  /** OCSF export: role to assume for writing (Security Lake's provider role); optional. */
  ocsfWriterRoleArn: 'OCSF_WRITER_ROLE_ARN',
  /** OCSF export: external id Security Lake set on its provider role; with OCSF_WRITER_ROLE_ARN. */
  ocsfWriterExternalId: 'OCSF_WRITER_EXTERNAL_ID',
  /** OCSF export: the region label of records of clusters the deployment does not list. */
  ocsfRegion: 'OCSF_REGION',
  /** OCSF export: JSON object "<account>/<cluster>" -> region, from the deployment's cluster list. */
  ocsfClusterRegions: 'OCSF_CLUSTER_REGIONS',
  /** OCSF export: minutes per exported window (the schedule's rate). */
  ocsfIntervalMinutes: 'OCSF_INTERVAL_MINUTES',
  /** OCSF export: minutes a window waits after it closes, for late records. */
  ocsfLagMinutes: 'OCSF_LAG_MINUTES',
  /** metadata.product.version of exported records. */
  productVersion: 'PRODUCT_VERSION',
  /** JSON list of query API access grants (lib/query/access-policy.ts); `[]` denies every caller. */
  queryAccessPolicy: 'QUERY_ACCESS_POLICY',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/**
 * CloudWatch metrics the functions emit (powertools Metrics / EMF) and the CDK alarms watch. The CDK
 * sets POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME (= the function entry name, e.g.
 * `log-ingest`) on every function; powertools adds the `service` dimension from the latter, and the
 * alarms select on exactly {service}. Emit these with no other dimension, or the alarms see nothing.
 */
export const METRICS = {
  namespace: 'EksAccessTrail',
  /** Count of records sent to quarantine (unparseable, unsupported, refused by the store), per invocation. */
  quarantined: 'QuarantinedRecords',
  /** Log events (log-ingest) or CloudTrail events (cloudtrail-ingest) received, per invocation. */
  recordsIn: 'RecordsIn',
  /**
   * Log events received from one cluster, with a second dimension `cluster` = clusterMetricKey(...):
   * the per-cluster silence alarms read it, and treat its absence as the cluster having gone quiet.
   */
  clusterLogEvents: 'ClusterLogEvents',
} as const;

/** Dimension name of METRICS.clusterLogEvents. */
export const CLUSTER_DIMENSION = 'cluster';

/**
 * Value of the `cluster` dimension: `<account>/<region>/<name>`. The region is part of it because a
 * name may repeat across the regions of one account, and each log group has its own subscription.
 */
export const clusterMetricKey = (account: string, region: string, cluster: string): string =>
  `${account}/${region}/${cluster}`;

/**
 * Subscription filters on the cluster log groups are named `eks-access-trail-<region>` (cdk/names.ts):
 * a CloudWatch Logs payload names its filter but not its region, so the region is read back from it.
 */
export const SUBSCRIPTION_FILTER_PREFIX = 'eks-access-trail-';

/** The region in a payload's subscription filter names, or undefined when none is ours. */
export const regionOfSubscriptionFilters = (filters: readonly string[]): string | undefined => {
  for (const f of filters) {
    if (f.startsWith(SUBSCRIPTION_FILTER_PREFIX) && f.length > SUBSCRIPTION_FILTER_PREFIX.length) {
      return f.slice(SUBSCRIPTION_FILTER_PREFIX.length);
    }
  }
  return undefined;
};

/** Metrics of the digest signer (functions/digest-signer.ts), alarmed by cdk/constructs/digest-signer.ts. */
export const DIGEST_METRICS = {
  /** Signed items found changed or gone when the signer looked at their hour again. */
  mismatches: 'DigestMismatches',
  /** Items a run signed (first versions and late additions). */
  itemsSigned: 'DigestItemsSigned',
} as const;
