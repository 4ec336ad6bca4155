/**
 * Parsed shapes of every input (docs/formats.md). Every optional field is optional because
 * real samples omit it somewhere; nothing here is inferred from a single fixture.
 */

// ---------------------------------------------------------------------------------------------
// CloudWatch Logs subscription payloads (docs/formats.md §4)
// ---------------------------------------------------------------------------------------------

export interface CloudWatchLogEvent {
  /** 56-digit decimal string; unique per event, the idempotency key for log-derived records. */
  id: string;
  /** Epoch milliseconds: the ordering clock (authenticator `time` has only second precision). */
  timestamp: number;
  message: string;
}

export interface CloudWatchLogsPayload {
  messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE';
  /** The SOURCE account id, also across accounts through a Logs destination. */
  owner: string;
  logGroup: string;
  logStream: string;
  subscriptionFilters: string[];
  logEvents: CloudWatchLogEvent[];
  /**
   * Set when the bytes this payload was decoded from were not valid UTF-8 (Kinesis data, a gzip
   * member, a replayed file): invalid sequences were read as U+FFFD, never silently.
   */
  invalidUtf8?: true;
}

/** Which control-plane stream a log event came from, told apart by stream name. */
export type LogStreamKind = 'authenticator' | 'audit' | 'other';

/** Where one log event came from, carried next to every record parsed from it. */
export interface LogEventOrigin {
  cluster: string;
  /** CloudWatch payload `owner`: the workload account that owns the log group. */
  accountId: string;
  logGroup: string;
  logStream: string;
  streamKind: LogStreamKind;
  eventId: string;
  /** Epoch ms from the CloudWatch event. */
  timestamp: number;
  /**
   * The delivery's bytes were not valid UTF-8 and this event shows a replacement character (U+FFFD)
   * where they were: its text is not exactly what the control plane wrote (issue INPUT_INVALID_UTF8).
   */
  invalidUtf8?: true;
}

// ---------------------------------------------------------------------------------------------
// Authenticator lines (docs/formats.md §1)
// ---------------------------------------------------------------------------------------------

/** Why an `access denied` happened, classified from the `error=` text (docs/formats.md §1.3 catalogue). */
export type AuthnFailureClass =
  | 'token-malformed'
  | 'token-expired'
  | 'sts-failure'
  | 'sts-throttled'
  | 'identity-not-mapped'
  | 'template-error'
  | 'reserved-prefix'
  | 'arn-userid-mismatch'
  | 'invalid-arn'
  | 'unknown';

interface AuthenticatorLineBase {
  /** RFC 3339 as written (second precision; UTC `Z` on hosted EKS, local offset on self-run builds). */
  time?: string;
  level?: string;
  msg?: string;
  /** Every key=value of the line, Go-unquoted, including those lifted into typed fields. */
  fields: Record<string, string>;
  /** `client` = the API server's loopback address, never the end user's IP. */
  client?: string;
}

export interface StsResponseLine extends AuthenticatorLineBase {
  kind: 'sts-response';
  accessKeyId?: string;
  accountId?: string;
  /** Raw STS ARN (assumed-role form for roles). */
  stsArn?: string;
  session?: string;
  /** AROA… / AIDA… (for roles the `:session` part is already split off). */
  userId?: string;
  stsEndpoint?: string;
}

export interface AccessGrantedLine extends AuthenticatorLineBase {
  kind: 'access-granted';
  /** CANONICAL ARN on this line (the same key means the raw STS ARN on `STS response`). */
  canonicalArn?: string;
  /** Mapped groups only; `system:authenticated` is added later by the API server. */
  groups: string[];
  uid?: string;
  username?: string;
  stsEndpoint?: string;
}

export interface AccessDeniedLine extends AuthenticatorLineBase {
  kind: 'access-denied';
  /** Present only when the token verified and mapping then failed. */
  canonicalArn?: string;
  error: string;
  errorClass: AuthnFailureClass;
  stsEndpoint?: string;
}

export interface StaticMappingLine extends AuthenticatorLineBase {
  kind: 'static-mapping';
  mappingKind: 'role' | 'user' | 'account' | 'sso';
  arn?: string;
  accountId?: string;
  username?: string;
  groups: string[];
}

export interface MapperStartedLine extends AuthenticatorLineBase {
  kind: 'mapper-started';
  /** MountedFile | EKSConfigMap | DynamicFile | CRD (or whatever the line names). */
  mapper: string;
}

export interface UnrecognisedAuthenticatorLine extends AuthenticatorLineBase {
  kind: 'unrecognised';
}

export type AuthenticatorLine =
  | StsResponseLine
  | AccessGrantedLine
  | AccessDeniedLine
  | StaticMappingLine
  | MapperStartedLine
  | UnrecognisedAuthenticatorLine;

