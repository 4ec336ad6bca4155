import type { DecisionChain } from '../../chain/types.js';
import type { StoredAuditFacts } from '../trail-store.js';

/**
 * What a stored row is indexed under (docs/data-model.md, "Postings"), read off the chain the ingest
 * correlated from it. Only facts the request itself states are used, plus the human when it was
 * already known; anything derived later (a late issuance) is indexed by putLateLinks.
 */

export interface RowIndex {
  /** Kept in the notable part, with a pointer by auditID: see `isNotable`. */
  notable: boolean;
  /** Lower-cased canonical ARN of the IAM principal. */
  principal?: string;
  /** Lower-cased human identity, when the ingest already knew it. */
  human?: string;
  /** Access key id from user.extra (or the denied token's STS response): the session of a human posting. */
  accessKey?: string;
  /**
   * Set while the human behind the key is not known yet (its AssumeRole* event has not arrived): the
   * request is then indexed by key, so the late issuance can find it (putLateLinks).
   */
  pendingAccessKey?: string;
  username?: string;
  resource?: string;
  namespace?: string;
  name?: string;
  denied: boolean;
}

/** Identity and secret material: every change to it is notable, whoever makes it. */
const SENSITIVE_RESOURCES = new Set([
  'secrets',
  'certificatesigningrequests',
  'validatingwebhookconfigurations',
  'mutatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
]);

/** Ways into a running container or through the API server to one: notable whoever uses them. */
const SHELL_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy', 'ephemeralcontainers']);

const READ_VERBS = new Set(['get', 'list', 'watch']);

/** Kubernetes and EKS components: nodes, control-plane certificate users, `eks:*`. Not people. */
const isComponentUser = (username: string, groups: readonly string[]): boolean =>
  username.startsWith('system:node:') ||
  groups.includes('system:nodes') ||
  username.startsWith('eks:') ||
  (username.startsWith('system:') && !username.startsWith('system:serviceaccount:') && username !== 'system:anonymous');

const isWorkloadOrComponent = (username: string, groups: readonly string[]): boolean =>
  username.startsWith('system:serviceaccount:') || isComponentUser(username, groups);

/**
 * Notable: what an investigation asks about by auditID and what must stay cheap to read on its own.
 * Anything a person did (IAM callers other than nodes and `eks:*`, OIDC or certificate users), every
 * denial, impersonation and anonymous access, every change to identity and secret material (RBAC,
 * aws-auth, secrets, webhooks, certificate requests), and every way into a container (exec, attach,
 * port-forward, proxy). Bulk: the routine traffic of kubelets, controllers and service accounts,
 * reads of secrets and RBAC included (an operator that syncs secrets reads them all day; those reads
 * stay indexed by object and kind, and `touched` finds them). Nearly all of a real cluster's volume is bulk.
 */
export const isNotable = (chain: DecisionChain, facts?: StoredAuditFacts): boolean => {
  if (chain.kind === 'authn-failure') return true;
  const outcome = chain.decision.value?.outcome;
  if (outcome === 'forbid' || outcome === 'authn-failed') return true;
  const event = facts?.event;
  const code = event?.responseStatus?.code;
  if (code === 401 || code === 403) return true;
  const k8s = chain.k8sIdentity.value;
  if (k8s?.impersonated) return true;
  const username = k8s?.username ?? event?.user.username;
  if (username === undefined || username === 'system:anonymous') return true;
  const groups = k8s?.groups ?? event?.user.groups ?? [];
  if (!isWorkloadOrComponent(username, groups)) return true;
  const req = chain.request.value;
  const ref = event?.objectRef;
  const resource = req?.resource ?? ref?.resource;
  if (resource === undefined) return false;
  const sub = req?.subresource ?? ref?.subresource;
  if (sub !== undefined && SHELL_SUBRESOURCES.has(sub)) return true;
  const verb = req?.verb ?? event?.verb ?? '';
  if (READ_VERBS.has(verb)) return false;
  const group = req?.apiGroup ?? ref?.apiGroup;
  const namespace = req?.namespace ?? ref?.namespace;
  const name = req?.name ?? ref?.name;
  if (SENSITIVE_RESOURCES.has(resource) || group === 'rbac.authorization.k8s.io') return true;
  if (resource === 'configmaps' && namespace === 'kube-system' && name === 'aws-auth') return true;
  // Kubelets mint their pods' service-account tokens all day; anyone else minting one is notable.
  if (resource === 'serviceaccounts' && sub === 'token') return !isComponentUser(username, groups);
  return false;
};

export const rowIndexOf = (chain: DecisionChain, facts?: StoredAuditFacts): RowIndex => {
  const p = chain.principal.value;
  const humanKnown = chain.human.status !== 'unknown' ? chain.human.value?.identity : undefined;
  const req = chain.request.value;
  const outcome = chain.decision.value?.outcome;
  const extraKey = facts?.event.user.extra['accessKeyId']?.find((k) => k !== '');
  const out: RowIndex = {
    notable: isNotable(chain, facts),
    denied: chain.kind === 'authn-failure' || outcome === 'forbid' || outcome === 'authn-failed',
  };
  if (p?.canonicalArn) out.principal = p.canonicalArn.toLowerCase();
  if (humanKnown) out.human = humanKnown.toLowerCase();
  const accessKey = p?.accessKeyId ?? extraKey;
  if (accessKey) {
    out.accessKey = accessKey;
    if (chain.human.status === 'unknown' && chain.pendingEnrichment) out.pendingAccessKey = accessKey;
  }
  const username = chain.k8sIdentity.value?.username;
  if (username) out.username = username;
  if (req?.resource) out.resource = req.resource;
  if (req?.namespace) out.namespace = req.namespace;
  if (req?.name) out.name = req.name;
  return out;
};
