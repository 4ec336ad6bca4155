import { describe, expect, it } from 'vitest';
import type { DecisionChain } from '../../../lib/chain/types.js';
import type { AuditEvent } from '../../../lib/sources/types.js';
import { isNotable, rowIndexOf } from '../../../lib/store/dynamodb/row-index.js';
import type { StoredAuditFacts } from '../../../lib/store/trail-store.js';
import { chainFromEvent, kiempossibleEvent } from '../../support/factories.js';

/**
 * What a stored row is indexed under and which part it goes to (docs/data-model.md, "Segments"):
 * notable rows are people and their automation, denials, impersonation, anonymous access and access
 * to identity and secret material; everything else (kubelets, controllers, service accounts) is bulk.
 */

const SSO_ARN = 'arn:aws:iam::211125685544:role/sso_admin';
const CI_ARN = 'arn:aws:iam::111122223333:role/GitHubActionsDeploy';
const NODE_ARN = 'arn:aws:iam::111122223333:role/eks-node-group-NodeInstanceRole';
const EKS_ARN = 'arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS';

interface Spec {
  username?: string;
  groups?: string[];
  canonicalArn?: string;
  accessKeyId?: string;
  verb?: string;
  resource?: string;
  subresource?: string;
  apiGroup?: string;
  namespace?: string;
  name?: string;
  code?: number;
  impersonated?: string;
  human?: string;
  pending?: boolean;
}

/** A real event (kiempossible) re-shaped to the spec: identity, target and status. */
const row = (spec: Spec): { chain: DecisionChain; facts: StoredAuditFacts } => {
  const base = kiempossibleEvent();
  const extra: Record<string, string[]> = {};
  if (spec.canonicalArn) extra['canonicalArn'] = [spec.canonicalArn];
  if (spec.accessKeyId) extra['accessKeyId'] = [spec.accessKeyId];
  const event: AuditEvent = {
    ...base,
    auditID: 'row-index-1',
    verb: spec.verb ?? 'get',
    user: {
      ...(spec.username !== undefined ? { username: spec.username } : {}),
      groups: spec.groups ?? ['system:authenticated'],
      extra,
    },
    objectRef: {
      ...(spec.resource ? { resource: spec.resource } : {}),
      ...(spec.subresource ? { subresource: spec.subresource } : {}),
      ...(spec.apiGroup ? { apiGroup: spec.apiGroup } : {}),
      ...(spec.namespace ? { namespace: spec.namespace } : {}),
      ...(spec.name ? { name: spec.name } : {}),
    },
    responseStatus: { code: spec.code ?? 200 },
    annotations: spec.code === 403 ? { 'authorization.k8s.io/decision': 'forbid' } : base.annotations,
  };
  const out = chainFromEvent(event, {
    ...(spec.human ? { human: spec.human } : {}),
    ...(spec.pending !== undefined ? { pendingEnrichment: spec.pending } : {}),
  });
  const k8s = out.chain.k8sIdentity.value;
  if (spec.impersonated && k8s) k8s.impersonated = { username: spec.impersonated, groups: [] };
  return out;
};

const SA = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;

