import type { AlertConfig } from '../../lib/alerts/types.js';
import type { RetentionDays } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { AlertRoutingConfig } from './alert-routing-config.js';
import { type Env, EnvReader } from './env-reader.js';
import { readIngestSettings } from './log-ingest-config.js';

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
  const config: CloudTrailIngestConfig = readIngestSettings(r);
  return r.done(config);
};
