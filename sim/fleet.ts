/**
 * A consistent synthetic fleet: AWS accounts, IAM principals, the humans behind them, EKS clusters in
 * every authentication mode, and each cluster's identity mappings and RBAC as they stand when the
 * simulated window opens. Everything is derived from the seed; nothing reads the clock.
 */
import type { AccessEntryType, AccessScope, AuthenticationMode } from '../lib/sources/types.js';
import { accessKeyId, accountNumber, iamUniqueId, Rng, streamSuffix, upperAlnum } from './random.js';
import { busiestCluster, REALISTIC_COMPONENTS, type TrafficMixName } from './traffic-mix.js';

// -----------------------------------------------------------------------------------------------
// Types
// -----------------------------------------------------------------------------------------------

export type AccountKind = 'workload' | 'identity' | 'ci' | 'partner' | 'aws-eks-internal';

export interface SimAccount {
  id: string;
  alias: string;
  kind: AccountKind;
}

export type RolePurpose =
  | 'workload'
  | 'sso'
  | 'creator'
  | 'platform-admin'
  | 'platform-operator'
  | 'team'
  | 'contractor'
  | 'break-glass'
  | 'deployer'
  | 'ci-runner'
  | 'node'
  | 'eks-internal'
  | 'partner';

export interface SimRole {
  key: string;
  accountId: string;
  name: string;
  /** IAM path, `/` when none; SSO roles live under `/aws-reserved/sso.amazonaws.com/[<region>/]`. */
  path: string;
  /** IAM ARN with the path (what CloudTrail sessionIssuer and access entries carry). */
  arn: string;
  /** Path-less role ARN, as the authenticator canonicalises it. */
  canonicalArn: string;
  /** AROA… unique id at window start. */
  roleId: string;
  purpose: RolePurpose;
  /** SSO permission set name (AWSReservedSSO_<PermissionSet>_<hex>). */
  permissionSet?: string;
  /** The EKS-internal username this role maps to (eks:addon-manager …). */
  internalUsername?: string;
}

export interface SimIamUser {
  key: string;
  accountId: string;
  name: string;
  path: string;
  arn: string;
  /** AIDA… */
  userId: string;
  /** AKIA… long-term key (used to call STS, or directly for kubectl). */
  accessKeyId: string;
}

export interface SimSsoUser {
  key: string;
  email: string;
  /** SSO role keys (one per account) of the user's permission set. */
  roleKeys: string[];
  permissionSet: string;
}

export interface SimNode {
  instanceId: string;
  privateIp: string;
  /** The node's name: its EC2 private DNS name, or the session name for the `{{SessionName}}` node types. */
  privateDnsName: string;
  roleKey: string;
  /** The access-entry type that admits it (default EC2_LINUX through the node group role). */
  entryType?: AccessEntryType;
  /** The role session name when it is not the instance id (Fargate, hybrid nodes). */
  sessionName?: string;
  /** The AWS service that assumes the node role (CloudTrail invokedBy). */
  issuer?: string;
}

export interface SimServiceAccount {
  namespace: string;
  name: string;
  uid: string;
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface K8sRole {
  kind: 'ClusterRole' | 'Role';
  name: string;
  namespace?: string;
  rules: PolicyRule[];
}

export interface K8sSubject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
}

export interface K8sBinding {
  kind: 'ClusterRoleBinding' | 'RoleBinding';
  name: string;
  namespace?: string;
  roleRef: { kind: 'ClusterRole' | 'Role'; name: string };
  subjects: K8sSubject[];
}

export interface AwsAuthRoleRow {
  rolearn: string;
  username?: string;
  groups: string[];
}

export interface AwsAuthUserRow {
  userarn: string;
  username?: string;
  groups: string[];
}

export interface AwsAuthSpec {
  mapRoles: AwsAuthRoleRow[];
  mapUsers: AwsAuthUserRow[];
  mapAccounts: string[];
  resourceVersion: number;
  uid: string;
  creationTimestampUs: number;
}

export interface SimPolicyAssociation {
  policyArn: string;
  scope: AccessScope;
}

export interface SimAccessEntry {
  /** As given to CreateAccessEntry: the IAM ARN with its path. */
  principalArn: string;
  /** Role or user key in the fleet. */
  principalKey: string;
  type: AccessEntryType;
  /** Username template; undefined = the default for the entry type. */
  username?: string;
  kubernetesGroups: string[];
  policies: SimPolicyAssociation[];
  /** The IAM unique id the entry was bound to at creation: a recreated role no longer matches. */
  boundPrincipalId: string;
  createdAtUs: number;
  /** The bootstrap entry EKS creates for the cluster creator (no CreateAccessEntry in CloudTrail). */
  bootstrap?: boolean;
  accessEntryArn: string;
}

export interface SimApiServer {
  authenticatorStream: string;
  auditStream: string;
}

export interface SimCluster {
  name: string;
  accountId: string;
  region: string;
  arn: string;
  version: string;
  createdAtUs: number;
  createdMode: AuthenticationMode;
  /** Role key of the cluster creator, and the IAM user (human) who assumed it. */
  creatorRoleKey: string;
  creatorUserKey: string;
  bootstrapAdmin: boolean;
  /** HA control plane: one authenticator and one audit stream per API server instance. */
  apiServers: SimApiServer[];
  nodes: SimNode[];
  /** Initial aws-auth; undefined for API-only clusters. */
  awsAuth?: AwsAuthSpec;
  /** Initial access entries (created before the window). */
  accessEntries: SimAccessEntry[];
  roles: K8sRole[];
  bindings: K8sBinding[];
  namespaces: string[];
  serviceAccounts: SimServiceAccount[];
  /**
   * Service accounts of the realistic mix's add-ons and operators (sim/traffic-mix.ts), with their RBAC
   * in `roles` and `bindings`. Empty in the human-heavy fleet.
   */
  addOns: SimServiceAccount[];
  /** `identity.oidc.issuer`: what IRSA tokens of this cluster's pods name. */
  oidcIssuer: string;
  /** OIDC identity-provider configs associated before the window. */
  identityProviders: SimOidcProvider[];
}

