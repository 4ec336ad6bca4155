import {
  accessPolicyName,
  CONFIG_MAP_CREATOR_MAPPING,
  creatorPrincipalArn,
  effectiveAccessEntryGroups,
  effectiveAccessEntryUsername,
  isNodeEntryType,
} from '../identity/access-entry.js';
import { principalMatchKey } from '../identity/arn.js';
import { diffAwsAuth, rowCanMatch } from '../identity/aws-auth.js';
import { applyChange, MappingTimeline } from '../identity/mapping-timeline.js';
import type {
  AccessEntry,
  AccessPolicyAssociation,
  AwsAuthRow,
  ClusterMappingState,
  MappingActor,
  MappingChange,
  PodIdentityAssociation,
} from '../identity/types.js';
import { effectiveUsernamePrefix } from '../identity/workload.js';
import type { AuthenticationMode } from '../sources/types.js';
import type { StoredAuthenticatorRecord } from '../store/trail-store.js';
import { type PolicyField, policyField, policyFieldText } from './chain-rows.js';
import type { PrincipalFilter } from './params.js';
import { inRange, type QuestionWindow } from './time-range.js';

/**
 * Pure answers over a cluster's mapping history: who could authenticate at T (access-at) and the
 * timeline of changes with before/after (mappings history).
 */

export type AccessAtSource =
  | 'access-entry'
  | 'cluster-creator'
  | 'aws-auth-role'
  | 'aws-auth-user'
  | 'aws-auth-account'
  | 'oidc-provider'
  | 'authenticator';

/** Who made a mapping change: an AWS caller (CloudTrail), or a Kubernetes user (an aws-auth edit in the audit log). */
export interface ActorField {
  /** The caller's ARN (the STS session ARN for a role session), or for a Kubernetes user the IAM principal behind it. */
  arn?: string;
  principalId?: string;
  /** CloudTrail userIdentity.type when no ARN is given (e.g. AWSService). */
  type?: string;
  /** The AWS service that made the call on the caller's behalf (CloudTrail invokedBy). */
  invokedBy?: string;
  /** The Kubernetes username of an aws-auth edit. */
  k8sUser?: string;
}

export interface AccessAtRow {
  /** ARN as the mapping names it; for mapAccounts `arn:<p>:iam::<account>:*` (any principal of the account). */
  principal: string;
  source: AccessAtSource;
  /** Username template as configured (templates such as {{SessionName}} are expanded per request). */
  username?: string;
  groups: string[];
  /** Access policies associated with the entry. */
  policies: PolicyField[];
  entryType?: string;
  since?: string;
  actor?: ActorField;
  sourceEventId?: string;
  /** Why the row is noteworthy (shadowed, invisible grant, principal id binding…). */
  note?: string;
}

export interface AccessAtAnswer {
  at: string;
  authMode?: AuthenticationMode;
  authModeKnown: boolean;
  /** Effective mode used to decide which mappings apply (inferred when never observed). */
  effectiveMode: AuthenticationMode;
  clusterDeleted: boolean;
  rows: AccessAtRow[];
}

export const actorField = (actor: MappingActor | undefined): ActorField | undefined => {
  if (!actor) return undefined;
  const out: ActorField = {};
  const aws = actor.aws;
  if (aws) {
    const arn = aws.arn ?? aws.canonicalArn;
    if (arn) out.arn = arn;
    if (aws.principalId) out.principalId = aws.principalId;
    if (!arn && !aws.principalId && aws.type) out.type = aws.type;
    if (aws.invokedBy) out.invokedBy = aws.invokedBy;
  } else if (actor.k8sUsername) {
    out.k8sUser = actor.k8sUsername;
    if (actor.k8sCanonicalArn) out.arn = actor.k8sCanonicalArn;
  }
  return Object.keys(out).length > 0 ? out : undefined;
};

/** An actor in a few words, for the table. */
export const actorFieldText = (a: ActorField | undefined): string | undefined => {
  if (!a) return undefined;
  if (a.k8sUser) return a.arn ? `${a.k8sUser} (${a.arn})` : a.k8sUser;
  const who = a.arn ?? a.principalId ?? a.type;
  return who && a.invokedBy ? `${who} (via ${a.invokedBy})` : who;
};

