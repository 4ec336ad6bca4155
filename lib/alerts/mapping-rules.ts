/**
 * Alert rules on identity-mapping changes. Each new MappingChange is judged against the mapping state
 * just before it in the cluster's versioned history (not the state at arrival), so a late or
 * redelivered change yields the same alerts whatever the arrival order; alert ids are deterministic
 * and the ledger (dispatch.ts) sends each one once.
 */
import type { CredentialIssuance, DecisionChain } from '../chain/types.js';
import {
  accessPolicyName,
  effectiveAccessEntryGroups,
  effectiveAccessEntryUsername,
  isAdminPolicy,
} from '../identity/access-entry.js';
import { diffAwsAuth, rowCanMatch } from '../identity/aws-auth.js';
import { applyChange, instantMicros, MappingTimeline } from '../identity/mapping-timeline.js';
import type { AccessEntry, AwsAuthConfig, AwsAuthRow, MappingActor, MappingChange } from '../identity/types.js';
import type { ControlPlaneLogType } from '../sources/types.js';
import { accountOfArn, alertActorOf, describeActor, humanBehind } from './alert-actors.js';
import { isAwsServiceActor, isEksManagedPrincipal, isEksManagedRow, isEksManagedUsername } from './eks-managed.js';
import { mappingChangeEvidence, requestEvidence } from './evidence.js';
import { mappingKeyOfChain } from './mapping-keys.js';
import { isSuppressed } from './suppressions.js';
import {
  type Alert,
  type AlertConfig,
  DEFAULT_ALERT_CONFIG,
  type MappingRuleId,
  maxSeverity,
  type Severity,
  severityRank,
} from './types.js';
import {
  type AdminMapping,
  adminMappingsOf,
  associationLines,
  associationSeverity,
  crossAccountTarget,
  isPrivilegedServiceAccount,
  plainAssociation,
  providerSummary,
  rolesOf,
} from './workload-rules.js';

/** The fold state MappingTimeline uses internally (ClusterMappingState without cluster and instant). */
type Fold = Parameters<typeof applyChange>[0];
type StoredEntry = Fold['accessEntries'] extends Map<string, infer E> ? E : never;

export const SYSTEM_MASTERS = 'system:masters';

/** Log types whose loss blinds this product (and any audit of the cluster). */
const WATCHED_LOG_TYPES: readonly ControlPlaneLogType[] = ['audit', 'authenticator'];

/** An access entry created and deleted again within this window looks like covering tracks. */
export const CHURN_WINDOW_MS = 3_600_000;

export interface EvaluateInput {
  /** Changes stored for the first time (or redelivered: the ledger dedupes alerts). */
  newChanges: MappingChange[];
  /** The clusters' full history (may or may not already include newChanges). */
  allChanges: MappingChange[];
  config: AlertConfig;
  /** AssumeRole* issuance of an access key, to name the human behind the actor. */
  credentialFor?(accessKeyId: string): CredentialIssuance | undefined;
  /**
   * Where else a role is mapped with admin rights, fleet-wide (watched clusters at `at`): a Pod Identity
   * association to such a role is an escalation path. Optional: without it only the association's own
   * cluster is checked.
   */
  adminMappingsElsewhere?(roleMatchKey: string, at: string): AdminMapping[];
}

/** What a rule proposes; evaluate() turns it into an Alert (ids, actor, human, suppression). */
interface Draft {
  ruleId: MappingRuleId;
  severity: Severity;
  title: string;
  lines: string[];
  /** Distinguishes several alerts of one rule from one event (a row, an account). */
  subKey?: string;
  before?: unknown;
  after?: unknown;
  principalArn?: string;
  policyArn?: string;
  notes?: string[];
  /** Overrides the event the id is derived from (churn: always the delete, whatever arrives first). */
  idEventId?: string;
  /** The change the alert is about when it is not the one being evaluated (churn: the delete). */
  anchor?: MappingChange;
  sourceEventIds?: string[];
  /** Start of the span the evidence covers when the alert is about two changes (churn: the create). */
  since?: string;
}

