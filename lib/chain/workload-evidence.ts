import type { MappingTimeline } from '../identity/mapping-timeline.js';
import type { ClusterRefLike, CorrelationEvidence, CredentialIssuance, WorkloadEvidence } from './types.js';

/**
 * Loads what workload sessions need up front (the correlator is synchronous): for every issuance the
 * evidence holds that went to a pod, the cluster of an IRSA issuer and the mapping timeline of the
 * cluster the pod runs on (its Pod Identity associations). A session without session tags names its
 * cluster only by a 10-character prefix, so the timelines of every known cluster with that prefix are
 * loaded. Nothing is loaded when no issuance went to a pod.
 */

export interface WorkloadSource {
  issuerCluster(issuerKey: string): Promise<ClusterRefLike | undefined>;
  timeline(ref: ClusterRefLike): Promise<MappingTimeline>;
  clusters(): Promise<ClusterRefLike[]>;
}

const refKey = (r: ClusterRefLike): string => `${r.accountId}\u0000${r.cluster}`;

export const withWorkloads = async (
  evidence: CorrelationEvidence,
  keys: readonly string[],
  source: WorkloadSource,
): Promise<CorrelationEvidence> => {
  const issuances: CredentialIssuance[] = [];
  const seen = new Set<string>();
  // The keys and the callers up their role chains (a pod's session may assume further roles).
  let frontier = [...keys];
  for (let depth = 0; frontier.length > 0 && depth < 8; depth++) {
    const next: string[] = [];
    for (const k of frontier) {
      if (seen.has(k)) continue;
      seen.add(k);
      const iss = evidence.credentialFor(k);
      if (!iss) continue;
      if (iss.workload) issuances.push(iss);
      const caller = iss.caller.type === 'AssumedRole' ? iss.caller.accessKeyId : undefined;
      if (caller) next.push(caller);
    }
    frontier = next;
  }
  if (issuances.length === 0) return evidence;

  const issuers = new Map<string, ClusterRefLike | undefined>();
  const wanted = new Map<string, ClusterRefLike>();
  let all: ClusterRefLike[] | undefined;
  const known = async (): Promise<ClusterRefLike[]> => {
    all ??= await source.clusters();
    return all;
  };
  for (const iss of issuances) {
    const w = iss.workload;
    if (!w) continue;
    if (w.kind === 'irsa' && w.issuer) {
      if (!issuers.has(w.issuer)) issuers.set(w.issuer, await source.issuerCluster(w.issuer));
      const ref = issuers.get(w.issuer);
      if (ref) wanted.set(refKey(ref), ref);
      continue;
    }
    if (w.cluster && w.accountId) {
      const ref = { accountId: w.accountId, cluster: w.cluster };
      wanted.set(refKey(ref), ref);
    } else if (w.cluster) {
      for (const ref of await known()) if (ref.cluster === w.cluster) wanted.set(refKey(ref), ref);
    } else if (iss.sessionName?.startsWith('eks-')) {
      for (const ref of await known())
        if (iss.sessionName.startsWith(`eks-${ref.cluster.slice(0, 10)}-`)) wanted.set(refKey(ref), ref);
    }
  }
  const timelines = new Map<string, MappingTimeline>();
  for (const [k, ref] of wanted) timelines.set(k, await source.timeline(ref));
  const refs = [...wanted.values()];
  const workload: WorkloadEvidence = {
    clusterOfIssuer: (issuerKey) => issuers.get(issuerKey),
    stateOf: (ref, at) => timelines.get(refKey(ref))?.stateAt(at),
    clusters: () => refs,
  };
  return { ...evidence, workload };
};

/** Workload evidence over timelines held in memory (tests, local tools). */
export const inMemoryWorkloads = (input: {
  timelines: { ref: ClusterRefLike; timeline: MappingTimeline }[];
  issuers?: Record<string, ClusterRefLike>;
}): WorkloadEvidence => {
  const byRef = new Map(input.timelines.map((t) => [refKey(t.ref), t.timeline]));
  const refs = input.timelines.map((t) => t.ref);
  return {
    clusterOfIssuer: (issuerKey) => input.issuers?.[issuerKey],
    stateOf: (ref, at) => byRef.get(refKey(ref))?.stateAt(at),
    clusters: () => refs,
  };
};