export const actorText = (actor: MappingActor | undefined): string | undefined => {
  if (!actor) return undefined;
  const aws = actor.aws;
  if (aws) {
    const who = aws.arn ?? aws.canonicalArn ?? aws.principalId ?? aws.type;
    return aws.invokedBy ? `${who} (via ${aws.invokedBy})` : who;
  }
  if (actor.k8sUsername) {
    return actor.k8sCanonicalArn ? `${actor.k8sUsername} (${actor.k8sCanonicalArn})` : actor.k8sUsername;
  }
  return undefined;
};

export const policyText = (p: AccessPolicyAssociation): string => {
  const name = accessPolicyName(p.policyArn) ?? p.policyArn;
  return p.scope.type === 'namespace' ? `${name}@ns:${p.scope.namespaces.join(',')}` : `${name}@cluster`;
};

const cmpText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The mode that decides which mappers run: observed, else inferred as the resolver does. */
export const effectiveMode = (state: ClusterMappingState): AuthenticationMode =>
  state.authMode ?? (state.accessEntries.size > 0 ? 'API_AND_CONFIG_MAP' : 'CONFIG_MAP');

const entryRow = (e: AccessEntry & { since: string; actor: MappingActor; sourceEventId: string }): AccessAtRow => {
  const row: AccessAtRow = {
    principal: e.principalArn,
    source: e.bootstrapCreator ? 'cluster-creator' : 'access-entry',
    groups: [...e.kubernetesGroups],
    policies: e.policies.map(policyField).sort((a, b) => cmpText(policyFieldText(a), policyFieldText(b))),
    entryType: String(e.type),
    since: e.since,
    sourceEventId: e.sourceEventId,
  };
  if (e.username) row.username = e.username;
  const actor = actorField(e.actor);
  if (actor) row.actor = actor;
  const notes: string[] = [];
  if (e.bootstrapCreator) notes.push('bootstrap entry EKS created for the cluster creator');
  if (isNodeEntryType(e.type)) {
    notes.push(
      `node entry: admits nodes as ${effectiveAccessEntryUsername(e) ?? 'system:node:…'} in [${effectiveAccessEntryGroups(e).join(' ')}]`,
    );
  }
  if (e.principalId) notes.push(`bound to principal id ${e.principalId}: a recreated principal does not match`);
  if (notes.length) row.note = notes.join('; ');
  return row;
};

const awsAuthRow = (
  r: AwsAuthRow,
  since: { since: string; actor: MappingActor; sourceEventId: string },
  shadowedBy: boolean,
): AccessAtRow => {
  const row: AccessAtRow = {
    principal: r.arn,
    source: r.kind === 'role' ? 'aws-auth-role' : 'aws-auth-user',
    groups: [...r.groups],
    policies: [],
    since: since.since,
    sourceEventId: since.sourceEventId,
  };
  if (r.username) row.username = r.username;
  const actor = actorField(since.actor);
  if (actor) row.actor = actor;
  if (shadowedBy) row.note = 'shadowed: an access entry for the same principal takes precedence';
  return row;
};

const matches = (row: AccessAtRow, f: PrincipalFilter): boolean => {
  if (row.source === 'aws-auth-account') {
    return f.canonicalArn.split(':')[4] === row.principal.split(':')[4];
  }
  return principalMatchKey(row.principal) === f.matchKey || row.principal.toLowerCase() === f.matchKey;
};

/**
 * Every mapping through which some principal could authenticate at `at`, honouring the auth mode:
 * CONFIG_MAP runs aws-auth only (plus the creator's invisible static grant), API runs access entries only,
 * API_AND_CONFIG_MAP both, access entries first.
 */
