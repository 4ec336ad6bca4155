import { explainDenial } from '../authz/explain-denial.js';
import { parseForbiddenMessage } from '../authz/forbidden-message.js';
import { parseAuthorizationReason } from '../authz/reason.js';
import type { AuthorizationReason, MissingPermission } from '../authz/types.js';
import { canonicalizeArn } from '../identity/arn.js';
import { resolveMapping } from '../identity/resolve.js';
import type { AccessPolicyAssociation, ClusterMappingState, MappingResolution } from '../identity/types.js';
import { deepFreeze, memoizeByString } from '../memo.js';
import { normaliseTimestamp } from '../sources/timestamps.js';
import type {
  AccessDeniedLine,
  AuditEvent,
  AuthnFailureClass,
  LogEventOrigin,
  StsResponseLine,
} from '../sources/types.js';
import { humanFor } from './human.js';
import { nodeMappingCandidates, oidcUserOf } from './non-iam.js';
import { hasIamExtra, principalFromCanonicalArn, principalFromStsResponse, principalFromUser } from './principal.js';
import type {
  Authorizer,
  CorrelationEvidence,
  DecisionChain,
  DecisionLink,
  FailedStage,
  K8sIdentityLink,
  Link,
  MappingLink,
  MappingStateKey,
  PrincipalLink,
  RequestLink,
} from './types.js';

/**
 * The correlator: one audit event (or one authenticator denial) plus the evidence known so far ->
 * one DecisionChain, link by link. Pure and deterministic (no clock, no I/O, no randomness): the same
 * inputs always give the same chain, which is what makes arrival order irrelevant — re-running it
 * when late evidence arrives replaces the chain with the complete one. It never throws: a link it
 * cannot build is 'unknown' with a `why`.
 */

export interface AuditOrigin {
  cluster: string;
  accountId?: string;
  /** CloudWatch event timestamp (epoch ms): the fallback instant for truncated events. */
  timestamp?: number;
  eventId?: string;
}

const DECISION = 'authorization.k8s.io/decision';
const REASON = 'authorization.k8s.io/reason';
/** Added by the API server to every authenticated user; never part of a mapping. */
const API_ADDED_GROUPS = new Set(['system:authenticated']);

const isoFromMs = (ms: number | undefined): string | undefined =>
  ms !== undefined && Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : undefined;

const stateIsEmpty = (s: ClusterMappingState): boolean =>
  !s.authModeKnown && s.accessEntries.size === 0 && s.awsAuth === undefined && s.creator === undefined;

// ---------------------------------------------------------------------------------------------
// mapping
// ---------------------------------------------------------------------------------------------

/** True when the principal carries anything the AWS authenticator writes (an ARN, key, id or account). */
const hasIamTrace = (p: PrincipalLink): boolean =>
  Boolean(p.canonicalArn || p.stsArn || p.accessKeyId || p.principalId || p.accountId);

const mappingValue = (r: MappingResolution): MappingLink => {
  const v: MappingLink = { source: r.source, groups: [...r.groups] };
  if (r.accessEntry) {
    v.accessEntry = {
      principalArn: r.accessEntry.principalArn,
      type: r.accessEntry.type,
      kubernetesGroups: [...r.accessEntry.kubernetesGroups],
      policies: r.policies.map((p) => ({
        policyArn: p.policyArn,
        scope: { ...p.scope, namespaces: [...p.scope.namespaces] },
      })),
    };
    if (r.accessEntry.username !== undefined) v.accessEntry.username = r.accessEntry.username;
  }
  if (r.awsAuthRow) v.awsAuthRow = r.awsAuthRow;
  if (r.username !== undefined) v.username = r.username;
  if (r.since !== undefined) v.since = r.since;
  if (r.actor !== undefined) v.actor = r.actor;
  if (r.sourceEventId !== undefined) v.sourceEventId = r.sourceEventId;
  if (r.shadowed.length > 0) v.shadowed = r.shadowed.map((s) => ({ ...s }));
  return v;
};

interface MappingResult {
  link: Link<MappingLink>;
  resolution?: MappingResolution;
  pending: boolean;
  historyUnknown: boolean;
}

const safeState = (evidence: CorrelationEvidence, at: string): ClusterMappingState | undefined => {
  try {
    return evidence.mappingStateAt(at);
  } catch {
    return undefined;
  }
};

const safeResolve = (
  state: ClusterMappingState,
  who: Parameters<typeof resolveMapping>[1],
  observed: Parameters<typeof resolveMapping>[2],
): MappingResolution | undefined => {
  try {
    return resolveMapping(state, who, observed);
  } catch {
    return undefined;
  }
};

