/**
 * Which identity mapping admitted a principal at a given state, replaying the authenticator's mapper
 * chain and precedence (docs/formats.md §1.5; grant-k8s-access): the log never says which mapper matched.
 */
import type { AuthenticationMode } from '../sources/types.js';
import {
  CONFIG_MAP_CREATOR_MAPPING,
  effectiveAccessEntryGroups,
  effectiveAccessEntryUsername,
} from './access-entry.js';
import { canonicalizeArn, principalMatchKey } from './arn.js';
import { rowCanMatch } from './aws-auth.js';
import { expandTemplate, type TemplateVars, templateMatches } from './templates.js';
import type {
  AccessEntry,
  AccessPolicyAssociation,
  AwsAuthRow,
  ClusterMappingState,
  MappingActor,
  MappingResolution,
  MappingSource,
} from './types.js';

export interface ResolveWho {
  /** Canonical ARN (audit extra.canonicalArn, `access granted` arn); an STS ARN is canonicalised. */
  canonicalArn: string;
  principalId?: string;
  /** The principal's account (not necessarily the cluster's). */
  accountId?: string;
  sessionName?: string;
  accessKeyId?: string;
}

export interface ResolveObserved {
  username?: string;
  /** As the audit event shows them; `system:authenticated` is ignored (the API server adds it). */
  groups?: string[];
}

/** AWS-owned roles EKS uses to manage the control plane; they live in an AWS account. */
const EKS_INTERNAL_ROLE = /^AWSWesleyClusterManagerLambda-/i;
const EKS_INTERNAL_USERNAMES: [RegExp, string][] = [
  [/-(Add-)?AddonManagerRole-/i, 'eks:addon-manager'],
  [/-NodeManagerRole-/i, 'eks:node-manager'],
  [/-FargateManagerRole-/i, 'eks:fargate-manager'],
];
const API_ADDED_GROUPS = new Set(['system:authenticated']);

interface Candidate {
  source: MappingSource;
  label: string;
  inForce: boolean;
  notInForceWhy?: string;
  usernameTemplate?: string;
  groupTemplates: string[];
  accessEntry?: AccessEntry;
  awsAuthRow?: AwsAuthRow;
  policies: AccessPolicyAssociation[];
  since?: string;
  actor?: MappingActor;
  sourceEventId?: string;
}

/** A plain AccessEntry copy, without the state's version stamps. */
const stripEntry = (e: AccessEntry): AccessEntry => {
  const entry: AccessEntry = {
    principalArn: e.principalArn,
    matchKey: e.matchKey,
    type: e.type,
    kubernetesGroups: [...e.kubernetesGroups],
    policies: e.policies.map((p) => ({
      policyArn: p.policyArn,
      scope: { ...p.scope, namespaces: [...p.scope.namespaces] },
    })),
  };
  if (e.username !== undefined) entry.username = e.username;
  if (e.principalId !== undefined) entry.principalId = e.principalId;
  if (e.bootstrapCreator) entry.bootstrapCreator = true;
  return entry;
};

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
};

const rowLabel = (row: AwsAuthRow): string => `aws-auth ${row.kind === 'role' ? 'mapRoles' : 'mapUsers'}[${row.index}]`;

/** Infer the mode when it was never observed: entries can only exist once the API is enabled. */
const modeOf = (state: ClusterMappingState): { mode: AuthenticationMode; note?: string } => {
  if (state.authModeKnown && state.authMode) return { mode: state.authMode };
  if (state.accessEntries.size > 0) {
    return {
      mode: 'API_AND_CONFIG_MAP',
      note: 'auth mode never observed; inferred API_AND_CONFIG_MAP because access entries exist',
    };
  }
  return { mode: 'CONFIG_MAP', note: 'auth mode never observed; inferred CONFIG_MAP because no access entry exists' };
};