/** A Pod Identity association of a cluster, and the pods (of one Deployment) that use it. */
export interface SimPodIdentity {
  /** The cluster the pods run on. */
  sourceCluster: string;
  /** The cluster they call with the role's sessions. */
  targetCluster: string;
  namespace: string;
  serviceAccount: string;
  roleKey: string;
  associationId: string;
  associationArn: string;
  createdAtUs: number;
  deployment: string;
  pods: string[];
}

/** A service account using IRSA: a role trusting its cluster's OIDC issuer for it. */
export interface SimIrsa {
  sourceCluster: string;
  targetCluster: string;
  namespace: string;
  serviceAccount: string;
  roleKey: string;
}

export interface SimOidcProvider {
  name: string;
  issuerUrl: string;
  clientId: string;
  usernameClaim: string;
  usernamePrefix: string;
  groupsClaim: string;
  groupsPrefix: string;
  associatedAtUs: number;
  /** People of the provider (e-mail claim) and their groups claim. */
  users: { email: string; groups: string[] }[];
}

/** Pods with IAM identities that call other clusters, and OIDC users (sim/scenario.ts planWorkloads). */
export interface FleetWorkloads {
  podIdentity?: SimPodIdentity;
  irsa?: SimIrsa;
}

export interface Fleet {
  seed: number;
  mix: TrafficMixName;
  /** Window the fleet was built for: everything "initial" exists before this instant. */
  startUs: number;
  accounts: SimAccount[];
  roles: Map<string, SimRole>;
  users: Map<string, SimIamUser>;
  ssoUsers: SimSsoUser[];
  clusters: SimCluster[];
  /** SAML provider used by IAM Identity Center in each workload account. */
  samlProviderName: string;
  /** GitHub OIDC subject of the CI workflow that assumes the deployer roles. */
  ciSubject: string;
  workloads: FleetWorkloads;
}

export interface FleetOptions {
  seed: number;
  clusters: number;
  accountsPerOrg: number;
  ssoUsers: number;
  iamUsers: number;
  /** Extra team roles per workload account, assumed by IAM users. */
  roles: number;
  nodesPerCluster: number;
  /** Extra service accounts per cluster beyond the built-in controllers. */
  serviceAccounts: number;
  /** ISO start of the simulated window (clusters and initial mappings predate it). Default 2025-06-02T08:00:00Z. */
  start?: string;
  /** API server instances per cluster (HA control plane). Default 2. */
  apiServersPerCluster?: number;
  /** Nodes of each cluster in fleet order; clusters past its end get nodesPerCluster. */
  nodeCounts?: readonly number[];
  /**
   * The traffic mix the fleet serves. 'realistic' adds the RBAC and service accounts of the control-plane
   * components, add-ons and operators that send the realistic mix. Default 'human-heavy'.
   */
  mix?: TrafficMixName;
}

// -----------------------------------------------------------------------------------------------
// Constants
// -----------------------------------------------------------------------------------------------

export const POLICY_ARN_PREFIX = 'arn:aws:eks::aws:cluster-access-policy/';
export const CLUSTER_ADMIN_POLICY = `${POLICY_ARN_PREFIX}AmazonEKSClusterAdminPolicy`;
export const ADMIN_POLICY = `${POLICY_ARN_PREFIX}AmazonEKSAdminPolicy`;
export const EDIT_POLICY = `${POLICY_ARN_PREFIX}AmazonEKSEditPolicy`;
export const VIEW_POLICY = `${POLICY_ARN_PREFIX}AmazonEKSViewPolicy`;

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];
const WORKLOAD_CORE = ['pods', 'pods/log', 'services', 'endpoints', 'configmaps', 'persistentvolumeclaims', 'events'];
const WORKLOAD_APPS = ['deployments', 'replicasets', 'statefulsets', 'daemonsets'];

