import { ENV } from '../../lib/runtime-env.js';
import { DEFAULT_RETENTION_DAYS, type RetentionDays } from '../../lib/store/dynamodb-trail-store.js';
import { type Env, EnvReader } from './config-error.js';

export { ConfigError } from './config-error.js';

export interface LogIngestConfig {
  tableName: string;
  /** Retention per item class in days (TTL computed from the event time by the store). */
  retentionDays: RetentionDays;
  /** Present once alert publishing is wired; ingestion itself never needs it. */
  alertTopicArn?: string;
  trustedAccountIds: string[];
}

const RETENTION_CLASSES = Object.keys(DEFAULT_RETENTION_DAYS) as (keyof RetentionDays)[];

/** Validated at cold start; throws ConfigError listing every bad variable. */
export const loadLogIngestConfig = (env: Env): LogIngestConfig => {
  const r = new EnvReader(env);
  const config: LogIngestConfig = {
    tableName: r.tableName(ENV.tableName),
    retentionDays: r.retentionDays(ENV.retentionDays, RETENTION_CLASSES),
    trustedAccountIds: r.accountIds(ENV.trustedAccountIds),
  };
  const topic = r.arn(ENV.alertTopicArn, 'sns');
  if (topic !== undefined) config.alertTopicArn = topic;
  return r.done(config);
};
