import { MappingTimeline } from '../identity/mapping-timeline.js';
import type { ClusterRef, TrailStore } from '../store/trail-store.js';
import type { PostureInput } from './posture.js';
import type { AlertConfig, MappingUsage, MappingUsagePort } from './types.js';

/** What the posture report reads: the trail's clusters and mapping history, and each mapping's recorded use. */
export interface PostureSources {
  trail: Pick<TrailStore, 'clusters' | 'mappingChanges'>;
  usage: Pick<MappingUsagePort, 'list'>;
}

/**
 * The posture report's input, built the one way the daily function and the CLI both use: the mapping
 * state of every cluster (or the one `wanted`, `name` or `<account>/<name>`) at `now`, and the usage
 * of each mapping. Both carry the account: two accounts may each have a cluster of the same name, and
 * usage of one must never make the other's mapping look used.
 */
export const buildPostureInput = async (
  src: PostureSources,
  now: string,
  config: Partial<Pick<AlertConfig, 'unusedMappingDays' | 'suppressions'>>,
  wanted?: string,
): Promise<PostureInput & { clusters: ClusterRef[] }> => {
  const states: PostureInput['states'] = [];
  const usage: MappingUsage[] = [];
  const clusters: ClusterRef[] = [];
  for (const ref of await src.trail.clusters()) {
    if (wanted && ref.cluster !== wanted && `${ref.accountId}/${ref.cluster}` !== wanted) continue;
    clusters.push(ref);
    const changes = await src.trail.mappingChanges(ref);
    states.push({ ...new MappingTimeline(ref.cluster, changes).stateAt(now), accountId: ref.accountId });
    for (const u of await src.usage.list(ref.cluster, ref.accountId)) usage.push({ ...u, accountId: ref.accountId });
  }
  return { states, usage, now, config, clusters };
};