interface Ctx {
  change: MappingChange;
  before: Fold;
  after: Fold;
  /** This cluster's deduplicated history in fold order. */
  history: readonly MappingChange[];
  trusted: Set<string>;
  byAwsService: boolean;
  adminMappingsElsewhere?: EvaluateInput['adminMappingsElsewhere'];
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

const plainEntry = (e: AccessEntry | StoredEntry | undefined): Record<string, unknown> | undefined => {
  if (!e) return undefined;
  const out: Record<string, unknown> = {
    principalArn: e.principalArn,
    type: e.type,
    kubernetesGroups: [...e.kubernetesGroups],
    policies: e.policies.map((p) => ({ policyArn: p.policyArn, scope: p.scope })),
  };
  if (e.username !== undefined) out['username'] = e.username;
  if (e.bootstrapCreator) out['bootstrapCreator'] = true;
  return out;
};

const list = (xs: readonly string[]): string => (xs.length === 0 ? '(none)' : xs.join(', '));

const entryLines = (
  sign: '+' | '-',
  e: Pick<AccessEntry, 'principalArn' | 'type' | 'username' | 'kubernetesGroups'>,
) => [
  `${sign} principalArn: ${e.principalArn}`,
  `${sign} type: ${e.type}`,
  `${sign} username: ${e.username ?? '(EKS default)'}`,
  `${sign} kubernetesGroups: ${list(e.kubernetesGroups)}`,
];

const rowText = (row: AwsAuthRow): string => {
  const flags = row.flags.length > 0 ? ` [${row.flags.join(', ')}]` : '';
  return `${row.kind === 'role' ? 'rolearn' : 'userarn'}: ${row.arn} username: ${row.username ?? '(none)'} groups: ${list(row.groups)}${flags}`;
};

const configRows = (c: AwsAuthConfig | null | undefined): AwsAuthRow[] => [...(c?.roles ?? []), ...(c?.users ?? [])];

const plainConfig = (c: AwsAuthConfig | null | undefined): unknown =>
  c
    ? {
        mapRoles: c.roles.map((r) => ({ rolearn: r.arn, username: r.username, groups: r.groups })),
        mapUsers: c.users.map((r) => ({ userarn: r.arn, username: r.username, groups: r.groups })),
        mapAccounts: c.accounts,
        parseable: c.parseable,
      }
    : c;

const scopeText = (scope: { type: string; namespaces: string[] }): string =>
  scope.type === 'cluster' ? 'cluster scope' : `namespaces ${list(scope.namespaces)}`;

const policyLabel = (arn: string): string => accessPolicyName(arn) ?? arn;

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

const isNodeRow = (row: AwsAuthRow): boolean => row.groups.includes('system:nodes');

/** An account outside the trusted set, or undefined when the ARN's account is trusted or unknown. */
const untrustedAccount = (ctx: Ctx, arn: string): string | undefined => {
  if (ctx.trusted.size === 0) return undefined;
  const account = accountOfArn(arn);
  return account && !ctx.trusted.has(account) ? account : undefined;
};

const untrustedDraft = (ctx: Ctx, arn: string, via: string, subKey: string): Draft[] => {
  const account = untrustedAccount(ctx, arn);
  if (!account || isEksManagedPrincipal(arn)) return [];
  return [
    {
      ruleId: 'untrusted-account-mapping',
      severity: 'high',
      title: `${via} admits ${arn} from untrusted account ${account}`,
      lines: [`+ ${via}: ${arn}`, `  account ${account} is not in the trusted list (${list([...ctx.trusted])})`],
      subKey,
      principalArn: arn,
    },
  ];
};

const mastersDraft = (via: string, arn: string, subKey: string, lines: string[]): Draft => ({
  ruleId: 'system-masters-mapping',
  severity: 'critical',
  title: `${via} maps ${arn} to system:masters`,
  // system:masters is authorised before RBAC and webhooks and cannot be restricted (docs/formats.md §2.3).
  lines: [...lines, '  system:masters bypasses RBAC and access policies entirely and cannot be revoked by them'],
  subKey,
  principalArn: arn,
});

// ---------------------------------------------------------------------------------------------
// Access entries and policies
// ---------------------------------------------------------------------------------------------

/** Effective change: an explicit username equal to the EKS default is no change (the API echoes it back). */
const entryGroupsChanged = (before: StoredEntry | undefined, after: StoredEntry): boolean =>
  !before ||
  before.type !== after.type ||
  effectiveAccessEntryUsername(before) !== effectiveAccessEntryUsername(after) ||
  !sameList(before.kubernetesGroups, after.kubernetesGroups);

const churnDraft = (put: MappingChange, del: MappingChange): Draft => {
  // Both ends propose this alert; everything in it comes from the pair so either end gives the same.
  const principalArn = put.op.kind === 'access-entry-put' ? put.op.entry.principalArn : '(unknown principal)';
  const minutes = Math.round((instantMicros(del.at) - instantMicros(put.at)) / 60_000_000);
  return {
    ruleId: 'access-entry-churn',
    severity: 'high',
    title: `Access entry for ${principalArn} created and deleted within ${minutes} min`,
    lines: [`+ created ${put.at} (${put.sourceEventId})`, `- deleted ${del.at} (${del.sourceEventId})`],
    principalArn,
    idEventId: del.sourceEventId,
    anchor: del,
    sourceEventIds: [put.sourceEventId, del.sourceEventId],
    since: put.at,
    notes: ['a short-lived access entry can grant access while leaving no mapping behind to review'],
  };
};

const matchKeyOfOp = (c: MappingChange): string | undefined =>
  c.op.kind === 'access-entry-put'
    ? c.op.entry.matchKey
    : c.op.kind === 'access-entry-delete'
      ? c.op.matchKey
      : undefined;

const withinChurn = (put: MappingChange, del: MappingChange): boolean => {
  const d = instantMicros(del.at) - instantMicros(put.at);
  return d >= 0 && d <= CHURN_WINDOW_MS * 1000;
};

/** The delete of this entry within the window after a put, with no re-creation in between. */
const churnAfterPut = (ctx: Ctx, matchKey: string): MappingChange | undefined => {
  for (const c of ctx.history) {
    if (matchKeyOfOp(c) !== matchKey || instantMicros(c.at) < instantMicros(ctx.change.at)) continue;
    if (c.sourceEventId === ctx.change.sourceEventId) continue;
    if (c.op.kind === 'access-entry-put') return undefined;
    if (c.op.kind === 'access-entry-delete') return withinChurn(ctx.change, c) ? c : undefined;
  }
  return undefined;
};

/** The latest put of this entry within the window before a delete. */
const churnBeforeDelete = (ctx: Ctx, matchKey: string): MappingChange | undefined => {
  let found: MappingChange | undefined;
  for (const c of ctx.history) {
    if (c.op.kind !== 'access-entry-put' || c.op.entry.matchKey !== matchKey) continue;
    if (withinChurn(c, ctx.change)) found = c;
  }
  return found;
};

const accessEntryPut = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'access-entry-put') return [];
  const entry = op.entry;
  if (isEksManagedPrincipal(entry.principalArn) || isEksManagedUsername(entry.username)) return [];
  const existing = ctx.before.accessEntries.get(entry.matchKey);
  const stored = ctx.after.accessEntries.get(entry.matchKey);
  const out: Draft[] = [];
  if (stored && entryGroupsChanged(existing, stored)) {
    const nodeEntry = entry.type !== 'STANDARD';
    let severity: Severity = nodeEntry ? 'low' : 'medium';
    // EKS creates node-role entries itself when node groups are created in an API mode.
    if (ctx.byAwsService) severity = 'info';
    out.push(
      existing
        ? {
            ruleId: 'access-entry-updated',
            severity,
            title: `Access entry for ${entry.principalArn} replaced`,
            lines: [...entryLines('-', existing), ...entryLines('+', stored)],
            before: plainEntry(existing),
            after: plainEntry(stored),
            principalArn: entry.principalArn,
          }
        : {
            ruleId: 'access-entry-created',
            severity,
            title: `Access entry created for ${entry.principalArn}${nodeEntry ? ` (${entry.type})` : ''}`,
            lines: entryLines('+', stored),
            after: plainEntry(stored),
            principalArn: entry.principalArn,
          },
    );
    const groups = effectiveAccessEntryGroups(stored);
    if (groups.includes(SYSTEM_MASTERS) && !existing?.kubernetesGroups.includes(SYSTEM_MASTERS)) {
      out.push(
        mastersDraft('access entry', entry.principalArn, entry.matchKey, [
          `+ kubernetesGroups: ${list(stored.kubernetesGroups)}`,
        ]),
      );
    }
    if (!existing) out.push(...untrustedDraft(ctx, entry.principalArn, 'access entry', entry.matchKey));
  }
  const del = churnAfterPut(ctx, entry.matchKey);
  if (del) out.push(churnDraft(ctx.change, del));
  return out;
};

