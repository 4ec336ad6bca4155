import type { AuthorizationReason, MissingPermission } from '../authz/types.js';
import type {
  AccessPolicyAssociation,
  AwsAuthRow,
  MappingActor,
  MappingSource,
  PrincipalType,
} from '../identity/types.js';
import type { AccessEntryType, AuthnFailureClass, AwsActor } from '../sources/types.js';

/**
 * How much a link can be trusted:
 *  - observed: a source stated it for this very request (e.g. audit user.extra.canonicalArn);
 *  - derived: computed from other observed facts or versioned history (e.g. which mapping applied);
 *  - unknown: not enough data (yet); `why` says what is missing, so late data can complete it.
 */
export type LinkStatus = 'observed' | 'derived' | 'unknown';

export interface Link<T> {
  status: LinkStatus;
  value?: T;
  why: string;
  /** Where the value came from, e.g. `audit:user.extra.canonicalArn`, `cloudtrail:<eventID>`. */
  evidence: string[];
}

export interface PrincipalLink {
  type: PrincipalType | 'service-account' | 'anonymous' | 'k8s-internal' | 'unknown';
  stsArn?: string;
  canonicalArn?: string;
  principalId?: string;
  accountId?: string;
  accessKeyId?: string;
  /** Chosen by the caller: shown, never trusted (docs/design.md, principle 4) unless AWS enforces it (SSO). */
  sessionName?: string;
  /** Kubernetes service accounts (`system:serviceaccount:<ns>:<name>`), with the pod bound to the token. */
  serviceAccount?: { namespace: string; name: string; podName?: string; podUid?: string; nodeName?: string };
}

export interface HumanLink {
  /** e-mail / SSO user name, IAM user ARN, SAML subject, or the caller ARN that assumed the role. */
  identity: string;
  via: 'sso-session' | 'iam-user' | 'assume-role-caller' | 'saml' | 'web-identity' | 'source-identity' | 'root';
  /** The AssumeRole* CloudTrail event that issued the access key, when that is the evidence. */
  credentialEventId?: string;
  /** Role chaining: intermediate callers, outermost first. */
  chain?: string[];
}

export interface MappingLink {
  source: MappingSource | 'service-account' | 'anonymous' | 'static-file' | 'certificate';
  accessEntry?: {
    principalArn: string;
    type: AccessEntryType;
    username?: string;
    kubernetesGroups: string[];
    policies: AccessPolicyAssociation[];
  };
  awsAuthRow?: AwsAuthRow;
  /** Username / groups the mapping in force yields (templates expanded where possible). */
  username?: string;
  groups?: string[];
  since?: string;
  actor?: MappingActor;
  sourceEventId?: string;
  shadowed?: { source: MappingSource; why: string }[];
}

export interface K8sIdentityLink {
  username?: string;
  uid?: string;
  groups: string[];
  /** Set when the request impersonated another user: authorization applies to the impersonated one. */
  impersonated?: { username?: string; groups: string[] };
}

export type FailedStage =
  | 'token' // malformed / expired token
  | 'sts' // GetCallerIdentity failed or throttled
  | 'unmapped' // token fine, no mapping
  | 'template' // mapping found, template could not be rendered
  | 'reserved-prefix'
  | 'authentication' // 401 with no authenticator detail
  | 'authorization'; // 403

/**
 * The authorizer that decided, named for what it is (docs/formats.md §2.3): the Node authorizer, RBAC,
 * the EKS access-policy webhook, another webhook, the built-in `system:masters` (privileged-group)
 * authorizer, or an always-allowed path; `none` when nothing allowed (a forbid or a failed
 * authentication), `unknown` when the record does not say which (see DecisionLink.candidates).
 */
export const AUTHORIZERS = [
  'node',
  'rbac',
  'eks-access-policy',
  'webhook',
  'system:masters',
  'always-allowed-path',
  'none',
  'unknown',
] as const;
export type Authorizer = (typeof AUTHORIZERS)[number];

