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

const SENSITIVE_RESOURCES = new Set([
  'secrets',
  'certificatesigningrequests',
  'validatingwebhookconfigurations',
  'mutatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
  'tokenreviews',
  'subjectaccessreviews',
]);

const SENSITIVE_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy', 'token', 'ephemeralcontainers']);

/** Kubernetes and EKS components: their own users are not people (nodes, controllers, `eks:*`). */
const isComponentUser = (username: string | undefined, groups: readonly string[]): boolean =>
  username !== undefined &&
  (username.startsWith('system:node:') ||
    groups.includes('system:nodes') ||
    username.startsWith('eks:') ||
    (username.startsWith('system:') &&
      !username.startsWith('system:serviceaccount:') &&
      username !== 'system:anonymous'));

/**
 * Notable: what an investigation asks about by auditID and what must stay cheap to read on its own.
 * IAM callers that can have a person behind them, every denial, impersonation, anonymous access, and
 * access to identity and secret material (RBAC, aws-auth, secrets, tokens, exec). Everything else
 * (kubelets, controllers, service-account polling: nearly all of a real cluster's volume) is bulk.
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
  if (username === 'system:anonymous' || username === undefined) return true;
  const p = chain.principal.value;
  if (p?.canonicalArn && !isComponentUser(username, k8s?.groups ?? event?.user.groups ?? [])) return true;
  const req = chain.request.value;
  const ref = event?.objectRef;
  const resource = req?.resource ?? ref?.resource;
  const group = req?.apiGroup ?? ref?.apiGroup;
  if (resource !== undefined) {
    if (SENSITIVE_RESOURCES.has(resource) || group === 'rbac.authorization.k8s.io') return true;
    const sub = req?.subresource ?? ref?.subresource;
    if (sub !== undefined && SENSITIVE_SUBRESOURCES.has(sub)) return true;
    const namespace = req?.namespace ?? ref?.namespace;
    const name = req?.name ?? ref?.name;
    if (resource === 'configmaps' && namespace === 'kube-system' && name === 'aws-auth') return true;
  }
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
