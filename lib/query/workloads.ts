import type { CredentialIssuance, DecisionChain, DeployerLink } from '../chain/types.js';
import { MappingTimeline } from '../identity/mapping-timeline.js';
import type { MappingChange } from '../identity/types.js';
import { ownerCandidatesOfPod } from '../identity/workload.js';
import type { ClusterRef, StoredRequest, StorePage, TimeRange } from '../store/trail-store.js';
import type { Column } from './format.js';
import { actorText } from './mappings.js';
import type { QuestionWindow } from './time-range.js';

/**
 * The `workloads` question: which Kubernetes service accounts could act as an IAM role at a time, on
 * which clusters, through what (a Pod Identity association in force, or an IRSA trust seen in use),
 * and which sessions each received (docs/formats.md §3.5). Pure over the clusters' mapping histories
 * and the role's pod issuances; the caller loads them.
 */

export interface WorkloadRow {
  /** `<account>/<cluster>` the pods run on. */
  cluster: string;
  namespace: string;
  serviceAccount: string;
  via: 'pod-identity-association' | 'pod-identity-target-role' | 'irsa' | 'pod-identity-session';
  association?: string;
  /** The association's role when the asked role is its target role. */
  throughRole?: string;
  since?: string;
  createdBy?: string;
  /** Sessions issued in the window. */
  sessions: number;
  firstSession?: string;
  lastSession?: string;
  pods: string[];
  note?: string;
}

interface Slot {
  row: WorkloadRow;
  key: string;
}

const clusterText = (r: { accountId?: string; cluster?: string }): string =>
  `${r.accountId ?? '_'}/${r.cluster ?? '(unknown cluster)'}`;

/**
 * One row per (cluster, service account, way): associations in force at `range.to` that bind the role
 * (as their role or their target role), then service accounts seen receiving sessions of the role in
 * the window that no association explains (IRSA, or associations the history does not hold).
 */
export const workloadRows = (
  roleMatchKey: string,
  clusters: readonly { ref: ClusterRef; changes: readonly MappingChange[] }[],
  issuances: readonly CredentialIssuance[],
  range: QuestionWindow,
  issuerClusters: ReadonlyMap<string, ClusterRef>,
): WorkloadRow[] => {
  const slots = new Map<string, Slot>();
  for (const { ref, changes } of clusters) {
    const state = new MappingTimeline(ref.cluster, changes).stateAt(range.to);
    if (state.deleted) continue;
    for (const a of state.podIdentityAssociations?.values() ?? []) {
      const asRole = a.roleMatchKey === roleMatchKey;
      const asTarget = a.targetRoleMatchKey === roleMatchKey;
      if (!asRole && !asTarget) continue;
      const row: WorkloadRow = {
        cluster: clusterText(ref),
        namespace: a.namespace,
        serviceAccount: a.serviceAccount,
        via: asTarget ? 'pod-identity-target-role' : 'pod-identity-association',
        since: a.created?.at ?? a.since,
        sessions: 0,
        pods: [],
      };
      if (a.associationId) row.association = a.associationId;
      if (asTarget) row.throughRole = a.roleArn;
      const by = actorText(a.created?.actor ?? a.actor);
      if (by) row.createdBy = by;
      const notes: string[] = [];
      if (asRole && a.targetRoleArn) notes.push(`pods end up with the target role ${a.targetRoleArn}`);
      if (a.disableSessionTags)
        notes.push('session tags disabled: sessions name their pod only in the cut session name');
      if (a.policy) notes.push('a session policy narrows the role for these pods');
      if (notes.length) row.note = notes.join('; ');
      slots.set(`${row.cluster}\u0000${row.namespace}/${row.serviceAccount}`, { row, key: row.cluster });
    }
  }
  for (const iss of issuances) {
    const w = iss.workload;
    if (!w?.namespace || !w.serviceAccount) continue;
    const t = Date.parse(iss.issuedAt);
    if (t < Date.parse(range.from) || t > Date.parse(range.to)) continue;
    const ref = w.kind === 'irsa' && w.issuer ? issuerClusters.get(w.issuer) : undefined;
    const cluster =
      w.kind === 'irsa'
        ? ref
          ? clusterText(ref)
          : `issuer ${w.issuer ?? '(unknown)'}`
        : clusterText({ accountId: w.accountId, cluster: w.cluster });
    const key = `${cluster}\u0000${w.namespace}/${w.serviceAccount}`;
    let slot = slots.get(key);
    if (!slot) {
      const row: WorkloadRow = {
        cluster,
        namespace: w.namespace,
        serviceAccount: w.serviceAccount,
        via: w.kind === 'irsa' ? 'irsa' : 'pod-identity-session',
        sessions: 0,
        pods: [],
        note:
          w.kind === 'irsa'
            ? "the role's trust policy admitted this service account's token (seen in use; the policy itself is not read)"
            : 'sessions seen, but no association binding the role is recorded at that time',
      };
      slot = { row, key: cluster };
      slots.set(key, slot);
    }
    const row = slot.row;
    row.sessions++;
    if (row.firstSession === undefined || iss.issuedAt < row.firstSession) row.firstSession = iss.issuedAt;
    if (row.lastSession === undefined || iss.issuedAt > row.lastSession) row.lastSession = iss.issuedAt;
    if (w.pod && !row.pods.includes(w.pod)) row.pods.push(w.pod);
  }
  for (const s of slots.values()) s.row.pods.sort();
  return [...slots.values()]
    .map((s) => s.row)
    .sort(
      (a, b) =>
        a.cluster.localeCompare(b.cluster) ||
        a.namespace.localeCompare(b.namespace) ||
        a.serviceAccount.localeCompare(b.serviceAccount),
    );
};

