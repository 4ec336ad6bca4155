/**
 * Sending alerts exactly once per alert id over at-least-once inputs: the ledger claims the id with
 * a conditional write, and only the claimer publishes. A publication that fails gives the id back
 * (when the ledger can), and the error is raised so the caller's batch is retried; the alerts that
 * did go out are not sent again on that retry.
 */
import type { CredentialIssuance, DecisionChain } from '../chain/types.js';
import { instantMicros } from '../identity/mapping-timeline.js';
import type { ClusterMappingState, MappingChange } from '../identity/types.js';
import { classifyFault } from '../ingest/faults.js';
import type { MappingChangeHook, MappingChangeNotice, RequestsStoredHook } from '../ingest/types.js';
import type { TrailStore } from '../store/trail-store.js';
import { mappingKeyOfChain, mappingOrigin } from './mapping-keys.js';
import { type EvaluateInput, evaluateMappingChanges, firstUseAlert } from './mapping-rules.js';
import type { Alert, AlertConfig, AlertLedger, AlertSink, MappingUsagePort } from './types.js';
import { fleetAdminLookup } from './workload-rules.js';

export class AlertDispatchError extends Error {
  /** Alerts not sent (their ids were released for the retry where the ledger allows it). */
  readonly failed: readonly Alert[];