const mappingForIam = (
  principal: PrincipalLink,
  at: string | undefined,
  evidence: CorrelationEvidence,
  observed: { username?: string; groups?: string[] } | undefined,
  authenticated: boolean,
): MappingResult => {
  if (!principal.canonicalArn) {
    return {
      link: {
        status: 'unknown',
        why: hasIamTrace(principal)
          ? 'the record names an IAM identity but not its ARN, so no mapping can be looked up'
          : 'the record names no IAM identity, so no IAM mapping can be looked up; the principal link lists what could have admitted the user',
        evidence: [],
      },
      pending: false,
      historyUnknown: false,
    };
  }
  if (!at) {
    return {
      link: {
        status: 'unknown',
        why: 'the request time is unknown, so the mapping in force cannot be looked up',
        evidence: [],
      },
      pending: false,
      historyUnknown: false,
    };
  }
  const state = safeState(evidence, at);
  if (!state) {
    return {
      link: { status: 'unknown', why: 'mapping history could not be read', evidence: [] },
      pending: true,
      historyUnknown: true,
    };
  }
  const who: Parameters<typeof resolveMapping>[1] = { canonicalArn: principal.canonicalArn };
  if (principal.principalId) who.principalId = principal.principalId;
  if (principal.accountId) who.accountId = principal.accountId;
  if (principal.sessionName !== undefined) who.sessionName = principal.sessionName;
  if (principal.accessKeyId) who.accessKeyId = principal.accessKeyId;
  const resolution = safeResolve(state, who, observed);
  if (!resolution) {
    return {
      link: { status: 'unknown', why: 'the mapping could not be resolved', evidence: [] },
      pending: false,
      historyUnknown: false,
    };
  }
  const historyUnknown = stateIsEmpty(state);
  if (resolution.source === 'eks-internal') {
    return {
      link: {
        status: 'derived',
        value: mappingValue(resolution),
        why: resolution.why,
        evidence: ['eks-internal-role'],
      },
      resolution,
      pending: false,
      historyUnknown,
    };
  }
  if (historyUnknown) {
    return {
      link: {
        status: 'unknown',
        why: `no identity-mapping history is known for cluster ${state.cluster || '(unknown)'} at ${at} (no access entry, aws-auth or CreateCluster event yet)`,
        evidence: [],
      },
      pending: true,
      historyUnknown,
    };
  }
  if (resolution.source === 'unmapped' && authenticated) {
    return {
      link: {
        status: 'unknown',
        value: mappingValue(resolution),
        why: `the request authenticated, so some mapping admitted ${principal.canonicalArn}, but none in the known history does (history incomplete: created before monitoring began, or its event has not arrived yet): ${resolution.why}`,
        evidence: resolution.sourceEventId ? [`mapping:${resolution.sourceEventId}`] : [],
      },
      resolution,
      pending: true,
      historyUnknown,
    };
  }
  return {
    link: {
      status: 'derived',
      value: mappingValue(resolution),
      why: resolution.why,
      evidence: resolution.sourceEventId ? [`mapping:${resolution.sourceEventId}`] : [],
    },
    resolution,
    pending: false,
    historyUnknown,
  };
};

const mappingFor = (
  principal: Link<PrincipalLink>,
  at: string | undefined,
  evidence: CorrelationEvidence,
  observed: { username?: string; groups?: string[] } | undefined,
  authenticated: boolean,
): MappingResult => {
  const p = principal.value;
  const none = (source: MappingLink['source'], why: string): MappingResult => ({
    link: { status: 'observed', value: { source }, why, evidence: ['audit:user.username'] },
    pending: false,
    historyUnknown: false,
  });
  if (!p) {
    return {
      link: { status: 'unknown', why: 'no principal, so no mapping', evidence: [] },
      pending: false,
      historyUnknown: false,
    };
  }
  switch (p.type) {
    case 'service-account':
      return none(
        'service-account',
        'service-account token: Kubernetes itself authenticates it, no IAM mapping involved',
      );
    case 'anonymous':
      return none('anonymous', 'no credentials: the API server maps the request to system:anonymous');
    case 'k8s-internal':
      return {
        link: {
          status: 'derived',
          value: { source: 'certificate' },
          why: 'a control-plane component admitted by its client certificate, not through an IAM mapping',
          evidence: [...principal.evidence],
        },
        pending: false,
        historyUnknown: false,
      };
    default:
      return mappingForIam(p, at, evidence, observed, authenticated);
  }
};

// ---------------------------------------------------------------------------------------------
// decision
// ---------------------------------------------------------------------------------------------

const sameScope = (a: AccessPolicyAssociation, namespace: string | undefined): boolean =>
  namespace === undefined
    ? a.scope.type === 'cluster'
    : a.scope.type === 'namespace' && a.scope.namespaces.includes(namespace);

const accessPolicyInForce = (
  reason: Extract<AuthorizationReason, { kind: 'access-policy-allow' }>,
  resolution: MappingResolution | undefined,
): { association?: DecisionLink['accessPolicy']; note: string } => {
  const entry = resolution?.accessEntry;
  const candidates = (resolution?.policies ?? []).filter((p) => p.policyArn === reason.policyArn);
  const match = candidates.find((p) => sameScope(p, reason.namespace)) ?? candidates[0];
  if (match && entry) {
    return {
      association: { policyArn: match.policyArn, scope: match.scope, principalArn: entry.principalArn },
      note: `association in force: ${match.policyArn} on ${entry.principalArn}, ${
        match.scope.type === 'cluster' ? 'cluster scope' : `namespaces ${match.scope.namespaces.join(', ')}`
      }`,
    };
  }
  return {
    association: {
      policyArn: reason.policyArn,
      scope: reason.namespace
        ? { type: 'namespace', namespaces: [reason.namespace] }
        : { type: 'cluster', namespaces: [] },
      principalArn: reason.principalArn,
    },
    note: 'the association is not in the known mapping history; its scope is taken from the reason',
  };
};

const effectiveIdentity = (event: AuditEvent, user: AuditEvent['user']): { username?: string; groups: string[] } => {
  const u = event.impersonatedUser ?? user;
  const out: { username?: string; groups: string[] } = { groups: [...(u.groups ?? [])] };
  if (u.username !== undefined) out.username = u.username;
  return out;
};

// A cluster's traffic carries a few hundred distinct (decision, reason) pairs at most: memoised per
// decision value, so that no two pairs can meet on one entry.
const REASON_PARSERS = new Map<string, (reason: string) => ReturnType<typeof parseAuthorizationReason>>();
const parseReason = (decision: string | undefined, reason: string | undefined) => {
  if (reason === undefined || (decision !== undefined && decision !== 'allow' && decision !== 'forbid'))
    return parseAuthorizationReason(decision, reason);
  const d = decision ?? '';
  let parse = REASON_PARSERS.get(d);
  if (!parse) {
    parse = memoizeByString((r) => parseAuthorizationReason(decision, r));
    REASON_PARSERS.set(d, parse);
  }
  return parse(reason);
};