// ---------------------------------------------------------------------------------------------
// Kubernetes audit events (docs/formats.md §2)
// ---------------------------------------------------------------------------------------------

export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

export interface K8sUserInfo {
  /** Absent on 401 events (empty user object). */
  username?: string;
  uid?: string;
  groups: string[];
  /** Every extra key verbatim; values are arrays (usually of one string). */
  extra: Record<string, string[]>;
}

export interface AuditObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  /** Absent for the core group. */
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

export interface AuditResponseStatus {
  code?: number;
  status?: string;
  reason?: string;
  message?: string;
  details?: { group?: string; kind?: string; name?: string };
}

export interface AuditEvent {
  auditID: string;
  stage: AuditStage | string;
  level?: string;
  verb?: string;
  requestURI?: string;
  user: K8sUserInfo;
  impersonatedUser?: K8sUserInfo;
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: AuditObjectRef;
  responseStatus?: AuditResponseStatus;
  /** RFC 3339 with microseconds. */
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
  annotations: Record<string, string>;
  requestObject?: unknown;
  responseObject?: unknown;
  /**
   * True when the CloudWatch message ended in `[Truncated...]`: the JSON was cut, only the fields a
   * regex could recover are set, and the raw text must be kept alongside.
   */
  truncated: boolean;
}

// ---------------------------------------------------------------------------------------------
// CloudTrail (docs/formats.md §3)
// ---------------------------------------------------------------------------------------------

export type AuthenticationMode = 'CONFIG_MAP' | 'API_AND_CONFIG_MAP' | 'API';

export type AccessEntryType =
  | 'STANDARD'
  | 'EC2_LINUX'
  | 'EC2_WINDOWS'
  | 'FARGATE_LINUX'
  | 'HYBRID_LINUX'
  | 'HYPERPOD_LINUX'
  | 'EC2'
  | string;

/**
 * An EKS Pod Identity association as CloudTrail and the EKS API describe it (docs/formats.md §3.5):
 * a Kubernetes service account bound to an IAM role, optionally chained to a target role in another
 * account.
 */
export interface PodIdentityAssociationFields {
  /** `a-…`; absent only when the record carries no response. */
  associationId?: string;
  associationArn?: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  /** The role EKS assumes next with the first role's session (cross-account access). */
  targetRoleArn?: string;
  /** Generated by EKS for target-role associations; the target role's trust policy names it. */
  externalId?: string;
  /** true: EKS does not tag the session with cluster, namespace, service account and pod. */
  disableSessionTags?: boolean;
  /** Session policy (JSON text) that narrows the role's permissions for these pods. */
  policy?: string;
}

/** An OIDC identity-provider config associated with a cluster (docs/formats.md §3.6). */
export interface OidcIdentityProviderConfig {
  name: string;
  issuerUrl: string;
  clientId?: string;
  /** Default `sub`. */
  usernameClaim?: string;
  /** As configured; absent means the Kubernetes default (see effectiveUsernamePrefix). */
  usernamePrefix?: string;
  groupsClaim?: string;
  groupsPrefix?: string;
  requiredClaims?: Record<string, string>;
}

export interface AccessScope {
  type: 'cluster' | 'namespace';
  namespaces: string[];
}

export type ControlPlaneLogType = 'api' | 'audit' | 'authenticator' | 'controllerManager' | 'scheduler';

/** Who made an AWS API call (CloudTrail userIdentity, normalised). */
export interface AwsActor {
  type: string;
  /** Raw ARN as CloudTrail gives it (STS assumed-role form for sessions). */
  arn?: string;
  /** Canonical ARN (path-less role, users keep their path), when derivable. */
  canonicalArn?: string;
  /** AROA… / AIDA… without the `:session` suffix. */
  principalId?: string;
  accountId?: string;
  accessKeyId?: string;
  sessionName?: string;
  /** sessionContext.sessionIssuer.arn: the IAM role WITH its path. */
  sessionIssuerArn?: string;
  userName?: string;
  invokedBy?: string;
  /** Identity Center: onBehalfOf.userId, when CloudTrail carries it. */
  identityStoreUserId?: string;
  /** SAMLUser / WebIdentityUser: the identity provider the token came from. */
  identityProvider?: string;
}

