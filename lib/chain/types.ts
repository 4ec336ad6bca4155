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
  type: PrincipalType | 'service-account' | 'anonymous' | 'k8s-internal' | 'oidc-user' | 'unknown';
  stsArn?: string;
  canonicalArn?: string;
  principalId?: string;
  accountId?: string;
  accessKeyId?: string;
  /** Chosen by the caller: shown, never trusted (docs/design.md, principle 4) unless AWS enforces it (SSO). */
  sessionName?: string;
  /** Kubernetes service accounts (`system:serviceaccount:<ns>:<name>`), with the pod bound to the token. */
  serviceAccount?: { namespace: string; name: string; podName?: string; podUid?: string; nodeName?: string };
  /** A user of an OIDC identity provider: the provider config and the claim value behind the username. */
  oidc?: { provider: string; issuerUrl: string; claim: string };
}

/** Who created or last changed a pod's owner, from the source cluster's audit trail (query time only). */
export interface DeployerLink {
  status: LinkStatus;
  /** `deployments.apps/ns/name` and the like. */
  owner: string;
  verb?: string;
  at?: string;
  auditID?: string;
  /** The Kubernetes user that made the change, and the human behind it when known. */
  username?: string;
  human?: string;
  humanVia?: string;
  why: string;
}

/**
 * The workload an IAM session was issued to (EKS Pod Identity or IRSA): which pod of which cluster
 * holds the key, through which association or trust, and who put it there (docs/formats.md §3.5).
 */
export interface WorkloadLink {
  kind: 'pod-identity' | 'irsa';
  /** The cluster the pod runs on (not necessarily the cluster it called). */
  cluster?: string;
  accountId?: string;
  namespace: string;
  serviceAccount: string;
  /** Pod Identity names the pod in its session tags; IRSA never names it. */
  pod?: string;
  podUid?: string;
  /** `observed` when the issuing record states the pod, `derived` from a cut session name. */
  podStatus?: LinkStatus;
  association?: {
    status: LinkStatus;
    associationId?: string;
    associationArn?: string;
    roleArn: string;
    targetRoleArn?: string;
    disableSessionTags?: boolean;
    createdAt?: string;
    createdBy?: string;
    createdByHuman?: string;
    lastChangedAt?: string;
    sourceEventId?: string;
    why: string;
  };
  /** IRSA: the OIDC issuer of the token and what the role's trust policy had to admit (not read here). */
  trust?: { issuer: string; subject: string; audience?: string; why: string };
  deployedBy?: DeployerLink;
}

export interface HumanLink {
  /** e-mail / SSO user name, IAM user ARN, SAML subject, the caller ARN that assumed the role, or a workload. */
  identity: string;
  via:
    | 'sso-session'
    | 'iam-user'
    | 'assume-role-caller'
    | 'saml'
    | 'web-identity'
    | 'source-identity'
    | 'root'
    | 'pod-identity'
    | 'irsa'
    | 'oidc';
  /** The AssumeRole* CloudTrail event that issued the access key, when that is the evidence. */
  credentialEventId?: string;
  /** Role chaining: intermediate callers, outermost first. */
  chain?: string[];
  /** Set when the session was issued to a pod: `identity` is then the workload, not a person. */
  workload?: WorkloadLink;
}

export interface MappingLink {
  source: MappingSource | 'service-account' | 'anonymous' | 'static-file' | 'certificate';
  /** The identity-provider config that admitted an OIDC user. */
  oidcProvider?: {
    name: string;
    issuerUrl: string;
    clientId?: string;
    usernameClaim: string;
    usernamePrefix: string;
    groupsClaim?: string;
    groupsPrefix?: string;
    requiredClaims?: Record<string, string>;
  };
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

/**
 * The pod a key was issued to, as the issuing record states it: the Pod Identity session tags, the
 * EKS Auth response, or the service-account subject and EKS issuer of an IRSA token.
 */
export interface IssuedWorkload {
  kind: 'pod-identity' | 'irsa';
  from: 'session-tags' | 'eks-auth-response' | 'session-name' | 'web-identity-token';
  cluster?: string;
  clusterArn?: string;
  accountId?: string;
  namespace?: string;
  serviceAccount?: string;
  pod?: string;
  podUid?: string;
  associationId?: string;
  associationArn?: string;
  /** IRSA: the issuer as eksIssuerKey writes it (`oidc.eks.<region>.amazonaws.com/id/<ID>`). */
  issuer?: string;
  audience?: string;
}

/** STS AssumeRole* record: which caller received which temporary access key. */
export interface CredentialIssuance {
  accessKeyId: string;
  /** CloudTrail eventTime of the AssumeRole* call. */
  issuedAt: string;
  expiresAt?: string;
  api: 'AssumeRole' | 'AssumeRoleWithSAML' | 'AssumeRoleWithWebIdentity' | 'AssumeRoleForPodIdentity';
  /** Set when the key went to a pod (EKS Pod Identity or IRSA). */
  workload?: IssuedWorkload;
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
  /** Other clusters' facts that name the pods behind workload sessions (see WorkloadEvidence). */
  workload?: WorkloadEvidence;
}

/** A cluster by account and name (the storage port's ClusterRef, without importing it). */
export interface ClusterRefLike {
  accountId: string;
  cluster: string;
}

/**
 * What a workload session's chain needs from other clusters, loaded up front (the correlator is
 * synchronous): the cluster an IRSA issuer belongs to, and the mapping state of the cluster a pod
 * runs on (its associations) at the time its key was issued.
 */
export interface WorkloadEvidence {
  clusterOfIssuer(issuerKey: string): ClusterRefLike | undefined;
  stateOf(ref: ClusterRefLike, at: string): import('../identity/types.js').ClusterMappingState | undefined;
  /** The clusters whose state is loaded. */
  clusters(): readonly ClusterRefLike[];
}

export interface MappingStateKey {
  history: object;
  version: number;
}
