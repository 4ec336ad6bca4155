import { trackMappingUse } from '../alerts/dispatch.js';
import { evaluateMappingChanges } from '../alerts/mapping-rules.js';
import type { Alert, AlertConfig, MappingUsagePort, RecordUseResult } from '../alerts/types.js';
import { instantMicros } from '../identity/mapping-timeline.js';
import type { ClusterRef, MappingUsage, QuestionPort } from '../store/trail-store.js';
import { type AlertRow, type AlertsQuestion, alertFilter, alertRow, entryAlert, newestFirst } from './alerts.js';
import { slicePage } from './paging.js';
import { resumeQuestion } from './resume.js';
import { deriveWithEvidence, type QueryAnswer, refText, resolveCluster } from './run.js';
import { inRange } from './time-range.js';

/**
 * `eks-trail alerts --rerun`: the alert rules and suppressions as configured NOW, evaluated over the
 * stored history, with nothing sent and nothing written (no ledger claim, no mapping-usage item). A
 * team tunes its suppressions on its own history before it deploys them, or hunts back after an
 * incident with a rule it did not have then.
 *
 *  - Mapping-change rules: every stored change of the cluster, each judged against the history before
 *    it, exactly as the ingest hook judges a new one (lib/alerts/mapping-rules.ts).
 *  - First use of a new mapping: the stored requests, oldest first, through the same tracking the log
 *    pipeline runs (lib/alerts/dispatch.ts), with the uses kept in memory. The scan starts
 *    `recentMappingDays` before the window, so a mapping created before the window and first used in
 *    it is judged as the pipeline would have judged it.
 *
 * Each alert is then matched against the ledger: `would fire` with `recorded` / `not recorded`, and
 * the recorded alerts of the window that fire no more (suppressed now, or rules changed) as `silenced`.
 */

const DAY_MS = 86_400_000;
/** Stored requests read per page while scanning for first uses. */
const SCAN_PAGE = 1_000;

/** Uses as the DynamoDB usage store records them (min first, max last), in memory, for one rerun. */
class ScannedUsage implements MappingUsagePort {
  private readonly uses = new Map<string, { first: string; last: string }>();

  async recordUse(
    cluster: string,
    mappingKey: string,
    at: string,
    opts: { accountId?: string } = {},
  ): Promise<RecordUseResult> {
    const k = `${opts.accountId ?? ''}\u0000${cluster}\u0000${mappingKey}`;
    const t = instantMicros(at);
    if (Number.isNaN(t)) return { firstUse: false };
    const seen = this.uses.get(k);
    if (!seen) {
      this.uses.set(k, { first: at, last: at });
      return { firstUse: true };
    }
    const result: RecordUseResult = { firstUse: t < instantMicros(seen.first) };
    if (result.firstUse) seen.first = at;
    if (t > instantMicros(seen.last)) {
      result.lastUsedBefore = seen.last;
      seen.last = at;
    }
    return result;
  }

  async list(): Promise<MappingUsage[]> {
    return [];
  }
}

export interface RerunResult {
  /** Alerts the current rules raise over the window, newest first. */
  alerts: Alert[];
  /** Stored requests read for first uses. */
  requestsScanned: number;
  mappingChanges: number;
}

export type RerunPort = QuestionPort;

