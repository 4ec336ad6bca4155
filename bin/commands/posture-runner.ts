import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { MappingUsage } from '../../lib/alerts/types.js';
import { MappingTimeline } from '../../lib/identity/mapping-timeline.js';
import type { ClusterMappingState, MappingChange } from '../../lib/identity/types.js';
import { startLocalEngine } from '../../lib/local/engine.js';
import { formatJson, type OutputFormat } from '../../lib/query/format.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { ClusterRef } from '../../lib/store/keys.js';
import { DynamoDbMappingUsageStore } from '../../lib/store/mapping-usage.js';
import { str, type Values } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import type { CliIo } from '../cli/io.js';

/**
 * `posture`: the alerts module's posture report over the mapping state of every cluster now and the
 * recorded use of each mapping (the `USAGE#` items the alert pipeline keeps), the same input the daily
 * posture-report function builds. The module is loaded by name at run time so the CLI keeps working
 * in a build without it.
 */
export type PostureState = ClusterMappingState & { accountId?: string };

interface PostureModule {
  postureFindings(input: { states: PostureState[]; usage: MappingUsage[]; now: string; config: unknown }): unknown[];
}
interface RenderModule {
  renderFindingsReport?(findings: unknown[]): string;
}

/** What the report reads: the trail's clusters and mapping history, and the mapping-usage items. */
export interface PostureSources {
  trail: {
    clusters(): Promise<ClusterRef[]>;
    mappingChanges(cluster: string, accountId?: string): Promise<MappingChange[]>;
  };
  usage: { list(cluster: string, accountId?: string): Promise<MappingUsage[]> };
}

/**
 * Mapping state and usage of every cluster (or the one `wanted`, `name` or `<account>/<name>`) at
 * `now`. Both carry the account: two accounts may each have a cluster of the same name, and usage of
 * one must never make the other's mapping look used.
 */
export const postureInput = async (
  src: PostureSources,
  now: string,
  wanted?: string,
): Promise<{ states: PostureState[]; usage: MappingUsage[] }> => {
  const states: PostureState[] = [];
  const usage: MappingUsage[] = [];
  for (const ref of await src.trail.clusters()) {
    if (wanted && ref.cluster !== wanted && `${ref.accountId}/${ref.cluster}` !== wanted) continue;
    const changes = await src.trail.mappingChanges(ref.cluster, ref.accountId);
    states.push({ ...new MappingTimeline(ref.cluster, changes).stateAt(now), accountId: ref.accountId });
    for (const u of await src.usage.list(ref.cluster, ref.accountId)) usage.push({ ...u, accountId: ref.accountId });
  }
  return { states, usage };
};

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
    return {
      trail: new DynamoDbTrailStore(client, { tableName: table }),
      usage: new DynamoDbMappingUsageStore(client, { tableName: table }),
      close: async () => client.destroy(),
    };
  }
  const engine = await startLocalEngine(dataDir ? { dataDir } : {});
  return {
    trail: new DynamoDbTrailStore(engine.client, { tableName: engine.tableName }),
    usage: new DynamoDbMappingUsageStore(engine.client, { tableName: engine.tableName }),
    close: () => engine.stop(),
  };
};

const load = async <T>(spec: string): Promise<T | undefined> => {
  try {
    return (await import(spec)) as T;
  } catch {
    return undefined;
  }
};

export const runPosture = async (ctx: { values: Values; io: CliIo; format: OutputFormat }): Promise<number> => {
  const posture = await load<PostureModule>(new URL('../../lib/alerts/posture.ts', import.meta.url).href);
  if (!posture?.postureFindings) {
    ctx.io.stderr.write('eks-trail: posture: the posture report (lib/alerts/posture) is not available in this build\n');
    return 1;
  }
  const render = await load<RenderModule>(new URL('../../lib/alerts/render.ts', import.meta.url).href);
  const { values, io } = ctx;
  const sources = await openSources(values, io.env);
  try {
    const now = new Date(io.now()).toISOString();
    const { states, usage } = await postureInput(sources, now, str(values.cluster));
    const findings = posture.postureFindings({
      states,
      usage,
      now,
      config: { trustedAccountIds: [], suppressions: [], recentMappingDays: 7, unusedMappingDays: 90 },
    });
    if (ctx.format === 'json' || !render?.renderFindingsReport) io.stdout.write(`${formatJson(findings)}\n`);
    else io.stdout.write(`${render.renderFindingsReport(findings)}\n`);
    return 0;
  } finally {
    await sources.close();
  }
};
