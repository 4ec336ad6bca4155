import type {
  AccessEntryType,
  AccessScope,
  AuthenticationMode,
  AwsActor,
  ControlPlaneLogType,
  OidcIdentityProviderConfig,
  PodIdentityAssociationFields,
} from '../sources/types.js';

// ---------------------------------------------------------------------------------------------
// Principals (docs/formats.md §1.4)
// ---------------------------------------------------------------------------------------------

export type PrincipalType = 'assumed-role' | 'role' | 'user' | 'root' | 'federated-user';

export interface CanonicalPrincipal {
  type: PrincipalType;
  partition: string;
  accountId: string;
  /** Exactly as the authenticator computes it: assumed-role -> path-less iam role; users keep paths. */
  canonicalArn: string;
  /** Lower-cased canonical ARN: the join key (aws-auth matching is case-insensitive). */
  matchKey: string;
  /** Role or user name without path. */
  name: string;
  sessionName?: string;
}

// ---------------------------------------------------------------------------------------------
// aws-auth ConfigMap (docs/formats.md §1.5 EKSConfigMap row)
// ---------------------------------------------------------------------------------------------

/** Why an aws-auth row can never take effect, or takes effect surprisingly. */
export type AwsAuthRowFlag =
  | 'path-never-matches' // rolearn with an IAM path: the authenticator does not canonicalise it
  | 'sts-arn-never-matches' // userarn/rolearn given as an sts assumed-role ARN
  | 'shadowed-duplicate' // an earlier row with the same (case-insensitive) ARN; the last one wins
  | 'invalid-arn'
  // mapUsers rows whose userarn differs only by case: the authenticator scans a Go map, so which one
  // matches is nondeterministic
  | 'case-ambiguous-duplicate';

export interface AwsAuthRow {
  kind: 'role' | 'user';
  /** As written in the ConfigMap. */
  arn: string;
  /** Lower-cased, used for matching (EqualFold). */
  matchKey: string;
  username?: string;
  groups: string[];
  flags: AwsAuthRowFlag[];
  /** 0-based position in mapRoles / mapUsers. */
  index: number;
}

export interface AwsAuthConfig {
  roles: AwsAuthRow[];
  users: AwsAuthRow[];
  accounts: string[];
  /**
   * false when mapRoles/mapUsers/mapAccounts could not be parsed: the authenticator keeps only what
   * it could read, so this is a lockout risk (problems say which key failed).
   */
  parseable: boolean;
  problems: { key: string; message: string }[];
}

// ---------------------------------------------------------------------------------------------
// Versioned mapping model (docs/design.md, principle 2)
// ---------------------------------------------------------------------------------------------

export interface AccessPolicyAssociation {
  policyArn: string;
  scope: AccessScope;
}

export interface AccessEntry {
  /** As given to CreateAccessEntry (roles may carry a path). */
  principalArn: string;
  /** Matching key: lower-cased canonical (path-stripped for roles) ARN. */
  matchKey: string;
  type: AccessEntryType;
  /** Template as stored, e.g. `arn:aws:sts::A:assumed-role/R/{{SessionName}}`; default by type when absent. */
  username?: string;
  kubernetesGroups: string[];
  policies: AccessPolicyAssociation[];
  /**
   * The IAM unique id (AROA…/AIDA…) the entry is bound to, once observed. A role deleted and
   * recreated under the same ARN gets a new id and no longer matches.
   */
  principalId?: string;
  /** The entry EKS itself created for the cluster creator (bootstrapClusterCreatorAdminPermissions). */
  bootstrapCreator?: boolean;
}

/**
 * A Pod Identity association in the versioned history (docs/formats.md §3.5). EKS allows one
 * association per service account and cluster, so the state keys it by `<namespace>/<serviceAccount>`;
 * updates and deletes name the association id.
 */
export interface PodIdentityAssociation extends PodIdentityAssociationFields {
  /** Lower-cased canonical role ARN (path-less): how it meets access entries and issuances. */
  roleMatchKey: string;
  targetRoleMatchKey?: string;
}

export interface ClusterCreator {
  actor: AwsActor;
  /** Canonical ARN of the creator's principal (the session's role for assumed roles). */
  canonicalArn?: string;
  bootstrapAdmin: boolean;
}