export interface DecisionLink {
  outcome: 'allow' | 'forbid' | 'authn-failed' | 'unknown';
  authorizer: Authorizer;
  /**
   * When `authorizer` is `unknown` although the outcome is known: the authorizers the record fits,
   * each of which could have decided (e.g. an empty allow reason outside system:masters and nodes).
   */
  candidates?: Authorizer[];
  reason?: AuthorizationReason;
  rawReason?: string;
  /** For access-policy allows: the association in force, with scope, when known. */
  accessPolicy?: AccessPolicyAssociation & { principalArn: string };
  denial?: {
    stage: FailedStage;
    failureClass?: AuthnFailureClass;
    /** Authenticator error text or 403 message. */
    message?: string;
    missing?: MissingPermission;
    /** Plain account of a 403: what was missing and what was in force (always derived). */
    explanation?: string;
  };
}

export interface RequestLink {
  verb?: string;
  requestURI?: string;
  resource?: string;
  subresource?: string;
  apiGroup?: string;
  namespace?: string;
  name?: string;
  statusCode?: number;
  sourceIPs: string[];
  userAgent?: string;
  stage?: string;
  level?: string;
  truncated: boolean;
}

export interface DecisionChain {
  /** `<cluster>#<auditID>` for requests; `<cluster>#authn#<cloudwatch event id>` for authenticator denials. */
  chainId: string;
  kind: 'request' | 'authn-failure';
  cluster: string;
  accountId?: string;
  /** ISO with µs (audit requestReceivedTimestamp) or ms (CloudWatch timestamp). */
  at: string;
  auditID?: string;
  principal: Link<PrincipalLink>;
  human: Link<HumanLink>;
  mapping: Link<MappingLink>;
  k8sIdentity: Link<K8sIdentityLink>;
  decision: Link<DecisionLink>;
  request: Link<RequestLink>;
  /** true when a link is unknown only because data it depends on may still arrive. */
  pendingEnrichment: boolean;
}

/** STS AssumeRole* record: which caller received which temporary access key. */
export interface CredentialIssuance {
  accessKeyId: string;
  /** CloudTrail eventTime of the AssumeRole* call. */
  issuedAt: string;
  expiresAt?: string;
  api: 'AssumeRole' | 'AssumeRoleWithSAML' | 'AssumeRoleWithWebIdentity';
  roleArn: string;
  /** Lower-cased canonical role ARN (path stripped). */
  roleMatchKey: string;
  sessionName?: string;
  assumedRoleId?: string;
  caller: AwsActor;
  subject?: string;
  sourceIdentity?: string;
  sourceEventId: string;
}

/**
 * What the correlator may consult besides the event itself. Plain data and lookups, so the
 * correlator stays pure: the ingest path fills it from DynamoDB, tests and local mode from memory.
 * Everything here may be incomplete (late data): the correlator then marks links `unknown` and sets
 * `pendingEnrichment`, and running it again later with fuller evidence gives the final answer.
 */
export interface CorrelationEvidence {
  /** Mapping state of the request's cluster at an instant (see lib/identity MappingTimeline). */
  mappingStateAt(at: string): import('../identity/types.js').ClusterMappingState;
  /** The AssumeRole* issuance of an access key, if known. */
  credentialFor(accessKeyId: string): CredentialIssuance | undefined;
  /**
   * Optional: which mapping state is in force at `at`. `history` is one object for as long as the
   * cluster's mapping history is unchanged (the MappingTimeline, reused across batches by the stores)
   * and `version` tells its states apart: equal versions of one history must mean equal states
   * (MappingTimeline.stateVersionAt). With it the correlator derives a
   * principal's links once per state instead of once per request; evidence without it is uncached.
   */
  mappingStateKeyAt?(at: string): MappingStateKey;
}

export interface MappingStateKey {
  history: object;
  version: number;
}
