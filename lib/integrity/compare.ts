import type { CoveredItem, ItemKey } from '../store/digest-store.js';
import { classOfKey } from './coverage.js';
import type { Manifest, ManifestEntry, ReplacementReason } from './digest-format.js';

/**
 * What the signed manifests of one bucket say is stored, against what is stored now: the one
 * comparison the signer (to decide what to sign next) and the verifier (to report) both make.
 */

export interface SignedEntry extends ManifestEntry {
  /** The run whose manifest signed this hash. */
  signedAt: string;
}

export const keyOf = (k: ItemKey): string => `${k.pk}\u0000${k.sk}`;

/** The signed state of a bucket: its manifests in signing order, a later hash of a key replacing an earlier one. */
export const foldManifests = (manifests: readonly Manifest[]): Map<string, SignedEntry> => {
  const out = new Map<string, SignedEntry>();
  const ordered = [...manifests].sort((a, b) => (a.signedAt < b.signedAt ? -1 : a.signedAt > b.signedAt ? 1 : 0));
  for (const m of ordered) for (const e of m.entries) out.set(keyOf(e), { ...e, signedAt: m.signedAt });
  return out;
};

export interface Altered {
  signed: SignedEntry;
  now: CoveredItem;
}

export interface BucketDifference {
  /** Stored, in no signed manifest. */
  added: CoveredItem[];
  /** Stored with another hash than the one signed last. */
  altered: Altered[];
  /** Signed, gone, and not expired. */
  missing: SignedEntry[];
  /** Signed, gone, past its TTL: DynamoDB deleted it (or will), as retention says. */
  expired: SignedEntry[];
  /** Stored exactly as signed. */
  matching: number;
}

export const compareBucket = (
  signed: ReadonlyMap<string, SignedEntry>,
  current: readonly CoveredItem[],
  nowMs: number,
): BucketDifference => {
  const diff: BucketDifference = { added: [], altered: [], missing: [], expired: [], matching: 0 };
  const seen = new Set<string>();
  for (const item of current) {
    const k = keyOf(item);
    if (seen.has(k)) continue;
    seen.add(k);
    const s = signed.get(k);
    if (!s) diff.added.push(item);
    else if (s.h !== item.h) diff.altered.push({ signed: s, now: item });
    else diff.matching++;
  }
  for (const [k, s] of signed) {
    if (seen.has(k)) continue;
    // TTL deletion lags expiry by up to days; either way an expired item's absence is retention.
    if (s.x !== undefined && s.x * 1000 <= nowMs) diff.expired.push(s);
    else diff.missing.push(s);
  }
  return diff;
};

/**
 * Whether a changed hash is one of the two in-place changes the store itself makes, and which:
 *  - a principal-id observation replaced by an earlier sighting (mapping history keeps the earliest;
 *    lib/store/dynamodb/mapping-history.ts), recognisable by its smaller `ord`;
 *  - a segment or authenticator part rewritten by a retried log delivery (a bisected half rewrites
 *    its segment with its own rows; docs/data-model.md, "Writes"), possible only while Lambda still
 *    retries the batch: within `retryWindowMs` of when the part's hash was signed.
 * Anything else that changes a signed item is tampering.
 */
export const replacementReason = (
  a: Altered,
  nowMs: number,
  retryWindowMs: number,
  signedAtMs: (signedAt: string) => number,
): ReplacementReason | undefined => {
  const cls = classOfKey(a.now.pk);
  if (cls === 'mapping') {
    return a.now.sk.startsWith('principal-id-observed#') &&
      a.now.o !== undefined &&
      a.signed.o !== undefined &&
      a.now.o < a.signed.o
      ? 'earlier-observation'
      : undefined;
  }
  if (cls === 'segment' || cls === 'authenticator') {
    return nowMs - signedAtMs(a.signed.signedAt) <= retryWindowMs ? 'retry' : undefined;
  }
  return undefined;
};

export const entryOf = (item: CoveredItem, r?: ReplacementReason): ManifestEntry => {
  const e: ManifestEntry = { pk: item.pk, sk: item.sk, h: item.h };
  if (item.x !== undefined) e.x = item.x;
  if (item.o !== undefined) e.o = item.o;
  if (r) e.r = r;
  return e;
};

/** Signed entries kept outside the scope's own partitions: how a bucket's issuances and human postings are found again. */
export const externalKeysOf = (signed: ReadonlyMap<string, SignedEntry>): ItemKey[] =>
  [...signed.values()]
    .filter((e) => {
      const cls = classOfKey(e.pk);
      return cls === 'credential' || cls === 'human-posting';
    })
    .map((e) => ({ pk: e.pk, sk: e.sk }));