/** One fact about a cluster's identity mappings, as some source reported it. Immutable. */
export type MappingChangeOp =
  | { kind: 'access-entry-put'; entry: Omit<AccessEntry, 'policies' | 'principalId'> }
  | {
      kind: 'access-entry-update';
      principalArn: string;
      matchKey: string;
      username?: string;
      kubernetesGroups?: string[];
    }
  | { kind: 'access-entry-delete'; principalArn: string; matchKey: string }
  | { kind: 'access-policy-associate'; principalArn: string; matchKey: string; association: AccessPolicyAssociation }
  | { kind: 'access-policy-disassociate'; principalArn: string; matchKey: string; policyArn: string }
  | { kind: 'aws-auth-put'; config: AwsAuthConfig; rawData?: Record<string, string> }
  | { kind: 'aws-auth-delete' }
  | { kind: 'auth-mode-set'; mode: AuthenticationMode }
  | {
      kind: 'cluster-created';
      creator: ClusterCreator;
      mode: AuthenticationMode;
      enabledLogTypes: ControlPlaneLogType[];
    }
  | { kind: 'cluster-deleted' }
  | { kind: 'logging-set'; enabled: ControlPlaneLogType[]; disabled: ControlPlaneLogType[] }
  /** A principal id seen bound to a canonical ARN (audit extra.principalId, access-policy reason). */
  | { kind: 'principal-id-observed'; matchKey: string; principalId: string }
  /** The cluster's own OIDC issuer (CreateCluster response, DescribeCluster): what IRSA tokens name. */
  | { kind: 'cluster-oidc-issuer'; issuer: string }
  | { kind: 'pod-identity-association-put'; association: PodIdentityAssociation }
  | {
      kind: 'pod-identity-association-update';
      associationId: string;
      /** undefined = unchanged; null = removed. */
      roleArn?: string;
      targetRoleArn?: string | null;
      disableSessionTags?: boolean;
      policy?: string | null;
      /** The whole association after the call, when the record carries it: it wins over the delta. */
      after?: PodIdentityAssociation;
    }
  | { kind: 'pod-identity-association-delete'; associationId: string; before?: PodIdentityAssociation }
  | { kind: 'identity-provider-associate'; config: OidcIdentityProviderConfig }
  | { kind: 'identity-provider-disassociate'; name: string; type: string };

export interface MappingChange {
  cluster: string;
  /** Workload account that owns the cluster. */
  accountId?: string;
  /** ISO 8601 with ms; the ordering clock. */
  at: string;
  /** Natural idempotency key: CloudTrail eventID, `auditID`, or a backfill id. */
  sourceEventId: string;
  source: 'cloudtrail' | 'audit' | 'backfill' | 'authenticator';
  /** The IAM caller (CloudTrail) or the k8s user who edited aws-auth (audit). */
  actor: MappingActor;
  op: MappingChangeOp;
}

export interface MappingActor {
  aws?: AwsActor;
  k8sUsername?: string;
  /** For audit-sourced changes: the IAM principal behind the k8s user, from user.extra. */
  k8sCanonicalArn?: string;
}

/** State of one cluster's mappings at an instant, folded from MappingChanges in time order. */
export interface ClusterMappingState {
  cluster: string;
  at: string;
  /** undefined = never observed (then inferred: entries seen => API_AND_CONFIG_MAP else CONFIG_MAP). */
  authMode?: AuthenticationMode;
  authModeKnown: boolean;
  /** Keyed by matchKey. */
  accessEntries: Map<string, AccessEntry & { since: string; actor: MappingActor; sourceEventId: string }>;
  /** null = deleted; undefined = never observed. */
  awsAuth?: { config: AwsAuthConfig; since: string; actor: MappingActor; sourceEventId: string } | null;
  creator?: ClusterCreator & { since: string; sourceEventId: string };
  enabledLogTypes?: ControlPlaneLogType[];
  deleted: boolean;
  /** Pod Identity associations in force, keyed by `<namespace>/<serviceAccount>`. */
  podIdentityAssociations?: Map<string, StoredAssociation>;
  /** OIDC identity-provider configs associated with the cluster, keyed by config name. */
  identityProviders?: Map<string, OidcIdentityProviderConfig & Stamp>;
  /** The cluster's own OIDC issuer URL, when a source stated it. */
  oidcIssuer?: { issuer: string } & Stamp;
}

/** When a mapping version began, who made it, and the event that says so. */
export interface Stamp {
  since: string;
  actor: MappingActor;
  sourceEventId: string;
}

/** An association in the state: its last change (the stamp) and its creation, kept apart. */
export type StoredAssociation = PodIdentityAssociation &
  Stamp & { created?: { at: string; actor: MappingActor; sourceEventId: string } };

// ---------------------------------------------------------------------------------------------
// Resolution at time T (docs/formats.md §1.5 precedence)
// ---------------------------------------------------------------------------------------------

export type MappingSource =
  | 'access-entry'
  | 'aws-auth-role'
  | 'aws-auth-user'
  | 'aws-auth-account'
  | 'cluster-creator'
  | 'eks-internal'
  | 'oidc-provider'
  | 'unmapped';

export interface MappingResolution {
  source: MappingSource;
  /** The access entry that applied (source access-entry / cluster-creator in API modes). */
  accessEntry?: AccessEntry;
  /** The aws-auth row that applied. */
  awsAuthRow?: AwsAuthRow;
  /** Username / groups the mapping yields, templates expanded where the inputs are known. */
  username?: string;
  groups: string[];
  /** Access policies that apply (access entries only). */
  policies: AccessPolicyAssociation[];
  /** When the mapping version in force began, and who made it. */
  since?: string;
  actor?: MappingActor;
  sourceEventId?: string;
  /** Plain-language account of the precedence decision, e.g. "access entry wins over aws-auth row 3". */
  why: string;
  /** Other mappings that also matched but lost on precedence. */
  shadowed: { source: MappingSource; why: string }[];
}
