import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { timelineEvidence } from '../chain/evidence.js';
import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../chain/types.js';
import { MappingTimeline } from '../identity/mapping-timeline.js';
import type { MappingActor, MappingChange } from '../identity/types.js';
import { setMostRecent } from '../memo.js';
import { type ChainRecord, fromRecord, joinChains, LINK_KEYS, type LinkKey, type MergedChain } from './chain-merge.js';
import { toTrailStoreError } from './errors.js';
import { type FanOutQuery, type Key, readFanOutPage, type StreamSpec } from './fan-out.js';
import { canonicalJson, contentHash, ITEM_BUDGET, itemSize, truncateUtf8 } from './item-codec.js';
import {
  bucketsBetween,
  type ClusterRef,
  clusterRefKey,
  dayBucket,
  epochMsOf,
  gsiPrefix,
  hourBucket,
  keys,
  objectSk,
  SHARDS,
  shardedPk,
  shardOf,
  sortableFromEpochMs,
  sortableTime,
  UNKNOWN_ACCOUNT,
} from './keys.js';
import { INDEX, type IndexName } from './table-schema.js';
import {
  type QuarantineRecord,
  type StoredAuditFacts,
  type StoredAuthenticatorRecord,
  type TrailStore,
  TrailStoreError,
} from './trail-store.js';

/** Item classes with their own retention (days; 0 or absent = kept until deleted). */
export interface RetentionDays {
  chain?: number;
  mappingChange?: number;
  credential?: number;
  authenticator?: number;
  quarantine?: number;
}

export const DEFAULT_RETENTION_DAYS: Required<RetentionDays> = {
  chain: 400,
  // Versioned mapping history is what "who could reach cluster X at time T" is answered from: keep it.
  mappingChange: 0,
  // Kept as long as the chains: the query layer re-derives the human link from it.
  credential: 400,
  authenticator: 90,
  quarantine: 30,
};

export interface RetryOptions {
  /** Attempts per batch (first try included) before TrailStoreError THROTTLED. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface DynamoDbTrailStoreOptions {
  tableName: string;
  retentionDays?: RetentionDays;
  /**
   * Wall clock, used only for default query ranges. TTLs are computed from the EVENT time so that a
   * redelivered record is written byte-identical whenever it arrives.
   */
  now?: () => number;
  retry?: RetryOptions;
  /** Parallel conditional writes per call. */
  concurrency?: number;
  /**
   * Principal-id bindings whose stored earliest observation this instance remembers, so a repeat
   * observation costs no write (default 50,000; 0 turns the cache off).
   */
  principalIdCacheSize?: number;
}

export interface TimeRange {
  /** ISO 8601, inclusive. */
  from?: string;
  /** ISO 8601, inclusive. */
  to?: string;
}

export interface PageRequest {
  /** Items per page (default 50, at most 1,000). */
  limit?: number;
  /** Opaque; from the previous page of the same query. */
  cursor?: string;
  /** Default newest first. */
  order?: 'newest-first' | 'oldest-first';
}

export interface Page<T> {
  items: T[];
  /** Absent on the last page. */
  cursor?: string;
}

export interface StoredChain {
  chain: DecisionChain;
  facts?: StoredAuditFacts;
  /** Audit stage rank of the facts (see chain-merge STAGE_RANK). */
  stageRank: number;
  /** What was dropped to fit the 400 KB item limit (`requestObject`, `responseObject`, `annotations`, …). */
  trimmed?: string[];
}

export interface ResourceQuery {
  /** objectRef.resource (e.g. `secrets`); required unless `namespace` alone is asked for. */
  resource?: string;
  namespace?: string;
  /** Needs `resource`; for cluster-scoped kinds leave `namespace` out. */
  name?: string;
}

export interface ClusterSummary extends ClusterRef {}

type Item = Record<string, unknown>;

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

/** Default look-back when a query gives no `from`: hourly listings fan out 16 ways per hour, so keep it short. */
const DEFAULT_WINDOW_MS = { hour: 24 * 3_600_000, day: 30 * 86_400_000 } as const;

/**
 * ~50,000 bindings cost a few tens of MB (key, ord, Map overhead): well inside a 512 MB container,
 * and more distinct (principal, principal id) pairs than a fleet normally shows in a container's life.
 */
const DEFAULT_PRINCIPAL_ID_CACHE_SIZE = 50_000;

/**
 * Fleet-wide listings (by principal, by human) narrowed to one cluster: the cluster is in the index
 * sort key, so the filter reads keys only.
 */
const inClusterKeys = (
  cluster: ClusterRef | undefined,
  sortKey: 'gsi2sk' | 'gsi3sk',
): ((item: Key) => boolean) | undefined => {
  if (!cluster) return undefined;
  const marker = `#CH#${cluster.accountId}#${cluster.cluster}#`;
  return (item) => String(item[sortKey]).includes(marker);
};

/** Clusters whose folded mapping timeline a store instance keeps (a container serves a few clusters). */
const MAX_CACHED_TIMELINES = 64;

/** DynamoDB orders strings by their UTF-8 bytes; JS `<` by UTF-16 units, which differs past the BMP. */
const compareUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

const isConditionFailure = (err: unknown) =>
  (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

/** Largest raw text kept on a quarantine item (the port's contract: truncated only above 350 KB). */
const QUARANTINE_RAW_MAX = 350 * 1024;

/** Strings longer than this are cut when nothing else brought a chain item under the limit. */
const LAST_RESORT_STRING_MAX = 8 * 1024;

/** Top-level undefined attributes (an absent TTL) are left out rather than relying on marshall options. */
const defined = (item: Item): Item => {
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) if (v !== undefined) out[k] = v;
  return out;
};

const mapLimit = async <T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
};

const actorKey = (actor: MappingActor): string | undefined => {
  const arn = actor.aws?.canonicalArn ?? actor.k8sCanonicalArn ?? actor.aws?.arn;
  if (arn) return arn.toLowerCase();
  if (actor.k8sUsername) return `k8s:${actor.k8sUsername}`;
  return undefined;
};

/** The target a mapping op is about, part of its natural key. */
const opTarget = (op: MappingChange['op']): string => {
  switch (op.kind) {
    case 'access-entry-put':
      return op.entry.matchKey;
    case 'access-entry-update':
    case 'access-entry-delete':
      return op.matchKey;
    case 'access-policy-associate':
      return `${op.matchKey}#${op.association.policyArn}`;
    case 'access-policy-disassociate':
      return `${op.matchKey}#${op.policyArn}`;
    case 'principal-id-observed':
      return `${op.matchKey}#${op.principalId}`;
    default:
      return '';
  }
};

/** matchKey a mapping op concerns, or undefined for cluster-wide ops. */
const opPrincipal = (op: MappingChange['op']): string | undefined => {
  switch (op.kind) {
    case 'access-entry-put':
      return op.entry.matchKey;
    case 'access-entry-update':
    case 'access-entry-delete':
    case 'access-policy-associate':
    case 'access-policy-disassociate':
    case 'principal-id-observed':
      return op.matchKey;
    default:
      return undefined;
  }
};

