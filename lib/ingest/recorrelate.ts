import { correlateAuditEvent, correlateAuthnFailure } from '../chain/correlate.js';
import type { CorrelationEvidence, DecisionChain } from '../chain/types.js';
import type { Page, PageRequest, StoredChain, TimeRange } from '../store/dynamodb-trail-store.js';
import type { ClusterRef } from '../store/keys.js';
import type { StoredAuthenticatorRecord } from '../store/trail-store.js';
import { AUTHN_FACTS_STAGE } from './log-pipeline.js';

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

/**
 * One stored chain, re-derived with `evidence`. Returns the stored chain untouched when its facts
 * cannot support a re-derivation (facts trimmed to fit the item limit, or an authenticator denial
 * whose line is not in `denials`).
 */
export const recorrelateChain = (
  stored: StoredChain,
  evidence: CorrelationEvidence,
  denials: ReadonlyMap<string, StoredAuthenticatorRecord> = new Map(),
): DecisionChain => {
  const { chain, facts } = stored;
  if (chain.kind === 'authn-failure') {
    const eventId = eventIdOfAuthnChain(chain.chainId);
    const rec = eventId !== undefined ? denials.get(eventId) : undefined;
    if (rec?.line.kind !== 'access-denied') return chain;
    return fillFromStored(correlateAuthnFailure(rec.line, rec.origin, evidence), chain);
  }
  if (!facts || facts.event.stage === AUTHN_FACTS_STAGE || stored.trimmed?.includes('facts')) return chain;
  return fillFromStored(correlateAuditEvent(facts.event, facts.origin, evidence), chain);
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
  const denials = new Map<string, StoredAuthenticatorRecord>();
  if (stored.some((s) => s.chain.kind === 'authn-failure')) {
    const records = await allPages((page) => store.authenticatorRecords(ref, range, page));
    for (const r of records) if (r.line.kind === 'access-denied') denials.set(r.origin.eventId, r);
  }
  const evidence = await store.evidenceFor(ref.cluster, ref.accountId, accessKeysOf(stored));
  return stored
    .map((s) => recorrelateChain(s, evidence, denials))
    .sort((a, b) => (a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : 0));
};
