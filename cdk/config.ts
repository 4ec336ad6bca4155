import { parseQueryAccessPolicy, type QueryGrant } from '../lib/query/access-policy.js';
import { type AlertRoutingSettings, validateAlertRouting } from './alert-routing-config.js';
import { LOG_STREAM_BATCHING } from './function-settings.js';
/**
 * Deployment configuration of the CDK app: what the deployer writes (cdk.json context, a JSON file
 * given with `-c configFile=…`, or props in tests), validated by one pure function so that every
 * mistake is reported at once, with the key that is wrong, before anything is synthesized.
 */

/** Lambda / CloudWatch Logs accept only these retention values (RetentionDays in the Logs API). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Item classes whose DynamoDB TTL the deployer may set (RETENTION_DAYS, read by the store).
 * Mapping history (access entries, aws-auth versions, cluster creators) is deliberately absent:
 * it is versioned state that "who could reach cluster X at time T" needs for as long as the table lives.
 */
export const RETENTION_ITEM_CLASSES = [
  'request',
  'bulkRequest',
  'authenticator',
  'credential',
  'quarantine',
  'alert',
] as const;
export type RetentionItemClass = (typeof RETENTION_ITEM_CLASSES)[number];

export type DeploymentMode = 'multi-account' | 'single-account';

export interface ClusterConfig {
  name: string;
  /** Workload account that owns the cluster. */
  account: string;
  region: string;
  /** Turn on the authenticator + audit control-plane log types on this cluster (merged with what is on). */
  enableControlPlaneLogging: boolean;
  /**
   * Alarm when the cluster sends no log event for `silenceAlarmMinutes`. Defaults to
   * enableControlPlaneLogging: the stack knows the logging is on only when it turned it on.
   */
  silenceAlarm: boolean;
}

export interface TrailConfig {
  mode: DeploymentMode;
  /** Security account that holds the stream, table, buses and functions. */
  centralAccount: string;
  centralRegion: string;
  clusters: ClusterConfig[];
  /** Accounts admitted by the log destination and the event bus (exactly these), unless organizationId is set. */
  memberAccountIds: string[];
  /** AWS Organizations id (o-…): admit every account of the organization instead of a list. */
  organizationId?: string;
  retentionDays: Partial<Record<RetentionItemClass, number>>;
  alertEmails: string[];
  /** 0 = on-demand capacity; N > 0 = provisioned with N shards. */
  kinesisShards: number;
  /** Concurrent batches per shard for the log-ingest event source mapping (1–10). */
  parallelizationFactor: number;
  /**
   * Longest the log function waits to fill a batch (0-300 s). Longer is cheaper on quiet clusters and
   * later for aws-auth alerts there (cdk/function-settings.ts, LOG_STREAM_BATCHING).
   */
  logBatchingWindowSeconds: number;
  /** Retention of the functions' own CloudWatch log groups. */
  logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  /** Default for clusters that do not say. */
  enableControlPlaneLogging: boolean;
  /**
   * STS AssumeRole* CloudTrail events are recorded in the region of the STS endpoint called; the
   * global endpoint (sts.amazonaws.com, still the default of many SDKs and tools) records in
   * us-east-1. When true, every member account also gets a us-east-1 stack forwarding them.
   */
  forwardGlobalStsEvents: boolean;
  /** Posture: a mapping unused for this many days is reported (UNUSED_MAPPING_DAYS). */
  unusedMappingDays: number;
  /** A mapping first used at most this many days after its creation raises an alert (RECENT_MAPPING_DAYS). */
  recentMappingDays: number;
  /** Alert suppression rules (ALERT_SUPPRESSIONS); every field given must match. */
  alertSuppressions: AlertSuppressionConfig[];
  /** Who may read which clusters through the query API (QUERY_ACCESS_POLICY); empty denies everyone. */
  queryAccess: QueryGrant[];
  /** Minutes without a log event from a cluster (with silenceAlarm) before its alarm fires. */
  silenceAlarmMinutes: number;
  /** Continuous OCSF export as Security Lake custom sources (docs/ocsf.md); absent = off. */
  ocsfExport?: OcsfExportConfig;
  /** Alerts on EventBridge and in Security Hub (docs/alert-events.md); absent = DEFAULT_ALERT_ROUTING. */
  alertRouting?: AlertRoutingSettings;
}

