import { fail, failWith, type Issue, isNonEmpty, issue, ok, type ParseResult } from '../result.js';
import { type AlertConfig, type AlertSuppression, DEFAULT_ALERT_CONFIG } from './types.js';

/**
 * The alert configuration a local command evaluates the rules with (`replay --alert-config`,
 * `alerts --rerun --alert-config`): the deployment's own configuration file (`-c configFile=…`, or a
 * cdk.json whose context holds `eksAccessTrail`), so the rules run locally with the suppressions and
 * trusted accounts a deployment would run them with, and a team can edit the file and rerun before it
 * deploys. Keys that do not bear on alerts (clusters, retention…) are listed back as ignored, so a
 * misspelt alert key shows instead of silently changing what fires.
 */

export interface AlertConfigFile {
  config: AlertConfig;
  /** Top-level keys read from the file, for the answer's notes. */
  used: string[];
  /** Top-level keys the alert rules do not read. */
  ignored: string[];
}

const SUPPRESSION_KEYS = ['ruleId', 'principal', 'cluster'] as const;
const ACCOUNT_RE = /^\d{12}$/;
const ORG_RE = /^o-[a-z0-9]{10,32}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (path: string, message: string): Issue => issue('ALERT_CONFIG', `${path}: ${message}`, path);

const accounts = (v: unknown, path: string, issues: Issue[]): string[] => {
  if (!Array.isArray(v)) {
    issues.push(bad(path, 'must be a list of 12-digit account ids'));
    return [];
  }
  const out: string[] = [];
  v.forEach((a, i) => {
    if (typeof a === 'string' && ACCOUNT_RE.test(a)) out.push(a);
    else issues.push(bad(`${path}[${i}]`, `must be a 12-digit account id (quote it), got ${JSON.stringify(a)}`));
  });
  return out;
};

const suppressions = (v: unknown, path: string, issues: Issue[]): AlertSuppression[] => {
  if (!Array.isArray(v)) {
    issues.push(bad(path, 'must be an array of {ruleId?, principal?, cluster?}'));
    return [];
  }
  const out: AlertSuppression[] = [];
  v.forEach((rule, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(rule)) {
      issues.push(bad(at, 'must be an object of {ruleId?, principal?, cluster?}'));
      return;
    }
    const s: AlertSuppression = {};
    let good = true;
    for (const [k, val] of Object.entries(rule)) {
      if (!(SUPPRESSION_KEYS as readonly string[]).includes(k)) {
        issues.push(bad(`${at}.${k}`, `unknown key (known: ${SUPPRESSION_KEYS.join(', ')})`));
        good = false;
      } else if (typeof val !== 'string' || val.trim() === '') {
        issues.push(bad(`${at}.${k}`, 'must be a non-empty string'));
        good = false;
      } else {
        s[k as (typeof SUPPRESSION_KEYS)[number]] = val.trim();
      }
    }
    // A rule naming nothing would match nothing (lib/alerts/suppressions.ts): say so rather than keep it.
    if (good && Object.keys(s).length === 0) issues.push(bad(at, 'names no field, so it would match nothing'));
    else if (good) out.push(s);
  });
  return out;
};

const positiveInt = (v: unknown, path: string, issues: Issue[]): number | undefined => {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  issues.push(bad(path, `must be a positive whole number of days, got ${JSON.stringify(v)}`));
  return undefined;
};

/** Total: a file that is not JSON or has a bad alert key is refused with every issue at once. */
export const parseAlertConfigFile = (text: string): ParseResult<AlertConfigFile> => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    return fail(text, bad('(file)', `not JSON: ${(cause as Error).message}`));
  }
  // cdk.json keeps the configuration under context.eksAccessTrail (cdk/app.ts).
  if (isRecord(doc) && isRecord(doc['context']) && isRecord(doc['context']['eksAccessTrail'])) {
    doc = doc['context']['eksAccessTrail'];
  }
  if (!isRecord(doc)) return fail(text, bad('(file)', 'expected a JSON object (the deployment configuration)'));
  const issues: Issue[] = [];
  const config: AlertConfig = { ...DEFAULT_ALERT_CONFIG, trustedAccountIds: [], suppressions: [] };
  const used: string[] = [];
  const ignored: string[] = [];
  const trusted = new Set<string>();
  for (const [k, v] of Object.entries(doc)) {
    switch (k) {
      case 'alertSuppressions':
        config.suppressions = suppressions(v, k, issues);
        break;
      case 'trustedAccountIds':
      case 'memberAccountIds':
        for (const a of accounts(v, k, issues)) trusted.add(a);
        break;
      case 'centralAccount':
        // The central stack trusts its own account with the members (cdk/stacks/central-stack.ts).
        if (typeof v === 'string' && ACCOUNT_RE.test(v)) trusted.add(v);
        else issues.push(bad(k, `must be a 12-digit account id, got ${JSON.stringify(v)}`));
        break;
      case 'organizationId':
        if (typeof v === 'string' && ORG_RE.test(v)) config.organizationId = v;
        else issues.push(bad(k, `must look like o-abc123defg, got ${JSON.stringify(v)}`));
        break;
      case 'recentMappingDays': {
        const n = positiveInt(v, k, issues);
        if (n !== undefined) config.recentMappingDays = n;
        break;
      }
      case 'unusedMappingDays': {
        const n = positiveInt(v, k, issues);
        if (n !== undefined) config.unusedMappingDays = n;
        break;
      }
      default:
        ignored.push(k);
        continue;
    }
    used.push(k);
  }
  if (isNonEmpty(issues)) return failWith(text, issues);
  config.trustedAccountIds = [...trusted].sort();
  return ok({ config, used: used.sort(), ignored: ignored.sort() });
};

/** One line saying what the rules run with, for answers and summaries. */
export const describeAlertConfig = (c: AlertConfig, source: string): string => {
  const trusted =
    c.trustedAccountIds.length > 0
      ? `trusted accounts ${c.trustedAccountIds.join(', ')}`
      : 'no trusted accounts (the untrusted-account rule is off)';
  return `${source} (${c.suppressions.length} suppression(s), ${trusted}, first-use window ${c.recentMappingDays} day(s))`;
};
