import { recordedAlerts } from '../../lib/alerts/recorded-alerts.js';
import type { AlertConfig } from '../../lib/alerts/types.js';
import { localClient } from '../../lib/local/engine.js';
import { createProgress } from '../../lib/local/progress.js';
import { ReplayError, type ReplayOptions, type ReplaySummary, replayFiles } from '../../lib/local/replay.js';
import type { RetentionDays } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';

/**
 * The replay of a local-mode `eks-trail replay`, in a process of its own (bin/commands/local.ts): its
 * heap is capped, and the embedded engine's LevelDB memory stays in the parent, so the replay's
 * memory is bounded whatever the size of the files. It talks to the parent's engine over loopback.
 */

export interface ReplayJob {
  endpoint: string;
  tableName: string;
  retentionDays?: RetentionDays;
  paths: string[];
  options: Omit<ReplayOptions, 'now' | 'progress' | 'accountFor' | 'alerts'>;
  /**
   * The alert stage's configuration, when alerts are raised: its hooks are functions and cannot cross
   * the process boundary, so the child builds the stage itself over its own store.
   */
  alertConfig?: AlertConfig;
}

export type ReplayChildMessage = { summary: ReplaySummary; maxRssKiB: number } | { error: string; usage: boolean };

const send = (m: ReplayChildMessage): Promise<void> =>
  new Promise((ok) => {
    if (process.send) process.send(m, () => ok());
    else ok();
  });

const run = async (): Promise<void> => {
  const job = JSON.parse(process.argv[2] as string) as ReplayJob;
  const client = localClient(job.endpoint);
  const store = new DynamoDbTrailStore(client, {
    tableName: job.tableName,
    ...(job.retentionDays ? { retentionDays: job.retentionDays } : {}),
  });
  try {
    const summary = await replayFiles(job.paths, store, {
      ...job.options,
      ...(job.alertConfig ? { alerts: recordedAlerts(store, job.alertConfig) } : {}),
      now: () => Date.now(),
      progress: createProgress(process.stderr, 'replay', 0),
      accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
    });
    await send({ summary, maxRssKiB: process.resourceUsage().maxRSS });
  } catch (e) {
    await send({ error: e instanceof Error ? (e.stack ?? e.message) : String(e), usage: e instanceof ReplayError });
  } finally {
    client.destroy();
  }
};

await run();