/** Simplified rule sets of the EKS access policies (the real ones mirror the k8s default roles). */
export const ACCESS_POLICY_RULES: Record<string, PolicyRule[]> = {
  [CLUSTER_ADMIN_POLICY]: [
    { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
    { verbs: ['*'], nonResourceURLs: ['*'] },
  ],
  [ADMIN_POLICY]: [
    {
      verbs: ['*'],
      apiGroups: ['', 'apps', 'batch', 'networking.k8s.io', 'rbac.authorization.k8s.io'],
      resources: ['*'],
    },
  ],
  [EDIT_POLICY]: [
    { verbs: [...READ, ...WRITE], apiGroups: [''], resources: [...WORKLOAD_CORE, 'secrets'] },
    { verbs: ['create'], apiGroups: [''], resources: ['pods/exec', 'pods/portforward'] },
    { verbs: [...READ, ...WRITE], apiGroups: ['apps', 'batch'], resources: [...WORKLOAD_APPS, 'jobs', 'cronjobs'] },
  ],
  [VIEW_POLICY]: [
    { verbs: READ, apiGroups: [''], resources: [...WORKLOAD_CORE, 'namespaces', 'nodes'] },
    { verbs: READ, apiGroups: ['apps', 'batch'], resources: [...WORKLOAD_APPS, 'jobs', 'cronjobs'] },
  ],
};

const CLUSTER_NAMES = ['payments-prod', 'checkout-stg', 'platform-dev', 'data-prod', 'ml-dev', 'edge-prod'];
const REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2'];
const MODES: AuthenticationMode[] = ['CONFIG_MAP', 'API_AND_CONFIG_MAP', 'API'];
const FIRST = ['alice', 'bob', 'carol', 'dmitri', 'erin', 'farah', 'gus', 'hiro', 'ines', 'jamal', 'kim', 'lena'];
const LAST = ['nguyen', 'smith', 'garcia', 'okafor', 'tanaka', 'muller', 'rossi', 'kowalski', 'silva', 'haddad'];
const PERMISSION_SETS = ['AdministratorAccess', 'Developer', 'ReadOnly'] as const;
const APP_NAMESPACES = ['payments', 'checkout', 'monitoring'];

const DAY_US = 86_400_000_000;
const HOUR_US = 3_600_000_000;

// -----------------------------------------------------------------------------------------------
// Builder
// -----------------------------------------------------------------------------------------------

const roleArn = (accountId: string, path: string, name: string): string =>
  `arn:aws:iam::${accountId}:role${path}${name}`;

export const defaultStart = '2025-06-02T08:00:00Z';

export const buildFleet = (opts: FleetOptions): Fleet => {
  const rng = new Rng(opts.seed).fork('fleet');
  const startUs = Date.parse(opts.start ?? defaultStart) * 1000;
  const nClusters = Math.max(1, opts.clusters);
  const nWorkload = Math.max(1, opts.accountsPerOrg);
  const apiServersPerCluster = Math.max(1, opts.apiServersPerCluster ?? 2);

  const accounts: SimAccount[] = [];
  const newAccount = (alias: string, kind: AccountKind): SimAccount => {
    const a = { id: accountNumber(rng), alias, kind };
    accounts.push(a);
    return a;
  };
  const workload = Array.from({ length: nWorkload }, (_, i) => newAccount(`workload-${i + 1}`, 'workload'));
  const identity = newAccount('identity', 'identity');
  const ci = newAccount('ci-tooling', 'ci');
  const partner = newAccount('partner-auditor', 'partner');
  const internal = newAccount('aws-eks-internal', 'aws-eks-internal');

  const roles = new Map<string, SimRole>();
  const addFleetRole: AddRole = (r) => addRole(roles, rng, r);
  for (const [ai, acct] of workload.entries()) addWorkloadRoles(addFleetRole, rng, acct, ai, Math.max(1, opts.roles));
  addSharedRoles(addFleetRole, rng, { ci, partner, internal });
  const users = buildIamUsers(rng, identity, Math.max(2, opts.iamUsers));
  const ssoUsers = buildSsoUsers(workload, Math.max(PERMISSION_SETS.length, opts.ssoUsers));

  const mix = opts.mix ?? 'human-heavy';
  const nodeCounts = Array.from({ length: nClusters }, (_, c) =>
    Math.max(1, opts.nodeCounts?.[c] ?? opts.nodesPerCluster),
  );
  const busiest = busiestCluster(nodeCounts);
  const clusters: SimCluster[] = [];
  for (let c = 0; c < nClusters; c++) {
    const acct = workload[c % nWorkload] as SimAccount;
    const region = REGIONS[(c % nWorkload) % REGIONS.length] as string;
    const base = CLUSTER_NAMES[c % CLUSTER_NAMES.length] as string;
    const name = c < CLUSTER_NAMES.length ? base : `${base}-${Math.floor(c / CLUSTER_NAMES.length) + 1}`;
    const mode = MODES[c % MODES.length] as AuthenticationMode;
    const createdAtUs = startUs - (20 + rng.int(200)) * DAY_US - rng.int(24 * HOUR_US);
    clusters.push(
      buildCluster(rng.fork(`cluster:${name}`), {
        name,
        acct,
        region,
        mode,
        createdAtUs,
        roles,
        users,
        partner,
        nodes: nodeCounts[c] as number,
        mix,
        busiest: c === busiest,
        extraServiceAccounts: Math.max(0, opts.serviceAccounts),
        apiServers: apiServersPerCluster,
        teamRoles: Math.max(1, opts.roles),
      }),
    );
  }

  // Drawn from a fork, after everything else: the rest of the fleet stays as it was.
  const workloads = addWorkloadIdentities(rng.fork('workloads'), clusters, roles, startUs, mix);
  return {
    seed: opts.seed,
    mix,
    startUs,
    accounts,
    roles,
    users,
    ssoUsers,
    clusters,
    samlProviderName: 'AWSSSO_5e1a0c3bd4e2f7a9_DO_NOT_DELETE',
    ciSubject: 'repo:acme/payments-service:ref:refs/heads/main',
    workloads,
  };
};

type AddRole = (r: Omit<SimRole, 'arn' | 'canonicalArn' | 'roleId'>) => SimRole;

/** Per workload account: SSO roles, the provisioning role, admins, team roles, CI deployer. */
const addWorkloadRoles = (addRole: AddRole, rng: Rng, acct: SimAccount, ai: number, teamRoles: number): void => {
  const region = REGIONS[ai % REGIONS.length] as string;
  for (const [pi, ps] of PERMISSION_SETS.entries()) {
    // Identity Center paths include the region for newer instances and omit it for older ones.
    const path = pi % 2 === 0 ? `/aws-reserved/sso.amazonaws.com/${region}/` : '/aws-reserved/sso.amazonaws.com/';
    addRole({
      key: `sso:${ps}:${acct.id}`,
      accountId: acct.id,
      name: `AWSReservedSSO_${ps}_${rng.hex(16)}`,
      path,
      purpose: 'sso',
      permissionSet: ps,
    });
  }
  addRole({
    key: `creator:${acct.id}`,
    accountId: acct.id,
    name: 'terraform-provisioner',
    path: '/',
    purpose: 'creator',
  });
  addRole({
    key: `platform-admin:${acct.id}`,
    accountId: acct.id,
    name: 'PlatformAdmin',
    path: '/',
    purpose: 'platform-admin',
  });
  addRole({
    key: `platform-operator:${acct.id}`,
    accountId: acct.id,
    name: 'platform-operator',
    path: '/teams/platform/',
    purpose: 'platform-operator',
  });
  addRole({
    key: `break-glass:${acct.id}`,
    accountId: acct.id,
    name: 'break-glass',
    path: '/',
    purpose: 'break-glass',
  });
  addRole({
    key: `contractor:${acct.id}`,
    accountId: acct.id,
    name: 'contractor-access',
    path: '/',
    purpose: 'contractor',
  });
  addRole({
    key: `deployer:${acct.id}`,
    accountId: acct.id,
    name: 'eks-deployer',
    path: '/ci/',
    purpose: 'deployer',
  });
  for (let t = 0; t < teamRoles; t++) {
    addRole({
      key: `team:${t}:${acct.id}`,
      accountId: acct.id,
      name: `team-${t + 1}-operator`,
      path: '/',
      purpose: 'team',
    });
  }
};

/** Roles outside the workload accounts: the CI runner, the partner's auditor, and EKS's own managers. */
const addSharedRoles = (
  addRole: AddRole,
  rng: Rng,
  { ci, partner, internal }: { ci: SimAccount; partner: SimAccount; internal: SimAccount },
): void => {
  addRole({ key: 'ci-runner', accountId: ci.id, name: 'github-actions-runner', path: '/', purpose: 'ci-runner' });
  addRole({ key: 'partner', accountId: partner.id, name: 'eks-auditor', path: '/', purpose: 'partner' });
  for (const [suffix, username] of [
    ['Add-AddonManagerRole', 'eks:addon-manager'],
    ['NodeManagerRole', 'eks:node-manager'],
    ['FargateManagerRole', 'eks:fargate-manager'],
  ] as const) {
    addRole({
      key: `eks-internal:${username}`,
      accountId: internal.id,
      name: `AWSWesleyClusterManagerLambda-${suffix}-${upperAlnum(rng, 13)}`,
      path: '/',
      purpose: 'eks-internal',
      internalUsername: username,
    });
  }
};

/** IAM users live in the identity account and assume roles cross-account; one uses its key directly. */
const buildIamUsers = (rng: Rng, identity: SimAccount, nUsers: number): Map<string, SimIamUser> => {
  const users = new Map<string, SimIamUser>();
  for (let u = 0; u < nUsers; u++) {
    const name = `${FIRST[u % FIRST.length]}.${LAST[(u * 7) % LAST.length]}${u >= FIRST.length ? u : ''}`;
    const path = u % 3 === 2 ? '/engineering/' : '/';
    const user: SimIamUser = {
      key: `user:${u}`,
      accountId: identity.id,
      name,
      path,
      arn: `arn:aws:iam::${identity.id}:user${path}${name}`,
      userId: iamUniqueId(rng, 'AIDA', identity.id),
      accessKeyId: accessKeyId(rng, 'AKIA', identity.id),
    };
    users.set(user.key, user);
  }
  return users;
};

/** Identity Center users, spread over the permission sets, each with its role in every workload account. */
const buildSsoUsers = (workload: readonly SimAccount[], nSsoUsers: number): SimSsoUser[] => {
  const ssoUsers: SimSsoUser[] = [];
  for (let s = 0; s < nSsoUsers; s++) {
    const first = FIRST[(s * 5 + 3) % FIRST.length] as string;
    const last = LAST[(s * 3 + 1) % LAST.length] as string;
    const ps = PERMISSION_SETS[s % PERMISSION_SETS.length] as string;
    ssoUsers.push({
      key: `sso-user:${s}`,
      email: `${first}.${last}${s >= FIRST.length ? s : ''}@example.com`,
      permissionSet: ps,
      roleKeys: workload.map((a) => `sso:${ps}:${a.id}`),
    });
  }
  return ssoUsers;
};

const addRole = (
  roles: Map<string, SimRole>,
  rng: Rng,
  r: Omit<SimRole, 'arn' | 'canonicalArn' | 'roleId'>,
): SimRole => {
  const role: SimRole = {
    ...r,
    arn: roleArn(r.accountId, r.path, r.name),
    canonicalArn: roleArn(r.accountId, '/', r.name),
    roleId: iamUniqueId(rng, 'AROA', r.accountId),
  };
  roles.set(role.key, role);
  return role;
};

/**
 * The ways into a cluster besides people's IAM principals (docs/formats.md §3.5, §3.6): pods of the
 * first cluster reach the second through EKS Pod Identity, pods of the second reach the first through
 * IRSA, the second trusts an OIDC identity provider, and admits nodes of every node access-entry type.
 * Needs a second cluster that honours access entries; a fleet without one gets OIDC issuers only.
 */
const addWorkloadIdentities = (
  rng: Rng,
  clusters: SimCluster[],
  roles: Map<string, SimRole>,
  startUs: number,
  mix: TrafficMixName,
): FleetWorkloads => {
  for (const c of clusters) {
    c.oidcIssuer = `https://oidc.eks.${c.region}.amazonaws.com/id/${rng.fromAlphabet('0123456789ABCDEF', 32)}`;
  }
  const [first, second] = clusters;
  if (!first || !second || second.createdMode === 'CONFIG_MAP') return {};

  // EKS Pod Identity: payments/payments-deployer on the first cluster acts as a role the second maps.
  const podRole = addRole(roles, rng, {
    key: `workload:pod-deployer:${first.accountId}`,
    accountId: first.accountId,
    name: 'payments-pod-deployer',
    path: '/workloads/',
    purpose: 'workload',
  });
  // Everything here happened before the window, after both clusters existed.
  const historyAt = (fromUs: number, days: number): number => Math.min(fromUs + days * DAY_US, startUs - DAY_US);
  const createdAtUs = historyAt(Math.max(first.createdAtUs, second.createdAtUs), rng.range(2, 10));
  const associationId = `a-${rng.fromAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 17)}`;
  const hash = rng.hex(10);
  const pods = Array.from(
    { length: 2 },
    () => `payments-api-${hash}-${rng.fromAlphabet('bcdfghjklmnpqrstvwxz2456789', 5)}`,
  );
  const podIdentity: SimPodIdentity = {
    sourceCluster: first.name,
    targetCluster: second.name,
    namespace: 'payments',
    serviceAccount: 'payments-deployer',
    roleKey: podRole.key,
    associationId,
    associationArn: `arn:aws:eks:${first.region}:${first.accountId}:podidentityassociation/${first.name}/${associationId}`,
    createdAtUs,
    deployment: 'payments-api',
    pods,
  };
  second.accessEntries.push({
    principalArn: podRole.arn,
    principalKey: podRole.key,
    type: 'STANDARD',
    username: 'pod-deployer:{{SessionName}}',
    kubernetesGroups: ['ci:deployers'],
    policies: [],
    boundPrincipalId: podRole.roleId,
    createdAtUs: createdAtUs + HOUR_US,
    accessEntryArn: `arn:aws:eks:${second.region}:${second.accountId}:access-entry/${second.name}/role/${podRole.accountId}/${podRole.name}/${rng.uuid()}`,
  });

  // IRSA: monitoring/cost-exporter on the second cluster reads the first through an aws-auth row.
  const irsaRole = addRole(roles, rng, {
    key: `workload:cost-exporter:${second.accountId}`,
    accountId: second.accountId,
    name: 'cost-exporter-irsa',
    path: '/',
    purpose: 'workload',
  });
  const irsa: SimIrsa = {
    sourceCluster: second.name,
    targetCluster: first.name,
    namespace: 'monitoring',
    serviceAccount: 'cost-exporter',
    roleKey: irsaRole.key,
  };
  if (first.awsAuth) {
    first.awsAuth.mapRoles.push({ rolearn: irsaRole.arn, username: 'cost-exporter', groups: ['platform:readers'] });
  } else {
    first.accessEntries.push({
      principalArn: irsaRole.arn,
      principalKey: irsaRole.key,
      type: 'STANDARD',
      username: 'cost-exporter',
      kubernetesGroups: ['platform:readers'],
      policies: [],
      boundPrincipalId: irsaRole.roleId,
      createdAtUs: createdAtUs + 2 * HOUR_US,
      accessEntryArn: `arn:aws:eks:${first.region}:${first.accountId}:access-entry/${first.name}/role/${irsaRole.accountId}/${irsaRole.name}/${rng.uuid()}`,
    });
  }

  // An OIDC identity provider on the second cluster, whose SRE group may read it.
  second.identityProviders.push({
    name: 'corp-okta',
    issuerUrl: 'https://example.okta.com/oauth2/default',
    clientId: `eks-${second.name}`,
    usernameClaim: 'email',
    usernamePrefix: 'okta:',
    groupsClaim: 'groups',
    groupsPrefix: 'okta:',
    associatedAtUs: historyAt(second.createdAtUs, rng.range(1, 5)),
    users: [
      { email: 'nadia.kovacs@example.com', groups: ['sre'] },
      { email: 'oscar.lindqvist@example.com', groups: ['sre', 'oncall'] },
    ],
  });
  second.bindings.push({
    kind: 'ClusterRoleBinding',
    name: 'okta-sre-view',
    roleRef: { kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'Group', name: 'okta:sre' }],
  });

  // Nodes of every node access-entry type besides the EC2_LINUX node group. The realistic mix sizes its
  // kubelet traffic by node group (sim/traffic-mix.ts): it keeps its node counts as they were.
  if (mix === 'realistic') return { podIdentity, irsa };
  const nodeTypes: { type: AccessEntryType; name: string; issuer: string; node: () => Omit<SimNode, 'roleKey'> }[] = [
    {
      type: 'EC2_WINDOWS',
      name: 'windows-nodes',
      issuer: 'ec2.amazonaws.com',
      node: () => {
        const ip = `10.${rng.range(0, 31)}.${rng.range(0, 255)}.${rng.range(2, 254)}`;
        return { instanceId: `i-0${rng.hex(16)}`, privateIp: ip, privateDnsName: privateDnsName(ip, second.region) };
      },
    },
    {
      type: 'FARGATE_LINUX',
      name: 'fargate-pod-execution',
      issuer: 'eks-fargate-pods.amazonaws.com',
      node: () => {
        const ip = `10.${rng.range(0, 31)}.${rng.range(0, 255)}.${rng.range(2, 254)}`;
        const name = `fargate-${privateDnsName(ip, second.region)}`;
        return { instanceId: `i-0${rng.hex(16)}`, privateIp: ip, privateDnsName: name, sessionName: name };
      },
    },
    {
      type: 'HYBRID_LINUX',
      name: 'hybrid-nodes',
      issuer: 'ssm.amazonaws.com',
      node: () => {
        const id = `mi-0${rng.hex(16)}`;
        return {
          instanceId: id,
          privateIp: `192.168.${rng.range(0, 255)}.${rng.range(2, 254)}`,
          privateDnsName: id,
          sessionName: id,
        };
      },
    },
    {
      type: 'EC2',
      name: 'auto-mode-nodes',
      issuer: 'ec2.amazonaws.com',
      node: () => {
        const id = `i-0${rng.hex(16)}`;
        return {
          instanceId: id,
          privateIp: `10.${rng.range(0, 31)}.${rng.range(0, 255)}.${rng.range(2, 254)}`,
          privateDnsName: id,
          sessionName: id,
        };
      },
    },
  ];
  for (const t of nodeTypes) {
    const role = addRole(roles, rng, {
      key: `node:${second.name}:${t.type}`,
      accountId: second.accountId,
      name: `${second.name}-${t.name}`,
      path: '/',
      purpose: 'node',
    });
    second.nodes.push({ ...t.node(), roleKey: role.key, entryType: t.type, issuer: t.issuer });
    second.accessEntries.push({
      principalArn: role.arn,
      principalKey: role.key,
      type: t.type,
      kubernetesGroups: ['system:nodes'],
      policies: [],
      boundPrincipalId: role.roleId,
      createdAtUs: historyAt(second.createdAtUs, rng.range(1, 15)),
      accessEntryArn: `arn:aws:eks:${second.region}:${second.accountId}:access-entry/${second.name}/role/${role.accountId}/${role.name}/${rng.uuid()}`,
    });
  }
  return { podIdentity, irsa };
};

