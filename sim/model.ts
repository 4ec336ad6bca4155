/**
 * The simulator's own model of EKS authentication and Kubernetes authorization: the mapper chain and
 * precedence (docs/formats.md §1.5), template expansion (§1.6), the authorizer order and reason grammar
 * (§2.3), the 403 message grammar, and the EKS audit policy levels (§2.6). It is written from the
 * format description and does not share code with lib/identity or lib/authz, so that disagreements
 * between the two show up in tests.
 */
import type { MappingSource } from '../lib/identity/types.js';
import type { AccessEntryType, AuthenticationMode } from '../lib/sources/types.js';
import {
  ACCESS_POLICY_RULES,
  type AwsAuthSpec,
  type K8sBinding,
  type K8sSubject,
  type PolicyRule,
  type SimAccessEntry,
  type SimCluster,
} from './fleet.js';
import { goQuote } from './formats.js';

// -----------------------------------------------------------------------------------------------
// Authentication
// -----------------------------------------------------------------------------------------------

/** What the authenticator learns from a verified token. */
export interface VerifiedIdentity {
  type: 'assumed-role' | 'user';
  accountId: string;
  /** Raw STS ARN (assumed-role form) or IAM user ARN. */
  stsArn: string;
  /** Path-less role ARN, or the user ARN with its path. */
  canonicalArn: string;
  /** AROA… / AIDA… as IAM knows it NOW (a recreated role has a new one). */
  principalId: string;
  /** "" for IAM users. */
  sessionName: string;
  accessKeyId: string;
  /** Role name without path (assumed roles). */
  roleName?: string;
  /** Private DNS name of the instance whose id is the session name (EC2 nodes). */
  ec2PrivateDnsName?: string;
}

export interface MappingState {
  mode: AuthenticationMode;
  awsAuth?: AwsAuthSpec;
  entries: readonly SimAccessEntry[];
}

export type AuthnResult =
  | {
      ok: true;
      source: MappingSource;
      /** access-entry principalArn, aws-auth row ARN, creator / internal role canonical ARN, or the account id. */
      mappingKey: string;
      username: string;
      groups: string[];
      entry?: SimAccessEntry;
    }
  | { ok: false; stage: 'unmapped' | 'template'; error: string };

/** Static (MountedFile) mappings that exist before any customer-managed mapper. */
export interface StaticMapping {
  canonicalArn: string;
  username: string;
  groups: string[];
  source: 'eks-internal' | 'cluster-creator';
}

const lower = (s: string) => s.toLowerCase();

/** Path-stripped, lower-cased role ARN (users keep their path): how access entries are looked up. */
const matchKeyCache = new Map<string, string>();

export const entryMatchKey = (principalArn: string): string => {
  const cached = matchKeyCache.get(principalArn);
  if (cached !== undefined) return cached;
  const key = computeEntryMatchKey(principalArn);
  if (matchKeyCache.size < 100_000) matchKeyCache.set(principalArn, key);
  return key;
};

const computeEntryMatchKey = (principalArn: string): string => {
  const m = /^arn:([^:]+):iam::(\d+):role\/(?:.*\/)?([^/]+)$/.exec(principalArn);
  return lower(m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : principalArn);
};

/** Template expansion in the authenticator's order; unknown `{{…}}` stay verbatim. */
export const renderTemplate = (
  template: string,
  id: VerifiedIdentity,
): { ok: true; value: string } | { ok: false; error: string } => {
  let out = template;
  if (out.includes('{{EC2PrivateDNSName}}')) {
    if (!/^i-(\w{8}|\w{17})$/.test(id.sessionName) || !id.ec2PrivateDnsName) {
      return { ok: false, error: 'SessionName did not contain an instance id' };
    }
    out = out.replaceAll('{{EC2PrivateDNSName}}', id.ec2PrivateDnsName);
  }
  out = out.replaceAll('{{AccountID}}', id.accountId);
  out = out.replaceAll('{{SessionName}}', id.sessionName.replaceAll('@', '-'));
  out = out.replaceAll('{{SessionNameRaw}}', id.sessionName);
  out = out.replaceAll('{{AccessKeyID}}', id.accessKeyId);
  return { ok: true, value: out };
};

/** Default username of an access entry by type (grant-k8s-access table). */
export const defaultEntryUsername = (entry: SimAccessEntry, id: VerifiedIdentity): string => {
  const type: AccessEntryType = entry.type;
  if (type === 'EC2_LINUX' || type === 'EC2_WINDOWS') return 'system:node:{{EC2PrivateDNSName}}';
  if (type === 'FARGATE_LINUX' || type === 'HYBRID_LINUX' || type === 'HYPERPOD_LINUX' || type === 'EC2')
    return 'system:node:{{SessionName}}';
  if (id.type === 'user') return entry.principalArn;
  return `arn:aws:sts::${id.accountId}:assumed-role/${id.roleName ?? ''}/{{SessionName}}`;
};