/** The rules over one cluster's stored history; alerts whose time lies in the window. */
export const rerunCluster = async (
  store: RerunPort,
  ref: ClusterRef,
  window: { from: string; to: string },
  config: AlertConfig,
): Promise<RerunResult> => {
  const changes = await store.mappingChanges(ref);
  const actorKeys = [
    ...new Set(changes.map((c) => c.actor.aws?.accessKeyId).filter((k): k is string => k !== undefined)),
  ].sort();
  const actorEvidence = actorKeys.length > 0 ? await store.evidenceFor(ref, actorKeys) : undefined;
  const raised = new Map<string, Alert>();
  for (const a of evaluateMappingChanges({
    newChanges: changes,
    allChanges: changes,
    config,
    ...(actorEvidence ? { credentialFor: (k: string) => actorEvidence.credentialFor(k) } : {}),
  })) {
    raised.set(a.alertId, a);
  }

  const usage = new ScannedUsage();
  const scan = {
    from: new Date(Date.parse(window.from) - config.recentMappingDays * DAY_MS).toISOString(),
    to: window.to,
  };
  let requestsScanned = 0;
  let cursor: string | undefined;
  do {
    const page = await store.requestsByCluster(ref, scan, {
      limit: SCAN_PAGE,
      order: 'oldest-first',
      ...(cursor !== undefined ? { cursor } : {}),
    });
    requestsScanned += page.items.length;
    const chains = (await deriveWithEvidence(store, page.items)).map((d) => d.chain);
    for (const a of await trackMappingUse(chains, { usage, config })) {
      // Pages come oldest first: the first alert raised for a mapping version is its first use.
      if (!raised.has(a.alertId)) raised.set(a.alertId, a);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);

  const alerts = [...raised.values()].filter((a) => inRange(a.at, window)).sort(newestFirst);
  return { alerts, requestsScanned, mappingChanges: changes.length };
};

/** Every ledger entry of a cluster (or all clusters) in the window. */
const recordedIn = async (store: RerunPort, ref: ClusterRef | undefined, window: { from: string; to: string }) => {
  const out: Alert[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.alerts.listAlerts(ref, window, { limit: 1_000, ...(cursor ? { cursor } : {}) });
    out.push(...page.items.map(entryAlert));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
};

/** `alerts --rerun` as a question answer (same formats and paging as the listing). */
export const rerunAlerts = async (
  store: RerunPort,
  asked: AlertsQuestion,
  config: AlertConfig,
  configSource: string,
): Promise<QueryAnswer> => {
  const { q: resumed, binding, notes } = resumeQuestion(asked);
  const q = resumed as AlertsQuestion;
  const ref = await resolveCluster(store, q.cluster, false);
  const refs = ref ? [ref] : await store.clusters();
  const fired: Alert[] = [];
  let scanned = 0;
  let changes = 0;
  for (const r of refs) {
    const res = await rerunCluster(store, r, q.range, config);
    fired.push(...res.alerts);
    scanned += res.requestsScanned;
    changes += res.mappingChanges;
  }
  const recorded = await recordedIn(store, ref, q.range);
  const recordedIds = new Set(recorded.map((a) => a.alertId));
  const firedIds = new Set(fired.map((a) => a.alertId));
  const keep = alertFilter(q);
  const rows: AlertRow[] = [];
  for (const a of fired) {
    if (!keep(a)) continue;
    rows.push({ ...alertRow(a, 'would fire'), ledger: recordedIds.has(a.alertId) ? 'recorded' : 'not recorded' });
  }
  const silenced = recorded.filter((a) => !firedIds.has(a.alertId));
  for (const a of silenced) if (keep(a)) rows.push({ ...alertRow(a, 'silenced'), ledger: 'recorded' });
  rows.sort(newestRowFirst);
  const page = slicePage(rows, q.limit, q.cursor, binding);
  const wouldFire = rows.filter((r) => r.status === 'would fire');
  const out: QueryAnswer = {
    question: 'alerts',
    window: q.range,
    rows: page.rows,
    notes: [
      `rerun with ${configSource} over ${changes} stored mapping change(s) and ${scanned} stored request(s); nothing sent, nothing written`,
      `${wouldFire.length} alert(s) would fire (${wouldFire.filter((r) => r.ledger === 'not recorded').length} not in the ledger); ${rows.length - wouldFire.length} recorded alert(s) would be silent now`,
      ...notes,
    ],
  };
  if (ref) out.cluster = refText(ref);
  if (page.nextCursor !== undefined) out.nextCursor = page.nextCursor;
  return out;
};

const newestRowFirst = (a: AlertRow, b: AlertRow): number => {
  const t = instantMicros(b.at) - instantMicros(a.at);
  if (t !== 0 && !Number.isNaN(t)) return t;
  return a.alertId < b.alertId ? -1 : a.alertId > b.alertId ? 1 : 0;
};