/**
 * The scheduled OCSF export. Without `securityLake` the stack creates its own bucket laid out as
 * custom sources (plus a Glue database and crawler over it); with it, the function writes into the
 * locations Security Lake assigned, through the provider role Security Lake created.
 */
export interface OcsfExportConfig {
  /** Minutes per exported window = the schedule's rate (5-1440; Security Lake wants objects 5 min to 1 day apart). */
  intervalMinutes: number;
  /** Minutes a window waits after it closes, for late records (0-1440). */
  lagMinutes: number;
  /** Names of the two custom sources (API Activity, Entity Management). */
  apiActivitySourceName: string;
  entityManagementSourceName: string;
  securityLake?: {
    /** s3://… location CreateCustomLogSource returned for the API Activity source. */
    apiActivityLocation: string;
    /** Same, for the Entity Management source (mapping changes); absent = not exported. */
    entityManagementLocation?: string;
    /** The provider role Security Lake created for the source, and its external id. */
    providerRoleArn: string;
    externalId: string;
  };
}

/** Default of `silenceAlarmMinutes`: twelve five-minute periods, so one late batch never alarms. */
export const DEFAULT_SILENCE_ALARM_MINUTES = 60;

/**
 * Bound of the compact JSON of `queryAccess`, which travels in the query function's environment:
 * Lambda allows 4 KB of environment in all, and the other variables need the rest.
 */
export const MAX_QUERY_ACCESS_BYTES = 2_500;

/** Same shape as lib/alerts AlertSuppression: principal and cluster are globs (`*`, `?`). */
export interface AlertSuppressionConfig {
  ruleId?: string;
  principal?: string;
  cluster?: string;
}

const SUPPRESSION_KEYS = ['ruleId', 'principal', 'cluster'] as const;

export interface ConfigProblem {
  /** The key in the input, e.g. `clusters[2].account`. */
  path: string;
  message: string;
}

export type ConfigResult = { ok: true; value: TrailConfig } | { ok: false; problems: ConfigProblem[] };

/** Thrown by the app entry when the configuration does not validate; lists every problem. */
export class ConfigValidationError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], options?: { cause?: unknown }) {
    super(
      `eks-access-trail configuration is invalid:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`,
      options,
    );
    this.name = 'ConfigValidationError';
    this.problems = problems;
  }
}

/** Where the app is synthesized for, from `-c account=… -c region=…` or the CLI's defaults. */
export interface DeployEnv {
  account: string;
  region: string;
}

const ACCOUNT_RE = /^\d{12}$/;
// Commercial, China, GovCloud and ISO partitions; the CLI rejects unknown regions later anyway.
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d$/;
// EKS cluster names: 1-100 chars, start with a letter or digit, then letters, digits, hyphens, underscores.
const CLUSTER_NAME_RE = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const ORG_ID_RE = /^o-[a-z0-9]{10,32}$/;
// Deliberately loose: SNS validates the address; this only catches obvious paste errors.
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const KNOWN_KEYS = new Set([
  'mode',
  'centralAccount',
  'centralRegion',
  'clusters',
  'memberAccountIds',
  'organizationId',
  'retentionDays',
  'alertEmails',
  'kinesisShards',
  'parallelizationFactor',
  'logBatchingWindowSeconds',
  'logRetentionDays',
  'enableControlPlaneLogging',
  'forwardGlobalStsEvents',
  'unusedMappingDays',
  'recentMappingDays',
  'alertSuppressions',
  'ocsfExport',
  'queryAccess',
  'silenceAlarmMinutes',
  'alertRouting',
]);