/** Who is being resolved, normalised once: the key mappings are looked up by, and the template variables. */
interface Subject {
  key: string;
  canonicalArn: string;
  accountId?: string;
  name?: string;
  vars: TemplateVars;
  observedGroups?: string[];
}

const subjectOf = (who: ResolveWho, observed: ResolveObserved | undefined): Subject => {
  const canonical = canonicalizeArn(who.canonicalArn);
  const subject: Subject = {
    key: canonical.ok ? canonical.value.matchKey : who.canonicalArn.trim().toLowerCase(),
    canonicalArn: canonical.ok ? canonical.value.canonicalArn : who.canonicalArn.trim(),
    vars: {},
  };
  const accountId = who.accountId ?? (canonical.ok ? canonical.value.accountId : undefined);
  if (accountId !== undefined) {
    subject.accountId = accountId;
    subject.vars.accountId = accountId;
  }
  if (canonical.ok) subject.name = canonical.value.name;
  // IAM users, root and federated users have no session: the authenticator renders it as "".
  const sessionName =
    who.sessionName ??
    (canonical.ok && canonical.value.type !== 'assumed-role' && canonical.value.type !== 'role' ? '' : undefined);
  if (sessionName !== undefined) subject.vars.sessionName = sessionName;
  if (who.accessKeyId !== undefined) subject.vars.accessKeyId = who.accessKeyId;
  const observedGroups = observed?.groups?.filter((g) => !API_ADDED_GROUPS.has(g));
  if (observedGroups !== undefined) subject.observedGroups = observedGroups;
  return subject;
};

/** AWS-internal principals are mapped by a static file EKS does not expose. */
const eksInternalResolution = (
  subject: Subject,
  observed: ResolveObserved | undefined,
): MappingResolution | undefined => {
  if (subject.name === undefined || !EKS_INTERNAL_ROLE.test(subject.name)) return undefined;
  const name = subject.name;
  const guess = EKS_INTERNAL_USERNAMES.find(([re]) => re.test(name))?.[1];
  const username = observed?.username ?? guess;
  const res: MappingResolution = {
    source: 'eks-internal',
    groups: subject.observedGroups ?? [],
    policies: [],
    why: `${subject.canonicalArn} is an AWS-internal EKS management role, mapped by EKS's own static configuration`,
    shadowed: [],
  };
  if (username !== undefined) res.username = username;
  return res;
};

/** 1. CONFIG_MAP creator (MountedFile, consulted before aws-auth). */
const creatorCandidate = (state: ClusterMappingState, mode: AuthenticationMode, key: string): Candidate | undefined => {
  const creator = state.creator;
  if (mode !== 'CONFIG_MAP' || !creator?.bootstrapAdmin || !creator.canonicalArn) return undefined;
  if (principalMatchKey(creator.canonicalArn) !== key) return undefined;
  const c: Candidate = {
    source: 'cluster-creator',
    label: 'the cluster creator grant',
    inForce: true,
    usernameTemplate: CONFIG_MAP_CREATOR_MAPPING.username,
    groupTemplates: [...CONFIG_MAP_CREATOR_MAPPING.groups],
    policies: [],
    since: creator.since,
    sourceEventId: creator.sourceEventId,
  };
  if (creator.actor) c.actor = { aws: creator.actor };
  return c;
};

