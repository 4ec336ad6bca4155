/**
 * Versioned identity-mapping state of one cluster (docs/design.md, principle 2): MappingChanges folded in time
 * order, so "which mappings were in force at T" is a lookup and arrival order never changes an answer.
 */

import { digitAt, isDigitAt } from '../sources/timestamps.js';
import type { ControlPlaneLogType } from '../sources/types.js';
import { bootstrapCreatorEntry } from './access-entry.js';
import { mappingOpTarget } from './mapping-op-target.js';
import type {
  AccessEntry,
  ClusterMappingState,
  MappingActor,
  MappingChange,
  MappingChangeOp,
  PodIdentityAssociation,
  StoredAssociation,
} from './types.js';
import { associationKey, withMatchKeys } from './workload.js';

export {
  accessEntryMatchKey,
  changesFromAuditEvent,
  changesFromCloudTrail,
  toChangeInstant,
} from './mapping-changes.js';

type StoredEntry = AccessEntry & { since: string; actor: MappingActor; sourceEventId: string };
type FoldState = Omit<ClusterMappingState, 'at' | 'cluster'>;

/**
 * A sortable instant in microseconds since the epoch. Sources differ in precision (CloudTrail seconds,
 * CloudWatch ms, audit µs), so the fraction is read past the millisecond Date.parse keeps.
 * NaN for text that is not a timestamp.
 */
export const instantMicros = (at: string): number => {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) return Number.NaN;
  // Places 4-6 of the fraction in `THH:MM:SS.ffffff`, read by hand: this runs for every request.
  let t = at.indexOf('T');
  while (t >= 0) {
    if (
      isDigitAt(at, t + 1) &&
      isDigitAt(at, t + 2) &&
      at.charCodeAt(t + 3) === 0x3a &&
      isDigitAt(at, t + 4) &&
      isDigitAt(at, t + 5) &&
      at.charCodeAt(t + 6) === 0x3a &&
      isDigitAt(at, t + 7) &&
      isDigitAt(at, t + 8) &&
      at.charCodeAt(t + 9) === 0x2e &&
      isDigitAt(at, t + 10)
    )
      break;
    t = at.indexOf('T', t + 1);
  }
  if (t < 0) return ms * 1000;
  let end = t + 10;
  while (end < t + 16 && isDigitAt(at, end)) end++;
  let micros = 0;
  for (let i = t + 13; i < t + 16; i++) micros = micros * 10 + (i < end ? digitAt(at, i) : 0);
  return ms * 1000 + micros;
};

/** Fold order within one instant and one source event: creation first, deletion last. */
const KIND_RANK: Record<MappingChangeOp['kind'], number> = {
  'cluster-created': 0,
  'cluster-oidc-issuer': 1,
  'auth-mode-set': 2,
  'logging-set': 3,
  'access-entry-put': 4,
  'access-entry-update': 5,
  'access-policy-associate': 6,
  'access-policy-disassociate': 7,
  'access-entry-delete': 8,
  'aws-auth-put': 9,
  'aws-auth-delete': 10,
  'pod-identity-association-put': 11,
  'pod-identity-association-update': 12,
  'pod-identity-association-delete': 13,
  'identity-provider-associate': 14,
  'identity-provider-disassociate': 15,
  'principal-id-observed': 16,
  'cluster-deleted': 17,
};

interface Keyed {
  change: MappingChange;
  time: number;
  json: string;
}

const compareKeyed = (a: Keyed, b: Keyed): number => {
  // Unparseable instants sort after every real one (and never apply at a real instant).
  const ta = Number.isNaN(a.time) ? Number.POSITIVE_INFINITY : a.time;
  const tb = Number.isNaN(b.time) ? Number.POSITIVE_INFINITY : b.time;
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.change.sourceEventId !== b.change.sourceEventId)
    return a.change.sourceEventId < b.change.sourceEventId ? -1 : 1;
  const ka = KIND_RANK[a.change.op.kind] ?? 99;
  const kb = KIND_RANK[b.change.op.kind] ?? 99;
  if (ka !== kb) return ka - kb;
  return a.json < b.json ? -1 : a.json > b.json ? 1 : 0;
};

const emptyState = (): FoldState => ({
  authModeKnown: false,
  accessEntries: new Map(),
  deleted: false,
});

/** Implicit creator entry, stamped with the change that caused it. */
const stampBootstrap = (state: FoldState, change: MappingChange): FoldState => {
  const creator = state.creator;
  const mode = state.authMode;
  if (!creator || !mode) return state;
  const entry = bootstrapCreatorEntry(creator, mode);
  if (!entry || state.accessEntries.has(entry.matchKey)) return state;
  const entries = new Map(state.accessEntries);
  entries.set(entry.matchKey, {
    ...entry,
    since: change.at,
    actor: change.actor,
    sourceEventId: change.sourceEventId,
  });
  return { ...state, accessEntries: entries };
};

