import { describeActor } from '../alerts/alert-actors.js';
import { compareAlerts } from '../alerts/mapping-rules.js';
import type { Alert, AlertActor, AlertDiff, AlertEvidence, Severity } from '../alerts/types.js';
import { instantMicros } from '../identity/mapping-timeline.js';
import { type AlertLedgerEntry, type ClusterRef, type QuestionPort, UNKNOWN_ACCOUNT } from '../store/trail-store.js';
import type { Column } from './format.js';
import { type CursorBinding, collectPage } from './paging.js';
import type { QuestionParams } from './params.js';

/**
 * The `alerts` question: what the alert ledger recorded (the deployed pipeline, or a local replay),
 * each alert with its actor, the change as a before/after diff, and the question that shows its
 * evidence. Nothing is derived again: the ledger keeps the alert as it was raised.
 */

export type AlertsQuestion = Extract<QuestionParams, { question: 'alerts' }>;

/**
 * Where an alert row stands. Listing: `raised` (recorded and handed to the sinks) or `publish failed`
 * (its id was given back for the redelivery to send). Rerun: `would fire` or `silenced` (recorded in
 * the ledger, but the rules and suppressions evaluated now raise it no more).
 */
export type AlertRowStatus = 'raised' | 'publish failed' | 'would fire' | 'silenced';

export interface AlertRow {
  at: string;
  severity: Severity;
  ruleId: string;
  /** `<account>/<name>`, or the bare name when the account is not known. */
  cluster: string;
  title: string;
  human?: string;
  actor: AlertActor;
  /** Lines, and the structured before/after where the rule kept them. */
  diff: AlertDiff;
  evidence?: AlertEvidence;
  status: AlertRowStatus;
  /** Rerun only: whether the ledger holds this alert id. */
  ledger?: 'recorded' | 'not recorded';
  alertId: string;
  sourceEventIds: string[];
  related?: Alert['related'];
}

/** Table: the actor in one line and the diff lines in one cell; the row keeps their parts. */
export const ALERT_COLUMNS: Column<AlertRow>[] = [
  { key: 'at', header: 'time', maxWidth: 27 },
  { key: 'severity', header: 'severity' },
  { key: 'ruleId', header: 'rule', maxWidth: 30 },
  { key: 'cluster', header: 'cluster', maxWidth: 40 },
  { key: 'title', header: 'alert', maxWidth: 80 },
  { key: 'by', header: 'by', maxWidth: 60, text: (r) => describeActor(r.actor) },
  { key: 'human', header: 'human', maxWidth: 40 },
  { key: 'change', header: 'change', maxWidth: 100, text: (r) => r.diff.lines.join(' | ') },
  { key: 'evidence.command', header: 'evidence', maxWidth: 140 },
  { key: 'status', header: 'status' },
  { key: 'alertId', header: 'alert id', maxWidth: 70 },
];

export const RERUN_COLUMNS: Column<AlertRow>[] = [
  ...ALERT_COLUMNS.filter((c) => c.key !== 'alertId'),
  { key: 'ledger', header: 'ledger' },
  { key: 'alertId', header: 'alert id', maxWidth: 70 },
];

/** CSV: one column per field, headed by its JSON path; the diff's before/after stay in JSON. */
export const ALERT_CSV_COLUMNS: Column<AlertRow>[] = [
  'at',
  'severity',
  'ruleId',
  'cluster',
  'title',
  'human',
  'actor.awsArn',
  'actor.canonicalArn',
  'actor.accessKeyId',
  'actor.accountId',
  'actor.k8sUsername',
  'actor.invokedBy',
  'evidence.question',
  'evidence.command',
  'status',
  'ledger',
  'alertId',
  'sourceEventIds',
].map((key) => ({ key, header: key }));
ALERT_CSV_COLUMNS.push({ key: 'diff.lines', header: 'diff.lines', text: (r) => r.diff.lines.join('\n') });

export const alertCluster = (a: Pick<Alert, 'cluster' | 'accountId'>): string =>
  a.accountId ? `${a.accountId}/${a.cluster}` : a.cluster;

export const alertRow = (alert: Alert, status: AlertRowStatus): AlertRow => {
  const row: AlertRow = {
    at: alert.at,
    severity: alert.severity,
    ruleId: alert.ruleId,
    cluster: alertCluster(alert),
    title: alert.title,
    actor: alert.actor,
    diff: alert.diff,
    status,
    alertId: alert.alertId,
    sourceEventIds: alert.sourceEventIds,
  };
  if (alert.human !== undefined) row.human = alert.human;
  if (alert.evidence !== undefined) row.evidence = alert.evidence;
  if (alert.related !== undefined) row.related = alert.related;
  return row;
};

/** The filters of the question, as one predicate over alerts. */
export const alertFilter =
  (q: Pick<AlertsQuestion, 'severities' | 'rules'>) =>
  (a: Pick<Alert, 'severity' | 'ruleId'>): boolean =>
    (q.severities === undefined || q.severities.includes(a.severity)) &&
    (q.rules === undefined || q.rules.includes(a.ruleId));

/** A ledger entry's alert; a damaged item (its JSON unreadable) still lists its key facts. */
export const entryAlert = (e: AlertLedgerEntry): Alert =>
  e.alert ?? {
    alertId: e.alertId,
    ruleId: e.ruleId as Alert['ruleId'],
    severity: e.severity as Severity,
    cluster: e.cluster,
    ...(e.accountId !== undefined ? { accountId: e.accountId } : {}),
    at: e.at,
    title: '(the recorded alert could not be read)',
    actor: {},
    diff: { lines: [] },
    sourceEventIds: [],
  };

/** Newest first, as the listing pages them; ties by the rules' own order. */
export const newestFirst = (a: Alert, b: Alert): number => {
  const t = instantMicros(b.at) - instantMicros(a.at);
  return t !== 0 && !Number.isNaN(t) ? t : compareAlerts(a, b);
};

/** `visible`: the clusters a scoped caller may read (lib/query/run.ts QuestionScope), for a fleet-wide listing. */
export const listRecordedAlerts = async (
  store: Pick<QuestionPort, 'alerts'>,
  ref: ClusterRef | undefined,
  q: AlertsQuestion,
  binding: CursorBinding,
  visible?: (ref: ClusterRef) => boolean,
): Promise<{ rows: AlertRow[]; nextCursor?: string; trimmed: number }> => {
  const keep = alertFilter(q);
  let trimmed = 0;
  const page = await collectPage(
    (cursor, limit) => store.alerts.listAlerts(ref, q.range, cursor === undefined ? { limit } : { limit, cursor }),
    (e: AlertLedgerEntry) => {
      if (visible && !visible({ accountId: e.accountId ?? UNKNOWN_ACCOUNT, cluster: e.cluster })) return undefined;
      const alert = entryAlert(e);
      if (!keep(alert)) return undefined;
      if (e.trimmed) trimmed += 1;
      return alertRow(alert, e.state === 'released' ? 'publish failed' : 'raised');
    },
    q.limit,
    q.cursor,
    { binding },
  );
  return { ...page, trimmed };
};
