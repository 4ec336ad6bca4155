import { describeReason } from '../authz/reason.js';
import type { AuthorizationReason } from '../authz/types.js';
import { linkValues } from '../chain/link-values.js';
import type { CredentialIssuance, DecisionChain, Link } from '../chain/types.js';
import { accessPolicyName } from '../identity/access-entry.js';
import type { MappingActor, MappingChange, MappingChangeOp } from '../identity/types.js';
import { missingText, targetOf } from '../query/row-text.js';

/**
 * A request's target as the answers print it (lib/query/row-text.ts), so that `touched` accepts what
 * the export carries; a non-resource request has its URI instead.
 */
const targetText = (chain: DecisionChain): string | undefined =>
  targetOf(chain.request.value) ?? chain.request.value?.requestURI;

/**
 * OCSF records of the trail (docs/ocsf.md). A stored request becomes an API Activity event (class
 * 6003) and a mapping change an Entity Management event (class 3004), both in OCSF 1.8.0 with the
 * `cloud` profile. Pure: the chain is derived by the caller (lib/chain/rederive.ts), so the record says
 * what the evidence says now.
 *
 * Every value of the chain lands somewhere: in the standard attribute OCSF has for it, and otherwise
 * in `unmapped.eks_trail`, the namespaced object docs/ocsf.md documents field by field (the link
 * statuses, why and evidence, the mapping, the human's evidence, the denial). Values are never
 * invented: an attribute is set only when the chain has it, except where OCSF requires one and the
 * chain has none (docs/ocsf.md, "Required attributes with no evidence").
 */

export const OCSF_VERSION = '1.8.0';
export const OCSF_PROFILES = ['cloud'] as const;
export const PRODUCT_NAME = 'eks-access-trail';
/** Namespace of everything OCSF has no attribute for; bumped when its shape changes incompatibly. */
export const UNMAPPED_NAMESPACE = 'eks_trail';
export const UNMAPPED_SCHEMA = 'eks-access-trail/unmapped/1';

export const API_ACTIVITY_CLASS_UID = 6003;
export const ENTITY_MANAGEMENT_CLASS_UID = 3004;

/** What the mapping needs besides the chain. */
export interface OcsfContext {
  /** metadata.product.version. */
  productVersion: string;
  /**
   * cloud.region. The trail does not know a cluster's region (a CloudWatch Logs subscription
   * payload names the account, log group and stream, not the region), so the exporter is told.
   */
  region?: string;
  /** The AssumeRole* issuance of an access key, for the session's created and expiration times. */
  credentialFor?(accessKeyId: string): CredentialIssuance | undefined;
}

type Obj = Record<string, unknown>;

/** Drops undefined values and empty objects, so a record carries only what the evidence has. */
const compact = <T extends Obj>(o: T): T => {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as T;
};

/** camelCase to snake_case, acronyms kept whole: sourceIPs -> source_ips, requestURI -> request_uri. */
const snakeKey = (k: string): string =>
  k.replace(/([a-z0-9])([A-Z]+)/g, (_, a: string, b: string) => `${a}_${b.toLowerCase()}`);

/** A chain value as the unmapped object carries it: snake_case keys, undefined dropped, recursively. */
export const snake = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(snake);
  if (v === null || typeof v !== 'object') return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v as Obj)) if (x !== undefined) out[snakeKey(k)] = snake(x);
  return out;
};

const epochMs = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
};

const cloudOf = (accountId: string | undefined, ctx: OcsfContext): Obj =>
  compact({
    provider: 'AWS',
    region: ctx.region,
    account: accountId ? { uid: accountId, type: 'AWS Account', type_id: 10 } : undefined,
  });

const metadataOf = (uid: string, logName: string, originalTime: string | undefined, ctx: OcsfContext): Obj =>
  compact({
    version: OCSF_VERSION,
    profiles: [...OCSF_PROFILES],
    product: { name: PRODUCT_NAME, vendor_name: PRODUCT_NAME, version: ctx.productVersion },
    uid,
    log_name: logName,
    log_provider: 'Amazon EKS',
    original_time: originalTime,
  });

