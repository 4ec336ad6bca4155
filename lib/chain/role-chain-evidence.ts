import { MAX_CHAIN_DEPTH } from './human.js';
import type { CorrelationEvidence, CredentialIssuance } from './types.js';

/**
 * Evidence is loaded with the issuances of the access keys the chains name. With role chaining the
 * issuance of a request's key names a caller that is itself a role session, whose own key was issued
 * by an earlier AssumeRole* (e.g. GitHub OIDC -> runner role -> deployer role). The correlator follows
 * that chain synchronously, so the earlier issuances must be loaded up front: this follows callers'
 * access keys, one round per hop, up to the correlator's own depth limit.
 */

export interface CredentialSource {
  credential(accessKeyId: string): Promise<CredentialIssuance | undefined>;
}

/** Access keys of the role-session callers behind `keys` that `known` cannot answer yet. */
const callerKeys = (
  keys: Iterable<string>,
  lookup: (k: string) => CredentialIssuance | undefined,
  seen: Set<string>,
): string[] => {
  const next = new Set<string>();
  for (const k of keys) {
    const caller = lookup(k)?.caller;
    const ck = caller?.type === 'AssumedRole' ? caller.accessKeyId : undefined;
    if (ck && !seen.has(ck)) next.add(ck);
  }
  return [...next].sort();
};

export const withRoleChains = async (
  evidence: CorrelationEvidence,
  keys: readonly string[],
  source: CredentialSource,
): Promise<CorrelationEvidence> => {
  const extra = new Map<string, CredentialIssuance>();
  const lookup = (k: string) => evidence.credentialFor(k) ?? extra.get(k);
  const seen = new Set(keys);
  let frontier = callerKeys(keys, lookup, seen);
  for (let depth = 0; frontier.length > 0 && depth < MAX_CHAIN_DEPTH; depth++) {
    for (const k of frontier) seen.add(k);
    const missing = frontier.filter((k) => evidence.credentialFor(k) === undefined);
    const found = await Promise.all(missing.map((k) => source.credential(k)));
    missing.forEach((k, i) => {
      const iss = found[i];
      if (iss) extra.set(k, iss);
    });
    frontier = callerKeys(frontier, lookup, seen);
  }
  if (extra.size === 0) return evidence;
  const chained: CorrelationEvidence = { mappingStateAt: (at) => evidence.mappingStateAt(at), credentialFor: lookup };
  const stateKey = evidence.mappingStateKeyAt?.bind(evidence);
  if (stateKey) chained.mappingStateKeyAt = stateKey;
  if (evidence.workload) chained.workload = evidence.workload;
  return chained;
};
