import { STS_LINE_MAX_GAP_MS } from '../chain/correlate.js';
import {
  type AuthenticatorContext,
  authenticatorContext,
  DENIAL_JOIN_SLACK_MS,
  isUnauthenticated,
} from '../chain/rederive.js';
import type {
  ClusterRef,
  PageRequest,
  StoredAuthenticatorRecord,
  StoredRequest,
  StorePage,
  TimeRange,
  TrailStore,
} from '../store/trail-store.js';

/**
 * A 401 audit event names nobody (docs/formats.md §2.4): who was refused and why is only on the
 * authenticator's `access denied` line, joined by time alone (lib/chain/rederive.ts
 * matchUnauthenticatedRequests). The query layer shows a page of chains at a time, so the records the
 * join needs are loaded per page: the authenticator lines of the page's time span, and the other 401s
 * near it, because a denial claimed by two requests must stay unjoined even when the second request
 * is on another page (or, for `explain`, not shown at all).
 */

/**
 * A 401 is answered by the authentication filter before any handler runs, so its audit stages are
 * milliseconds apart; a minute is a generous bound on how far before a page's span another 401 can
 * start and still reach into it.
 */
export const UNAUTHENTICATED_MAX_SPAN_MS = 60_000;

/**
 * Store pages read per load. The span of a page is bounded by the question's window, but a busy
 * cluster logs an authenticator line per token review: past this many, the join is skipped (links stay
 * unknown) rather than decided on a partial view.
 */
export const MAX_LOAD_PAGES = 20;
const LOAD_PAGE_LIMIT = 1_000;

/** Requests that the authenticator stream can complete: 401 requests and the denials themselves. */
const needsAuthenticator = (r: StoredRequest): boolean => r.kind === 'authn-failure' || isUnauthenticated(r);

/** [requestReceived, stageTimestamp] of a request in epoch ms, as matchUnauthenticatedRequests reads it. */
const spanOf = (r: StoredRequest): [number, number] | undefined => {
  if (r.kind === 'authn-failure') return [r.denial.origin.timestamp, r.denial.origin.timestamp];
  const last = r.stages[r.stages.length - 1];
  const from = Date.parse(last?.event.requestReceivedTimestamp ?? '');
  if (!Number.isFinite(from)) return undefined;
  const stage = Date.parse(last?.event.stageTimestamp ?? '');
  return [from, Number.isFinite(stage) && stage >= from ? stage : from];
};

const iso = (ms: number): string => new Date(ms).toISOString();

/** Overlapping or touching spans joined, in time order. */
const mergeSpans = (spans: [number, number][]): [number, number][] => {
  const out: [number, number][] = [];
  for (const s of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else out.push([s[0], s[1]]);
  }
  return out;
};

/** Every page of a listing, or undefined when it has more than MAX_LOAD_PAGES pages. */
const loadAll = async <T>(read: (page: PageRequest) => Promise<StorePage<T>>): Promise<T[] | undefined> => {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_LOAD_PAGES; pages++) {
    const page = await read(cursor === undefined ? { limit: LOAD_PAGE_LIMIT } : { limit: LOAD_PAGE_LIMIT, cursor });
    out.push(...page.items);
    cursor = page.cursor;
    if (cursor === undefined) return out;
  }
  return undefined;
};

const requestId = (r: StoredRequest): string =>
  r.kind === 'request' ? `${r.ref.cluster}#${r.auditID}` : `${r.ref.cluster}#authn#${r.denial.origin.eventId}`;

export interface PageAuthenticatorContext {
  context: AuthenticatorContext;
  /** Access keys of the denied tokens' `STS response` lines, so their issuance (the human) is loaded too. */
  accessKeys: string[];
}

/**
 * The authenticator context of one cluster's part of a page: one load of its authenticator records
 * over the page's span padded by the join window (and by the `STS response` gap, since that line
 * precedes its denial), and one load of the 401s around it. Undefined when the page holds no chain
 * the authenticator stream could complete.
 */
export const pageAuthenticatorContext = async (
  store: Pick<TrailStore, 'authenticatorRecords' | 'denials'>,
  ref: ClusterRef,
  records: readonly StoredRequest[],
): Promise<PageAuthenticatorContext | undefined> => {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  const spans: [number, number][] = [];
  for (const r of records) {
    if (!needsAuthenticator(r)) continue;
    const s = spanOf(r);
    if (!s) continue;
    lo = Math.min(lo, s[0]);
    hi = Math.max(hi, s[1]);
    spans.push([s[0] - DENIAL_JOIN_SLACK_MS - STS_LINE_MAX_GAP_MS, s[1] + DENIAL_JOIN_SLACK_MS]);
  }
  if (lo > hi) return undefined;
  const linesRange: TimeRange = {
    from: iso(lo - DENIAL_JOIN_SLACK_MS - STS_LINE_MAX_GAP_MS),
    to: iso(hi + DENIAL_JOIN_SLACK_MS),
  };
  // A page of denials can span hours of a busy cluster's authenticator stream, but the join needs only
  // the seconds around each of them.
  const within = mergeSpans(spans).map(([a, b]) => ({ from: iso(a), to: iso(b) }));
  // A denial in a page request's window is within DENIAL_JOIN_SLACK_MS of the span; another 401
  // claims it when the denial is within the slack of that 401's own window.
  const neighboursRange: TimeRange = {
    from: iso(lo - 2 * DENIAL_JOIN_SLACK_MS - UNAUTHENTICATED_MAX_SPAN_MS),
    to: iso(hi + 2 * DENIAL_JOIN_SLACK_MS),
  };
  const [lines, neighbours] = await Promise.all([
    loadAll((page) => store.authenticatorRecords(ref, linesRange, page, within)),
    loadAll((page) => store.denials(ref, neighboursRange, page)),
  ]);
  if (!lines) return { context: authenticatorContext([], []), accessKeys: [] };
  const requests = new Map<string, StoredRequest>();
  for (const r of [...records, ...(neighbours ?? [])]) requests.set(requestId(r), r);
  // Without the full set of nearby 401s a lone match may be a shared one: denials still re-derive
  // their own chains, but no 401 is joined.
  const context = authenticatorContext(neighbours ? [...requests.values()] : [], lines as StoredAuthenticatorRecord[]);
  const accessKeys = [
    ...new Set(
      [...context.stsLines.values()].flatMap((r) =>
        r.line.kind === 'sts-response' && r.line.accessKeyId ? [r.line.accessKeyId] : [],
      ),
    ),
  ].sort();
  return { context, accessKeys };
};