/** The "not mapped" wording of the authenticator release in use at a given time (docs/formats.md §1.8). */
export const notMappedError = (atUs: number): string => {
  if (atUs < Date.parse('2023-12-01T00:00:00Z') * 1000) return 'ARN is not mapped';
  if (atUs < Date.parse('2025-09-09T00:00:00Z') * 1000) return 'Identity is not mapped';
  return 'identity is not mapped';
};

/** Mapper-chain resolution of one verified identity on one cluster at one instant. */
export const authenticate = (
  id: VerifiedIdentity,
  state: MappingState,
  statics: readonly StaticMapping[],
  atUs: number,
): AuthnResult => {
  const render = (
    template: string,
    groups: string[],
    source: MappingSource,
    mappingKey: string,
    entry?: SimAccessEntry,
  ): AuthnResult => {
    const u = renderTemplate(template, id);
    if (!u.ok) {
      return {
        ok: false,
        stage: 'template',
        error: `mapper ${entry ? 'DynamicFile' : 'EKSConfigMap'} renderTemplates error: error rendering username template "${template}": ${u.error}`,
      };
    }
    return { ok: true, source, mappingKey, username: u.value, groups, entry };
  };

  // MountedFile: EKS-internal roles and (CONFIG_MAP-era) the cluster creator, matched on the canonical ARN.
  for (const s of statics) {
    if (lower(s.canonicalArn) === lower(id.canonicalArn)) {
      return { ok: true, source: s.source, mappingKey: s.canonicalArn, username: s.username, groups: [...s.groups] };
    }
  }
  // DynamicFile (access entries): keyed by canonical ARN but bound to the principal id.
  if (state.mode !== 'CONFIG_MAP') {
    const key = lower(id.canonicalArn);
    const entry = state.entries.find(
      (e) => entryMatchKey(e.principalArn) === key && e.boundPrincipalId === id.principalId,
    );
    if (entry) {
      return render(
        entry.username ?? defaultEntryUsername(entry, id),
        [...entry.kubernetesGroups],
        entry.bootstrap ? 'cluster-creator' : 'access-entry',
        entry.principalArn,
        entry,
      );
    }
  }
  // EKSConfigMap (aws-auth): EqualFold on the row ARN as written (no canonicalisation: path rows never match).
  if (state.mode !== 'API' && state.awsAuth) {
    const auth = state.awsAuth;
    if (id.type === 'assumed-role') {
      let match: (typeof auth.mapRoles)[number] | undefined;
      for (const row of auth.mapRoles) if (lower(row.rolearn) === lower(id.canonicalArn)) match = row; // last wins
      if (match) return render(match.username ?? '', [...match.groups], 'aws-auth-role', match.rolearn);
    } else {
      const match = auth.mapUsers.find((row) => lower(row.userarn) === lower(id.canonicalArn));
      if (match) return render(match.username ?? '', [...match.groups], 'aws-auth-user', match.userarn);
    }
    // After EKSConfigMap fails, an allowed account maps to the canonical ARN with no groups.
    if (auth.mapAccounts.includes(id.accountId)) {
      return { ok: true, source: 'aws-auth-account', mappingKey: id.accountId, username: id.canonicalArn, groups: [] };
    }
  }
  return { ok: false, stage: 'unmapped', error: notMappedError(atUs) };
};

// -----------------------------------------------------------------------------------------------
// Authorization
// -----------------------------------------------------------------------------------------------

export interface K8sRequest {
  verb: string;
  resource?: string;
  subresource?: string;
  apiGroup: string;
  apiVersion: string;
  namespace?: string;
  name?: string;
  /** Non-resource URL path. */
  path?: string;
}

export interface K8sUser {
  username: string;
  groups: string[];
}

export type Authorizer = 'rbac' | 'eks-access-policy' | 'privileged-group' | 'node' | 'none';

export interface AuthzResult {
  decision: 'allow' | 'forbid';
  authorizer: Authorizer;
  /** Exactly the `authorization.k8s.io/reason` annotation value. */
  reason: string;
}

/** The access-policy context of an access-entry-mapped principal (the EKS webhook authorizer). */
export interface PolicyContext {
  principalArn: string;
  principalId: string;
  entry: SimAccessEntry;
}

const matches = (list: readonly string[] | undefined, value: string): boolean =>
  !!list && (list.includes('*') || list.includes(value));

