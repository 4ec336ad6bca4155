/**
 * CloudTrail records for EKS access management, Pod Identity and identity-provider configs, EKS Auth
 * and STS AssumeRole* (docs/formats.md §3), raw, wrapped by EventBridge, in CloudTrail log files and in
 * `aws cloudtrail lookup-events` output.
 *
 * Failed calls (errorCode set) are parsed with `succeeded: false`: they never change state, consumers
 * decide whether to show them. A failed AssumeRole* issued no credentials, so its
 * `issuedAccessKeyId` is '' (the empty string means "no key was issued"); a SUCCESSFUL one without
 * `credentials.accessKeyId` is rejected, because the key is the join to the authenticator.
 */
import { isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { canonicalizeArn, splitArn } from '../identity/arn.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import { fail, failWith, type Issue, isNonEmpty, issue, mapIssues, ok, type ParseResult, rawText } from '../result.js';
import { isRecord, jsonFailureCode, splitJsonValues, tryParseJson } from './json-stream.js';
import { redactIssues, redactText, redactValue } from './redact.js';
import { normaliseTimestamp } from './timestamps.js';
import {
  type AccessEntryType,
  type AccessScope,
  type AuthenticationMode,
  type AwsActor,
  type CloudTrailAction,
  type CloudTrailEvent,
  type ControlPlaneLogType,
  type OidcIdentityProviderConfig,
  POD_SESSION_TAGS,
  type PodIdentityAssociationFields,
  type PodSessionTag,
} from './types.js';

export const EKS_EVENT_SOURCE = 'eks.amazonaws.com';
export const STS_EVENT_SOURCE = 'sts.amazonaws.com';
/** The EKS Auth API, which only the Pod Identity Agent calls (docs/formats.md §3.5). */
export const EKS_AUTH_EVENT_SOURCE = 'eks-auth.amazonaws.com';

export const TRACKED_EKS_EVENTS = [
  'CreateAccessEntry',
  'UpdateAccessEntry',
  'DeleteAccessEntry',
  'AssociateAccessPolicy',
  'DisassociateAccessPolicy',
  'CreateCluster',
  'DeleteCluster',
  'UpdateClusterConfig',
  'CreatePodIdentityAssociation',
  'UpdatePodIdentityAssociation',
  'DeletePodIdentityAssociation',
  'AssociateIdentityProviderConfig',
  'DisassociateIdentityProviderConfig',
] as const;
export const TRACKED_STS_EVENTS = ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'] as const;
export const TRACKED_EKS_AUTH_EVENTS = ['AssumeRoleForPodIdentity'] as const;

const EKS_SET: ReadonlySet<string> = new Set(TRACKED_EKS_EVENTS);
const STS_SET: ReadonlySet<string> = new Set(TRACKED_STS_EVENTS);
const EKS_AUTH_SET: ReadonlySet<string> = new Set(TRACKED_EKS_AUTH_EVENTS);

/** True when (eventSource, eventName) is one this product tracks (ECS also has a CreateCluster). */
export const isTrackedEvent = (eventSource: unknown, eventName: unknown): boolean =>
  typeof eventName === 'string' &&
  ((eventSource === EKS_EVENT_SOURCE && EKS_SET.has(eventName)) ||
    (eventSource === STS_EVENT_SOURCE && STS_SET.has(eventName)) ||
    (eventSource === EKS_AUTH_EVENT_SOURCE && EKS_AUTH_SET.has(eventName)));

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});

/**
 * URI labels (principalArn, policyArn of Update/Delete/Disassociate) arrive percent-encoded
 * (`arn%3Aaws%3Aiam…`). Only text containing `%` is decoded, so a literal ARN is never altered.
 */
export const decodeArnParam = (v: string): string => {
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};

// --- userIdentity -----------------------------------------------------------------------------

/**
 * CloudTrail userIdentity -> AwsActor. The canonical ARN is computed the authenticator's way, so it
 * joins with audit `extra.canonicalArn` and access-entry principals; `principalId` loses its
 * `:session` part for assumed roles only (a federated user's id legitimately holds a colon).
 */
export const parseAwsActor = (userIdentity: unknown): AwsActor => {
  const u = obj(userIdentity);
  const ctx = obj(u.sessionContext);
  const issuer = obj(ctx.sessionIssuer);
  const type = str(u.type) ?? 'Unknown';
  const actor: AwsActor = { type };
  const arn = str(u.arn);
  if (arn !== undefined) {
    actor.arn = arn;
    const c = canonicalizeArn(arn);
    if (c.ok) {
      actor.canonicalArn = c.value.canonicalArn;
      if (c.value.sessionName !== undefined) actor.sessionName = c.value.sessionName;
    }
  }
  const principalId = str(u.principalId);
  if (principalId !== undefined) {
    const cut = type === 'AssumedRole' ? principalId.indexOf(':') : -1;
    actor.principalId = cut > 0 ? principalId.slice(0, cut) : principalId;
  }
  const accountId = str(u.accountId) ?? (arn ? splitArn(arn)?.accountId || undefined : undefined);
  if (accountId !== undefined) actor.accountId = accountId;
  const accessKeyId = str(u.accessKeyId);
  if (accessKeyId !== undefined) actor.accessKeyId = accessKeyId;
  const sessionIssuerArn = str(issuer.arn);
  if (sessionIssuerArn !== undefined) actor.sessionIssuerArn = sessionIssuerArn;
  const userName = str(u.userName);
  if (userName !== undefined) actor.userName = userName;
  const invokedBy = str(u.invokedBy);
  if (invokedBy !== undefined) actor.invokedBy = invokedBy;
  const identityStoreUserId = str(obj(u.onBehalfOf).userId);
  if (identityStoreUserId !== undefined) actor.identityStoreUserId = identityStoreUserId;
  const identityProvider = str(u.identityProvider);
  if (identityProvider !== undefined) actor.identityProvider = identityProvider;
  return actor;
};

