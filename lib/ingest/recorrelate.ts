import { attachAuthnDenial, correlateAuditEvent, correlateAuthnFailure, stsLineFor } from '../chain/correlate.js';
import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../chain/types.js';
import type { AccessDeniedLine } from '../sources/types.js';
import type { Page, PageRequest, StoredChain, TimeRange } from '../store/dynamodb-trail-store.js';
import type { ClusterRef } from '../store/keys.js';
import type { StoredAuthenticatorRecord } from '../store/trail-store.js';
import { AUTHN_FACTS_STAGE } from './log-pipeline.js';
import { withRoleChains } from './role-chain-evidence.js';

/**
 * Query-time re-derivation (DESIGN principle 1): a chain is stored with the links its evidence
 * allowed at write time. Mapping changes and AssumeRole* issuances that arrive later are not pushed
 * into every stored chain; instead readers run the correlator again over the stored facts with the
 * evidence as it is now. Because the correlator is deterministic and the evidence is the same
 * whatever order it arrived in, the answer no longer depends on arrival order.
 */

const LINKS = ['principal', 'human', 'mapping', 'k8sIdentity', 'decision', 'request'] as const;

/** What re-derivation reads; DynamoDbTrailStore provides it, the query layer passes it through. */
export interface RecorrelationSource {
  evidenceFor(cluster: string, accountId?: string, accessKeys?: string[]): Promise<CorrelationEvidence>;
  /** One issuance by access key: lets re-derivation follow role chains past the keys chains name. */
  credential?(accessKeyId: string): Promise<CredentialIssuance | undefined>;
  chainsByCluster(ref: ClusterRef, range?: TimeRange, page?: PageRequest): Promise<Page<StoredChain>>;
  authenticatorRecords(
    ref: ClusterRef,
    range?: TimeRange,
    page?: PageRequest,
  ): Promise<Page<StoredAuthenticatorRecord>>;
}

/** Access keys a stored chain's facts name, for loading their issuances up front. */
export const accessKeysOf = (stored: readonly StoredChain[]): string[] => {
  const keys = new Set<string>();
  for (const s of stored) {
    for (const k of s.facts?.event?.user?.extra?.['accessKeyId'] ?? []) if (k !== '') keys.add(k);
    const k = s.chain.principal?.value?.accessKeyId;
    if (k) keys.add(k);
  }
  return [...keys].sort();
};

const eventIdOfAuthnChain = (chainId: string): string | undefined => {
  const i = chainId.indexOf('#authn#');
  return i < 0 ? undefined : chainId.slice(i + '#authn#'.length);
};

/**
 * Fill links the fresh derivation left unknown from the stored chain: the store merged every audit
 * stage of the request, and a link one stage carried (e.g. a ResponseStarted 401 detail) may not be
 * derivable from the winning stage's facts alone.
 */
const fillFromStored = (fresh: DecisionChain, stored: DecisionChain): DecisionChain => {
  const out: DecisionChain = { ...fresh };
  let filled = false;
  for (const k of LINKS) {
    if (out[k].status === 'unknown' && stored[k] && stored[k].status !== 'unknown') {
      (out as unknown as Record<string, unknown>)[k] = stored[k];
      filled = true;
    }
  }
  if (filled) out.pendingEnrichment = fresh.pendingEnrichment && stored.pendingEnrichment;
  return out;
};

/** What the authenticator stream adds to re-derivation (see authenticatorContext). */
export interface AuthenticatorContext {
  /** `access denied` records by CloudWatch event id. */
  denials: ReadonlyMap<string, StoredAuthenticatorRecord>;
  /** The `STS response` line of each denial, by the denial's event id. */
  stsLines: ReadonlyMap<string, StoredAuthenticatorRecord>;
  /** The denial matched to each unauthenticated (401) request chain, by chainId. */
  unauthenticated: ReadonlyMap<string, StoredAuthenticatorRecord>;
}

const emptyContext: AuthenticatorContext = { denials: new Map(), stsLines: new Map(), unauthenticated: new Map() };

