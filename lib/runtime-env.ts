/**
 * Names of the environment variables the Lambda functions read. The CDK constructs that grant a
 * function access to a resource set the variable naming it (cdk/ imports these constants), and each
 * function's config loader (functions/config/) validates them at cold start.
 */
export const ENV = {
  /** The trail table (chains, mapping history, credentials, quarantine, alerts). */
  tableName: 'TABLE_NAME',
  /** SNS topic for mapping-change alerts and posture findings. */
  alertTopicArn: 'ALERT_TOPIC_ARN',
  /** Comma-separated 12-digit account ids considered "inside" (alerts on mappings admitting others). */
  trustedAccountIds: 'TRUSTED_ACCOUNT_IDS',
  /** AWS Organizations id (o-…), informational in alerts. */
  organizationId: 'TRUSTED_ORGANIZATION_ID',
  /** JSON array of alert suppression rules. */
  alertSuppressions: 'ALERT_SUPPRESSIONS',
  /** JSON object: retention days per item class, e.g. {"chain":400,"quarantine":30}. */
  retentionDays: 'RETENTION_DAYS',
  /** Days without use after which a mapping is reported as unused (posture). */
  unusedMappingDays: 'UNUSED_MAPPING_DAYS',
  /** Days after its creation during which a mapping's first use raises an alert. */
  recentMappingDays: 'RECENT_MAPPING_DAYS',
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
  /** Count of records sent to quarantine (unparseable / unsupported), per invocation. */
  quarantined: 'QuarantinedRecords',
} as const;
