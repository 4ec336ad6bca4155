import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CHROMIUM } from '../../console/chromium.js';
import { recordedAlerts } from '../../lib/alerts/recorded-alerts.js';
import { DEFAULT_ALERT_CONFIG } from '../../lib/alerts/types.js';
import { type LocalEngine, startLocalEngine } from '../../lib/local/engine.js';
import { replayFiles } from '../../lib/local/replay.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';

/** The bundled sample scenario (samples/README.md), replayed as `eks-trail console --demo` does. */
export const SAMPLES = resolve(import.meta.dirname, '../../samples');

export interface ReplayedSamples {
  engine: LocalEngine;
  store: DynamoDbTrailStore;
  usage: DynamoDbTrailStore['usage'];
  window: { from: string; to: string };
  close(): Promise<void>;
}

export const replaySamples = async (): Promise<ReplayedSamples> => {
  const engine = await startLocalEngine({ inMemory: true });
  const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
  const summary = await replayFiles([SAMPLES], store, {
    now: () => Date.parse('2025-06-03T00:00:00Z'),
    accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
    alerts: recordedAlerts(store, DEFAULT_ALERT_CONFIG),
  });
  return {
    engine,
    store,
    usage: store.usage,
    window: {
      from: new Date(summary.firstEventAt as number).toISOString(),
      to: new Date((summary.lastEventAt as number) + 1).toISOString(),
    },
    close: () => engine.stop(),
  };
};

export { CHROMIUM, CHROMIUM_ARGS, launchChromium } from '../../console/chromium.js';

/**
 * Browser tests run wherever Chromium is installed and always in CI (where a missing browser is a
 * failure, not a skip); elsewhere they skip with the reason.
 */
export const browserSkipReason = (): string | undefined =>
  existsSync(CHROMIUM) || process.env.CI
    ? undefined
    : `${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the console browser tests`;
