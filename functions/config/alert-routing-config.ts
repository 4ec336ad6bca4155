import { parseProductArn } from '../../lib/alerts/asff.js';
import { ENV } from '../../lib/runtime-env.js';
import type { EnvReader } from './env-reader.js';

/**
 * Where alerts go besides SNS (cdk/constructs/alert-routing.ts sets these): the EventBridge bus every
 * alert is put on, the Security Hub product findings are imported into (optional), and the region of
 * each deployed cluster for the cluster ARN in both.
 */
export interface AlertRoutingConfig {
  /** Absent only outside a deployment (tests, bench): then alerts go to SNS alone. */
  eventBusName?: string;
  securityHubProductArn?: string;
  /** `<account>/<cluster>` -> region. */
  clusterRegions: Record<string, string>;
  /** Partition of the function's region (AWS_REGION, which Lambda sets), for cluster ARNs. */
  partition: string;
}

/** China and GovCloud regions are partitions of their own; every other region is in `aws`. */
export const partitionOf = (region: string | undefined): string =>
  region?.startsWith('cn-') ? 'aws-cn' : region?.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d$/;
// EventBridge bus names: 1-256 of letters, digits, . - _ / (a partner bus names its source with /).
const BUS_NAME_RE = /^[/.\-_A-Za-z0-9]{1,256}$/;

export const readAlertRouting = (r: EnvReader): AlertRoutingConfig => {
  const out: AlertRoutingConfig = { clusterRegions: {}, partition: partitionOf(r.optional('AWS_REGION')) };
  const bus = r.optional(ENV.alertEventBusName);
  if (bus !== undefined) {
    if (BUS_NAME_RE.test(bus)) out.eventBusName = bus;
    else r.problems.push({ variable: ENV.alertEventBusName, message: 'is not an EventBridge bus name' });
  }
  const product = r.optional(ENV.alertSecurityHubProductArn);
  if (product !== undefined) {
    // Only the account's default product takes findings from the account itself (lib/alerts/asff.ts).
    if (parseProductArn(product)) out.securityHubProductArn = product;
    else {
      r.problems.push({
        variable: ENV.alertSecurityHubProductArn,
        message: 'must be arn:<partition>:securityhub:<region>:<account>:product/<account>/default',
      });
    }
  }
  const regions = r.optional(ENV.alertClusterRegions);
  if (regions !== undefined) {
    try {
      const parsed: unknown = JSON.parse(regions);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      for (const [k, v] of Object.entries(parsed)) {
        if (!/^\d{12}\/[A-Za-z0-9][A-Za-z0-9_-]*$/.test(k)) throw new Error(`${k}: not <account>/<cluster>`);
        if (typeof v !== 'string' || !REGION_RE.test(v)) throw new Error(`${k}: not a region`);
        out.clusterRegions[k] = v;
      }
    } catch (e) {
      r.problems.push({
        variable: ENV.alertClusterRegions,
        message: `must be a JSON object of "<account>/<cluster>" -> region: ${(e as Error).message}`,
      });
    }
  }
  return out;
};
