import { describe, expect, it } from 'vitest';
import { requestsStoredHookFor } from '../../../functions/shared/alert-wiring.js';
import { AlertDispatchError } from '../../../lib/alerts/dispatch.js';
import { type Alert, DEFAULT_ALERT_CONFIG, type MappingUsagePort } from '../../../lib/alerts/types.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { ingestCloudTrailEvents } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { TrailStoreError } from '../../../lib/store/trail-store.js';
import { cloudTrail, kiemLine, logPayload } from '../../lib/ingest/fixtures.js';
import { MemoryTrailStore } from '../../lib/ingest/memory-store.js';

/**
 * The fault policy of the `onRequestsStored` hook the log function wires (requestsStoredHookFor):
 * what fails the delivery (so it comes again) and what is only logged. The ledger, usage store and
 * sink are faked here; the same hook over the real table is in test/integration/ingest.
 */

const opts = { now: () => Date.parse('2024-08-24T15:00:00Z') };

/** The chains the pipeline hands the hook for the kiem request, its access entry already known. */
const storedChains = async (): Promise<DecisionChain[]> => {
  const store = new MemoryTrailStore();
  await ingestCloudTrailEvents(
    ['createAccessEntry', 'associateAccessPolicy'].map((n) => ({
      itemId: n,
      source: 'sqs-message' as const,
      body: cloudTrail(n),
    })),
    store,
    opts,
  );
  const chains: DecisionChain[] = [];
  await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, {
    ...opts,
    onRequestsStored: async (c) => void chains.push(...c),
  });
  return chains;
};

const wiring = (usage: MappingUsagePort, publish: (a: Alert) => Promise<void> = async () => {}) => {
  const claimed = new Set<string>();
  return {
    ledger: {
      recordIfNew: async (a: Alert) => !claimed.has(a.alertId) && Boolean(claimed.add(a.alertId)),
      release: async (a: Alert) => void claimed.delete(a.alertId),
    },
    sink: { publish },
    usage,
    config: DEFAULT_ALERT_CONFIG,
  };
};

const usageThat = (recordUse: MappingUsagePort['recordUse']): MappingUsagePort => ({
  recordUse,
  list: async () => [],
});

describe('requestsStoredHookFor', () => {
  it('publishes the first-use alert of a new mapping', async () => {
    const chains = await storedChains();
    const sent: Alert[] = [];
    await requestsStoredHookFor(
      wiring(
        usageThat(async () => ({ firstUse: true })),
        async (a) => void sent.push(a),
      ),
    )(chains);
    expect(sent.map((a) => a.ruleId)).toEqual(['new-mapping-first-use']);
  });

  it('throws a transient usage fault, so the pipeline fails the delivery', async () => {
    const chains = await storedChains();
    const hook = requestsStoredHookFor(
      wiring(
        usageThat(async () => {
          throw new TrailStoreError('throttled', 'THROTTLED', true);
        }),
      ),
    );
    await expect(hook(chains)).rejects.toMatchObject({ code: 'THROTTLED' });
  });

  it('logs a usage write refused for good and drops it: failing the delivery would not heal it', async () => {
    const chains = await storedChains();
    const logged: Record<string, unknown>[] = [];
    const logger = {
      info() {},
      warn() {},
      error: (_m: string, ...x: Record<string, unknown>[]) => void logged.push(...x),
    };
    const hook = requestsStoredHookFor(
      wiring(
        usageThat(async () => {
          throw new TrailStoreError('bad request', 'VALIDATION', false);
        }),
      ),
      logger,
    );
    await expect(hook(chains)).resolves.toBeUndefined();
    expect(logged).toEqual([{ error: expect.objectContaining({ code: 'VALIDATION' }) }]);
  });

  it('throws when a publication fails, and the retry sends the alert once', async () => {
    const chains = await storedChains();
    const sent: Alert[] = [];
    let failures = 1;
    const w = wiring(
      usageThat(async () => ({ firstUse: true })),
      async (a) => {
        if (failures-- > 0) throw new Error('Rate exceeded');
        sent.push(a);
      },
    );
    const hook = requestsStoredHookFor(w);
    await expect(hook(chains)).rejects.toBeInstanceOf(AlertDispatchError);
    await hook(chains);
    await hook(chains);
    expect(sent).toHaveLength(1);
  });
});