export const accessAt = (
  cluster: string,
  changes: readonly MappingChange[],
  at: string,
  principal?: PrincipalFilter,
): AccessAtAnswer => {
  const timeline = new MappingTimeline(cluster, changes);
  const state = timeline.stateAt(at);
  const mode = effectiveMode(state);
  const rows: AccessAtRow[] = [];
  if (!state.deleted) {
    if (mode !== 'CONFIG_MAP') {
      for (const e of state.accessEntries.values()) rows.push(entryRow(e));
    }
    const creator = state.creator;
    if (mode === 'CONFIG_MAP' && creator) {
      // The creator's grant lives in the authenticator's static MountedFile, not in aws-auth: nobody
      // with kubectl can see or remove it (docs/formats.md §1.3 hosted-EKS observations).
      const arn = creatorPrincipalArn(creator) ?? creator.actor.arn ?? 'unknown creator';
      const row: AccessAtRow = {
        principal: arn,
        source: 'cluster-creator',
        username: CONFIG_MAP_CREATOR_MAPPING.username,
        groups: [...CONFIG_MAP_CREATOR_MAPPING.groups],
        policies: [],
        since: creator.since,
        sourceEventId: creator.sourceEventId,
        note: 'invisible grant: static authenticator mapping of the creator, not in aws-auth',
      };
      const actor = actorField({ aws: creator.actor });
      if (actor) row.actor = actor;
      rows.push(row);
    }
    const awsAuth = state.awsAuth;
    if (mode !== 'API' && awsAuth) {
      const entryKeys = new Set(mode === 'CONFIG_MAP' ? [] : state.accessEntries.keys());
      for (const r of [...awsAuth.config.roles, ...awsAuth.config.users]) {
        if (!rowCanMatch(r)) continue;
        rows.push(awsAuthRow(r, awsAuth, entryKeys.has(principalMatchKey(r.arn) ?? r.matchKey)));
      }
      for (const account of awsAuth.config.accounts) {
        const row: AccessAtRow = {
          principal: `arn:aws:iam::${account}:*`,
          source: 'aws-auth-account',
          username: '<canonical ARN of the caller>',
          groups: [],
          policies: [],
          since: awsAuth.since,
          sourceEventId: awsAuth.sourceEventId,
          note: 'mapAccounts: any principal of the account not mapped otherwise, username = its ARN, no groups',
        };
        const actor = actorField(awsAuth.actor);
        if (actor) row.actor = actor;
        rows.push(row);
      }
    }
  }
  // An OIDC provider admits its users whatever the authentication mode: it is not an IAM mapper.
  if (!state.deleted) {
    for (const p of state.identityProviders?.values() ?? []) {
      const prefix = effectiveUsernamePrefix(p);
      const row: AccessAtRow = {
        principal: p.issuerUrl,
        source: 'oidc-provider',
        username: `${prefix}<${p.usernameClaim ?? 'sub'} claim>`,
        groups: p.groupsClaim ? [`${p.groupsPrefix ?? ''}<${p.groupsClaim} claim>`] : [],
        policies: [],
        since: p.since,
        sourceEventId: p.sourceEventId,
        note: `OIDC identity provider ${p.name}${p.clientId ? ` (client ${p.clientId})` : ''}: any user the issuer vouches for${
          p.requiredClaims
            ? ` with ${Object.entries(p.requiredClaims)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}`
            : ''
        }; no IAM principal involved`,
      };
      const actor = actorField(p.actor);
      if (actor) row.actor = actor;
      rows.push(row);
    }
  }
  const order: Record<AccessAtSource, number> = {
    'cluster-creator': 0,
    'access-entry': 1,
    'aws-auth-role': 2,
    'aws-auth-user': 3,
    'aws-auth-account': 4,
    'oidc-provider': 5,
    authenticator: 6,
  };
  rows.sort(
    (a, b) => order[a.source] - order[b.source] || (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0),
  );
  const answer: AccessAtAnswer = {
    at,
    authModeKnown: state.authModeKnown,
    effectiveMode: mode,
    clusterDeleted: state.deleted,
    rows: principal ? rows.filter((r) => matches(r, principal)) : rows,
  };
  if (state.authMode) answer.authMode = state.authMode;
  return answer;
};

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

export interface HistoryRow {
  at: string;
  change: MappingChange['op']['kind'];
  /** Principal ARN the change concerns, or `(cluster)` for cluster-wide changes. */
  target: string;
  actor?: ActorField;
  source: MappingChange['source'];
  sourceEventId: string;
  /** `- old` / `+ new` lines. */
  diff: string[];
}

type FoldState = Parameters<typeof applyChange>[0];
type StoredEntry = AccessEntry & { since: string; actor: MappingActor; sourceEventId: string };

const entryLines = (e: StoredEntry | undefined): string[] => {
  if (!e) return [];
  return [
    `type=${e.type}`,
    `username=${e.username ?? '(default)'}`,
    `groups=[${e.kubernetesGroups.join(' ')}]`,
    `policies=[${e.policies.map(policyText).sort().join(' ')}]`,
    ...(e.principalId ? [`principalId=${e.principalId}`] : []),
  ];
};