// -------------------------------------------------------------------------------------------------
// API Activity (6003): one request
// -------------------------------------------------------------------------------------------------

const API_ACTIVITY: Record<number, string> = {
  0: 'Unknown',
  1: 'Create',
  2: 'Read',
  3: 'Update',
  4: 'Delete',
  99: 'Other',
};

/** Kubernetes verbs as OCSF's CRUD activities; any other verb is Other, named by itself. */
export const activityOfVerb = (verb: string | undefined): { id: number; name: string } => {
  switch (verb) {
    case undefined:
    case '':
      return { id: 0, name: API_ACTIVITY[0] as string };
    case 'create':
      return { id: 1, name: 'Create' };
    case 'get':
    case 'list':
    case 'watch':
      return { id: 2, name: 'Read' };
    case 'update':
    case 'patch':
      return { id: 3, name: 'Update' };
    case 'delete':
    case 'deletecollection':
      return { id: 4, name: 'Delete' };
    default:
      return { id: 99, name: verb };
  }
};

const USER_TYPE: Record<string, [number, string]> = {
  'assumed-role': [99, 'IAM role session'],
  role: [99, 'IAM role'],
  user: [1, 'IAM user'],
  root: [2, 'AWS account root'],
  'federated-user': [99, 'IAM federated user'],
  'service-account': [4, 'Kubernetes service account'],
  'k8s-internal': [3, 'Kubernetes internal'],
  anonymous: [0, 'Anonymous'],
  unknown: [0, 'Unknown'],
};

const IDP_OF_VIA: Record<string, Obj> = {
  'sso-session': { name: 'AWS IAM Identity Center' },
  saml: { name: 'SAML identity provider', protocol_name: 'SAML' },
  'web-identity': { name: 'Web identity provider', protocol_name: 'OIDC' },
};

/** OCSF's authorization decision words for the chain's outcome. */
const DECISION: Record<string, string> = {
  allow: 'Allowed',
  forbid: 'Denied',
  'authn-failed': 'Unauthenticated',
  unknown: 'Unknown',
};

const bindingUid = (kind: string, name: string, namespace?: string): string =>
  namespace ? `rbac.authorization.k8s.io/${kind}/${namespace}/${name}` : `rbac.authorization.k8s.io/${kind}/${name}`;

/** The policies behind a decision: the RBAC binding and its role, or the EKS access policy. */
export const authorizationsOf = (chain: DecisionChain): Obj[] => {
  const d = chain.decision.value;
  if (!d || d.outcome === 'authn-failed') return [];
  const decision = DECISION[d.outcome] ?? d.outcome;
  const r: AuthorizationReason | undefined = d.reason;
  const out: Obj[] = [];
  if (r?.kind === 'rbac-allow') {
    const b = r.binding;
    out.push({
      decision,
      policy: compact({
        name: b.namespace ? `${b.namespace}/${b.name}` : b.name,
        uid: bindingUid(b.kind, b.name, b.namespace),
        type: b.kind,
        desc: describeReason(r),
        is_applied: true,
      }),
    });
    if (r.role) {
      const roleNs = r.role.kind === 'Role' ? b.namespace : undefined;
      out.push({
        decision,
        policy: {
          name: roleNs ? `${roleNs}/${r.role.name}` : r.role.name,
          uid: bindingUid(r.role.kind, r.role.name, roleNs),
          type: r.role.kind,
          is_applied: true,
        },
      });
    }
    return out;
  }
  const ap = d.accessPolicy ?? (r?.kind === 'access-policy-allow' ? r : undefined);
  if (ap) {
    const scope =
      'scope' in ap
        ? ap.scope
        : r?.kind === 'access-policy-allow' && r.namespace
          ? { type: 'namespace', namespaces: [r.namespace] }
          : { type: 'cluster', namespaces: [] };
    out.push({
      decision,
      policy: compact({
        name: accessPolicyName(ap.policyArn) ?? ap.policyArn,
        uid: ap.policyArn,
        type: 'EKS access policy',
        desc: r ? describeReason(r) : undefined,
        data: { principal_arn: ap.principalArn, scope: snake(scope) },
        is_applied: true,
      }),
    });
    return out;
  }
  if (r?.kind === 'privileged-allow') {
    return [
      {
        decision,
        policy: { name: 'system:masters', type: 'Privileged group', desc: describeReason(r), is_applied: true },
      },
    ];
  }
  return [{ decision }];
};