describe('notable or bulk', () => {
  it.each<[string, 'notable' | 'bulk', Spec]>([
    // People and their automation: IAM callers that are not nodes or EKS components, certificate users.
    ['an SSO human listing pods', 'notable', { username: 'sso-admin', canonicalArn: SSO_ARN, resource: 'pods' }],
    [
      'a CI role deploying',
      'notable',
      { username: 'ci', canonicalArn: CI_ARN, verb: 'patch', resource: 'deployments' },
    ],
    [
      'a certificate user reading pods',
      'notable',
      { username: 'kubernetes-admin', groups: ['system:masters'], resource: 'pods', namespace: 'default' },
    ],
    [
      'an SSO human reading aws-auth',
      'notable',
      {
        username: 'sso-admin',
        canonicalArn: SSO_ARN,
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'aws-auth',
      },
    ],
    // Components: nodes and eks:* users, even with an IAM role behind them; control-plane users.
    [
      'a node (kubelet) reading its pods',
      'bulk',
      { username: 'system:node:ip-10-0-1-2', groups: ['system:nodes'], canonicalArn: NODE_ARN, resource: 'pods' },
    ],
    [
      'a user in system:nodes under another name',
      'bulk',
      { username: 'node-bootstrap', groups: ['system:nodes'], canonicalArn: NODE_ARN, resource: 'nodes' },
    ],
    ['an eks:* component', 'bulk', { username: 'eks:addon-manager', canonicalArn: EKS_ARN, resource: 'configmaps' }],
    ['a control-plane component', 'bulk', { username: 'system:kube-controller-manager', resource: 'endpoints' }],
    // Workloads: service-account traffic is bulk unless it denies, changes identity or secrets, or shells in.
    [
      'a service account polling endpoints',
      'bulk',
      { username: SA('kube-system', 'coredns'), verb: 'watch', resource: 'endpointslices' },
    ],
    ['a request with no resource (discovery)', 'bulk', { username: SA('kube-system', 'coredns'), verb: 'get' }],
    ['anonymous access', 'notable', { username: 'system:anonymous', groups: ['system:unauthenticated'] }],
    ['a 401 (no user at all)', 'notable', { code: 401 }],
    ['a 403', 'notable', { username: SA('default', 'app'), resource: 'pods', code: 403 }],
    ['impersonation', 'notable', { username: SA('ops', 'runner'), resource: 'pods', impersonated: 'alice' }],
    [
      'a service account reading a secret (an operator syncing secrets)',
      'bulk',
      { username: SA('default', 'app'), resource: 'secrets', namespace: 'default', name: 'db' },
    ],
    [
      'a service account writing a secret',
      'notable',
      { username: SA('default', 'app'), verb: 'update', resource: 'secrets', namespace: 'default', name: 'db' },
    ],
    [
      'a node reading a secret',
      'bulk',
      { username: 'system:node:ip-1', groups: ['system:nodes'], canonicalArn: NODE_ARN, resource: 'secrets' },
    ],
    [
      'an RBAC write',
      'notable',
      {
        username: SA('kube-system', 'helm'),
        verb: 'create',
        apiGroup: 'rbac.authorization.k8s.io',
        resource: 'clusterrolebindings',
        name: 'admin-all',
      },
    ],
    [
      'an RBAC read',
      'bulk',
      { username: SA('kube-system', 'helm'), verb: 'list', apiGroup: 'rbac.authorization.k8s.io', resource: 'roles' },
    ],
    [
      'an aws-auth read by a workload',
      'bulk',
      { username: SA('kube-system', 'reader'), resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth' },
    ],
    [
      'an aws-auth write by a workload',
      'notable',
      {
        username: SA('kube-system', 'eksctl'),
        verb: 'patch',
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'aws-auth',
      },
    ],
    [
      'a write to another configmap in kube-system',
      'bulk',
      {
        username: SA('kube-system', 'x'),
        verb: 'patch',
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'coredns',
      },
    ],
    [
      'a write to a configmap named aws-auth in another namespace',
      'bulk',
      { username: SA('default', 'x'), verb: 'patch', resource: 'configmaps', namespace: 'default', name: 'aws-auth' },
    ],
    [
      'an exec into a pod',
      'notable',
      { username: SA('ops', 'runner'), verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'default' },
    ],
    [
      'a port-forward',
      'notable',
      { username: SA('ops', 'runner'), verb: 'create', resource: 'pods', subresource: 'portforward' },
    ],
    ['a pod log read', 'bulk', { username: SA('ops', 'runner'), resource: 'pods', subresource: 'log' }],
    [
      'a kubelet minting a service-account token',
      'bulk',
      {
        username: 'system:node:ip-1',
        groups: ['system:nodes'],
        canonicalArn: NODE_ARN,
        verb: 'create',
        resource: 'serviceaccounts',
        subresource: 'token',
      },
    ],
    [
      'a workload minting a service-account token',
      'notable',
      { username: SA('ops', 'runner'), verb: 'create', resource: 'serviceaccounts', subresource: 'token' },
    ],
  ])('%s is %s', (_label, expected, spec) => {
    const { chain, facts } = row(spec);
    expect(isNotable(chain, facts) ? 'notable' : 'bulk').toBe(expected);
    expect(rowIndexOf(chain, facts).notable).toBe(expected === 'notable');
  });

  it('an authenticator denial (authn-failure chain, no audit facts) is notable and a denial', () => {
    const { chain } = row({ code: 401 });
    const denial: DecisionChain = {
      ...chain,
      kind: 'authn-failure',
      decision: {
        status: 'observed',
        value: { outcome: 'authn-failed', authorizer: 'none' },
        why: 'denied',
        evidence: [],
      },
    };
    expect(isNotable(denial)).toBe(true);
    expect(rowIndexOf(denial)).toMatchObject({ notable: true, denied: true });
  });
});

describe('index values', () => {
  it('reads principal (lower-cased), access key, user and target off the chain', () => {
    const { chain, facts } = row({
      username: 'sso-admin',
      canonicalArn: SSO_ARN.replace('sso_admin', 'SSO_Admin'),
      accessKeyId: 'ASIAKEY1',
      resource: 'pods',
      namespace: 'default',
      name: 'web-1',
      human: 'GoMyers@Example.com',
    });
    expect(rowIndexOf(chain, facts)).toEqual({
      notable: true,
      denied: false,
      principal: SSO_ARN,
      human: 'gomyers@example.com',
      accessKey: 'ASIAKEY1',
      username: 'sso-admin',
      resource: 'pods',
      namespace: 'default',
      name: 'web-1',
    });
  });

  it.each<[string, boolean, Spec]>([
    ['a 403', true, { username: 'x', resource: 'pods', code: 403 }],
    ['a 401', true, { code: 401 }],
    ['a 200', false, { username: 'x', resource: 'pods' }],
    ['a 404', false, { username: 'x', resource: 'pods', code: 404 }],
  ])('%s is a denial: %s', (_label, denied, spec) => {
    const { chain, facts } = row(spec);
    expect(rowIndexOf(chain, facts).denied).toBe(denied);
  });

  it('takes the access key from user.extra when the principal link has none', () => {
    const { chain, facts } = row({ username: 'sso-admin', canonicalArn: SSO_ARN, accessKeyId: 'ASIAEXTRA' });
    if (chain.principal.value) delete chain.principal.value.accessKeyId;
    expect(rowIndexOf(chain, facts).accessKey).toBe('ASIAEXTRA');
  });

  it.each<[string, string | undefined, Spec]>([
    ['the human awaits the issuance of its key', 'ASIAWAIT', { accessKeyId: 'ASIAWAIT', pending: true }],
    ['the human is known', undefined, { accessKeyId: 'ASIAWAIT', human: 'alice@example.com', pending: false }],
    [
      'the human is known though something else is pending',
      undefined,
      { accessKeyId: 'ASIAWAIT', human: 'alice@example.com', pending: true },
    ],
    ['nothing more will arrive for it', undefined, { accessKeyId: 'ASIAWAIT', pending: false }],
    ['there is no access key', undefined, { pending: true }],
  ])('pendingAccessKey when %s: %s', (_label, expected, spec) => {
    const { chain, facts } = row({ username: 'sso-admin', canonicalArn: SSO_ARN, ...spec });
    const ix = rowIndexOf(chain, facts);
    expect(ix.pendingAccessKey).toBe(expected);
    if (spec.human) expect(ix.human).toBe(spec.human);
    else expect(ix.human).toBeUndefined();
  });
});
