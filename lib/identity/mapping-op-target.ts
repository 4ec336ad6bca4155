import type { MappingChangeOp } from './types.js';

/**
 * What a mapping change is about, beyond its kind and source event: the principal (and policy, or
 * principal id) it targets, or '' for changes to the whole cluster. Part of a change's natural key,
 * so it is stored in sort keys: `#` never occurs in ARNs, policy ARNs or principal ids. The switch is
 * exhaustive, so a new kind of change does not compile until its target is decided here.
 */
export const mappingOpTarget = (op: MappingChangeOp): string => {
  switch (op.kind) {
    case 'access-entry-put':
      return op.entry.matchKey;
    case 'access-entry-update':
    case 'access-entry-delete':
      return op.matchKey;
    case 'access-policy-associate':
      return `${op.matchKey}#${op.association.policyArn}`;
    case 'access-policy-disassociate':
      return `${op.matchKey}#${op.policyArn}`;
    case 'principal-id-observed':
      return `${op.matchKey}#${op.principalId}`;
    case 'pod-identity-association-put':
      // A put without an id (a record whose response was cut) is still one association per service account.
      return op.association.associationId ?? `${op.association.namespace}/${op.association.serviceAccount}`;
    case 'pod-identity-association-update':
    case 'pod-identity-association-delete':
      return op.associationId;
    case 'identity-provider-associate':
      return op.config.name;
    case 'identity-provider-disassociate':
      return op.name;
    case 'cluster-oidc-issuer':
    case 'aws-auth-put':
    case 'aws-auth-delete':
    case 'auth-mode-set':
    case 'cluster-created':
    case 'cluster-deleted':
    case 'logging-set':
      return '';
    default: {
      const unhandled: never = op;
      return unhandled;
    }
  }
};
