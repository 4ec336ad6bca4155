import type { AccessDeniedLine } from '../sources/types.js';
import type {
  ClusterRef,
  PageRequest,
  StoredAuthenticatorRecord,
  StoredRequest,
  StorePage,
  TimeRange,
} from '../store/trail-store.js';
import { UNKNOWN_ACCOUNT } from '../store/trail-store.js';
import { attachAuthnDenial, correlateAuditEvent, correlateAuthnFailure, stsLineFor } from './correlate.js';
import { fromRecord, joinChains } from './stage-merge.js';
import type { CorrelationEvidence, DecisionChain } from './types.js';

/**
 * Deriving a stored request's chain when a question is answered (docs/design.md, "facts at write
 * time, joins at read time"). The trail stores what each event said; which mapping applied and which
 * human held the key depend on other sources that may arrive late, so the correlator runs again over
 * the stored facts with the evidence as it is now. The correlator is deterministic and the evidence is
 * the same whatever order it arrived in, so the answer does not depend on arrival order.
 */

/** Access keys the stored stages name, for loading their issuances up front. */
export const accessKeysOf = (requests: readonly StoredRequest[]): string[] => {
  const keys = new Set<string>();
  for (const r of requests) {
    if (r.kind !== 'request') continue;
    for (const s of r.stages) for (const k of s.event.user.extra['accessKeyId'] ?? []) if (k !== '') keys.add(k);
  }
  return [...keys].sort();
};

/** What the authenticator stream adds to derivation (see authenticatorContext). */
export interface AuthenticatorContext {
  /** The `STS response` line of each denial, by the denial's CloudWatch event id. */
  stsLines: ReadonlyMap<string, StoredAuthenticatorRecord>;
  /** The denial matched to each unauthenticated (401) request, by `<cluster>#<auditID>`. */
  unauthenticated: ReadonlyMap<string, StoredAuthenticatorRecord>;
}

export const EMPTY_AUTHENTICATOR_CONTEXT: AuthenticatorContext = { stsLines: new Map(), unauthenticated: new Map() };

/**
 * Slack around a 401 request's [requestReceived, stageTimestamp] interval in which its denial line
 * must fall. The API server calls the token webhook while handling the request, so the line is logged
 * inside the interval; the slack absorbs the CloudWatch ms clock vs the audit µs clock.
 */
export const DENIAL_JOIN_SLACK_MS = 1_000;

const requestKey = (r: { ref: ClusterRef; auditID: string }) => `${r.ref.cluster}#${r.auditID}`;

/** A request the authentication filter refused: a 401 audit event names nobody (docs/formats.md, "401"). */
export const isUnauthenticated = (r: StoredRequest): r is Extract<StoredRequest, { kind: 'request' }> =>
  r.kind === 'request' &&
  r.stages.some((s) => s.event.responseStatus?.code === 401) &&
  r.stages.every((s) => !s.event.user.username && !s.event.user.extra['canonicalArn']?.length);

const windowOf = (r: Extract<StoredRequest, { kind: 'request' }>): [number, number] | undefined => {
  const last = r.stages[r.stages.length - 1];
  const from = Date.parse(last?.event.requestReceivedTimestamp ?? '');
  if (!Number.isFinite(from)) return undefined;
  const stage = Date.parse(last?.event.stageTimestamp ?? '');
  const to = Number.isFinite(stage) && stage >= from ? stage : from;
  return [from - DENIAL_JOIN_SLACK_MS, to + DENIAL_JOIN_SLACK_MS];
};

const refKey = (ref: { cluster: string; accountId?: string }) => `${ref.accountId ?? ''}\u0000${ref.cluster}`;

/**
 * Joins 401 audit events (no user) to authenticator `access denied` lines by time alone. Time is the
 * only key, so only unambiguous pairs are joined: the request has exactly one denial of its cluster
 * in its window, and that denial falls in no other 401's window. Anything else stays unknown rather
 * than risk naming the wrong principal.
 */
export const matchUnauthenticatedRequests = (
  requests: readonly StoredRequest[],
  records: readonly StoredAuthenticatorRecord[],
): Map<string, StoredAuthenticatorRecord> => {
  const denials = records
    .filter((r) => r.line.kind === 'access-denied')
    .sort((a, b) => a.origin.timestamp - b.origin.timestamp);
  const candidates = new Map<string, StoredAuthenticatorRecord[]>();
  const claims = new Map<string, number>();
  for (const r of requests) {
    if (!isUnauthenticated(r)) continue;
    const w = windowOf(r);
    if (!w) continue;
    let lo = 0;
    let hi = denials.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((denials[mid] as StoredAuthenticatorRecord).origin.timestamp < w[0]) lo = mid + 1;
      else hi = mid;
    }
    const found: StoredAuthenticatorRecord[] = [];
    const key = refKey(r.ref);
    for (let i = lo; i < denials.length; i++) {
      const d = denials[i] as StoredAuthenticatorRecord;
      if (d.origin.timestamp > w[1]) break;
      if (refKey({ cluster: d.origin.cluster, accountId: r.ref.accountId }) !== key) continue;
      found.push(d);
      claims.set(d.origin.eventId, (claims.get(d.origin.eventId) ?? 0) + 1);
    }
    candidates.set(requestKey(r), found);
  }
  const out = new Map<string, StoredAuthenticatorRecord>();
  for (const [k, found] of candidates) {
    const only = found.length === 1 ? found[0] : undefined;
    if (only && claims.get(only.origin.eventId) === 1) out.set(k, only);
  }
  return out;
};