const withEntry = (state: FoldState, key: string, entry: StoredEntry | undefined): FoldState => {
  const entries = new Map(state.accessEntries);
  if (entry) entries.set(key, entry);
  else entries.delete(key);
  return { ...state, accessEntries: entries };
};

/**
 * An update or association for an entry never seen created proves it exists (history before the
 * deployment); it is materialised as a STANDARD entry, the only type whose username and groups change.
 */
const implicitEntry = (principalArn: string, matchKey: string, change: MappingChange): StoredEntry => ({
  principalArn,
  matchKey,
  type: 'STANDARD',
  kubernetesGroups: [],
  policies: [],
  since: change.at,
  actor: change.actor,
  sourceEventId: change.sourceEventId,
});

const stamp = (change: MappingChange) => ({
  since: change.at,
  actor: change.actor,
  sourceEventId: change.sourceEventId,
});

const applyLogging = (
  current: ControlPlaneLogType[] | undefined,
  enabled: ControlPlaneLogType[],
  disabled: ControlPlaneLogType[],
): ControlPlaneLogType[] => {
  const set = new Set(current ?? []);
  for (const t of enabled) set.add(t);
  for (const t of disabled) set.delete(t);
  return [...set].sort();
};

/** The association with this id in the state, with its key. */
const findAssociation = (state: FoldState, id: string): [string, StoredAssociation] | undefined => {
  for (const [k, a] of state.podIdentityAssociations ?? new Map<string, StoredAssociation>())
    if (a.associationId === id) return [k, a];
  return undefined;
};

const withAssociation = (state: FoldState, key: string, a: StoredAssociation | undefined): FoldState => {
  const next = new Map(state.podIdentityAssociations ?? []);
  if (a) next.set(key, a);
  else next.delete(key);
  return { ...state, podIdentityAssociations: next };
};

/** An update's effect: the whole association from the response, else the request's delta. */
const updatedAssociation = (
  existing: PodIdentityAssociation | undefined,
  op: Extract<MappingChangeOp, { kind: 'pod-identity-association-update' }>,
): PodIdentityAssociation | undefined => {
  if (op.after) return { ...op.after };
  if (!existing) return undefined;
  const next: PodIdentityAssociation = { ...existing };
  if (op.roleArn !== undefined) next.roleArn = op.roleArn;
  if (op.targetRoleArn === null) {
    delete next.targetRoleArn;
    delete next.externalId;
  } else if (op.targetRoleArn !== undefined) next.targetRoleArn = op.targetRoleArn;
  if (op.disableSessionTags !== undefined) next.disableSessionTags = op.disableSessionTags;
  if (op.policy === null) delete next.policy;
  else if (op.policy !== undefined) next.policy = op.policy;
  const { roleMatchKey: _r, targetRoleMatchKey: _t, ...fields } = next;
  return withMatchKeys(fields);
};

const applyWorkloadChange = (state: FoldState, change: MappingChange): FoldState => {
  const op = change.op;
  switch (op.kind) {
    case 'cluster-oidc-issuer':
      return { ...state, oidcIssuer: { issuer: op.issuer, ...stamp(change) } };
    case 'pod-identity-association-put': {
      const a = op.association;
      const key = associationKey(a.namespace, a.serviceAccount);
      const existing = state.podIdentityAssociations?.get(key);
      // A put of the association already in force (redelivery, backfill snapshot) keeps its creation.
      const created =
        existing?.created && existing.associationId === a.associationId
          ? existing.created
          : { at: change.at, actor: change.actor, sourceEventId: change.sourceEventId };
      return withAssociation(state, key, { ...a, ...stamp(change), created });
    }
    case 'pod-identity-association-update': {
      const found = findAssociation(state, op.associationId);
      const next = updatedAssociation(found?.[1], op);
      if (!next) return state;
      const key = associationKey(next.namespace, next.serviceAccount);
      let out = found && found[0] !== key ? withAssociation(state, found[0], undefined) : state;
      const stored: StoredAssociation = { ...next, ...stamp(change) };
      if (found?.[1].created) stored.created = found[1].created;
      out = withAssociation(out, key, stored);
      return out;
    }
    case 'pod-identity-association-delete': {
      const found = findAssociation(state, op.associationId);
      if (found) return withAssociation(state, found[0], undefined);
      const b = op.before;
      if (!b) return state;
      const key = associationKey(b.namespace, b.serviceAccount);
      const there = state.podIdentityAssociations?.get(key);
      return there && (there.associationId === undefined || there.associationId === op.associationId)
        ? withAssociation(state, key, undefined)
        : state;
    }
    case 'identity-provider-associate': {
      const next = new Map(state.identityProviders ?? []);
      next.set(op.config.name, { ...op.config, ...stamp(change) });
      return { ...state, identityProviders: next };
    }
    case 'identity-provider-disassociate': {
      if (!state.identityProviders?.has(op.name)) return state;
      const next = new Map(state.identityProviders);
      next.delete(op.name);
      return { ...state, identityProviders: next };
    }
    default:
      return state;
  }
};