// --- actions ----------------------------------------------------------------------------------

const missing = (path: string, what = path): Issue => issue('CLOUDTRAIL_MISSING_FIELD', `${what} is missing`, path);

const AUTH_MODES: ReadonlySet<string> = new Set(['CONFIG_MAP', 'API_AND_CONFIG_MAP', 'API']);
const LOG_TYPES: ReadonlySet<string> = new Set(['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']);

const stringList = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;

interface Ctx {
  req: Record<string, unknown>;
  res: Record<string, unknown>;
  issues: Issue[];
}

/** The cluster is the URI label `name`; the 2018 sample spells it `clusterName`. */
const clusterName = (c: Ctx, fromResponse: unknown[]): string | undefined => {
  const v = str(c.req.name) ?? str(c.req.clusterName) ?? fromResponse.map(str).find((x) => x !== undefined);
  if (v === undefined) c.issues.push(missing('requestParameters.name', 'cluster name (name | clusterName)'));
  return v;
};

const arnField = (c: Ctx, path: string, ...candidates: unknown[]): string | undefined => {
  const raw = candidates.map(str).find((x) => x !== undefined);
  if (raw === undefined) {
    c.issues.push(missing(path));
    return undefined;
  }
  const decoded = decodeArnParam(raw);
  if (!splitArn(decoded)) {
    c.issues.push(issue('CLOUDTRAIL_BAD_ARN', `${path} is not an ARN: ${JSON.stringify(raw)}`, path));
    return undefined;
  }
  return decoded;
};

const authMode = (c: Ctx, path: string, v: unknown): AuthenticationMode | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && AUTH_MODES.has(v)) return v as AuthenticationMode;
  c.issues.push(issue('CLOUDTRAIL_SHAPE', `unknown authenticationMode ${JSON.stringify(v)}`, path));
  return undefined;
};

/** `logging.clusterLogging[] = {types[], enabled}`; unknown type names are dropped, not fatal. */
const logging = (v: unknown): { enabled: ControlPlaneLogType[]; disabled: ControlPlaneLogType[] } | undefined => {
  const entries = obj(v).clusterLogging;
  if (!Array.isArray(entries)) return undefined;
  const enabled: ControlPlaneLogType[] = [];
  const disabled: ControlPlaneLogType[] = [];
  for (const e of entries) {
    const types = (stringList(obj(e).types) ?? []).filter((t): t is ControlPlaneLogType => LOG_TYPES.has(t));
    const target = obj(e).enabled === true ? enabled : obj(e).enabled === false ? disabled : undefined;
    if (target) for (const t of types) if (!target.includes(t)) target.push(t);
  }
  return { enabled, disabled };
};

const accessScope = (c: Ctx, ...candidates: unknown[]): AccessScope | undefined => {
  const s = candidates.find(isRecord);
  if (!s) {
    c.issues.push(missing('requestParameters.accessScope'));
    return undefined;
  }
  const type = typeof s.type === 'string' ? s.type.toLowerCase() : undefined;
  if (type !== 'cluster' && type !== 'namespace') {
    c.issues.push(
      issue('CLOUDTRAIL_SHAPE', `accessScope.type ${JSON.stringify(s.type)}`, 'requestParameters.accessScope.type'),
    );
    return undefined;
  }
  return { type, namespaces: stringList(s.namespaces) ?? [] };
};

/** A boolean field; anything but a JSON boolean is treated as absent. */
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

/** The cluster and association an Update or Delete of a Pod Identity association names (both are required). */
const associationTarget = (
  c: Ctx,
): { assoc: Record<string, unknown>; cluster: string; associationId: string } | undefined => {
  const assoc = obj(c.res.association);
  const cluster = clusterName(c, [assoc.clusterName]);
  const associationId = str(c.req.associationId) ?? str(assoc.associationId);
  if (associationId === undefined) c.issues.push(missing('requestParameters.associationId'));
  if (cluster === undefined || associationId === undefined) return undefined;
  return { assoc, cluster, associationId };
};

/**
 * A Pod Identity association from a response `association` object, filled from the request where
 * the response is silent (docs/formats.md §3.5). Undefined, with issues, when namespace, service
 * account or role cannot be read.
 */