const linkSummary = (l: Link<unknown>): Obj => ({ status: l.status, why: l.why, evidence: [...l.evidence] });

/** Evidence and values OCSF has no attribute for (docs/ocsf.md, "unmapped.eks_trail"). */
const chainUnmapped = (chain: DecisionChain): Obj => {
  const { principal: p, human: h, mapping: m, k8sIdentity: k, decision: d, request: r } = linkValues(chain);
  return compact({
    schema: UNMAPPED_SCHEMA,
    chain_id: chain.chainId,
    kind: chain.kind,
    cluster: chain.cluster,
    account_id: chain.accountId,
    pending_enrichment: chain.pendingEnrichment,
    links: {
      principal: linkSummary(chain.principal),
      human: linkSummary(chain.human),
      mapping: linkSummary(chain.mapping),
      k8s_identity: linkSummary(chain.k8sIdentity),
      decision: linkSummary(chain.decision),
      request: linkSummary(chain.request),
    },
    principal: p ? snake(p) : undefined,
    human: h ? snake({ ...h, credentialEventId: undefined, credentialEventUid: h.credentialEventId }) : undefined,
    mapping: m ? compact({ key: mappingKey(chain), ...(snake(m) as Obj) }) : undefined,
    k8s_identity: k?.impersonated ? { impersonated: snake(k.impersonated) } : undefined,
    decision: d
      ? compact({
          ...(snake({ ...d, denial: undefined }) as Obj),
          denial: d.denial
            ? compact({ ...(snake(d.denial) as Obj), missing_text: missingText(d.denial.missing) })
            : undefined,
        })
      : undefined,
    request: r ? compact({ target: targetText(chain), ...(snake(r) as Obj) }) : undefined,
  });
};

/** The access entry principal ARN or aws-auth row ARN that admitted the request. */
export const mappingKey = (chain: DecisionChain): string | undefined => {
  const m = chain.mapping.value;
  return m?.accessEntry?.principalArn ?? m?.awsAuthRow?.arn;
};

const statusOf = (chain: DecisionChain): { id: number; name: string } => {
  const outcome = chain.decision.value?.outcome;
  const code = chain.request.value?.statusCode;
  if (outcome === 'forbid' || outcome === 'authn-failed' || (code !== undefined && code >= 400)) {
    return { id: 2, name: 'Failure' };
  }
  if (outcome === 'allow' && (code === undefined || code < 400)) return { id: 1, name: 'Success' };
  return { id: 0, name: 'Unknown' };
};

const statusDetail = (chain: DecisionChain): string | undefined => {
  const d = chain.decision.value;
  if (!d) return undefined;
  if (d.denial) {
    const missing = missingText(d.denial.missing);
    return missing
      ? `${d.denial.stage}: missing ${missing}`
      : `${d.denial.stage}: ${d.denial.message ?? d.denial.failureClass ?? ''}`.trim();
  }
  if (d.reason) return describeReason(d.reason);
  return d.rawReason;
};