interface ClusterInputs {
  name: string;
  acct: SimAccount;
  region: string;
  mode: AuthenticationMode;
  createdAtUs: number;
  roles: Map<string, SimRole>;
  users: Map<string, SimIamUser>;
  partner: SimAccount;
  nodes: number;
  mix: TrafficMixName;
  /** The fleet's busiest cluster (most nodes): the only one running the realistic mix's operator. */
  busiest: boolean;
  extraServiceAccounts: number;
  apiServers: number;
  teamRoles: number;
}

const privateDnsName = (ip: string, region: string): string =>
  region === 'us-east-1'
    ? `ip-${ip.replaceAll('.', '-')}.ec2.internal`
    : `ip-${ip.replaceAll('.', '-')}.${region}.compute.internal`;

const roleOf = (i: ClusterInputs, key: string): SimRole => {
  const r = i.roles.get(key);
  if (!r) throw new Error(`fleet is missing role ${key}`);
  return r;
};

/** A cluster of the fleet: its node role and nodes, API servers, initial mappings, RBAC and service accounts. */
const buildCluster = (rng: Rng, i: ClusterInputs): SimCluster => {
  const a = i.acct.id;
  const nodeRole = addNodeRole(rng, i);
  const nodes: SimNode[] = Array.from({ length: i.nodes }, () => {
    const ip = `10.${rng.range(0, 31)}.${rng.range(0, 255)}.${rng.range(2, 254)}`;
    return {
      instanceId: `i-0${rng.hex(16)}`,
      privateIp: ip,
      privateDnsName: privateDnsName(ip, i.region),
      roleKey: nodeRole.key,
    };
  });
  const apiServers = Array.from({ length: i.apiServers }, () => ({
    authenticatorStream: `authenticator-${streamSuffix(rng)}`,
    auditStream: `kube-apiserver-audit-${streamSuffix(rng)}`,
  }));
  const creator = roleOf(i, `creator:${a}`);
  const awsAuth = i.mode !== 'API' ? initialAwsAuth(rng, i, nodeRole) : undefined;
  const accessEntries = i.mode !== 'CONFIG_MAP' ? initialAccessEntries(rng, i, nodeRole) : [];
  const namespaces = ['default', 'kube-system', 'argocd', ...APP_NAMESPACES];
  const k8sRoles = baseRoles();
  const bindings = baseBindings(roleOf(i, 'partner'));
  const serviceAccounts: SimServiceAccount[] = [
    { namespace: 'kube-system', name: 'coredns', uid: rng.uuid() },
    { namespace: 'argocd', name: 'argocd-application-controller', uid: rng.uuid() },
  ];
  for (let s = 0; s < i.extraServiceAccounts; s++) {
    serviceAccounts.push({
      namespace: APP_NAMESPACES[s % APP_NAMESPACES.length] as string,
      name: 'app-reader',
      uid: rng.uuid(),
    });
  }
  // Drawn from a fork, after everything else: the human-heavy fleet stays exactly as it was.
  const addOns = i.mix === 'realistic' ? addRealisticComponents(rng.fork('components'), i, k8sRoles, bindings) : [];
  if (addOns.some((sa) => sa.namespace === 'operators')) namespaces.push('operators');

  return {
    name: i.name,
    accountId: a,
    region: i.region,
    arn: `arn:aws:eks:${i.region}:${a}:cluster/${i.name}`,
    version: ['1.29', '1.30', '1.31'][rng.int(3)] as string,
    createdAtUs: i.createdAtUs,
    createdMode: i.mode,
    creatorRoleKey: creator.key,
    creatorUserKey: `user:${1 + rng.int(Math.max(1, i.users.size - 1))}`,
    bootstrapAdmin: true,
    apiServers,
    nodes,
    awsAuth,
    accessEntries,
    roles: k8sRoles,
    bindings,
    namespaces,
    serviceAccounts,
    addOns,
    oidcIssuer: '',
    identityProviders: [],
  };
};

