/**
 * Key design of the trail table (docs/data-model.md is the reference; keep both in step).
 *
 * Clusters are identified by account id + name: EKS cluster names are unique per account and region,
 * so the same name in two workload accounts is two clusters. A name-only lookup goes through the
 * cluster registry (CL# items, listed on gsi1 under REG).
 *
 * Hot keys: one busy cluster sends thousands of audit events per second, and a single partition key
 * value is served by one physical partition (1,000 WCU/s, 3,000 RCU/s). Adaptive capacity isolates a
 * hot key on its own partition but cannot split one key value, so every time-ordered listing is
 * write-sharded: the partition key carries a time bucket and a shard picked by a stable hash of the
 * chain's natural key; readers fan out over the shards of each bucket and merge on the sort key.
 */

/** Placeholder account when a source did not say which account owns the cluster and the registry could not tell. */
export const UNKNOWN_ACCOUNT = '_';

/**
 * Shards per bucket. Changing a count re-keys new writes only; readers would have to fan out over the
 * old count for older buckets, so treat these as part of the schema version.
 */
export const SHARDS = {
  /** Chains by cluster and hour: 16 x 1,000 WCU/s of headroom for one cluster's burst. */
  clusterTime: 16,
  /** Chains by principal / human / k8s user / namespace / kind, per day. */
  entity: 4,
  /** Denials per cluster and day. */
  denials: 4,
  /** Quarantine per day (a poison storm must not throttle the good records' writes). */
  quarantine: 4,
  /** Authenticator records per cluster and hour. */
  authenticator: 4,
} as const;

export interface ClusterRef {
  accountId: string;
  cluster: string;
}

export const clusterRefKey = (ref: ClusterRef): string => `C#${ref.accountId}#${ref.cluster}`;

/** Inverse of clusterRefKey; undefined when the text is not one. */
export const parseClusterRefKey = (key: string): ClusterRef | undefined => {
  const m = /^C#([^#]+)#([^#]+)$/.exec(key);
  return m ? { accountId: m[1]!, cluster: m[2]! } : undefined;
};

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})?$/;

/**
 * Fixed-width UTC time with microseconds (`2024-08-24T14:27:07.461683Z`), so that sort keys compare as
 * time: audit timestamps carry µs, CloudWatch/CloudTrail ms or s, and `…07.461Z` would otherwise sort
 * AFTER `…07.461683Z` because 'Z' > '6'. Offsets (self-run authenticators log local time) are moved to UTC.
 * bound 'end' pads missing digits with 9s, for the inclusive upper end of a query range.
 */