export type CloudTrailAction =
  | {
      kind: 'CreateAccessEntry';
      cluster: string;
      principalArn: string;
      entryType: AccessEntryType;
      username?: string;
      kubernetesGroups: string[];
      accessEntryArn?: string;
    }
  | {
      kind: 'UpdateAccessEntry';
      cluster: string;
      principalArn: string;
      /** undefined = not changed by this call; groups are declarative replacement when present. */
      username?: string;
      kubernetesGroups?: string[];
      /** Full entry after the call, when responseElements carries it. */
      after?: { username?: string; kubernetesGroups: string[]; entryType?: AccessEntryType };
    }
  | { kind: 'DeleteAccessEntry'; cluster: string; principalArn: string }
  | {
      kind: 'AssociateAccessPolicy';
      cluster: string;
      principalArn: string;
      policyArn: string;
      scope: AccessScope;
    }
  | { kind: 'DisassociateAccessPolicy'; cluster: string; principalArn: string; policyArn: string }
  | {
      kind: 'CreateCluster';
      cluster: string;
      /** Default CONFIG_MAP for clusters created before access entries existed / without accessConfig. */
      authenticationMode: AuthenticationMode;
      /** Default true per AWS. */
      bootstrapClusterCreatorAdminPermissions: boolean;
      enabledLogTypes: ControlPlaneLogType[];
      clusterArn?: string;
      /** `identity.oidc.issuer` of the created cluster: the issuer IRSA tokens of its pods name. */
      oidcIssuer?: string;
    }
  | { kind: 'DeleteCluster'; cluster: string }
  | { kind: 'CreatePodIdentityAssociation'; cluster: string; association: PodIdentityAssociationFields }
  | {
      kind: 'UpdatePodIdentityAssociation';
      cluster: string;
      associationId: string;
      /** undefined = not changed by this call; null = removed (target role, session policy). */
      roleArn?: string;
      targetRoleArn?: string | null;
      disableSessionTags?: boolean;
      policy?: string | null;
      /** The association after the call, when responseElements carries it. */
      after?: PodIdentityAssociationFields;
    }
  | {
      kind: 'DeletePodIdentityAssociation';
      cluster: string;
      associationId: string;
      /** The deleted association, when responseElements carries it. */
      before?: PodIdentityAssociationFields;
    }
  | { kind: 'AssociateIdentityProviderConfig'; cluster: string; config: OidcIdentityProviderConfig }
  | { kind: 'DisassociateIdentityProviderConfig'; cluster: string; name: string; type: string }
  | {
      kind: 'UpdateClusterConfig';
      cluster: string;
      authenticationMode?: AuthenticationMode;
      logging?: { enabled: ControlPlaneLogType[]; disabled: ControlPlaneLogType[] };
    }
  | {
      kind: 'AssumeRole';
      api: 'AssumeRole' | 'AssumeRoleWithSAML' | 'AssumeRoleWithWebIdentity';
      roleArn: string;
      roleSessionName?: string;
      /** responseElements.credentials.accessKeyId: the key the caller received. */
      issuedAccessKeyId: string;
      /** responseElements.assumedRoleUser.arn / assumedRoleId (AROA…:session). */
      assumedRoleArn?: string;
      assumedRoleId?: string;
      expiration?: string;
      sourceIdentity?: string;
      /** SAML NameID / web-identity subject, the human behind federated sessions when present. */
      subject?: string;
      issuer?: string;
      /** Web identity: `responseElements.audience` (the token's `aud`). */
      audience?: string;
      /**
       * Session tags of the request that EKS Pod Identity sets (eks-cluster-arn, eks-cluster-name,
       * kubernetes-namespace, kubernetes-service-account, kubernetes-pod-name, kubernetes-pod-uid);
       * other tags are not kept (docs/formats.md §3.5).
       */
      podTags?: Partial<Record<PodSessionTag, string>>;
      externalId?: string;
    }
  | {
      kind: 'AssumeRoleForPodIdentity';
      /** requestParameters.clusterName: the cluster the pod runs on. */
      cluster: string;
      /** '' when the record carries no response (what CloudTrail writes today: docs/formats.md §3.5). */
      issuedAccessKeyId: string;
      assumedRoleArn?: string;
      assumedRoleId?: string;
      subject?: { namespace: string; serviceAccount: string };
      associationArn?: string;
      associationId?: string;
      audience?: string;
      expiration?: string;
    };

/** The session tags EKS Pod Identity puts on the sessions it creates (docs/formats.md §3.5). */
export const POD_SESSION_TAGS = [
  'eks-cluster-arn',
  'eks-cluster-name',
  'kubernetes-namespace',
  'kubernetes-service-account',
  'kubernetes-pod-name',
  'kubernetes-pod-uid',
] as const;
export type PodSessionTag = (typeof POD_SESSION_TAGS)[number];

export interface CloudTrailEvent {
  eventId: string;
  /** ISO, second precision. */
  eventTime: string;
  eventName: string;
  eventSource: string;
  region?: string;
  recipientAccountId?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  actor: AwsActor;
  /** Set on failed calls; such events never change state. */
  errorCode?: string;
  errorMessage?: string;
  succeeded: boolean;
  action: CloudTrailAction;
}