const OCSF_EXPORT_KEYS = new Set([
  'intervalMinutes',
  'lagMinutes',
  'apiActivitySourceName',
  'entityManagementSourceName',
  'securityLake',
]);
const SECURITY_LAKE_KEYS = new Set([
  'apiActivityLocation',
  'entityManagementLocation',
  'providerRoleArn',
  'externalId',
]);
// Security Lake custom source names: 1-64 of letters, digits, hyphen, underscore.
const SOURCE_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const S3_LOCATION_RE = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;
const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Records a problem with the key at `path`; every validator below reports through one. */
type Report = (path: string, message: string) => void;

const wholeIn = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/**
 * Validates raw configuration. `env` supplies defaults: the central account and region default to the
 * synthesis environment, and a cluster without account/region belongs to the central account/region.
 * Pure: no I/O, no clock, never throws. Problems are listed in the order of the sections below.
 */
export function validateTrailConfig(input: unknown, env: DeployEnv): ConfigResult {
  const problems: ConfigProblem[] = [];
  const bad: Report = (path, message) => problems.push({ path, message });

  if (!isRecord(input)) {
    return { ok: false, problems: [{ path: '(root)', message: 'expected an object of configuration keys' }] };
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) bad(key, `unknown key (known: ${[...KNOWN_KEYS].join(', ')})`);
  }

  const placement = validatePlacement(input, env, bad);
  const enableLoggingDefault = input.enableControlPlaneLogging ?? false;
  if (typeof enableLoggingDefault !== 'boolean') bad('enableControlPlaneLogging', 'must be true or false');
  const forwardGlobalStsEvents = input.forwardGlobalStsEvents ?? true;
  if (typeof forwardGlobalStsEvents !== 'boolean') bad('forwardGlobalStsEvents', 'must be true or false');
  const memberAccountIds = validateMemberAccountIds(input.memberAccountIds, bad);
  const organizationId = validateOrganizationId(input.organizationId, bad);
  const clusters = validateClusters(input.clusters, { ...placement, enableLoggingDefault }, bad);
  checkClusterAdmission(clusters, placement, memberAccountIds, organizationId, bad);
  const retentionDays = validateRetentionDays(input.retentionDays, bad);
  const alertEmails = validateAlertEmails(input.alertEmails, bad);
  const capacity = validateCapacity(input, bad);
  const alertSettings = validateAlertSettings(input, bad);
  const ocsfExport = validateOcsfExport(input.ocsfExport, bad);
  const queryAccess = validateQueryAccess(input.queryAccess, bad);
  const silenceAlarmMinutes = validateSilenceAlarmMinutes(input.silenceAlarmMinutes, bad);
  const alertRouting = validateAlertRouting(input.alertRouting, bad);

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      mode: placement.mode as DeploymentMode,
      centralAccount: placement.centralAccount as string,
      centralRegion: placement.centralRegion as string,
      clusters,
      memberAccountIds,
      ...(organizationId !== undefined ? { organizationId } : {}),
      retentionDays,
      alertEmails,
      ...capacity,
      enableControlPlaneLogging: enableLoggingDefault as boolean,
      forwardGlobalStsEvents: forwardGlobalStsEvents as boolean,
      ...alertSettings,
      ...(ocsfExport ? { ocsfExport } : {}),
      queryAccess,
      silenceAlarmMinutes,
      ...(alertRouting ? { alertRouting } : {}),
    },
  };
}

/** Mode, central account and region as given or defaulted; not yet known to be valid (`bad` says). */
interface Placement {
  mode: unknown;
  centralAccount: unknown;
  centralRegion: unknown;
}