export const sortableTime = (iso: string, bound: 'start' | 'end' = 'start'): string | undefined => {
  const m = ISO_RE.exec(iso.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  // As an inclusive upper bound, `…:59Z` or `…:59.999Z` means the whole second / millisecond.
  const micros = (frac + (bound === 'end' ? '999999' : '000000')).slice(0, 6);
  const offset = zone === 'Z' || zone === 'z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
};

export const sortableFromEpochMs = (ms: number): string => {
  const iso = new Date(Math.trunc(ms)).toISOString();
  return `${iso.slice(0, 23)}000Z`;
};

/** Epoch ms of a sortable time (µs dropped). */
export const epochMsOf = (sortable: string): number => Date.parse(`${sortable.slice(0, 23)}Z`);

export const hourBucket = (sortable: string): string => sortable.slice(0, 13);
export const dayBucket = (sortable: string): string => sortable.slice(0, 10);

/** Every hour (or day) bucket from..to inclusive, oldest first. Bounded to `max` buckets. */
export const bucketsBetween = (
  fromSortable: string,
  toSortable: string,
  granularity: 'hour' | 'day',
  max = 24 * 800,
): string[] => {
  const step = granularity === 'hour' ? 3_600_000 : 86_400_000;
  const cut = granularity === 'hour' ? hourBucket : dayBucket;
  const startMs = Date.parse(granularity === 'hour' ? `${cut(fromSortable)}:00:00Z` : `${cut(fromSortable)}T00:00:00Z`);
  const last = cut(toSortable);
  const out: string[] = [];
  for (let t = startMs; out.length < max; t += step) {
    const b = cut(sortableFromEpochMs(t));
    if (b > last) break;
    out.push(b);
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Sharding
// ---------------------------------------------------------------------------------------------

/** FNV-1a 32-bit: stable across runtimes and releases (the shard is part of the stored key). */
export const stableHash = (text: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
};

export const shardOf = (naturalKey: string, shards: number): number => stableHash(naturalKey) % shards;

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `<prefix>#<bucket>#<shard>`: one partition of a sharded listing. */
export const shardedPk = (prefix: string, bucket: string, shard: number): string =>
  `${prefix}#${bucket}#${pad2(shard)}`;

// ---------------------------------------------------------------------------------------------
// Base-table keys per item class
// ---------------------------------------------------------------------------------------------

export const keys = {
  /** One chain: natural key = account + chainId (`<cluster>#<auditID>` or `<cluster>#authn#<event id>`). */
  chain: (accountId: string, chainId: string) => ({ pk: `CH#${accountId}#${chainId}`, sk: 'CHAIN' }),
  /** All mapping changes of one cluster live in one partition, read whole by evidenceFor. */
  mappingChange: (ref: ClusterRef, naturalSk: string) => ({ pk: `MC#${clusterRefKey(ref)}`, sk: naturalSk }),
  mappingChangesPk: (ref: ClusterRef) => `MC#${clusterRefKey(ref)}`,
  credential: (accessKeyId: string) => ({ pk: `CRED#${accessKeyId}`, sk: 'CRED' }),
  authenticator: (ref: ClusterRef, sortable: string, eventId: string) => ({
    pk: shardedPk(`AUTHN#${clusterRefKey(ref)}`, hourBucket(sortable), shardOf(eventId, SHARDS.authenticator)),
    sk: `${sortable}#${eventId}`,
  }),
  quarantine: (source: string, sourceId: string) => ({ pk: `Q#${source}#${sourceId}`, sk: 'Q' }),
  cluster: (ref: ClusterRef) => ({ pk: `CL#${ref.accountId}#${ref.cluster}`, sk: 'CLUSTER' }),
} as const;

/** Partition key prefixes of the index entries (gsiNpk values start with these). */
export const gsiPrefix = {
  clusterTime: (ref: ClusterRef) => `T#${clusterRefKey(ref)}`,
  principal: (matchKey: string) => `P#${matchKey.toLowerCase()}`,
  human: (identity: string) => `H#${identity.toLowerCase()}`,
  k8sUser: (ref: ClusterRef, username: string) => `U#${clusterRefKey(ref)}#${username}`,
  namespace: (ref: ClusterRef, namespace: string) => `N#${clusterRefKey(ref)}#${namespace}`,
  object: (ref: ClusterRef, resource: string) => `O#${clusterRefKey(ref)}#${resource}`,
  denials: (ref: ClusterRef) => `D#${clusterRefKey(ref)}`,
  pending: (accessKeyId: string) => `K#${accessKeyId}`,
  mappingTime: (ref: ClusterRef) => `MT#${clusterRefKey(ref)}`,
  mappingPrincipal: (ref: ClusterRef, matchKey: string) => `MP#${clusterRefKey(ref)}#${matchKey.toLowerCase()}`,
  /** Cluster-wide mapping ops (aws-auth versions, auth mode, creation) that concern every principal. */
  mappingClusterWide: (ref: ClusterRef) => `MP#${clusterRefKey(ref)}#@cluster`,
  mappingActor: (actor: string) => `MA#${actor.toLowerCase()}`,
  quarantineDay: 'QD',
  quarantineCode: (code: string) => `QC#${code}`,
  registry: 'REG',
} as const;

/** Object listing sort key: namespace and name lead so one object's history is a range; `-` stands for cluster scope. */
export const objectSk = (namespace: string | undefined, name: string | undefined, sortable: string, pk: string) =>
  `${namespace || '-'}#${name || '-'}#${sortable}#${pk}`;