type DecisionResult = { link: Link<DecisionLink>; pending: boolean };
/** Why the decision is what it is, whether it may still change, and how sure the link is. */
type Explained = { why: string; pending: boolean; status: Link<DecisionLink>['status'] };

const decisionFor = (event: AuditEvent, user: AuditEvent['user'], mapping: MappingResult): DecisionResult => {
  const code = event.responseStatus?.code;
  const decision = event.annotations?.[DECISION];
  const rawReason = event.annotations?.[REASON];
  const message = event.responseStatus?.message;
  const ev: string[] = [];
  if (decision !== undefined) ev.push(`audit:annotations.${DECISION}`);
  if (rawReason !== undefined) ev.push(`audit:annotations.${REASON}`);

  if (
    code === 401 ||
    (!user.username && decision === undefined && rawReason === undefined && code !== undefined && code >= 400)
  ) {
    return authnFailedDecision(message);
  }

  const who = effectiveIdentity(event, user);
  const impersonation = event.impersonatedUser ? ` (evaluated for the impersonated user ${who.username ?? '?'})` : '';

  // No annotations: a truncated event, or a level/stage without them. Fall back on the status code.
  if (decision === undefined && rawReason === undefined) return decisionFromStatus(event, code, message);

  const parsed = parseReason(decision, rawReason);
  const value: DecisionLink = {
    outcome: decision === 'allow' ? 'allow' : decision === 'forbid' ? 'forbid' : 'unknown',
    authorizer: 'unknown',
  };
  if (rawReason !== undefined) value.rawReason = rawReason;
  if (!parsed.ok) {
    return {
      link: {
        status: 'observed',
        value,
        why: `decision ${decision ?? '(none)'}; the reason is malformed (${parsed.issues.map((i) => i.code).join(', ')})`,
        evidence: ev,
      },
      pending: false,
    };
  }
  const reason = parsed.value;
  value.reason = reason;
  const explained =
    value.outcome === 'forbid'
      ? explainForbidden(value, event, who, mapping, reason, impersonation)
      : explainReason(value, event, decision, who, mapping, reason, impersonation);
  let { why } = explained;
  if (value.outcome === 'allow' && event.responseStatus?.code !== undefined && event.responseStatus.code >= 400) {
    why += `; authorized, but the request then failed with ${event.responseStatus.code} (admission or the handler)`;
  }
  return { link: { status: explained.status, value, why, evidence: ev }, pending: explained.pending };
};

/** A 401: authentication failed before any authorizer ran. */
const authnFailedDecision = (message: string | undefined): DecisionResult => {
  const value: DecisionLink = { outcome: 'authn-failed', authorizer: 'none', denial: { stage: 'authentication' } };
  if (message && value.denial) value.denial.message = message;
  return {
    link: {
      status: 'observed',
      value,
      why: `401: the API server could not authenticate the request${message ? ` (${message})` : ''}; the authenticator's access denied line around this time names the cause`,
      evidence: ['audit:responseStatus.code'],
    },
    pending: false,
  };
};

/** No authorization annotations: what the status code alone says. */
const decisionFromStatus = (
  event: AuditEvent,
  code: number | undefined,
  message: string | undefined,
): DecisionResult => {
  const truncated = event.truncated ? ' (event truncated)' : '';
  if (code === 403 && message) {
    const missing = parseForbiddenMessage(message);
    const value: DecisionLink = {
      outcome: 'forbid',
      authorizer: 'unknown',
      denial: { stage: 'authorization', message },
    };
    if (missing.ok && value.denial) value.denial.missing = missing.value;
    return {
      link: {
        status: 'derived',
        value,
        why: `no authorization annotations${truncated}; 403 from responseStatus`,
        evidence: ['audit:responseStatus'],
      },
      pending: false,
    };
  }
  if (code !== undefined && code >= 200 && code < 400) {
    return {
      link: {
        status: 'derived',
        value: { outcome: 'allow', authorizer: 'unknown' },
        why: `no authorization annotations${truncated}; the request succeeded (${code}), so it was authorized`,
        evidence: ['audit:responseStatus.code'],
      },
      pending: false,
    };
  }
  return {
    link: {
      status: 'unknown',
      value: { outcome: 'unknown', authorizer: 'unknown' },
      why: `no authorization annotations${truncated} and no conclusive status code`,
      evidence: [],
    },
    pending: false,
  };
};

type Identity = ReturnType<typeof effectiveIdentity>;

/** A denial: the missing permission from the 403 message, and why the caller lacked it (derived). */
const explainForbidden = (
  value: DecisionLink,
  event: AuditEvent,
  who: Identity,
  mapping: MappingResult,
  reason: AuthorizationReason,
  impersonation: string,
): Explained => {
  const message = event.responseStatus?.message;
  let pending = false;
  value.authorizer = 'none';
  const denial: NonNullable<DecisionLink['denial']> = { stage: 'authorization' };
  if (message) denial.message = message;
  let missing: MissingPermission | undefined;
  if (message) {
    const m = parseForbiddenMessage(message);
    if (m.ok) missing = m.value;
  }
  if (missing) {
    denial.missing = missing;
    const ctx: Parameters<typeof explainDenial>[1] = {
      groups: who.groups.filter((g) => !API_ADDED_GROUPS.has(g)),
      // Access policies attach to the real principal; with impersonation the webhook sees the impersonated user.
      policies: event.impersonatedUser ? [] : (mapping.resolution?.policies ?? []),
      mappingUnknown: mapping.historyUnknown,
      reason,
    };
    if (who.username !== undefined) ctx.username = who.username;
    denial.explanation = explainDenial(missing, ctx).text;
    pending = mapping.historyUnknown;
  }
  value.denial = denial;
  const why = `forbidden${impersonation}: no authorizer allowed it${
    missing ? '; missing permission parsed from responseStatus.message (explanation derived)' : ''
  }`;
  // The decision is in the record.
  return { why, pending, status: 'observed' };
};