  constructor(message: string, failed: readonly Alert[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AlertDispatchError';
    this.failed = failed;
  }
}

export interface DispatchResult {
  sent: Alert[];
  /** Alerts whose id was already in the ledger (or repeated in the input). */
  duplicates: number;
}

/**
 * Claims each alert id in the ledger and publishes the ones this call claimed. Alerts are handled in
 * order; a failing publication does not stop the others. Throws AlertDispatchError (cause = the
 * first error) when any alert could not be claimed or published.
 */
export const publishAlerts = async (
  alerts: readonly Alert[],
  deps: { ledger: AlertLedger; sink: AlertSink },
): Promise<DispatchResult> => {
  const sent: Alert[] = [];
  const failed: Alert[] = [];
  const errors: unknown[] = [];
  let duplicates = 0;
  const seen = new Set<string>();
  for (const alert of alerts) {
    if (seen.has(alert.alertId)) {
      duplicates += 1;
      continue;
    }
    seen.add(alert.alertId);
    let claimed: boolean;
    try {
      claimed = await deps.ledger.recordIfNew(alert);
    } catch (err) {
      failed.push(alert);
      errors.push(err);
      continue;
    }
    if (!claimed) {
      duplicates += 1;
      continue;
    }
    try {
      await deps.sink.publish(alert);
      sent.push(alert);
    } catch (err) {
      failed.push(alert);
      errors.push(err);
      try {
        await deps.ledger.release?.(alert);
      } catch (releaseErr) {
        errors.push(releaseErr);
      }
    }
  }
  if (failed.length > 0) {
    throw new AlertDispatchError(
      `${failed.length} of ${seen.size} alerts not sent (${sent.length} sent): ${failed.map((a) => a.alertId).join(', ')}`,
      failed,
      { cause: errors.length === 1 ? errors[0] : new AggregateError(errors, 'alert dispatch failures') },
    );
  }
  return { sent, duplicates };
};

// ---------------------------------------------------------------------------------------------
// Mapping usage: first use of a new mapping
// ---------------------------------------------------------------------------------------------

export interface TrackUseDeps {
  usage: MappingUsagePort;
  config: Pick<AlertConfig, 'recentMappingDays' | 'suppressions'>;
  /** Mapping state of the chain's cluster at an instant (MappingTimeline), for when the mapping began. */
  mappingStateAt?(cluster: string, accountId: string | undefined, at: string): ClusterMappingState | undefined;
}

/** Time order of two chains (sources differ in precision, so compare instants, not strings). */
const compareUse = (a: DecisionChain, b: DecisionChain): number => {
  const d = instantMicros(a.at) - instantMicros(b.at);
  if (d !== 0 && !Number.isNaN(d)) return d;
  return a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : 0;
};

interface UseGroup {
  cluster: string;
  accountId?: string;
  mappingKey: string;
  earliest: DecisionChain;
  latest: DecisionChain;
}

/**
 * Records which mapping each chain used (one earliest and one latest use per mapping and batch, so a
 * busy mapping costs a few writes per batch, not one per request) and returns first-use alerts for
 * mappings created within the configured window. A mapping used before and re-created since counts
 * as first used again.
 */
export const trackMappingUse = async (chains: readonly DecisionChain[], deps: TrackUseDeps): Promise<Alert[]> => {
  const groups = new Map<string, UseGroup>();
  for (const chain of chains) {
    const mappingKey = mappingKeyOfChain(chain);
    if (!mappingKey || chain.kind !== 'request') continue;
    const key = `${chain.accountId ?? ''}\u0000${chain.cluster}\u0000${mappingKey}`;
    const g = groups.get(key);
    if (!g) {
      const group: UseGroup = { cluster: chain.cluster, mappingKey, earliest: chain, latest: chain };
      if (chain.accountId !== undefined) group.accountId = chain.accountId;
      groups.set(key, group);
      continue;
    }
    if (compareUse(chain, g.earliest) < 0) g.earliest = chain;
    if (compareUse(chain, g.latest) > 0) g.latest = chain;
  }
  const alerts: Alert[] = [];
  for (const g of groups.values()) {
    const opts = (c: DecisionChain) => ({
      chainId: c.chainId,
      ...(g.accountId !== undefined ? { accountId: g.accountId } : {}),
    });
    const first = await deps.usage.recordUse(g.cluster, g.mappingKey, g.earliest.at, opts(g.earliest));
    if (g.latest !== g.earliest) await deps.usage.recordUse(g.cluster, g.mappingKey, g.latest.at, opts(g.latest));
    const link = g.earliest.mapping.value;
    const origin = deps.mappingStateAt
      ? mappingOrigin(deps.mappingStateAt(g.cluster, g.accountId, g.earliest.at) ?? emptyState(g.cluster), g.mappingKey)
      : undefined;
    const createdAt = origin?.since ?? link?.since;
    const recreatedSinceLastUse =
      first.lastUsedBefore !== undefined &&
      createdAt !== undefined &&
      instantMicros(first.lastUsedBefore) < instantMicros(createdAt);
    const alert = firstUseAlert(
      g.earliest,
      {
        firstUse: first.firstUse || recreatedSinceLastUse,
        ...(createdAt !== undefined ? { mappingCreatedAt: createdAt } : {}),
        ...((origin?.actor ?? link?.actor) ? { mappingActor: origin?.actor ?? link?.actor } : {}),
      },
      deps.config,
    );
    if (alert) alerts.push(alert);
  }
  return alerts;
};

const emptyState = (cluster: string): ClusterMappingState => ({
  cluster,
  at: '',
  authModeKnown: false,
  accessEntries: new Map(),
  deleted: false,
});

// ---------------------------------------------------------------------------------------------
// Ingestion hook
// ---------------------------------------------------------------------------------------------

export interface MappingAlertDeps {
  ledger: AlertLedger;
  sink: AlertSink;
  config: AlertConfig;
  /** AssumeRole* issuance of an access key (TrailStore.credential); fetched up front for the actors. */
  lookupCredential?(accessKeyId: string): Promise<CredentialIssuance | undefined>;
  /**
   * Every watched cluster's mapping history, read only when a Pod Identity association changes: the
   * escalation rule checks whether its role administers another cluster.
   */
  fleet?: Pick<TrailStore, 'clusters' | 'mappingChanges'>;
}

/** The fleet-wide admin lookup, loaded only when a change binds a role to pods. */
const fleetAdmins = async (
  changes: readonly MappingChange[],
  fleet: MappingAlertDeps['fleet'],
): Promise<EvaluateInput['adminMappingsElsewhere']> => {
  const binds = changes.some(
    (c) => c.op.kind === 'pod-identity-association-put' || c.op.kind === 'pod-identity-association-update',
  );
  if (!binds || !fleet) return undefined;
  const clusters = [];
  for (const ref of await fleet.clusters()) clusters.push({ ref, changes: await fleet.mappingChanges(ref) });
  return fleetAdminLookup(clusters);
};

/**
 * The `onNewMappingChanges` hook of the ingestion pipelines: evaluates new and redelivered changes
 * (a redelivery may follow a delivery whose alerts never went out; the ledger drops the rest) and
 * publishes. Throws when an alert could not be sent, so the pipeline retries the batch.
 */
export const mappingChangeAlertHook =
  (deps: MappingAlertDeps): MappingChangeHook =>
  async (notice: MappingChangeNotice): Promise<void> => {
    const changes = [...notice.newChanges, ...notice.redelivered];
    if (changes.length === 0) return;
    const credentials = new Map<string, CredentialIssuance>();
    if (deps.lookupCredential) {
      const keys = new Set(changes.map((c) => c.actor.aws?.accessKeyId).filter((k): k is string => !!k));
      for (const key of keys) {
        const issuance = await deps.lookupCredential(key);
        if (issuance) credentials.set(key, issuance);
      }
    }
    const adminMappingsElsewhere = await fleetAdmins(changes, deps.fleet);
    const alerts = evaluateMappingChanges({
      newChanges: changes,
      allChanges: notice.allChanges,
      config: deps.config,
      credentialFor: (key) => credentials.get(key),
      ...(adminMappingsElsewhere ? { adminMappingsElsewhere } : {}),
    });
    await publishAlerts(alerts, deps);
  };

export interface MappingUseAlertDeps extends TrackUseDeps {
  ledger: AlertLedger;
  sink: AlertSink;
}

/**
 * The `onRequestsStored` stage of the log pipeline: records which mapping each stored request used
 * and publishes first-use alerts. A transient fault is thrown, so the delivery comes again; a fault
 * the store will never accept goes to `onRefused` and is dropped (failing the delivery would not heal it).
 */
export const mappingUseAlertHook =
  (deps: MappingUseAlertDeps, onRefused: (err: unknown) => void): RequestsStoredHook =>
  async (chains) => {
    let alerts: Alert[];
    try {
      alerts = await trackMappingUse(chains, deps);
    } catch (err) {
      if (classifyFault(err) === 'retry') throw err;
      onRefused(err);
      return;
    }
    if (alerts.length > 0) await publishAlerts(alerts, deps);
  };