/**
 * Slack around a 401 request's [requestReceived, stageTimestamp] interval in which its denial line
 * must fall. The API server calls the token webhook while handling the request, so the line is logged
 * inside the interval; the slack absorbs the CloudWatch ms clock vs the audit µs clock.
 */
export const DENIAL_JOIN_SLACK_MS = 1_000;

const isUnauthenticatedRequest = (s: StoredChain): boolean =>
  s.chain.kind === 'request' &&
  s.chain.decision.value?.outcome === 'authn-failed' &&
  !s.chain.k8sIdentity.value?.username &&
  s.chain.principal.value?.canonicalArn === undefined;

const windowOf = (s: StoredChain): [number, number] | undefined => {
  const from = Date.parse(s.chain.at);
  if (!Number.isFinite(from)) return undefined;
  const stage = Date.parse(s.facts?.event.stageTimestamp ?? s.chain.at);
  const to = Number.isFinite(stage) && stage >= from ? stage : from;
  return [from - DENIAL_JOIN_SLACK_MS, to + DENIAL_JOIN_SLACK_MS];
};

/**
 * Joins 401 audit events (no user, FORMATS §2.4) to authenticator `access denied` lines by time
 * alone, as FORMATS prescribes. Time is the only key, so only unambiguous pairs are joined: the
 * request has exactly one denial of its cluster in its window, and that denial falls in no other 401's
 * window. Anything else stays unknown rather than risk naming the wrong principal.
 */
export const matchUnauthenticatedRequests = (
  stored: readonly StoredChain[],
  records: readonly StoredAuthenticatorRecord[],
): Map<string, StoredAuthenticatorRecord> => {
  const denials = records
    .filter((r) => r.line.kind === 'access-denied')
    .sort((a, b) => a.origin.timestamp - b.origin.timestamp);
  const clusterOf = (cluster: string, accountId: string | undefined) => `${accountId ?? ''}\u0000${cluster}`;
  const candidates = new Map<string, StoredAuthenticatorRecord[]>();
  const claims = new Map<string, number>();
  for (const s of stored) {
    if (!isUnauthenticatedRequest(s)) continue;
    const w = windowOf(s);
    if (!w) continue;
    let lo = 0;
    let hi = denials.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((denials[mid] as StoredAuthenticatorRecord).origin.timestamp < w[0]) lo = mid + 1;
      else hi = mid;
    }
    const found: StoredAuthenticatorRecord[] = [];
    const key = clusterOf(s.chain.cluster, s.chain.accountId);
    for (let i = lo; i < denials.length; i++) {
      const d = denials[i] as StoredAuthenticatorRecord;
      if (d.origin.timestamp > w[1]) break;
      if (clusterOf(d.origin.cluster, d.origin.accountId) !== key) continue;
      found.push(d);
      claims.set(d.origin.eventId, (claims.get(d.origin.eventId) ?? 0) + 1);
    }
    candidates.set(s.chain.chainId, found);
  }
  const out = new Map<string, StoredAuthenticatorRecord>();
  for (const [chainId, found] of candidates) {
    const only = found.length === 1 ? found[0] : undefined;
    if (only && claims.get(only.origin.eventId) === 1) out.set(chainId, only);
  }
  return out;
};

/** Everything re-derivation needs from a cluster's authenticator records. */
export const authenticatorContext = (
  stored: readonly StoredChain[],
  records: readonly StoredAuthenticatorRecord[],
): AuthenticatorContext => {
  const denials = new Map<string, StoredAuthenticatorRecord>();
  const stsLines = new Map<string, StoredAuthenticatorRecord>();
  const byStream = new Map<string, StoredAuthenticatorRecord[]>();
  for (const r of records) {
    if (r.line.kind === 'access-denied') denials.set(r.origin.eventId, r);
    if (r.line.kind === 'sts-response') {
      const list = byStream.get(r.origin.logStream) ?? [];
      list.push(r);
      byStream.set(r.origin.logStream, list);
    }
  }
  for (const [eventId, d] of denials) {
    const sts = stsLineFor(
      { line: d.line as AccessDeniedLine, origin: d.origin },
      byStream.get(d.origin.logStream) ?? [],
    );
    const rec = sts ? records.find((r) => r.origin.eventId === sts.origin.eventId) : undefined;
    if (rec) stsLines.set(eventId, rec);
  }
  return { denials, stsLines, unauthenticated: matchUnauthenticatedRequests(stored, records) };
};

