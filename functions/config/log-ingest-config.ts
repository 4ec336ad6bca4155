import type { AlertConfig } from '../../lib/alerts/types.js';
import { ENV } from '../../lib/runtime-env.js';
import { DEFAULT_RETENTION_DAYS, type RetentionDays } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type AlertRoutingConfig, readAlertRouting } from './alert-routing-config.js';
import { type Env, EnvReader } from './env-reader.js';
import { readAlertConfig } from './posture-report-config.js';

export { ConfigError } from './env-reader.js';

export interface LogIngestConfig {
  tableName: string;
  /** Retention per item class in days (TTL computed from the event time by the store). */
  retentionDays: RetentionDays;
  /** Mapping-change and first-use alerts go here. */
  alertTopicArn: string;
  alerts: AlertConfig;
  /** EventBridge and Security Hub, besides the topic. */
  alertRouting: AlertRoutingConfig;
}

/** The store's item classes (the alert ledger's included), as cdk/config.ts lets deployers set them. */
export const RETENTION_CLASSES = Object.keys(DEFAULT_RETENTION_DAYS) as (keyof RetentionDays)[];

export const readRetention = (r: EnvReader): { retentionDays: RetentionDays } => ({
  retentionDays: r.retentionDays(ENV.retentionDays, RETENTION_CLASSES),
});

/**
 * ALERT_TOPIC_ARN is required: an ingest function that cannot publish would store aws-auth and access
 * entry changes without anyone hearing of them, which is the failure this product exists to prevent.
 */
export const readRequiredTopic = (r: EnvReader): string => {
  const topic = r.arn(ENV.alertTopicArn, 'sns');
  if (topic === undefined && r.optional(ENV.alertTopicArn) === undefined) {
    r.problems.push({ variable: ENV.alertTopicArn, message: 'is required and missing or empty' });
  }
  return topic ?? '';
};

/** What both ingest functions read: the table, retention, and where their alerts go. */
export const readIngestSettings = (r: EnvReader): LogIngestConfig => ({
  tableName: r.tableName(ENV.tableName),
  ...readRetention(r),
  alertTopicArn: readRequiredTopic(r),
  alerts: readAlertConfig(r),
  alertRouting: readAlertRouting(r),
});

/** Validated at cold start; throws ConfigError listing every bad variable. */
export const loadLogIngestConfig = (env: Env): LogIngestConfig => {
  const r = new EnvReader(env);
  return r.done(readIngestSettings(r));
};