const accessEntryUpdate = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'access-entry-update') return [];
  if (isEksManagedPrincipal(op.principalArn)) return [];
  const existing = ctx.before.accessEntries.get(op.matchKey);
  const stored = ctx.after.accessEntries.get(op.matchKey);
  if (!stored || (existing && !entryGroupsChanged(existing, stored))) return [];
  const lines: string[] = [];
  if (!existing || effectiveAccessEntryUsername(existing) !== effectiveAccessEntryUsername(stored)) {
    if (existing) lines.push(`- username: ${existing.username ?? '(EKS default)'}`);
    lines.push(`+ username: ${stored.username ?? '(EKS default)'}`);
  }
  if (!existing || !sameList(existing.kubernetesGroups, stored.kubernetesGroups)) {
    if (existing) lines.push(`- kubernetesGroups: ${list(existing.kubernetesGroups)}`);
    lines.push(`+ kubernetesGroups: ${list(stored.kubernetesGroups)}`);
  }
  const out: Draft[] = [
    {
      ruleId: 'access-entry-updated',
      severity: ctx.byAwsService ? 'info' : 'medium',
      title: `Access entry for ${op.principalArn} updated`,
      lines: existing ? lines : [...lines, '  (the entry was created before the recorded history)'],
      before: plainEntry(existing),
      after: plainEntry(stored),
      principalArn: op.principalArn,
    },
  ];
  if (stored.kubernetesGroups.includes(SYSTEM_MASTERS) && !existing?.kubernetesGroups.includes(SYSTEM_MASTERS)) {
    out.push(
      mastersDraft('access entry', op.principalArn, op.matchKey, [
        `+ kubernetesGroups: ${list(stored.kubernetesGroups)}`,
      ]),
    );
  }
  return out;
};

const accessEntryDelete = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'access-entry-delete') return [];
  if (isEksManagedPrincipal(op.principalArn)) return [];
  const existing = ctx.before.accessEntries.get(op.matchKey);
  const out: Draft[] = [
    {
      ruleId: 'access-entry-deleted',
      // Removing an entry removes access: low; removing the creator's bootstrap admin entry is the
      // recommended clean-up: info.
      severity: existing?.bootstrapCreator ? 'info' : 'low',
      title: `Access entry for ${op.principalArn} deleted`,
      lines: existing
        ? entryLines('-', existing)
        : [`- principalArn: ${op.principalArn}`, '  (no earlier version of this entry is recorded)'],
      before: plainEntry(existing),
      principalArn: op.principalArn,
      ...(existing?.bootstrapCreator ? { notes: ["the cluster creator's bootstrap admin entry was removed"] } : {}),
    },
  ];
  const put = churnBeforeDelete(ctx, op.matchKey);
  if (put) out.push(churnDraft(put, ctx.change));
  return out;
};

const policyAssociate = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'access-policy-associate') return [];
  if (isEksManagedPrincipal(op.principalArn)) return [];
  const previous = ctx.before.accessEntries
    .get(op.matchKey)
    ?.policies.find((p) => p.policyArn === op.association.policyArn);
  const scope = op.association.scope;
  if (previous && previous.scope.type === scope.type && sameList(previous.scope.namespaces, scope.namespaces))
    return [];
  const admin = isAdminPolicy(op.association.policyArn);
  const severity: Severity = admin || scope.type === 'cluster' ? 'high' : 'medium';
  const name = policyLabel(op.association.policyArn);
  const lines = previous ? [`- ${name} (${scopeText(previous.scope)})`] : [];
  lines.push(`+ ${name} (${scopeText(scope)})`);
  const notes: string[] = [];
  if (admin) notes.push(`${name} is an admin policy`);
  if (scope.type === 'cluster') notes.push('cluster scope: applies to every namespace');
  return [
    {
      ruleId: 'access-policy-associated',
      severity: ctx.byAwsService ? 'info' : severity,
      title: `${name} associated with ${op.principalArn} (${scopeText(scope)})`,
      lines,
      before: previous,
      after: op.association,
      principalArn: op.principalArn,
      policyArn: op.association.policyArn,
      notes,
    },
  ];
};

const policyDisassociate = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'access-policy-disassociate') return [];
  if (isEksManagedPrincipal(op.principalArn)) return [];
  const previous = ctx.before.accessEntries.get(op.matchKey)?.policies.find((p) => p.policyArn === op.policyArn);
  const known = ctx.before.accessEntries.has(op.matchKey);
  // Disassociating a policy the entry does not have is a no-op (EKS answers it with an error anyway).
  if (known && !previous) return [];
  const name = policyLabel(op.policyArn);
  return [
    {
      ruleId: 'access-policy-disassociated',
      severity: 'low',
      title: `${name} disassociated from ${op.principalArn}`,
      lines: [`- ${name}${previous ? ` (${scopeText(previous.scope)})` : ''}`],
      before: previous,
      principalArn: op.principalArn,
      policyArn: op.policyArn,
    },
  ];
};

// ---------------------------------------------------------------------------------------------
// aws-auth
// ---------------------------------------------------------------------------------------------

const rowSub = (row: AwsAuthRow): string => `${row.kind}:${row.matchKey}`;

