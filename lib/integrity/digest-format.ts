import { canonicalJson } from '../canonical-json.js';
import { fail, issue, ok, type ParseResult } from '../result.js';

/**
 * The two kinds of digest record (docs/tamper-evidence.md, "Digests"):
 *
 * - a **manifest** lists, for one scope and bucket, the key and content hash of every item the
 *   signer covered in one run: all of them the first time the bucket is signed, then only what was
 *   added (or legitimately replaced) since. It is stored as text so that its hash is over exactly
 *   the bytes the signer hashed.
 * - a **link** is what is signed: one per scope and signer run, naming the manifests that run wrote
 *   by hash and the link before it by hash, so that nothing can be removed from or inserted into
 *   the chain without breaking a signature.
 *
 * Both texts are decoded by total parsers: a damaged record is reported, never thrown.
 */

export const DIGEST_FORMAT_VERSION = 1;

/** Why a signed item's hash was allowed to change (the only two in-place changes the store makes). */
export type ReplacementReason =
  /** A retried log delivery rewrote its segment with the rows of a retried part (docs/data-model.md, "Writes"). */
  | 'retry'
  /** A principal-id observation moved to an earlier sighting (mapping history keeps the earliest). */
  | 'earlier-observation';

export interface ManifestEntry {
  pk: string;
  sk: string;
  /** itemHash of the item. */
  h: string;
  /** Its TTL (epoch seconds): once past, its absence is expiry, not deletion. */
  x?: number;
  /** `ord` of a mapping change: a principal-id observation may be replaced only by an earlier one. */
  o?: string;
  /** Set when this entry replaces an earlier signed hash of the same key. */
  r?: ReplacementReason;
}

export interface Manifest {
  scope: string;
  bucket: string;
  /** Sortable time of the signer run that wrote it (its link's key). */
  signedAt: string;
  entries: ManifestEntry[];
}

const compareEntries = (a: ManifestEntry, b: ManifestEntry): number =>
  a.pk < b.pk ? -1 : a.pk > b.pk ? 1 : a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0;

/** One line per entry after a header line; entries sorted by key, so the same set gives the same text. */
export const encodeManifest = (m: Manifest): string => {
  const header = JSON.stringify({
    v: DIGEST_FORMAT_VERSION,
    scope: m.scope,
    bucket: m.bucket,
    signedAt: m.signedAt,
    n: m.entries.length,
  });
  const lines = [...m.entries]
    .sort(compareEntries)
    .map((e) => JSON.stringify([e.pk, e.sk, e.h, e.x ?? null, e.o ?? null, e.r ?? null]));
  return [header, ...lines].join('\n');
};

const malformed = <T>(raw: string, message: string): ParseResult<T> => fail(raw, issue('DIGEST_MALFORMED', message));

const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

export const decodeManifest = (text: string): ParseResult<Manifest> => {
  const lines = text.split('\n');
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    return malformed(text, 'manifest header is not JSON');
  }
  const h = header as Record<string, unknown> | null;
  if (
    typeof h !== 'object' ||
    h === null ||
    h['v'] !== DIGEST_FORMAT_VERSION ||
    !isText(h['scope']) ||
    !isText(h['bucket']) ||
    !isText(h['signedAt']) ||
    h['n'] !== lines.length - 1
  ) {
    return malformed(text, 'manifest header does not match its entries');
  }
  const entries: ManifestEntry[] = [];
  for (let i = 1; i < lines.length; i++) {
    let row: unknown;
    try {
      row = JSON.parse(lines[i] as string);
    } catch {
      return malformed(text, `manifest entry ${i} is not JSON`);
    }
    if (!Array.isArray(row) || row.length !== 6) return malformed(text, `manifest entry ${i} is not an entry`);
    const [pk, sk, hash, x, o, r] = row as unknown[];
    if (!isText(pk) || !isText(sk) || !isText(hash))
      return malformed(text, `manifest entry ${i} lacks its key or hash`);
    if (x !== null && !(typeof x === 'number' && Number.isSafeInteger(x))) {
      return malformed(text, `manifest entry ${i}: expiry is not a whole number`);
    }
    if (o !== null && typeof o !== 'string') return malformed(text, `manifest entry ${i}: ord is not text`);
    if (r !== null && r !== 'retry' && r !== 'earlier-observation') {
      return malformed(text, `manifest entry ${i}: unknown replacement reason`);
    }
    const e: ManifestEntry = { pk, sk, h: hash };
    if (x !== null) e.x = x as number;
    if (o !== null) e.o = o as string;
    if (r !== null) e.r = r as ReplacementReason;
    entries.push(e);
  }
  return ok({
    scope: h['scope'] as string,
    bucket: h['bucket'] as string,
    signedAt: h['signedAt'] as string,
    entries,
  });
};