const associationFields = (
  c: Ctx,
  from: Record<string, unknown>,
  req: Record<string, unknown>,
  path: string,
): PodIdentityAssociationFields | undefined => {
  const namespace = str(from.namespace) ?? str(req.namespace);
  const serviceAccount = str(from.serviceAccount) ?? str(req.serviceAccount);
  if (namespace === undefined) c.issues.push(missing(`${path}.namespace`));
  if (serviceAccount === undefined) c.issues.push(missing(`${path}.serviceAccount`));
  const roleArn = arnField(c, `${path}.roleArn`, from.roleArn, req.roleArn);
  if (namespace === undefined || serviceAccount === undefined || roleArn === undefined) return undefined;
  const a: PodIdentityAssociationFields = { namespace, serviceAccount, roleArn };
  const id = str(from.associationId) ?? str(req.associationId);
  if (id !== undefined) a.associationId = id;
  const arn = str(from.associationArn);
  if (arn !== undefined) a.associationArn = arn;
  const target = str(from.targetRoleArn) ?? str(req.targetRoleArn);
  if (target !== undefined) {
    const t = arnField(c, `${path}.targetRoleArn`, target);
    if (t !== undefined) a.targetRoleArn = t;
  }
  const externalId = str(from.externalId);
  if (externalId !== undefined) a.externalId = externalId;
  const disable = bool(from.disableSessionTags) ?? bool(req.disableSessionTags);
  if (disable !== undefined) a.disableSessionTags = disable;
  const policy = str(from.policy) ?? str(req.policy);
  if (policy !== undefined) a.policy = policy;
  return a;
};

/** `oidc{…}` of AssociateIdentityProviderConfig; name and issuer are what the chain names users by. */
const oidcConfig = (c: Ctx, v: unknown): OidcIdentityProviderConfig | undefined => {
  const o = obj(v);
  const name = str(o.identityProviderConfigName);
  const issuerUrl = str(o.issuerUrl);
  if (name === undefined) c.issues.push(missing('requestParameters.oidc.identityProviderConfigName'));
  if (issuerUrl === undefined) c.issues.push(missing('requestParameters.oidc.issuerUrl'));
  if (name === undefined || issuerUrl === undefined) return undefined;
  const config: OidcIdentityProviderConfig = { name, issuerUrl };
  for (const k of ['clientId', 'usernameClaim', 'usernamePrefix', 'groupsClaim', 'groupsPrefix'] as const) {
    const x = str(o[k]);
    if (x !== undefined) config[k] = x;
  }
  if (isRecord(o.requiredClaims)) {
    const claims: Record<string, string> = {};
    for (const [k, x] of Object.entries(o.requiredClaims)) if (typeof x === 'string') claims[k] = x;
    if (Object.keys(claims).length > 0) config.requiredClaims = claims;
  }
  return config;
};

/**
 * One builder per EKS API whose events change who can reach a cluster (docs/formats.md §3); the
 * events of every other API are not mapping changes.
 */
