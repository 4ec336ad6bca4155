import type { DigestStore, ItemKey, PendingMark, StoredManifest } from '../store/digest-store.js';
import { epochMsOf, sortableFromEpochMs } from '../store/keys.js';
import { compareBucket, entryOf, externalKeysOf, foldManifests, keyOf, replacementReason } from './compare.js';
import { bucketEndMs } from './coverage.js';
import {
  type DigestLink,
  decodeManifest,
  encodeLinkBody,
  encodeManifest,
  type Manifest,
  type ManifestEntry,
} from './digest-format.js';
import { textHash } from './item-hash.js';
import type { DigestSigner } from './signing.js';

/**
 * One run of the digest signer (docs/tamper-evidence.md, "Signing"). Per scope it takes the pending
 * marks older than the settle time whose bucket has closed, compares each such bucket with what its
 * signed manifests list, writes a manifest of what is new (everything, the first time), and signs a
 * link naming those manifests and the scope's previous link. Every scope gets a link every run, even
 * with nothing new: the chain then shows each run, so a gap means a run did not happen or its link
 * was removed.
 *
 * The signer never signs a change to an item it signed before, except the two the store makes itself
 * (compare.ts replacementReason), and never signs an absence: it reports both as mismatches and
 * leaves them to the verifier, which reports them for as long as they last.
 */

export interface SignerOptions {
  signer: DigestSigner;
  /** Epoch ms the run started (its links' time). */
  now: number;
  /**
   * How long a writer may take between its pending mark and its last item (the longest ingest
   * function timeout). Marks younger than this, and buckets still open then, wait for the next run.
   */
  settleMs: number;
  /** How long Lambda may retry a log batch (the event source's maximum record age). */
  retryWindowMs: number;
  /** Sign these scopes only (default: every scope the store knows). */
  scopes?: string[];
  /**
   * Take every pending mark, whatever its age and whether its hour has closed. For local mode, where
   * the signer runs after a replay has finished and nothing else writes.
   */
  everything?: boolean;
}

export interface Mismatch {
  scope: string;
  bucket: string;
  kind: 'altered' | 'missing' | 'digest-damaged';
  key?: ItemKey;
  detail: string;
}

export interface ScopeSigning {
  scope: string;
  signedAt: string;
  buckets: { bucket: string; entries: number; first: boolean }[];
  mismatches: Mismatch[];
  /** Manifests of crashed earlier runs (written, never linked) that this run removed. */
  orphansRemoved: number;
}

export interface SignRunResult {
  signedAt: string;
  scopes: ScopeSigning[];
}

export class DigestSignerError extends Error {
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** What the run did sign before it failed (signAll). */
    readonly partial?: SignRunResult,
  ) {
    super(message, options);
    this.name = 'DigestSignerError';
  }
}

const byTime = (a: { signedAt: string }, b: { signedAt: string }) =>
  a.signedAt < b.signedAt ? -1 : a.signedAt > b.signedAt ? 1 : 0;