/**
 * Which authorizer the reason names (RBAC, an access policy); for an empty or free-text allow, the one
 * derived from who the caller is. The decision is in the record; the authorizer is too when the reason
 * names it, else it is derived.
 */
const explainReason = (
  value: DecisionLink,
  event: AuditEvent,
  decision: string | undefined,
  who: Identity,
  mapping: MappingResult,
  reason: AuthorizationReason,
  impersonation: string,
): Explained => {
  if (reason.kind === 'internal-error') {
    return {
      why: 'an authorizer failed with an internal error; the record does not say which',
      pending: false,
      status: 'observed',
    };
  }
  if (reason.kind === 'rbac-allow') {
    value.authorizer = 'rbac';
    const why = `allowed by RBAC${impersonation}: ${reason.binding.kind} ${reason.binding.name}${
      reason.binding.namespace ? ` in ${reason.binding.namespace}` : ''
    }${reason.role ? ` of ${reason.role.kind} ${reason.role.name}` : ''}${
      reason.subject ? ` to ${reason.subject.kind} ${reason.subject.name}` : ''
    } (only the first matching binding is named)`;
    return { why, pending: false, status: 'observed' };
  }
  if (reason.kind === 'access-policy-allow') {
    value.authorizer = 'eks-access-policy';
    const inForce = accessPolicyInForce(reason, mapping.resolution);
    if (inForce.association) value.accessPolicy = inForce.association;
    return {
      why: `allowed by the EKS access policy ${reason.policyArn}${impersonation}; ${inForce.note}`,
      pending: !mapping.resolution?.accessEntry && mapping.historyUnknown,
      status: 'observed',
    };
  }
  if (reason.kind === 'privileged-allow') {
    const named = emptyAllowAuthorizer(event, who);
    value.authorizer = named.authorizer;
    if (named.candidates) value.candidates = named.candidates;
    return { why: `${named.why}${impersonation}`, pending: false, status: named.status };
  }
  if (value.outcome === 'allow' && reason.kind === 'other') {
    const named = freeTextAllowAuthorizer(reason.text);
    value.authorizer = named.authorizer;
    return { why: `${named.why}${impersonation}`, pending: false, status: 'derived' };
  }
  return { why: `decision ${decision ?? '(none)'} with an unrecognised reason`, pending: false, status: 'observed' };
};

// ---------------------------------------------------------------------------------------------
// which authorizer allowed, when the reason does not name it
// ---------------------------------------------------------------------------------------------

interface NamedAuthorizer {
  authorizer: Authorizer;
  candidates?: Authorizer[];
  status: Link<DecisionLink>['status'];
  why: string;
}

/**
 * An allow with an empty reason (docs/formats.md §2.3, §5.8). RBAC and the EKS access-policy webhook
 * always name their grant, so an empty reason comes from an authorizer that names none: the built-in
 * system:masters authorizer (it runs before every other and allows every member), the Node authorizer
 * (it allows a node identity, `system:node:<name>` in group `system:nodes`, without a reason), an
 * always-allowed path (non-resource URLs only) or a webhook that writes no reason.
 */
const emptyAllowAuthorizer = (event: AuditEvent, who: { username?: string; groups: string[] }): NamedAuthorizer => {
  if (who.groups.includes('system:masters')) {
    return {
      authorizer: 'system:masters',
      status: 'derived',
      why: 'allowed with an empty reason, and the user is in system:masters: the built-in system:masters authorizer runs before every other and allows its members without a reason',
    };
  }
  if (who.username?.startsWith('system:node:') && who.groups.includes('system:nodes')) {
    return {
      authorizer: 'node',
      status: 'derived',
      why: `allowed with an empty reason for the node identity ${who.username} (group system:nodes): the Node authorizer allows nodes without a reason, while RBAC and the EKS access-policy webhook always name their grant`,
    };
  }
  const nonResource = event.objectRef?.resource === undefined;
  const candidates: Authorizer[] = nonResource ? ['always-allowed-path', 'webhook'] : ['webhook'];
  return {
    authorizer: 'unknown',
    candidates,
    status: 'observed',
    why: `allowed with an empty reason, by a user neither in system:masters nor a node: the record does not name the authorizer (possible: ${candidates
      .map((c) => (c === 'webhook' ? 'a webhook authorizer that writes no reason' : 'an always-allowed path'))
      .join(', or ')})`,
  };
};

/** An allow reason in neither RBAC's nor the EKS access-policy grammar. */
const freeTextAllowAuthorizer = (text: string): { authorizer: Authorizer; why: string } => {
  if (text.startsWith('RBAC:')) {
    return { authorizer: 'rbac', why: `allowed; the reason starts "RBAC:" but is in no known RBAC form: ${text}` };
  }
  if (text.startsWith('EKS Access Policy:')) {
    return {
      authorizer: 'eks-access-policy',
      why: `allowed; the reason starts "EKS Access Policy:" but is in no known form: ${text}`,
    };
  }
  return {
    authorizer: 'webhook',
    why: `allowed with the free-text reason "${text}": neither RBAC's nor the EKS access policy's form, and the Node and system:masters authorizers write none, so a webhook authorizer wrote it`,
  };
};