const awsAuthPut = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'aws-auth-put') return [];
  const previous = ctx.before.awsAuth;
  // A backfill's first snapshot is the baseline, not a change anyone made (posture reports its risks).
  if (previous === undefined && ctx.change.source === 'backfill') return [];
  const beforeConfig = previous === null || previous === undefined ? undefined : previous.config;
  const diff = diffAwsAuth(beforeConfig, op.config);
  const out: Draft[] = [];
  if (diff.becameUnparseable) {
    out.push({
      ruleId: 'aws-auth-unparseable',
      severity: 'critical',
      title: 'aws-auth can no longer be parsed: mappings silently dropped',
      // The authenticator keeps only the keys it could parse: nodes and admins mapped by the broken
      // key lose access (lockout risk).
      lines: op.config.problems.map((p) => `  ${p.key}: ${p.message}`),
      after: plainConfig(op.config),
      notes: ['nodes and users mapped by the unreadable key are locked out until it is fixed'],
    });
  }
  if (!diff.empty || previous === null || previous === undefined) {
    const lines: string[] = [];
    for (const r of diff.removed) lines.push(`- ${rowText(r)}`);
    for (const c of diff.changed) lines.push(`- ${rowText(c.before)}`, `+ ${rowText(c.after)}`);
    for (const r of diff.added) lines.push(`+ ${rowText(r)}`);
    for (const a of diff.accountsRemoved) lines.push(`- mapAccounts: ${a}`);
    for (const a of diff.accountsAdded) lines.push(`+ mapAccounts: ${a}`);
    const nodeRowsRemoved = diff.removed.filter(isNodeRow);
    const notes: string[] = [];
    let severity: Severity = 'medium';
    if (nodeRowsRemoved.length > 0) {
      severity = 'high';
      notes.push(`node role rows removed: nodes using ${list(nodeRowsRemoved.map((r) => r.arn))} can no longer join`);
    }
    if (previous === undefined) lines.push('  (no earlier version of aws-auth is recorded)');
    out.push({
      ruleId: previous === null ? 'aws-auth-created' : 'aws-auth-edited',
      severity,
      title:
        previous === null
          ? 'aws-auth created'
          : `aws-auth edited: ${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed`,
      lines: lines.length > 0 ? lines : ['  (no effective mapping change)'],
      before: plainConfig(beforeConfig),
      after: plainConfig(op.config),
      notes,
    });
  }
  const touched: { row: AwsAuthRow; old?: AwsAuthRow }[] = [
    ...diff.added.map((row) => ({ row })),
    ...diff.changed.map((c) => ({ row: c.after, old: c.before })),
  ];
  for (const { row, old } of touched) {
    if (isEksManagedRow(row) || !rowCanMatch(row)) continue;
    if (row.groups.includes(SYSTEM_MASTERS) && !old?.groups.includes(SYSTEM_MASTERS)) {
      out.push(
        mastersDraft(`aws-auth ${row.kind === 'role' ? 'mapRoles' : 'mapUsers'}`, row.arn, rowSub(row), [
          ...(old ? [`- ${rowText(old)}`] : []),
          `+ ${rowText(row)}`,
        ]),
      );
    }
    if (!old) out.push(...untrustedDraft(ctx, row.arn, `aws-auth ${row.kind} row`, rowSub(row)));
  }
  for (const account of diff.accountsAdded) {
    const untrusted = ctx.trusted.size > 0 && !ctx.trusted.has(account);
    out.push({
      ruleId: 'aws-auth-map-accounts',
      severity: untrusted ? 'critical' : 'high',
      title: `aws-auth mapAccounts admits every principal of account ${account}`,
      // mapAccounts auto-maps any unmapped identity of the account to its own ARN (docs/formats.md §1.5).
      lines: [
        `+ mapAccounts: ${account}`,
        '  every IAM principal of this account authenticates (username = its ARN), with no review per principal',
      ],
      subKey: account,
      notes: untrusted ? [`account ${account} is not in the trusted list`] : [],
    });
  }
  return out;
};

const awsAuthDelete = (ctx: Ctx): Draft[] => {
  if (ctx.change.op.kind !== 'aws-auth-delete') return [];
  const previous = ctx.before.awsAuth;
  if (previous === null) return [];
  const rows = configRows(previous?.config);
  const apiOnly = ctx.before.authMode === 'API';
  return [
    {
      ruleId: 'aws-auth-deleted',
      // In API mode aws-auth is ignored, so deleting it changes nothing.
      severity: apiOnly ? 'low' : 'high',
      title: 'aws-auth deleted',
      lines: rows.length > 0 ? rows.map((r) => `- ${rowText(r)}`) : ['- aws-auth (content not recorded)'],
      before: plainConfig(previous?.config),
      notes: apiOnly
        ? ['authentication mode is API: aws-auth was not in use']
        : ['every principal mapped only by aws-auth (including node roles) loses access'],
    },
  ];
};

// ---------------------------------------------------------------------------------------------
// Cluster configuration
// ---------------------------------------------------------------------------------------------

/** aws-auth principals not also covered by an access entry: they lose access when the mode becomes API. */
const awsAuthOnlyRows = (state: Fold): AwsAuthRow[] =>
  configRows(state.awsAuth?.config).filter(
    (r) => rowCanMatch(r) && !isEksManagedRow(r) && !state.accessEntries.has(r.matchKey),
  );

const authModeSet = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'auth-mode-set') return [];
  if (ctx.before.authModeKnown && ctx.before.authMode === op.mode) return [];
  const orphaned = op.mode === 'API' ? awsAuthOnlyRows(ctx.before) : [];
  const lines = [
    ...(ctx.before.authModeKnown ? [`- authenticationMode: ${ctx.before.authMode}`] : []),
    `+ authenticationMode: ${op.mode}`,
    ...orphaned.map((r) => `  loses access (aws-auth only): ${r.arn}`),
  ];
  return [
    {
      ruleId: 'auth-mode-changed',
      severity: orphaned.length > 0 ? 'high' : 'medium',
      title: `Authentication mode changed to ${op.mode}`,
      lines,
      before: ctx.before.authMode,
      after: op.mode,
      notes:
        op.mode === 'API'
          ? ['aws-auth is ignored from now on; access entries are the only mappings']
          : ['access entries are now honoured, and take precedence over aws-auth rows for the same principal'],
    },
  ];
};

