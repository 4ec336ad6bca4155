import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type LocalEngine, startLocalEngine } from '../../lib/local/engine.js';
import type { QuestionParams } from '../../lib/query/params.js';
import { type QueryAnswer, runQuestion } from '../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { askApi } from './api-client.js';
import { UsageError } from './errors.js';

/**
 * Where a command reads and writes: local mode (embedded engine in a data dir, the default), a deployed
 * table (`--table`, `--region`) or the deployed query API (`--api`, read-only).
 */
export interface TargetOptions {
  dataDir?: string;
  table?: string;
  region?: string;
  api?: string;
}

export interface Target {
  kind: 'local' | 'table' | 'api';
  /** Absent for `--api` (the API only answers questions). */
  store?: DynamoDbTrailStore;
  ask(q: QuestionParams, raw: Record<string, string>): Promise<QueryAnswer>;
  close(): Promise<void>;
}

export const openTarget = async (o: TargetOptions, env: Record<string, string | undefined>): Promise<Target> => {
  const chosen = [o.api && '--api', o.table && '--table'].filter(Boolean);
  if (chosen.length > 1) throw new UsageError('--api and --table are exclusive: pick one target');
  if (o.dataDir && chosen.length)
    throw new UsageError(`--data-dir is for local mode; it cannot be combined with ${chosen[0]}`);
  if (o.api) {
    const url = o.api;
    return {
      kind: 'api',
      ask: (q, raw) => askApi(o.region ? { url, region: o.region } : { url }, q.question, raw),
      close: async () => {},
    };
  }
  if (o.table) {
    const region = o.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('--region: required with --table (or set AWS_REGION)');
    const client = new DynamoDBClient({ region });
    const store = new DynamoDbTrailStore(client, { tableName: o.table });
    return {
      kind: 'table',
      store,
      ask: (q) => runQuestion(store, q),
      close: async () => client.destroy(),
    };
  }
  const engine: LocalEngine = await startLocalEngine(o.dataDir ? { dataDir: o.dataDir } : {});
  const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
  return {
    kind: 'local',
    store,
    ask: (q) => runQuestion(store, q),
    close: () => engine.stop(),
  };
};
