import { createHash } from 'node:crypto';
import { type ClusterRef, UNKNOWN_ACCOUNT } from './trail-store.js';

/**
 * Key design of the trail table. docs/data-model.md is the reference; keep both in step. Every key
 * string the DynamoDB implementation writes is built here.
 */

export type { ClusterRef };

export { UNKNOWN_ACCOUNT };

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

export const dayBucket = (sortable: string): string => sortable.slice(0, 10);

// ---------------------------------------------------------------------------------------------
// Cells: the time unit of the request layout
// ---------------------------------------------------------------------------------------------

/**
 * Requests are stored in segments, and every segment lies inside one cell: five minutes of request
 * time. A newest-first listing can then emit a row once it has read every segment of that row's cell,
 * and a page boundary re-reads at most one cell. Five minutes because a segment can hold no more than
 * one cell, and indexing costs one posting per value and segment: a cell as long as the log
 * function's batching window (cdk/function-settings.ts) lets a quiet cluster's segments grow to the
 * whole window. Measured in docs/data-model.md. Part of the key schema: changing it re-keys new writes.
 */
export const CELL_MS = 5 * 60_000;

const CELL_MINUTES = CELL_MS / 60_000;

/** `2025-06-02T08:05`: the start of the cell a sortable time falls in (to the minute). */
export const cellOf = (sortable: string): string => {
  const minute = Number(sortable.slice(14, 16));
  const start = minute - (minute % CELL_MINUTES);
  return `${sortable.slice(0, 14)}${String(start).padStart(2, '0')}`;
};

/**
 * A row time inside its cell, as stored in the `hi`/`lo` bounds of parts and postings: the cell
 * already fixes the date, hour and minute of the cell's start, so `MM:SS.ffffffZ` (13 characters)
 * is enough, and it sorts as the full time does.
 */
export const timeInCell = (sortable: string): string => sortable.slice(14);

/** The full sortable time of a `timeInCell` bound of a part or posting in `cell`. */
export const timeFromCell = (cell: string, inCell: string): string => `${cell.slice(0, 14)}${inCell}`;

/** Epoch ms at which a cell ends (exclusive). */
export const cellEndMs = (cell: string): number => Date.parse(`${cell}:00Z`) + CELL_MS;

/** The cell `step` cells after (negative: before) this one. */
export const cellPlus = (cell: string, step: number): string =>
  cellOf(sortableFromEpochMs(Date.parse(`${cell}:00Z`) + step * CELL_MS));

// ---------------------------------------------------------------------------------------------
// Hashes
// ---------------------------------------------------------------------------------------------

/** FNV-1a 32-bit: stable across runtimes and releases. */
export const stableHash = (text: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
};

/**
 * The anchor of a segment: a digest of the delivery unit that contributed its first row. 72 bits keep
 * two units of one cluster-minute apart with room to spare (at most thousands of units share a cell).
 */
export const anchorOf = (unitId: string): string =>
  createHash('sha256').update(unitId).digest('base64url').slice(0, 12);

// ---------------------------------------------------------------------------------------------
// Item keys per item class (docs/data-model.md, "Item classes")
// ---------------------------------------------------------------------------------------------

/** Which rows of a segment a part holds: notable requests, bulk requests, or authenticator lines. */
export type PartKind = 'n' | 'b';