/** The role of the cluster's node group, added to the fleet's roles. */
const addNodeRole = (rng: Rng, i: ClusterInputs): SimRole => {
  const a = i.acct.id;
  const nodeRoleKey = `node:${i.name}`;
  const nodeRoleName = `eksctl-${i.name}-nodegroup-ng-1-NodeInstanceRole-${upperAlnum(rng, 13)}`;
  const nodeRole: SimRole = {
    key: nodeRoleKey,
    accountId: a,
    name: nodeRoleName,
    path: '/',
    arn: roleArn(a, '/', nodeRoleName),
    canonicalArn: roleArn(a, '/', nodeRoleName),
    roleId: iamUniqueId(rng, 'AROA', a),
    purpose: 'node',
  };
  i.roles.set(nodeRoleKey, nodeRole);
  return nodeRole;
};

/** aws-auth as the cluster starts (CONFIG_MAP and API_AND_CONFIG_MAP), with the pitfalls real ones have. */
const initialAwsAuth = (rng: Rng, i: ClusterInputs, nodeRole: SimRole): AwsAuthSpec => {
  const a = i.acct.id;
  const role = (key: string) => roleOf(i, key);
  const sso = (ps: string) => role(`sso:${ps}:${a}`);
  const deployer = role(`deployer:${a}`);
  const directUser = i.users.get('user:0') as SimIamUser;
  const mapRoles: AwsAuthRoleRow[] = [
    {
      rolearn: nodeRole.arn,
      username: 'system:node:{{EC2PrivateDNSName}}',
      groups: ['system:bootstrappers', 'system:nodes'],
    },
    // Duplicate rolearn: the authenticator keys rows by lower-cased ARN, so the LAST row wins.
    {
      rolearn: role(`platform-admin:${a}`).arn,
      username: 'platform-admin:{{SessionName}}',
      groups: ['platform:readers'],
    },
    // SSO role given path-less, as aws-auth requires; the username carries the (e-mail) session.
    { rolearn: sso('Developer').canonicalArn, username: 'dev:{{SessionName}}', groups: ['dev:team'] },
    // A rolearn WITH its IAM path never matches: the authenticator does not canonicalise it.
    { rolearn: role(`platform-operator:${a}`).arn, username: 'platform-operator', groups: ['platform:admins'] },
    {
      rolearn: role(`platform-admin:${a}`).arn.replace('PlatformAdmin', 'platformadmin'),
      username: 'platform-admin:{{SessionName}}',
      groups: ['platform:admins'],
    },
  ];
  for (let t = 0; t < i.teamRoles; t++) {
    // team-1 has an access entry on access-entry clusters and deliberately no aws-auth fallback there,
    // so its recreation (new AROA) turns into unmapped denials instead of a silent re-admission.
    if (t === 0 && i.mode === 'API_AND_CONFIG_MAP') continue;
    mapRoles.push({
      rolearn: role(`team:${t}:${a}`).arn,
      username: 'ops:{{SessionName}}',
      groups: ['platform:readers'],
    });
  }
  if (i.mode === 'API_AND_CONFIG_MAP') {
    // Also has an access entry: the entry takes precedence (different username makes it visible).
    mapRoles.push({ rolearn: deployer.canonicalArn, username: 'legacy-deployer', groups: ['system:masters'] });
  }
  return {
    mapRoles,
    mapUsers: [{ userarn: directUser.arn, username: directUser.name, groups: ['platform:admins'] }],
    mapAccounts: i.mode === 'CONFIG_MAP' ? [i.partner.id] : [],
    resourceVersion: 1000 + rng.int(9000),
    uid: rng.uuid(),
    creationTimestampUs: i.createdAtUs + 12 * 60_000_000,
  };
};

