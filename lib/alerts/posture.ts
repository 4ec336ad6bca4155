/**
 * Posture findings over the identity mappings in force on each cluster: what a reviewer should fix
 * even when nothing changed today. Pure: the caller loads the states (MappingTimeline.stateAt(now))
 * and the mapping usage, and decides where the report goes.
 */
import {
  accessPolicyArn,
  CLUSTER_ADMIN_POLICY,
  checkAccessEntryUsername,
  describeAccessPolicy,
  isAdminPolicy,
} from '../identity/access-entry.js';
import { canonicalizeArn, splitArn } from '../identity/arn.js';
import { rowCanMatch } from '../identity/aws-auth.js';
import { instantMicros } from '../identity/mapping-timeline.js';
import type { AwsAuthRow, ClusterMappingState } from '../identity/types.js';
import type { AuthenticationMode } from '../sources/types.js';
import { isEksManagedPrincipal, isEksManagedRow, isEksManagedUsername } from './eks-managed.js';
import { accessEntryMappingKey, awsAuthAccountMappingKey, awsAuthRowMappingKey } from './mapping-keys.js';
import { isSuppressed } from './suppressions.js';
import type { AlertConfig, Finding, MappingUsage, PostureRuleId, Severity } from './types.js';
import { severityRank } from './types.js';
import {
  adminMappingsOf,
  crossAccountTarget,
  isPrivilegedServiceAccount,
  providerSummary,
  rolesOf,
} from './workload-rules.js';

export interface PostureInput {
  /** Mapping state of each cluster now; `accountId` tells same-named clusters of two accounts apart. */
  states: (ClusterMappingState & { accountId?: string })[];
  usage: MappingUsage[];
  /** ISO instant the report is about (passed in: lib never reads the clock). */
  now: string;
  config: Partial<Pick<AlertConfig, 'unusedMappingDays' | 'suppressions'>>;
}

const SYSTEM_MASTERS = 'system:masters';
const DAY_US = 86_400_000_000;

