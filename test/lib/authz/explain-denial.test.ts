import { describe, expect, it } from 'vitest';
import { policyCoverage } from '../../../lib/authz/access-policy-rules.js';
import { explainDenial } from '../../../lib/authz/explain-denial.js';
import { parseForbiddenMessage } from '../../../lib/authz/forbidden-message.js';
import type { MissingPermission } from '../../../lib/authz/types.js';
import type { AccessScope } from '../../../lib/sources/types.js';
import { fixtureJson } from '../chain/fixtures.js';

const messages = fixtureJson<Record<string, string>>('forbidden-messages.json');
const missingFrom = (key: string): MissingPermission => {
  const r = parseForbiddenMessage(messages[key] as string);
  if (!r.ok) throw new Error(`fixture ${key} did not parse`);
  return r.value;
};

const P = (name: string) => `arn:aws:eks::aws:cluster-access-policy/${name}`;
const ns = (...namespaces: string[]): AccessScope => ({ type: 'namespace', namespaces });
const cluster: AccessScope = { type: 'cluster', namespaces: [] };

describe('explainDenial', () => {
  it('names the missing permission, the identity and why each access policy does not cover it', () => {
    const missing = missingFrom('non-eks-secrets-namespace');
    const e = explainDenial(missing, {
      username: 'mayor-malware',
      groups: ['system:authenticated', 'example'],
      policies: [{ policyArn: P('AmazonEKSViewPolicy'), scope: ns('dev') }],
    });
    expect(e.status).toBe('derived');
    expect(e.text).toBe(
      'no RBAC binding grants list on secrets in namespace wareville to user mayor-malware or groups [example, system:authenticated]; ' +
        'access policies in force: AmazonEKSViewPolicy (namespace dev) does not cover it: scoped to namespace(s) dev, not wareville',
    );
    expect(e.policies).toEqual([
      {
        policyArn: P('AmazonEKSViewPolicy'),
        scope: ns('dev'),
        name: 'AmazonEKSViewPolicy',
        verdict: 'does-not-cover',
        why: 'scoped to namespace(s) dev, not wareville',
      },
    ]);
  });

  it('says so when no access policy is associated, and when the mapping history is unknown', () => {
    const missing = missingFrom('eks-workshop-pdb-cluster-scope');
    expect(explainDenial(missing, { groups: ['system:authenticated'], policies: [] }).text).toBe(
      'no RBAC binding grants list on poddisruptionbudgets (API group policy) at cluster scope to user system:kube-scheduler or groups [system:authenticated]; access policies in force: none',
    );
    expect(
      explainDenial(missing, { groups: [], policies: [], mappingUnknown: true }).text.endsWith(
        'access policies in force: unknown (no mapping history for this cluster yet)',
      ),
    ).toBe(true);
  });

  it('reports a covering policy as a contradiction rather than hiding it', () => {
    const missing = missingFrom('non-eks-secrets-namespace');
    const e = explainDenial(missing, {
      groups: [],
      policies: [{ policyArn: P('AmazonEKSClusterAdminPolicy'), scope: cluster }],
    });
    expect(e.policies[0]?.verdict).toBe('covers');
    expect(e.text).toContain('would plausibly cover it (yet it was denied');
  });

  it('mentions RBAC resolution errors from the forbid reason', () => {
    const missing = missingFrom('non-eks-secrets-namespace');
    const e = explainDenial(missing, {
      groups: [],
      policies: [],
      reason: { kind: 'rbac-errors', errors: ['role.rbac.authorization.k8s.io "r" not found'] },
    });
    expect(e.text).toContain('RBAC could not resolve some bindings: role.rbac.authorization.k8s.io "r" not found');
  });

  it('orders policies deterministically whatever the input order', () => {
    const missing = missingFrom('non-eks-secrets-namespace');
    const a = [
      { policyArn: P('AmazonEKSViewPolicy'), scope: cluster },
      { policyArn: P('AmazonEKSEditPolicy'), scope: ns('x') },
    ];
    const e1 = explainDenial(missing, { groups: ['b', 'a'], policies: a });
    const e2 = explainDenial(missing, { groups: ['a', 'b'], policies: [...a].reverse() });
    expect(e1).toEqual(e2);
  });
});

const m = (over: Partial<MissingPermission>): MissingPermission => ({
  username: 'u',
  verb: 'get',
  resource: 'pods',
  apiGroup: '',
  namespace: 'a',
  scope: 'namespace',
  ...over,
});

describe('policyCoverage (approximation of the AWS access policies)', () => {
  it.each([
    [
      'cluster admin covers everything',
      'AmazonEKSClusterAdminPolicy',
      cluster,
      m({ verb: 'delete', resource: 'nodes', scope: 'cluster', namespace: undefined }),
      'covers',
    ],
    [
      'cluster admin covers non-resource paths',
      'AmazonEKSClusterAdminPolicy',
      cluster,
      m({ scope: 'path', path: '/metrics', resource: undefined }),
      'covers',
    ],
    ['view reads pods', 'AmazonEKSViewPolicy', cluster, m({}), 'covers'],
    ['view never reads secrets', 'AmazonEKSViewPolicy', cluster, m({ resource: 'secrets' }), 'does-not-cover'],
    ['view cannot write', 'AmazonEKSViewPolicy', cluster, m({ verb: 'create' }), 'does-not-cover'],
    ['view cannot exec', 'AmazonEKSViewPolicy', cluster, m({ verb: 'get', subresource: 'exec' }), 'does-not-cover'],
    [
      'edit writes deployments',
      'AmazonEKSEditPolicy',
      ns('a'),
      m({ verb: 'patch', resource: 'deployments', apiGroup: 'apps' }),
      'covers',
    ],
    [
      'edit cannot touch rolebindings',
      'AmazonEKSEditPolicy',
      ns('a'),
      m({ verb: 'create', resource: 'rolebindings' }),
      'does-not-cover',
    ],
    [
      'admin writes rolebindings',
      'AmazonEKSAdminPolicy',
      ns('a'),
      m({ verb: 'create', resource: 'rolebindings' }),
      'covers',
    ],
    [
      'admin cannot write resource quotas',
      'AmazonEKSAdminPolicy',
      ns('a'),
      m({ verb: 'update', resource: 'resourcequotas' }),
      'does-not-cover',
    ],
    ['namespace scope does not reach another namespace', 'AmazonEKSAdminPolicy', ns('b'), m({}), 'does-not-cover'],
    [
      'namespace scope does not reach cluster-wide lists',
      'AmazonEKSViewPolicy',
      ns('a'),
      m({ scope: 'cluster', namespace: undefined }),
      'does-not-cover',
    ],
    ['admin view reads secrets', 'AmazonEKSAdminViewPolicy', cluster, m({ resource: 'secrets' }), 'covers'],
    ['admin view cannot write', 'AmazonEKSAdminViewPolicy', cluster, m({ verb: 'delete' }), 'does-not-cover'],
    [
      'view has no cluster-scoped nodes',
      'AmazonEKSViewPolicy',
      cluster,
      m({ resource: 'nodes', scope: 'cluster', namespace: undefined }),
      'does-not-cover',
    ],
    ['specialised policies are not modelled', 'AmazonEKSNetworkingPolicy', cluster, m({}), 'unknown'],
  ] as const)('%s', (_name, policy, scope, missing, verdict) => {
    expect(policyCoverage(P(policy), scope, missing).verdict).toBe(verdict);
  });
});