/** Access entries as the cluster starts (API_AND_CONFIG_MAP and API), created one after another. */
const initialAccessEntries = (rng: Rng, i: ClusterInputs, nodeRole: SimRole): SimAccessEntry[] => {
  const a = i.acct.id;
  const role = (key: string) => roleOf(i, key);
  const sso = (ps: string) => role(`sso:${ps}:${a}`);
  const creator = role(`creator:${a}`);
  const deployer = role(`deployer:${a}`);
  const accessEntryArn = (p: SimRole | SimIamUser, kind: 'role' | 'user') =>
    `arn:aws:eks:${i.region}:${a}:access-entry/${i.name}/${kind}/${p.accountId}/${p.name}/${rng.uuid()}`;
  const accessEntries: SimAccessEntry[] = [];
  let t = i.createdAtUs;
  const entry = (
    p: SimRole,
    type: AccessEntryType,
    rest: Partial<Pick<SimAccessEntry, 'username' | 'kubernetesGroups' | 'policies' | 'bootstrap'>>,
  ) => {
    t += rng.range(5, 120) * 60_000_000;
    accessEntries.push({
      principalArn: p.arn,
      principalKey: p.key,
      type,
      username: rest.username,
      kubernetesGroups: rest.kubernetesGroups ?? (type === 'EC2_LINUX' ? ['system:nodes'] : []),
      policies: rest.policies ?? [],
      boundPrincipalId: p.roleId,
      createdAtUs: rest.bootstrap ? i.createdAtUs : t,
      bootstrap: rest.bootstrap,
      accessEntryArn: accessEntryArn(p, 'role'),
    });
  };
  const clusterScope: AccessScope = { type: 'cluster', namespaces: [] };
  entry(creator, 'STANDARD', {
    bootstrap: true,
    policies: [{ policyArn: CLUSTER_ADMIN_POLICY, scope: clusterScope }],
  });
  entry(nodeRole, 'EC2_LINUX', {});
  entry(sso('AdministratorAccess'), 'STANDARD', {
    policies: [{ policyArn: CLUSTER_ADMIN_POLICY, scope: clusterScope }],
  });
  entry(sso('ReadOnly'), 'STANDARD', { policies: [{ policyArn: VIEW_POLICY, scope: clusterScope }] });
  entry(deployer, 'STANDARD', { username: 'ci-deployer:{{SessionName}}', kubernetesGroups: ['ci:deployers'] });
  entry(role(`team:0:${a}`), 'STANDARD', {
    username: 'team-1:{{SessionName}}',
    policies: [{ policyArn: EDIT_POLICY, scope: { type: 'namespace', namespaces: ['payments', 'checkout'] } }],
  });
  if (i.mode === 'API') {
    entry(sso('Developer'), 'STANDARD', {
      username: 'dev:{{SessionName}}',
      kubernetesGroups: ['dev:team'],
    });
  }
  return accessEntries;
};