/** 2. Access entry (DynamicFile): bound to the principal id, not the ARN string. */
const accessEntryCandidate = (
  state: ClusterMappingState,
  mode: AuthenticationMode,
  key: string,
  who: ResolveWho,
  notes: string[],
): Candidate | undefined => {
  const stored = state.accessEntries.get(key);
  if (!stored) return undefined;
  const entry = stripEntry(stored);
  if (entry.principalId && who.principalId && entry.principalId !== who.principalId) {
    notes.push(
      `access entry for ${entry.principalArn} is bound to principal id ${entry.principalId} but the request came from ${who.principalId}: the principal was deleted and recreated, so the entry does not match`,
    );
    return undefined;
  }
  if (entry.principalId && !who.principalId) {
    notes.push(
      `access entry is bound to ${entry.principalId}; the request's principal id is unknown, so the binding is unchecked`,
    );
  }
  const c: Candidate = {
    source: entry.bootstrapCreator ? 'cluster-creator' : 'access-entry',
    label: entry.bootstrapCreator
      ? `the cluster creator's bootstrap access entry`
      : `access entry for ${entry.principalArn}`,
    inForce: mode !== 'CONFIG_MAP',
    groupTemplates: effectiveAccessEntryGroups(entry),
    accessEntry: entry,
    policies: entry.policies,
    since: stored.since,
    actor: stored.actor,
    sourceEventId: stored.sourceEventId,
  };
  const tpl = effectiveAccessEntryUsername(entry);
  if (tpl !== undefined) c.usernameTemplate = tpl;
  if (mode === 'CONFIG_MAP') c.notInForceWhy = 'access entries are ignored in CONFIG_MAP mode';
  return c;
};

/** 3-5. aws-auth (EKSConfigMap): roles, then users, then mapAccounts. */
const awsAuthCandidates = (
  state: ClusterMappingState,
  mode: AuthenticationMode,
  subject: Subject,
  notes: string[],
): Candidate[] => {
  const awsAuth = state.awsAuth;
  if (!awsAuth) {
    if (awsAuth === null && mode !== 'API') notes.push('aws-auth was deleted');
    return [];
  }
  const { key, accountId, canonicalArn } = subject;
  const out: Candidate[] = [];
  const inForce = mode !== 'API';
  const base = { since: awsAuth.since, actor: awsAuth.actor, sourceEventId: awsAuth.sourceEventId, policies: [] };
  const rowCandidate = (row: AwsAuthRow): Candidate => {
    const c: Candidate = {
      source: row.kind === 'role' ? 'aws-auth-role' : 'aws-auth-user',
      label: rowLabel(row),
      inForce,
      groupTemplates: [...row.groups],
      awsAuthRow: row,
      ...base,
    };
    if (row.username !== undefined) c.usernameTemplate = row.username;
    if (!inForce) c.notInForceWhy = 'aws-auth is ignored in API mode';
    return c;
  };
  for (const row of [...awsAuth.config.roles, ...awsAuth.config.users]) {
    if (row.matchKey === key && rowCanMatch(row)) {
      out.push(rowCandidate(row));
      if (row.flags.includes('case-ambiguous-duplicate')) {
        notes.push(`${rowLabel(row)} differs from another userarn only by case: the authenticator picks either`);
      }
    } else if (row.matchKey === key) {
      notes.push(`${rowLabel(row)} names this principal but never matches (${row.flags.join(', ')})`);
    } else if (row.flags.includes('path-never-matches') && principalMatchKey(row.arn) === key) {
      notes.push(`${rowLabel(row)} names this role with an IAM path and therefore never matches`);
    }
  }
  if (accountId !== undefined && awsAuth.config.accounts.includes(accountId)) {
    const c: Candidate = {
      source: 'aws-auth-account',
      label: `aws-auth mapAccounts ${accountId}`,
      inForce,
      // An unmapped identity from an allowed account becomes its canonical ARN with no groups.
      usernameTemplate: canonicalArn,
      groupTemplates: [],
      ...base,
    };
    if (!inForce) c.notInForceWhy = 'aws-auth is ignored in API mode';
    out.push(c);
  }
  if (!awsAuth.config.parseable) {
    notes.push(
      `aws-auth had unparseable keys (${awsAuth.config.problems.map((p) => p.key).join(', ')}); only the readable part applied`,
    );
  }
  return out;
};

/** Does the candidate's username template render to what the API server recorded? Undefined: nothing to compare. */
const consistentWith =
  (observed: ResolveObserved | undefined, vars: TemplateVars) =>
  (c: Candidate): boolean | undefined => {
    if (observed?.username === undefined || c.usernameTemplate === undefined) return undefined;
    return templateMatches(c.usernameTemplate, observed.username, vars);
  };