const EKS_ACTIONS: Record<string, (c: Ctx) => CloudTrailAction | undefined> = {
  CreateAccessEntry: (c) => {
    const { req } = c;
    const entry = obj(c.res.accessEntry);
    const cluster = clusterName(c, [entry.clusterName]);
    const principalArn = arnField(c, 'requestParameters.principalArn', req.principalArn, entry.principalArn);
    if (cluster === undefined || principalArn === undefined) return undefined;
    // The response holds the effective entry (defaults rendered, e.g. the type's default username).
    const username = str(entry.username) ?? str(req.username);
    const accessEntryArn = str(entry.accessEntryArn);
    const action: CloudTrailAction = {
      kind: 'CreateAccessEntry',
      cluster,
      principalArn,
      entryType: (str(entry.type) ?? str(req.type) ?? 'STANDARD') as AccessEntryType,
      kubernetesGroups: stringList(entry.kubernetesGroups) ?? stringList(req.kubernetesGroups) ?? [],
    };
    if (username !== undefined) action.username = username;
    if (accessEntryArn !== undefined) action.accessEntryArn = accessEntryArn;
    return action;
  },
  UpdateAccessEntry: (c) => {
    const { req, res } = c;
    const entry = obj(res.accessEntry);
    const cluster = clusterName(c, [entry.clusterName]);
    const principalArn = arnField(c, 'requestParameters.principalArn', req.principalArn, entry.principalArn);
    if (cluster === undefined || principalArn === undefined) return undefined;
    const action: Extract<CloudTrailAction, { kind: 'UpdateAccessEntry' }> = {
      kind: 'UpdateAccessEntry',
      cluster,
      principalArn,
    };
    // Absent = unchanged; a present list replaces the groups wholesale (docs/formats.md §3.2).
    const username = str(req.username);
    if (username !== undefined) action.username = username;
    const groups = stringList(req.kubernetesGroups);
    if (groups !== undefined) action.kubernetesGroups = groups;
    if (isRecord(res.accessEntry)) {
      const after: NonNullable<typeof action.after> = { kubernetesGroups: stringList(entry.kubernetesGroups) ?? [] };
      const u = str(entry.username);
      if (u !== undefined) after.username = u;
      const t = str(entry.type);
      if (t !== undefined) after.entryType = t;
      action.after = after;
    }
    return action;
  },
  DeleteAccessEntry: (c) => {
    const { req } = c;
    const cluster = clusterName(c, []);
    const principalArn = arnField(c, 'requestParameters.principalArn', req.principalArn);
    if (cluster === undefined || principalArn === undefined) return undefined;
    return { kind: 'DeleteAccessEntry', cluster, principalArn };
  },
  AssociateAccessPolicy: (c) => {
    const { req, res } = c;
    const assoc = obj(res.associatedAccessPolicy);
    const cluster = clusterName(c, [res.clusterName]);
    const principalArn = arnField(c, 'requestParameters.principalArn', req.principalArn, res.principalArn);
    const policyArn = arnField(c, 'requestParameters.policyArn', req.policyArn, assoc.policyArn);
    const scope = accessScope(c, req.accessScope, assoc.accessScope);
    if (cluster === undefined || principalArn === undefined || policyArn === undefined || !scope) return undefined;
    return { kind: 'AssociateAccessPolicy', cluster, principalArn, policyArn, scope };
  },
  DisassociateAccessPolicy: (c) => {
    const { req } = c;
    const cluster = clusterName(c, []);
    const principalArn = arnField(c, 'requestParameters.principalArn', req.principalArn);
    const policyArn = arnField(c, 'requestParameters.policyArn', req.policyArn);
    if (cluster === undefined || principalArn === undefined || policyArn === undefined) return undefined;
    return { kind: 'DisassociateAccessPolicy', cluster, principalArn, policyArn };
  },
  CreateCluster: (c) => {
    const { req, res } = c;
    const described = obj(res.cluster);
    const cluster = clusterName(c, [described.name, described.clusterName]);
    if (cluster === undefined) return undefined;
    const reqAccess = obj(req.accessConfig);
    const resAccess = obj(described.accessConfig);
    // The response describes the cluster as created (defaults applied); the request may omit
    // accessConfig entirely, which the API reads as CONFIG_MAP with creator bootstrap on.
    const mode =
      authMode(c, 'responseElements.cluster.accessConfig.authenticationMode', resAccess.authenticationMode) ??
      authMode(c, 'requestParameters.accessConfig.authenticationMode', reqAccess.authenticationMode) ??
      'CONFIG_MAP';
    const bootstrapRaw =
      reqAccess.bootstrapClusterCreatorAdminPermissions ?? resAccess.bootstrapClusterCreatorAdminPermissions;
    const action: Extract<CloudTrailAction, { kind: 'CreateCluster' }> = {
      kind: 'CreateCluster',
      cluster,
      authenticationMode: mode,
      bootstrapClusterCreatorAdminPermissions: bootstrapRaw !== false,
      enabledLogTypes: (logging(req.logging) ?? logging(described.logging))?.enabled ?? [],
    };
    const clusterArn = str(described.arn);
    if (clusterArn !== undefined) action.clusterArn = clusterArn;
    const issuer = str(obj(obj(described.identity).oidc).issuer);
    if (issuer !== undefined) action.oidcIssuer = issuer;
    return action;
  },
  CreatePodIdentityAssociation: (c) => {
    const { req, res } = c;
    const assoc = obj(res.association);
    const cluster = clusterName(c, [assoc.clusterName]);
    const association = associationFields(c, assoc, req, 'responseElements.association');
    if (cluster === undefined || association === undefined) return undefined;
    return { kind: 'CreatePodIdentityAssociation', cluster, association };
  },
  UpdatePodIdentityAssociation: (c) => {
    const { req, res } = c;
    const target = associationTarget(c);
    if (target === undefined) return undefined;
    const { assoc, cluster, associationId } = target;
    const action: Extract<CloudTrailAction, { kind: 'UpdatePodIdentityAssociation' }> = {
      kind: 'UpdatePodIdentityAssociation',
      cluster,
      associationId,
    };
    if (req.roleArn !== undefined) {
      const role = arnField(c, 'requestParameters.roleArn', req.roleArn);
      if (role !== undefined) action.roleArn = role;
    }
    // An empty string removes the target role or the session policy; absence leaves them as they were.
    if (req.targetRoleArn === '') action.targetRoleArn = null;
    else if (req.targetRoleArn !== undefined) {
      const t = arnField(c, 'requestParameters.targetRoleArn', req.targetRoleArn);
      if (t !== undefined) action.targetRoleArn = t;
    }
    const disable = bool(req.disableSessionTags);
    if (disable !== undefined) action.disableSessionTags = disable;
    if (req.policy === '') action.policy = null;
    else if (typeof req.policy === 'string') action.policy = req.policy;
    if (isRecord(res.association)) {
      const after = associationFields(c, assoc, {}, 'responseElements.association');
      if (after !== undefined) action.after = after;
    }
    return action;
  },
  DeletePodIdentityAssociation: (c) => {
    const { res } = c;
    const target = associationTarget(c);
    if (target === undefined) return undefined;
    const { assoc, cluster, associationId } = target;
    const action: Extract<CloudTrailAction, { kind: 'DeletePodIdentityAssociation' }> = {
      kind: 'DeletePodIdentityAssociation',
      cluster,
      associationId,
    };
    if (isRecord(res.association)) {
      const before = associationFields(c, assoc, {}, 'responseElements.association');
      if (before !== undefined) action.before = before;
    }
    return action;
  },
  AssociateIdentityProviderConfig: (c) => {
    const { req } = c;
    const cluster = clusterName(c, []);
    // The response is only the asynchronous `update`: the configuration is in the request.
    const config = oidcConfig(c, req.oidc);
    if (cluster === undefined || config === undefined) return undefined;
    return { kind: 'AssociateIdentityProviderConfig', cluster, config };
  },
  DisassociateIdentityProviderConfig: (c) => {
    const { req } = c;
    const cluster = clusterName(c, []);
    const ref = obj(req.identityProviderConfig);
    const configName = str(ref.name);
    if (configName === undefined) c.issues.push(missing('requestParameters.identityProviderConfig.name'));
    if (cluster === undefined || configName === undefined) return undefined;
    return {
      kind: 'DisassociateIdentityProviderConfig',
      cluster,
      name: configName,
      type: str(ref.type) ?? 'oidc',
    };
  },
  DeleteCluster: (c) => {
    const { res } = c;
    const described = obj(res.cluster);
    const cluster = clusterName(c, [described.name, described.clusterName]);
    return cluster === undefined ? undefined : { kind: 'DeleteCluster', cluster };
  },
  UpdateClusterConfig: (c) => {
    const { req } = c;
    const cluster = clusterName(c, []);
    if (cluster === undefined) return undefined;
    const action: Extract<CloudTrailAction, { kind: 'UpdateClusterConfig' }> = {
      kind: 'UpdateClusterConfig',
      cluster,
    };
    const mode = authMode(
      c,
      'requestParameters.accessConfig.authenticationMode',
      obj(req.accessConfig).authenticationMode,
    );
    if (mode !== undefined) action.authenticationMode = mode;
    const log = logging(req.logging);
    if (log !== undefined) action.logging = log;
    return action;
  },
};

