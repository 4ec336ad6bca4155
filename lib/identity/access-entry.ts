/**
 * EKS access-entry semantics: default usernames and groups by entry type, the reserved username
 * prefixes, the catalogue of AWS-managed access policies, and the cluster creator's bootstrap grant.
 */
import type { AccessEntryType, AccessScope, AuthenticationMode } from '../sources/types.js';
import { canonicalizeArn, splitArn } from './arn.js';
import type { AccessEntry, ClusterCreator } from './types.js';

/** Prefixes the access-entry (DynamicFile) mapper refuses in a username (docs/formats.md §1.5). */
export const RESERVED_USERNAME_PREFIXES = ['aws:', 'iam:', 'amazon:', 'system:', 'eks:'] as const;

/** The reserved prefix a username starts with, if any. */
export const reservedPrefixOf = (username: string): string | undefined =>
  RESERVED_USERNAME_PREFIXES.find((p) => username.startsWith(p));

/** Entry types that stand for nodes: EKS sets their username itself, under `system:node:`. */
const NODE_TYPES = new Set<AccessEntryType>([
  'EC2_LINUX',
  'EC2_WINDOWS',
  'FARGATE_LINUX',
  'HYBRID_LINUX',
  'HYPERPOD_LINUX',
  'EC2',
]);

export const isNodeEntryType = (type: AccessEntryType): boolean => NODE_TYPES.has(type);

/**
 * The username EKS generates when none is given (grant-k8s-access table, docs/formats.md §1.6):
 *  - STANDARD user -> the user ARN as given;
 *  - STANDARD role -> `arn:<p>:sts::<A>:assumed-role/<role name without path>/{{SessionName}}`;
 *  - EC2_LINUX / EC2_WINDOWS -> `system:node:{{EC2PrivateDNSName}}`;
 *  - FARGATE_LINUX / HYBRID_LINUX -> `system:node:{{SessionName}}`;
 *  - EC2 (Auto Mode), HYPERPOD_LINUX -> `system:node:{{SessionName}}`. Not in the table: Auto Mode
 *    nodes are named after their instance id, which is the session name of the node role, and the
 *    Node authorizer needs `system:node:<node name>`; inferred, not documented.
 * Returns undefined for a principal that is not an IAM role or user.
 */
export const defaultAccessEntryUsername = (
  principalArn: string,
  type: AccessEntryType = 'STANDARD',
): string | undefined => {
  if (type === 'EC2_LINUX' || type === 'EC2_WINDOWS') return 'system:node:{{EC2PrivateDNSName}}';
  if (type === 'FARGATE_LINUX' || type === 'HYBRID_LINUX' || type === 'HYPERPOD_LINUX' || type === 'EC2')
    return 'system:node:{{SessionName}}';
  const parts = splitArn(principalArn.trim());
  if (parts?.service !== 'iam') return undefined;
  const segments = parts.resource.split('/');
  const name = segments[segments.length - 1];
  if (segments[0] === 'user' && segments.length >= 2 && name) return principalArn.trim();
  if (segments[0] === 'role' && segments.length >= 2 && name) {
    // EKS drops the IAM path: an STS assumed-role ARN never carries it (containers-roadmap#185).
    return `arn:${parts.partition}:sts::${parts.accountId}:assumed-role/${name}/{{SessionName}}`;
  }
  return undefined;
};

/**
 * Groups EKS sets on a node entry. The CLI shows `system:nodes` for EC2_LINUX; the other node types
 * are documented without groups, but every node needs `system:nodes` for the Node authorizer to let
 * its kubelet work, so it is assumed for all of them (docs/formats.md §7.2, inferred).
 */
export const defaultAccessEntryGroups = (type: AccessEntryType): string[] =>
  NODE_TYPES.has(type) ? ['system:nodes'] : [];

/** The username template in force for an entry: the stored one, else the generated default. */
export const effectiveAccessEntryUsername = (entry: Pick<AccessEntry, 'principalArn' | 'type' | 'username'>) =>
  entry.username ?? defaultAccessEntryUsername(entry.principalArn, entry.type);