const lineDiff = (before: string[], after: string[]): string[] => {
  const b = new Set(before);
  const a = new Set(after);
  return [
    ...before.filter((l) => !a.has(l)).map((l) => `- ${l}`),
    ...after.filter((l) => !b.has(l)).map((l) => `+ ${l}`),
  ];
};

const rowText = (r: AwsAuthRow): string =>
  `${r.kind} ${r.arn} -> ${r.username ?? '(no username)'} [${r.groups.join(' ')}]`;

const changeTarget = (c: MappingChange): { target: string; matchKey?: string } => {
  const op = c.op;
  switch (op.kind) {
    case 'access-entry-put':
      return { target: op.entry.principalArn, matchKey: op.entry.matchKey };
    case 'access-entry-update':
    case 'access-entry-delete':
    case 'access-policy-associate':
    case 'access-policy-disassociate':
      return { target: op.principalArn, matchKey: op.matchKey };
    case 'principal-id-observed':
      return { target: op.matchKey, matchKey: op.matchKey };
    case 'pod-identity-association-put':
      return { target: associationTarget(op.association) };
    case 'pod-identity-association-update':
      return { target: op.after ? associationTarget(op.after) : `association ${op.associationId}` };
    case 'pod-identity-association-delete':
      return { target: op.before ? associationTarget(op.before) : `association ${op.associationId}` };
    case 'identity-provider-associate':
      return { target: `oidc provider ${op.config.name}` };
    case 'identity-provider-disassociate':
      return { target: `oidc provider ${op.name}` };
    default:
      return { target: '(cluster)' };
  }
};

const associationTarget = (a: Pick<PodIdentityAssociation, 'namespace' | 'serviceAccount' | 'associationId'>) =>
  `serviceaccount ${a.namespace}/${a.serviceAccount}${a.associationId ? ` (${a.associationId})` : ''}`;

/** The lines of an association, for before/after diffs. */
export const associationLines = (a: PodIdentityAssociation | undefined): string[] =>
  a
    ? [
        `association=${a.associationId ?? '(id unknown)'}`,
        `serviceAccount=${a.namespace}/${a.serviceAccount}`,
        `roleArn=${a.roleArn}`,
        ...(a.targetRoleArn ? [`targetRoleArn=${a.targetRoleArn}`] : []),
        ...(a.disableSessionTags ? ['disableSessionTags=true'] : []),
        ...(a.policy ? [`policy=${a.policy}`] : []),
      ]
    : [];

const providerLines = (p: import('../sources/types.js').OidcIdentityProviderConfig | undefined): string[] =>
  p
    ? [
        `provider=${p.name}`,
        `issuerUrl=${p.issuerUrl}`,
        ...(p.clientId ? [`clientId=${p.clientId}`] : []),
        `usernameClaim=${p.usernameClaim ?? 'sub'}`,
        `usernamePrefix=${JSON.stringify(effectiveUsernamePrefix(p))}`,
        ...(p.groupsClaim
          ? [`groupsClaim=${p.groupsClaim}`, `groupsPrefix=${JSON.stringify(p.groupsPrefix ?? '')}`]
          : []),
        ...Object.entries(p.requiredClaims ?? {}).map(([k, v]) => `requiredClaim ${k}=${v}`),
      ]
    : [];

/** The association a change is about, before and after it. */
const associationOfChange = (c: MappingChange, state: FoldState): PodIdentityAssociation | undefined => {
  const op = c.op;
  const all = [...(state.podIdentityAssociations?.values() ?? [])];
  switch (op.kind) {
    case 'pod-identity-association-put':
      return state.podIdentityAssociations?.get(`${op.association.namespace}/${op.association.serviceAccount}`);
    case 'pod-identity-association-update':
    case 'pod-identity-association-delete':
      return all.find((a) => a.associationId === op.associationId);
    default:
      return undefined;
  }
};