export const ruleAllows = (rule: PolicyRule, req: K8sRequest): boolean => {
  if (!matches(rule.verbs, req.verb)) return false;
  if (req.path !== undefined) {
    return !!rule.nonResourceURLs?.some(
      (u) => u === '*' || u === req.path || (u.endsWith('*') && req.path!.startsWith(u.slice(0, -1))),
    );
  }
  if (!rule.resources || !matches(rule.apiGroups, req.apiGroup)) return false;
  const full = req.subresource ? `${req.resource}/${req.subresource}` : (req.resource ?? '');
  if (!matches(rule.resources, full)) return false;
  return !rule.resourceNames || (req.name !== undefined && rule.resourceNames.includes(req.name));
};

const subjectMatches = (s: K8sSubject, user: K8sUser, bindingNamespace?: string): boolean => {
  if (s.kind === 'User') return s.name === user.username;
  if (s.kind === 'Group') return user.groups.includes(s.name);
  const ns = s.namespace ?? bindingNamespace;
  return user.username === `system:serviceaccount:${ns}:${s.name}`;
};

const subjectText = (s: K8sSubject, bindingNamespace?: string): string =>
  s.kind === 'ServiceAccount'
    ? `ServiceAccount ${goQuote(`${s.name}/${s.namespace ?? bindingNamespace ?? ''}`)}`
    : `${s.kind} ${goQuote(s.name)}`;

/** Resources the Node authorizer decides for kubelets (simplified to what the simulator emits). */
const NODE_RESOURCES = new Set([
  'nodes',
  'nodes/status',
  'pods',
  'pods/status',
  'secrets',
  'configmaps',
  'leases',
  // The kubelet's informers and its event recorder (the Node authorizer's static node rules).
  'services',
  'csidrivers',
  'runtimeclasses',
  'events',
]);

const rbacAllow = (cluster: SimCluster, user: K8sUser, req: K8sRequest): string | undefined => {
  const roleRules = (b: K8sBinding): PolicyRule[] =>
    cluster.roles.find(
      (r) =>
        r.kind === b.roleRef.kind &&
        r.name === b.roleRef.name &&
        (r.kind === 'ClusterRole' || r.namespace === b.namespace),
    )?.rules ?? [];
  const visit = (b: K8sBinding): string | undefined => {
    const subject = b.subjects.find((s) => subjectMatches(s, user, b.namespace));
    if (!subject) return undefined;
    if (!roleRules(b).some((rule) => ruleAllows(rule, req))) return undefined;
    const bindingName = b.kind === 'RoleBinding' ? `${b.name}/${b.namespace}` : b.name;
    return `RBAC: allowed by ${b.kind} ${goQuote(bindingName)} of ${b.roleRef.kind} ${goQuote(b.roleRef.name)} to ${subjectText(subject, b.namespace)}`;
  };
  // ClusterRoleBindings first, then RoleBindings of the request's namespace; the first allowing one names itself.
  for (const b of cluster.bindings)
    if (b.kind === 'ClusterRoleBinding') {
      const r = visit(b);
      if (r) return r;
    }
  if (req.namespace) {
    for (const b of cluster.bindings)
      if (b.kind === 'RoleBinding' && b.namespace === req.namespace) {
        const r = visit(b);
        if (r) return r;
      }
  }
  return undefined;
};

const policyAllow = (ctx: PolicyContext, req: K8sRequest): string | undefined => {
  for (const assoc of ctx.entry.policies) {
    const rules = ACCESS_POLICY_RULES[assoc.policyArn] ?? [];
    if (!rules.some((rule) => ruleAllows(rule, req))) continue;
    const binding = `${ctx.principalArn}+${assoc.policyArn}`;
    if (assoc.scope.type === 'cluster') {
      return `EKS Access Policy: allowed by ClusterRoleBinding ${goQuote(binding)} of ClusterRole ${goQuote(assoc.policyArn)} to User ${goQuote(ctx.principalId)}`;
    }
    if (req.namespace && assoc.scope.namespaces.includes(req.namespace)) {
      // The namespace-scoped wording has no public sample (docs/formats.md §2.3 [?]); modelled on the RBAC RoleBinding form.
      return `EKS Access Policy: allowed by RoleBinding ${goQuote(`${binding}/${req.namespace}`)} of Role ${goQuote(assoc.policyArn)} to User ${goQuote(ctx.principalId)}`;
    }
  }
  return undefined;
};

/** Authorizer chain on EKS: privileged group, Node, RBAC, then the EKS access-policy webhook. */
export const authorize = (cluster: SimCluster, user: K8sUser, req: K8sRequest, policy?: PolicyContext): AuthzResult => {
  if (user.groups.includes('system:masters')) return { decision: 'allow', authorizer: 'privileged-group', reason: '' };
  if (user.username.startsWith('system:node:') && user.groups.includes('system:nodes')) {
    const full = req.subresource ? `${req.resource}/${req.subresource}` : (req.resource ?? '');
    if (NODE_RESOURCES.has(full)) return { decision: 'allow', authorizer: 'node', reason: '' };
  }
  const rbac = rbacAllow(cluster, user, req);
  if (rbac) return { decision: 'allow', authorizer: 'rbac', reason: rbac };
  if (policy) {
    const p = policyAllow(policy, req);
    if (p) return { decision: 'allow', authorizer: 'eks-access-policy', reason: p };
  }
  return { decision: 'forbid', authorizer: 'none', reason: '' };
};

