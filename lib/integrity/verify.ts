import type {
  CoveredItem,
  DigestStore,
  ItemKey,
  PendingMark,
  StoredLink,
  StoredManifest,
} from '../store/digest-store.js';
import { type ClusterRef, clusterRefKey, epochMsOf } from '../store/keys.js';
import { compareBucket, externalKeysOf, foldManifests, keyOf, replacementReason, type SignedEntry } from './compare.js';
import { classOfKey, HISTORY_BUCKET, ISSUANCE_SCOPE } from './coverage.js';
import { type DigestLink, decodeLinkBody, decodeManifest, type Manifest } from './digest-format.js';
import { textHash } from './item-hash.js';
import { type TrustedKey, verifyBody } from './signing.js';

/**
 * `eks-trail verify` (docs/tamper-evidence.md, "Verifying"): checks the chain of signed links of a
 * scope, that every manifest it names is stored unchanged, and that what is stored in each bucket is
 * what the manifests list. Every finding names the keys it is about and says what kind of claim it
 * is: a mismatch with a signed hash is observed; an item written after the last signature is
 * unknown until the signer covers it; an item gone after its TTL is derived from the retention.
 */

export type FindingKind =
  // problems: something signed was changed or removed, or something stored has no valid signature
  | 'items-altered'
  | 'items-missing'
  | 'items-added'
  | 'no-digest'
  | 'digest-missing'
  | 'digest-altered'
  | 'digest-unsigned'
  | 'signature-invalid'
  | 'chain-broken'
  // not problems
  | 'pending'
  | 'expired'
  | 'replaced'
  | 'signer-gap';

export const PROBLEM_KINDS: ReadonlySet<FindingKind> = new Set([
  'items-altered',
  'items-missing',
  'items-added',
  'no-digest',
  'digest-missing',
  'digest-altered',
  'digest-unsigned',
  'signature-invalid',
  'chain-broken',
]);

export interface Finding {
  kind: FindingKind;
  problem: boolean;
  detail: string;
  /** The items (or digest records) it is about. */
  keys: ItemKey[];
}

export type Integrity = 'observed' | 'derived' | 'unknown';

export interface BucketReport {
  scope: string;
  /** `2025-06-02T08` (UTC hour of event time) or `history`. */
  bucket: string;
  status: 'ok' | 'tampered' | 'pending';
  integrity: Integrity;
  why: string;
  /** Covered items stored now. */
  items: number;
  /** Runs whose manifests signed this bucket. */
  signedAt: string[];
  findings: Finding[];
}

export interface ChainReport {
  scope: string;
  /** Links read: every link since the oldest bucket verified. */
  links: number;
  first?: string;
  newest?: string;
  findings: Finding[];
}

export interface ScopeReport {
  scope: string;
  chain: ChainReport;
  buckets: BucketReport[];
}

export interface VerifyReport {
  ok: boolean;
  keyId: string;
  from: string;
  to: string;
  scopes: ScopeReport[];
  problems: number;
}

export interface VerifyOptions {
  trusted: TrustedKey;
  /** Epoch ms: what counts as expired. */
  now: number;
  /** First and last hour bucket, `YYYY-MM-DDTHH`, inclusive. */
  fromHour: string;
  toHour: string;
  /** Links more than this far apart are reported as a signer gap (default 2 h: the signer runs hourly). */
  expectedIntervalMs?: number;
  /** How long Lambda may retry a log batch (as the signer is configured), for pending replacements. */
  retryWindowMs?: number;
}

export class VerifyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifyError';
  }
}

const HOUR_MS = 3_600_000;
const MAX_HOURS = 24 * 400;

/** Hour buckets from..to inclusive. */
export const hoursBetween = (fromHour: string, toHour: string): string[] => {
  const from = Date.parse(`${fromHour}:00:00Z`);
  const to = Date.parse(`${toHour}:00:00Z`);
  if (Number.isNaN(from) || Number.isNaN(to))
    throw new VerifyError(`hours ${fromHour}..${toHour} are not YYYY-MM-DDTHH`);
  if (to < from) throw new VerifyError(`window ends (${toHour}) before it starts (${fromHour})`);
  if ((to - from) / HOUR_MS + 1 > MAX_HOURS)
    throw new VerifyError(`window longer than ${MAX_HOURS} hours: verify it in parts`);
  const out: string[] = [];
  for (let t = from; t <= to; t += HOUR_MS) out.push(new Date(t).toISOString().slice(0, 13));
  return out;
};

