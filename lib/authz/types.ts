/** Parsed `authorization.k8s.io/reason` annotations and 403 messages (docs/formats.md §2.3). */

export type SubjectKind = 'User' | 'Group' | 'ServiceAccount';

export interface RbacSubjectRef {
  kind: SubjectKind;
  name: string;
  /** ServiceAccount subjects: "sa/ns" split into name + namespace. */
  namespace?: string;
}

export type AuthorizationReason =
  | {
      kind: 'rbac-allow';
      binding: { kind: 'ClusterRoleBinding' | 'RoleBinding'; name: string; namespace?: string };
      role?: { kind: 'ClusterRole' | 'Role'; name: string };
      subject?: RbacSubjectRef;
      /** true for the legacy unquoted `RBAC: allowed by ClusterRoleBinding name` form. */
      legacy: boolean;
    }
  | {
      kind: 'access-policy-allow';
      /** principalArn and policyArn split on the `+` of the binding name. */
      principalArn: string;
      policyArn: string;
      /** Namespace when the binding is a RoleBinding ("…/ns"). */
      namespace?: string;
      /** The subject is the IAM principal id (AROA…/AIDA…), not the k8s username. */
      principalId?: string;
      bindingKind: 'ClusterRoleBinding' | 'RoleBinding';
    }
  /** Empty allow reason: system:masters, the Node authorizer, an always-allowed path or a webhook without a reason. */
  | { kind: 'privileged-allow' }
  | { kind: 'forbid'; reasons: string[] }
  /** `RBAC: [...]` aggregated resolution errors on a forbid. */
  | {
      kind: 'rbac-errors';
      errors: string[];
      /** Reasons of other authorizers joined with it by `\n` (union authorizer), when present. */
      otherReasons?: string[];
    }
  | { kind: 'internal-error' }
  | { kind: 'other'; text: string };

/** A 403 message, parsed: the permission that was missing. */
export interface MissingPermission {
  username: string;
  verb: string;
  resource?: string;
  subresource?: string;
  apiGroup?: string;
  namespace?: string;
  name?: string;
  /** Non-resource requests. */
  path?: string;
  scope: 'namespace' | 'cluster' | 'path';
  reasonSuffix?: string;
}
