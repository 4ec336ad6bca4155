import { parseS3Location, type SourceLocation } from '../../lib/export/security-lake.js';
import { ENV } from '../../lib/runtime-env.js';
import { type Env, EnvReader } from './env-reader.js';

export { ConfigError } from './env-reader.js';

export interface OcsfExportConfig {
  tableName: string;
  apiActivity: SourceLocation;
  entityManagement?: SourceLocation;
  /** Security Lake's provider role and its external id, when writing into the data lake's bucket. */
  writer?: { roleArn: string; externalId?: string };
  region: string;
  /** "<account>/<cluster>" -> region, for clusters the deployment lists. */
  clusterRegions: Record<string, string>;
  intervalMinutes: number;
  lagMinutes: number;
  productVersion: string;
}

const location = (r: EnvReader, name: string, required: boolean): SourceLocation | undefined => {
  const text = required ? r.required(name) : r.optional(name);
  if (!text) return undefined;
  try {
    return parseS3Location(text);
  } catch (e) {
    r.problems.push({ variable: name, message: (e as Error).message });
    return undefined;
  }
};

/** Validated at cold start; throws ConfigError listing every bad variable. */
export const loadOcsfExportConfig = (env: Env): OcsfExportConfig => {
  const r = new EnvReader(env);
  const tableName = r.tableName(ENV.tableName);
  const apiActivity = location(r, ENV.ocsfApiActivityLocation, true);
  const entityManagement = location(r, ENV.ocsfEntityManagementLocation, false);
  const roleArn = r.arn(ENV.ocsfWriterRoleArn, 'iam');
  const externalId = r.optional(ENV.ocsfWriterExternalId);
  if (externalId !== undefined && roleArn === undefined) {
    r.problems.push({ variable: ENV.ocsfWriterExternalId, message: `needs ${ENV.ocsfWriterRoleArn}` });
  }
  const region = r.required(ENV.ocsfRegion);
  if (region !== '' && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    r.problems.push({ variable: ENV.ocsfRegion, message: 'is not an AWS region name' });
  }
  const clusterRegions: Record<string, string> = {};
  const regionsText = r.optional(ENV.ocsfClusterRegions);
  if (regionsText !== undefined) {
    try {
      const parsed: unknown = JSON.parse(regionsText);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      for (const [k, v] of Object.entries(parsed)) {
        if (typeof v !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(v)) throw new Error(`${k}: not a region`);
        clusterRegions[k] = v;
      }
    } catch (e) {
      r.problems.push({
        variable: ENV.ocsfClusterRegions,
        message: `must be a JSON object of "<account>/<cluster>" -> region: ${(e as Error).message}`,
      });
    }
  }
  const intervalMinutes = r.positiveInt(ENV.ocsfIntervalMinutes, 60);
  const lagMinutes = r.positiveInt(ENV.ocsfLagMinutes, 15);
  const productVersion = r.optional(ENV.productVersion) ?? 'unknown';
  return r.done({
    tableName,
    apiActivity: apiActivity as SourceLocation,
    ...(entityManagement ? { entityManagement } : {}),
    ...(roleArn ? { writer: externalId ? { roleArn, externalId } : { roleArn } } : {}),
    region,
    clusterRegions,
    intervalMinutes,
    lagMinutes,
    productVersion,
  });
};