export const signScope = async (store: DigestStore, scope: string, o: SignerOptions): Promise<ScopeSigning> => {
  const head = await store.latestLink(scope);
  // Links are strictly ordered in time: two runs within one millisecond (local replays in a row)
  // take the next free millisecond rather than collide.
  const signedMs = head ? Math.max(o.now, epochMsOf(head.signedAt) + 1) : o.now;
  const signedAt = sortableFromEpochMs(signedMs);
  const cutoffMs = o.everything ? signedMs : o.now - o.settleMs;
  const result: ScopeSigning = { scope, signedAt, buckets: [], mismatches: [], orphansRemoved: 0 };
  const eligible = (await store.pending(scope)).filter(
    (m) => o.everything || (m.at <= cutoffMs && bucketEndMs(m.bucket) <= cutoffMs),
  );
  const byBucket = new Map<string, PendingMark[]>();
  for (const m of eligible) byBucket.set(m.bucket, [...(byBucket.get(m.bucket) ?? []), m]);

  const written: Manifest[] = [];
  const covered: PendingMark[] = [];
  for (const bucket of [...byBucket.keys()].sort()) {
    const marks = byBucket.get(bucket) as PendingMark[];
    const stored = (await store.manifests(scope, bucket, bucket)).filter((m) => m.bucket === bucket).sort(byTime);
    const linked: StoredManifest[] = [];
    for (const m of stored) {
      // Written by a run that crashed before its link: nobody signed it, and this run re-covers its items.
      if (!head || m.signedAt > head.signedAt) {
        await store.deleteManifest(scope, bucket, m.signedAt);
        result.orphansRemoved++;
      } else linked.push(m);
    }
    const decoded: Manifest[] = [];
    let damaged = false;
    for (const m of linked) {
      const d = m.text !== undefined ? decodeManifest(m.text) : undefined;
      if (d?.ok) decoded.push(d.value);
      else {
        damaged = true;
        result.mismatches.push({
          scope,
          bucket,
          kind: 'digest-damaged',
          detail: `manifest signed at ${m.signedAt} does not read back (${m.damage ?? d?.issues[0].message})`,
        });
      }
    }
    // What a damaged manifest signed is not known, so nothing new can be told from it: leave the
    // bucket (and its marks) to the verifier and to whoever repairs it.
    if (damaged) continue;
    const signed = foldManifests(decoded);
    const noted = marks.flatMap((m) => (m.key ? [m.key] : []));
    const external = new Map<string, ItemKey>();
    for (const k of [...externalKeysOf(signed), ...noted]) external.set(keyOf(k), k);
    const content = await store.bucketContent(scope, bucket, [...external.values()]);
    const diff = compareBucket(signed, content.items, o.now);
    const entries: ManifestEntry[] = diff.added.map((i) => entryOf(i));
    for (const a of diff.altered) {
      const r = replacementReason(a, o.now, o.retryWindowMs, epochMsOf);
      if (r) entries.push(entryOf(a.now, r));
      else {
        result.mismatches.push({
          scope,
          bucket,
          kind: 'altered',
          key: { pk: a.now.pk, sk: a.now.sk },
          detail: `hash ${a.now.h} differs from ${a.signed.h} signed at ${a.signed.signedAt}`,
        });
      }
    }
    for (const m of diff.missing) {
      result.mismatches.push({
        scope,
        bucket,
        kind: 'missing',
        key: { pk: m.pk, sk: m.sk },
        detail: `signed at ${m.signedAt}, gone before its expiry`,
      });
    }
    covered.push(...marks);
    if (entries.length === 0) continue;
    written.push({ scope, bucket, signedAt, entries });
    result.buckets.push({ bucket, entries: entries.length, first: decoded.length === 0 });
  }

  const texts = written.map((m) => ({ m, text: encodeManifest(m) }));
  const link: DigestLink = {
    scope,
    signedAt,
    prev: head ? { signedAt: head.signedAt, sha256: textHash(head.body) } : null,
    manifests: texts.map(({ m, text }) => ({ bucket: m.bucket, entries: m.entries.length, sha256: textHash(text) })),
    cutoff: sortableFromEpochMs(cutoffMs),
    keyId: o.signer.keyId,
    algorithm: o.signer.algorithm,
  };
  // Manifests first: a link never names a manifest that is not stored. A crash before the link
  // leaves them unlinked, and the next run removes them (above).
  await store.putManifests(texts.map(({ m, text }) => ({ scope, bucket: m.bucket, signedAt, text })));
  const body = encodeLinkBody(link);
  const signature = await o.signer.sign(body);
  if (!(await store.putLink({ scope, signedAt, body, signature }))) {
    throw new DigestSignerError(`${scope}: a link at ${signedAt} exists already (two signer runs at once)`);
  }
  await store.clearPending(covered);
  return result;
};

/** Signs every scope; one scope's failure does not stop the others, and is rethrown at the end. */
export const signAll = async (store: DigestStore, o: SignerOptions): Promise<SignRunResult> => {
  const scopes = o.scopes ?? (await store.scopes());
  const out: SignRunResult = { signedAt: sortableFromEpochMs(o.now), scopes: [] };
  const failures: { scope: string; error: unknown }[] = [];
  for (const scope of scopes) {
    try {
      out.scopes.push(await signScope(store, scope, o));
    } catch (error) {
      failures.push({ scope, error });
    }
  }
  if (failures.length > 0) {
    throw new DigestSignerError(
      `signing failed for ${failures.map((f) => f.scope).join(', ')}: ${String((failures[0]?.error as Error)?.message ?? failures[0]?.error)}`,
      { cause: failures[0]?.error },
      out,
    );
  }
  return out;
};