/** One step of the fold. Returns the same object when nothing changed (cheap snapshots). */
export const applyChange = (state: FoldState, change: MappingChange): FoldState => {
  const op = change.op;
  switch (op.kind) {
    case 'cluster-created': {
      // A (re)created cluster starts from nothing: mappings of a deleted namesake never carry over.
      const next: FoldState = {
        ...emptyState(),
        authMode: op.mode,
        authModeKnown: true,
        creator: { ...op.creator, since: change.at, sourceEventId: change.sourceEventId },
        enabledLogTypes: [...op.enabledLogTypes].sort(),
      };
      return stampBootstrap(next, change);
    }
    case 'cluster-deleted':
      return { ...emptyState(), deleted: true };
    case 'auth-mode-set': {
      const previous = state.authMode;
      const next: FoldState = { ...state, authMode: op.mode, authModeKnown: true };
      // Leaving CONFIG_MAP, the creator's invisible admin grant surfaces as an access entry (EKS creates
      // one for the creator on access-entry-capable platform versions; grant-k8s-access docs). Inferred
      // for the mode switch itself.
      return previous === 'CONFIG_MAP' && op.mode !== 'CONFIG_MAP' ? stampBootstrap(next, change) : next;
    }
    case 'logging-set':
      return { ...state, enabledLogTypes: applyLogging(state.enabledLogTypes, op.enabled, op.disabled) };
    case 'access-entry-put': {
      const existing = state.accessEntries.get(op.entry.matchKey);
      const entry: StoredEntry = {
        ...op.entry,
        kubernetesGroups: [...op.entry.kubernetesGroups],
        // A put over a live entry is a re-delivery or a backfill snapshot: associations and the bound
        // principal id are not part of it and survive.
        policies: existing?.policies ?? [],
        ...stamp(change),
      };
      const username = op.entry.username ?? existing?.username;
      if (username !== undefined) entry.username = username;
      else delete entry.username;
      if (existing?.principalId) entry.principalId = existing.principalId;
      if (existing?.bootstrapCreator) entry.bootstrapCreator = true;
      return withEntry(state, op.entry.matchKey, entry);
    }
    case 'access-entry-update': {
      const existing = state.accessEntries.get(op.matchKey) ?? implicitEntry(op.principalArn, op.matchKey, change);
      const entry: StoredEntry = { ...existing, ...stamp(change) };
      if (op.username !== undefined) entry.username = op.username;
      // kubernetesGroups are declarative: the update replaces the list (containers-roadmap#185).
      if (op.kubernetesGroups !== undefined) entry.kubernetesGroups = [...op.kubernetesGroups];
      return withEntry(state, op.matchKey, entry);
    }
    case 'access-entry-delete':
      // Deleting an entry also removes its policy associations: they live inside it.
      return state.accessEntries.has(op.matchKey) ? withEntry(state, op.matchKey, undefined) : state;
    case 'access-policy-associate': {
      const existing = state.accessEntries.get(op.matchKey) ?? implicitEntry(op.principalArn, op.matchKey, change);
      // Associating an already associated policy replaces its scope.
      const policies = existing.policies.filter((p) => p.policyArn !== op.association.policyArn);
      policies.push({
        policyArn: op.association.policyArn,
        scope: { type: op.association.scope.type, namespaces: [...op.association.scope.namespaces] },
      });
      return withEntry(state, op.matchKey, { ...existing, policies, ...stamp(change) });
    }
    case 'access-policy-disassociate': {
      const existing = state.accessEntries.get(op.matchKey);
      if (!existing?.policies.some((p) => p.policyArn === op.policyArn)) return state;
      const policies = existing.policies.filter((p) => p.policyArn !== op.policyArn);
      return withEntry(state, op.matchKey, { ...existing, policies, ...stamp(change) });
    }
    case 'aws-auth-put':
      return { ...state, awsAuth: { config: op.config, ...stamp(change) } };
    case 'aws-auth-delete':
      return { ...state, awsAuth: null };
    case 'principal-id-observed': {
      // EKS binds an entry to the principal that existed when it was created: the first id seen after
      // creation is that one; a later different id is a recreated principal and must not rebind.
      const existing = state.accessEntries.get(op.matchKey);
      if (!existing || existing.principalId || !op.principalId) return state;
      return withEntry(state, op.matchKey, { ...existing, principalId: op.principalId });
    }
    case 'cluster-oidc-issuer':
    case 'pod-identity-association-put':
    case 'pod-identity-association-update':
    case 'pod-identity-association-delete':
    case 'identity-provider-associate':
    case 'identity-provider-disassociate':
      return applyWorkloadChange(state, change);
    default:
      return state;
  }
};

