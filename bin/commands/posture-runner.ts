import { MappingTimeline } from '../../lib/identity/mapping-timeline.js';
import type { ClusterMappingState } from '../../lib/identity/types.js';
import { formatJson, type OutputFormat } from '../../lib/query/format.js';
import { str, type Values } from '../cli/command.js';
import type { CliIo } from '../cli/io.js';
import { openTarget } from '../cli/target.js';

/**
 * `posture`: the alerts module's posture report over the mapping state of every cluster now. The
 * module is loaded by name at run time so the CLI keeps working in a build without it.
 */
interface PostureModule {
  postureFindings(input: { states: ClusterMappingState[]; usage: unknown[]; now: string; config: unknown }): unknown[];
}
interface RenderModule {
  renderFindingsReport?(findings: unknown[]): string;
}

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
  const target = await openTarget(
    { dataDir: str(values['data-dir']), table: str(values.table), region: str(values.region) },
    io.env,
  );
  try {
    const store = target.store;
    if (!store) throw new Error('posture needs the trail table (local mode or --table), not --api');
    const now = new Date(io.now()).toISOString();
    const wanted = str(values.cluster);
    const states: ClusterMappingState[] = [];
    for (const ref of await store.clusters()) {
      if (wanted && ref.cluster !== wanted && `${ref.accountId}/${ref.cluster}` !== wanted) continue;
      const changes = await store.mappingChanges(ref.cluster, ref.accountId);
      states.push(new MappingTimeline(ref.cluster, changes).stateAt(now));
    }
    const findings = posture.postureFindings({
      states,
      usage: [],
      now,
      config: { trustedAccountIds: [], suppressions: [], recentMappingDays: 7, unusedMappingDays: 90 },
    });
    if (ctx.format === 'json' || !render?.renderFindingsReport) io.stdout.write(`${formatJson(findings)}\n`);
    else io.stdout.write(`${render.renderFindingsReport(findings)}\n`);
    return 0;
  } finally {
    await target.close();
  }
};