const loggingSet = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'logging-set') return [];
  const wasOn = (t: ControlPlaneLogType) =>
    ctx.before.enabledLogTypes === undefined || ctx.before.enabledLogTypes.includes(t);
  const lost = WATCHED_LOG_TYPES.filter((t) => op.disabled.includes(t) && !op.enabled.includes(t) && wasOn(t));
  if (lost.length === 0) return [];
  return [
    {
      ruleId: 'control-plane-logging-disabled',
      severity: 'high',
      title: `Control-plane ${lost.join(' and ')} logging disabled`,
      lines: lost.map((t) => `- logging: ${t}`),
      before: ctx.before.enabledLogTypes,
      after: ctx.after.enabledLogTypes,
      notes: ['requests and authentications on this cluster are no longer recorded'],
    },
  ];
};

const clusterCreated = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'cluster-created') return [];
  const creator = op.creator.canonicalArn ?? op.creator.actor.arn ?? 'an unknown principal';
  if (isEksManagedPrincipal(op.creator.canonicalArn)) return [];
  // In CONFIG_MAP mode the creator's admin lives in the authenticator's static file, never in
  // aws-auth: invisible and irremovable from inside the cluster (docs/formats.md §1.3).
  const invisible = op.mode === 'CONFIG_MAP';
  if (!invisible && !op.creator.bootstrapAdmin) return [];
  const missingLogs = WATCHED_LOG_TYPES.filter((t) => !op.enabledLogTypes.includes(t));
  return [
    {
      ruleId: 'cluster-created-creator-admin',
      severity: invisible ? 'high' : 'medium',
      title: invisible
        ? `Cluster created; creator ${creator} holds an invisible system:masters grant`
        : `Cluster created; creator ${creator} bootstrapped as cluster admin`,
      lines: [
        `+ authenticationMode: ${op.mode}`,
        invisible
          ? `+ creator (static mapping): ${creator} -> kubernetes-admin [system:masters]`
          : `+ access entry: ${creator} with AmazonEKSClusterAdminPolicy (cluster scope)`,
        ...missingLogs.map((t) => `  control-plane ${t} logging is not enabled`),
      ],
      after: { mode: op.mode, bootstrapAdmin: op.creator.bootstrapAdmin, enabledLogTypes: op.enabledLogTypes },
      principalArn: op.creator.canonicalArn,
      notes: invisible
        ? ['move to API_AND_CONFIG_MAP so the grant becomes a visible access entry that can be removed']
        : ['remove the bootstrap entry once other administrators are mapped'],
    },
  ];
};

// ---------------------------------------------------------------------------------------------
// Workload identities: Pod Identity associations and OIDC identity providers
// ---------------------------------------------------------------------------------------------

/** The association a change is about, in a state (by id, else by service account). */
const associationIn = (state: Fold, op: MappingChange['op']) => {
  const all = [...(state.podIdentityAssociations?.values() ?? [])];
  if (op.kind === 'pod-identity-association-put')
    return state.podIdentityAssociations?.get(`${op.association.namespace}/${op.association.serviceAccount}`);
  if (op.kind === 'pod-identity-association-update' || op.kind === 'pod-identity-association-delete') {
    const named = op.kind === 'pod-identity-association-update' ? op.after : op.before;
    // EKS keeps one association per service account: a call naming an id the history lacks is about
    // the association that service account has.
    return (
      all.find((a) => a.associationId === op.associationId) ??
      (named ? state.podIdentityAssociations?.get(`${named.namespace}/${named.serviceAccount}`) : undefined)
    );
  }
  return undefined;
};

const sameAssociation = (a: ReturnType<typeof associationIn>, b: ReturnType<typeof associationIn>): boolean =>
  JSON.stringify(plainAssociation(a)) === JSON.stringify(plainAssociation(b));

const podIdentityAssociation = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (
    op.kind !== 'pod-identity-association-put' &&
    op.kind !== 'pod-identity-association-update' &&
    op.kind !== 'pod-identity-association-delete'
  )
    return [];
  const before = associationIn(ctx.before, op);
  const after = op.kind === 'pod-identity-association-delete' ? undefined : associationIn(ctx.after, op);
  // A backfill's first snapshot is the baseline, not a change anyone made (posture reports its risks).
  if (ctx.change.source === 'backfill' && !before) return [];
  if (op.kind === 'pod-identity-association-delete') {
    const gone = before ?? op.before;
    return [
      {
        ruleId: 'pod-identity-association-deleted',
        severity: 'low',
        title: `Pod Identity association ${gone ? `of ${gone.namespace}/${gone.serviceAccount} ` : ''}deleted`,
        lines: gone ? associationLines('-', gone) : [`- association ${op.associationId} (not in the recorded history)`],
        before: plainAssociation(gone),
        ...(gone ? { principalArn: gone.roleArn } : {}),
      },
    ];
  }
  if (!after || (before && sameAssociation(before, after))) return [];
  const severity = ctx.byAwsService ? 'info' : associationSeverity(after);
  const notes: string[] = [];
  if (isPrivilegedServiceAccount(after)) {
    notes.push(
      after.serviceAccount === 'default'
        ? 'the default service account: every pod of the namespace that names no service account gets the role'
        : 'kube-system: the system components and anyone who can create pods there get the role',
    );
  }
  return [
    {
      ruleId: before ? 'pod-identity-association-updated' : 'pod-identity-association-created',
      severity,
      title: `Pod Identity association ${before ? 'changed' : 'created'}: ${after.namespace}/${after.serviceAccount} -> ${after.targetRoleArn ?? after.roleArn}`,
      lines: [...(before ? associationLines('-', before) : []), ...associationLines('+', after)],
      before: plainAssociation(before),
      after: plainAssociation(after),
      principalArn: after.roleArn,
      notes,
    },
  ];
};