// ---------------------------------------------------------------------------------------------
// request / k8s identity
// ---------------------------------------------------------------------------------------------

/**
 * The name the API server gave an object created with `metadata.generateName`: objectRef is filled
 * from the request body, which has no name yet, so only the stored object in responseObject names it
 * (docs/formats.md §2.2). The log pipeline keeps that one field of the body for this (lib/ingest).
 */
export const generatedNameOf = (event: AuditEvent): string | undefined => {
  const o = event.objectRef;
  if (event.verb !== 'create' || o?.resource === undefined || o.name || o.subresource) return undefined;
  const body = event.responseObject;
  if (body === null || typeof body !== 'object') return undefined;
  if ((body as { kind?: unknown }).kind === 'Status') return undefined;
  const meta = (body as { metadata?: unknown }).metadata;
  const name = meta !== null && typeof meta === 'object' ? (meta as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name !== '' ? name : undefined;
};

/**
 * A Namespace is a cluster-scoped object, but the API server's request-info resolver reads
 * `/api/v1/namespaces/<name>[/status|/finalize]` as namespace <name> too, so a get, update or delete
 * of namespace foo carries `namespace: foo` while its create carries none. One object has one
 * target, whatever the verb: the namespace is dropped.
 */
const isNamespaceObject = (o: NonNullable<AuditEvent['objectRef']>): boolean =>
  o.resource === 'namespaces' && (o.apiGroup === undefined || o.apiGroup === '');

const requestFor = (event: AuditEvent): Link<RequestLink> => {
  const v: RequestLink = { sourceIPs: [...(event.sourceIPs ?? [])], truncated: event.truncated === true };
  if (event.verb !== undefined) v.verb = event.verb;
  if (event.requestURI !== undefined) v.requestURI = event.requestURI;
  const o = event.objectRef;
  const evidence = [`audit:${event.auditID}`];
  const notes: string[] = [];
  if (o?.resource !== undefined) v.resource = o.resource;
  if (o?.subresource !== undefined) v.subresource = o.subresource;
  if (o?.apiGroup !== undefined) v.apiGroup = o.apiGroup;
  if (o?.namespace !== undefined && o.namespace !== '' && !isNamespaceObject(o)) v.namespace = o.namespace;
  if (o?.name !== undefined && o.name !== '') v.name = o.name;
  const generated = generatedNameOf(event);
  if (generated !== undefined) {
    v.name = generated;
    evidence.push('audit:responseObject.metadata.name');
    notes.push(`the name ${generated} was generated by the API server (generateName) and read from responseObject`);
  }
  if (event.responseStatus?.code !== undefined) v.statusCode = event.responseStatus.code;
  if (event.userAgent !== undefined) v.userAgent = event.userAgent;
  if (event.stage !== undefined) v.stage = event.stage;
  if (event.level !== undefined) v.level = event.level;
  const base = event.truncated
    ? 'from the audit event, which CloudWatch truncated: only the fields recovered from the cut JSON are set'
    : 'from the audit event';
  return {
    status: 'observed',
    value: v,
    why: [base, ...notes].join('; '),
    evidence,
  };
};

const k8sIdentityFor = (event: AuditEvent, u: AuditEvent['user']): Link<K8sIdentityLink> => {
  if (!u.username) {
    return {
      status: 'unknown',
      value: { groups: [] },
      why: 'the audit event has no user: the request did not authenticate',
      evidence: [],
    };
  }
  const v: K8sIdentityLink = { username: u.username, groups: [...(u.groups ?? [])] };
  if (u.uid !== undefined) v.uid = u.uid;
  const ev = ['audit:user'];
  let why = 'username and groups as the API server recorded them';
  if (event.impersonatedUser) {
    const imp: NonNullable<K8sIdentityLink['impersonated']> = { groups: [...(event.impersonatedUser.groups ?? [])] };
    if (event.impersonatedUser.username !== undefined) imp.username = event.impersonatedUser.username;
    v.impersonated = imp;
    ev.push('audit:impersonatedUser');
    why += `; impersonating ${imp.username ?? '(no username)'}: authorization applied to the impersonated identity`;
  }
  return { status: 'observed', value: v, why, evidence: ev };
};

// ---------------------------------------------------------------------------------------------
// entry points
// ---------------------------------------------------------------------------------------------

/** What the principal's user block and the mapping state in force determine, whatever the batch. */
interface IdentityLinks {
  principal: Link<PrincipalLink>;
  mapping: MappingResult;
}

/**
 * The principal and mapping links depend only on the user block and the mapping state in force, and
 * traffic is many requests of few identities (controllers, nodes, a CI role, a few people). So they
 * are derived once per (mapping history, state version, user) and shared, read-only, by every chain
 * that needs them. Kept per history object (the MappingTimeline, dropped by the store once the history
 * changes) and bounded, since a Lambda container lives for hours.
 *
 * Within a history the entries are grouped by state version, and within a version looked up by one
 * short field of the user block (see identityKey); the entry keeps the whole user block it was derived
 * from and is used only when the request's block is equal to it, field by field. That is exact, and
 * cheaper than building and hashing a key of every identifying field for every request.
 */
interface CachedIdentity {
  user: AuditEvent['user'];
  links: IdentityLinks;
}

interface HistoryIdentities {
  byVersion: Map<number, Map<string, CachedIdentity>>;
  size: number;
}

const IDENTITY_CACHE = new WeakMap<object, HistoryIdentities>();
const MAX_IDENTITIES_PER_HISTORY = 20_000;

// The field that best tells apart the users sharing a username: the IAM session's access key, for
// service-account tokens the token or pod (each pod's token carries its own), else the uid. Two
// blocks with the same field only share a slot, never an answer: sameUser decides.
const identityKey = (user: AuditEvent['user']): string => {
  const x = user.extra;
  return (
    x?.['accessKeyId']?.[0] ||
    x?.['authentication.kubernetes.io/credential-id']?.[0] ||
    x?.['authentication.kubernetes.io/pod-uid']?.[0] ||
    user.uid ||
    user.username ||
    ''
  );
};

const sameStrings = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean => {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

const sameUser = (a: AuditEvent['user'], b: AuditEvent['user']): boolean => {
  if (a.username !== b.username || a.uid !== b.uid || !sameStrings(a.groups, b.groups)) return false;
  const ea = a.extra ?? {};
  const eb = b.extra ?? {};
  let n = 0;
  for (const k in ea) {
    if (!Object.hasOwn(ea, k)) continue;
    n++;
    if (!Object.hasOwn(eb, k) || !sameStrings(ea[k], eb[k])) return false;
  }
  for (const k in eb) if (Object.hasOwn(eb, k)) n--;
  return n === 0;
};

const safeStateKey = (evidence: CorrelationEvidence, at: string | undefined): MappingStateKey | undefined => {
  if (at === undefined || !evidence.mappingStateKeyAt) return undefined;
  try {
    const k = evidence.mappingStateKeyAt(at);
    return typeof k?.history === 'object' && k.history !== null && Number.isInteger(k.version) ? k : undefined;
  } catch {
    return undefined;
  }
};

const observedIdentity = (user: AuditEvent['user']): { username?: string; groups?: string[] } => {
  const observed: { username?: string; groups?: string[] } = {};
  if (user.username !== undefined) observed.username = user.username;
  if (user.groups) observed.groups = user.groups.filter((g) => !API_ADDED_GROUPS.has(g));
  return observed;
};

/** When the principal is only an access key (pre-2022 extra), the issuance names the role. */
const needsIssuance = (principal: Link<PrincipalLink>): boolean =>
  principal.value !== undefined && !principal.value.canonicalArn && principal.value.accessKeyId !== undefined;

const principalFromIssuance = (principal: Link<PrincipalLink>, evidence: CorrelationEvidence): void => {
  const key = principal.value?.accessKeyId;
  const iss = key ? safeCredential(evidence, key) : undefined;
  if (!iss || !principal.value) return;
  principal.value.canonicalArn = iss.roleArn;
  principal.value.type = 'assumed-role';
  principal.status = 'derived';
  principal.why = `role ${iss.roleArn} from the AssumeRole* issuance of access key ${key}`;
  principal.evidence.push(`cloudtrail:${iss.sourceEventId}`);
};

const identityFor = (
  user: AuditEvent['user'],
  lookupAt: string | undefined,
  evidence: CorrelationEvidence,
): IdentityLinks => {
  const stateKey = safeStateKey(evidence, lookupAt);
  let history: HistoryIdentities | undefined;
  let key = '';
  if (stateKey) {
    history = IDENTITY_CACHE.get(stateKey.history);
    if (!history) {
      history = { byVersion: new Map(), size: 0 };
      IDENTITY_CACHE.set(stateKey.history, history);
    }
    key = identityKey(user);
    const hit = history.byVersion.get(stateKey.version)?.get(key);
    if (hit && sameUser(hit.user, user)) return hit.links;
  }
  let principal = principalFromUser(user);
  // A principal known only from the batch's credentials is not a function of the user block.
  const batchDependent = needsIssuance(principal);
  if (batchDependent) principalFromIssuance(principal, evidence);
  const nonIam = nonIamLinks(user, principal, lookupAt, evidence);
  if (nonIam) principal = nonIam.principal;
  const mapping =
    nonIam?.mapping ?? mappingFor(principal, lookupAt, evidence, observedIdentity(user), Boolean(user.username));
  const links = { principal, mapping };
  // An empty history's explanation names the request time, so it is not shared across requests.
  if (history && stateKey && !batchDependent && !mapping.historyUnknown) {
    if (history.size >= MAX_IDENTITIES_PER_HISTORY) {
      history.byVersion.clear();
      history.size = 0;
    }
    let slots = history.byVersion.get(stateKey.version);
    if (!slots) {
      slots = new Map();
      history.byVersion.set(stateKey.version, slots);
    }
    // Shared by every chain of this identity from now on: frozen, so an in-place edit of a chain's
    // principal or mapping fails loudly instead of rewriting other requests' chains.
    deepFreeze(principal);
    deepFreeze(mapping.link);
    if (!slots.has(key)) history.size++;
    slots.set(key, { user, links });
  }
  return links;
};

/**
 * A user with no IAM identity in the event, read against the mapping state (lib/chain/non-iam.ts): an
 * OIDC provider's user, or a node one node mapping explains. Undefined leaves the unknown principal
 * as principalFromUser said it.
 */
const nonIamLinks = (
  user: AuditEvent['user'],
  principal: Link<PrincipalLink>,
  at: string | undefined,
  evidence: CorrelationEvidence,
): { principal: Link<PrincipalLink>; mapping: MappingResult } | undefined => {
  const username = user.username;
  if (!username || !at || principal.value?.type !== 'unknown' || principal.value.canonicalArn || hasIamExtra(user))
    return undefined;
  const state = safeState(evidence, at);
  if (!state) return undefined;
  const oidc = oidcUserOf(username, user.groups ?? [], state);
  if (oidc)
    return { principal: oidc.principal, mapping: { link: oidc.mapping, pending: false, historyUnknown: false } };
  const nodes = nodeMappingCandidates(username, state);
  if (nodes.length === 0) return undefined;
  if (nodes.length > 1) {
    return {
      principal,
      mapping: {
        link: {
          status: 'unknown',
          why: `${username} carries no IAM identity; ${nodes.length} node mappings fit its name (${nodes.map((n) => n.label).join('; ')}), so which role it used is not known`,
          evidence: [],
        },
        pending: false,
        historyUnknown: false,
      },
    };
  }
  const only = nodes[0] as { principalArn: string; label: string };
  const c = canonicalizeArn(only.principalArn);
  if (!c.ok) return undefined;
  const derived: Link<PrincipalLink> = {
    status: 'derived',
    value: { type: 'assumed-role', canonicalArn: c.value.canonicalArn, accountId: c.value.accountId },
    why: `${username} carries no IAM identity in user.extra (an authenticator too old to write it); the only node mapping that fits its name is the ${only.label}, so the node came in as that role`,
    evidence: ['audit:user.username'],
  };
  const mapping = mappingFor(derived, at, evidence, observedIdentity(user), true);
  if (mapping.link.value) {
    mapping.link = {
      ...mapping.link,
      why: `${mapping.link.why}; the role is derived from the node's name, not stated by the event`,
    };
  }
  return { principal: derived, mapping };
};

/** Build the chain of one audit event stage. */
export const correlateAuditEvent = (
  event: AuditEvent,
  origin: AuditOrigin,
  evidence: CorrelationEvidence,
): DecisionChain => {
  const at = event.requestReceivedTimestamp ?? event.stageTimestamp ?? isoFromMs(origin.timestamp) ?? '';
  const lookupAt = normaliseTimestamp(at);
  const user = event.user ?? { groups: [], extra: {} };
  const { principal, mapping } = identityFor(user, lookupAt, evidence);
  const human = humanFor(principal, safeEvidence(evidence));
  const decision = decisionFor(event, user, mapping);
  const chain: DecisionChain = {
    chainId: `${origin.cluster}#${event.auditID}`,
    kind: 'request',
    cluster: origin.cluster,
    at,
    auditID: event.auditID,
    principal,
    human: human.link,
    mapping: mapping.link,
    k8sIdentity: k8sIdentityFor(event, user),
    decision: decision.link,
    request: requestFor(event),
    pendingEnrichment: human.pending || mapping.pending || decision.pending,
  };
  if (origin.accountId !== undefined) chain.accountId = origin.accountId;
  return chain;
};

const safeCredential = (evidence: CorrelationEvidence, key: string) => {
  try {
    return evidence.credentialFor(key);
  } catch {
    return undefined;
  }
};

/** Evidence whose lookups cannot throw into the correlator. */
const safeEvidence = (evidence: CorrelationEvidence): CorrelationEvidence => {
  const safe: CorrelationEvidence = {
    mappingStateAt: (at) => evidence.mappingStateAt(at),
    credentialFor: (key) => safeCredential(evidence, key),
  };
  if (evidence.workload) safe.workload = evidence.workload;
  return safe;
};

const STAGE_BY_CLASS: Record<AuthnFailureClass, FailedStage> = {
  'token-malformed': 'token',
  'token-expired': 'token',
  'sts-failure': 'sts',
  'sts-throttled': 'sts',
  'invalid-arn': 'sts',
  'identity-not-mapped': 'unmapped',
  'arn-userid-mismatch': 'unmapped',
  'template-error': 'template',
  'reserved-prefix': 'reserved-prefix',
  unknown: 'authentication',
};

/** Build the chain of one authenticator `access denied` line. */
export const correlateAuthnFailure = (
  line: AccessDeniedLine,
  origin: LogEventOrigin,
  evidence: CorrelationEvidence,
  /** The `STS response` line just before the denial on the same stream (see stsLineFor). */
  sts?: { line: StsResponseLine; origin: LogEventOrigin },
): DecisionChain => {
  const at = isoFromMs(origin.timestamp) ?? normaliseTimestamp(line.time) ?? '';
  const stage = STAGE_BY_CLASS[line.errorClass] ?? 'authentication';
  const fromSts = sts ? stsPrincipalFor(line, sts) : undefined;
  const principal = fromSts ?? principalFromCanonicalArn(line.canonicalArn, 'authenticator:arn');
  const p = principal.value;
  const traced = fromSts ? humanFor(principal, safeEvidence(evidence)) : undefined;
  const human: Link<import('./types.js').HumanLink> = traced
    ? traced.link
    : p?.type === 'user' && p.canonicalArn
      ? {
          status: 'observed',
          value: { identity: p.canonicalArn, via: 'iam-user' },
          why: 'an IAM user authenticates as itself',
          evidence: ['authenticator:arn'],
        }
      : {
          status: 'unknown',
          why: p?.canonicalArn
            ? 'an access denied line carries no access key or session name; the `STS response` line just before it on the same stream does'
            : 'no verified identity',
          evidence: [],
        };

  let mapping: Link<MappingLink>;
  if ((stage === 'unmapped' || stage === 'template' || stage === 'reserved-prefix') && p?.canonicalArn && at) {
    const state = safeState(evidence, at);
    const resolution = state ? safeResolve(state, { canonicalArn: p.canonicalArn }, undefined) : undefined;
    const history =
      !state || stateIsEmpty(state)
        ? 'no mapping history is known for the cluster'
        : resolution
          ? `known history at ${at}: ${resolution.source}: ${resolution.why}`
          : 'the known history could not be resolved';
    if (stage === 'unmapped') {
      mapping = {
        status: 'observed',
        value: { source: 'unmapped' },
        why: `the authenticator found no mapping for ${p.canonicalArn} (${line.error}); ${history}${
          resolution && resolution.source !== 'unmapped'
            ? ' — the history maps it, so the entry is bound to another principal id (role recreated) or the change had not reached the authenticator'
            : ''
        }`,
        evidence: ['authenticator:error'],
      };
    } else {
      mapping = {
        status: resolution && resolution.source !== 'unmapped' ? 'derived' : 'unknown',
        why: `a mapping matched but its username/groups could not be rendered (${line.error}); ${history}`,
        evidence: resolution?.sourceEventId ? [`mapping:${resolution.sourceEventId}`] : [],
      };
      if (resolution && resolution.source !== 'unmapped') mapping.value = mappingValue(resolution);
    }
  } else {
    mapping = {
      status: 'unknown',
      why: `authentication failed at the ${stage} stage, before any mapping was consulted`,
      evidence: [],
    };
  }

  const decision: Link<DecisionLink> = {
    status: 'observed',
    value: {
      outcome: 'authn-failed',
      authorizer: 'none',
      denial: { stage, failureClass: line.errorClass, message: line.error },
    },
    why: `the authenticator denied the token: ${line.error}`,
    evidence: ['authenticator:error'],
  };

  const chain: DecisionChain = {
    chainId: `${origin.cluster}#authn#${origin.eventId}`,
    kind: 'authn-failure',
    cluster: origin.cluster,
    at,
    principal,
    human,
    mapping,
    k8sIdentity: {
      status: 'unknown',
      value: { groups: [] },
      why: 'no Kubernetes identity: authentication failed',
      evidence: [],
    },
    decision,
    request: {
      status: 'unknown',
      value: { sourceIPs: [], truncated: false },
      why: `the authenticator line does not describe the request; its client ${line.client ?? '(none)'} is the API server, not the user. The audit 401 event is correlated by time only`,
      evidence: [],
    },
    pendingEnrichment: traced?.pending ?? false,
  };
  if (origin.accountId) chain.accountId = origin.accountId;
  return chain;
};

/**
 * The STS response line belongs to the denial only if it names the same principal: the authenticator
 * logs `STS response` and then `access denied` for one token, but other tokens interleave.
 */
const stsPrincipalFor = (
  denial: AccessDeniedLine,
  sts: { line: StsResponseLine; origin: LogEventOrigin },
): Link<PrincipalLink> | undefined => {
  const link = principalFromStsResponse(sts.line, `authenticator:${sts.origin.eventId}`);
  const denied = principalFromCanonicalArn(denial.canonicalArn, 'authenticator:arn').value?.canonicalArn;
  if (!link?.value?.canonicalArn || !denied || link.value.canonicalArn.toLowerCase() !== denied.toLowerCase())
    return undefined;
  link.evidence.push('authenticator:arn');
  return link;
};

/** Max gap between an `STS response` line and the `access denied` line it precedes (one webhook call). */
export const STS_LINE_MAX_GAP_MS = 1_000;

/**
 * The `STS response` line of a denial: on the same stream, at most STS_LINE_MAX_GAP_MS before it, for
 * the same principal; the latest such line wins. `lines` may hold any authenticator records.
 */
export const stsLineFor = <R extends { line: { kind: string }; origin: LogEventOrigin }>(
  denial: { line: AccessDeniedLine; origin: LogEventOrigin },
  lines: readonly R[],
): { line: StsResponseLine; origin: LogEventOrigin } | undefined => {
  let best: { line: StsResponseLine; origin: LogEventOrigin } | undefined;
  for (const r of lines) {
    if (r.line.kind !== 'sts-response' || r.origin.logStream !== denial.origin.logStream) continue;
    const gap = denial.origin.timestamp - r.origin.timestamp;
    if (gap < 0 || gap > STS_LINE_MAX_GAP_MS) continue;
    const candidate = { line: r.line as unknown as StsResponseLine, origin: r.origin };
    if (!stsPrincipalFor(denial.line, candidate)) continue;
    if (!best || r.origin.timestamp > best.origin.timestamp) best = candidate;
  }
  return best;
};

/**
 * A 401 audit event carries no user (docs/formats.md §2.4): who was denied and why is only on the
 * authenticator's `access denied` line, which can be joined to the request by time alone. Given the
 * denial matched to this request (see matchUnauthenticatedRequests), the request chain takes the
 * denial's principal, human, mapping and failure stage; its request link stays the audit event's.
 */
export const attachAuthnDenial = (
  chain: DecisionChain,
  denial: { line: AccessDeniedLine; origin: LogEventOrigin },
  sts: { line: StsResponseLine; origin: LogEventOrigin } | undefined,
  evidence: CorrelationEvidence,
): DecisionChain => {
  const failure = correlateAuthnFailure(denial.line, denial.origin, evidence, sts);
  const joined = `matched by time to the authenticator's access denied line ${denial.origin.eventId} (the only denial within the request's window on this cluster)`;
  const out: DecisionChain = {
    ...chain,
    principal:
      failure.principal.status === 'unknown'
        ? chain.principal
        : {
            ...failure.principal,
            status: 'derived',
            why: `${failure.principal.why}; ${joined}`,
            evidence: [...failure.principal.evidence, `authenticator:${denial.origin.eventId}`],
          },
    human: failure.human,
    mapping: failure.mapping.status === 'unknown' && !failure.mapping.value ? chain.mapping : failure.mapping,
    decision: {
      status: 'derived',
      value: {
        ...(chain.decision.value ?? { outcome: 'authn-failed', authorizer: 'none' }),
        ...(failure.decision.value as DecisionLink),
      },
      why: `${failure.decision.why}; ${joined}`,
      evidence: [...chain.decision.evidence, `authenticator:${denial.origin.eventId}`],
    },
    pendingEnrichment: chain.pendingEnrichment || failure.pendingEnrichment,
  };
  return out;
};
