import { type AlertConfig, type AlertSuppression, DEFAULT_ALERT_CONFIG } from '../../lib/alerts/types.js';
import { ENV } from '../../lib/runtime-env.js';
import { type Env, EnvReader } from './env-reader.js';

export { ConfigError } from './env-reader.js';

const SUPPRESSION_KEYS = ['ruleId', 'principal', 'cluster'] as const;

/**
 * ALERT_SUPPRESSIONS: a JSON array of `{ruleId?, principal?, cluster?}` (strings; principal and
 * cluster are globs). A rule with no field would match nothing, and an unknown key is most likely a
 * typo that would silently widen or void the rule, so both are errors.
 */
export const readSuppressions = (r: EnvReader, name: string = ENV.alertSuppressions): AlertSuppression[] => {
  const text = r.optional(name);
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    r.problems.push({ variable: name, message: `not JSON: ${(cause as Error).message}` });
    return [];
  }
  if (!Array.isArray(parsed)) {
    r.problems.push({ variable: name, message: 'must be a JSON array of {ruleId?, principal?, cluster?}' });
    return [];
  }
  const out: AlertSuppression[] = [];
  parsed.forEach((rule, i) => {
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
      r.problems.push({ variable: name, message: `[${i}] must be an object` });
      return;
    }
    const s: AlertSuppression = {};
    let bad = false;
    for (const [k, v] of Object.entries(rule)) {
      if (!(SUPPRESSION_KEYS as readonly string[]).includes(k)) {
        r.problems.push({
          variable: name,
          message: `[${i}] unknown key ${JSON.stringify(k)} (known: ${SUPPRESSION_KEYS.join(', ')})`,
        });
        bad = true;
        continue;
      }
      if (typeof v !== 'string' || v.trim() === '') {
        r.problems.push({ variable: name, message: `[${i}].${k} must be a non-empty string` });
        bad = true;
        continue;
      }
      s[k as (typeof SUPPRESSION_KEYS)[number]] = v.trim();
    }
    if (!bad && Object.keys(s).length === 0) {
      r.problems.push({ variable: name, message: `[${i}] names no field, so it would match nothing` });
      return;
    }
    if (!bad) out.push(s);
  });
  return out;
};

/** The alert rules' configuration; the ingest functions' loaders can call this with their reader too. */
export const readAlertConfig = (r: EnvReader): AlertConfig => {
  const config: AlertConfig = {
    trustedAccountIds: r.accountIds(ENV.trustedAccountIds),
    suppressions: readSuppressions(r),
    recentMappingDays: r.positiveInt(ENV.recentMappingDays, DEFAULT_ALERT_CONFIG.recentMappingDays),
    unusedMappingDays: r.positiveInt(ENV.unusedMappingDays, DEFAULT_ALERT_CONFIG.unusedMappingDays),
  };
  const org = r.optional(ENV.organizationId);
  if (org !== undefined) {
    if (/^o-[a-z0-9]{10,32}$/.test(org)) config.organizationId = org;
    else r.problems.push({ variable: ENV.organizationId, message: 'must be an AWS Organizations id (o-…)' });
  }
  return config;
};

export interface PostureReportConfig {
  tableName: string;
  /** Required: a posture report nobody receives is pointless, so a missing topic fails the cold start. */
  alertTopicArn: string;
  alerts: AlertConfig;
}

/** Validated at cold start; throws ConfigError listing every bad variable. */
export const loadPostureReportConfig = (env: Env): PostureReportConfig => {
  const r = new EnvReader(env);
  const tableName = r.tableName(ENV.tableName);
  const topic = r.arn(ENV.alertTopicArn, 'sns');
  if (topic === undefined && r.optional(ENV.alertTopicArn) === undefined) {
    r.problems.push({ variable: ENV.alertTopicArn, message: 'is required and missing or empty' });
  }
  const alerts = readAlertConfig(r);
  return r.done({ tableName, alertTopicArn: topic ?? '', alerts });
};