const buildEks = (name: string, c: Ctx): CloudTrailAction | undefined =>
  Object.hasOwn(EKS_ACTIONS, name) ? EKS_ACTIONS[name]?.(c) : undefined;

const buildSts = (
  name: 'AssumeRole' | 'AssumeRoleWithSAML' | 'AssumeRoleWithWebIdentity',
  c: Ctx,
  succeeded: boolean,
) => {
  const { req, res } = c;
  const creds = obj(res.credentials);
  const assumed = obj(res.assumedRoleUser);
  const roleArn = arnField(c, 'requestParameters.roleArn', req.roleArn);
  const issuedAccessKeyId = str(creds.accessKeyId) ?? '';
  if (succeeded && issuedAccessKeyId === '') c.issues.push(missing('responseElements.credentials.accessKeyId'));
  if (roleArn === undefined || (succeeded && issuedAccessKeyId === '')) return undefined;
  const action: Extract<CloudTrailAction, { kind: 'AssumeRole' }> = {
    kind: 'AssumeRole',
    api: name,
    roleArn,
    issuedAccessKeyId,
  };
  const assumedRoleArn = str(assumed.arn);
  if (assumedRoleArn !== undefined) action.assumedRoleArn = assumedRoleArn;
  const assumedRoleId = str(assumed.assumedRoleId);
  if (assumedRoleId !== undefined) action.assumedRoleId = assumedRoleId;
  // SAML and web-identity calls carry no roleSessionName parameter: the session is the last segment
  // of the assumed-role ARN.
  const fromArn = assumedRoleArn !== undefined ? canonicalizeArn(assumedRoleArn) : undefined;
  const session = str(req.roleSessionName) ?? (fromArn?.ok ? fromArn.value.sessionName : undefined);
  if (session !== undefined) action.roleSessionName = session;
  // CloudTrail writes `expiration` in a locale form ("Oct 2, 2023, 1:59:15 AM", read as UTC: inferred,
  // no zone is printed) or ISO; normalised when it can be read, otherwise kept as written.
  const expirationRaw = creds.expiration;
  const expiration =
    normaliseTimestamp(expirationRaw) ??
    (typeof expirationRaw === 'string' && !Number.isNaN(Date.parse(`${expirationRaw} UTC`))
      ? new Date(Date.parse(`${expirationRaw} UTC`)).toISOString()
      : str(expirationRaw));
  if (expiration !== undefined) action.expiration = expiration;
  const sourceIdentity = str(req.sourceIdentity) ?? str(res.sourceIdentity);
  if (sourceIdentity !== undefined) action.sourceIdentity = sourceIdentity;
  const subject = name === 'AssumeRoleWithWebIdentity' ? str(res.subjectFromWebIdentityToken) : str(res.subject);
  if (subject !== undefined) action.subject = subject;
  const iss = name === 'AssumeRoleWithWebIdentity' ? str(res.provider) : str(res.issuer);
  if (iss !== undefined) action.issuer = iss;
  const audience = str(res.audience);
  if (audience !== undefined && name === 'AssumeRoleWithWebIdentity') action.audience = audience;
  const podTags = podSessionTags(req.tags);
  if (podTags !== undefined) action.podTags = podTags;
  const externalId = str(req.externalId);
  if (externalId !== undefined) action.externalId = externalId;
  return action;
};