const finding = (kind: FindingKind, detail: string, keys: ItemKey[] = []): Finding => ({
  kind,
  problem: PROBLEM_KINDS.has(kind),
  detail,
  keys,
});

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// -------------------------------------------------------------------------------------------------
// The chain
// -------------------------------------------------------------------------------------------------

interface CheckedChain {
  report: ChainReport;
  /** Links whose signature and body check out, by time. */
  valid: Map<string, DigestLink>;
  newest?: string;
}

const checkChain = async (
  store: DigestStore,
  scope: string,
  links: readonly StoredLink[],
  o: VerifyOptions,
): Promise<CheckedChain> => {
  const findings: Finding[] = [];
  const valid = new Map<string, DigestLink>();
  const linkKey = (signedAt: string): ItemKey => ({ pk: `DG#${scope}`, sk: `L#${signedAt}` });
  const checkOne = (l: StoredLink): DigestLink | undefined => {
    const decoded = decodeLinkBody(l.body);
    if (!decoded.ok) {
      findings.push(
        finding('signature-invalid', `link ${l.signedAt}: ${decoded.issues[0].message}`, [linkKey(l.signedAt)]),
      );
      return undefined;
    }
    const body = decoded.value;
    if (body.keyId !== o.trusted.keyId) {
      findings.push(
        finding(
          'signature-invalid',
          `link ${l.signedAt} is signed by ${body.keyId}, not by the trusted key ${o.trusted.keyId}`,
          [linkKey(l.signedAt)],
        ),
      );
      return undefined;
    }
    if (!verifyBody(l.body, l.signature, body.algorithm, o.trusted)) {
      findings.push(
        finding('signature-invalid', `link ${l.signedAt}: the signature does not match its body`, [
          linkKey(l.signedAt),
        ]),
      );
      return undefined;
    }
    if (body.scope !== scope || body.signedAt !== l.signedAt) {
      findings.push(
        finding(
          'signature-invalid',
          `link ${l.signedAt} is a signed link of ${body.scope} at ${body.signedAt}, stored elsewhere`,
          [linkKey(l.signedAt)],
        ),
      );
      return undefined;
    }
    return body;
  };
  const ordered = [...links].sort((a, b) => (a.signedAt < b.signedAt ? -1 : a.signedAt > b.signedAt ? 1 : 0));
  let prev: StoredLink | undefined;
  const gap = o.expectedIntervalMs ?? 2 * HOUR_MS;
  for (const l of ordered) {
    const body = checkOne(l);
    if (body) {
      valid.set(l.signedAt, body);
      if (prev === undefined) {
        // The first link read: its predecessor lies before the window, read it on its own.
        if (body.prev) {
          const p = await store.link(scope, body.prev.signedAt);
          if (!p) {
            findings.push(
              finding('chain-broken', `link ${l.signedAt} follows ${body.prev.signedAt}, which is missing`, [
                linkKey(body.prev.signedAt),
              ]),
            );
          } else if (textHash(p.body) !== body.prev.sha256) {
            findings.push(
              finding(
                'chain-broken',
                `link ${body.prev.signedAt} is not the link ${l.signedAt} follows: it was changed`,
                [linkKey(body.prev.signedAt)],
              ),
            );
          }
        }
      } else if (!body.prev) {
        findings.push(
          finding('chain-broken', `link ${l.signedAt} starts a new chain after ${prev.signedAt}`, [
            linkKey(l.signedAt),
          ]),
        );
      } else if (body.prev.signedAt !== prev.signedAt) {
        findings.push(
          body.prev.signedAt > prev.signedAt
            ? finding('chain-broken', `link ${l.signedAt} follows ${body.prev.signedAt}, which is missing`, [
                linkKey(body.prev.signedAt),
              ])
            : finding(
                'chain-broken',
                `link ${prev.signedAt} is not on the chain: ${l.signedAt} follows ${body.prev.signedAt}`,
                [linkKey(prev.signedAt)],
              ),
        );
      } else if (textHash(prev.body) !== body.prev.sha256) {
        findings.push(
          finding('chain-broken', `link ${prev.signedAt} is not the link ${l.signedAt} follows: it was changed`, [
            linkKey(prev.signedAt),
          ]),
        );
      } else if (epochMsOf(l.signedAt) - epochMsOf(prev.signedAt) > gap) {
        findings.push(
          finding(
            'signer-gap',
            `no signer run between ${prev.signedAt} and ${l.signedAt}: the chain is intact, coverage of that time came later`,
          ),
        );
      }
    }
    prev = l;
  }
  const report: ChainReport = { scope, links: ordered.length, findings };
  if (ordered[0]) report.first = ordered[0].signedAt;
  const newest = ordered[ordered.length - 1]?.signedAt;
  if (newest) report.newest = newest;
  return newest ? { report, valid, newest } : { report, valid };
};

