import { ENV } from '../../lib/runtime-env.js';
import { type Env, EnvReader } from './env-reader.js';

export { ConfigError } from './env-reader.js';

export interface DigestSignerConfig {
  tableName: string;
  /** The signing key, by ARN: what every link records and the verifier pins. */
  keyArn: string;
  settleMs: number;
  retryWindowMs: number;
}

/** Log-ingest times out after 5 minutes; marks get three times that to settle. */
export const DEFAULT_SETTLE_MINUTES = 15;
/** The Kinesis event source's maximum record age (cdk/stacks/central-stack.ts), 6 h. */
export const DEFAULT_RETRY_WINDOW_MINUTES = 360;

/** Validated at cold start; throws ConfigError listing every bad variable. */
export const loadDigestSignerConfig = (env: Env): DigestSignerConfig => {
  const r = new EnvReader(env);
  const tableName = r.tableName(ENV.tableName);
  const keyArn = r.arn(ENV.digestKeyArn, 'kms');
  if (keyArn === undefined && r.optional(ENV.digestKeyArn) === undefined) {
    r.problems.push({ variable: ENV.digestKeyArn, message: 'is required and missing or empty' });
  } else if (keyArn !== undefined && !/:key\/[A-Za-z0-9-]+$/.test(keyArn)) {
    // An alias ARN would work for kms:Sign but links must name the key itself, which the verifier pins.
    r.problems.push({ variable: ENV.digestKeyArn, message: 'must be a key ARN (arn:…:key/<id>), not an alias' });
  }
  const settleMinutes = r.positiveInt(ENV.digestSettleMinutes, DEFAULT_SETTLE_MINUTES);
  const retryMinutes = r.positiveInt(ENV.digestRetryWindowMinutes, DEFAULT_RETRY_WINDOW_MINUTES);
  return r.done({
    tableName,
    keyArn: keyArn ?? '',
    settleMs: settleMinutes * 60_000,
    retryWindowMs: retryMinutes * 60_000,
  });
};
