/**
 * Builders for raw records: CloudTrail (EKS access management and STS AssumeRole*), the EventBridge
 * envelope, audit.k8s.io/v1 events and authenticator lines. Field names and order follow real
 * records (docs/formats.md §1-3); values come from the caller.
 */

import {
  cloudTrailExpiration,
  epochSecondsFraction,
  goJson,
  isoMicros,
  isoSeconds,
  logrusLine,
  sortedRecord,
} from './formats.js';
import type { K8sRequest } from './model.js';
import type { Rng } from './random.js';

// -----------------------------------------------------------------------------------------------
// CloudTrail
// -----------------------------------------------------------------------------------------------

export type CloudTrailRecord = Record<string, unknown> & {
  eventID: string;
  eventTime: string;
  eventSource: string;
  eventName: string;
  recipientAccountId: string;
  awsRegion: string;
};

/** CloudTrail userIdentity shapes the simulator uses. */
export type UserIdentity = Record<string, unknown>;

export const assumedRoleIdentity = (p: {
  accountId: string;
  roleId: string;
  roleName: string;
  roleArnWithPath: string;
  sessionName: string;
  accessKeyId: string;
  sessionIssuedUs: number;
}): UserIdentity => ({
  type: 'AssumedRole',
  principalId: `${p.roleId}:${p.sessionName}`,
  arn: `arn:aws:sts::${p.accountId}:assumed-role/${p.roleName}/${p.sessionName}`,
  accountId: p.accountId,
  accessKeyId: p.accessKeyId,
  sessionContext: {
    sessionIssuer: {
      type: 'Role',
      principalId: p.roleId,
      arn: p.roleArnWithPath,
      accountId: p.accountId,
      userName: p.roleName,
    },
    webIdFederationData: {},
    attributes: { creationDate: isoSeconds(p.sessionIssuedUs), mfaAuthenticated: 'false' },
  },
});

export const iamUserIdentity = (p: {
  accountId: string;
  userId: string;
  arn: string;
  userName: string;
  accessKeyId: string;
}): UserIdentity => ({
  type: 'IAMUser',
  principalId: p.userId,
  arn: p.arn,
  accountId: p.accountId,
  accessKeyId: p.accessKeyId,
  userName: p.userName,
});

interface RecordBase {
  rng: Rng;
  timeUs: number;
  region: string;
  recipientAccountId: string;
  userIdentity: UserIdentity;
  sourceIPAddress: string;
  userAgent: string;
}

