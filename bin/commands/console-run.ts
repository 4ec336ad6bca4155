import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConsoleAssets } from '../../console/build.js';
import { recordedAlerts } from '../../lib/alerts/recorded-alerts.js';
import { DEFAULT_ALERT_CONFIG } from '../../lib/alerts/types.js';
import { type ConsoleBackend, storeBackend } from '../../lib/console/backend.js';
import { startConsoleServer } from '../../lib/console/server.js';
import { startLocalEngine } from '../../lib/local/engine.js';
import { createProgress } from '../../lib/local/progress.js';
import { replayFiles } from '../../lib/local/replay.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type Command, str, type Values } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import type { CliIo } from '../cli/io.js';
import { samplesDir, scenarioInputs } from '../cli/package-root.js';
import { openTarget } from '../cli/target.js';

/**
 * `console`, loaded when the command runs: the local web console over the same questions (lib/console). Read-only; binds to
 * 127.0.0.1 and guards every request with a per-run token and a Host check (lib/console/guard.ts).
 * With `--api` the questions go to the deployed query API, signed with the analyst's own credentials
 * as the CLI signs them (bin/cli/api-client.ts).
 */

interface Opened {
  backend: ConsoleBackend;
  close(): Promise<void>;
}

const openBackend = async (values: Values, io: CliIo): Promise<Opened> => {
  const api = str(values.api);
  const table = str(values.table);
  const dataDir = str(values['data-dir']);
  const demo = values.demo === true;
  if (demo && (api || table || dataDir))
    throw new UsageError('--demo replays the samples into a temporary data dir: drop --api, --table and --data-dir');
  if (api) {
    const target = await openTarget({ api, region: str(values.region) }, io.env);
    return { backend: { mode: 'api', source: api, ask: target.ask }, close: () => target.close() };
  }
  if (table) {
    if (dataDir) throw new UsageError('--data-dir is for local mode; it cannot be combined with --table');
    const region = str(values.region) ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('--region: required with --table (or set AWS_REGION)');
    const client = new DynamoDBClient({ region });
    const tableStore = new DynamoDbTrailStore(client, { tableName: table });
    return {
      backend: storeBackend({
        mode: 'table',
        source: `table ${table} (${region})`,
        store: tableStore,
        usage: tableStore.usage,
      }),
      close: async () => client.destroy(),
    };
  }
  const dir = demo ? mkdtempSync(join(tmpdir(), 'eks-trail-console-')) : dataDir;
  const engine = await startLocalEngine(dir ? { dataDir: dir } : {});
  const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
  let defaultWindow: { from: string; to: string } | undefined;
  if (demo) {
    io.stderr.write(`replaying the sample scenario into ${dir}\n`);
    const summary = await replayFiles(scenarioInputs(samplesDir()), store, {
      now: io.now,
      progress: createProgress(io.stderr, 'replay', 0),
      accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
      alerts: recordedAlerts(store, DEFAULT_ALERT_CONFIG),
    });
    if (summary.firstEventAt !== undefined && summary.lastEventAt !== undefined) {
      defaultWindow = {
        from: new Date(summary.firstEventAt).toISOString(),
        to: new Date(summary.lastEventAt + 1).toISOString(),
      };
    }
  }
  return {
    backend: storeBackend({
      mode: 'local',
      source: demo ? 'sample scenario (temporary data dir)' : `data dir ${engine.dataDir ?? dir ?? '.eks-trail'}`,
      store,
      usage: store.usage,
      ...(defaultWindow ? { defaultWindow } : {}),
    }),
    close: async () => {
      await engine.stop();
      if (demo && dir) rmSync(dir, { recursive: true, force: true });
    },
  };
};

const parsePort = (text: string | undefined): number => {
  if (text === undefined) return 0;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) throw new UsageError(`--port: "${text}" is not a port number`);
  return Number(text);
};

export const consoleRun: Command['run'] = async ({ values, positionals, io }) => {
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  if (str(values.format) !== undefined)
    throw new UsageError('--format: the console exports CSV and JSON from each list');
  const port = parsePort(str(values.port));
  const assets = await loadConsoleAssets();
  const opened = await openBackend(values, io);
  let server: Awaited<ReturnType<typeof startConsoleServer>>;
  try {
    server = await startConsoleServer({
      backend: opened.backend,
      assets,
      port,
      now: io.now,
      log: (line) => io.stderr.write(`${line}\n`),
    });
  } catch (e) {
    await opened.close();
    throw new UsageError(`--port: cannot listen on 127.0.0.1:${port} (${(e as Error).message})`, { cause: e });
  }
  io.stdout.write(
    `eks-trail console (${opened.backend.mode}, read-only) on 127.0.0.1 only. Open:\n\n  ${server.url}\n\n` +
      'The token in this URL is valid for this run only. Ctrl-C stops the console.\n',
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await opened.close();
  return 0;
};
