import { type ClusterRef, clusterRefKey, gsiPrefix, keys, UNKNOWN_ACCOUNT } from '../keys.js';
import { INDEX } from '../table-schema.js';
import { TrailStoreError } from '../trail-store.js';
import type { Item, TableClient } from './table-client.js';

/**
 * The cluster registry (docs/data-model.md, `CL#` items listed on gsi1 under `REG`): which accounts
 * have a cluster of a given name. Sources that do not name the account (a log export replayed
 * without `--account`) resolve the name through it; a name no account claims yet is kept under the
 * placeholder account `_`.
 */
export class ClusterRegistry {
  /** Clusters whose registry item this instance already wrote (one write per cluster per container). */
  private readonly registered = new Set<string>();
  private readonly nameCache = new Map<string, ClusterRef[]>();

  constructor(private readonly table: TableClient) {}

  private item(ref: ClusterRef): Item {
    return {
      ...keys.cluster(ref),
      accountId: ref.accountId,
      cluster: ref.cluster,
      gsi1pk: gsiPrefix.registry,
      gsi1sk: `${ref.cluster}#${ref.accountId}`,
    };
  }

  /** Registry items for clusters not yet written by this instance (identical bytes every time). */
  newItems(refs: readonly ClusterRef[]): Item[] {
    const out: Item[] = [];
    for (const ref of refs) {
      if (ref.accountId === UNKNOWN_ACCOUNT) continue;
      const k = clusterRefKey(ref);
      if (this.registered.has(k)) continue;
      this.registered.add(k);
      out.push(this.item(ref));
      const known = this.nameCache.get(ref.cluster);
      if (known && !known.some((r) => r.accountId === ref.accountId)) this.nameCache.delete(ref.cluster);
    }
    return out;
  }

  /** Every account that has a cluster of this name. */
  async named(name: string): Promise<ClusterRef[]> {
    const items = await this.table.queryAll(
      {
        IndexName: INDEX.gsi1,
        KeyConditionExpression: 'gsi1pk = :p AND begins_with(gsi1sk, :n)',
        ExpressionAttributeValues: { ':p': gsiPrefix.registry, ':n': `${name}#` },
      },
      'Query(registry)',
    );
    return items.map((i) => ({ cluster: name, accountId: String(i['gsi1sk']).slice(name.length + 1) }));
  }

  /** All registered clusters, by name then account. */
  async all(): Promise<ClusterRef[]> {
    const items = await this.table.queryAll(
      {
        IndexName: INDEX.gsi1,
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': gsiPrefix.registry },
      },
      'Query(registry)',
    );
    return items.map((i) => {
      const sk = String(i['gsi1sk']);
      const at = sk.lastIndexOf('#');
      return { cluster: sk.slice(0, at), accountId: sk.slice(at + 1) };
    });
  }

  /**
   * `<account>/<name>` or a bare name. A bare name resolves when exactly one account has a cluster of
   * that name; several -> TrailStoreError VALIDATION listing them; none -> undefined.
   */
  async resolve(nameOrAccountSlashName: string): Promise<ClusterRef | undefined> {
    const slash = nameOrAccountSlashName.indexOf('/');
    if (slash > 0) {
      const ref = {
        accountId: nameOrAccountSlashName.slice(0, slash),
        cluster: nameOrAccountSlashName.slice(slash + 1),
      };
      return (await this.named(ref.cluster)).find((r) => r.accountId === ref.accountId);
    }
    const found = await this.named(nameOrAccountSlashName);
    if (found.length > 1) {
      throw new TrailStoreError(
        `cluster name '${nameOrAccountSlashName}' exists in several accounts: ${found.map((r) => `${r.accountId}/${r.cluster}`).join(', ')}`,
        'VALIDATION',
        false,
      );
    }
    return found[0];
  }

  /** The ref a write or read uses: the account when given, else the only registered one, else UNKNOWN_ACCOUNT. */
  async refFor(cluster: string, accountId?: string): Promise<ClusterRef> {
    if (accountId) return { cluster, accountId };
    let found = this.nameCache.get(cluster);
    if (!found) {
      found = await this.named(cluster);
      this.nameCache.set(cluster, found);
    }
    return found.length === 1 ? found[0]! : { cluster, accountId: UNKNOWN_ACCOUNT };
  }
}