const podIdentityRisks = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind !== 'pod-identity-association-put' && op.kind !== 'pod-identity-association-update') return [];
  const before = associationIn(ctx.before, op);
  const after = associationIn(ctx.after, op);
  if (!after) return [];
  const out: Draft[] = [];
  const sa = `${after.namespace}/${after.serviceAccount}`;
  // Escalation: the role this service account now holds is an administrator of a watched cluster.
  const roles = rolesOf(after);
  const beforeRoles = new Set(before ? rolesOf(before).map((r) => r.matchKey) : []);
  for (const role of roles) {
    if (beforeRoles.has(role.matchKey)) continue;
    const here = adminMappingsOf(ctx.after, role.matchKey).map((via) => ({
      cluster: `${ctx.change.accountId ?? '_'}/${ctx.change.cluster}`,
      via,
    }));
    const elsewhere = (ctx.adminMappingsElsewhere?.(role.matchKey, ctx.change.at) ?? []).filter(
      (m) => m.cluster !== `${ctx.change.accountId ?? '_'}/${ctx.change.cluster}`,
    );
    const all = [...here, ...elsewhere];
    if (all.length === 0) continue;
    out.push({
      ruleId: 'pod-identity-escalation',
      severity: elsewhere.length > 0 ? 'critical' : 'high',
      title: `Pods of ${sa} can act as ${role.arn}, an administrator of ${[...new Set(all.map((m) => m.cluster))].join(', ')}`,
      lines: [`+ ${sa} -> ${role.arn}`, ...all.map((m) => `  ${m.cluster}: ${m.via}`)],
      subKey: role.matchKey,
      principalArn: role.arn,
      notes: [
        'whoever can run a pod with this service account (or create pods in its namespace) administers those clusters',
      ],
    });
  }
  const target = crossAccountTarget(after, ctx.change.accountId);
  if (target && (!before || before.targetRoleArn !== after.targetRoleArn)) {
    out.push({
      ruleId: 'pod-identity-cross-account-target',
      severity: 'high',
      title: `Pods of ${sa} reach account ${target} through target role ${after.targetRoleArn}`,
      lines: [`+ targetRoleArn: ${after.targetRoleArn}`, `  role chained from ${after.roleArn}`],
      principalArn: after.targetRoleArn,
      notes: ["the target role's trust policy must require the association's external id"],
    });
  }
  if (after.disableSessionTags && !before?.disableSessionTags) {
    out.push({
      ruleId: 'pod-identity-session-tags-disabled',
      severity: 'medium',
      title: `Session tags disabled for ${sa}`,
      lines: ['+ disableSessionTags: true'],
      principalArn: after.roleArn,
      notes: [
        'the sessions no longer carry the cluster, namespace, service account and pod: policies conditioned on those tags stop applying, and CloudTrail names the pod only by its cut session name',
      ],
    });
  }
  return out;
};

/** The provider's settings, without when and by whom the history recorded them. */
const sameProviderSettings = (a: object, b: object): boolean => {
  const settings = (c: object) =>
    JSON.stringify(
      Object.entries(c)
        .filter(([k]) => k !== 'since' && k !== 'actor' && k !== 'sourceEventId')
        .sort(([x], [y]) => (x < y ? -1 : 1)),
    );
  return settings(a) === settings(b);
};

const identityProvider = (ctx: Ctx): Draft[] => {
  const op = ctx.change.op;
  if (op.kind === 'identity-provider-associate') {
    const known = ctx.before.identityProviders?.get(op.config.name);
    // A backfill's first snapshot is the baseline, not a change anyone made; a provider already in force
    // with the same settings (a re-list, a redelivered event) changes nothing either.
    if (ctx.change.source === 'backfill' && !known) return [];
    if (known && sameProviderSettings(known, op.config)) return [];
    return [
      {
        ruleId: 'identity-provider-associated',
        severity: 'high',
        title: `OIDC identity provider ${op.config.name} associated: its users reach the cluster without IAM`,
        lines: [`+ ${providerSummary(op.config)}`],
        after: op.config,
        subKey: op.config.name,
        notes: [
          'requests of its users carry no IAM principal; RBAC bindings naming its prefixed users and groups decide',
        ],
      },
    ];
  }
  if (op.kind === 'identity-provider-disassociate') {
    const was = ctx.before.identityProviders?.get(op.name);
    // A backfill only states that the provider is absent: news only if the history still had it.
    if (ctx.change.source === 'backfill' && !was) return [];
    return [
      {
        ruleId: 'identity-provider-disassociated',
        severity: 'medium',
        title: `OIDC identity provider ${op.name} disassociated`,
        lines: [was ? `- ${providerSummary(was)}` : `- ${op.name} (not in the recorded history)`],
        before: was,
        subKey: op.name,
      },
    ];
  }
  return [];
};

const RULES: ((ctx: Ctx) => Draft[])[] = [
  accessEntryPut,
  accessEntryUpdate,
  accessEntryDelete,
  policyAssociate,
  policyDisassociate,
  awsAuthPut,
  awsAuthDelete,
  authModeSet,
  loggingSet,
  clusterCreated,
  podIdentityAssociation,
  podIdentityRisks,
  identityProvider,
];

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

const MAX_ID_PART = 400;

