import { type ClusterRef, clusterRefKey, gsiPrefix, keys, UNKNOWN_ACCOUNT } from '../keys.js';
import { INDEX } from '../table-schema.js';
import { TrailStoreError } from '../trail-store.js';
import type { Item, TableClient } from './table-client.js';

/**
 * The cluster registry (docs/data-model.md, `CL#` items listed on gsi1 under `REG`): which accounts
 * have a cluster of a given name. Sources that do not name the account (a log export replayed
 * without `--account`) resolve the name through it; a name no account claims yet is kept under the
 * placeholder account `_`, registered too, so it is listed and reachable. Once exactly one account
 * claims the name, the placeholder's data is read as that cluster's (`joined`): the answers are then
 * the same as if the account had been known from the start. With two accounts claiming the name, the
 * placeholder stays on its own (`_/<name>`): which account it belongs to cannot be told.
 */
/** How long a name's accounts are reused by one store instance (a query function's container). */
export const NAMED_CACHE_MS = 30_000;

export class ClusterRegistry {
  /** Clusters whose registry item this instance already wrote (one write per cluster per container). */
  private readonly registered = new Set<string>();
  private readonly nameCache = new Map<string, ClusterRef[]>();
  private readonly namedCache = new Map<string, { refs: ClusterRef[]; until: number }>();

  constructor(
    private readonly table: TableClient,
    private readonly clock: () => number = Date.now,
  ) {}

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
      const k = clusterRefKey(ref);
      if (this.registered.has(k)) continue;
      this.registered.add(k);
      out.push(this.item(ref));
      const known = this.nameCache.get(ref.cluster);
      if (known && !known.some((r) => r.accountId === ref.accountId)) this.nameCache.delete(ref.cluster);
      this.namedCache.delete(ref.cluster);
    }
    return out;
  }

  /**
   * Every account that has a cluster of this name. Answers are kept for a short while: one question
   * asks it of every listing it makes, and a new account for a known name is rare (the registry item
   * is written once per cluster); this instance's own registrations drop the entry at once.
   */
  async named(name: string): Promise<ClusterRef[]> {
    const cached = this.namedCache.get(name);
    if (cached && cached.until > this.clock()) return cached.refs;
    const refs = await this.readNamed(name);
    this.namedCache.set(name, { refs, until: this.clock() + NAMED_CACHE_MS });
    return refs;
  }

  private async readNamed(name: string): Promise<ClusterRef[]> {
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

  /** The accounts that claim this name, the placeholder left out. */
  private async realAccounts(name: string): Promise<ClusterRef[]> {
    let found = this.nameCache.get(name);
    if (!found) {
      found = await this.named(name);
      this.nameCache.set(name, found);
    }
    return found.filter((r) => r.accountId !== UNKNOWN_ACCOUNT);
  }

  /**
   * The refs whose data is this cluster's: itself, and the placeholder `_/<name>` when data was
   * stored under it and exactly one account claims the name.
   */
  async joined(ref: ClusterRef): Promise<ClusterRef[]> {
    if (ref.accountId === UNKNOWN_ACCOUNT) return [ref];
    const all = await this.named(ref.cluster);
    const real = all.filter((r) => r.accountId !== UNKNOWN_ACCOUNT);
    const orphan = all.some((r) => r.accountId === UNKNOWN_ACCOUNT);
    return orphan && real.length === 1 && real[0]!.accountId === ref.accountId
      ? [ref, { accountId: UNKNOWN_ACCOUNT, cluster: ref.cluster }]
      : [ref];
  }

  /** The cluster a name's placeholder data is answered as: the one account that claims it, else the placeholder. */
  async canonicalOf(name: string): Promise<ClusterRef> {
    const real = (await this.named(name)).filter((r) => r.accountId !== UNKNOWN_ACCOUNT);
    return real.length === 1 ? real[0]! : { accountId: UNKNOWN_ACCOUNT, cluster: name };
  }

  /**
   * The clusters the trail answers for, by name then account: a placeholder `_/<name>` is listed only
   * while it is not joined to the one account that claims the name.
   */
  async all(): Promise<ClusterRef[]> {
    const refs = await this.registeredRefs();
    const realCount = new Map<string, number>();
    for (const r of refs)
      if (r.accountId !== UNKNOWN_ACCOUNT) realCount.set(r.cluster, (realCount.get(r.cluster) ?? 0) + 1);
    return refs.filter((r) => r.accountId !== UNKNOWN_ACCOUNT || realCount.get(r.cluster) !== 1);
  }

  /** Every registered ref, placeholders included even when joined (the digest signer covers their partitions too). */
  async registeredRefs(): Promise<ClusterRef[]> {
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
    const all = await this.named(nameOrAccountSlashName);
    // The placeholder answers for a name only while no account claims it (then it is joined to it).
    const real = all.filter((r) => r.accountId !== UNKNOWN_ACCOUNT);
    const found = real.length > 0 ? real : all;
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
    const real = await this.realAccounts(cluster);
    return real.length === 1 ? real[0]! : { cluster, accountId: UNKNOWN_ACCOUNT };
  }
}
