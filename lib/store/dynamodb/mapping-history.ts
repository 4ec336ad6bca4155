import { gunzipSync, gzipSync } from 'node:zlib';
import { canonicalJson } from '../../canonical-json.js';
import { mappingOpTarget } from '../../identity/mapping-op-target.js';
import { MappingTimeline } from '../../identity/mapping-timeline.js';
import type { MappingChange } from '../../identity/types.js';
import { setMostRecent } from '../../memo.js';
import { ITEM_BUDGET, itemSize } from '../item-codec.js';
import {
  type ClusterRef,
  clusterRefKey,
  epochMsOf,
  keys,
  sortableFromEpochMs,
  sortableTime,
  UNKNOWN_ACCOUNT,
} from '../keys.js';
import type { ClusterRegistry } from './cluster-registry.js';
import { type Item, mapLimit, type TableClient } from './table-client.js';

/**
 * Versioned identity-mapping history (docs/data-model.md, `MC#` items): every change of a cluster in
 * one partition, read whole to fold the timeline that answers "which mapping was in force at T".
 * Changes are rare next to requests, so the partition stays small; nothing else indexes them (the
 * questions filter the history in memory).
 */

/** Clusters whose folded mapping timeline a store instance keeps (a container serves a few clusters). */
const MAX_CACHED_TIMELINES = 64;

/**
 * ~50,000 bindings cost a few tens of MB (key, ord, Map overhead): well inside a 512 MB container,
 * and more distinct (principal, principal id) pairs than a fleet normally shows in a container's life.
 */
export const DEFAULT_PRINCIPAL_ID_CACHE_SIZE = 50_000;

/** DynamoDB orders strings by their UTF-8 bytes; JS `<` by UTF-16 units, which differs past the BMP. */
const compareUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

const mappingAt = (change: MappingChange): string => sortableTime(change.at) ?? sortableFromEpochMs(0);

/** Orders observations of one binding: the smallest is the earliest, the one the table keeps. */
const mappingOrd = (change: MappingChange): string => `${mappingAt(change)}#${change.sourceEventId}`;

const naturalSk = (change: MappingChange): string =>
  change.op.kind === 'principal-id-observed'
    ? `${change.op.kind}#${mappingOpTarget(change.op)}`
    : `${change.op.kind}#${change.sourceEventId}#${mappingOpTarget(change.op)}`;