/** Groups in force: node entries cannot carry custom groups, so an empty list means the EKS default. */
export const effectiveAccessEntryGroups = (entry: Pick<AccessEntry, 'type' | 'kubernetesGroups'>): string[] =>
  entry.kubernetesGroups.length > 0 || !isNodeEntryType(entry.type)
    ? entry.kubernetesGroups
    : defaultAccessEntryGroups(entry.type);

export type UsernameProblem =
  | { kind: 'reserved-prefix'; prefix: string }
  | { kind: 'session-name-without-colon' }
  | { kind: 'custom-username-on-node-type' };

/**
 * Rules the EKS API applies to a username given for an entry. A username EKS generated itself (node
 * types, `system:node:…`) is exempt from the prefix rule.
 */
export const checkAccessEntryUsername = (type: AccessEntryType, username: string): UsernameProblem[] => {
  const problems: UsernameProblem[] = [];
  if (isNodeEntryType(type)) {
    if (username !== defaultAccessEntryUsername('', type)) problems.push({ kind: 'custom-username-on-node-type' });
    return problems;
  }
  const prefix = reservedPrefixOf(username);
  if (prefix) problems.push({ kind: 'reserved-prefix', prefix });
  const at = username.indexOf('{{SessionName}}');
  // AWS requires a ':' before {{SessionName}} so a session name cannot forge another user's name.
  if (at >= 0 && !username.slice(0, at).includes(':')) problems.push({ kind: 'session-name-without-colon' });
  return problems;
};

// ---------------------------------------------------------------------------------------------
// AWS-managed access policies
// ---------------------------------------------------------------------------------------------

export interface AccessPolicyInfo {
  name: string;
  /** What the policy lets a principal do in Kubernetes terms. */
  grants: string;
  /** Roughly the upstream user-facing ClusterRole it resembles, when there is one. */
  resembles?: 'cluster-admin' | 'admin' | 'edit' | 'view';
  admin: boolean;
  /** Intended for EKS-managed components rather than people. */
  forComponents: boolean;
}

const policy = (
  name: string,
  grants: string,
  opts: { resembles?: AccessPolicyInfo['resembles']; admin?: boolean; forComponents?: boolean } = {},
): AccessPolicyInfo => {
  const info: AccessPolicyInfo = {
    name,
    grants,
    admin: opts.admin ?? false,
    forComponents: opts.forComponents ?? false,
  };
  if (opts.resembles) info.resembles = opts.resembles;
  return info;
};

/** Known policies, keyed by name. Unknown names are still valid policies (AWS adds new ones). */
export const ACCESS_POLICIES: ReadonlyMap<string, AccessPolicyInfo> = new Map(
  [
    policy('AmazonEKSClusterAdminPolicy', 'every verb on every resource, cluster-wide or in the scoped namespaces', {
      resembles: 'cluster-admin',
      admin: true,
    }),
    policy(
      'AmazonEKSAdminPolicy',
      'most verbs on most resources including Roles and RoleBindings in its namespaces; not namespaces or quotas',
      { resembles: 'admin', admin: true },
    ),
    policy('AmazonEKSEditPolicy', 'create, change and delete most workload objects and read secrets; no RBAC changes', {
      resembles: 'edit',
    }),
    policy('AmazonEKSViewPolicy', 'read most objects; no secrets', { resembles: 'view' }),
    policy('AmazonEKSAdminViewPolicy', 'read every resource including secrets, cluster-wide'),
    policy('AmazonEKSSecretReaderPolicy', 'read secrets'),
    policy('AmazonEKSAutoNodePolicy', 'what an EKS Auto Mode node needs (kubelet-like access)', {
      forComponents: true,
    }),
    policy('AmazonEKSComputePolicy', 'the EKS Auto Mode compute controller: nodes, node pools and claims', {
      forComponents: true,
    }),
    policy('AmazonEKSBlockStoragePolicy', 'the EKS Auto Mode block storage controller: volumes and attachments', {
      forComponents: true,
    }),
    policy('AmazonEKSLoadBalancingPolicy', 'the EKS Auto Mode load balancing controller: services and ingresses', {
      forComponents: true,
    }),
    policy('AmazonEKSNetworkingPolicy', 'the EKS Auto Mode networking controller: pod networking objects', {
      forComponents: true,
    }),
    policy('AmazonEKSHybridPolicy', 'what EKS hybrid nodes need to join the cluster', { forComponents: true }),
    policy('AmazonAIOpsAssistantPolicy', 'read access for the AWS AI operations assistant', { forComponents: true }),
    policy('AmazonARCRegionSwitchScalingPolicy', 'scale workloads for Application Recovery Controller region switch', {
      forComponents: true,
    }),
  ].map((p) => [p.name, p]),
);

