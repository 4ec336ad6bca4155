import { parseQueryAccessPolicy, type QueryAccessPolicy } from '../../lib/query/access-policy.js';
import { ENV } from '../../lib/runtime-env.js';
import { type Env, EnvReader } from './env-reader.js';

export { ConfigError } from './env-reader.js';

export interface QueryApiConfig {
  tableName: string;
  access: QueryAccessPolicy;
}

/**
 * Validated at cold start; throws ConfigError listing every bad variable. The access grants are
 * required, not defaulted: a deployment that lost them must fail loudly, not answer everyone or no one
 * without saying why.
 */
export const loadQueryApiConfig = (env: Env): QueryApiConfig => {
  const r = new EnvReader(env);
  const tableName = r.tableName(ENV.tableName);
  const text = r.required(ENV.queryAccessPolicy);
  let access: QueryAccessPolicy = { grants: [] };
  if (text !== '') {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (cause) {
      r.problems.push({ variable: ENV.queryAccessPolicy, message: `not JSON: ${(cause as Error).message}` });
    }
    if (raw !== undefined) {
      const parsed = parseQueryAccessPolicy(raw);
      if (parsed.ok) access = parsed.value;
      else for (const i of parsed.issues) r.problems.push({ variable: ENV.queryAccessPolicy, message: i.message });
    }
  }
  return r.done({ tableName, access });
};
