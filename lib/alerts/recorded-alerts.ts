import type { MappingChangeHook, RequestsStoredHook } from '../ingest/types.js';
import type { TrailStore } from '../store/trail-store.js';
import { mappingChangeAlertHook, mappingUseAlertHook } from './dispatch.js';
import { countBySeverity } from './render.js';
import type { Alert, AlertConfig, AlertLedger, AlertSink, Severity } from './types.js';

/**
 * The alert stage as local mode runs it: the same rules, the same ledger (the trail table's `ALERT#`
 * items, so a replayed change is alerted once however often it is replayed) and the same suppressions
 * as the deployed functions (functions/shared/alert-wiring.ts), with a sink that keeps what was raised
 * instead of publishing it. `eks-trail alerts` then lists what the ledger recorded.
 */
export interface RecordedAlerts {
  /** The pipelines' hooks (IngestOptions), wired as the ingest functions wire them. */
  hooks: { onNewMappingChanges: MappingChangeHook; onRequestsStored: RequestsStoredHook };
  /** Alerts this run recorded in the ledger for the first time, in the order they were raised. */
  raised(): readonly Alert[];
  /** Alerts raised again that the ledger already held (an earlier replay or the deployed pipeline). */
  alreadyRecorded(): number;
}

export interface AlertTally {
  raised: Record<Severity, number>;
  alreadyRecorded: number;
}

export const recordedAlerts = (
  store: Pick<TrailStore, 'alerts' | 'usage' | 'credential'>,
  config: AlertConfig,
  opts: {
    /** Also hand each newly recorded alert to this sink (the CLI's progress output, a test). */
    sink?: AlertSink;
    /** A mapping use the store refused for good (the deployed function logs it). */
    onRefused?: (err: unknown) => void;
  } = {},
): RecordedAlerts => {
  const raised: Alert[] = [];
  let duplicates = 0;
  const ledger: AlertLedger = {
    recordIfNew: async (alert) => {
      const claimed = await store.alerts.recordIfNew(alert);
      if (!claimed) duplicates += 1;
      return claimed;
    },
    release: async (alert) => store.alerts.release?.(alert),
  };
  const sink: AlertSink = {
    publish: async (alert) => {
      await opts.sink?.publish(alert);
      raised.push(alert);
    },
  };
  return {
    hooks: {
      onNewMappingChanges: mappingChangeAlertHook({
        ledger,
        sink,
        config,
        lookupCredential: (accessKeyId) => store.credential(accessKeyId),
      }),
      onRequestsStored: mappingUseAlertHook(
        { usage: store.usage, config, ledger, sink },
        opts.onRefused ??
          (() => {
            // Local mode: a refused usage item only costs a first-use alert; the replay goes on.
          }),
      ),
    },
    raised: () => raised,
    alreadyRecorded: () => duplicates,
  };
};

export const tallyOf = (r: Pick<RecordedAlerts, 'raised' | 'alreadyRecorded'>): AlertTally => ({
  raised: countBySeverity(r.raised()),
  alreadyRecorded: r.alreadyRecorded(),
});