const POD_TAG_SET: ReadonlySet<string> = new Set(POD_SESSION_TAGS);

/** The Pod Identity session tags of `requestParameters.tags[] = {key, value}`; others are dropped. */
const podSessionTags = (tags: unknown): Partial<Record<PodSessionTag, string>> | undefined => {
  if (!Array.isArray(tags)) return undefined;
  const out: Partial<Record<PodSessionTag, string>> = {};
  for (const t of tags) {
    const key = str(obj(t).key);
    const value = str(obj(t).value);
    if (key !== undefined && value !== undefined && POD_TAG_SET.has(key)) out[key as PodSessionTag] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
};

/**
 * EKS Auth AssumeRoleForPodIdentity. The API answers with the pod's subject, association and
 * credentials, but the CloudTrail records seen carry `responseElements: null` and a masked token
 * (docs/formats.md §3.5): then only the cluster and the calling node are known, and the issued key is
 * found through the STS AssumeRole record EKS writes with the pod's session tags.
 */
const buildEksAuth = (c: Ctx, succeeded: boolean): CloudTrailAction | undefined => {
  const { res } = c;
  const cluster = clusterName(c, []);
  if (cluster === undefined) return undefined;
  const action: Extract<CloudTrailAction, { kind: 'AssumeRoleForPodIdentity' }> = {
    kind: 'AssumeRoleForPodIdentity',
    cluster,
    issuedAccessKeyId: succeeded ? (str(obj(res.credentials).accessKeyId) ?? '') : '',
  };
  const assumed = obj(res.assumedRoleUser);
  const assumedRoleArn = str(assumed.arn);
  if (assumedRoleArn !== undefined) action.assumedRoleArn = assumedRoleArn;
  // The API spells it assumeRoleId here, STS spells it assumedRoleId: accept either.
  const assumedRoleId = str(assumed.assumeRoleId) ?? str(assumed.assumedRoleId);
  if (assumedRoleId !== undefined) action.assumedRoleId = assumedRoleId;
  const subject = obj(res.subject);
  const ns = str(subject.namespace);
  const sa = str(subject.serviceAccount);
  if (ns !== undefined && sa !== undefined) action.subject = { namespace: ns, serviceAccount: sa };
  const assoc = obj(res.podIdentityAssociation);
  const associationArn = str(assoc.associationArn);
  if (associationArn !== undefined) action.associationArn = associationArn;
  const associationId = str(assoc.associationId);
  if (associationId !== undefined) action.associationId = associationId;
  const audience = str(res.audience);
  if (audience !== undefined) action.audience = audience;
  // The API returns epoch seconds; the CLI prints ISO.
  const expiration = normaliseTimestamp(obj(res.credentials).expiration);
  if (expiration !== undefined) action.expiration = expiration;
  if (action.issuedAccessKeyId !== '' && assumedRoleArn === undefined) {
    c.issues.push(missing('responseElements.assumedRoleUser.arn'));
    return undefined;
  }
  return action;
};

// --- records ----------------------------------------------------------------------------------

const fromRecord = (
  r: Record<string, unknown>,
  raw: string,
  fallback: Partial<Record<string, string>> = {},
): ParseResult<CloudTrailEvent> => {
  const eventName = str(r.eventName);
  const eventSource = str(r.eventSource);
  if (eventName === undefined) return fail(raw, missing('eventName'));
  if (eventSource === undefined) return fail(raw, missing('eventSource'));
  if (!isTrackedEvent(eventSource, eventName)) {
    return fail(raw, issue('CLOUDTRAIL_UNSUPPORTED_EVENT', `${eventSource} ${eventName} is not tracked`, 'eventName'));
  }
  const issues: Issue[] = [];
  const eventId = str(r.eventID) ?? fallback.eventId;
  if (eventId === undefined) issues.push(missing('eventID'));
  const timeRaw = r.eventTime ?? fallback.eventTime;
  const eventTime = normaliseTimestamp(timeRaw);
  if (timeRaw === undefined || timeRaw === null) issues.push(missing('eventTime'));
  else if (eventTime === undefined)
    issues.push(issue('CLOUDTRAIL_SHAPE', `eventTime ${JSON.stringify(timeRaw)}`, 'eventTime'));
  if (!isRecord(r.userIdentity)) issues.push(missing('userIdentity'));
  for (const k of ['requestParameters', 'responseElements'] as const) {
    if (r[k] !== undefined && r[k] !== null && !isRecord(r[k])) {
      issues.push(issue('CLOUDTRAIL_SHAPE', `${k} is not an object`, k));
    }
  }
  const errorCode = str(r.errorCode);
  const succeeded = errorCode === undefined;
  const ctx: Ctx = { req: obj(r.requestParameters), res: obj(r.responseElements), issues };
  const action =
    eventSource === STS_EVENT_SOURCE
      ? buildSts(eventName as (typeof TRACKED_STS_EVENTS)[number], ctx, succeeded)
      : eventSource === EKS_AUTH_EVENT_SOURCE
        ? buildEksAuth(ctx, succeeded)
        : buildEks(eventName, ctx);
  if (isNonEmpty(issues)) return failWith(raw, issues);
  if (action === undefined || eventId === undefined || eventTime === undefined) {
    return fail(raw, issue('CLOUDTRAIL_SHAPE', 'record could not be read'));
  }
  const e: CloudTrailEvent = {
    eventId,
    eventTime,
    eventName,
    eventSource,
    actor: parseAwsActor(r.userIdentity),
    succeeded,
    action,
  };
  const region = str(r.awsRegion) ?? fallback.region;
  if (region !== undefined) e.region = region;
  const recipient = str(r.recipientAccountId) ?? fallback.account;
  if (recipient !== undefined) e.recipientAccountId = recipient;
  const ip = str(r.sourceIPAddress);
  if (ip !== undefined) e.sourceIPAddress = ip;
  const ua = str(r.userAgent);
  if (ua !== undefined) e.userAgent = ua;
  if (errorCode !== undefined) e.errorCode = errorCode;
  const errorMessage = str(r.errorMessage);
  if (errorMessage !== undefined) e.errorMessage = errorMessage;
  return ok(e);
};

/**
 * The record as an object, its secrets redacted before anything reads it (an AssumeRole* response
 * holds `credentials.sessionToken`, docs/formats.md §3.4; lib/sources/redact.ts), with the raw text a
 * refusal keeps, redacted the same way.
 */
const asObject = (
  input: unknown,
): { ok: true; value: Record<string, unknown>; raw: string } | { ok: false; result: ParseResult<never> } => {
  const refuse = (first: Issue): { ok: false; result: ParseResult<never> } => ({
    ok: false,
    result: fail(redactText(rawText(input)), first),
  });
  let v = input;
  if (typeof input === 'string') {
    const j = tryParseJson(input);
    if (!j.ok) return refuse(issue(jsonFailureCode(j, 'CLOUDTRAIL_NOT_JSON'), j.error));
    v = j.value;
  } else if (exceedsJsonDepth(input)) {
    return refuse(issue('INPUT_TOO_DEEP', `nested deeper than ${MAX_JSON_DEPTH} levels`));
  }
  if (!isRecord(v)) return refuse(issue('CLOUDTRAIL_SHAPE', 'a CloudTrail record is a JSON object'));
  const value = redactValue(v);
  return { ok: true, value, raw: typeof input === 'string' ? redactText(input) : rawText(value) };
};

/** One CloudTrail record (object, or its JSON text as lookup-events' `CloudTrailEvent` holds it). */
export const parseCloudTrailRecord = (record: unknown): ParseResult<CloudTrailEvent> => {
  const o = asObject(record);
  return o.ok ? fromRecord(o.value, o.raw) : o.result;
};

export const EVENTBRIDGE_CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

/**
 * An EventBridge event of detail-type `AWS API Call via CloudTrail` (source `aws.eks` / `aws.sts`).
 * The id is `detail.eventID` (the CloudTrail id, the same whichever path delivered the record); the
 * envelope's own `id`, `time`, `region` and `account` fill in only what `detail` lacks.
 */
export const parseEventBridgeEvent = (event: unknown): ParseResult<CloudTrailEvent> => {
  const o = asObject(event);
  if (!o.ok) return o.result;
  const v = o.value;
  if (v['detail-type'] !== EVENTBRIDGE_CLOUDTRAIL_DETAIL_TYPE) {
    return fail(
      o.raw,
      issue(
        'ENVELOPE_SHAPE',
        `detail-type ${JSON.stringify(v['detail-type'])} is not "${EVENTBRIDGE_CLOUDTRAIL_DETAIL_TYPE}"`,
        'detail-type',
      ),
    );
  }
  if (!isRecord(v.detail)) return fail(o.raw, issue('ENVELOPE_SHAPE', 'detail is not an object', 'detail'));
  const fallback: Partial<Record<string, string>> = {};
  for (const [k, src] of [
    ['eventId', v.id],
    ['eventTime', v.time],
    ['region', v.region],
    ['account', v.account],
  ] as const) {
    const s = str(src);
    if (s !== undefined) fallback[k] = s;
  }
  const r = fromRecord(v.detail, o.raw, fallback);
  return r.ok
    ? r
    : failWith(
        o.raw,
        mapIssues(r.issues, (i) => (i.path ? { ...i, path: `detail.${i.path}` } : i)),
      );
};

// --- files ------------------------------------------------------------------------------------

export interface CloudTrailFileResult {
  parsed: CloudTrailEvent[];
  rejected: { issues: Issue[]; raw: string }[];
  /** Well-formed records of events this product does not track (DescribeCluster, CreateTags, …). */
  skipped: number;
}

const isOnlyUnsupported = (issues: Issue[]): boolean =>
  issues.length > 0 && issues.every((i) => i.code === 'CLOUDTRAIL_UNSUPPORTED_EVENT');

const prefixed = (issues: Issue[], at: string): Issue[] =>
  issues.map((i) => ({ ...i, path: i.path ? `${at}.${i.path}` : at }));

/** Any one item of a file: a record, an EventBridge event, or a lookup-events entry. */
const parseItem = (item: unknown): ParseResult<CloudTrailEvent> => {
  if (isRecord(item)) {
    if ('detail-type' in item) return parseEventBridgeEvent(item);
    // lookup-events: {"EventId","EventName",…,"CloudTrailEvent":"<record JSON>"}
    if (typeof item.CloudTrailEvent === 'string') return parseCloudTrailRecord(item.CloudTrailEvent);
  }
  return parseCloudTrailRecord(item);
};

const handleDoc = (text: string, at: string, add: (r: ParseResult<CloudTrailEvent>, at: string) => void): void => {
  const join = (a: string, b: string): string => (a === '' ? b : `${a}.${b}`);
  // Depth is checked per record (asObject): one deep record must not refuse the whole file.
  const j = tryParseJson(text, Number.POSITIVE_INFINITY);
  if (!j.ok) {
    add(fail(text, issue(jsonFailureCode(j, 'CLOUDTRAIL_NOT_JSON'), j.error)), at || 'document');
    return;
  }
  const v = j.value;
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) add(parseItem(item), `${at}[${i}]`);
    return;
  }
  if (isRecord(v) && Array.isArray(v.Records)) {
    for (const [i, item] of v.Records.entries()) add(parseItem(item), join(at, `Records[${i}]`));
    return;
  }
  if (isRecord(v) && Array.isArray(v.Events)) {
    for (const [i, item] of v.Events.entries()) add(parseItem(item), join(at, `Events[${i}]`));
    return;
  }
  add(parseItem(v), at || 'document');
};