function validatePlacement(input: Record<string, unknown>, env: DeployEnv, bad: Report): Placement {
  const mode = input.mode ?? 'multi-account';
  if (mode !== 'multi-account' && mode !== 'single-account') {
    bad('mode', `must be "multi-account" or "single-account", got ${JSON.stringify(input.mode)}`);
  }
  const centralAccount = input.centralAccount ?? env.account;
  if (typeof centralAccount !== 'string' || !ACCOUNT_RE.test(centralAccount)) {
    bad('centralAccount', `must be a 12-digit account id, got ${JSON.stringify(centralAccount)}`);
  }
  const centralRegion = input.centralRegion ?? env.region;
  if (typeof centralRegion !== 'string' || !REGION_RE.test(centralRegion)) {
    bad('centralRegion', `must be a region name like eu-west-1, got ${JSON.stringify(centralRegion)}`);
  }
  return { mode, centralAccount, centralRegion };
}

function validateMemberAccountIds(input: unknown, bad: Report): string[] {
  const memberAccountIds: string[] = [];
  if (input === undefined) return memberAccountIds;
  if (!Array.isArray(input)) {
    bad('memberAccountIds', 'must be a list of 12-digit account ids');
    return memberAccountIds;
  }
  input.forEach((a, i) => {
    if (typeof a !== 'string' || !ACCOUNT_RE.test(a)) {
      bad(
        `memberAccountIds[${i}]`,
        `must be a 12-digit account id (quote it: leading zeros), got ${JSON.stringify(a)}`,
      );
    } else if (memberAccountIds.includes(a)) {
      bad(`memberAccountIds[${i}]`, `duplicate account ${a}`);
    } else {
      memberAccountIds.push(a);
    }
  });
  return memberAccountIds;
}

function validateOrganizationId(input: unknown, bad: Report): string | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== 'string' || !ORG_ID_RE.test(input)) {
    bad('organizationId', `must look like o-abc123defg, got ${JSON.stringify(input)}`);
    return undefined;
  }
  return input;
}

const CLUSTER_KEYS = ['name', 'account', 'region', 'enableControlPlaneLogging', 'silenceAlarm'];

/** The clusters, each a name or an object; account and region default to the central ones. */
function validateClusters(
  input: unknown,
  defaults: Placement & { enableLoggingDefault: unknown },
  bad: Report,
): ClusterConfig[] {
  const clusters: ClusterConfig[] = [];
  if (!Array.isArray(input) || input.length === 0) {
    bad('clusters', 'must list at least one EKS cluster (a name, or {name, account, region})');
    return clusters;
  }
  const seen = new Set<string>();
  input.forEach((raw, i) => {
    const path = `clusters[${i}]`;
    const cluster = validateCluster(raw, path, defaults, bad);
    if (cluster === undefined) return;
    const key = `${cluster.account}/${cluster.region}/${cluster.name}`;
    if (seen.has(key)) {
      bad(path, `cluster ${key} is listed twice`);
      return;
    }
    seen.add(key);
    clusters.push(cluster);
  });
  return clusters;
}

function validateCluster(
  raw: unknown,
  path: string,
  defaults: Placement & { enableLoggingDefault: unknown },
  bad: Report,
): ClusterConfig | undefined {
  const c = typeof raw === 'string' ? { name: raw } : raw;
  if (!isRecord(c)) {
    bad(path, 'must be a cluster name or an object {name, account?, region?, enableControlPlaneLogging?}');
    return undefined;
  }
  for (const key of Object.keys(c)) {
    if (!CLUSTER_KEYS.includes(key)) bad(`${path}.${key}`, 'unknown key');
  }
  const account = c.account ?? defaults.centralAccount;
  const region = c.region ?? defaults.centralRegion;
  const logging = c.enableControlPlaneLogging ?? defaults.enableLoggingDefault;
  const silenceAlarm = c.silenceAlarm ?? logging;
  let valid = true;
  if (typeof c.name !== 'string' || !CLUSTER_NAME_RE.test(c.name)) {
    bad(`${path}.name`, `must be an EKS cluster name (letters, digits, - and _), got ${JSON.stringify(c.name)}`);
    valid = false;
  }
  if (typeof account !== 'string' || !ACCOUNT_RE.test(account)) {
    bad(`${path}.account`, `must be a 12-digit account id, got ${JSON.stringify(account)}`);
    valid = false;
  }
  if (typeof region !== 'string' || !REGION_RE.test(region)) {
    bad(`${path}.region`, `must be a region name like eu-west-1, got ${JSON.stringify(region)}`);
    valid = false;
  }
  if (typeof logging !== 'boolean') {
    bad(`${path}.enableControlPlaneLogging`, 'must be true or false');
    valid = false;
  }
  if (typeof silenceAlarm !== 'boolean') {
    bad(`${path}.silenceAlarm`, 'must be true or false');
    valid = false;
  }
  if (!valid) return undefined;
  return {
    name: c.name as string,
    account: account as string,
    region: region as string,
    enableControlPlaneLogging: logging as boolean,
    silenceAlarm: silenceAlarm as boolean,
  };
}