/** Does an aws-auth version (or cluster creation) name this principal? */
const mentions = (change: MappingChange, matchKey: string): boolean => {
  const op = change.op;
  if (op.kind === 'aws-auth-put') {
    return [...op.config.roles, ...op.config.users].some((r) => r.matchKey === matchKey);
  }
  if (op.kind === 'cluster-created') return op.creator.canonicalArn?.toLowerCase() === matchKey;
  return false;
};

/**
 * TrailStore over one DynamoDB table (docs/data-model.md). Writes are idempotent on natural keys and
 * deterministic (no wall-clock values, canonical JSON), so redelivering any batch leaves every item
 * byte-for-byte as it was. Every read is a Query, GetItem or BatchGetItem.
 */
export class DynamoDbTrailStore implements TrailStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly retention: Required<RetentionDays>;
  private readonly now: () => number;
  private readonly retry: Required<RetryOptions>;
  private readonly concurrency: number;
  /** Clusters whose registry item this instance already wrote (one write per cluster per container). */
  private readonly registered = new Set<string>();
  private readonly nameCache = new Map<string, ClusterRef[]>();
  /** Last mapping timeline folded per cluster, with the fingerprint of the items it came from. */
  private readonly timelines = new Map<string, { fingerprint: string; timeline: MappingTimeline }>();
  /**
   * `pk\0sk` of a principal-id-observed item -> an ord the stored item is known to be at or below.
   * Safe because such an item only ever moves to a smaller ord (the `#o > :o` replace), nothing
   * deletes mapping items, and they carry no TTL (mapping history is kept: retention 0 by default, and
   * deployments cannot set it); so a change whose ord is >= the cached one is a write DynamoDB would
   * refuse, and skipping it changes neither the table nor what counts as new. With a mapping retention
   * configured the cache stays off: the earliest observation may expire while this container lives,
   * and the later observation must then recreate it. Bounded for container memory; a Map keeps
   * insertion order, so re-inserting on a hit makes eviction least-recently-used.
   */
  private readonly storedObservations = new Map<string, string>();
  private readonly observationCacheSize: number;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: DynamoDbTrailStoreOptions) {
    this.doc =
      client instanceof DynamoDBDocumentClient
        ? client
        : DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
    this.retention = { ...DEFAULT_RETENTION_DAYS, ...options.retentionDays };
    this.now = options.now ?? Date.now;
    this.retry = {
      maxAttempts: options.retry?.maxAttempts ?? 8,
      baseDelayMs: options.retry?.baseDelayMs ?? 25,
      maxDelayMs: options.retry?.maxDelayMs ?? 2_000,
      sleep: options.retry?.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    };
    this.concurrency = options.concurrency ?? 8;
    this.observationCacheSize =
      this.retention.mappingChange > 0
        ? 0
        : Math.max(0, options.principalIdCacheSize ?? DEFAULT_PRINCIPAL_ID_CACHE_SIZE);
  }

  // -------------------------------------------------------------------------------------------
  // Low-level access
  // -------------------------------------------------------------------------------------------

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTrailStoreError(err, operation);
    }
  }

  /** Full-jitter exponential backoff (AWS architecture blog "Exponential Backoff And Jitter"). */
  private backoff(attempt: number): Promise<void> {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
    return this.retry.sleep(Math.floor(Math.random() * cap));
  }

  /** BatchWriteItem in chunks of 25; UnprocessedItems and throttling retried with backoff, bounded. */
  private async batchPut(items: Item[]): Promise<void> {
    const unique = new Map<string, Item>();
    for (const item of items) unique.set(`${item['pk']}\u0000${item['sk']}`, defined(item));
    const all = [...unique.values()];
    const chunks: Item[][] = [];
    for (let i = 0; i < all.length; i += 25) chunks.push(all.slice(i, i + 25));
    await mapLimit(chunks, Math.max(1, Math.ceil(this.concurrency / 2)), async (chunk) => {
      await this.retryUnprocessed(
        'BatchWriteItem',
        'items',
        chunk.map((Item) => ({ PutRequest: { Item } })),
        async (pending) => {
          const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
          return (res.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        },
      );
    });
  }

  /**
   * Sends a batch request and re-sends what DynamoDB hands back unprocessed, with backoff, until
   * nothing is left. Throttling and unavailability retry within the same bound; after it the fault
   * surfaces as retryable THROTTLED so the caller fails the batch item and Lambda redelivers it.
   */
  private async retryUnprocessed<T>(
    operation: string,
    noun: string,
    initial: T[],
    send: (pending: T[]) => Promise<T[]>,
  ): Promise<void> {
    let pending = initial;
    for (let attempt = 0; ; attempt++) {
      let unprocessed: T[];
      try {
        unprocessed = await send(pending);
      } catch (err) {
        const mapped = toTrailStoreError(err, operation);
        if (mapped.code !== 'THROTTLED' && mapped.code !== 'UNAVAILABLE') throw mapped;
        if (attempt + 1 >= this.retry.maxAttempts) throw mapped;
        await this.backoff(attempt);
        continue;
      }
      if (unprocessed.length === 0) return;
      if (attempt + 1 >= this.retry.maxAttempts) {
        throw new TrailStoreError(
          `${operation}: ${unprocessed.length} ${noun} still unprocessed after ${attempt + 1} attempts`,
          'THROTTLED',
          true,
        );
      }
      pending = unprocessed;
      await this.backoff(attempt);
    }
  }

  /** BatchGetItem in chunks of 100, UnprocessedKeys retried; result keyed by `pk\0sk`. */
  private async batchGet(keyList: { pk: string; sk: string }[], consistent = false): Promise<Map<string, Item>> {
    const out = new Map<string, Item>();
    const unique = new Map<string, { pk: string; sk: string }>();
    for (const k of keyList) unique.set(`${k.pk}\u0000${k.sk}`, { pk: k.pk, sk: k.sk });
    const all = [...unique.values()];
    const chunks: { pk: string; sk: string }[][] = [];
    for (let i = 0; i < all.length; i += 100) chunks.push(all.slice(i, i + 100));
    await mapLimit(chunks, Math.max(1, Math.ceil(this.concurrency / 2)), async (chunk) => {
      await this.retryUnprocessed('BatchGetItem', 'keys', chunk as Record<string, unknown>[], async (pending) => {
        const res = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: consistent } } }),
        );
        for (const item of res.Responses?.[this.table] ?? []) out.set(`${item['pk']}\u0000${item['sk']}`, item);
        return res.UnprocessedKeys?.[this.table]?.Keys ?? [];
      });
    });
    return out;
  }

  /** PutItem under a condition; false when the condition failed (the natural key was already there). */
  private async conditionalPut(
    item: Item,
    condition: string,
    names?: Record<string, string>,
    values?: Record<string, unknown>,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: defined(item),
            ConditionExpression: condition,
            ...(names ? { ExpressionAttributeNames: names } : {}),
            ...(values ? { ExpressionAttributeValues: values } : {}),
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        const mapped = toTrailStoreError(err, 'PutItem');
        if (!mapped.retryable || attempt + 1 >= this.retry.maxAttempts) throw mapped;
        await this.backoff(attempt);
      }
    }
  }

  private async queryAll(input: Omit<QueryCommandInput, 'TableName'>, operation: string): Promise<Item[]> {
    const out: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.call(operation, () =>
        this.doc.send(
          new QueryCommand({ TableName: this.table, ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
        ),
      );
      out.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  private ttl(kind: keyof RetentionDays, eventMs: number): number | undefined {
    const days = this.retention[kind];
    if (!days || days <= 0 || !Number.isFinite(eventMs)) return undefined;
    return Math.floor(eventMs / 1000) + days * 86_400;
  }

  // -------------------------------------------------------------------------------------------
  // Cluster registry
  // -------------------------------------------------------------------------------------------

  private registryItem(ref: ClusterRef): Item {
    return {
      ...keys.cluster(ref),
      t: 'cluster',
      accountId: ref.accountId,
      cluster: ref.cluster,
      gsi1pk: gsiPrefix.registry,
      gsi1sk: `${ref.cluster}#${ref.accountId}`,
    };
  }

  /** Registry items for clusters not yet written by this instance (identical bytes every time). */
  private newRegistryItems(refs: ClusterRef[]): Item[] {
    const out: Item[] = [];
    for (const ref of refs) {
      if (ref.accountId === UNKNOWN_ACCOUNT) continue;
      const k = clusterRefKey(ref);
      if (this.registered.has(k)) continue;
      this.registered.add(k);
      out.push(this.registryItem(ref));
      const known = this.nameCache.get(ref.cluster);
      if (known && !known.some((r) => r.accountId === ref.accountId)) this.nameCache.delete(ref.cluster);
    }
    return out;
  }

  /** Every account that has a cluster of this name (registry, gsi1 REG partition). */
  async clustersNamed(name: string): Promise<ClusterRef[]> {
    const items = await this.queryAll(
      {
        IndexName: INDEX.time,
        KeyConditionExpression: 'gsi1pk = :p AND begins_with(gsi1sk, :n)',
        ExpressionAttributeValues: { ':p': gsiPrefix.registry, ':n': `${name}#` },
      },
      'Query(registry)',
    );
    return items.map((i) => ({ cluster: name, accountId: String(i['gsi1sk']).slice(name.length + 1) }));
  }

  /** All registered clusters, by name then account. */
  async clusters(): Promise<ClusterSummary[]> {
    const items = await this.queryAll(
      {
        IndexName: INDEX.time,
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
  async resolveCluster(nameOrAccountSlashName: string): Promise<ClusterRef | undefined> {
    const slash = nameOrAccountSlashName.indexOf('/');
    if (slash > 0) {
      const ref = {
        accountId: nameOrAccountSlashName.slice(0, slash),
        cluster: nameOrAccountSlashName.slice(slash + 1),
      };
      const found = await this.clustersNamed(ref.cluster);
      return found.find((r) => r.accountId === ref.accountId);
    }
    const found = await this.clustersNamed(nameOrAccountSlashName);
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
  private async refFor(cluster: string, accountId?: string): Promise<ClusterRef> {
    if (accountId) return { cluster, accountId };
    let found = this.nameCache.get(cluster);
    if (!found) {
      found = await this.clustersNamed(cluster);
      this.nameCache.set(cluster, found);
    }
    return found.length === 1 ? found[0]! : { cluster, accountId: UNKNOWN_ACCOUNT };
  }

  // -------------------------------------------------------------------------------------------
  // Chains
  // -------------------------------------------------------------------------------------------

  private chainSortable(r: ChainRecord): string {
    return (
      sortableTime(r.chain.at) ??
      (r.facts?.origin?.timestamp !== undefined ? sortableFromEpochMs(r.facts.origin.timestamp) : undefined) ??
      sortableFromEpochMs(0)
    );
  }

  /** The chain item: content (canonical JSON), merge state, TTL and the index entries it belongs to. */
  chainItem(accountId: string, merged: MergedChain): Item {
    const { chain } = merged;
    const ref: ClusterRef = { accountId, cluster: chain.cluster };
    const key = keys.chain(accountId, chain.chainId);
    const at = this.chainSortable(merged);
    const hour = hourBucket(at);
    const day = dayBucket(at);
    const entityShard = shardOf(key.pk, SHARDS.entity);
    const timeSk = `${at}#${key.pk}`;
    const crossSk = `${at}#${key.pk}`;
    const item: Item = {
      ...key,
      t: 'chain',
      at,
      rank: merged.rank,
      expiresAt: this.ttl('chain', epochMsOf(at)),
      gsi1pk: shardedPk(gsiPrefix.clusterTime(ref), hour, shardOf(key.pk, SHARDS.clusterTime)),
      gsi1sk: timeSk,
    };
    const canonical = chain.principal?.value?.canonicalArn;
    if (canonical) {
      item['gsi2pk'] = shardedPk(gsiPrefix.principal(canonical), day, entityShard);
      item['gsi2sk'] = crossSk;
    }
    const human = chain.human?.status !== 'unknown' ? chain.human?.value?.identity : undefined;
    if (human) {
      item['gsi3pk'] = shardedPk(gsiPrefix.human(human), day, entityShard);
      item['gsi3sk'] = crossSk;
    }
    const username = chain.k8sIdentity?.value?.username;
    if (username) {
      item['gsi4pk'] = shardedPk(gsiPrefix.k8sUser(ref, username), day, entityShard);
      item['gsi4sk'] = timeSk;
    }
    const req = chain.request?.value;
    if (req?.namespace) {
      item['gsi5pk'] = shardedPk(gsiPrefix.namespace(ref, req.namespace), day, entityShard);
      item['gsi5sk'] = timeSk;
    }
    if (req?.resource) {
      item['gsi6pk'] = shardedPk(gsiPrefix.object(ref, req.resource), day, entityShard);
      item['gsi6sk'] = objectSk(req.namespace, req.name, at, key.pk);
    }
    const outcome = chain.decision?.value?.outcome;
    if (chain.kind === 'authn-failure' || outcome === 'forbid' || outcome === 'authn-failed') {
      item['gsi7pk'] = shardedPk(gsiPrefix.denials(ref), day, shardOf(key.pk, SHARDS.denials));
      item['gsi7sk'] = timeSk;
    }
    const accessKey = chain.principal?.value?.accessKeyId;
    if (accessKey && (chain.pendingEnrichment || chain.human?.status === 'unknown')) {
      // Sparse: only chains still waiting for their AssumeRole* event are listed; re-enrichment removes them.
      item['gsi8pk'] = gsiPrefix.pending(accessKey);
      item['gsi8sk'] = `${at}#${key.pk}`;
    }
    return this.withChainContent(item, merged);
  }

  /** Adds data/facts and trims to the item limit: bodies first, then annotations, then facts, then long strings. */
  private withChainContent(base: Item, merged: MergedChain): Item {
    const lr = canonicalJson(merged.linkRanks);
    const build = (chain: DecisionChain, facts: unknown, trimmed: string[]): Item => {
      const data = canonicalJson(chain);
      const f = canonicalJson(facts);
      const item: Item = { ...base, data, facts: f, lr, v: contentHash(data, f, lr, String(merged.rank)) };
      if (trimmed.length > 0) item['trimmed'] = trimmed.join(',');
      return item;
    };
    let item = build(merged.chain, merged.facts, []);
    if (itemSize(item) <= ITEM_BUDGET) return item;
    const event = merged.facts?.event ?? ({} as StoredAuditFacts['event']);
    const trimmed: string[] = [];
    const { requestObject, responseObject, ...withoutBodies } = event;
    if (requestObject !== undefined) trimmed.push('requestObject');
    if (responseObject !== undefined) trimmed.push('responseObject');
    let facts: unknown = { ...merged.facts, event: withoutBodies };
    item = build(merged.chain, facts, trimmed);
    if (itemSize(item) <= ITEM_BUDGET) return item;
    trimmed.push('annotations');
    facts = { ...merged.facts, event: { ...withoutBodies, annotations: {} } };
    item = build(merged.chain, facts, trimmed);
    if (itemSize(item) <= ITEM_BUDGET) return item;
    trimmed.push('facts');
    facts = {
      origin: merged.facts?.origin,
      event: {
        auditID: event.auditID,
        stage: event.stage,
        verb: event.verb,
        user: { groups: [], extra: {} },
        sourceIPs: [],
        annotations: {},
        truncated: true,
      },
    };
    item = build(merged.chain, facts, trimmed);
    if (itemSize(item) <= ITEM_BUDGET) return item;
    trimmed.push('strings');
    return build(cutStrings(merged.chain) as DecisionChain, facts, trimmed);
  }

  private readChainItem(item: Item): StoredChain & { merged: MergedChain } {
    const chain = JSON.parse(String(item['data'])) as DecisionChain;
    const facts = item['facts'] !== undefined ? (JSON.parse(String(item['facts'])) as StoredAuditFacts) : undefined;
    const rank = Number(item['rank'] ?? 0);
    const parsedRanks =
      item['lr'] !== undefined ? (JSON.parse(String(item['lr'])) as Record<LinkKey, number>) : undefined;
    const linkRanks = parsedRanks ?? (Object.fromEntries(LINK_KEYS.map((k) => [k, rank])) as Record<LinkKey, number>);
    const trimmed = item['trimmed'] ? String(item['trimmed']).split(',') : undefined;
    const out: StoredChain & { merged: MergedChain } = {
      chain,
      stageRank: rank,
      merged: { chain, facts: facts as StoredAuditFacts, rank, linkRanks },
    };
    if (facts) out.facts = facts;
    if (trimmed) out.trimmed = trimmed;
    return out;
  }

  private toStoredChain(item: Item): StoredChain {
    const { merged: _merged, ...rest } = this.readChainItem(item);
    return rest;
  }

  /**
   * Write protocol per chain: read the stored item (strongly consistent), join the new stage into it
   * (chain-merge.ts), and write only if the result differs. A first write of a final stage goes in a
   * BatchWriteItem (the bulk path); every other write is a PutItem conditioned on the version read,
   * retried on conflict, so a concurrent writer of another stage can never be overwritten by a poorer one.
   */
  async putChains(items: { chain: DecisionChain; facts: StoredAuditFacts }[]): Promise<void> {
    if (items.length === 0) return;
    const byKey = new Map<string, { accountId: string; merged: MergedChain }>();
    const refs: ClusterRef[] = [];
    for (const it of items) {
      const ref = await this.refFor(it.chain.cluster, it.chain.accountId ?? it.facts?.origin?.accountId);
      refs.push(ref);
      const k = keys.chain(ref.accountId, it.chain.chainId).pk;
      const rec = fromRecord(it);
      const prev = byKey.get(k);
      byKey.set(k, { accountId: ref.accountId, merged: prev ? joinChains(prev.merged, rec) : rec });
    }
    const pending = [...byKey.entries()].map(([pk, v]) => ({ pk, ...v }));
    const bulk: Item[] = [...this.newRegistryItems(refs)];
    const conditional: { pk: string; accountId: string; merged: MergedChain; existing?: Item }[] = [];
    const existing = await this.batchGet(
      pending.map((p) => ({ pk: p.pk, sk: 'CHAIN' })),
      true,
    );
    for (const p of pending) {
      const found = existing.get(`${p.pk}\u0000CHAIN`);
      if (!found && p.merged.rank >= 4) bulk.push(this.chainItem(p.accountId, p.merged));
      else conditional.push(found ? { ...p, existing: found } : p);
    }
    await this.batchPut(bulk);
    await mapLimit(conditional, this.concurrency, (c) => this.mergeAndPut(c.accountId, c.merged, c.existing));
  }

  private async mergeAndPut(accountId: string, incoming: MergedChain, existing: Item | undefined): Promise<void> {
    let current = existing;
    for (let attempt = 0; attempt < this.retry.maxAttempts; attempt++) {
      const merged = current ? joinChains(this.readChainItem(current).merged, incoming) : incoming;
      const item = this.chainItem(accountId, merged);
      if (current && current['v'] === item['v']) return; // nothing new: leave the stored bytes alone
      const written = current
        ? await this.conditionalPut(item, '#v = :v', { '#v': 'v' }, { ':v': current['v'] })
        : await this.conditionalPut(item, 'attribute_not_exists(pk)');
      if (written) return;
      const key = { pk: String(item['pk']), sk: String(item['sk']) };
      current = (await this.batchGet([key], true)).get(`${key.pk}\u0000${key.sk}`);
      await this.backoff(attempt);
    }
    throw new TrailStoreError(
      `chain ${incoming.chain.chainId}: concurrent writers kept changing the item`,
      'CONDITION',
      true,
    );
  }

  async chainByAuditId(ref: ClusterRef, auditID: string): Promise<StoredChain | undefined> {
    return this.chainById(`${ref.cluster}#${auditID}`, ref.accountId);
  }

  /** One chain by chainId (`<cluster>#<auditID>` or `<cluster>#authn#<event id>`); account resolved via the registry when absent. */
  async chainById(chainId: string, accountId?: string): Promise<StoredChain | undefined> {
    const cluster = chainId.slice(0, Math.max(0, chainId.indexOf('#')));
    const ref = await this.refFor(cluster, accountId);
    const res = await this.call('GetItem(chain)', () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: keys.chain(ref.accountId, chainId) })),
    );
    return res.Item ? this.toStoredChain(res.Item) : undefined;
  }

  async chainsUsingAccessKey(accessKeyId: string): Promise<StoredAuditFacts[]> {
    return (await this.pendingChainsForAccessKey(accessKeyId)).flatMap((c) => (c.facts ? [c.facts] : []));
  }

  /** Chains whose human link still waits for this access key's AssumeRole* event (sparse gsi8). */
  async pendingChainsForAccessKey(accessKeyId: string): Promise<StoredChain[]> {
    const entries = await this.queryAll(
      {
        IndexName: INDEX.pending,
        KeyConditionExpression: 'gsi8pk = :p',
        ExpressionAttributeValues: { ':p': gsiPrefix.pending(accessKeyId) },
      },
      'Query(pending)',
    );
    return this.resolveChains(entries);
  }

  private async resolveChains(entries: Key[]): Promise<StoredChain[]> {
    const got = await this.batchGet(entries.map((e) => ({ pk: String(e['pk']), sk: String(e['sk']) })));
    const out: StoredChain[] = [];
    for (const e of entries) {
      const item = got.get(`${e['pk']}\u0000${e['sk']}`);
      if (item) out.push(this.toStoredChain(item));
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Chain listings (fan-out over sharded, bucketed index partitions)
  // -------------------------------------------------------------------------------------------

  private window(range: TimeRange, granularity: 'hour' | 'day'): { from: string; to: string } {
    const to =
      (range.to !== undefined ? sortableTime(range.to, 'end') : undefined) ?? sortableFromEpochMs(this.now() + 60_000);
    const from =
      (range.from !== undefined ? sortableTime(range.from) : undefined) ??
      sortableFromEpochMs(epochMsOf(to) - DEFAULT_WINDOW_MS[granularity]);
    if (
      (range.from !== undefined && !sortableTime(range.from)) ||
      (range.to !== undefined && !sortableTime(range.to))
    ) {
      throw new TrailStoreError(`time range ${JSON.stringify(range)} is not ISO 8601`, 'VALIDATION', false);
    }
    return { from, to };
  }

  private async listChains(
    index: IndexName,
    granularity: 'hour' | 'day',
    prefix: string,
    shards: number,
    range: TimeRange,
    page: PageRequest,
    sk: (w: { from: string; to: string }) => Pick<StreamSpec, 'between' | 'beginsWith'>,
    keep?: (item: Key, w: { from: string; to: string }) => boolean,
  ): Promise<Page<StoredChain>> {
    const w = this.window(range, granularity);
    const forward = page.order === 'oldest-first';
    const limit = Math.min(Math.max(1, page.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
    const buckets = bucketsBetween(w.from, w.to, granularity);
    if (!forward) buckets.reverse();
    const n = index.replace('gsi', '');
    const q: FanOutQuery = {
      index,
      pkAttr: `gsi${n}pk`,
      skAttr: `gsi${n}sk`,
      buckets,
      forward,
      streams: (bucket) => Array.from({ length: shards }, (_, s) => ({ pk: shardedPk(prefix, bucket, s), ...sk(w) })),
      ...(keep ? { keep: (item: Key) => keep(item, w) } : {}),
    };
    const res = await readFanOutPage(
      q,
      (input) => this.call('Query', () => this.doc.send(new QueryCommand({ TableName: this.table, ...input }))),
      limit,
      page.cursor,
    );
    const items = await this.resolveChains(res.items);
    return res.cursor ? { items, cursor: res.cursor } : { items };
  }

  private static timeBetween = (w: { from: string; to: string }) => ({
    between: [w.from, `${w.to}~`] as [string, string],
  });

  /** Chains of one cluster in a time range (gsi1 `T#<cluster>#<hour>#<shard>`; default last 24 h). */
  chainsByCluster(ref: ClusterRef, range: TimeRange = {}, page: PageRequest = {}): Promise<Page<StoredChain>> {
    return this.listChains(
      INDEX.time,
      'hour',
      gsiPrefix.clusterTime(ref),
      SHARDS.clusterTime,
      range,
      page,
      DynamoDbTrailStore.timeBetween,
    );
  }

  /**
   * Chains of one IAM principal across the fleet (gsi2 `P#<matchKey>#<day>#<shard>`), optionally
   * narrowed to one cluster (the cluster is in the index sort key, so this filters keys only).
   */
  chainsByPrincipal(
    canonicalArnOrMatchKey: string,
    range: TimeRange = {},
    page: PageRequest = {},
    cluster?: ClusterRef,
  ): Promise<Page<StoredChain>> {
    return this.listChains(
      INDEX.principal,
      'day',
      gsiPrefix.principal(canonicalArnOrMatchKey),
      SHARDS.entity,
      range,
      page,
      DynamoDbTrailStore.timeBetween,
      inClusterKeys(cluster, 'gsi2sk'),
    );
  }

  /** Chains of one human (SSO user, IAM user, assume-role caller…) across the fleet (gsi3 `H#<identity>`). */
  chainsByHuman(
    identity: string,
    range: TimeRange = {},
    page: PageRequest = {},
    cluster?: ClusterRef,
  ): Promise<Page<StoredChain>> {
    return this.listChains(
      INDEX.human,
      'day',
      gsiPrefix.human(identity),
      SHARDS.entity,
      range,
      page,
      DynamoDbTrailStore.timeBetween,
      inClusterKeys(cluster, 'gsi3sk'),
    );
  }

  /** Chains of one Kubernetes username on one cluster (gsi4; the authenticated user, not an impersonated one). */
  chainsByK8sUser(
    ref: ClusterRef,
    username: string,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<Page<StoredChain>> {
    return this.listChains(
      INDEX.k8sUser,
      'day',
      gsiPrefix.k8sUser(ref, username),
      SHARDS.entity,
      range,
      page,
      DynamoDbTrailStore.timeBetween,
    );
  }

  /**
   * Chains touching a resource on one cluster:
   *  - namespace only: gsi5 `N#<cluster>#<ns>`, time-ordered;
   *  - resource (kind) [+ namespace [+ name]]: gsi6 `O#<cluster>#<resource>` with sort key
   *    `<ns>#<name>#<time>`: one object's history is a time range; a kind or a kind within a namespace
   *    comes back per day in (namespace, name, time) order.
   */
  chainsByResource(
    ref: ClusterRef,
    query: ResourceQuery,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<Page<StoredChain>> {
    if (!query.resource) {
      if (!query.namespace) {
        return Promise.reject(
          new TrailStoreError('chainsByResource needs a resource or a namespace', 'VALIDATION', false),
        );
      }
      return this.listChains(
        INDEX.namespace,
        'day',
        gsiPrefix.namespace(ref, query.namespace),
        SHARDS.entity,
        range,
        page,
        DynamoDbTrailStore.timeBetween,
      );
    }
    const ns = query.namespace || '-';
    const inRange = (item: Key, w: { from: string; to: string }) => {
      const at = String(item['gsi6sk']).split('#')[2] ?? '';
      return at >= w.from && at <= `${w.to}~`;
    };
    if (query.name) {
      const prefix = `${ns}#${query.name}#`;
      return this.listChains(
        INDEX.object,
        'day',
        gsiPrefix.object(ref, query.resource),
        SHARDS.entity,
        range,
        page,
        (w) => ({ between: [`${prefix}${w.from}`, `${prefix}${w.to}~`] }),
      );
    }
    return this.listChains(
      INDEX.object,
      'day',
      gsiPrefix.object(ref, query.resource),
      SHARDS.entity,
      range,
      page,
      () => (query.namespace ? { beginsWith: `${ns}#` } : {}),
      inRange,
    );
  }

  /** Denied requests (403) and failed authentications of one cluster (sparse gsi7 `D#<cluster>#<day>`). */
  denials(ref: ClusterRef, range: TimeRange = {}, page: PageRequest = {}): Promise<Page<StoredChain>> {
    return this.listChains(
      INDEX.denials,
      'day',
      gsiPrefix.denials(ref),
      SHARDS.denials,
      range,
      page,
      DynamoDbTrailStore.timeBetween,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Mapping changes
  // -------------------------------------------------------------------------------------------

  private static mappingAt(change: MappingChange): string {
    return sortableTime(change.at) ?? sortableFromEpochMs(0);
  }

  /** Orders observations of one binding: the smallest is the earliest, the one the table keeps. */
  private static mappingOrd(change: MappingChange): string {
    return `${DynamoDbTrailStore.mappingAt(change)}#${change.sourceEventId}`;
  }

  private static mappingNaturalSk(change: MappingChange): string {
    return change.op.kind === 'principal-id-observed'
      ? `${change.op.kind}#${opTarget(change.op)}`
      : `${change.op.kind}#${change.sourceEventId}#${opTarget(change.op)}`;
  }

  private mappingItem(ref: ClusterRef, change: MappingChange): Item {
    const at = DynamoDbTrailStore.mappingAt(change);
    const naturalSk = DynamoDbTrailStore.mappingNaturalSk(change);
    const key = keys.mappingChange(ref, naturalSk);
    const principal = opPrincipal(change.op);
    const actor = actorKey(change.actor);
    const stored: MappingChange = { ...change, cluster: ref.cluster };
    if (ref.accountId !== UNKNOWN_ACCOUNT) stored.accountId = ref.accountId;
    const item: Item = {
      ...key,
      t: 'mapping',
      at,
      ord: DynamoDbTrailStore.mappingOrd(change),
      expiresAt: this.ttl('mappingChange', epochMsOf(at)),
      gsi1pk: gsiPrefix.mappingTime(ref),
      gsi1sk: `${at}#${naturalSk}`,
      gsi2pk: principal ? gsiPrefix.mappingPrincipal(ref, principal) : gsiPrefix.mappingClusterWide(ref),
      gsi2sk: `${at}#${naturalSk}`,
    };
    if (actor) {
      item['gsi3pk'] = gsiPrefix.mappingActor(actor);
      item['gsi3sk'] = `${at}#${clusterRefKey(ref)}#${naturalSk}`;
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

  private readMappingItem(item: Item): MappingChange {
    if (item['dz'] !== undefined) {
      return JSON.parse(gunzipSync(item['dz'] as Uint8Array).toString('utf8')) as MappingChange;
    }
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
  async putMappingChanges(changes: MappingChange[]): Promise<MappingChange[]> {
    const refs = await Promise.all(changes.map((c) => this.refFor(c.cluster, c.accountId)));
    await this.batchPut(this.newRegistryItems(refs));
    const writes: { index: number; binding?: { key: string; ord: string } }[] = [];
    const earliest = new Map<string, { index: number; key: string; ord: string }>();
    changes.forEach((c, index) => {
      if (c.op.kind !== 'principal-id-observed') {
        writes.push({ index });
        return;
      }
      const { pk, sk } = keys.mappingChange(refs[index]!, DynamoDbTrailStore.mappingNaturalSk(c));
      const key = `${pk}\u0000${sk}`;
      const ord = DynamoDbTrailStore.mappingOrd(c);
      const seen = earliest.get(key);
      // The later duplicates would only be refused: they are not new whatever happens to the earliest.
      if (!seen || compareUtf8(ord, seen.ord) < 0) earliest.set(key, { index, key, ord });
    });
    for (const { index, key, ord } of earliest.values()) writes.push({ index, binding: { key, ord } });
    const isNew = new Array<boolean>(changes.length).fill(false);
    await mapLimit(writes, this.concurrency, async ({ index, binding }) => {
      const change = changes[index]!;
      const ref = refs[index]!;
      isNew[index] = binding
        ? await this.putObservation(ref, change, binding.key, binding.ord)
        : await this.conditionalPut(this.mappingItem(ref, change), 'attribute_not_exists(pk)');
    });
    return changes.filter((_, i) => isNew[i]);
  }

  /** Earliest observation wins: create, else replace a later one; true only when this created the item. */
  private async putObservation(ref: ClusterRef, change: MappingChange, key: string, ord: string): Promise<boolean> {
    const known = this.storedObservations.get(key);
    if (known !== undefined && compareUtf8(known, ord) <= 0) {
      this.rememberObservation(key, known);
      return false;
    }
    const item = this.mappingItem(ref, change);
    if (await this.conditionalPut(item, 'attribute_not_exists(pk)')) {
      this.rememberObservation(key, ord);
      return true;
    }
    // Replaced: the item is now ours. Refused: the stored ord is already <= ours. Either way ours bounds it.
    await this.conditionalPut(item, '#o > :o', { '#o': 'ord' }, { ':o': item['ord'] });
    this.rememberObservation(key, ord);
    return false;
  }

  private rememberObservation(key: string, ord: string): void {
    if (this.observationCacheSize <= 0) return;
    const known = this.storedObservations.get(key);
    const bound = known !== undefined && compareUtf8(known, ord) < 0 ? known : ord;
    setMostRecent(this.storedObservations, key, bound, this.observationCacheSize);
  }

  private async mappingHistoryItems(ref: ClusterRef): Promise<Item[]> {
    return this.queryAll(
      { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': keys.mappingChangesPk(ref) } },
      'Query(mapping changes)',
    );
  }

  async mappingChanges(cluster: string, accountId?: string): Promise<MappingChange[]> {
    const ref = await this.refFor(cluster, accountId);
    return this.sortedMappingChanges(await this.mappingHistoryItems(ref));
  }

  private sortedMappingChanges(items: readonly Item[]): MappingChange[] {
    const out = items.map((i) => this.readMappingItem(i));
    return out.sort((a, b) => {
      const x = `${sortableTime(a.at) ?? ''}#${a.sourceEventId}`;
      const y = `${sortableTime(b.at) ?? ''}#${b.sourceEventId}`;
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }

  private async mappingIndexRange(
    index: IndexName,
    pk: string,
    range: TimeRange,
    operation: string,
    ignoreFrom = false,
  ): Promise<MappingChange[]> {
    const from = range.from !== undefined && !ignoreFrom ? sortableTime(range.from) : undefined;
    const to = range.to !== undefined ? sortableTime(range.to, 'end') : undefined;
    const n = index.replace('gsi', '');
    const entries = await this.queryAll(
      {
        IndexName: index,
        KeyConditionExpression: `#pk = :p AND #sk BETWEEN :a AND :b`,
        ExpressionAttributeNames: { '#pk': `gsi${n}pk`, '#sk': `gsi${n}sk` },
        ExpressionAttributeValues: { ':p': pk, ':a': from ?? '0', ':b': `${to ?? '9'}~` },
      },
      operation,
    );
    const got = await this.batchGet(entries.map((e) => ({ pk: String(e['pk']), sk: String(e['sk']) })));
    return entries.flatMap((e) => {
      const item = got.get(`${e['pk']}\u0000${e['sk']}`);
      return item ? [this.readMappingItem(item)] : [];
    });
  }

  /** Mapping versions of one cluster in a time range, oldest first (gsi1 `MT#<cluster>`). */
  mappingChangesByCluster(ref: ClusterRef, range: TimeRange = {}): Promise<MappingChange[]> {
    return this.mappingIndexRange(INDEX.time, gsiPrefix.mappingTime(ref), range, 'Query(mapping by cluster)');
  }

  /**
   * Mapping changes that concern one principal on one cluster, oldest first: its access entry and
   * policy ops (gsi2 `MP#<cluster>#<matchKey>`), plus the cluster-wide versions that name it or that
   * stopped naming it (aws-auth rows, cluster creator) and auth-mode switches (gsi2 `MP#<cluster>#@cluster`).
   */
  async mappingChangesByPrincipal(ref: ClusterRef, matchKey: string, range: TimeRange = {}): Promise<MappingChange[]> {
    const key = matchKey.toLowerCase();
    const [own, wide] = await Promise.all([
      this.mappingIndexRange(
        INDEX.principal,
        gsiPrefix.mappingPrincipal(ref, key),
        range,
        'Query(mapping by principal)',
      ),
      // from is ignored here: whether a version "stopped naming" the principal depends on the one before it
      this.mappingIndexRange(
        INDEX.principal,
        gsiPrefix.mappingClusterWide(ref),
        range,
        'Query(mapping cluster-wide)',
        true,
      ),
    ]);
    const from = range.from !== undefined ? sortableTime(range.from) : undefined;
    const relevant: MappingChange[] = [];
    let previousNamed = false;
    for (const c of wide) {
      const kind = c.op.kind;
      const named = mentions(c, key);
      const awsAuth = kind === 'aws-auth-put' || kind === 'aws-auth-delete';
      const keep = named || (awsAuth && previousNamed) || kind === 'auth-mode-set' || kind === 'cluster-deleted';
      if (awsAuth) previousNamed = named;
      if (keep && (from === undefined || (sortableTime(c.at) ?? '') >= from)) relevant.push(c);
    }
    return [...own, ...relevant].sort((a, b) => {
      const x = `${sortableTime(a.at) ?? ''}#${a.sourceEventId}`;
      const y = `${sortableTime(b.at) ?? ''}#${b.sourceEventId}`;
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }

  /**
   * Mapping changes made by one actor across the fleet, oldest first (gsi3 `MA#<actor>`). The actor is
   * the canonical ARN of the IAM caller (also for aws-auth edits, via the k8s user's extra.canonicalArn),
   * or `k8s:<username>` when no IAM principal is known.
   */
  mappingChangesByActor(actor: string, range: TimeRange = {}): Promise<MappingChange[]> {
    return this.mappingIndexRange(INDEX.human, gsiPrefix.mappingActor(actor), range, 'Query(mapping by actor)');
  }

  // -------------------------------------------------------------------------------------------
  // Credentials, evidence
  // -------------------------------------------------------------------------------------------

  async putCredentials(items: CredentialIssuance[]): Promise<CredentialIssuance[]> {
    const isNew = await mapLimit(items, this.concurrency, (c) => {
      const at = sortableTime(c.issuedAt) ?? sortableFromEpochMs(0);
      const item: Item = {
        ...keys.credential(c.accessKeyId),
        t: 'credential',
        at,
        eventId: c.sourceEventId,
        data: canonicalJson(c),
        expiresAt: this.ttl('credential', epochMsOf(at)),
      };
      return this.conditionalPut(item, 'attribute_not_exists(pk)');
    });
    return items.filter((_, i) => isNew[i]);
  }

  async credential(accessKeyId: string): Promise<CredentialIssuance | undefined> {
    const res = await this.call('GetItem(credential)', () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: keys.credential(accessKeyId) })),
    );
    return res.Item ? (JSON.parse(String(res.Item['data'])) as CredentialIssuance) : undefined;
  }

  async credentials(accessKeyIds: string[]): Promise<Map<string, CredentialIssuance>> {
    const got = await this.batchGet(accessKeyIds.map((k) => keys.credential(k)));
    const out = new Map<string, CredentialIssuance>();
    for (const item of got.values()) {
      const c = JSON.parse(String(item['data'])) as CredentialIssuance;
      out.set(c.accessKeyId, c);
    }
    return out;
  }

  /**
   * Evidence for one cluster: its whole mapping history (one Query, paginated) folded by
   * MappingTimeline, and the AssumeRole* issuances of `accessKeys` fetched up front with BatchGetItem,
   * because CorrelationEvidence.credentialFor is synchronous.
   */
  async evidenceFor(cluster: string, accountId?: string, accessKeys: string[] = []): Promise<CorrelationEvidence> {
    const ref = await this.refFor(cluster, accountId);
    const [items, creds] = await Promise.all([
      this.mappingHistoryItems(ref),
      accessKeys.length > 0 ? this.credentials(accessKeys) : Promise.resolve(new Map<string, CredentialIssuance>()),
    ]);
    return timelineEvidence(this.timelineFor(ref, cluster, items), (accessKeyId) => creds.get(accessKeyId));
  }

  /**
   * The history is read whole on every batch (late changes may land anywhere in it), but it rarely
   * differs from the last read: the timeline folded then is reused while the items are the same.
   * Mapping items never change in place except a principal-id observation moving to an earlier
   * `ord`, so (sk, ord) of every item identifies the history; same fingerprint, same fold.
   */
  private timelineFor(ref: ClusterRef, cluster: string, items: readonly Item[]): MappingTimeline {
    let fingerprint = `${items.length}`;
    for (const i of items) fingerprint += `\u0000${String(i['sk'])}\u0001${String(i['ord'])}`;
    const key = clusterRefKey(ref);
    const cached = this.timelines.get(key);
    if (cached && cached.fingerprint === fingerprint && cached.timeline.cluster === cluster) return cached.timeline;
    const timeline = new MappingTimeline(cluster, this.sortedMappingChanges(items));
    setMostRecent(this.timelines, key, { fingerprint, timeline }, MAX_CACHED_TIMELINES);
    return timeline;
  }

  // -------------------------------------------------------------------------------------------
  // Authenticator records, quarantine
  // -------------------------------------------------------------------------------------------

  async putAuthenticatorRecords(items: StoredAuthenticatorRecord[]): Promise<void> {
    if (items.length === 0) return;
    const refs: ClusterRef[] = [];
    const puts: Item[] = [];
    for (const r of items) {
      const ref = await this.refFor(r.origin.cluster, r.origin.accountId);
      refs.push(ref);
      const at = sortableFromEpochMs(r.origin.timestamp);
      const data = truncateUtf8(canonicalJson(r), ITEM_BUDGET - 1024);
      puts.push({
        ...keys.authenticator(ref, at, r.origin.eventId),
        t: 'authn',
        at,
        kind: r.line.kind,
        data,
        expiresAt: this.ttl('authenticator', r.origin.timestamp),
      });
    }
    await this.batchPut([...this.newRegistryItems(refs), ...puts]);
  }

  /** Authenticator records of one cluster in a time range (base-table partitions `AUTHN#<cluster>#<hour>#<shard>`). */
  async authenticatorRecords(
    ref: ClusterRef,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<Page<StoredAuthenticatorRecord>> {
    const w = this.window(range, 'hour');
    const forward = page.order === 'oldest-first';
    const buckets = bucketsBetween(w.from, w.to, 'hour');
    if (!forward) buckets.reverse();
    const res = await readFanOutPage(
      {
        index: '',
        pkAttr: 'pk',
        skAttr: 'sk',
        buckets,
        forward,
        streams: (bucket) =>
          Array.from({ length: SHARDS.authenticator }, (_, s) => ({
            pk: shardedPk(`AUTHN#${clusterRefKey(ref)}`, bucket, s),
            between: [w.from, `${w.to}~`] as [string, string],
          })),
      },
      ({ IndexName: _index, ...input }) =>
        this.call('Query(authenticator)', () => this.doc.send(new QueryCommand({ TableName: this.table, ...input }))),
      Math.min(Math.max(1, page.limit ?? DEFAULT_LIMIT), MAX_LIMIT),
      page.cursor,
    );
    const items = res.items.map((i) => JSON.parse(String(i['data'])) as StoredAuthenticatorRecord);
    return res.cursor ? { items, cursor: res.cursor } : { items };
  }

  /** First delivery wins (conditional put), so a redelivered poison record keeps its first `at`. */
  async quarantine(items: QuarantineRecord[]): Promise<void> {
    await mapLimit(items, this.concurrency, (q) => {
      const at = sortableFromEpochMs(q.at);
      const day = dayBucket(at);
      const shard = shardOf(`${q.source}#${q.sourceId}`, SHARDS.quarantine);
      const { raw, ...meta } = q;
      const item: Item = {
        ...keys.quarantine(q.source, q.sourceId),
        t: 'quarantine',
        at,
        code: q.code,
        data: canonicalJson(meta),
        raw,
        expiresAt: this.ttl('quarantine', q.at),
        gsi1pk: shardedPk(gsiPrefix.quarantineDay, day, shard),
        gsi1sk: `${at}#${q.source}#${q.sourceId}`,
        gsi2pk: shardedPk(gsiPrefix.quarantineCode(q.code), day, shard),
        gsi2sk: `${at}#${q.source}#${q.sourceId}`,
      };
      if (itemSize(item) > ITEM_BUDGET || Buffer.byteLength(raw, 'utf8') > QUARANTINE_RAW_MAX) {
        const room = Math.min(QUARANTINE_RAW_MAX, ITEM_BUDGET - (itemSize(item) - Buffer.byteLength(raw, 'utf8')));
        item['raw'] = truncateUtf8(raw, Math.max(0, room));
        item['rawTruncated'] = true;
        item['rawBytes'] = Buffer.byteLength(raw, 'utf8');
      }
      return this.conditionalPut(item, 'attribute_not_exists(pk)');
    });
  }

  /** Quarantined records by day (gsi1 `QD#<day>#<shard>`) or by code and day (gsi2 `QC#<code>#<day>#<shard>`). */
  async quarantined(
    code: QuarantineRecord['code'] | undefined,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<Page<QuarantineRecord & { rawTruncated?: boolean; rawBytes?: number }>> {
    const w = this.window(range, 'day');
    const forward = page.order === 'oldest-first';
    const buckets = bucketsBetween(w.from, w.to, 'day');
    if (!forward) buckets.reverse();
    const index = code ? INDEX.principal : INDEX.time;
    const prefix = code ? gsiPrefix.quarantineCode(code) : gsiPrefix.quarantineDay;
    const n = index.replace('gsi', '');
    const res = await readFanOutPage(
      {
        index,
        pkAttr: `gsi${n}pk`,
        skAttr: `gsi${n}sk`,
        buckets,
        forward,
        streams: (bucket) =>
          Array.from({ length: SHARDS.quarantine }, (_, s) => ({
            pk: shardedPk(prefix, bucket, s),
            between: [w.from, `${w.to}~`] as [string, string],
          })),
      },
      (input) =>
        this.call('Query(quarantine)', () => this.doc.send(new QueryCommand({ TableName: this.table, ...input }))),
      Math.min(Math.max(1, page.limit ?? DEFAULT_LIMIT), MAX_LIMIT),
      page.cursor,
    );
    const got = await this.batchGet(res.items.map((e) => ({ pk: String(e['pk']), sk: String(e['sk']) })));
    const items = res.items.flatMap((e) => {
      const item = got.get(`${e['pk']}\u0000${e['sk']}`);
      if (!item) return [];
      const rec = { ...(JSON.parse(String(item['data'])) as Omit<QuarantineRecord, 'raw'>), raw: String(item['raw']) };
      return [
        item['rawTruncated']
          ? { ...rec, rawTruncated: true, rawBytes: Number(item['rawBytes']) }
          : (rec as QuarantineRecord & { rawTruncated?: boolean; rawBytes?: number }),
      ];
    });
    return res.cursor ? { items, cursor: res.cursor } : { items };
  }
}

/** Last resort for an oversized chain: cut every long string (flagged `strings` in `trimmed`). */
const cutStrings = (value: unknown): unknown => {
  if (typeof value === 'string') return truncateUtf8(value, LAST_RESORT_STRING_MAX);
  if (Array.isArray(value)) return value.map(cutStrings);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, cutStrings(v)]));
  }
  return value;
};