/** Alert id part: kept readable, but bounded so the ledger key stays far under DynamoDB's 2 KB limit. */
const idPart = (s: string): string => {
  if (s.length <= MAX_ID_PART) return s;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${s.slice(0, MAX_ID_PART - 9)}~${h.toString(16).padStart(8, '0')}`;
};

export const alertIdOf = (ruleId: string, sourceEventId: string, subKey?: string): string =>
  [ruleId, idPart(sourceEventId), ...(subKey ? [idPart(subKey)] : [])].join('#');

const changeIdentity = (c: MappingChange): string =>
  `${c.sourceEventId}\u0000${c.op.kind}\u0000${JSON.stringify(c.op)}`;
const looseIdentity = (c: MappingChange): string => `${c.sourceEventId}\u0000${c.op.kind}`;

const emptyFold = (): Fold => ({ authModeKnown: false, accessEntries: new Map(), deleted: false });

const sameCluster = (a: MappingChange, b: { cluster: string; accountId?: string }): boolean =>
  a.cluster === b.cluster && (a.accountId === undefined || b.accountId === undefined || a.accountId === b.accountId);

interface ClusterHistory {
  history: readonly MappingChange[];
  beforeOf(change: MappingChange): Fold;
}

const clusterHistory = (cluster: { cluster: string; accountId?: string }, all: MappingChange[]): ClusterHistory => {
  const timeline = new MappingTimeline(
    cluster.cluster,
    all.filter((c) => sameCluster(c, cluster)),
  );
  const exact = new Map<string, Fold>();
  const loose = new Map<string, Fold>();
  let state = emptyFold();
  for (const c of timeline.changes) {
    exact.set(changeIdentity(c), state);
    if (!loose.has(looseIdentity(c))) loose.set(looseIdentity(c), state);
    state = applyChange(state, c);
  }
  return {
    history: timeline.changes,
    beforeOf: (c) => exact.get(changeIdentity(c)) ?? loose.get(looseIdentity(c)) ?? state,
  };
};

const principalsOf = (draft: Draft, actor: MappingActor): (string | undefined)[] => [
  draft.principalArn,
  actor.aws?.arn,
  actor.aws?.canonicalArn,
  actor.aws?.sessionIssuerArn,
  actor.k8sCanonicalArn,
];

const toAlert = (change: MappingChange, draft: Draft, human: string | undefined): Alert => {
  const alert: Alert = {
    alertId: alertIdOf(draft.ruleId, draft.idEventId ?? change.sourceEventId, draft.subKey),
    ruleId: draft.ruleId,
    severity: draft.severity,
    cluster: change.cluster,
    at: change.at,
    title: draft.title,
    actor: alertActorOf(change.actor),
    diff: { lines: draft.lines },
    sourceEventIds: draft.sourceEventIds ?? [change.sourceEventId],
  };
  if (change.accountId !== undefined) alert.accountId = change.accountId;
  if (human !== undefined) alert.human = human;
  if (draft.before !== undefined) alert.diff.before = draft.before;
  if (draft.after !== undefined) alert.diff.after = draft.after;
  const related: NonNullable<Alert['related']> = {};
  if (draft.principalArn !== undefined) related.principalArn = draft.principalArn;
  if (draft.policyArn !== undefined) related.policyArn = draft.policyArn;
  if (draft.notes && draft.notes.length > 0) related.notes = draft.notes;
  if (Object.keys(related).length > 0) alert.related = related;
  alert.evidence = mappingChangeEvidence({
    cluster: change.cluster,
    accountId: change.accountId,
    from: draft.since ?? change.at,
    to: change.at,
    principalArn: draft.principalArn,
  });
  return alert;
};

/** Most severe first, then time, then id: a stable order for publishing and tests. */
export const compareAlerts = (a: Alert, b: Alert): number => {
  const s = severityRank(a.severity) - severityRank(b.severity);
  if (s !== 0) return s;
  const t = instantMicros(a.at) - instantMicros(b.at);
  if (t !== 0 && !Number.isNaN(t)) return t;
  return a.alertId < b.alertId ? -1 : a.alertId > b.alertId ? 1 : 0;
};

/**
 * Alerts for newly stored mapping changes. Pure: the same inputs give the same alerts (ids
 * included), whatever the order of `newChanges` or whether they are already in `allChanges`.
 */
export const evaluateMappingChanges = (input: EvaluateInput): Alert[] => {
  const config = input.config ?? DEFAULT_ALERT_CONFIG;
  const out = new Map<string, Alert>();
  const histories = new Map<string, ClusterHistory>();
  const seen = new Set<string>();
  for (const change of input.newChanges) {
    const identity = `${change.cluster}\u0000${change.accountId ?? ''}\u0000${changeIdentity(change)}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    const clusterKey = `${change.accountId ?? ''}\u0000${change.cluster}`;
    let h = histories.get(clusterKey);
    if (!h) {
      const ref =
        change.accountId === undefined
          ? { cluster: change.cluster }
          : { cluster: change.cluster, accountId: change.accountId };
      h = clusterHistory(ref, [...input.allChanges, ...input.newChanges.filter((c) => sameCluster(c, ref))]);
      histories.set(clusterKey, h);
    }
    const before = h.beforeOf(change);
    const trusted = new Set(config.trustedAccountIds);
    if (trusted.size > 0 && change.accountId) trusted.add(change.accountId);
    const ctx: Ctx = {
      change,
      before,
      after: applyChange(before, change),
      history: h.history,
      trusted,
      byAwsService: isAwsServiceActor(change.actor),
    };
    if (input.adminMappingsElsewhere) ctx.adminMappingsElsewhere = input.adminMappingsElsewhere;
    const drafts = RULES.flatMap((rule) => rule(ctx));
    if (drafts.length === 0) continue;
    const humans = new Map<MappingChange, string | undefined>();
    for (const draft of drafts) {
      const base = draft.anchor ?? change;
      const subject = { ruleId: draft.ruleId, cluster: base.cluster, principals: principalsOf(draft, base.actor) };
      if (isSuppressed(config.suppressions, subject)) continue;
      if (!humans.has(base)) humans.set(base, humanBehindSafe(base.actor, input.credentialFor));
      const alert = toAlert(base, draft, humans.get(base));
      const existing = out.get(alert.alertId);
      // Churn is proposed from both ends when both changes are new; both drafts anchor on the delete.
      if (!existing) out.set(alert.alertId, alert);
    }
  }
  return [...out.values()].sort(compareAlerts);
};

const humanBehindSafe = (actor: MappingActor, credentialFor: EvaluateInput['credentialFor']): string | undefined => {
  try {
    return humanBehind(actor, credentialFor ? (k) => credentialFor(k) : undefined);
  } catch {
    // Attribution is best effort: an alert without a human still goes out.
    return undefined;
  }
};

// ---------------------------------------------------------------------------------------------
// First use of a new mapping
// ---------------------------------------------------------------------------------------------

export interface FirstUseInput {
  /** The store says no earlier use of this mapping was recorded (or this one is earlier than all). */
  firstUse: boolean;
  /** When the mapping version in force began; defaults to the chain's mapping link `since`. */
  mappingCreatedAt?: string;
  mappingActor?: MappingActor;
}