// -------------------------------------------------------------------------------------------------
// One scope
// -------------------------------------------------------------------------------------------------

interface ScopeInput {
  scope: string;
  buckets: string[];
  /** Items known to belong to a bucket beyond what its manifests list (issuances a window's requests used). */
  extraKeys?: Map<string, ItemKey[]>;
  accessKeys?: boolean;
}

interface ScopeResult {
  report: ScopeReport;
  accessKeys: Set<string>;
}

const verifyScope = async (store: DigestStore, input: ScopeInput, o: VerifyOptions): Promise<ScopeResult> => {
  const { scope } = input;
  const buckets = [...new Set(input.buckets)].sort();
  const hours = buckets.filter((b) => b !== HISTORY_BUCKET);
  const withHistory = buckets.includes(HISTORY_BUCKET);

  // Manifests of the buckets (hours read as a range, then narrowed to the buckets asked for).
  const stored: StoredManifest[] = [];
  if (hours.length > 0) {
    const wanted = new Set(hours);
    stored.push(
      ...(await store.manifests(scope, hours[0] as string, hours[hours.length - 1] as string)).filter((m) =>
        wanted.has(m.bucket),
      ),
    );
  }
  if (withHistory) stored.push(...(await store.manifests(scope, HISTORY_BUCKET, HISTORY_BUCKET)));

  // Every link that can have signed one of them: a bucket is signed after its hour closed, the
  // history at any time.
  const links = await store.links(scope, withHistory ? undefined : hours[0]);
  const chain = await checkChain(store, scope, links, o);

  const refs = new Map<string, { sha256: string; entries: number }>();
  for (const l of chain.valid.values()) {
    for (const m of l.manifests) refs.set(`${m.bucket}#${l.signedAt}`, { sha256: m.sha256, entries: m.entries });
  }
  const wanted = new Set(buckets);
  const perBucket = new Map<string, { manifests: Manifest[]; findings: Finding[]; signedAt: string[] }>();
  const slot = (b: string) => {
    let s = perBucket.get(b);
    if (!s) {
      s = { manifests: [], findings: [], signedAt: [] };
      perBucket.set(b, s);
    }
    return s;
  };
  const manifestKey = (bucket: string, signedAt: string): ItemKey => ({
    pk: `DG#${scope}`,
    sk: `M#${bucket}#${signedAt}`,
  });
  const seenManifests = new Set<string>();
  for (const m of stored) {
    const id = `${m.bucket}#${m.signedAt}`;
    seenManifests.add(id);
    const s = slot(m.bucket);
    const ref = refs.get(id);
    if (!ref) {
      s.findings.push(
        chain.newest !== undefined && m.signedAt > chain.newest
          ? finding(
              'pending',
              `manifest of ${m.signedAt} has no link yet (a signer run in progress, or one that failed)`,
            )
          : finding('digest-unsigned', `manifest of ${m.signedAt} is named by no valid link`, [
              manifestKey(m.bucket, m.signedAt),
            ]),
      );
      continue;
    }
    const decoded = m.text !== undefined ? decodeManifest(m.text) : undefined;
    if (m.text === undefined || textHash(m.text) !== ref.sha256 || !decoded?.ok) {
      s.findings.push(
        finding(
          'digest-altered',
          `manifest of ${m.signedAt} is not what its link signed (${m.damage ?? (decoded && !decoded.ok ? decoded.issues[0].message : 'its hash differs')})`,
          [manifestKey(m.bucket, m.signedAt)],
        ),
      );
      continue;
    }
    s.manifests.push(decoded.value);
    s.signedAt.push(m.signedAt);
  }
  for (const [id, ref] of refs) {
    if (seenManifests.has(id)) continue;
    const at = id.lastIndexOf('#');
    const bucket = id.slice(0, at);
    if (!wanted.has(bucket)) continue;
    slot(bucket).findings.push(
      finding(
        'digest-missing',
        `manifest of ${id.slice(at + 1)} (${plural(ref.entries, 'item')}) named by its link is gone`,
        [manifestKey(bucket, id.slice(at + 1))],
      ),
    );
  }

  const pending = await store.pending(scope);
  const pendingBuckets = new Set(pending.filter((p) => !p.key).map((p) => p.bucket));
  const notedKeys = new Map<string, PendingMark>();
  for (const p of pending) if (p.key) notedKeys.set(keyOf(p.key), p);

  const accessKeys = new Set<string>();
  const reports: BucketReport[] = [];
  for (const bucket of buckets) {
    const s = slot(bucket);
    const signed = foldManifests(s.manifests);
    const extra = input.extraKeys?.get(bucket) ?? [];
    const noted = pending.filter((p) => p.key && p.bucket === bucket).map((p) => p.key as ItemKey);
    const external = new Map<string, ItemKey>();
    for (const k of [...externalKeysOf(signed), ...noted, ...extra]) external.set(keyOf(k), k);
    const content = await store.bucketContent(scope, bucket, [...external.values()], {
      accessKeys: input.accessKeys === true,
    });
    for (const k of content.accessKeys) accessKeys.add(k);
    // An issuance found through a request but filed under another hour belongs to that hour's report.
    const items = content.items.filter((i) => i.b === undefined || i.b === bucket);
    const report = bucketReport(scope, bucket, signed, items, s, pendingBuckets.has(bucket), notedKeys, o);
    if (report) reports.push(report);
  }
  return { report: { scope, chain: chain.report, buckets: reports }, accessKeys };
};