const record = (
  b: RecordBase,
  eventSource: string,
  eventName: string,
  requestParameters: unknown,
  responseElements: unknown,
  extra: { readOnly?: boolean; resources?: unknown[]; sharedEventID?: string; eventVersion?: string } = {},
): CloudTrailRecord => {
  const r: Record<string, unknown> = {
    eventVersion: extra.eventVersion ?? '1.09',
    userIdentity: b.userIdentity,
    eventTime: isoSeconds(b.timeUs),
    eventSource,
    eventName,
    awsRegion: b.region,
    sourceIPAddress: b.sourceIPAddress,
    userAgent: b.userAgent,
    requestParameters,
    responseElements,
    requestID: b.rng.uuid(),
    eventID: b.rng.uuid(),
    readOnly: extra.readOnly ?? false,
  };
  if (extra.resources) r['resources'] = extra.resources;
  r['eventType'] = 'AwsApiCall';
  r['managementEvent'] = true;
  r['recipientAccountId'] = b.recipientAccountId;
  if (extra.sharedEventID) r['sharedEventID'] = extra.sharedEventID;
  r['eventCategory'] = 'Management';
  if (!b.sourceIPAddress.endsWith('amazonaws.com') && b.sourceIPAddress !== 'AWS Internal') {
    r['tlsDetails'] = {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${eventSource.split('.')[0]}.${b.region}.amazonaws.com`,
    };
  }
  return r as CloudTrailRecord;
};

/** URI labels (principalArn, policyArn) are percent-encoded in requestParameters (docs/formats.md §3.2). */
const uriLabel = (s: string): string => encodeURIComponent(s);

export interface AccessEntryShape {
  clusterName: string;
  principalArn: string;
  kubernetesGroups: string[];
  accessEntryArn: string;
  createdAtUs: number;
  modifiedAtUs: number;
  username: string;
  type: string;
}

const accessEntryBody = (e: AccessEntryShape) => ({
  clusterName: e.clusterName,
  principalArn: e.principalArn,
  kubernetesGroups: e.kubernetesGroups,
  accessEntryArn: e.accessEntryArn,
  createdAt: epochSecondsFraction(e.createdAtUs),
  modifiedAt: epochSecondsFraction(e.modifiedAtUs),
  tags: {},
  username: e.username,
  type: e.type,
});

export const createAccessEntryRecord = (
  b: RecordBase,
  e: AccessEntryShape,
  request: { username?: string; kubernetesGroups?: string[]; type?: string },
): CloudTrailRecord => {
  const params: Record<string, unknown> = { name: e.clusterName, principalArn: e.principalArn };
  if (request.kubernetesGroups?.length) params['kubernetesGroups'] = request.kubernetesGroups;
  if (request.username) params['username'] = request.username;
  if (request.type && request.type !== 'STANDARD') params['type'] = request.type;
  params['clientRequestToken'] = b.rng.uuid();
  return record(b, 'eks.amazonaws.com', 'CreateAccessEntry', params, { accessEntry: accessEntryBody(e) });
};

export const updateAccessEntryRecord = (
  b: RecordBase,
  e: AccessEntryShape,
  request: { username?: string; kubernetesGroups?: string[] },
): CloudTrailRecord => {
  const params: Record<string, unknown> = { name: e.clusterName, principalArn: uriLabel(e.principalArn) };
  if (request.kubernetesGroups) params['kubernetesGroups'] = request.kubernetesGroups;
  if (request.username) params['username'] = request.username;
  params['clientRequestToken'] = b.rng.uuid();
  return record(b, 'eks.amazonaws.com', 'UpdateAccessEntry', params, { accessEntry: accessEntryBody(e) });
};

export const deleteAccessEntryRecord = (b: RecordBase, clusterName: string, principalArn: string): CloudTrailRecord =>
  record(
    b,
    'eks.amazonaws.com',
    'DeleteAccessEntry',
    { name: clusterName, principalArn: uriLabel(principalArn) },
    null,
  );

export const associateAccessPolicyRecord = (
  b: RecordBase,
  clusterName: string,
  principalArn: string,
  policyArn: string,
  scope: { type: string; namespaces: string[] },
): CloudTrailRecord =>
  record(
    b,
    'eks.amazonaws.com',
    'AssociateAccessPolicy',
    {
      policyArn,
      accessScope: scope.type === 'cluster' ? { type: 'cluster' } : { type: scope.type, namespaces: scope.namespaces },
      name: clusterName,
      principalArn: uriLabel(principalArn),
    },
    {
      clusterName,
      principalArn,
      associatedAccessPolicy: {
        policyArn,
        accessScope: { type: scope.type, namespaces: scope.namespaces },
        associatedAt: epochSecondsFraction(b.timeUs),
        modifiedAt: epochSecondsFraction(b.timeUs),
      },
    },
  );

export const disassociateAccessPolicyRecord = (
  b: RecordBase,
  clusterName: string,
  principalArn: string,
  policyArn: string,
): CloudTrailRecord =>
  record(
    b,
    'eks.amazonaws.com',
    'DisassociateAccessPolicy',
    { name: clusterName, principalArn: uriLabel(principalArn), policyArn: uriLabel(policyArn) },
    null,
  );

export const createClusterRecord = (
  b: RecordBase,
  c: {
    name: string;
    arn: string;
    version: string;
    roleArn: string;
    mode: string;
    bootstrap: boolean;
    vpcId: string;
    subnets: string[];
    oidcIssuer?: string;
  },
): CloudTrailRecord => {
  const logging = { clusterLogging: [{ types: ['api', 'audit', 'authenticator'], enabled: true }] };
  const accessConfig = { authenticationMode: c.mode, bootstrapClusterCreatorAdminPermissions: c.bootstrap };
  return record(
    b,
    'eks.amazonaws.com',
    'CreateCluster',
    {
      name: c.name,
      version: c.version,
      roleArn: c.roleArn,
      resourcesVpcConfig: { subnetIds: c.subnets, endpointPublicAccess: true, endpointPrivateAccess: true },
      logging,
      accessConfig,
      clientRequestToken: b.rng.uuid(),
    },
    {
      cluster: {
        name: c.name,
        arn: c.arn,
        createdAt: epochSecondsFraction(b.timeUs),
        version: c.version,
        roleArn: c.roleArn,
        resourcesVpcConfig: { subnetIds: c.subnets, securityGroupIds: [], vpcId: c.vpcId },
        logging,
        status: 'CREATING',
        platformVersion: 'eks.1',
        tags: {},
        accessConfig,
        ...(c.oidcIssuer ? { identity: { oidc: { issuer: c.oidcIssuer } } } : {}),
      },
    },
  );
};

export interface AssociationShape {
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  associationArn: string;
  associationId: string;
  createdAtUs: number;
}

/** CreatePodIdentityAssociation: the request's fields and the association EKS answers with (docs/formats.md §3.5). */
export const createPodIdentityAssociationRecord = (b: RecordBase, a: AssociationShape): CloudTrailRecord =>
  record(
    b,
    'eks.amazonaws.com',
    'CreatePodIdentityAssociation',
    {
      name: a.clusterName,
      namespace: a.namespace,
      serviceAccount: a.serviceAccount,
      roleArn: a.roleArn,
      clientRequestToken: b.rng.uuid(),
    },
    {
      association: {
        clusterName: a.clusterName,
        namespace: a.namespace,
        serviceAccount: a.serviceAccount,
        roleArn: a.roleArn,
        associationArn: a.associationArn,
        associationId: a.associationId,
        tags: {},
        createdAt: isoMicros(a.createdAtUs),
        modifiedAt: isoMicros(a.createdAtUs),
      },
    },
  );

/** AssociateIdentityProviderConfig: the config is in the request, the response an asynchronous update. */
export const associateIdentityProviderConfigRecord = (
  b: RecordBase,
  clusterName: string,
  oidc: Record<string, unknown>,
): CloudTrailRecord =>
  record(
    b,
    'eks.amazonaws.com',
    'AssociateIdentityProviderConfig',
    { name: clusterName, oidc, clientRequestToken: b.rng.uuid() },
    {
      update: {
        id: b.rng.uuid(),
        status: 'InProgress',
        type: 'AssociateIdentityProviderConfig',
        params: [
          {
            type: 'IdentityProviderConfig',
            value: JSON.stringify([{ type: 'oidc', name: oidc['identityProviderConfigName'] }]),
          },
        ],
        createdAt: epochSecondsFraction(b.timeUs),
        errors: [],
      },
      tags: {},
    },
  );

/** EKS Auth as CloudTrail records it: the node's role session asked, the token masked, no response. */
export const assumeRoleForPodIdentityRecord = (b: RecordBase, clusterName: string): CloudTrailRecord =>
  record(
    b,
    'eks-auth.amazonaws.com',
    'AssumeRoleForPodIdentity',
    { clusterName, token: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
    null,
    { readOnly: true, eventVersion: '1.09' },
  );

/** The STS AssumeRole EKS Pod Identity makes for the pod, with its session tags (docs/formats.md §3.5). */
export const podIdentityAssumeRoleRecord = (
  b: RecordBase,
  p: { roleArn: string; roleAccountId: string; sessionName: string; tags: Record<string, string> },
  c: IssuedCredentials,
): CloudTrailRecord =>
  record(
    b,
    'sts.amazonaws.com',
    'AssumeRole',
    {
      roleArn: p.roleArn,
      roleSessionName: p.sessionName,
      durationSeconds: 21600,
      tags: Object.entries(p.tags).map(([key, value]) => ({ key, value })),
      transitiveTagKeys: Object.keys(p.tags),
    },
    { ...credentialsBody(b, c), packedPolicySize: 56 },
    { readOnly: true, resources: roleResource(p.roleArn, p.roleAccountId), eventVersion: '1.08' },
  );

export const updateClusterConfigRecord = (b: RecordBase, clusterName: string, mode: string): CloudTrailRecord =>
  record(
    b,
    'eks.amazonaws.com',
    'UpdateClusterConfig',
    { name: clusterName, accessConfig: { authenticationMode: mode }, clientRequestToken: b.rng.uuid() },
    {
      update: {
        id: b.rng.uuid(),
        status: 'InProgress',
        type: 'AccessConfigUpdate',
        params: [{ type: 'AuthenticationMode', value: mode }],
        createdAt: epochSecondsFraction(b.timeUs),
        errors: [],
      },
    },
  );

const sessionToken = (rng: Rng): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  return `IQoJb3JpZ2luX2Vj${rng.fromAlphabet(alphabet, 96)}`;
};

interface IssuedCredentials {
  accessKeyId: string;
  expiresUs: number;
  assumedRoleId: string;
  assumedRoleArn: string;
}

const credentialsBody = (b: RecordBase, c: IssuedCredentials) => ({
  credentials: {
    accessKeyId: c.accessKeyId,
    sessionToken: sessionToken(b.rng),
    expiration: cloudTrailExpiration(c.expiresUs),
  },
  assumedRoleUser: { assumedRoleId: c.assumedRoleId, arn: c.assumedRoleArn },
});

const roleResource = (roleArn: string, accountId: string) => [{ accountId, type: 'AWS::IAM::Role', ARN: roleArn }];

export const assumeRoleRecord = (
  b: RecordBase,
  p: { roleArn: string; roleAccountId: string; sessionName: string; durationSeconds: number; crossAccount: boolean },
  c: IssuedCredentials,
): CloudTrailRecord =>
  record(
    b,
    'sts.amazonaws.com',
    'AssumeRole',
    { roleArn: p.roleArn, roleSessionName: p.sessionName, durationSeconds: p.durationSeconds },
    credentialsBody(b, c),
    {
      readOnly: true,
      resources: roleResource(p.roleArn, p.roleAccountId),
      sharedEventID: p.crossAccount ? b.rng.uuid() : undefined,
      eventVersion: '1.08',
    },
  );

export const assumeRoleWithSamlRecord = (
  b: RecordBase,
  p: {
    roleArn: string;
    roleAccountId: string;
    sessionName: string;
    samlProviderArn: string;
    subject: string;
    nameQualifier: string;
    issuer: string;
  },
  c: IssuedCredentials,
): CloudTrailRecord =>
  record(
    b,
    'sts.amazonaws.com',
    'AssumeRoleWithSAML',
    {
      sAMLAssertionID: `_${b.rng.hex(32)}`,
      roleSessionName: p.sessionName,
      roleArn: p.roleArn,
      principalArn: p.samlProviderArn,
      durationSeconds: 28800,
    },
    {
      ...credentialsBody(b, c),
      subject: p.subject,
      subjectType: 'persistent',
      issuer: p.issuer,
      audience: 'https://signin.aws.amazon.com/saml',
      nameQualifier: p.nameQualifier,
    },
    { readOnly: true, resources: roleResource(p.roleArn, p.roleAccountId), eventVersion: '1.08' },
  );

export const assumeRoleWithWebIdentityRecord = (
  b: RecordBase,
  p: { roleArn: string; roleAccountId: string; sessionName: string; providerArn: string; subject: string },
  c: IssuedCredentials,
): CloudTrailRecord =>
  record(
    b,
    'sts.amazonaws.com',
    'AssumeRoleWithWebIdentity',
    { roleArn: p.roleArn, roleSessionName: p.sessionName, durationSeconds: 3600 },
    {
      ...credentialsBody(b, c),
      subjectFromWebIdentityToken: p.subject,
      provider: p.providerArn,
      audience: 'sts.amazonaws.com',
    },
    { readOnly: true, resources: roleResource(p.roleArn, p.roleAccountId), eventVersion: '1.08' },
  );

/** The CloudTrail record as EventBridge delivers it (docs/formats.md §3.3). */
export const eventBridgeEnvelope = (rng: Rng, r: CloudTrailRecord): Record<string, unknown> => ({
  version: '0',
  id: rng.uuid(),
  'detail-type': 'AWS API Call via CloudTrail',
  source: `aws.${r.eventSource.split('.')[0]}`,
  account: r.recipientAccountId,
  time: r.eventTime,
  region: r.awsRegion,
  resources: [],
  detail: r,
});

// -----------------------------------------------------------------------------------------------
// Authenticator lines
// -----------------------------------------------------------------------------------------------

export interface AuthnLineContext {
  timeUs: number;
  clientPort: number;
  /** Present on authenticator builds from late 2024 on. */
  stsEndpoint?: string;
}

const common = (c: AuthnLineContext) => ({
  client: `127.0.0.1:${c.clientPort}`,
  method: 'POST',
  path: '/authenticate',
  stsendpoint: c.stsEndpoint,
});

export const stsResponseLine = (
  c: AuthnLineContext,
  p: { accessKeyId: string; accountId: string; stsArn: string; sessionName: string; userId: string },
): string =>
  logrusLine(c.timeUs, 'info', 'STS response', {
    ...common(c),
    accesskeyid: p.accessKeyId,
    accountid: p.accountId,
    arn: p.stsArn,
    session: p.sessionName,
    userid: p.userId,
  });

export const accessGrantedLine = (
  c: AuthnLineContext,
  p: { canonicalArn: string; groups: string[]; accountId: string; userId: string; username: string },
): string =>
  logrusLine(c.timeUs, 'info', 'access granted', {
    ...common(c),
    arn: p.canonicalArn,
    groups: p.groups,
    uid: `aws-iam-authenticator:${p.accountId}:${p.userId}`,
    username: p.username,
  });

export const accessDeniedLine = (c: AuthnLineContext, p: { canonicalArn?: string; error: string }): string =>
  logrusLine(c.timeUs, 'warning', 'access denied', { ...common(c), arn: p.canonicalArn, error: p.error });

// -----------------------------------------------------------------------------------------------
// Audit events
// -----------------------------------------------------------------------------------------------

export interface AuditUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AuditEventInput {
  level: string;
  auditID: string;
  stage: 'ResponseStarted' | 'ResponseComplete';
  requestURI: string;
  verb: string;
  user: AuditUser;
  impersonatedUser?: AuditUser;
  sourceIPs: string[];
  userAgent: string;
  req?: K8sRequest;
  responseStatus: Record<string, unknown>;
  requestObject?: unknown;
  responseObject?: unknown;
  receivedUs: number;
  stageUs: number;
  annotations?: Record<string, string>;
}

const userJson = (u: AuditUser): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  if (u.username !== undefined) out['username'] = u.username;
  if (u.uid !== undefined) out['uid'] = u.uid;
  if (u.groups?.length) out['groups'] = u.groups;
  if (u.extra && Object.keys(u.extra).length) out['extra'] = sortedRecord(u.extra);
  return out;
};

/** One audit.k8s.io/v1 Event as the API server writes it: Go field order, omitempty, Go escaping. */
export const auditEventLine = (e: AuditEventInput): string => {
  const ev: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: e.level,
    auditID: e.auditID,
    stage: e.stage,
    requestURI: e.requestURI,
    verb: e.verb,
    user: userJson(e.user),
  };
  if (e.impersonatedUser) ev['impersonatedUser'] = userJson(e.impersonatedUser);
  ev['sourceIPs'] = e.sourceIPs;
  ev['userAgent'] = e.userAgent;
  if (e.req && e.req.path === undefined) {
    const o: Record<string, unknown> = { resource: e.req.resource };
    if (e.req.namespace) o['namespace'] = e.req.namespace;
    if (e.req.name) o['name'] = e.req.name;
    if (e.req.apiGroup) o['apiGroup'] = e.req.apiGroup;
    o['apiVersion'] = e.req.apiVersion;
    if (e.req.subresource) o['subresource'] = e.req.subresource;
    ev['objectRef'] = o;
  }
  ev['responseStatus'] = e.responseStatus;
  if (e.requestObject !== undefined) ev['requestObject'] = e.requestObject;
  if (e.responseObject !== undefined) ev['responseObject'] = e.responseObject;
  ev['requestReceivedTimestamp'] = isoMicros(e.receivedUs);
  ev['stageTimestamp'] = isoMicros(e.stageUs);
  if (e.annotations && Object.keys(e.annotations).length) ev['annotations'] = sortedRecord(e.annotations);
  return goJson(ev);
};
