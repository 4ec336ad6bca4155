import type { AlertConfig } from '../../lib/alerts/types.js';
import { ENV } from '../../lib/runtime-env.js';
import type { RetentionDays } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type AlertRoutingConfig, readAlertRouting } from './alert-routing-config.js';
import { type Env, EnvReader } from './env-reader.js';
import { readRequiredTopic, readRetention } from './log-ingest-config.js';
import { readAlertConfig } from './posture-report-config.js';

export { ConfigError } from './env-reader.js';

export interface CloudTrailIngestConfig {
  tableName: string;
  retentionDays: RetentionDays;
  /** Access entry / access policy change alerts go here (see readRequiredTopic for why it is required). */
  alertTopicArn: string;
  alerts: AlertConfig;
  /** EventBridge and Security Hub, besides the topic. */
  alertRouting: AlertRoutingConfig;
  /** Days the alert ledger remembers an alert id (RETENTION_DAYS `alert`). */
  alertRetentionDays?: number;
}

/** Validated at cold start; throws ConfigError listing every bad variable. */
export const loadCloudTrailIngestConfig = (env: Env): CloudTrailIngestConfig => {
  const r = new EnvReader(env);
  const config: CloudTrailIngestConfig = {
    tableName: r.tableName(ENV.tableName),
    ...readRetention(r),
    alertTopicArn: readRequiredTopic(r),
    alerts: readAlertConfig(r),
    alertRouting: readAlertRouting(r),
  };
  return r.done(config);
};
