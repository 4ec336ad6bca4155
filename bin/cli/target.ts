import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type LocalEngine, startLocalEngine } from '../../lib/local/engine.js';
import type { QuestionParams } from '../../lib/query/params.js';
import { type QueryAnswer, runQuestion } from '../../lib/query/run.js';
import {
  DEFAULT_RETENTION_DAYS,
  DynamoDbTrailStore,
  type RetentionDays,
} from '../../lib/store/dynamodb/dynamodb-trail-store.js';
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
  /** TTL per item class for what this command writes (`--retention-days`). */
  retentionDays?: RetentionDays;
}

/** Item classes `--retention-days` may set: mapping history is kept, as in a deployment. */
const RETENTION_FLAG_CLASSES = Object.keys(DEFAULT_RETENTION_DAYS).filter((k) => k !== 'mappingChange');

/**
 * `--retention-days request=400,bulkRequest=90`: days per item class, as the deployment's
 * `retentionDays` prop sets them (docs/data-model.md, "Retention"). 0 keeps forever.
 */
export const parseRetentionFlag = (text: string | undefined): RetentionDays | undefined => {
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [k = '', v = ''] = part.split('=').map((x) => x.trim());
    if (!RETENTION_FLAG_CLASSES.includes(k)) {
      throw new UsageError(
        `--retention-days: "${k}" is not an item class (known: ${RETENTION_FLAG_CLASSES.join(', ')})`,
      );
    }
    if (!/^\d{1,5}$/.test(v)) throw new UsageError(`--retention-days: ${k}=${v} is not a whole number of days`);
    out[k] = Number(v);
  }
  return out as RetentionDays;
};

export interface Target {
  kind: 'local' | 'table' | 'api';
  /** Absent for `--api` (the API only answers questions). */
  store?: DynamoDbTrailStore;
  /** Local mode: the data dir (where its digest signing key lives). */
  dataDir?: string;
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
    const store = new DynamoDbTrailStore(client, {
      tableName: o.table,
      ...(o.retentionDays ? { retentionDays: o.retentionDays } : {}),
    });
    return {
      kind: 'table',
      store,
      ask: (q) => runQuestion(store, q),
      close: async () => client.destroy(),
    };
  }
  const engine: LocalEngine = await startLocalEngine(o.dataDir ? { dataDir: o.dataDir } : {});
  const store = new DynamoDbTrailStore(engine.client, {
    tableName: engine.tableName,
    ...(o.retentionDays ? { retentionDays: o.retentionDays } : {}),
  });
  return {
    kind: 'local',
    store,
    ...(engine.dataDir ? { dataDir: engine.dataDir } : {}),
    ask: (q) => runQuestion(store, q),
    close: () => engine.stop(),
  };
};