const DAY_US = 86_400_000_000;

/**
 * An alert when a mapping created within `recentMappingDays` is used for the first time, linked to
 * what the newly mapped principal did. Undefined when it is not a first use, the mapping is old or
 * unknown, or the mapping belongs to an EKS-managed identity.
 */
export const firstUseAlert = (
  chain: DecisionChain,
  usage: FirstUseInput,
  config: Pick<AlertConfig, 'recentMappingDays' | 'suppressions'> = DEFAULT_ALERT_CONFIG,
): Alert | undefined => {
  if (!usage.firstUse) return undefined;
  const mapping = chain.mapping.value;
  const mappingKey = mappingKeyOfChain(chain);
  if (!mapping || !mappingKey) return undefined;
  const principal = chain.principal.value;
  const principalArn = mapping.accessEntry?.principalArn ?? mapping.awsAuthRow?.arn ?? principal?.canonicalArn;
  if (isEksManagedPrincipal(principalArn) || isEksManagedPrincipal(principal?.canonicalArn)) return undefined;
  if (isEksManagedUsername(mapping.username) || isEksManagedUsername(chain.k8sIdentity.value?.username))
    return undefined;
  const createdAt = usage.mappingCreatedAt ?? mapping.since;
  if (!createdAt) return undefined;
  const age = instantMicros(chain.at) - instantMicros(createdAt);
  if (Number.isNaN(age) || age < 0 || age > config.recentMappingDays * DAY_US) return undefined;
  const mappingActor = usage.mappingActor ?? mapping.actor;
  const subject = {
    ruleId: 'new-mapping-first-use',
    cluster: chain.cluster,
    principals: [principalArn, principal?.canonicalArn, principal?.stsArn],
  };
  if (isSuppressed(config.suppressions, subject)) return undefined;

  const groups = mapping.groups ?? mapping.accessEntry?.kubernetesGroups ?? mapping.awsAuthRow?.groups ?? [];
  const policies = mapping.accessEntry?.policies ?? [];
  let severity: Severity = 'medium';
  const notes: string[] = [];
  if (groups.includes(SYSTEM_MASTERS)) {
    severity = maxSeverity(severity, 'high');
    notes.push('the mapping grants system:masters');
  }
  for (const p of policies) {
    if (isAdminPolicy(p.policyArn) || p.scope.type === 'cluster') {
      severity = maxSeverity(severity, 'high');
      notes.push(`${policyLabel(p.policyArn)} (${scopeText(p.scope)})`);
    }
  }
  const req = chain.request.value;
  const decision = chain.decision.value;
  const what = req
    ? [req.verb, req.resource ? `${req.resource}${req.subresource ? `/${req.subresource}` : ''}` : req.requestURI]
        .filter(Boolean)
        .join(' ')
    : 'a request';
  const where = req?.namespace ? ` in ${req.namespace}` : '';
  const who = principal?.stsArn ?? principal?.canonicalArn ?? principalArn ?? 'an unknown principal';
  const mappingEventId = mapping.sourceEventId ?? createdAt;
  const mappingActorText = mappingActor ? describeActor(alertActorOf(mappingActor)) : 'unknown';
  const lines = [
    `  mapping: ${mapping.source} ${principalArn ?? ''} since ${createdAt} by ${mappingActorText}`.replace(
      / {2,}/g,
      ' ',
    ),
    `+ first use ${chain.at}: ${what}${where}${req?.name ? ` ${req.name}` : ''} -> ${req?.statusCode ?? decision?.outcome ?? 'unknown'}`,
    `  k8s user: ${chain.k8sIdentity.value?.username ?? mapping.username ?? 'unknown'} groups: ${list(groups)}`,
  ];
  const alert: Alert = {
    alertId: alertIdOf('new-mapping-first-use', mappingEventId, mappingKey),
    ruleId: 'new-mapping-first-use',
    severity,
    cluster: chain.cluster,
    at: chain.at,
    title: `First use of a new mapping by ${who}`,
    actor: {},
    diff: { lines },
    sourceEventIds: [...(mapping.sourceEventId ? [mapping.sourceEventId] : []), chain.auditID ?? chain.chainId],
  };
  if (principal?.stsArn) alert.actor.awsArn = principal.stsArn;
  if (principal?.canonicalArn) alert.actor.canonicalArn = principal.canonicalArn;
  if (principal?.accessKeyId) alert.actor.accessKeyId = principal.accessKeyId;
  if (principal?.accountId) alert.actor.accountId = principal.accountId;
  const username = chain.k8sIdentity.value?.username;
  if (username) alert.actor.k8sUsername = username;
  if (chain.accountId !== undefined) alert.accountId = chain.accountId;
  const human = chain.human.value?.identity;
  if (human) alert.human = human;
  const request: NonNullable<NonNullable<Alert['related']>['request']> = { chainId: chain.chainId, at: chain.at };
  if (req?.verb) request.verb = req.verb;
  if (req?.resource) request.resource = req.resource;
  if (req?.subresource) request.subresource = req.subresource;
  if (req?.namespace) request.namespace = req.namespace;
  if (req?.name) request.name = req.name;
  if (req?.requestURI) request.requestURI = req.requestURI;
  if (req?.statusCode !== undefined) request.statusCode = req.statusCode;
  if (decision?.outcome) request.decision = decision.outcome;
  if (username) request.username = username;
  alert.related = { mappingKey, mappingCreatedAt: createdAt, request };
  if (principalArn) alert.related.principalArn = principalArn;
  if (mappingActor) alert.related.mappingActor = mappingActor;
  if (notes.length > 0) alert.related.notes = notes;
  alert.evidence = chain.auditID
    ? requestEvidence({ cluster: chain.cluster, accountId: chain.accountId, auditId: chain.auditID, at: chain.at })
    : mappingChangeEvidence({
        cluster: chain.cluster,
        accountId: chain.accountId,
        from: createdAt,
        to: chain.at,
        principalArn,
      });
  return alert;
};