/** Roles every cluster starts with: Kubernetes' and EKS's own, the add-ons', and those the teams are bound to. */
const baseRoles = (): K8sRole[] => {
  return [
    {
      kind: 'ClusterRole',
      name: 'cluster-admin',
      rules: [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ],
    },
    { kind: 'ClusterRole', name: 'view', rules: ACCESS_POLICY_RULES[VIEW_POLICY] as PolicyRule[] },
    { kind: 'ClusterRole', name: 'edit', rules: ACCESS_POLICY_RULES[EDIT_POLICY] as PolicyRule[] },
    {
      kind: 'ClusterRole',
      name: 'system:coredns',
      rules: [
        { verbs: ['list', 'watch'], apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'] },
        { verbs: ['list', 'watch'], apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
      ],
    },
    {
      kind: 'ClusterRole',
      name: 'argocd-application-controller',
      rules: [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ],
    },
    {
      kind: 'ClusterRole',
      name: 'eks:node-manager',
      rules: [
        { verbs: ['get', 'list', 'patch'], apiGroups: [''], resources: ['nodes', 'pods'] },
        { verbs: ['create'], apiGroups: [''], resources: ['pods/eviction'] },
      ],
    },
    {
      kind: 'Role',
      name: 'eks:addon-manager',
      namespace: 'kube-system',
      rules: [
        {
          verbs: ['get', 'list', 'watch', 'update', 'patch'],
          apiGroups: ['', 'apps'],
          resources: ['configmaps', 'services', 'serviceaccounts', 'daemonsets', 'deployments'],
        },
      ],
    },
    {
      kind: 'Role',
      name: 'developer',
      namespace: 'payments',
      rules: [
        { verbs: READ, apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'configmaps'] },
        { verbs: [...READ, 'patch'], apiGroups: ['apps'], resources: ['deployments', 'replicasets'] },
        { verbs: ['create'], apiGroups: [''], resources: ['pods/exec'] },
      ],
    },
    {
      kind: 'ClusterRole',
      name: 'impersonator',
      rules: [{ verbs: ['impersonate'], apiGroups: [''], resources: ['users', 'groups'] }],
    },
  ];
};

/** Bindings every cluster has; the partner account's role reads through its canonical ARN. */
const baseBindings = (partner: SimRole): K8sBinding[] => {
  return [
    {
      kind: 'ClusterRoleBinding',
      name: 'cluster-admin',
      roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'Group', name: 'system:masters' }],
    },
    {
      kind: 'ClusterRoleBinding',
      name: 'platform-admins',
      roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'Group', name: 'platform:admins' }],
    },
    {
      kind: 'ClusterRoleBinding',
      name: 'platform-readers',
      roleRef: { kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'Group', name: 'platform:readers' }],
    },
    {
      kind: 'ClusterRoleBinding',
      name: 'system:coredns',
      roleRef: { kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
    },
    {
      kind: 'ClusterRoleBinding',
      name: 'argocd-application-controller',
      roleRef: { kind: 'ClusterRole', name: 'argocd-application-controller' },
      subjects: [{ kind: 'ServiceAccount', name: 'argocd-application-controller', namespace: 'argocd' }],
    },
    {
      kind: 'ClusterRoleBinding',
      name: 'eks:node-manager',
      roleRef: { kind: 'ClusterRole', name: 'eks:node-manager' },
      subjects: [{ kind: 'User', name: 'eks:node-manager' }],
    },
    {
      kind: 'ClusterRoleBinding',
      name: 'partner-audit',
      roleRef: { kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', name: partner.canonicalArn }],
    },
    {
      kind: 'ClusterRoleBinding',
      name: 'platform-impersonators',
      roleRef: { kind: 'ClusterRole', name: 'impersonator' },
      subjects: [{ kind: 'Group', name: 'platform:admins' }],
    },
    {
      kind: 'RoleBinding',
      name: 'eks:addon-manager',
      namespace: 'kube-system',
      roleRef: { kind: 'Role', name: 'eks:addon-manager' },
      subjects: [{ kind: 'User', name: 'eks:addon-manager' }],
    },
    {
      kind: 'RoleBinding',
      name: 'developers',
      namespace: 'payments',
      roleRef: { kind: 'Role', name: 'developer' },
      subjects: [{ kind: 'Group', name: 'dev:team' }],
    },
    ...APP_NAMESPACES.map(
      (ns): K8sBinding => ({
        kind: 'RoleBinding',
        name: 'ci-deployers',
        namespace: ns,
        roleRef: { kind: 'ClusterRole', name: 'edit' },
        subjects: [
          { kind: 'Group', name: 'ci:deployers' },
          { kind: 'ServiceAccount', name: 'app-reader', namespace: ns },
        ],
      }),
    ),
  ];
};