/** Everything derivation needs from a cluster's authenticator records. */
export const authenticatorContext = (
  requests: readonly StoredRequest[],
  records: readonly StoredAuthenticatorRecord[],
): AuthenticatorContext => {
  const stsLines = new Map<string, StoredAuthenticatorRecord>();
  const byStream = new Map<string, StoredAuthenticatorRecord[]>();
  for (const r of records) {
    if (r.line.kind !== 'sts-response') continue;
    const list = byStream.get(r.origin.logStream) ?? [];
    list.push(r);
    byStream.set(r.origin.logStream, list);
  }
  const denials = [
    ...records.filter((r) => r.line.kind === 'access-denied'),
    ...requests.flatMap((r) => (r.kind === 'authn-failure' ? [r.denial] : [])),
  ];
  for (const d of denials) {
    if (stsLines.has(d.origin.eventId)) continue;
    const sts = stsLineFor(
      { line: d.line as AccessDeniedLine, origin: d.origin },
      byStream.get(d.origin.logStream) ?? [],
    );
    const rec = sts ? records.find((r) => r.origin.eventId === sts.origin.eventId) : undefined;
    if (rec) stsLines.set(d.origin.eventId, rec);
  }
  return { stsLines, unauthenticated: matchUnauthenticatedRequests(requests, records) };
};

const stsOf = (ctx: AuthenticatorContext, denial: StoredAuthenticatorRecord) => {
  const r = ctx.stsLines.get(denial.origin.eventId);
  return r?.line.kind === 'sts-response' ? { line: r.line, origin: r.origin } : undefined;
};

/**
 * A log export names no account (its origin's account is empty): the request is answered under the
 * cluster it was read as, which is the account the registry joined its placeholder to
 * (docs/data-model.md, cluster registry), unless that is still the placeholder itself.
 */
const withAccount = <O extends { accountId?: string }>(origin: O, ref: ClusterRef): O =>
  !origin.accountId && ref.accountId !== UNKNOWN_ACCOUNT ? { ...origin, accountId: ref.accountId } : origin;

/**
 * The chain of one stored request with `evidence`. Each stage is correlated, and the stages are joined
 * (lib/chain/stage-merge.ts): facts from the latest stage, each link the best any stage supports.
 */
export const rederive = (
  request: StoredRequest,
  evidence: CorrelationEvidence,
  ctx: AuthenticatorContext = EMPTY_AUTHENTICATOR_CONTEXT,
): DecisionChain => {
  if (request.kind === 'authn-failure') {
    const d = request.denial;
    return correlateAuthnFailure(
      d.line as AccessDeniedLine,
      withAccount(d.origin, request.ref),
      evidence,
      stsOf(ctx, d),
    );
  }
  let merged: ReturnType<typeof fromRecord> | undefined;
  for (const facts of request.stages) {
    const chain = correlateAuditEvent(facts.event, withAccount(facts.origin, request.ref), evidence);
    const rec = fromRecord({ chain, facts });
    merged = merged ? joinChains(merged, rec) : rec;
  }
  const chain = (merged as ReturnType<typeof fromRecord>).chain;
  const denial = ctx.unauthenticated.get(requestKey(request));
  if (denial?.line.kind !== 'access-denied') return chain;
  return attachAuthnDenial(chain, { line: denial.line, origin: denial.origin }, stsOf(ctx, denial), evidence);
};

/** What deriving every request of a window reads. */
export interface DerivationSource {
  evidenceFor(ref: ClusterRef, accessKeys?: string[]): Promise<CorrelationEvidence>;
  requestsByCluster(ref: ClusterRef, range: TimeRange, page: PageRequest): Promise<StorePage<StoredRequest>>;
  authenticatorRecords(
    ref: ClusterRef,
    range: TimeRange,
    page: PageRequest,
  ): Promise<StorePage<StoredAuthenticatorRecord>>;
}

const allPages = async <T>(read: (page: PageRequest) => Promise<StorePage<T>>): Promise<T[]> => {
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
 * Every request of a cluster in a time range, derived with the evidence as it stands, sorted by
 * chainId. Evidence is loaded once, with every access key the requests name.
 */
export const finalChains = async (
  store: DerivationSource,
  ref: ClusterRef,
  range: { from: string; to: string },
): Promise<DecisionChain[]> => {
  const stored = await allPages((page) => store.requestsByCluster(ref, range, page));
  if (stored.length === 0) return [];
  let ctx = EMPTY_AUTHENTICATOR_CONTEXT;
  let stsKeys: string[] = [];
  if (stored.some((s) => s.kind === 'authn-failure' || isUnauthenticated(s))) {
    const records = await allPages((page) => store.authenticatorRecords(ref, range, page));
    ctx = authenticatorContext(stored, records);
    // Access keys of denied tokens, so their issuance (the human) is loaded with the evidence.
    stsKeys = [...ctx.stsLines.values()].flatMap((r) =>
      r.line.kind === 'sts-response' && r.line.accessKeyId ? [r.line.accessKeyId] : [],
    );
  }
  const keys = [...new Set([...accessKeysOf(stored), ...stsKeys])].sort();
  const evidence = await store.evidenceFor(ref, keys);
  return stored
    .map((s) => rederive(s, evidence, ctx))
    .sort((a, b) => (a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : 0));
};