const diffOf = (c: MappingChange, before: FoldState, after: FoldState): string[] => {
  const op = c.op;
  const { matchKey } = changeTarget(c);
  if (matchKey !== undefined && op.kind !== 'principal-id-observed') {
    return lineDiff(entryLines(before.accessEntries.get(matchKey)), entryLines(after.accessEntries.get(matchKey)));
  }
  switch (op.kind) {
    case 'aws-auth-put':
    case 'aws-auth-delete': {
      const d = diffAwsAuth(before.awsAuth?.config, after.awsAuth?.config);
      const lines = [
        ...d.removed.map((r) => `- ${rowText(r)}`),
        ...d.added.map((r) => `+ ${rowText(r)}`),
        ...d.changed.flatMap((ch) => [`- ${rowText(ch.before)}`, `+ ${rowText(ch.after)}`]),
        ...d.accountsRemoved.map((a) => `- mapAccounts ${a}`),
        ...d.accountsAdded.map((a) => `+ mapAccounts ${a}`),
      ];
      if (d.becameUnparseable)
        lines.push('! aws-auth became partly unparseable: the authenticator keeps only the good parts');
      if (op.kind === 'aws-auth-delete') lines.push('- aws-auth ConfigMap deleted');
      if (before.awsAuth === undefined && op.kind === 'aws-auth-put') lines.unshift('+ first aws-auth version seen');
      return lines;
    }
    case 'auth-mode-set':
      return lineDiff(before.authMode ? [`authenticationMode=${before.authMode}`] : [], [
        `authenticationMode=${op.mode}`,
      ]);
    case 'cluster-created': {
      const creator = op.creator.canonicalArn ?? op.creator.actor.arn ?? 'unknown';
      return [
        `+ cluster created in ${op.mode} by ${creator}`,
        `+ bootstrapClusterCreatorAdminPermissions=${op.creator.bootstrapAdmin}`,
        ...(op.enabledLogTypes.length ? [`+ logging=[${op.enabledLogTypes.join(' ')}]`] : []),
      ];
    }
    case 'cluster-deleted':
      return ['- cluster deleted'];
    case 'logging-set':
      return lineDiff(
        [`logging=[${(before.enabledLogTypes ?? []).join(' ')}]`],
        [`logging=[${(after.enabledLogTypes ?? []).join(' ')}]`],
      );
    case 'principal-id-observed':
      return [`+ ${op.matchKey} seen with principal id ${op.principalId}`];
    case 'cluster-oidc-issuer':
      return lineDiff(before.oidcIssuer ? [`oidcIssuer=${before.oidcIssuer.issuer}`] : [], [`oidcIssuer=${op.issuer}`]);
    case 'pod-identity-association-put':
    case 'pod-identity-association-update':
    case 'pod-identity-association-delete': {
      const b = associationOfChange(c, before);
      const a = op.kind === 'pod-identity-association-delete' ? undefined : associationOfChange(c, after);
      const lines = lineDiff(associationLines(b), associationLines(a));
      if (op.kind === 'pod-identity-association-delete' && !b && op.before)
        lines.push(...associationLines(op.before).map((l) => `- ${l}`));
      return lines;
    }
    case 'identity-provider-associate':
    case 'identity-provider-disassociate': {
      const name = op.kind === 'identity-provider-associate' ? op.config.name : op.name;
      return lineDiff(
        providerLines(before.identityProviders?.get(name)),
        providerLines(after.identityProviders?.get(name)),
      );
    }
    default:
      return [];
  }
};

const emptyFold = (): FoldState => ({ authModeKnown: false, accessEntries: new Map(), deleted: false });

/** True when an aws-auth change added, removed or changed the row of this principal (or its account). */
const awsAuthTouches = (before: FoldState, after: FoldState, f: PrincipalFilter): boolean => {
  const d = diffAwsAuth(before.awsAuth?.config, after.awsAuth?.config);
  const account = f.canonicalArn.split(':')[4];
  const rowHit = (r: AwsAuthRow) => r.matchKey === f.matchKey || principalMatchKey(r.arn) === f.matchKey;
  return (
    d.added.some(rowHit) ||
    d.removed.some(rowHit) ||
    d.changed.some((c) => rowHit(c.after) || rowHit(c.before)) ||
    d.accountsAdded.includes(account ?? '') ||
    d.accountsRemoved.includes(account ?? '')
  );
};

/**
 * The cluster's mapping changes in time order with before/after, folded once over the whole history so
 * each diff is against the true previous state (ties in time fold in the timeline's deterministic order).
 * `principal-id-observed` facts are bookkeeping, shown only when they bind an entry to a principal id.
 */