/**
 * A CloudTrail log file (`{"Records":[…]}`, gzip or not), `aws cloudtrail lookup-events` output
 * (`{"Events":[…]}`), a JSON array of records / EventBridge events, JSON lines, or several such
 * documents appended. Every item is reported: parsed, skipped (untracked event) or rejected.
 */
export const parseCloudTrailFile = (input: string | Uint8Array): CloudTrailFileResult => {
  const result: CloudTrailFileResult = { parsed: [], rejected: [], skipped: 0 };
  const reject = (issues: Issue[], raw: string): void => {
    const redacted = isNonEmpty(issues) ? redactIssues(issues) : issues;
    result.rejected.push({ issues: redacted, raw: redactText(raw) });
  };
  let text: string;
  // Bytes that are not UTF-8 are read with U+FFFD in their place; a record that shows one is refused
  // (INPUT_INVALID_UTF8) rather than stored with an altered ARN: a CloudTrail record changes
  // identity state, and a principal spelt with a replacement character is another principal.
  let invalidUtf8 = false;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) {
    let bytes: Buffer;
    if (input.length >= 2 && input[0] === 0x1f && input[1] === 0x8b) {
      try {
        bytes = gunzipSync(input);
      } catch (e) {
        reject(
          [issue('ENVELOPE_NOT_GZIP', `gzip: ${e instanceof Error ? e.message : String(e)}`)],
          Buffer.from(input).toString('base64'),
        );
        return result;
      }
    } else bytes = Buffer.from(input);
    invalidUtf8 = !isUtf8(bytes);
    text = bytes.toString('utf8');
  } else {
    reject([issue('CLOUDTRAIL_SHAPE', 'input is neither text nor bytes')], rawText(input));
    return result;
  }
  text = text.replace(/^\uFEFF/, '');
  const add = (r: ParseResult<CloudTrailEvent>, at: string): void => {
    if (r.ok && invalidUtf8 && JSON.stringify(r.value).includes('\uFFFD')) {
      reject(
        [issue('INPUT_INVALID_UTF8', 'the record was read from bytes that are not valid UTF-8', at)],
        rawText(r.value),
      );
    } else if (r.ok) result.parsed.push(r.value);
    else if (isOnlyUnsupported(r.issues)) result.skipped++;
    else reject(prefixed(r.issues, at), r.raw);
  };
  const split = splitJsonValues(text);
  if (!split.ok) {
    // Keep what could be split, and report the unreadable tail (or the whole text) once.
    for (const [i, c] of split.chunks.entries()) handleDoc(c.text, `[${i}]`, add);
    reject([issue('CLOUDTRAIL_NOT_JSON', `${split.reason} at offset ${split.at}`)], text.slice(split.at));
    return result;
  }
  if (split.chunks.length === 0) {
    reject([issue('CLOUDTRAIL_NOT_JSON', 'no JSON in the input')], text);
    return result;
  }
  for (const [i, c] of split.chunks.entries()) handleDoc(c.text, split.chunks.length > 1 ? `[${i}]` : '', add);
  return result;
};
