import { accessPolicyName, describeAccessPolicy } from '../identity/access-entry.js';
import type { AccessScope } from '../sources/types.js';
import type { MissingPermission } from './types.js';

/**
 * Would an EKS access policy plausibly grant a request? An APPROXIMATION, always reported as
 * 'derived': AWS publishes each policy's rules only in prose and console tables, not as a stable
 * machine-readable document, and EKS may change them. The model follows the Kubernetes user-facing
 * roles the AWS docs say the policies correspond to:
 *   AmazonEKSClusterAdminPolicy ≈ cluster-admin (every verb, every resource, non-resource URLs);
 *   AmazonEKSAdminPolicy ≈ admin; AmazonEKSEditPolicy ≈ edit; AmazonEKSViewPolicy ≈ view;
 *   AmazonEKSAdminViewPolicy ≈ read (get/list/watch) of every resource, secrets included.
 *   AmazonEKSSecretReaderPolicy ≈ get/list/watch of secrets.
 * The mapping from policy to model comes from the catalogue in lib/identity/access-entry.ts
 * (`resembles`). Every other policy (node, networking, storage, load-balancing, …) grants narrow
 * controller permissions we do not model: verdict 'unknown'.
 */

export type CoverageVerdict = 'covers' | 'does-not-cover' | 'unknown';

export interface PolicyCoverage {
  verdict: CoverageVerdict;
  why: string;
}

const READ = new Set(['get', 'list', 'watch']);
const WRITE = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Built-in resources that are not namespaced: a namespace-scoped association can never reach them. */
const CLUSTER_SCOPED = new Set([
  'nodes',
  'namespaces',
  'persistentvolumes',
  'clusterroles',
  'clusterrolebindings',
  'customresourcedefinitions',
  'storageclasses',
  'priorityclasses',
  'csidrivers',
  'csinodes',
  'volumeattachments',
  'mutatingwebhookconfigurations',
  'validatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
  'apiservices',
  'certificatesigningrequests',
  'runtimeclasses',
  'ingressclasses',
  'tokenreviews',
  'subjectaccessreviews',
  'selfsubjectaccessreviews',
  'selfsubjectrulesreviews',
  'componentstatuses',
  'flowschemas',
  'prioritylevelconfigurations',
]);

/** `admin`/`edit`/`view` never include these (RBAC objects are admin-only; secrets are not in view). */
const RBAC_RESOURCES = new Set(['roles', 'rolebindings']);
/** admin and edit read but never write these: quotas and limits are the cluster operator's. */
const QUOTA_RESOURCES = new Set(['resourcequotas', 'limitranges']);

export const policyName = (policyArn: string): string =>
  accessPolicyName(policyArn) ?? policyArn.slice(policyArn.lastIndexOf('/') + 1);

type Model = 'cluster-admin' | 'admin' | 'edit' | 'view' | 'admin-view' | 'secret-reader';

const modelOf = (policyArn: string, name: string): Model | undefined => {
  const info = describeAccessPolicy(policyArn);
  if (info?.resembles) return info.resembles;
  if (name === 'AmazonEKSAdminViewPolicy') return 'admin-view';
  if (name === 'AmazonEKSSecretReaderPolicy') return 'secret-reader';
  return undefined;
};

const inScope = (scope: AccessScope, m: MissingPermission): PolicyCoverage | undefined => {
  if (scope.type === 'cluster') return undefined;
  if (m.scope === 'path') {
    return { verdict: 'does-not-cover', why: 'namespace-scoped associations never grant non-resource URLs' };
  }
  if (m.scope === 'cluster' || m.namespace === undefined) {
    return {
      verdict: 'does-not-cover',
      why: `scoped to namespace(s) ${scope.namespaces.join(', ') || '(none)'}, the request is cluster-wide`,
    };
  }
  if (!scope.namespaces.includes(m.namespace)) {
    return {
      verdict: 'does-not-cover',
      why: `scoped to namespace(s) ${scope.namespaces.join(', ') || '(none)'}, not ${m.namespace}`,
    };
  }
  return undefined;
};

const what = (m: MissingPermission): string =>
  m.scope === 'path'
    ? `${m.verb} on path ${m.path ?? ''}`
    : `${m.verb} on ${m.resource ?? '?'}${m.subresource ? `/${m.subresource}` : ''}`;

/** Verdict for one association against one missing permission (see module comment for the model). */
export const policyCoverage = (policyArn: string, scope: AccessScope, m: MissingPermission): PolicyCoverage => {
  const name = policyName(policyArn);
  const scoped = inScope(scope, m);
  if (scoped) return scoped;
  const resource = m.resource ?? '';
  const clusterScopedResource = m.scope === 'cluster' && CLUSTER_SCOPED.has(resource);
  const read = READ.has(m.verb);
  const write = WRITE.has(m.verb);
  const yes = (why: string): PolicyCoverage => ({ verdict: 'covers', why });
  const no = (why: string): PolicyCoverage => ({ verdict: 'does-not-cover', why });
  const model = modelOf(policyArn, name);
  switch (model) {
    case 'cluster-admin':
      return yes('cluster-admin equivalent: every verb on every resource');
    case 'admin-view':
      if (m.scope === 'path')
        return no('read-only policy for resources; non-resource URLs are not modelled as granted');
      return read ? yes('reads every resource, secrets included') : no(`read-only: ${m.verb} is not get/list/watch`);
    case 'secret-reader':
      if (resource !== 'secrets') return no('grants only reading secrets');
      return read ? yes('reads secrets') : no(`read-only: ${m.verb} is not get/list/watch`);
    case 'admin':
    case 'edit':
    case 'view': {
      const label = model;
      if (m.scope === 'path') return no(`${label} equivalent: no non-resource URLs`);
      if (clusterScopedResource) {
        if (resource === 'namespaces' && read && scope.type === 'cluster') return yes(`${label} reads namespaces`);
        return no(`${label} equivalent: no cluster-scoped resources such as ${resource}`);
      }
      if (model === 'view') {
        if (resource === 'secrets') return no('view equivalent: secrets are excluded');
        if (RBAC_RESOURCES.has(resource)) return no('view equivalent: roles and rolebindings are excluded');
        if (m.subresource && !['log', 'status', 'scale'].includes(m.subresource)) {
          return no(`view equivalent: subresource ${m.subresource} is not readable`);
        }
        return read
          ? yes('view equivalent: reads most namespaced resources')
          : no(`read-only: ${m.verb} is not allowed`);
      }
      if (RBAC_RESOURCES.has(resource) && model === 'edit') {
        return no('edit equivalent: roles and rolebindings are excluded');
      }
      if (QUOTA_RESOURCES.has(resource) && !read) return no(`${label} equivalent: ${resource} are read-only`);
      if (m.verb === 'impersonate') {
        return resource === 'serviceaccounts'
          ? yes(`${label} equivalent: may impersonate service accounts`)
          : no(`${label} equivalent: impersonation of ${resource} is not granted`);
      }
      if (read || write) return yes(`${label} equivalent: reads and writes namespaced workloads`);
      return { verdict: 'unknown', why: `${label} equivalent: verb ${m.verb} not modelled` };
    }
    default: {
      const grants = describeAccessPolicy(policyArn)?.grants;
      return {
        verdict: 'unknown',
        why: `${name}: ${grants ? `${grants}; ` : ''}its rules for ${what(m)} are not modelled`,
      };
    }
  }
};