const POLICY_ARN = /^arn:([a-z0-9-]+):eks::aws:cluster-access-policy\/([A-Za-z0-9_+=,.@-]+)$/;

/** The policy name of an access-policy ARN, in any partition; undefined when not such an ARN. */
export const accessPolicyName = (policyArn: string): string | undefined => POLICY_ARN.exec(policyArn.trim())?.[2];

export const accessPolicyArn = (name: string, partition = 'aws'): string =>
  `arn:${partition}:eks::aws:cluster-access-policy/${name}`;

export const describeAccessPolicy = (policyArn: string): AccessPolicyInfo | undefined => {
  const name = accessPolicyName(policyArn);
  return name === undefined ? undefined : ACCESS_POLICIES.get(name);
};

/** True for AmazonEKSClusterAdminPolicy and AmazonEKSAdminPolicy (any partition). */
export const isAdminPolicy = (policyArn: string): boolean => describeAccessPolicy(policyArn)?.admin ?? false;

export const CLUSTER_ADMIN_POLICY = 'AmazonEKSClusterAdminPolicy';

// ---------------------------------------------------------------------------------------------
// Cluster creator bootstrap grant
// ---------------------------------------------------------------------------------------------

/**
 * In CONFIG_MAP mode the creator is admitted by a mapping that lives in the authenticator's static
 * file, never in aws-auth, so it cannot be seen or removed by cluster users.
 */
export const CONFIG_MAP_CREATOR_MAPPING = { username: 'kubernetes-admin', groups: ['system:masters'] } as const;

/**
 * The access entry EKS creates for the creator when bootstrapClusterCreatorAdminPermissions is true in
 * API / API_AND_CONFIG_MAP mode: a STANDARD entry with AmazonEKSClusterAdminPolicy at cluster scope.
 * Returns undefined in CONFIG_MAP mode, without bootstrap, or when the creator's principal is unknown.
 */
export const bootstrapCreatorEntry = (creator: ClusterCreator, mode: AuthenticationMode): AccessEntry | undefined => {
  if (mode === 'CONFIG_MAP' || !creator.bootstrapAdmin) return undefined;
  // The entry names the IAM role (with its path when CloudTrail gave the session issuer), not the session.
  const principalArn = creatorPrincipalArn(creator);
  if (!principalArn) return undefined;
  const canonical = canonicalizeArn(principalArn);
  if (!canonical.ok || canonical.value.type === 'federated-user') return undefined;
  const partition = canonical.value.partition;
  const scope: AccessScope = { type: 'cluster', namespaces: [] };
  const entry: AccessEntry = {
    principalArn,
    matchKey: canonical.value.matchKey,
    type: 'STANDARD',
    kubernetesGroups: [],
    policies: [{ policyArn: accessPolicyArn(CLUSTER_ADMIN_POLICY, partition), scope }],
    bootstrapCreator: true,
  };
  const username = defaultAccessEntryUsername(principalArn, 'STANDARD');
  if (username) entry.username = username;
  if (creator.actor.principalId) entry.principalId = creator.actor.principalId;
  return entry;
};

/** The IAM principal ARN behind the creator (role with path if known; user ARN; root). */
export const creatorPrincipalArn = (creator: ClusterCreator): string | undefined => {
  const issuer = creator.actor.sessionIssuerArn;
  if (issuer && canonicalizeArn(issuer).ok) return issuer;
  for (const arn of [creator.canonicalArn, creator.actor.canonicalArn, creator.actor.arn]) {
    if (!arn) continue;
    const c = canonicalizeArn(arn);
    if (c.ok) return c.value.canonicalArn;
  }
  return undefined;
};
