import { canonicalJson } from '../canonical-json.js';
import type { StoredAuditFacts } from '../store/trail-store.js';
import type { DecisionChain, Link } from './types.js';

/**
 * Stage ranks: one request's audit stages carry more as they go (docs/formats.md §2: ResponseStarted for
 * watches and 401s, ResponseComplete with the final status). Panic ends a request instead of
 * ResponseComplete. Chains not built from an audit stage (authenticator denials) rank as final.
 */
export const STAGE_RANK: Readonly<Record<string, number>> = {
  RequestReceived: 1,
  ResponseStarted: 2,
  Panic: 3,
  ResponseComplete: 4,
};
export const FINAL_RANK = 4;

export interface ChainRecord {
  chain: DecisionChain;
  facts: StoredAuditFacts;
}

export const LINK_KEYS = ['principal', 'human', 'mapping', 'k8sIdentity', 'decision', 'request'] as const;
export type LinkKey = (typeof LINK_KEYS)[number];

/**
 * A chain as merged from one or more stages, with, per link, the rank of the stage that supplied it.
 * The ranks are stored with the item so that merging a stage that is already in is a no-op.
 */
export interface MergedChain extends ChainRecord {
  rank: number;
  linkRanks: Record<LinkKey, number>;
}

export const stageRank = (r: ChainRecord): number => {
  const stage = r.facts?.event?.stage ?? r.chain.request?.value?.stage;
  if (r.chain.kind !== 'request' || stage === undefined) return FINAL_RANK;
  return STAGE_RANK[stage] ?? 0;
};

export const fromRecord = (r: ChainRecord): MergedChain => {
  const rank = stageRank(r);
  const linkRanks = Object.fromEntries(LINK_KEYS.map((k) => [k, rank])) as Record<LinkKey, number>;
  return { chain: r.chain, facts: r.facts, rank, linkRanks };
};

const STATUS_RANK: Record<string, number> = { unknown: 0, derived: 1, observed: 2 };

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Link order: known beats unknown whatever the stage, then the later stage, then a fixed textual tie-break. */
const compareLink = (a: Link<unknown> | undefined, ra: number, b: Link<unknown> | undefined, rb: number): number =>
  (STATUS_RANK[a?.status ?? 'unknown'] ?? 0) - (STATUS_RANK[b?.status ?? 'unknown'] ?? 0) ||
  ra - rb ||
  cmp(canonicalJson(a), canonicalJson(b));

/**
 * Join two merged states of one request. Facts and the chain's own fields come from the latest stage
 * (ties: larger canonical facts); each link is the best of the two by compareLink; pendingEnrichment
 * stays set only while every stage is still pending. Every part is a max (or an AND), so the join is
 * commutative, associative and idempotent: any arrival order and any redelivery end in the same item.
 */
export const joinChains = (a: MergedChain, b: MergedChain): MergedChain => {
  const factsOrder = a.rank - b.rank || cmp(canonicalJson(a.facts), canonicalJson(b.facts));
  const top = factsOrder >= 0 ? a : b;
  const chain: DecisionChain = { ...top.chain };
  const linkRanks = { ...top.linkRanks };
  for (const k of LINK_KEYS) {
    const pick = compareLink(a.chain[k], a.linkRanks[k], b.chain[k], b.linkRanks[k]) >= 0 ? a : b;
    (chain as unknown as Record<string, unknown>)[k] = pick.chain[k];
    linkRanks[k] = pick.linkRanks[k];
  }
  chain.pendingEnrichment = Boolean(a.chain.pendingEnrichment && b.chain.pendingEnrichment);
  return { chain, facts: top.facts, rank: Math.max(a.rank, b.rank), linkRanks };
};