// -------------------------------------------------------------------------------------------------
// Links
// -------------------------------------------------------------------------------------------------

/**
 * How a link is signed, named as KMS names it: the deployed key is RSA_2048 with PKCS #1 v1.5 over
 * SHA-256, the local key ECDSA P-256 over SHA-256 (docs/tamper-evidence.md, "Keys").
 */
export const SIGNING_ALGORITHMS = ['RSASSA_PKCS1_V1_5_SHA_256', 'ECDSA_SHA_256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface LinkManifestRef {
  bucket: string;
  entries: number;
  /** textHash of the manifest text. */
  sha256: string;
}

export interface DigestLink {
  scope: string;
  signedAt: string;
  /** The previous link of the scope: its time and the hash of its body. Null for the first. */
  prev: { signedAt: string; sha256: string } | null;
  manifests: LinkManifestRef[];
  /** Pending marks older than this were covered by this run (run start minus the settle time). */
  cutoff: string;
  keyId: string;
  algorithm: SigningAlgorithm;
}

/** The signed bytes: canonical JSON, so the body hashes the same wherever it is rebuilt. */
export const encodeLinkBody = (link: DigestLink): string =>
  canonicalJson({ v: DIGEST_FORMAT_VERSION, ...link, manifests: [...link.manifests].sort(compareRefs) });

const compareRefs = (a: LinkManifestRef, b: LinkManifestRef): number =>
  a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0;

export const decodeLinkBody = (body: string): ParseResult<DigestLink> => {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return malformed(body, 'link body is not JSON');
  }
  const l = v as Record<string, unknown> | null;
  if (typeof l !== 'object' || l === null || l['v'] !== DIGEST_FORMAT_VERSION) {
    return malformed(body, 'link body is not a version 1 link');
  }
  if (!isText(l['scope']) || !isText(l['signedAt']) || !isText(l['cutoff']) || !isText(l['keyId'])) {
    return malformed(body, 'link body lacks its scope, time, cutoff or key');
  }
  if (!(SIGNING_ALGORITHMS as readonly unknown[]).includes(l['algorithm'])) {
    return malformed(body, 'link body names an unknown algorithm');
  }
  const prev = l['prev'];
  if (prev !== null) {
    const p = prev as Record<string, unknown>;
    if (typeof p !== 'object' || !isText(p['signedAt']) || !isText(p['sha256'])) {
      return malformed(body, 'link body: prev is not a link reference');
    }
  }
  const manifests = l['manifests'];
  if (!Array.isArray(manifests)) return malformed(body, 'link body: manifests is not a list');
  for (const m of manifests) {
    const r = m as Record<string, unknown>;
    if (
      typeof r !== 'object' ||
      r === null ||
      !isText(r['bucket']) ||
      !isText(r['sha256']) ||
      !Number.isSafeInteger(r['entries'])
    ) {
      return malformed(body, 'link body: a manifest reference is malformed');
    }
  }
  return ok({
    scope: l['scope'] as string,
    signedAt: l['signedAt'] as string,
    prev: prev === null ? null : { ...(prev as { signedAt: string; sha256: string }) },
    manifests: (manifests as LinkManifestRef[]).map((m) => ({
      bucket: m.bucket,
      entries: m.entries,
      sha256: m.sha256,
    })),
    cutoff: l['cutoff'] as string,
    keyId: l['keyId'] as string,
    algorithm: l['algorithm'] as SigningAlgorithm,
  });
};