export const WORKLOAD_COLUMNS: Column<WorkloadRow>[] = [
  { key: 'cluster', header: 'cluster', maxWidth: 40 },
  { key: 'namespace', header: 'namespace' },
  { key: 'serviceAccount', header: 'service account' },
  { key: 'via', header: 'via' },
  { key: 'association', header: 'association' },
  { key: 'since', header: 'since', maxWidth: 27 },
  { key: 'createdBy', header: 'created by', maxWidth: 56 },
  { key: 'sessions', header: 'sessions' },
  { key: 'lastSession', header: 'last session', maxWidth: 27 },
  { key: 'pods', header: 'pods', maxWidth: 50 },
  { key: 'note', header: 'note', maxWidth: 60 },
];

/** CSV: one column per field, headed by its name. */
export const WORKLOAD_CSV_COLUMNS: Column<WorkloadRow>[] = [
  'cluster',
  'namespace',
  'serviceAccount',
  'via',
  'association',
  'throughRole',
  'since',
  'createdBy',
  'sessions',
  'firstSession',
  'lastSession',
  'pods',
  'note',
].map((key) => ({ key, header: key }));

// ---------------------------------------------------------------------------------------------
// Who deployed the pod
// ---------------------------------------------------------------------------------------------

const WRITE_VERBS = new Set(['create', 'update', 'patch']);
const DEPLOYER_LOOKBACK_MS = 90 * 86_400_000;

export interface DeployerSource {
  requestsByResource(
    ref: ClusterRef,
    sel: { namespace?: string; resource?: string; name?: string },
    range: TimeRange,
    page: { limit?: number; order?: 'newest-first' | 'oldest-first' },
  ): Promise<StorePage<StoredRequest>>;
  derive(records: readonly StoredRequest[]): Promise<DecisionChain[]>;
}

/**
 * Who created or last changed the pod's owner before `before`, from the pod cluster's audit trail. The
 * owner is read from the pod's name (lib/identity/workload.ts ownerCandidatesOfPod): a Deployment's pod
 * is `<deployment>-<hash>-<suffix>`. The trail does not keep pods' ownerReferences, so the link is
 * derived; it is unknown when no change of a likely owner is stored.
 */
export const deployerOf = async (
  src: DeployerSource,
  ref: ClusterRef,
  namespace: string,
  pod: string,
  before: string,
): Promise<DeployerLink> => {
  const candidates = ownerCandidatesOfPod(pod).filter((c) => c.resource !== 'replicasets');
  const to = Date.parse(before);
  const range = Number.isFinite(to)
    ? { from: new Date(to - DEPLOYER_LOOKBACK_MS).toISOString(), to: new Date(to).toISOString() }
    : {};
  for (const c of candidates) {
    const page = await src.requestsByResource(ref, { namespace, resource: c.resource, name: c.name }, range, {
      limit: 200,
      order: 'newest-first',
    });
    if (page.items.length === 0) continue;
    const chains = await src.derive(page.items);
    const writes = chains
      .filter((ch) => {
        const r = ch.request.value;
        return (
          r !== undefined &&
          WRITE_VERBS.has(r.verb ?? '') &&
          r.subresource === undefined &&
          ch.decision.value?.outcome === 'allow' &&
          (r.statusCode === undefined || r.statusCode < 400)
        );
      })
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    const last = writes[0];
    if (!last) continue;
    const r = last.request.value;
    const link: DeployerLink = {
      status: 'derived',
      owner: `${c.resource}.${c.group}/${namespace}/${c.name}`,
      why: `pod ${pod} is named after ${c.resource} ${namespace}/${c.name} (the trail does not keep a pod's ownerReferences); the newest change to it before ${before} in cluster ${ref.accountId}/${ref.cluster}'s audit trail`,
    };
    if (r?.verb) link.verb = r.verb;
    link.at = last.at;
    if (last.auditID) link.auditID = last.auditID;
    const username = last.k8sIdentity.value?.username;
    if (username) link.username = username;
    if (last.human.status !== 'unknown' && last.human.value) {
      link.human = last.human.value.identity;
      link.humanVia = last.human.value.via;
    }
    return link;
  }
  return {
    status: 'unknown',
    owner: candidates.map((c) => `${c.resource}.${c.group}/${namespace}/${c.name}`).join(' or ') || '(no owner name)',
    why: `no change of the likely owner of pod ${pod} is in cluster ${ref.accountId}/${ref.cluster}'s audit trail in the 90 days before ${before}`,
  };
};