/** One request's chain as an OCSF API Activity record. */
export const apiActivity = (chain: DecisionChain, ctx: OcsfContext): Obj => {
  const p = chain.principal.value;
  const h = chain.human.value;
  const k = chain.k8sIdentity.value;
  const r = chain.request.value;
  const activity = activityOfVerb(r?.verb);
  const status = statusOf(chain);
  const [typeId, typeName] = USER_TYPE[p?.type ?? 'unknown'] ?? [0, 'Unknown'];
  const issuance = p?.accessKeyId ? ctx.credentialFor?.(p.accessKeyId) : undefined;

  const user = compact({
    name: k?.username,
    uid: k?.uid,
    uid_alt: p?.canonicalArn ?? p?.stsArn,
    type: typeName,
    type_id: typeId,
    groups: k && k.groups.length > 0 ? k.groups.map((name) => ({ name })) : undefined,
    account: p?.accountId ? { uid: p.accountId, type: 'AWS Account', type_id: 10 } : undefined,
    credential_uid: p?.accessKeyId,
  });
  // OCSF requires the actor to name somebody; a chain that names nobody says so (docs/ocsf.md).
  if (user['name'] === undefined && user['uid'] === undefined && user['account'] === undefined)
    user['name'] = 'unknown';

  const session = compact({
    issuer: h?.identity,
    uid_alt: p?.stsArn && p.stsArn !== p.canonicalArn ? p.stsArn : undefined,
    credential_uid: p?.accessKeyId,
    created_time: epochMs(issuance?.issuedAt),
    expiration_time: epochMs(issuance?.expiresAt),
  });
  const authorizations = authorizationsOf(chain);
  const actor = compact({
    user,
    session,
    idp: h ? IDP_OF_VIA[h.via] : undefined,
    authorizations: authorizations.length > 0 ? authorizations : undefined,
  });

  const [firstIp, ...intermediate] = r?.sourceIPs ?? [];
  const srcEndpoint: Obj = compact({
    ip: firstIp,
    intermediate_ips: intermediate.length > 0 ? intermediate : undefined,
  });
  if (Object.keys(srcEndpoint).length === 0) srcEndpoint['name'] = 'unknown';

  const target = targetText(chain);
  // OCSF wants a name or uid on a resource; a collection (list, watch, create) has no name, so the
  // uid is the request's target path within the cluster (`ns/resource[/name]`, lib/query/chain-rows.ts).
  const resource = r?.resource
    ? compact({
        uid: target,
        type: r.subresource ? `${r.resource}/${r.subresource}` : r.resource,
        namespace: r.namespace,
        name: r.name,
        group: { name: r.apiGroup === undefined || r.apiGroup === '' ? 'core' : r.apiGroup },
      })
    : undefined;

  const code = r?.statusCode;
  return compact({
    activity_id: activity.id,
    activity_name: activity.name,
    category_uid: 6,
    category_name: 'Application Activity',
    class_uid: API_ACTIVITY_CLASS_UID,
    class_name: 'API Activity',
    type_uid: API_ACTIVITY_CLASS_UID * 100 + activity.id,
    type_name: `API Activity: ${API_ACTIVITY[activity.id] ?? activity.name}`,
    severity_id: 1,
    severity: 'Informational',
    time: epochMs(chain.at) ?? 0,
    message: [r?.verb ?? chain.kind, target, code !== undefined ? `-> ${code}` : undefined].filter(Boolean).join(' '),
    status_id: status.id,
    status: status.name,
    status_code: code !== undefined ? String(code) : undefined,
    status_detail: statusDetail(chain),
    metadata: metadataOf(
      `${chain.accountId ?? '_'}/${chain.chainId}`,
      chain.kind === 'request' ? 'kube-apiserver-audit' : 'authenticator',
      chain.at,
      ctx,
    ),
    cloud: cloudOf(chain.accountId, ctx),
    actor,
    api: compact({
      operation: r?.verb ?? 'unknown',
      service: r?.resource !== undefined ? { name: r.apiGroup || 'core' } : undefined,
      request: chain.auditID ? { uid: chain.auditID } : undefined,
      response: code !== undefined ? { code } : undefined,
    }),
    resources: resource ? [resource] : undefined,
    src_endpoint: srcEndpoint,
    dst_endpoint: { name: chain.cluster, svc_name: 'kube-apiserver' },
    http_request:
      r?.requestURI || r?.userAgent
        ? compact({ url: r.requestURI ? { path: r.requestURI } : undefined, user_agent: r.userAgent })
        : undefined,
    unmapped: { [UNMAPPED_NAMESPACE]: chainUnmapped(chain) },
  });
};