const stsOf = (ctx: AuthenticatorContext, denial: StoredAuthenticatorRecord) => {
  const r = ctx.stsLines.get(denial.origin.eventId);
  return r?.line.kind === 'sts-response' ? { line: r.line, origin: r.origin } : undefined;
};

/**
 * One stored chain, re-derived with `evidence`. Returns the stored chain untouched when its facts
 * cannot support a re-derivation (facts trimmed to fit the item limit, or an authenticator denial
 * whose line is not in the context). `authn` is either the denial records by event id, or the full
 * authenticator context (which also joins 401 requests to their denial).
 */
export const recorrelateChain = (
  stored: StoredChain,
  evidence: CorrelationEvidence,
  authn: ReadonlyMap<string, StoredAuthenticatorRecord> | AuthenticatorContext = emptyContext,
): DecisionChain => {
  const ctx: AuthenticatorContext =
    'unauthenticated' in authn ? (authn as AuthenticatorContext) : { ...emptyContext, denials: authn };
  const { chain, facts } = stored;
  if (chain.kind === 'authn-failure') {
    const eventId = eventIdOfAuthnChain(chain.chainId);
    const rec = eventId !== undefined ? ctx.denials.get(eventId) : undefined;
    if (rec?.line.kind !== 'access-denied') return chain;
    return fillFromStored(correlateAuthnFailure(rec.line, rec.origin, evidence, stsOf(ctx, rec)), chain);
  }
  if (!facts || facts.event.stage === AUTHN_FACTS_STAGE || stored.trimmed?.includes('facts')) return chain;
  const fresh = fillFromStored(correlateAuditEvent(facts.event, facts.origin, evidence), chain);
  const denial = ctx.unauthenticated.get(chain.chainId);
  if (denial?.line.kind !== 'access-denied') return fresh;
  return attachAuthnDenial(fresh, { line: denial.line, origin: denial.origin }, stsOf(ctx, denial), evidence);
};

const allPages = async <T>(read: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> => {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await read({ limit: 1_000, order: 'oldest-first', ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
};

/**
 * Every chain of a cluster in a time range, re-derived from stored facts and current evidence,
 * sorted by chainId. Evidence is loaded once, with every access key the chains name.
 */
export const finalChains = async (
  store: RecorrelationSource,
  ref: ClusterRef,
  // Required: listings fan out over hour buckets x shards, so an open range would be thousands of queries.
  range: TimeRange,
): Promise<DecisionChain[]> => {
  const stored = await allPages((page) => store.chainsByCluster(ref, range, page));
  if (stored.length === 0) return [];
  let ctx = emptyContext;
  let stsKeys: string[] = [];
  if (stored.some((s) => s.chain.kind === 'authn-failure' || isUnauthenticatedRequest(s))) {
    const records = await allPages((page) => store.authenticatorRecords(ref, range, page));
    ctx = authenticatorContext(stored, records);
    // Access keys of denied tokens, so their issuance (the human) is loaded with the evidence.
    stsKeys = [...ctx.stsLines.values()].flatMap((r) =>
      r.line.kind === 'sts-response' && r.line.accessKeyId ? [r.line.accessKeyId] : [],
    );
  }
  const keys = [...new Set([...accessKeysOf(stored), ...stsKeys])].sort();
  const loaded = await store.evidenceFor(ref.cluster, ref.accountId, keys);
  const evidence = store.credential
    ? await withRoleChains(loaded, keys, { credential: store.credential.bind(store) })
    : loaded;
  return stored
    .map((s) => recorrelateChain(s, evidence, ctx))
    .sort((a, b) => (a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : 0));
};