/** RBAC and service accounts of the realistic mix's components, appended after the cluster's own. */
const addRealisticComponents = (
  rng: Rng,
  i: ClusterInputs,
  roles: K8sRole[],
  bindings: K8sBinding[],
): SimServiceAccount[] => {
  const accounts: SimServiceAccount[] = [];
  for (const spec of REALISTIC_COMPONENTS) {
    if (spec.busiestOnly && !i.busiest) continue;
    const id = spec.identity;
    let subject: K8sSubject | undefined;
    if (id.kind === 'certificate') subject = { kind: 'User', name: id.username };
    if (id.kind === 'service-account') {
      subject = { kind: 'ServiceAccount', name: id.name, namespace: id.namespace };
      // CoreDNS belongs to every fleet.
      if (id.name !== 'coredns') accounts.push({ namespace: id.namespace, name: id.name, uid: rng.uuid() });
    }
    if (!subject) continue;
    for (const r of spec.rbac ?? []) {
      roles.push({ kind: r.kind, name: r.name, namespace: r.namespace, rules: r.rules });
      bindings.push(
        r.kind === 'ClusterRole'
          ? {
              kind: 'ClusterRoleBinding',
              name: r.binding,
              roleRef: { kind: 'ClusterRole', name: r.name },
              subjects: [subject],
            }
          : {
              kind: 'RoleBinding',
              name: r.binding,
              namespace: r.namespace,
              roleRef: { kind: 'Role', name: r.name },
              subjects: [subject],
            },
      );
    }
  }
  return accounts;
};

// -----------------------------------------------------------------------------------------------
// aws-auth rendering (kubectl -o yaml, and the YAML strings inside data.mapRoles / mapUsers)
// -----------------------------------------------------------------------------------------------

/** The YAML text of data.mapRoles, in the style eksctl writes (sorted keys, 4-space group items). */
export const renderMapRoles = (rows: readonly AwsAuthRoleRow[]): string =>
  rows
    .map((r) => {
      const groups = r.groups.length ? `- groups:\n${r.groups.map((g) => `    - ${g}\n`).join('')}  ` : '- ';
      return `${groups}rolearn: ${r.rolearn}\n${r.username !== undefined ? `  username: ${r.username}\n` : ''}`;
    })
    .join('');

export const renderMapUsers = (rows: readonly AwsAuthUserRow[]): string =>
  rows
    .map((r) => {
      const groups = r.groups.length ? `- groups:\n${r.groups.map((g) => `    - ${g}\n`).join('')}  ` : '- ';
      return `${groups}userarn: ${r.userarn}\n${r.username !== undefined ? `  username: ${r.username}\n` : ''}`;
    })
    .join('');

/** mapAccounts as a YAML list of bare account ids (they read as numbers to a YAML 1.2 parser). */
export const renderMapAccounts = (accounts: readonly string[]): string => accounts.map((a) => `- ${a}\n`).join('');

export const awsAuthData = (spec: AwsAuthSpec): Record<string, string> => {
  const data: Record<string, string> = {};
  if (spec.mapAccounts.length) data['mapAccounts'] = renderMapAccounts(spec.mapAccounts);
  data['mapRoles'] = renderMapRoles(spec.mapRoles);
  if (spec.mapUsers.length) data['mapUsers'] = renderMapUsers(spec.mapUsers);
  return data;
};

const indentBlock = (text: string, spaces: number): string =>
  text
    .split('\n')
    .filter((l, idx, all) => l !== '' || idx < all.length - 1)
    .map((l) => `${' '.repeat(spaces)}${l}`)
    .join('\n');

/** `kubectl get configmap aws-auth -n kube-system -o yaml` output for a spec. */
export const renderAwsAuthYaml = (spec: AwsAuthSpec): string => {
  const data = awsAuthData(spec);
  const lines = ['apiVersion: v1', 'data:'];
  for (const key of Object.keys(data).sort()) {
    lines.push(`  ${key}: |`);
    lines.push(indentBlock(data[key] as string, 4));
  }
  lines.push(
    'kind: ConfigMap',
    'metadata:',
    `  creationTimestamp: "${new Date(Math.floor(spec.creationTimestampUs / 1000)).toISOString().slice(0, 19)}Z"`,
    '  name: aws-auth',
    '  namespace: kube-system',
    `  resourceVersion: "${spec.resourceVersion}"`,
    `  uid: ${spec.uid}`,
  );
  return `${lines.join('\n')}\n`;
};