/**
 * The candidate in force by precedence, unless the observed username contradicts it and another
 * candidate matches: the recorded history is then incomplete, and the evidence of the request wins.
 */
const chooseCandidate = (
  candidates: readonly Candidate[],
  observed: ResolveObserved | undefined,
  consistent: (c: Candidate) => boolean | undefined,
  notes: string[],
): Candidate | undefined => {
  const inForce = candidates.filter((c) => c.inForce);
  const chosen = inForce[0];
  if (chosen && observed?.username !== undefined && consistent(chosen) === false) {
    const alternative = inForce.find((c) => consistent(c) === true) ?? candidates.find((c) => consistent(c) === true);
    if (!alternative) return chosen;
    notes.push(
      `precedence picks ${chosen.label}, but the observed username ${JSON.stringify(observed.username)} matches ${alternative.label}: the recorded history is incomplete or out of date`,
    );
    return alternative;
  }
  if (!chosen && observed?.username !== undefined) {
    const alternative = candidates.find((c) => consistent(c) === true);
    if (!alternative) return undefined;
    notes.push(
      `${alternative.label} is not in force (${alternative.notInForceWhy}), yet it matches the observed username: the recorded auth mode may be out of date`,
    );
    return alternative;
  }
  return chosen;
};

/** No candidate applies: the invisible creator grant, a reserved eks: user, or unmapped. */
const noMappingResolution = (
  state: ClusterMappingState,
  mode: AuthenticationMode,
  subject: Subject,
  candidates: readonly Candidate[],
  observed: ResolveObserved | undefined,
  notes: readonly string[],
): MappingResolution => {
  const shadowed = candidates.map((c) => ({ source: c.source, why: `${c.label} matched but ${c.notInForceWhy}` }));
  const observedGroups = subject.observedGroups ?? [];
  // The CONFIG_MAP-era creator grant is invisible in every source but its result.
  if (
    mode !== 'API' &&
    observed?.username === CONFIG_MAP_CREATOR_MAPPING.username &&
    observedGroups.includes('system:masters') &&
    !state.creator
  ) {
    return {
      source: 'cluster-creator',
      username: observed.username,
      groups: observedGroups,
      policies: [],
      why: [
        'no recorded mapping matches; kubernetes-admin in system:masters is the cluster creator grant, whose creator is not in the recorded history',
        ...notes,
      ].join('. '),
      shadowed,
    };
  }
  if (observed?.username?.startsWith('eks:')) {
    return {
      source: 'eks-internal',
      username: observed.username,
      groups: observedGroups,
      policies: [],
      why: ['no recorded mapping matches; the eks: username is reserved for EKS-internal identities', ...notes].join(
        '. ',
      ),
      shadowed,
    };
  }
  const why = [`no mapping for ${subject.canonicalArn} in ${mode}`];
  if (observed?.username !== undefined) {
    why.push(`yet it was authenticated as ${JSON.stringify(observed.username)}: the recorded history is incomplete`);
  }
  return { source: 'unmapped', groups: [], policies: [], why: [...why, ...notes].join('. '), shadowed };
};