// -------------------------------------------------------------------------------------------------
// Entity Management (3004): one mapping change
// -------------------------------------------------------------------------------------------------

const ENTITY_ACTIVITY: Record<MappingChangeOp['kind'], [number, string]> = {
  'access-entry-put': [1, 'Create'],
  'access-entry-update': [3, 'Update'],
  'access-entry-delete': [4, 'Delete'],
  'access-policy-associate': [1, 'Create'],
  'access-policy-disassociate': [4, 'Delete'],
  'aws-auth-put': [3, 'Update'],
  'aws-auth-delete': [4, 'Delete'],
  'auth-mode-set': [3, 'Update'],
  'cluster-created': [1, 'Create'],
  'cluster-deleted': [4, 'Delete'],
  'logging-set': [3, 'Update'],
  // An observation of an IAM unique id bound to an ARN, not an edit: OCSF has no activity for it.
  'principal-id-observed': [99, 'Observe'],
  'cluster-oidc-issuer': [99, 'Observe'],
  'pod-identity-association-put': [1, 'Create'],
  'pod-identity-association-update': [3, 'Update'],
  'pod-identity-association-delete': [4, 'Delete'],
  'identity-provider-associate': [1, 'Create'],
  'identity-provider-disassociate': [4, 'Delete'],
};

const LOG_NAME: Record<MappingChange['source'], string> = {
  cloudtrail: 'cloudtrail',
  audit: 'kube-apiserver-audit',
  backfill: 'eks-api-backfill',
  authenticator: 'authenticator',
};

const clusterUid = (c: MappingChange): string => `${c.accountId ?? '_'}/${c.cluster}`;

/** The managed entity a mapping change is about (docs/ocsf.md, "Mapping changes"). */
export const entityOf = (c: MappingChange): Obj => {
  const op = c.op;
  const cl = clusterUid(c);
  switch (op.kind) {
    case 'access-entry-put':
    case 'access-entry-update':
    case 'access-entry-delete': {
      const arn = op.kind === 'access-entry-put' ? op.entry.principalArn : op.principalArn;
      const key = op.kind === 'access-entry-put' ? op.entry.matchKey : op.matchKey;
      return { name: arn, uid: `${cl}/access-entry/${key}`, type: 'EKS access entry', type_id: 99 };
    }
    case 'access-policy-associate':
    case 'access-policy-disassociate': {
      const policyArn = op.kind === 'access-policy-associate' ? op.association.policyArn : op.policyArn;
      const policy = compact({
        name: accessPolicyName(policyArn) ?? policyArn,
        uid: policyArn,
        type: 'EKS access policy',
        data:
          op.kind === 'access-policy-associate'
            ? { principal_arn: op.principalArn, scope: snake(op.association.scope) }
            : { principal_arn: op.principalArn },
      });
      return {
        name: `${op.principalArn} + ${policyArn}`,
        uid: `${cl}/access-entry/${op.matchKey}/policy/${policyArn}`,
        type: 'EKS access policy association',
        type_id: 5,
        policy,
      };
    }
    case 'aws-auth-put':
    case 'aws-auth-delete':
      return {
        name: 'kube-system/aws-auth',
        uid: `${cl}/configmap/kube-system/aws-auth`,
        type: 'aws-auth ConfigMap',
        type_id: 99,
      };
    case 'auth-mode-set':
      return {
        name: `${c.cluster} authentication mode`,
        uid: `${cl}/access-config`,
        type: 'EKS cluster access configuration',
        type_id: 99,
      };
    case 'cluster-created':
    case 'cluster-deleted':
      return { name: c.cluster, uid: cl, type: 'EKS cluster', type_id: 99 };
    case 'logging-set':
      return {
        name: `${c.cluster} control-plane logging`,
        uid: `${cl}/logging`,
        type: 'EKS cluster logging configuration',
        type_id: 99,
      };
    case 'principal-id-observed':
      return {
        name: op.matchKey,
        uid: `${cl}/principal-id/${op.matchKey}`,
        type: 'IAM principal id binding',
        type_id: 99,
      };
    case 'cluster-oidc-issuer':
      return { name: op.issuer, uid: `${cl}/oidc-issuer`, type: 'EKS cluster OIDC issuer', type_id: 99 };
    case 'pod-identity-association-put':
    case 'pod-identity-association-update':
    case 'pod-identity-association-delete': {
      const a =
        op.kind === 'pod-identity-association-put'
          ? op.association
          : op.kind === 'pod-identity-association-update'
            ? op.after
            : op.before;
      const id = op.kind === 'pod-identity-association-put' ? (op.association.associationId ?? '') : op.associationId;
      return {
        name: a ? `${a.namespace}/${a.serviceAccount} -> ${a.roleArn}` : id,
        uid: `${cl}/pod-identity-association/${id}`,
        type: 'EKS Pod Identity association',
        type_id: 99,
      };
    }
    case 'identity-provider-associate':
    case 'identity-provider-disassociate': {
      const name = op.kind === 'identity-provider-associate' ? op.config.name : op.name;
      return {
        name,
        uid: `${cl}/identity-provider-config/${name}`,
        type: 'EKS OIDC identity provider config',
        type_id: 99,
      };
    }
  }
};

