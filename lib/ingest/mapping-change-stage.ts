import type { MappingChange } from '../identity/types.js';
import type { IngestPort } from '../store/trail-store.js';
import type { MappingChangeHook } from './types.js';

/** Natural identity of a change, as the store dedupes it: (cluster, sourceEventId, op kind). */
export const changeKey = (c: MappingChange): string =>
  `${c.accountId ?? ''}\u0000${c.cluster}\u0000${c.sourceEventId}\u0000${c.op.kind}`;

export const storeMappingChanges = async (
  store: IngestPort,
  changes: readonly MappingChange[],
): Promise<{ fresh: MappingChange[]; error?: unknown }> => {
  try {
    return { fresh: await store.putMappingChanges([...changes]) };
  } catch (error) {
    return { fresh: [], error };
  }
};

/**
 * Calls the alert hook once per cluster. Redelivered observations of a principal id (one per IAM
 * request) are not worth a history read each batch, so a cluster is notified only when something is
 * new, or when a redelivered change is a real mapping edit whose alert may not have gone out.
 * Returns the hook's (or the history read's) error so the caller fails the item for redelivery.
 */
export const notifyMappingChanges = async (
  store: IngestPort,
  all: readonly MappingChange[],
  fresh: readonly MappingChange[],
  hook: MappingChangeHook,
): Promise<unknown> => {
  const freshKeys = new Set(fresh.map(changeKey));
  const byCluster = new Map<
    string,
    { cluster: string; accountId?: string; fresh: MappingChange[]; old: MappingChange[] }
  >();
  for (const c of all) {
    const k = `${c.accountId ?? ''}\u0000${c.cluster}`;
    let g = byCluster.get(k);
    if (!g) {
      g = { cluster: c.cluster, ...(c.accountId !== undefined ? { accountId: c.accountId } : {}), fresh: [], old: [] };
      byCluster.set(k, g);
    }
    (freshKeys.has(changeKey(c)) ? g.fresh : g.old).push(c);
  }
  for (const g of byCluster.values()) {
    const worth = g.fresh.length > 0 || g.old.some((c) => c.op.kind !== 'principal-id-observed');
    if (!worth) continue;
    try {
      const allChanges = await store.mappingChanges(
        g.accountId !== undefined ? { cluster: g.cluster, accountId: g.accountId } : g.cluster,
      );
      await hook({
        cluster: g.cluster,
        ...(g.accountId !== undefined ? { accountId: g.accountId } : {}),
        newChanges: g.fresh,
        redelivered: g.old,
        allChanges,
      });
    } catch (err) {
      return err;
    }
  }
  return undefined;
};