const bucketReport = (
  scope: string,
  bucket: string,
  signed: Map<string, SignedEntry>,
  items: readonly CoveredItem[],
  s: { findings: Finding[]; signedAt: string[] },
  bucketPending: boolean,
  notedKeys: ReadonlyMap<string, PendingMark>,
  o: VerifyOptions,
): BucketReport | undefined => {
  const findings = [...s.findings];
  const diff = compareBucket(signed, items, o.now);
  const isPending = (k: ItemKey) => {
    const cls = classOfKey(k.pk);
    return cls === 'credential' || cls === 'human-posting' ? notedKeys.has(keyOf(k)) : bucketPending;
  };
  const keysOf = (xs: readonly ItemKey[]) => xs.map((x) => ({ pk: x.pk, sk: x.sk }));

  const waiting = diff.added.filter(isPending);
  const unsigned = diff.added.filter((a) => !isPending(a));
  if (unsigned.length > 0) {
    findings.push(
      signed.size === 0 && s.signedAt.length === 0
        ? finding(
            'no-digest',
            `${plural(unsigned.length, 'item')} stored, and no digest covers this hour`,
            keysOf(unsigned),
          )
        : finding(
            'items-added',
            `${plural(unsigned.length, 'item')} stored that no digest lists, and none was written through the store since`,
            keysOf(unsigned),
          ),
    );
  }
  const pendingChanges = diff.altered.filter(
    (a) => isPending(a.now) && replacementReason(a, o.now, o.retryWindowMs ?? 6 * HOUR_MS, epochMsOf) !== undefined,
  );
  const altered = diff.altered.filter((a) => !pendingChanges.includes(a));
  if (altered.length > 0) {
    findings.push(
      finding(
        'items-altered',
        `${plural(altered.length, 'item')} differ from the hash signed for them`,
        keysOf(altered.map((a) => a.now)),
      ),
    );
  }
  if (diff.missing.length > 0) {
    findings.push(
      finding(
        'items-missing',
        `${plural(diff.missing.length, 'signed item')} gone before their expiry`,
        keysOf(diff.missing),
      ),
    );
  }
  if (waiting.length + pendingChanges.length > 0) {
    findings.push(
      finding(
        'pending',
        `${plural(waiting.length + pendingChanges.length, 'item')} written since the last signature, through the store (the next signer run covers them)`,
        keysOf([...waiting, ...pendingChanges.map((a) => a.now)]),
      ),
    );
  }
  if (diff.expired.length > 0) {
    findings.push(
      finding(
        'expired',
        `${plural(diff.expired.length, 'signed item')} gone after their expiry (TTL): retention, not deletion`,
        keysOf(diff.expired),
      ),
    );
  }
  const replaced = [...signed.values()].filter((e) => e.r !== undefined);
  if (replaced.length > 0) {
    findings.push(
      finding(
        'replaced',
        `${plural(replaced.length, 'item')} re-signed after a change the store makes itself (${[...new Set(replaced.map((r) => r.r))].join(', ')})`,
        keysOf(replaced),
      ),
    );
  }
  if (items.length === 0 && signed.size === 0 && findings.length === 0) return undefined;

  const problems = findings.filter((f) => f.problem);
  const status: BucketReport['status'] =
    problems.length > 0 ? 'tampered' : findings.some((f) => f.kind === 'pending') ? 'pending' : 'ok';
  const signedText = s.signedAt.length > 0 ? ` signed at ${s.signedAt.join(', ')}` : '';
  let integrity: Integrity;
  let why: string;
  if (status === 'tampered') {
    integrity = 'observed';
    why = problems.map((p) => p.detail).join('; ');
  } else if (status === 'pending') {
    integrity = 'unknown';
    why = `${diff.matching} of ${items.length} items match the hashes${signedText}; the rest were written since and are not signed yet`;
  } else if (diff.expired.length > 0) {
    integrity = 'derived';
    why = `${plural(diff.matching, 'item')} match the hashes${signedText}; ${diff.expired.length} more expired under retention`;
  } else {
    integrity = 'observed';
    why = `${plural(diff.matching, 'item')} match the hashes${signedText}`;
  }
  return { scope, bucket, status, integrity, why, items: items.length, signedAt: s.signedAt, findings };
};