export const mappingHistory = (
  cluster: string,
  changes: readonly MappingChange[],
  range: QuestionWindow,
  principal?: PrincipalFilter,
): HistoryRow[] => {
  const timeline = new MappingTimeline(cluster, changes);
  let state = emptyFold();
  const rows: HistoryRow[] = [];
  for (const c of timeline.changes) {
    const before = state;
    state = applyChange(state, c);
    if (!inRange(c.at, range)) continue;
    if (c.op.kind === 'principal-id-observed' && before === state) continue;
    const { target, matchKey } = changeTarget(c);
    if (principal) {
      const hit =
        matchKey !== undefined
          ? matchKey === principal.matchKey
          : c.op.kind === 'aws-auth-put' || c.op.kind === 'aws-auth-delete'
            ? awsAuthTouches(before, state, principal)
            : c.op.kind === 'cluster-created'
              ? principalMatchKey(c.op.creator.canonicalArn ?? c.op.creator.actor.arn) === principal.matchKey
              : c.op.kind.startsWith('pod-identity-association')
                ? [associationOfChange(c, before), associationOfChange(c, state)].some(
                    (a) => a?.roleMatchKey === principal.matchKey || a?.targetRoleMatchKey === principal.matchKey,
                  )
                : false;
      if (!hit) continue;
    }
    const row: HistoryRow = {
      at: c.at,
      change: c.op.kind,
      target,
      source: c.source,
      sourceEventId: c.sourceEventId,
      diff: diffOf(c, before, state),
    };
    const actor = actorField(c.actor);
    if (actor) row.actor = actor;
    rows.push(row);
  }
  return rows;
};

/**
 * How far before `at` access-at looks for the authenticator's own record of a mapping: an hour, since
 * a session's token is re-verified within minutes (its cache is short) while reading a busy cluster's
 * whole day of lines would cost more than the rest of the answer.
 */
export const AUTHENTICATOR_EVIDENCE_WINDOW_MS = 3_600_000;

/**
 * What the authenticator itself logged about who it admitted (docs/formats.md §1.3): `access granted`
 * lines map a principal to a username and groups at the moment of the line, and static-mapping lines
 * list mappings from its own files. They are evidence where the mapping history is silent (history not
 * backfilled, or a mapper the trail cannot see), so access-at shows them for principals no history row
 * names, newest line per principal, labelled with its time: a grant seen then, not proof it still held.
 */
export const authenticatorAccessRows = (
  records: readonly StoredAuthenticatorRecord[],
  covered: readonly AccessAtRow[],
  at: string,
  principal?: PrincipalFilter,
): AccessAtRow[] => {
  const known = new Set(covered.map((r) => (principalMatchKey(r.principal) ?? r.principal).toLowerCase()));
  const atMs = Date.parse(at);
  const newest = new Map<string, { row: AccessAtRow; t: number }>();
  for (const r of records) {
    const t = r.origin.timestamp;
    if (!Number.isFinite(t) || t > atMs) continue;
    const line = r.line;
    const when = new Date(t).toISOString();
    let arn: string | undefined;
    let row: AccessAtRow | undefined;
    if (line.kind === 'access-granted' && line.canonicalArn) {
      arn = line.canonicalArn;
      row = {
        principal: arn,
        source: 'authenticator',
        groups: [...line.groups],
        policies: [],
        since: when,
        note: `observed: the authenticator granted it at ${when} (line ${r.origin.eventId}); no mapping history names it`,
      };
      if (line.username) row.username = line.username;
    } else if (line.kind === 'static-mapping' && line.arn) {
      arn = line.arn;
      row = {
        principal: arn,
        source: 'authenticator',
        groups: [...line.groups],
        policies: [],
        since: when,
        note: `observed: the authenticator loaded a static ${line.mappingKind} mapping at ${when} (line ${r.origin.eventId})`,
      };
      if (line.username) row.username = line.username;
    }
    if (!arn || !row) continue;
    const key = (principalMatchKey(arn) ?? arn).toLowerCase();
    if (known.has(key)) continue;
    if (principal && key !== principal.matchKey) continue;
    const seen = newest.get(key);
    if (!seen || t > seen.t) newest.set(key, { row, t });
  }
  return [...newest.values()]
    .map((v) => v.row)
    .sort((a, b) => (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0));
};