/** Shell-safe argument: bare when it only holds characters no shell interprets. */
const sh = (arg: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

const cmd = (...parts: string[]): string => parts.join(' ');

interface ClusterCtx {
  state: ClusterMappingState & { accountId?: string };
  mode: AuthenticationMode;
  modeInferred: boolean;
  out: Finding[];
  suppressions: NonNullable<PostureInput['config']['suppressions']>;
}

const add = (
  ctx: ClusterCtx,
  ruleId: PostureRuleId,
  subKey: string,
  severity: Severity,
  fields: Omit<Finding, 'findingId' | 'ruleId' | 'severity' | 'cluster' | 'accountId'>,
): void => {
  const cluster = ctx.state.cluster;
  if (isSuppressed(ctx.suppressions, { ruleId, cluster, principals: [fields.principalArn] })) return;
  const finding: Finding = {
    findingId: `${ruleId}#${ctx.state.accountId ?? '_'}/${cluster}#${subKey}`,
    ruleId,
    severity,
    cluster,
    ...fields,
  };
  if (ctx.state.accountId !== undefined) finding.accountId = ctx.state.accountId;
  ctx.out.push(finding);
};

const modeOf = (state: ClusterMappingState): { mode: AuthenticationMode; inferred: boolean } => {
  if (state.authModeKnown && state.authMode) return { mode: state.authMode, inferred: false };
  // Access entries can only exist once the API is enabled.
  return { mode: state.accessEntries.size > 0 ? 'API_AND_CONFIG_MAP' : 'CONFIG_MAP', inferred: true };
};

const isIamUser = (arn: string): boolean => {
  const c = canonicalizeArn(arn);
  return c.ok && c.value.type === 'user';
};

const partitionOf = (arn: string): string => splitArn(arn)?.partition || 'aws';

// ---------------------------------------------------------------------------------------------
// Access entries
// ---------------------------------------------------------------------------------------------

type StateEntry = ClusterMappingState['accessEntries'] extends Map<string, infer E> ? E : never;

const accessEntryFindings = (ctx: ClusterCtx, e: StateEntry): void => {
  if (isEksManagedPrincipal(e.principalArn) || isEksManagedUsername(e.username)) return;
  const key = accessEntryMappingKey(e.matchKey);
  const base = { principalArn: e.principalArn, mappingKey: key, since: e.since, sourceEventId: e.sourceEventId };
  if (ctx.mode === 'CONFIG_MAP' && !ctx.modeInferred) return; // entries are not honoured in CONFIG_MAP mode
  if (isIamUser(e.principalArn)) {
    add(ctx, 'iam-user-mapped', key, 'medium', {
      ...base,
      title: `IAM user ${e.principalArn} mapped directly (access entry)`,
      detail:
        'An IAM user authenticates with long-term access keys that do not expire; map a role that people assume (SSO) instead.',
    });
  }
  if (e.kubernetesGroups.includes(SYSTEM_MASTERS)) {
    add(ctx, 'system-masters-mapping', key, 'high', {
      ...base,
      title: `${e.principalArn} is mapped to system:masters (access entry)`,
      detail:
        'system:masters bypasses RBAC and access policies; use AmazonEKSClusterAdminPolicy, which can be removed.',
    });
  }
  if (e.bootstrapCreator) return; // reported as creator-invisible-admin
  for (const p of e.policies) {
    const info = describeAccessPolicy(p.policyArn);
    const clusterAdmin = info?.name === CLUSTER_ADMIN_POLICY;
    if (!clusterAdmin && !(isAdminPolicy(p.policyArn) && p.scope.type === 'cluster')) continue;
    const scope = p.scope.type === 'cluster' ? 'cluster scope' : `namespaces ${p.scope.namespaces.join(', ')}`;
    add(ctx, 'cluster-admin-policy', `${key}#${p.policyArn}`, p.scope.type === 'cluster' ? 'high' : 'medium', {
      ...base,
      title: `${e.principalArn} holds ${info?.name ?? p.policyArn} (${scope})`,
      detail: `Full administrative access${p.scope.type === 'cluster' ? ' to every namespace' : ''}. Keep the set of cluster admins small and reviewed.`,
    });
  }
};

// ---------------------------------------------------------------------------------------------
// aws-auth
// ---------------------------------------------------------------------------------------------

/** Node rows as eksctl / the EKS docs write them: the access-entry type that replaces them. */
const nodeEntryType = (row: AwsAuthRow): string | undefined => {
  const u = row.username ?? '';
  if (row.groups.includes('system:node-proxier') && u === 'system:node:{{SessionName}}') return 'FARGATE_LINUX';
  if (!row.groups.includes('system:nodes')) return undefined;
  if (row.groups.includes('eks:kube-proxy-windows')) return 'EC2_WINDOWS';
  return u === 'system:node:{{SessionName}}' ? 'HYBRID_LINUX' : 'EC2_LINUX';
};

/** The access-entry commands that reproduce an aws-auth row (migration plan), with caveats. */
export const migrationCommands = (cluster: string, row: AwsAuthRow): { commands: string[]; notes: string[] } => {
  const notes: string[] = [];
  const base = ['aws', 'eks', 'create-access-entry', '--cluster-name', sh(cluster), '--principal-arn', sh(row.arn)];
  const nodeType = row.kind === 'role' ? nodeEntryType(row) : undefined;
  if (nodeType) {
    // EKS sets the username and groups of node entries itself.
    return { commands: [cmd(...base, '--type', nodeType)], notes };
  }
  const commands: string[] = [];
  const args = [...base];
  if (row.username !== undefined && row.username !== '') {
    const problems = checkAccessEntryUsername('STANDARD', row.username);
    if (problems.length === 0) args.push('--username', sh(row.username));
    else
      notes.push(
        `username ${JSON.stringify(row.username)} is not accepted by access entries (${problems.map((p) => p.kind).join(', ')}); EKS's default username is used instead: re-bind RBAC subjects that named it`,
      );
  }
  const masters = row.groups.includes(SYSTEM_MASTERS);
  const reserved = row.groups.filter((g) => g !== SYSTEM_MASTERS && g.startsWith('system:'));
  const groups = row.groups.filter((g) => !g.startsWith('system:'));
  if (reserved.length > 0) notes.push(`reserved groups not carried over: ${reserved.join(', ')}`);
  if (groups.length > 0) args.push('--kubernetes-groups', ...groups.map(sh));
  commands.push(cmd(...args));
  if (masters) {
    commands.push(
      cmd(
        'aws',
        'eks',
        'associate-access-policy',
        '--cluster-name',
        sh(cluster),
        '--principal-arn',
        sh(row.arn),
        '--policy-arn',
        accessPolicyArn(CLUSTER_ADMIN_POLICY, partitionOf(row.arn)),
        '--access-scope',
        'type=cluster',
      ),
    );
    notes.push('system:masters becomes AmazonEKSClusterAdminPolicy at cluster scope');
  }
  if (row.kind === 'role')
    notes.push('if the role has an IAM path, give its full ARN (with the path) as --principal-arn');
  return { commands, notes };
};

const rowLabel = (row: AwsAuthRow): string => `aws-auth ${row.kind === 'role' ? 'mapRoles' : 'mapUsers'}[${row.index}]`;

const awsAuthFindings = (ctx: ClusterCtx): void => {
  const awsAuth = ctx.state.awsAuth;
  if (!awsAuth || ctx.mode === 'API') return; // API mode ignores aws-auth
  const { config } = awsAuth;
  const cluster = ctx.state.cluster;
  const stamp = { since: awsAuth.since, sourceEventId: awsAuth.sourceEventId };
  if (!config.parseable) {
    add(ctx, 'aws-auth-unparseable', 'aws-auth', 'critical', {
      ...stamp,
      title: 'aws-auth is partly unparseable: some mappings are silently ignored',
      detail: config.problems.map((p) => `${p.key}: ${p.message}`).join('; '),
    });
  }
  for (const row of [...config.roles, ...config.users]) {
    if (isEksManagedRow(row)) continue;
    const key = awsAuthRowMappingKey(row);
    const base = { principalArn: row.arn, mappingKey: key, ...stamp };
    const sub = `${row.kind}:${row.index}`;
    if (row.flags.includes('path-never-matches') || row.flags.includes('sts-arn-never-matches')) {
      add(ctx, 'aws-auth-row-never-matches', sub, 'medium', {
        ...base,
        title: `${rowLabel(row)} ${row.arn} can never match`,
        detail: row.flags.includes('path-never-matches')
          ? 'The authenticator compares against the path-less role ARN STS reports, so a rolearn with an IAM path never matches: write the ARN without the path.'
          : 'An sts assumed-role ARN never matches: map the IAM role ARN (arn:…:iam::<account>:role/<name>).',
      });
    }
    if (row.flags.includes('shadowed-duplicate') || row.flags.includes('case-ambiguous-duplicate')) {
      const ambiguous = row.flags.includes('case-ambiguous-duplicate');
      add(ctx, 'aws-auth-shadowed-duplicate', sub, ambiguous ? 'medium' : 'low', {
        ...base,
        title: `${rowLabel(row)} ${row.arn} is ${ambiguous ? 'ambiguous with' : 'shadowed by'} another row`,
        detail: ambiguous
          ? 'mapUsers rows differing only by case: which one applies is nondeterministic. Keep one.'
          : 'Another row maps the same ARN and the last one wins: this row has no effect. Remove it.',
      });
    }
    if (!rowCanMatch(row)) continue;
    if (row.kind === 'user' && isIamUser(row.arn)) {
      add(ctx, 'iam-user-mapped', key, 'medium', {
        ...base,
        title: `IAM user ${row.arn} mapped directly (${rowLabel(row)})`,
        detail:
          'An IAM user authenticates with long-term access keys that do not expire; map a role that people assume (SSO) instead.',
      });
    }
    if (row.groups.includes(SYSTEM_MASTERS)) {
      add(ctx, 'system-masters-mapping', key, 'high', {
        ...base,
        title: `${row.arn} is mapped to system:masters (${rowLabel(row)})`,
        detail: 'system:masters bypasses RBAC and access policies and can only be removed by editing aws-auth.',
      });
    }
    // In API_AND_CONFIG_MAP an access entry for the same principal wins: the row is already migrated.
    if (ctx.state.accessEntries.has(row.matchKey)) continue;
    const plan = migrationCommands(cluster, row);
    add(ctx, 'aws-auth-migration', key, 'low', {
      ...base,
      title: `${row.arn} still relies on aws-auth (${rowLabel(row)})`,
      detail: [
        'aws-auth is deprecated in favour of access entries, which are audited through CloudTrail.',
        ...(ctx.mode === 'CONFIG_MAP'
          ? [
              'First enable access entries: aws eks update-cluster-config --name ' +
                sh(cluster) +
                ' --access-config authenticationMode=API_AND_CONFIG_MAP',
            ]
          : []),
        ...plan.notes,
      ].join(' '),
      commands: plan.commands,
    });
  }
  for (const account of config.accounts) {
    add(ctx, 'aws-auth-map-accounts', account, 'high', {
      mappingKey: awsAuthAccountMappingKey(account),
      ...stamp,
      title: `aws-auth mapAccounts admits every principal of account ${account}`,
      detail:
        'Any IAM principal of the account authenticates with its ARN as username, without a per-principal mapping. Map the principals that need access instead.',
    });
  }
};

// ---------------------------------------------------------------------------------------------
// Cluster creator
// ---------------------------------------------------------------------------------------------

const creatorFindings = (ctx: ClusterCtx): void => {
  const { state } = ctx;
  const cluster = state.cluster;
  const creatorArn = state.creator?.canonicalArn ?? state.creator?.actor.arn;
  if (isEksManagedPrincipal(creatorArn)) return;
  if (ctx.mode === 'CONFIG_MAP') {
    add(ctx, 'creator-invisible-admin', 'config-map', ctx.modeInferred ? 'medium' : 'high', {
      ...(creatorArn ? { principalArn: creatorArn } : {}),
      ...(state.creator ? { since: state.creator.since, sourceEventId: state.creator.sourceEventId } : {}),
      title: `Cluster creator ${creatorArn ?? '(not recorded)'} holds an invisible system:masters grant`,
      detail: [
        'In CONFIG_MAP mode EKS maps the creator to kubernetes-admin / system:masters outside aws-auth: it appears in no mapping and cannot be removed from inside the cluster.',
        'Switching to API_AND_CONFIG_MAP turns it into a visible access entry that can then be deleted.',
        ...(ctx.modeInferred
          ? ['(authentication mode never observed; CONFIG_MAP inferred because no access entry is known)']
          : []),
      ].join(' '),
      commands: [
        `aws eks update-cluster-config --name ${sh(cluster)} --access-config authenticationMode=API_AND_CONFIG_MAP`,
        `aws eks list-access-entries --cluster-name ${sh(cluster)}`,
      ],
    });
    return;
  }
  for (const e of state.accessEntries.values()) {
    if (!e.bootstrapCreator) continue;
    add(ctx, 'creator-invisible-admin', accessEntryMappingKey(e.matchKey), 'medium', {
      principalArn: e.principalArn,
      mappingKey: accessEntryMappingKey(e.matchKey),
      since: e.since,
      sourceEventId: e.sourceEventId,
      title: `Cluster creator ${e.principalArn} still holds its bootstrap cluster-admin entry`,
      detail:
        'EKS gave the creator AmazonEKSClusterAdminPolicy at creation (bootstrapClusterCreatorAdminPermissions). Remove it once the intended administrators are mapped.',
      commands: [`aws eks delete-access-entry --cluster-name ${sh(cluster)} --principal-arn ${sh(e.principalArn)}`],
    });
  }
};

// ---------------------------------------------------------------------------------------------
// Unused mappings
// ---------------------------------------------------------------------------------------------

interface MappingRef {
  key: string;
  principalArn?: string;
  label: string;
  since: string;
  sourceEventId: string;
}

const liveMappings = (ctx: ClusterCtx): MappingRef[] => {
  const out: MappingRef[] = [];
  const { state } = ctx;
  const entriesHonoured = ctx.mode !== 'CONFIG_MAP' || ctx.modeInferred;
  if (entriesHonoured) {
    for (const e of state.accessEntries.values()) {
      if (isEksManagedPrincipal(e.principalArn) || isEksManagedUsername(e.username)) continue;
      out.push({
        key: accessEntryMappingKey(e.matchKey),
        principalArn: e.principalArn,
        label: `access entry ${e.principalArn}`,
        since: e.since,
        sourceEventId: e.sourceEventId,
      });
    }
  }
  const awsAuth = state.awsAuth;
  if (awsAuth && ctx.mode !== 'API') {
    for (const row of [...awsAuth.config.roles, ...awsAuth.config.users]) {
      if (!rowCanMatch(row) || isEksManagedRow(row) || (entriesHonoured && state.accessEntries.has(row.matchKey)))
        continue;
      out.push({
        key: awsAuthRowMappingKey(row),
        principalArn: row.arn,
        label: `${rowLabel(row)} ${row.arn}`,
        since: awsAuth.since,
        sourceEventId: awsAuth.sourceEventId,
      });
    }
    for (const account of awsAuth.config.accounts) {
      out.push({
        key: awsAuthAccountMappingKey(account),
        label: `aws-auth mapAccounts ${account}`,
        since: awsAuth.since,
        sourceEventId: awsAuth.sourceEventId,
      });
    }
  }
  return out;
};

const unusedFindings = (ctx: ClusterCtx, usage: Map<string, MappingUsage>, now: number, days: number): void => {
  const cutoff = now - days * DAY_US;
  for (const m of liveMappings(ctx)) {
    const u = usage.get(m.key);
    const last = u ? instantMicros(u.lastUsedAt) : Number.NaN;
    if (!Number.isNaN(last) && last >= cutoff) continue;
    // A mapping younger than the window has not had the chance to be used.
    const since = instantMicros(m.since);
    if (!u && (Number.isNaN(since) || since >= cutoff)) continue;
    const base = {
      mappingKey: m.key,
      since: m.since,
      sourceEventId: m.sourceEventId,
      ...(m.principalArn ? { principalArn: m.principalArn } : {}),
    };
    add(ctx, 'mapping-unused', m.key, 'low', {
      ...base,
      title: u ? `${m.label} unused since ${u.lastUsedAt}` : `${m.label} never used since ${m.since}`,
      detail: `No request went through this mapping in the last ${days} days: remove it if nobody needs it (least privilege).`,
    });
  }
};

// ---------------------------------------------------------------------------------------------
// Workload identities: Pod Identity associations and OIDC providers
// ---------------------------------------------------------------------------------------------

const workloadFindings = (ctx: ClusterCtx, fleet: PostureInput['states']): void => {
  const { state } = ctx;
  const here = `${state.accountId ?? '_'}/${state.cluster}`;
  for (const a of state.podIdentityAssociations?.values() ?? []) {
    const sa = `${a.namespace}/${a.serviceAccount}`;
    const base = { principalArn: a.roleArn, since: a.since, sourceEventId: a.sourceEventId };
    const sub = a.associationId ?? sa;
    for (const role of rolesOf(a)) {
      const admins = fleet.flatMap((s) =>
        adminMappingsOf(s, role.matchKey).map((via) => `${s.accountId ?? '_'}/${s.cluster}: ${via}`),
      );
      if (admins.length === 0) continue;
      const elsewhere = admins.some((m) => !m.startsWith(`${here}:`));
      add(ctx, 'pod-identity-escalation-path', `${sub}#${role.matchKey}`, elsewhere ? 'critical' : 'high', {
        ...base,
        principalArn: role.arn,
        title: `Pods of ${sa} can act as ${role.arn}, an administrator of ${admins.length} mapping(s)`,
        detail: `Anyone who can run a pod with service account ${sa} here holds ${role.arn}, which is mapped as an administrator: ${admins.join('; ')}. Bind a narrower role, or remove the admin mapping.`,
        commands: [
          `aws eks describe-pod-identity-association --cluster-name ${sh(state.cluster)} --association-id ${sh(a.associationId ?? '<id>')}`,
        ],
      });
    }
    const target = crossAccountTarget(a, state.accountId);
    if (target) {
      add(ctx, 'pod-identity-cross-account-target', sub, 'medium', {
        ...base,
        principalArn: a.targetRoleArn,
        title: `Pods of ${sa} reach account ${target} through ${a.targetRoleArn}`,
        detail:
          "A target role lets these pods act in another account. Its trust policy must require the association's external id, and the account owner must expect it.",
      });
    }
    if (a.disableSessionTags) {
      add(ctx, 'pod-identity-session-tags-disabled', sub, 'low', {
        ...base,
        title: `Session tags disabled for ${sa}`,
        detail:
          'Sessions of these pods carry no cluster, namespace, service account or pod tags: tag-conditioned policies do not apply, and CloudTrail names the pod only by its cut session name.',
      });
    }
    if (isPrivilegedServiceAccount(a)) {
      add(ctx, 'pod-identity-privileged-service-account', sub, 'medium', {
        ...base,
        title: `${sa} is bound to ${a.roleArn}`,
        detail:
          a.serviceAccount === 'default'
            ? 'The default service account is used by every pod of the namespace that names none: all of them get the role. Bind a dedicated service account.'
            : 'kube-system holds the system components; anyone who can create pods there gets the role. Keep IAM roles of add-ons narrow.',
      });
    }
  }
  for (const p of state.identityProviders?.values() ?? []) {
    const noPrefix = p.usernamePrefix === '-' || (p.usernamePrefix === undefined && p.usernameClaim === 'email');
    add(ctx, 'oidc-identity-provider', p.name, noPrefix ? 'high' : 'medium', {
      since: p.since,
      sourceEventId: p.sourceEventId,
      title: `OIDC identity provider ${p.name} admits users without IAM`,
      detail: `${providerSummary(p)}. Their requests carry no IAM principal and are governed by RBAC bindings of their prefixed names and groups.${
        noPrefix ? ' Without a username prefix its users can take names that RBAC bindings already give to others.' : ''
      }`,
      commands: [
        `aws eks describe-identity-provider-config --cluster-name ${sh(state.cluster)} --identity-provider-config type=oidc,name=${sh(p.name)}`,
      ],
    });
  }
};

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const compareFindings = (a: Finding, b: Finding): number => {
  const s = severityRank(a.severity) - severityRank(b.severity);
  if (s !== 0) return s;
  if (a.cluster !== b.cluster) return a.cluster < b.cluster ? -1 : 1;
  return a.findingId < b.findingId ? -1 : a.findingId > b.findingId ? 1 : 0;
};

/** Findings for every live cluster, most severe first. EKS-managed identities are never reported. */
export const postureFindings = (input: PostureInput): Finding[] => {
  const out: Finding[] = [];
  const now = instantMicros(input.now);
  const days = input.config.unusedMappingDays ?? 90;
  const suppressions = input.config.suppressions ?? [];
  for (const state of input.states) {
    if (state.deleted) continue;
    const { mode, inferred } = modeOf(state);
    const ctx: ClusterCtx = { state, mode, modeInferred: inferred, out, suppressions };
    for (const e of state.accessEntries.values()) accessEntryFindings(ctx, e);
    awsAuthFindings(ctx);
    creatorFindings(ctx);
    workloadFindings(ctx, input.states);
    if (!Number.isNaN(now) && days > 0) {
      const usage = new Map<string, MappingUsage>();
      for (const u of input.usage) {
        if (u.cluster !== state.cluster) continue;
        if (u.accountId !== undefined && state.accountId !== undefined && u.accountId !== state.accountId) continue;
        usage.set(u.mappingKey, u);
      }
      unusedFindings(ctx, usage, now, days);
    }
  }
  const unique = new Map<string, Finding>();
  for (const f of out) if (!unique.has(f.findingId)) unique.set(f.findingId, f);
  return [...unique.values()].sort(compareFindings);
};