const actorOfChange = (a: MappingActor): Obj | undefined => {
  const aws = a.aws;
  if (aws) {
    const user = compact({
      name: aws.userName ?? aws.sessionName,
      uid: aws.arn ?? aws.principalId,
      uid_alt: aws.canonicalArn,
      type: aws.type,
      type_id: aws.type === 'IAMUser' ? 1 : aws.type === 'Root' ? 2 : aws.type === 'AWSService' ? 4 : 99,
      account: aws.accountId ? { uid: aws.accountId, type: 'AWS Account', type_id: 10 } : undefined,
      credential_uid: aws.accessKeyId,
    });
    if (user['name'] === undefined && user['uid'] === undefined && user['account'] === undefined)
      user['name'] = 'unknown';
    return compact({
      user,
      session: aws.sessionIssuerArn ? { issuer: aws.sessionIssuerArn } : undefined,
      app_name: aws.invokedBy,
    });
  }
  if (a.k8sUsername) return { user: compact({ name: a.k8sUsername, uid_alt: a.k8sCanonicalArn, type_id: 0 }) };
  return undefined;
};

/** One mapping change as an OCSF Entity Management record. */
export const entityManagement = (c: MappingChange, ctx: OcsfContext): Obj => {
  const [id, name] = ENTITY_ACTIVITY[c.op.kind];
  // json_t: the change as stored, keys untouched (aws-auth rawData keys are ConfigMap keys).
  const entity: Obj = { ...entityOf(c), data: c.op };
  const target = entity.uid as string;
  return compact({
    activity_id: id,
    activity_name: name,
    category_uid: 3,
    category_name: 'Identity & Access Management',
    class_uid: ENTITY_MANAGEMENT_CLASS_UID,
    class_name: 'Entity Management',
    type_uid: ENTITY_MANAGEMENT_CLASS_UID * 100 + id,
    type_name: `Entity Management: ${name}`,
    severity_id: 1,
    severity: 'Informational',
    time: epochMs(c.at) ?? 0,
    message: `${c.op.kind} ${entity.name as string}`,
    // The trail records a mapping change only from a call that succeeded (docs/formats.md §3).
    status_id: 1,
    status: 'Success',
    metadata: compact({
      ...metadataOf(`${target}#${c.op.kind}#${c.sourceEventId}`, LOG_NAME[c.source], c.at, ctx),
      correlation_uid: c.sourceEventId,
    }),
    cloud: cloudOf(c.accountId, ctx),
    actor: actorOfChange(c.actor),
    entity,
    unmapped: {
      [UNMAPPED_NAMESPACE]: compact({
        schema: UNMAPPED_SCHEMA,
        cluster: c.cluster,
        account_id: c.accountId,
        source: c.source,
        source_event_uid: c.sourceEventId,
        op_kind: c.op.kind,
        actor: snake(c.actor),
      }),
    },
  });
};