export const keys = {
  /** Audit rows of one cluster, time-ordered by cell: the cluster's own listing is a Query on this. */
  segmentPk: (ref: ClusterRef) => `S#${ref.accountId}#${ref.cluster}`,
  /** `<cell>#<anchor>#<part>` then `.<chunk>` for chunks after the first. */
  segmentSk: (cell: string, anchor: string, part: string, chunk: number) =>
    `${cell}#${anchor}#${part}${chunk === 0 ? '' : `.${chunk}`}`,
  /** Authenticator rows of one cluster, same layout as segments in their own partition. */
  authnPk: (ref: ClusterRef) => `N#${ref.accountId}#${ref.cluster}`,
  /** `<cell>#<anchor>` then `.<chunk>` for chunks after the first: a segment has one authenticator part. */
  authnSk: (cell: string, anchor: string, chunk: number) => `${cell}#${anchor}${chunk === 0 ? '' : `.${chunk}`}`,
  /** A notable request by auditID: one item per segment holding a stage of it. */
  requestPk: (ref: ClusterRef, auditID: string) => `R#${clusterRefKey(ref)}#${auditID}`,
  /** All mapping changes of one cluster live in one partition, read whole by evidenceFor. */
  mappingChange: (ref: ClusterRef, naturalSk: string) => ({ pk: `MC#${clusterRefKey(ref)}`, sk: naturalSk }),
  mappingChangesPk: (ref: ClusterRef) => `MC#${clusterRefKey(ref)}`,
  credential: (accessKeyId: string) => ({ pk: `CRED#${accessKeyId}`, sk: 'CRED' }),
  quarantine: (source: string, sourceId: string) => ({ pk: `Q#${source}#${sourceId}`, sk: 'Q' }),
  cluster: (ref: ClusterRef) => ({ pk: `CL#${ref.accountId}#${ref.cluster}`, sk: 'CLUSTER' }),
  /** Which cluster an EKS OIDC issuer belongs to (IRSA tokens name the issuer, not the cluster). */
  oidcIssuer: (issuerKey: string) => ({ pk: `OIDC#${issuerKey.toLowerCase()}`, sk: 'OIDC' }),
} as const;

/**
 * Postings: one item per (indexed value, segment) pointing at the rows of that segment with the value
 * (docs/data-model.md, "Postings"). Fleet-wide dimensions put the cluster in the sort key.
 */
export const postingPk = {
  principal: (matchKey: string) => `IP#${matchKey.toLowerCase()}`,
  human: (identity: string) => `IH#${identity.toLowerCase()}`,
  accessKey: (accessKeyId: string) => `IA#${accessKeyId}`,
  k8sUser: (ref: ClusterRef, username: string) => `IU#${clusterRefKey(ref)}#${username}`,
  resource: (ref: ClusterRef, resource: string) => `IK#${clusterRefKey(ref)}#${resource}`,
  object: (ref: ClusterRef, resource: string, namespace: string | undefined, name: string) =>
    `IO#${clusterRefKey(ref)}#${resource}#${namespace || '-'}#${name}`,
  namespace: (ref: ClusterRef, namespace: string) => `IN#${clusterRefKey(ref)}#${namespace}`,
  denials: (ref: ClusterRef) => `IX#${clusterRefKey(ref)}`,
} as const;

/** Index partition keys (gsi1/gsi2) of the low-volume item classes. */
export const gsiPrefix = {
  quarantineDay: 'QD',
  quarantineCode: (code: string) => `QC#${code}`,
  registry: 'REG',
  /** Issuances by the access key of the session that asked for them (role chaining). */
  credentialCaller: (accessKeyId: string) => `CALLER#${accessKeyId}`,
  /** Issuances to pods (Pod Identity, IRSA) by the role they hold: the `workloads` question. */
  workloadRole: (roleMatchKey: string) => `WLR#${roleMatchKey.toLowerCase()}`,
  /** Pod Identity issuances by the pod the session tags name: `who-did --pod`. */
  workloadPod: (ref: ClusterRef, namespace: string, pod: string) => `WLP#${clusterRefKey(ref)}#${namespace}#${pod}`,
} as const;

// ---------------------------------------------------------------------------------------------
// Tamper evidence (docs/tamper-evidence.md)
// ---------------------------------------------------------------------------------------------

/**
 * Digests: signed manifests and the links that chain them, per scope. Only the signer writes under
 * this prefix; the deployment denies it to the ingest roles by partition key (dynamodb:LeadingKeys).
 */
export const DIGEST_PK_PREFIX = 'DG#';

/** Pending marks: what was written since the signer last covered it. Ingest writes these. */
export const PENDING_PK_PREFIX = 'DP#';

/** The scope of the issuances (they belong to no cluster: an AssumeRole is account-wide). */
export const ISSUANCE_SCOPE = 'CRED';

export const digestKeys = {
  pk: (scope: string) => `${DIGEST_PK_PREFIX}${scope}`,
  /** A chain link, by the time its signer run started. */
  linkSk: (signedAt: string) => `L#${signedAt}`,
  /** A manifest of one bucket (an hour, or `history`) written by the run of `signedAt`, then `.<chunk>`. */
  manifestSk: (bucket: string, signedAt: string, chunk: number) =>
    `M#${bucket}#${signedAt}${chunk === 0 ? '' : `.${chunk}`}`,
  pendingPk: (scope: string) => `${PENDING_PK_PREFIX}${scope}`,
} as const;
