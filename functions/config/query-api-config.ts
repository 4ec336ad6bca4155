import { ENV } from '../../lib/runtime-env.js';
import { type Env, EnvReader } from './env-reader.js';

export { ConfigError } from './env-reader.js';

export interface QueryApiConfig {
  tableName: string;
}

/** Validated at cold start; throws ConfigError listing every bad variable. */
export const loadQueryApiConfig = (env: Env): QueryApiConfig => {
  const r = new EnvReader(env);
  return r.done({ tableName: r.tableName(ENV.tableName) });
};
