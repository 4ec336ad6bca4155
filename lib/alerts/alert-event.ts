import { describeActor } from './alert-actors.js';
import { alertSubject } from './render.js';
import type { Alert, AlertActor, AlertEvidence, Severity } from './types.js';
import { SEVERITIES } from './types.js';

/**
 * An alert as an EventBridge event, documented in docs/alert-events.md with the JSON Schema of its
 * detail in docs/alert-event.schema.json. Security teams route findings with EventBridge rules (to
 * Security Hub, a pager, chat), as they route GuardDuty findings; rules match on `source`,
 * `detail-type` and the detail's fields (`severity`, `ruleId`, `cluster`, `accountId`).
 *
 * The detail is the alert itself plus a few fields for routing, so a consumer needs nothing else to
 * act on it: the actor, the human behind it, the diff with before/after, and the question that shows
 * the evidence (`evidence.command`). `alertId` is stable across redeliveries: EventBridge delivers at
 * least once, so a consumer dedupes on it.
 */

/** Custom sources may not start with `aws.`. */
export const ALERT_EVENT_SOURCE = 'eks-access-trail';
export const ALERT_EVENT_DETAIL_TYPE = 'EKS Identity Mapping Alert';
/** Bumped only when a field changes meaning or disappears; new optional fields keep the version. */
export const ALERT_EVENT_SCHEMA_VERSION = '1';

/**
 * PutEvents refuses an entry over 256 KB (source, detail-type, detail and resources together). The
 * detail is kept well under it; aws-auth before/after bodies are what can make it larger.
 */
export const DETAIL_BUDGET_BYTES = 200 * 1024;
/** Diff lines kept when even the lines alone exceed the budget (an aws-auth with thousands of rows). */
const MAX_LINES_WHEN_CUT = 500;

export interface AlertEventDetail {
  schemaVersion: typeof ALERT_EVENT_SCHEMA_VERSION;
  alertId: string;
  ruleId: Alert['ruleId'];
  severity: Severity;
  /** 0 = critical … 4 = info, for numeric rules (`{"numeric": ["<=", 1]}` is high and above). */
  severityRank: number;
  cluster: string;
  accountId?: string;
  /** `<account>/<name>` (or the name alone when no source named the account). */
  clusterRef: string;
  /** When the change (or the first use) happened, ISO 8601 UTC. */
  at: string;
  title: string;
  /** One-line summary as SNS subjects carry it. */
  subject: string;
  actor: AlertActor;
  /** The actor in one line, and the human behind it when known: always present, for input transformers. */
  by: string;
  human?: string;
  diff: { lines: string[]; before?: unknown; after?: unknown };
  sourceEventIds: string[];
  related?: Alert['related'];
  evidence?: AlertEvidence;
  /** Set when before/after (and possibly diff lines) were left out to fit EventBridge's size limit. */
  truncated?: boolean;
}

export interface AlertEventEntry {
  Source: typeof ALERT_EVENT_SOURCE;
  DetailType: typeof ALERT_EVENT_DETAIL_TYPE;
  Detail: string;
  /** The event's time is the change's own time, not the publication's. */
  Time: Date;
  /** The cluster's ARN when its region is known. */
  Resources: string[];
  EventBusName?: string;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

export const alertEventDetail = (alert: Alert): AlertEventDetail => {
  const detail: AlertEventDetail = {
    schemaVersion: ALERT_EVENT_SCHEMA_VERSION,
    alertId: alert.alertId,
    ruleId: alert.ruleId,
    severity: alert.severity,
    severityRank: SEVERITIES.indexOf(alert.severity),
    cluster: alert.cluster,
    clusterRef: alert.accountId ? `${alert.accountId}/${alert.cluster}` : alert.cluster,
    at: alert.at,
    title: alert.title,
    subject: alertSubject(alert),
    actor: alert.actor,
    by: `${describeActor(alert.actor)}${alert.human ? ` (${alert.human})` : ''}`,
    diff: { ...alert.diff },
    sourceEventIds: alert.sourceEventIds,
  };
  if (alert.accountId !== undefined) detail.accountId = alert.accountId;
  if (alert.human !== undefined) detail.human = alert.human;
  if (alert.related !== undefined) detail.related = alert.related;
  if (alert.evidence !== undefined) detail.evidence = alert.evidence;
  if (bytes(JSON.stringify(detail)) <= DETAIL_BUDGET_BYTES) return detail;
  // aws-auth bodies: the lines say what changed; the ledger keeps the full alert.
  detail.diff = { lines: alert.diff.lines };
  detail.truncated = true;
  if (bytes(JSON.stringify(detail)) <= DETAIL_BUDGET_BYTES) return detail;
  detail.diff = { lines: [...alert.diff.lines.slice(0, MAX_LINES_WHEN_CUT), '  … (cut to fit the event)'] };
  while (bytes(JSON.stringify(detail)) > DETAIL_BUDGET_BYTES && detail.diff.lines.length > 1) {
    detail.diff.lines = [
      ...detail.diff.lines.slice(0, Math.floor(detail.diff.lines.length / 2)),
      '  … (cut to fit the event)',
    ];
  }
  return detail;
};

/** The PutEvents entry of an alert. */
export const alertEventEntry = (
  alert: Alert,
  opts: { eventBusName?: string; clusterArn?: string } = {},
): AlertEventEntry => {
  const t = Date.parse(alert.at);
  const entry: AlertEventEntry = {
    Source: ALERT_EVENT_SOURCE,
    DetailType: ALERT_EVENT_DETAIL_TYPE,
    Detail: JSON.stringify(alertEventDetail(alert)),
    Time: new Date(Number.isNaN(t) ? 0 : t),
    Resources: opts.clusterArn ? [opts.clusterArn] : [],
  };
  if (opts.eventBusName !== undefined) entry.EventBusName = opts.eventBusName;
  return entry;
};

/** `arn:<partition>:eks:<region>:<account>:cluster/<name>`, when both the account and the region are known. */
export const clusterArnOf = (
  alert: Pick<Alert, 'cluster' | 'accountId'>,
  regionOf: (ref: string) => string | undefined,
  partition = 'aws',
): string | undefined => {
  if (!alert.accountId) return undefined;
  const region = regionOf(`${alert.accountId}/${alert.cluster}`);
  return region ? `arn:${partition}:eks:${region}:${alert.accountId}:cluster/${alert.cluster}` : undefined;
};
