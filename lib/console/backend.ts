import { postureFindings } from '../alerts/posture.js';
import { buildPostureInput } from '../alerts/posture-input.js';
import type { Alert, Finding, MappingUsagePort } from '../alerts/types.js';
import { DEFAULT_ALERT_CONFIG } from '../alerts/types.js';
import { entryAlert, newestFirst } from '../query/alerts.js';
import type { QuestionParams } from '../query/params.js';
import { type QueryAnswer, refText, resolveCluster, runQuestion } from '../query/run.js';
import type { QuestionPort, StoredRequest, TimeRange } from '../store/trail-store.js';

/**
 * What the console reads. Every target answers the questions; a trail table (local mode or `--table`)
 * also lists clusters, the stored audit stages of a request, posture and alerts. The deployed query API
 * answers questions only, so those views say what is missing instead of guessing.
 */
export interface ConsoleBackend {
  mode: 'local' | 'table' | 'api';
  /** Where the answers come from, shown in the header (data dir, table name, API URL). */
  source: string;
  ask(q: QuestionParams, raw: Record<string, string>): Promise<QueryAnswer>;
  clusters?(): Promise<string[]>;
  /** The stored audit stages (or authenticator line) of one request, as the trail keeps them. */
  storedRequest?(cluster: string, auditId: string, at?: string): Promise<StoredRequest | undefined>;
  posture?(cluster: string | undefined, now: string): Promise<Finding[]>;
  alerts?(cluster: string | undefined): Promise<AlertListing>;
  /** Window the search views start with when the URL names none (the span of replayed data). */
  defaultWindow?: Required<TimeRange>;
}

export interface AlertListing {
  alerts: Alert[];
  /** How the list was obtained, shown above it (claim only what the evidence shows). */
  source: string;
}

export const ALERTS_SOURCE =
  'recorded: the alert ledger, as the deployed pipeline or a local replay raised each alert (mapping changes and first uses); ' +
  '`eks-trail alerts --rerun` evaluates the current rules over the stored history instead';

/** Every time an alert can carry: the per-cluster listing reads one partition, so the span costs nothing. */
const ALL_TIME = { from: '1970-01-01T00:00:00Z', to: '2999-12-31T23:59:59Z' };

export interface StoreBackendOptions {
  mode: 'local' | 'table';
  source: string;
  store: QuestionPort;
  /** The mapping-usage items the alert pipeline keeps; without them posture cannot tell unused mappings. */
  usage?: Pick<MappingUsagePort, 'list'>;
  defaultWindow?: Required<TimeRange>;
}

export const storeBackend = (o: StoreBackendOptions): ConsoleBackend => {
  const { store } = o;
  const refsOf = async (cluster: string | undefined) =>
    cluster === undefined ? await store.clusters() : [(await resolveCluster(store, cluster, true))!];
  const backend: ConsoleBackend = {
    mode: o.mode,
    source: o.source,
    ask: (q) => runQuestion(store, q),
    clusters: async () => (await store.clusters()).map(refText).sort(),
    storedRequest: async (cluster, auditId, at) => {
      const ref = (await resolveCluster(store, cluster, true))!;
      return store.requestByAuditId(ref, auditId, at);
    },
    posture: async (cluster, now) => {
      const wanted = cluster === undefined ? undefined : refText(await refsOf(cluster).then((r) => r[0]!));
      const usage = o.usage ?? { list: async () => [] };
      return postureFindings(await buildPostureInput({ trail: store, usage }, now, DEFAULT_ALERT_CONFIG, wanted));
    },
    alerts: async (cluster) => {
      const alerts: Alert[] = [];
      for (const ref of await refsOf(cluster)) {
        let cursor: string | undefined;
        do {
          const page = await store.alerts.listAlerts(ref, ALL_TIME, { limit: 1_000, ...(cursor ? { cursor } : {}) });
          alerts.push(...page.items.map(entryAlert));
          cursor = page.cursor;
        } while (cursor !== undefined);
      }
      return { alerts: alerts.sort(newestFirst), source: ALERTS_SOURCE };
    },
  };
  if (o.defaultWindow) backend.defaultWindow = o.defaultWindow;
  return backend;
};