/** Every cluster must be reachable in the mode chosen: in the central account, or in an admitted one. */
function checkClusterAdmission(
  clusters: ClusterConfig[],
  { mode, centralAccount, centralRegion }: Placement,
  memberAccountIds: string[],
  organizationId: string | undefined,
  bad: Report,
): void {
  if (mode === 'single-account') {
    clusters.forEach((c) => {
      // Direct subscriptions (no cross-account destination) need the log group, stream and stack together.
      if (c.account !== centralAccount || c.region !== centralRegion) {
        bad(
          'clusters',
          `single-account mode keeps everything in ${String(centralAccount)}/${String(centralRegion)}, but cluster ${c.name} is in ${c.account}/${c.region}; use mode "multi-account"`,
        );
      }
    });
    return;
  }
  if (memberAccountIds.length === 0 && organizationId === undefined) {
    bad(
      'memberAccountIds',
      'multi-account mode needs memberAccountIds or organizationId: the log destination and event bus admit only those',
    );
  }
  if (organizationId === undefined && memberAccountIds.length > 0) {
    for (const c of clusters) {
      if (c.account !== centralAccount && !memberAccountIds.includes(c.account)) {
        bad('clusters', `cluster ${c.name} is in account ${c.account}, which memberAccountIds does not admit`);
      }
    }
  }
}

function validateRetentionDays(input: unknown, bad: Report): Partial<Record<RetentionItemClass, number>> {
  const retentionDays: Partial<Record<RetentionItemClass, number>> = {};
  if (input === undefined) return retentionDays;
  if (!isRecord(input)) {
    bad('retentionDays', `must be an object of item class -> days (${RETENTION_ITEM_CLASSES.join(', ')})`);
    return retentionDays;
  }
  for (const [k, v] of Object.entries(input)) {
    if (!(RETENTION_ITEM_CLASSES as readonly string[]).includes(k)) {
      bad(`retentionDays.${k}`, `unknown item class (known: ${RETENTION_ITEM_CLASSES.join(', ')})`);
    } else if (!wholeIn(v, 1, 36500)) {
      bad(`retentionDays.${k}`, `must be a whole number of days between 1 and 36500, got ${JSON.stringify(v)}`);
    } else {
      retentionDays[k as RetentionItemClass] = v;
    }
  }
  return retentionDays;
}

function validateAlertEmails(input: unknown, bad: Report): string[] {
  const alertEmails: string[] = [];
  if (input === undefined) return alertEmails;
  if (!Array.isArray(input)) {
    bad('alertEmails', 'must be a list of e-mail addresses');
    return alertEmails;
  }
  input.forEach((e, i) => {
    if (typeof e !== 'string' || !EMAIL_RE.test(e))
      bad(`alertEmails[${i}]`, `not an e-mail address: ${JSON.stringify(e)}`);
    else alertEmails.push(e);
  });
  return alertEmails;
}