// -------------------------------------------------------------------------------------------------
// A cluster
// -------------------------------------------------------------------------------------------------

/**
 * Verifies a cluster (each ref its data is stored under, ClusterRegistry.joined) over a window of
 * hours, its mapping history, and the issuances: those of the window's hours, and every issuance
 * the window's requests were made with, wherever it is filed. An issuance stored for a key nobody
 * signed (a planted AssumeRole that would give a request a human) is found that way.
 */
export const verifyCluster = async (
  store: DigestStore,
  refs: readonly ClusterRef[],
  o: VerifyOptions,
): Promise<VerifyReport> => {
  const hours = hoursBetween(o.fromHour, o.toHour);
  const scopes: ScopeReport[] = [];
  const used = new Set<string>();
  for (const ref of refs) {
    const r = await verifyScope(
      store,
      { scope: clusterRefKey(ref), buckets: [...hours, HISTORY_BUCKET], accessKeys: true },
      o,
    );
    scopes.push(r.report);
    for (const k of r.accessKeys) used.add(k);
  }
  const issued = await store.coveredItems([...used].sort().map((k) => ({ pk: `CRED#${k}`, sk: 'CRED' })));
  const extraKeys = new Map<string, ItemKey[]>();
  for (const i of issued) {
    if (!i.b) continue;
    extraKeys.set(i.b, [...(extraKeys.get(i.b) ?? []), { pk: i.pk, sk: i.sk }]);
  }
  const issuances = await verifyScope(
    store,
    { scope: ISSUANCE_SCOPE, buckets: [...hours, ...extraKeys.keys()], extraKeys },
    o,
  );
  scopes.push(issuances.report);
  const problems = scopes.reduce(
    (n, s) =>
      n +
      s.chain.findings.filter((f) => f.problem).length +
      s.buckets.reduce((m, b) => m + b.findings.filter((f) => f.problem).length, 0),
    0,
  );
  return { ok: problems === 0, keyId: o.trusted.keyId, from: o.fromHour, to: o.toHour, scopes, problems };
};
