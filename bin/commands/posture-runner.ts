import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { postureFindings } from '../../lib/alerts/posture.js';
import { buildPostureInput, type PostureSources } from '../../lib/alerts/posture-input.js';
import { renderFindingsReport } from '../../lib/alerts/render.js';
import { DEFAULT_ALERT_CONFIG } from '../../lib/alerts/types.js';
import { startLocalEngine } from '../../lib/local/engine.js';
import { formatJson, type OutputFormat } from '../../lib/query/format.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { str, type Values } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import type { CliIo } from '../cli/io.js';

/**
 * `posture`: the alerts module's posture report over the mapping state of every cluster now and the
 * recorded use of each mapping (the `USAGE#` items the alert pipeline keeps), built by the same
 * function the daily posture-report function uses (lib/alerts/posture-input.ts), with the default
 * alert configuration a deployment starts from.
 */

/** The trail table of local mode or `--table`, as both stores; `--api` only answers questions. */
const openSources = async (
  values: Values,
  env: Record<string, string | undefined>,
): Promise<PostureSources & { close(): Promise<void> }> => {
  const dataDir = str(values['data-dir']);
  const table = str(values.table);
  if (str(values.api)) throw new UsageError('--api: posture reads the trail table (local mode or --table)');
  if (table) {
    if (dataDir) throw new UsageError('--data-dir is for local mode; it cannot be combined with --table');
    const region = str(values.region) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('--region: required with --table (or set AWS_REGION)');
    const client = new DynamoDBClient({ region });
    const trail = new DynamoDbTrailStore(client, { tableName: table });
    return { trail, usage: trail.usage, close: async () => client.destroy() };
  }
  const engine = await startLocalEngine(dataDir ? { dataDir } : {});
  const trail = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
  return { trail, usage: trail.usage, close: () => engine.stop() };
};

export const runPosture = async (ctx: { values: Values; io: CliIo; format: OutputFormat }): Promise<number> => {
  const { values, io } = ctx;
  const sources = await openSources(values, io.env);
  try {
    const now = new Date(io.now()).toISOString();
    const findings = postureFindings(await buildPostureInput(sources, now, DEFAULT_ALERT_CONFIG, str(values.cluster)));
    if (ctx.format === 'json') io.stdout.write(`${formatJson(findings)}\n`);
    else io.stdout.write(`${renderFindingsReport(findings)}\n`);
    return 0;
  } finally {
    await sources.close();
  }
};