/** The stream's capacity, how log-ingest reads it, and how long the functions' logs are kept. */
function validateCapacity(
  input: Record<string, unknown>,
  bad: Report,
): Pick<TrailConfig, 'kinesisShards' | 'parallelizationFactor' | 'logBatchingWindowSeconds' | 'logRetentionDays'> {
  const kinesisShards = input.kinesisShards ?? 0;
  // 500 is the default per-account shard quota in most regions; more needs a quota increase first.
  if (!wholeIn(kinesisShards, 0, 500)) {
    bad('kinesisShards', `must be 0 (on-demand) or a shard count 1-500, got ${JSON.stringify(input.kinesisShards)}`);
  }

  const parallelizationFactor = input.parallelizationFactor ?? 1;
  // Lambda's limit for Kinesis event source mappings.
  if (!wholeIn(parallelizationFactor, 1, 10)) {
    bad('parallelizationFactor', `must be a whole number 1-10, got ${JSON.stringify(input.parallelizationFactor)}`);
  }

  const logBatchingWindowSeconds = input.logBatchingWindowSeconds ?? LOG_STREAM_BATCHING.maxBatchingWindowSeconds;
  // Lambda's limit for MaximumBatchingWindowInSeconds.
  if (!wholeIn(logBatchingWindowSeconds, 0, 300)) {
    bad(
      'logBatchingWindowSeconds',
      `must be a whole number of seconds 0-300, got ${JSON.stringify(input.logBatchingWindowSeconds)}`,
    );
  }

  const logRetentionDays = input.logRetentionDays ?? 90;
  if (typeof logRetentionDays !== 'number' || !(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    bad(
      'logRetentionDays',
      `must be one of the CloudWatch Logs retention values (${LOG_RETENTION_DAYS.join(', ')}), got ${JSON.stringify(input.logRetentionDays)}`,
    );
  }
  return {
    kinesisShards: kinesisShards as number,
    parallelizationFactor: parallelizationFactor as number,
    logBatchingWindowSeconds: logBatchingWindowSeconds as number,
    logRetentionDays: logRetentionDays as TrailConfig['logRetentionDays'],
  };
}

/** The alert and posture rules' settings: mapping ages and suppressions. */
function validateAlertSettings(
  input: Record<string, unknown>,
  bad: Report,
): Pick<TrailConfig, 'unusedMappingDays' | 'recentMappingDays' | 'alertSuppressions'> {
  const unusedMappingDays = input.unusedMappingDays ?? 90;
  if (!wholeIn(unusedMappingDays, 1, Number.POSITIVE_INFINITY)) {
    bad('unusedMappingDays', `must be a whole number of days >= 1, got ${JSON.stringify(input.unusedMappingDays)}`);
  }
  const recentMappingDays = input.recentMappingDays ?? 7;
  if (!wholeIn(recentMappingDays, 1, Number.POSITIVE_INFINITY)) {
    bad('recentMappingDays', `must be a whole number of days >= 1, got ${JSON.stringify(input.recentMappingDays)}`);
  }
  return {
    unusedMappingDays: unusedMappingDays as number,
    recentMappingDays: recentMappingDays as number,
    alertSuppressions: validateAlertSuppressions(input.alertSuppressions, bad),
  };
}

// Validated here with the rules the functions apply at cold start (functions/config): a rule the
// functions would refuse must fail the synth, not every invocation after the deploy.
function validateAlertSuppressions(input: unknown, bad: Report): AlertSuppressionConfig[] {
  const alertSuppressions: AlertSuppressionConfig[] = [];
  if (input === undefined) return alertSuppressions;
  if (!Array.isArray(input)) {
    bad('alertSuppressions', 'must be an array of {ruleId?, principal?, cluster?}');
    return alertSuppressions;
  }
  input.forEach((rule: unknown, i: number) => {
    const path = `alertSuppressions[${i}]`;
    if (!isRecord(rule)) {
      bad(path, 'must be an object of {ruleId?, principal?, cluster?}');
      return;
    }
    const out: AlertSuppressionConfig = {};
    let ok = true;
    for (const [k, v] of Object.entries(rule)) {
      if (!(SUPPRESSION_KEYS as readonly string[]).includes(k)) {
        bad(`${path}.${k}`, `unknown key (known: ${SUPPRESSION_KEYS.join(', ')})`);
        ok = false;
      } else if (typeof v !== 'string' || v.trim() === '') {
        bad(`${path}.${k}`, 'must be a non-empty string');
        ok = false;
      } else {
        out[k as (typeof SUPPRESSION_KEYS)[number]] = v.trim();
      }
    }
    if (ok && Object.keys(out).length === 0) bad(path, 'names no field, so it would match nothing');
    else if (ok) alertSuppressions.push(out);
  });
  return alertSuppressions;
}

// The rules the query function applies at cold start (functions/config/query-api-config.ts): a
// grant it would refuse must fail the synth, not every query after the deploy.
function validateQueryAccess(input: unknown, bad: Report): QueryGrant[] {
  if (input === undefined) return [];
  const parsed = parseQueryAccessPolicy(input);
  if (!parsed.ok) {
    for (const i of parsed.issues) {
      const at = i.path === undefined || i.path === 'queryAccess' ? 'queryAccess' : `queryAccess${i.path}`;
      bad(at, i.message.replace(/^[^:]*: /, ''));
    }
    return [];
  }
  if (Buffer.byteLength(JSON.stringify(parsed.value.grants), 'utf8') > MAX_QUERY_ACCESS_BYTES) {
    bad(
      'queryAccess',
      `takes more than ${MAX_QUERY_ACCESS_BYTES} bytes of the query function's 4 KB environment; use fewer grants or wider patterns`,
    );
    return [];
  }
  return [...parsed.value.grants];
}

function validateSilenceAlarmMinutes(input: unknown, bad: Report): number {
  const silenceAlarmMinutes = input ?? DEFAULT_SILENCE_ALARM_MINUTES;
  // Five-minute periods; CloudWatch evaluates at most one day of them.
  if (!wholeIn(silenceAlarmMinutes, 10, 1440) || silenceAlarmMinutes % 5 !== 0) {
    bad('silenceAlarmMinutes', `must be a multiple of 5 from 10 to 1440, got ${JSON.stringify(input)}`);
  }
  return silenceAlarmMinutes as number;
}

/** The scheduled OCSF export (docs/ocsf.md); absent = off. */
function validateOcsfExport(input: unknown, bad: Report): OcsfExportConfig | undefined {
  if (input === undefined) return undefined;
  if (!isRecord(input)) {
    bad('ocsfExport', 'must be an object (see docs/ocsf.md, "Deployed export")');
    return undefined;
  }
  for (const k of Object.keys(input)) if (!OCSF_EXPORT_KEYS.has(k)) bad(`ocsfExport.${k}`, 'unknown key');
  const intervalMinutes = input.intervalMinutes ?? 60;
  if (!wholeIn(intervalMinutes, 5, 1440)) {
    bad(
      'ocsfExport.intervalMinutes',
      `must be a whole number of minutes 5-1440, got ${JSON.stringify(intervalMinutes)}`,
    );
  }
  const lagMinutes = input.lagMinutes ?? 15;
  if (!wholeIn(lagMinutes, 0, 1440)) {
    bad('ocsfExport.lagMinutes', `must be a whole number of minutes 0-1440, got ${JSON.stringify(lagMinutes)}`);
  }
  const name = (k: 'apiActivitySourceName' | 'entityManagementSourceName', dflt: string): string => {
    const v = input[k] ?? dflt;
    if (typeof v !== 'string' || !SOURCE_NAME_RE.test(v)) {
      bad(`ocsfExport.${k}`, `must be 1-64 letters, digits, - or _, got ${JSON.stringify(v)}`);
      return dflt;
    }
    return v;
  };
  const out: OcsfExportConfig = {
    intervalMinutes: intervalMinutes as number,
    lagMinutes: lagMinutes as number,
    apiActivitySourceName: name('apiActivitySourceName', 'eks-trail-api-activity'),
    entityManagementSourceName: name('entityManagementSourceName', 'eks-trail-entity-management'),
  };
  const securityLake = validateSecurityLake(input.securityLake, bad);
  if (securityLake) out.securityLake = securityLake;
  return out;
}

/** Where Security Lake wants the export written, and the provider role that may write there. */
function validateSecurityLake(lake: unknown, bad: Report): OcsfExportConfig['securityLake'] {
  if (lake === undefined) return undefined;
  if (!isRecord(lake)) {
    bad('ocsfExport.securityLake', 'must be an object');
    return undefined;
  }
  for (const k of Object.keys(lake)) if (!SECURITY_LAKE_KEYS.has(k)) bad(`ocsfExport.securityLake.${k}`, 'unknown key');
  const loc = (k: 'apiActivityLocation' | 'entityManagementLocation', required: boolean): string | undefined => {
    const v = lake[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || !S3_LOCATION_RE.test(v)) {
      bad(
        `ocsfExport.securityLake.${k}`,
        `must be the s3://bucket/prefix location Security Lake assigned, got ${JSON.stringify(v)}`,
      );
      return undefined;
    }
    return v;
  };
  const api = loc('apiActivityLocation', true);
  const em = loc('entityManagementLocation', false);
  if (typeof lake.providerRoleArn !== 'string' || !ROLE_ARN_RE.test(lake.providerRoleArn)) {
    bad(
      'ocsfExport.securityLake.providerRoleArn',
      `must be an IAM role ARN, got ${JSON.stringify(lake.providerRoleArn)}`,
    );
  }
  // Security Lake's provider role trusts the source only with this id (docs/ocsf.md).
  if (typeof lake.externalId !== 'string' || lake.externalId.trim() === '') {
    bad('ocsfExport.securityLake.externalId', 'must be the external id given to CreateCustomLogSource');
  }
  if (!api || typeof lake.providerRoleArn !== 'string' || typeof lake.externalId !== 'string') return undefined;
  return {
    apiActivityLocation: api,
    ...(em ? { entityManagementLocation: em } : {}),
    providerRoleArn: lake.providerRoleArn,
    externalId: lake.externalId.trim(),
  };
}

/**
 * Resolves the synthesis environment: `-c account=… -c region=…` first, then the CLI's
 * CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION. Without credentials the CLI sets no account, so an
 * offline synth must pass it explicitly.
 */
export function resolveDeployEnv(
  context: { account?: unknown; region?: unknown },
  processEnv: Record<string, string | undefined>,
): { ok: true; value: DeployEnv } | { ok: false; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const account = context.account ?? processEnv.CDK_DEFAULT_ACCOUNT;
  const region = context.region ?? processEnv.CDK_DEFAULT_REGION;
  if (account === undefined || account === '') {
    problems.push({
      path: 'account',
      message: 'no account: pass -c account=<12 digits> (or run with credentials so the CLI sets CDK_DEFAULT_ACCOUNT)',
    });
  } else if (typeof account !== 'string' || !ACCOUNT_RE.test(account)) {
    problems.push({ path: 'account', message: `must be a 12-digit account id, got ${JSON.stringify(account)}` });
  }
  if (region === undefined || region === '') {
    problems.push({
      path: 'region',
      message: 'no region: pass -c region=<region> (or set CDK_DEFAULT_REGION / AWS_REGION)',
    });
  } else if (typeof region !== 'string' || !REGION_RE.test(region)) {
    problems.push({ path: 'region', message: `must be a region name like eu-west-1, got ${JSON.stringify(region)}` });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { account: account as string, region: region as string } };
}