/**
 * Folds one cluster's MappingChanges. Changes of other clusters are ignored; duplicates (same
 * sourceEventId, op kind and target) count once; ties in time break on sourceEventId, so any arrival
 * order yields the same states. The returned states share structure: treat them as read-only.
 */
export class MappingTimeline {
  readonly cluster: string;
  /** This cluster's changes, deduplicated, in fold order. */
  readonly changes: readonly MappingChange[];
  private readonly times: number[];
  private snapshots: FoldState[] | undefined;
  /** stateVersions[n]: the state version once the first n changes are in force (see stateVersionAt). */
  private stateVersions: number[] | undefined;

  constructor(cluster: string, changes: readonly MappingChange[]) {
    this.cluster = cluster;
    const byKey = new Map<string, Keyed>();
    for (const change of changes) {
      if (change.cluster !== cluster) continue;
      const keyed: Keyed = { change, time: instantMicros(change.at), json: JSON.stringify(change) };
      const key = `${change.sourceEventId}\u0000${change.op.kind}\u0000${mappingOpTarget(change.op)}`;
      const seen = byKey.get(key);
      if (!seen || compareKeyed(keyed, seen) < 0) byKey.set(key, keyed);
    }
    const sorted = [...byKey.values()].sort(compareKeyed);
    this.changes = sorted.map((k) => k.change);
    this.times = sorted.map((k) => (Number.isNaN(k.time) ? Number.POSITIVE_INFINITY : k.time));
  }

  /** Snapshot after each change, computed once on first use. */
  private states(): FoldState[] {
    if (!this.snapshots) {
      const out: FoldState[] = [];
      const versions = [0];
      let state = emptyState();
      for (const change of this.changes) {
        const next = applyChange(state, change);
        // applyChange hands back the very same object only when the change altered nothing.
        versions.push(next === state ? (versions[versions.length - 1] ?? 0) : versions.length);
        state = next;
        out.push(state);
      }
      this.snapshots = out;
      this.stateVersions = versions;
    }
    return this.snapshots;
  }

  /**
   * Number of changes in force at `at` (those at or before it). The correlator asks for the version
   * and then, when it must resolve, for the state at the same instant: the last answer is kept.
   */
  private lastCount: { at: string; n: number } | undefined;

  private countAt(at: string): number {
    if (this.lastCount?.at === at) return this.lastCount.n;
    const n = this.countAtUncached(at);
    this.lastCount = { at, n };
    return n;
  }

  private countAtUncached(at: string): number {
    const t = instantMicros(at);
    if (Number.isNaN(t)) return 0;
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.times[mid] ?? Number.POSITIVE_INFINITY) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Identifies the state in force at `at`: two instants get the same number exactly when the same
   * changes are in force at both, so a caller may reuse what it derived from that state.
   */
  versionAt(at: string): number {
    return this.countAt(at);
  }

  /**
   * Like versionAt, but two instants also share the number when the changes between them altered
   * nothing (a principal id seen again, a disassociation of what was never associated): the same
   * number means the same state. Most changes a busy cluster records are such repeats, and a caller
   * that keys what it derived from a state on this number keeps it across them.
   */
  stateVersionAt(at: string): number {
    const n = this.countAt(at);
    if (n === 0) return 0;
    this.states();
    return this.stateVersions?.[n] ?? n;
  }

  /** The mappings in force at `at` (changes at exactly `at` included). Unparseable `at`: the initial state. */
  stateAt(at: string): ClusterMappingState {
    const n = this.countAt(at);
    const state = n === 0 ? emptyState() : (this.states()[n - 1] ?? emptyState());
    return { ...state, cluster: this.cluster, at };
  }

  /** The change that produced the state in force at `at`, if any. */
  lastChangeAt(at: string): MappingChange | undefined {
    const n = this.countAt(at);
    return n === 0 ? undefined : this.changes[n - 1];
  }
}