/** responseStatus.message of a 403 (apiserver Forbidden status; reason suffix only when non-empty). */
export const forbiddenMessage = (username: string, req: K8sRequest, reason: string): string => {
  const suffix = reason ? `: ${reason}` : '';
  if (req.path !== undefined) {
    return `forbidden: User ${goQuote(username)} cannot ${req.verb} path ${goQuote(req.path)}${suffix}`;
  }
  const full = req.subresource ? `${req.resource}/${req.subresource}` : (req.resource ?? '');
  const scope = req.namespace ? ` in the namespace ${goQuote(req.namespace)}` : ' at the cluster scope';
  const inner = `User ${goQuote(username)} cannot ${req.verb} resource ${goQuote(full)} in API group ${goQuote(req.apiGroup)}${scope}${suffix}`;
  const qualified = req.apiGroup ? `${req.resource}.${req.apiGroup}` : (req.resource ?? '');
  return req.name ? `${qualified} ${goQuote(req.name)} is forbidden: ${inner}` : `${qualified} is forbidden: ${inner}`;
};

// -----------------------------------------------------------------------------------------------
// EKS audit policy (first matching rule wins)
// -----------------------------------------------------------------------------------------------

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';

const KNOWN_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'extensions',
  'metrics.k8s.io',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'scheduling.k8s.io',
  'settings.k8s.io',
  'storage.k8s.io',
]);

const STATUS_REPORTERS = new Set([
  'kubelet',
  'system:node-problem-detector',
  'system:serviceaccount:kube-system:node-problem-detector',
]);
const ENDPOINT_UPDATERS = new Set([
  'system:kube-controller-manager',
  'system:kube-scheduler',
  'system:serviceaccount:kube-system:endpoint-controller',
]);

export const auditLevel = (user: K8sUser | undefined, req: K8sRequest): AuditLevel => {
  const full = req.subresource ? `${req.resource}/${req.subresource}` : (req.resource ?? '');
  const core = req.path === undefined && req.apiGroup === '';
  const username = user?.username;
  if (
    core &&
    req.resource === 'configmaps' &&
    req.name === 'aws-auth' &&
    req.namespace === 'kube-system' &&
    ['update', 'patch', 'delete'].includes(req.verb)
  ) {
    return 'RequestResponse';
  }
  if (
    core &&
    username === 'system:kube-proxy' &&
    req.verb === 'watch' &&
    (full === 'endpoints' || full === 'services' || full === 'services/status')
  ) {
    return 'None';
  }
  const nodeRead = core && req.verb === 'get' && (full === 'nodes' || full === 'nodes/status');
  if (nodeRead && (username === 'kubelet' || user?.groups.includes('system:nodes'))) return 'None';
  if (
    core &&
    username !== undefined &&
    ENDPOINT_UPDATERS.has(username) &&
    (req.verb === 'get' || req.verb === 'update') &&
    req.namespace === 'kube-system' &&
    req.resource === 'endpoints'
  ) {
    return 'None';
  }
  if (
    core &&
    username === 'system:apiserver' &&
    req.verb === 'get' &&
    (full === 'namespaces' || full === 'namespaces/status' || full === 'namespaces/finalize')
  ) {
    return 'None';
  }
  if (
    username === 'system:kube-controller-manager' &&
    req.apiGroup === 'metrics.k8s.io' &&
    (req.verb === 'get' || req.verb === 'list')
  ) {
    return 'None';
  }
  if (req.path !== undefined && /^\/(healthz|version|swagger)/.test(req.path)) return 'None';
  if (core && req.resource === 'events') return 'None';
  if (
    core &&
    ['update', 'patch'].includes(req.verb) &&
    (full === 'nodes/status' || full === 'pods/status') &&
    ((username !== undefined && STATUS_REPORTERS.has(username)) || user?.groups.includes('system:nodes'))
  ) {
    return 'Request';
  }
  if (
    req.verb === 'deletecollection' &&
    req.path === undefined &&
    username === 'system:serviceaccount:kube-system:namespace-controller'
  ) {
    return 'Request';
  }
  if (
    (core && (req.resource === 'secrets' || req.resource === 'configmaps')) ||
    (req.apiGroup === 'authentication.k8s.io' && req.resource === 'tokenreviews')
  ) {
    return 'Metadata';
  }
  if (req.path === undefined && KNOWN_GROUPS.has(req.apiGroup)) {
    return ['get', 'list', 'watch'].includes(req.verb) ? 'Request' : 'RequestResponse';
  }
  return 'Metadata';
};