const sortChanges = (changes: MappingChange[]): MappingChange[] =>
  changes.sort((a, b) => {
    const x = `${sortableTime(a.at) ?? ''}#${a.sourceEventId}`;
    const y = `${sortableTime(b.at) ?? ''}#${b.sourceEventId}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });

export interface MappingHistoryOptions {
  /** Days to keep mapping changes; 0 keeps them (the default: history answers "who could reach X at T"). */
  retentionDays: number;
  principalIdCacheSize: number;
}

export class MappingHistory {
  /** Last mapping timeline folded per cluster, with the fingerprint of the items it came from. */
  private readonly timelines = new Map<string, { fingerprint: string; timeline: MappingTimeline }>();
  /**
   * `pk\0sk` of a principal-id-observed item -> an ord the stored item is known to be at or below.
   * Safe because such an item only ever moves to a smaller ord (the `#o > :o` replace), nothing
   * deletes mapping items, and they carry no TTL; so a change whose ord is >= the cached one is a
   * write DynamoDB would refuse, and skipping it changes neither the table nor what counts as new.
   * With a mapping retention configured the cache stays off: the earliest observation may expire
   * while this container lives, and the later observation must then recreate it. Bounded for
   * container memory; a Map keeps insertion order, so re-inserting on a hit makes eviction LRU.
   */
  private readonly storedObservations = new Map<string, string>();
  private readonly cacheSize: number;

  constructor(
    private readonly table: TableClient,
    private readonly registry: ClusterRegistry,
    private readonly options: MappingHistoryOptions,
  ) {
    this.cacheSize = options.retentionDays > 0 ? 0 : Math.max(0, options.principalIdCacheSize);
  }

  private item(ref: ClusterRef, change: MappingChange): Item {
    const at = mappingAt(change);
    const stored: MappingChange = { ...change, cluster: ref.cluster };
    if (ref.accountId !== UNKNOWN_ACCOUNT) stored.accountId = ref.accountId;
    const item: Item = {
      ...keys.mappingChange(ref, naturalSk(change)),
      at,
      ord: mappingOrd(change),
    };
    if (this.options.retentionDays > 0) {
      item['expiresAt'] = Math.floor(epochMsOf(at) / 1000) + this.options.retentionDays * 86_400;
    }
    let data = canonicalJson(stored);
    item['data'] = data;
    if (itemSize(item) > ITEM_BUDGET && stored.op.kind === 'aws-auth-put' && stored.op.rawData) {
      const { rawData: _raw, ...op } = stored.op;
      data = canonicalJson({ ...stored, op });
      item['data'] = data;
      item['trimmed'] = 'rawData';
    }
    if (itemSize(item) > ITEM_BUDGET) {
      // A huge aws-auth (ConfigMaps go up to 1 MiB) compresses well; history must not lose rows.
      delete item['data'];
      item['dz'] = gzipSync(Buffer.from(data, 'utf8'), { level: 9 });
      item['trimmed'] = item['trimmed'] ? `${item['trimmed']},gzip` : 'gzip';
    }
    return item;
  }

  private read(item: Item): MappingChange {
    if (item['dz'] !== undefined)
      return JSON.parse(gunzipSync(item['dz'] as Uint8Array).toString('utf8')) as MappingChange;
    return JSON.parse(String(item['data'])) as MappingChange;
  }

  /**
   * Conditional PutItem per change (attribute_not_exists on the natural key); returns the changes
   * that were new. `principal-id-observed` is keyed by the binding (principal, id), not the event, and
   * keeps its EARLIEST observation whatever the arrival order; only its first arrival counts as new.
   * Nearly every IAM request observes a binding, and refused conditional writes are still billed, so
   * observations of one binding in a call are collapsed to the earliest, and one this instance knows
   * to be stored already (see storedObservations) is not written at all.
   */
  async put(changes: MappingChange[]): Promise<MappingChange[]> {
    const refs = await Promise.all(changes.map((c) => this.registry.refFor(c.cluster, c.accountId)));
    await this.table.batchPut(this.registry.newItems(refs));
    const writes: { index: number; binding?: { key: string; ord: string } }[] = [];
    const earliest = new Map<string, { index: number; key: string; ord: string }>();
    changes.forEach((c, index) => {
      if (c.op.kind !== 'principal-id-observed') {
        writes.push({ index });
        return;
      }
      const { pk, sk } = keys.mappingChange(refs[index]!, naturalSk(c));
      const key = `${pk}\u0000${sk}`;
      const ord = mappingOrd(c);
      const seen = earliest.get(key);
      // The later duplicates would only be refused: they are not new whatever happens to the earliest.
      if (!seen || compareUtf8(ord, seen.ord) < 0) earliest.set(key, { index, key, ord });
    });
    for (const { index, key, ord } of earliest.values()) writes.push({ index, binding: { key, ord } });
    const isNew = new Array<boolean>(changes.length).fill(false);
    await mapLimit(writes, this.table.concurrency, async ({ index, binding }) => {
      const change = changes[index]!;
      const ref = refs[index]!;
      isNew[index] = binding
        ? await this.putObservation(ref, change, binding.key, binding.ord)
        : await this.table.conditionalPut(this.item(ref, change), 'attribute_not_exists(pk)');
    });
    return changes.filter((_, i) => isNew[i]);
  }

  /** Earliest observation wins: create, else replace a later one; true only when this created the item. */
  private async putObservation(ref: ClusterRef, change: MappingChange, key: string, ord: string): Promise<boolean> {
    const known = this.storedObservations.get(key);
    if (known !== undefined && compareUtf8(known, ord) <= 0) {
      this.remember(key, known);
      return false;
    }
    const item = this.item(ref, change);
    if (await this.table.conditionalPut(item, 'attribute_not_exists(pk)')) {
      this.remember(key, ord);
      return true;
    }
    // Replaced: the item is now ours. Refused: the stored ord is already <= ours. Either way ours bounds it.
    await this.table.conditionalPut(item, '#o > :o', { '#o': 'ord' }, { ':o': item['ord'] });
    this.remember(key, ord);
    return false;
  }

  private remember(key: string, ord: string): void {
    if (this.cacheSize <= 0) return;
    const known = this.storedObservations.get(key);
    const bound = known !== undefined && compareUtf8(known, ord) < 0 ? known : ord;
    setMostRecent(this.storedObservations, key, bound, this.cacheSize);
  }

  /** The history items of a cluster: of each ref it is read as (ClusterRegistry.joined), in that order. */
  private async items(refs: readonly ClusterRef[]): Promise<Item[]> {
    const all = await Promise.all(
      refs.map((ref) =>
        this.table.queryAll(
          { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': keys.mappingChangesPk(ref) } },
          'Query(mapping changes)',
        ),
      ),
    );
    return all.flat();
  }

  /** Every change of a cluster, oldest first. */
  async changes(refs: readonly ClusterRef[]): Promise<MappingChange[]> {
    return sortChanges((await this.items(refs)).map((i) => this.read(i)));
  }

  /**
   * The history is read whole on every batch (late changes may land anywhere in it), but it rarely
   * differs from the last read: the timeline folded then is reused while the items are the same.
   * Mapping items never change in place except a principal-id observation moving to an earlier
   * `ord`, so (sk, ord) of every item identifies the history; same fingerprint, same fold.
   */
  async timeline(refs: readonly ClusterRef[]): Promise<MappingTimeline> {
    const ref = refs[0] as ClusterRef;
    const items = await this.items(refs);
    let fingerprint = `${items.length}`;
    for (const i of items) fingerprint += `\u0000${String(i['pk'])}\u0001${String(i['sk'])}\u0001${String(i['ord'])}`;
    const key = clusterRefKey(ref);
    const cached = this.timelines.get(key);
    if (cached && cached.fingerprint === fingerprint && cached.timeline.cluster === ref.cluster) return cached.timeline;
    const timeline = new MappingTimeline(ref.cluster, sortChanges(items.map((i) => this.read(i))));
    setMostRecent(this.timelines, key, { fingerprint, timeline }, MAX_CACHED_TIMELINES);
    return timeline;
  }
}
