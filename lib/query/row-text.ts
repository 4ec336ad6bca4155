import type { MissingPermission } from '../authz/types.js';
import type { RequestLink } from '../chain/types.js';
import type { PolicyField, RequestRow } from './chain-rows.js';

/**
 * A request row's fields in a few words, for tables (the CLI's and the console's). Pure and free of
 * heavy imports: the console bundle uses it as it is.
 */

export const missingText = (m: Omit<MissingPermission, 'reasonSuffix'> | undefined): string | undefined => {
  if (!m) return undefined;
  if (m.scope === 'path') return `${m.verb} ${m.path ?? ''}`.trim();
  const res = m.subresource ? `${m.resource}/${m.subresource}` : (m.resource ?? '');
  const group = m.apiGroup ? `.${m.apiGroup}` : '';
  const where = m.scope === 'namespace' ? ` in namespace ${m.namespace}` : ' at cluster scope';
  return `${m.verb} ${res}${group}${m.name ? ` "${m.name}"` : ''}${where}`;
};

/**
 * The target `touched` accepts for a request: `ns/resource[.group][/subresource][/name]`, at cluster
 * scope with an empty namespace (`/nodes/ip-10-0-0-1`, `/namespaces/payments`). A `-` for cluster scope
 * would read as a formula in a spreadsheet, hence the leading `/`. Non-resource requests have none.
 */
export const targetOf = (r: RequestLink | undefined): string | undefined => {
  if (!r?.resource) return undefined;
  const kind = `${r.resource}${r.apiGroup ? `.${r.apiGroup}` : ''}`;
  return [r.namespace ?? '', kind, ...(r.subresource ? [r.subresource] : []), ...(r.name ? [r.name] : [])].join('/');
};

export const policyFieldText = (p: PolicyField): string =>
  p.scope === 'namespace' ? `${p.name}@ns:${(p.namespaces ?? []).join(',')}` : `${p.name}@cluster`;

/** What the decision rests on, in a few words: the grant that allowed it, or what failed. */
export const decisionText = (d: RequestRow['decision']): string => {
  if (d.failedStage) {
    const missing = missingText(d.missing);
    return missing ? `${d.failedStage}: missing ${missing}` : `${d.failedStage}: ${d.message ?? ''}`.trim();
  }
  switch (d.authorizer) {
    case 'rbac': {
      if (!d.binding) return 'rbac';
      const b = d.binding.namespace ? `${d.binding.namespace}/${d.binding.name}` : d.binding.name;
      return `rbac: ${d.binding.kind} ${b}${d.role ? ` -> ${d.role.kind} ${d.role.name}` : ''}`;
    }
    case 'eks-access-policy':
      return d.policy ? `eks-access-policy: ${policyFieldText(d.policy)}` : 'eks-access-policy';
    case 'unknown':
      return d.candidates?.length
        ? `authorizer unknown (possible: ${d.candidates.join(', ')})`
        : d.outcome === 'unknown'
          ? ''
          : 'authorizer unknown';
    case 'none':
      return '';
    default:
      return d.authorizer;
  }
};