/** The resolution of the chosen candidate: its templates rendered, differences from the observed identity named. */
const chosenResolution = (
  chosen: Candidate,
  candidates: readonly Candidate[],
  mode: AuthenticationMode,
  subject: Subject,
  observed: ResolveObserved | undefined,
  consistent: (c: Candidate) => boolean | undefined,
  notes: readonly string[],
): MappingResolution => {
  const res: MappingResolution = {
    source: chosen.source,
    groups: [],
    policies: chosen.policies,
    why: '',
    shadowed: candidates
      .filter((c) => c !== chosen)
      .map((c) => ({
        source: c.source,
        why: c.inForce
          ? `${c.label} also matches but ${chosen.label} takes precedence`
          : `${c.label} matches but ${c.notInForceWhy}`,
      })),
  };
  if (chosen.accessEntry) res.accessEntry = chosen.accessEntry;
  if (chosen.awsAuthRow) res.awsAuthRow = chosen.awsAuthRow;
  if (chosen.since !== undefined) res.since = chosen.since;
  if (chosen.actor !== undefined) res.actor = chosen.actor;
  if (chosen.sourceEventId !== undefined) res.sourceEventId = chosen.sourceEventId;

  const why = [`${chosen.label} maps ${subject.canonicalArn} (${mode})`];
  const rendered =
    chosen.usernameTemplate === undefined ? undefined : expandTemplate(chosen.usernameTemplate, subject.vars);
  if (rendered?.ok) {
    res.username = rendered.value;
    if (rendered.unresolved.length > 0) {
      why.push(
        `{{EC2PrivateDNSName}} of ${rendered.instanceId} cannot be resolved offline and is left as a placeholder`,
      );
      if (observed?.username !== undefined && consistent(chosen)) res.username = observed.username;
    }
  } else if (rendered && !rendered.ok) {
    if (rendered.error === 'no-instance-id') {
      why.push(`the authenticator denies this identity: ${rendered.message}`);
    } else if (observed?.username !== undefined && consistent(chosen)) {
      res.username = observed.username;
    } else {
      res.username = chosen.usernameTemplate;
      why.push(`username left as a template: ${rendered.message}`);
    }
  } else if (chosen.source === 'aws-auth-role' || chosen.source === 'aws-auth-user') {
    why.push('the row has no username');
  }
  for (const g of chosen.groupTemplates) {
    const r = expandTemplate(g, subject.vars);
    res.groups.push(r.ok ? r.value : g);
  }
  if (observed?.username !== undefined && res.username !== undefined && consistent(chosen) === false) {
    why.push(
      `observed username ${JSON.stringify(observed.username)} differs from the mapped ${JSON.stringify(res.username)}`,
    );
  }
  if (subject.observedGroups !== undefined && !sameSet(subject.observedGroups, res.groups)) {
    why.push(
      `observed groups [${subject.observedGroups.join(' ')}] differ from the mapped groups [${res.groups.join(' ')}]: the mapping in force may differ from the recorded one`,
    );
  }
  res.why = [...why, ...notes].join('. ');
  return res;
};

/**
 * Resolve the mapping in force for `who` in `state`. Precedence:
 *  - CONFIG_MAP: the creator's invisible kubernetes-admin grant, then aws-auth roles, users, mapAccounts;
 *  - API_AND_CONFIG_MAP: access entries, then aws-auth roles, users, mapAccounts;
 *  - API: access entries only.
 * When `observed` is given (what the audit event says the user was), a candidate consistent with it is
 * preferred over one that precedence alone would pick, and any disagreement is reported in `why`.
 */
export const resolveMapping = (
  state: ClusterMappingState,
  who: ResolveWho,
  observed?: ResolveObserved,
): MappingResolution => {
  const subject = subjectOf(who, observed);
  const internal = eksInternalResolution(subject, observed);
  if (internal) return internal;
  const { mode, note: modeNote } = modeOf(state);
  const notes: string[] = [];
  if (modeNote) notes.push(modeNote);
  if (state.deleted) notes.push('the cluster was deleted at this time');
  const candidates: Candidate[] = [];
  const creator = creatorCandidate(state, mode, subject.key);
  if (creator) candidates.push(creator);
  const entry = accessEntryCandidate(state, mode, subject.key, who, notes);
  if (entry) candidates.push(entry);
  candidates.push(...awsAuthCandidates(state, mode, subject, notes));
  const consistent = consistentWith(observed, subject.vars);
  const chosen = chooseCandidate(candidates, observed, consistent, notes);
  if (!chosen) return noMappingResolution(state, mode, subject, candidates, observed, notes);
  return chosenResolution(chosen, candidates, mode, subject, observed, consistent, notes);
};
