import type { MissingPermission } from '../authz/types.js';
import { workloadLines } from '../chain/explain.js';
import type {
  Authorizer,
  DecisionChain,
  DecisionLink,
  HumanLink,
  K8sIdentityLink,
  Link,
  LinkStatus,
  MappingLink,
  PrincipalLink,
  RequestLink,
  WorkloadLink,
} from '../chain/types.js';
import { accessPolicyName } from '../identity/access-entry.js';
import type { AccessPolicyAssociation } from '../identity/types.js';
import type { Column } from './format.js';
import { actorText } from './mappings.js';
import { decisionText, missingText, policyFieldText, targetOf } from './row-text.js';

export { decisionText, missingText, policyFieldText, targetOf };

/**
 * Requests (and authentication failures) as rows of fields: what who-did, denied and touched answer,
 * in JSON and CSV as they are (docs/output.schema.json), in the table through the display columns
 * below. A row states a link's value only when the link is known; `links` gives each link's status.
 */

export const LINK_NAMES = ['principal', 'human', 'mapping', 'k8sIdentity', 'decision', 'request'] as const;
export type LinkName = (typeof LINK_NAMES)[number];

export interface PolicyField {
  arn: string;
  /** The policy's name, e.g. AmazonEKSClusterAdminPolicy. */
  name: string;
  scope: 'cluster' | 'namespace';
  namespaces?: string[];
  /** The access entry's principal ARN the association belongs to, when known. */
  principalArn?: string;
}

export interface WorkloadField {
  kind: WorkloadLink['kind'];
  accountId?: string;
  cluster?: string;
  namespace: string;
  serviceAccount: string;
  /** Pod Identity names the pod; IRSA never does. */
  pod?: string;
}

export interface RequestRow {
  /** requestReceivedTimestamp of the request (µs), or the authenticator line's time for an authentication failure. */
  time: string;
  cluster: string;
  accountId?: string;
  kind: 'request' | 'authn-failure';
  auditID?: string;
  chainId: string;
  principal: {
    type: PrincipalLink['type'];
    /** Canonical IAM ARN (an assumed role as its role): what `--principal` accepts. */
    arn?: string;
    stsArn?: string;
    principalId?: string;
    accountId?: string;
    accessKeyId?: string;
    /** Chosen by the caller: shown, never trusted. */
    sessionName?: string;
    serviceAccount?: { namespace: string; name: string; podName?: string };
  };
  /** Absent when the human is unknown (links.human says why in explain). */
  human?: {
    identity: string;
    via: HumanLink['via'];
    credentialEventId?: string;
    chain?: string[];
    /** Set when the session was issued to a pod: where the pod runs (not necessarily the called cluster). */
    workload?: WorkloadField;
  };
  /** Absent when the mapping is unknown. `key`: the access entry principal ARN or aws-auth row ARN. */
  mapping?: { source: MappingLink['source']; key?: string };
  k8s: { user?: string; groups: string[]; impersonated?: { user?: string; groups: string[] } };
  decision: {
    outcome: DecisionLink['outcome'];
    authorizer: Authorizer;
    /** When the authorizer is unknown: the ones the record fits. */
    candidates?: Authorizer[];
    binding?: { kind: string; name: string; namespace?: string };
    role?: { kind: string; name: string };
    subject?: { kind: string; name: string; namespace?: string };
    policy?: PolicyField;
    /** Authentication or authorization stage that failed. */
    failedStage?: string;
    /** The permission a 403 names as missing. */
    missing?: Omit<MissingPermission, 'reasonSuffix'>;
    /** The authenticator's error or the 403 message. */
    message?: string;
    /** authorization.k8s.io/reason as the API server wrote it. */
    reason?: string;
  };
  verb?: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  requestURI?: string;
  /** The object or kind in the form `touched` accepts (docs/output.schema.json, "target"). */
  target?: string;
  /** HTTP status of the response. */
  status?: number;
  sourceIP?: string;
  sourceIPs: string[];
  userAgent?: string;
  links: Record<LinkName, LinkStatus>;
}

export const policyField = (p: AccessPolicyAssociation & { principalArn?: string }): PolicyField => {
  const out: PolicyField = {
    arn: p.policyArn,
    name: accessPolicyName(p.policyArn) ?? p.policyArn,
    scope: p.scope.type,
  };
  if (p.scope.type === 'namespace') out.namespaces = [...p.scope.namespaces];
  if (p.principalArn) out.principalArn = p.principalArn;
  return out;
};

const mappingKey = (m: MappingLink): string | undefined => m.accessEntry?.principalArn ?? m.awsAuthRow?.arn;

const decisionField = (d: DecisionLink | undefined): RequestRow['decision'] => {
  if (!d) return { outcome: 'unknown', authorizer: 'unknown' };
  const out: RequestRow['decision'] = { outcome: d.outcome, authorizer: d.authorizer };
  if (d.candidates?.length) out.candidates = [...d.candidates];
  const r = d.reason;
  if (r?.kind === 'rbac-allow') {
    out.binding = { kind: r.binding.kind, name: r.binding.name };
    if (r.binding.namespace) out.binding.namespace = r.binding.namespace;
    if (r.role) out.role = { kind: r.role.kind, name: r.role.name };
    if (r.subject) {
      out.subject = { kind: r.subject.kind, name: r.subject.name };
      if (r.subject.namespace) out.subject.namespace = r.subject.namespace;
    }
  }
  if (d.accessPolicy) out.policy = policyField(d.accessPolicy);
  if (d.denial) {
    out.failedStage = d.denial.stage;
    if (d.denial.missing) {
      const { reasonSuffix: _suffix, ...missing } = d.denial.missing;
      out.missing = missing;
    }
    const message = d.denial.message ?? d.denial.failureClass;
    if (message) out.message = message;
  }
  if (d.rawReason !== undefined && d.rawReason !== '') out.reason = d.rawReason;
  return out;
};

export const requestRow = (chain: DecisionChain): RequestRow => {
  const p = chain.principal.value;
  const h = chain.human.status === 'unknown' ? undefined : chain.human.value;
  const m = chain.mapping.status === 'unknown' ? undefined : chain.mapping.value;
  const k = chain.k8sIdentity.value;
  const r = chain.request.value;
  const row: RequestRow = {
    time: chain.at,
    cluster: chain.cluster,
    kind: chain.kind,
    chainId: chain.chainId,
    principal: { type: p?.type ?? 'unknown' },
    k8s: { groups: [...(k?.groups ?? [])] },
    decision: decisionField(chain.decision.value),
    sourceIPs: [...(r?.sourceIPs ?? [])],
    links: Object.fromEntries(LINK_NAMES.map((l) => [l, (chain[l] as Link<unknown>).status])) as Record<
      LinkName,
      LinkStatus
    >,
  };
  if (chain.accountId) row.accountId = chain.accountId;
  if (chain.auditID) row.auditID = chain.auditID;
  if (p) {
    const arn = p.canonicalArn;
    if (arn) row.principal.arn = arn;
    if (p.stsArn) row.principal.stsArn = p.stsArn;
    if (p.principalId) row.principal.principalId = p.principalId;
    if (p.accountId) row.principal.accountId = p.accountId;
    if (p.accessKeyId) row.principal.accessKeyId = p.accessKeyId;
    if (p.sessionName) row.principal.sessionName = p.sessionName;
    if (p.serviceAccount) {
      const sa = p.serviceAccount;
      row.principal.serviceAccount = { namespace: sa.namespace, name: sa.name };
      if (sa.podName) row.principal.serviceAccount.podName = sa.podName;
    }
  }
  if (h) {
    row.human = { identity: h.identity, via: h.via };
    if (h.credentialEventId) row.human.credentialEventId = h.credentialEventId;
    if (h.chain?.length) row.human.chain = [...h.chain];
    const w = h.workload;
    if (w) {
      const workload: WorkloadField = { kind: w.kind, namespace: w.namespace, serviceAccount: w.serviceAccount };
      if (w.accountId) workload.accountId = w.accountId;
      if (w.cluster) workload.cluster = w.cluster;
      if (w.pod) workload.pod = w.pod;
      row.human.workload = workload;
    }
  }
  if (m) {
    row.mapping = { source: m.source };
    const key = mappingKey(m);
    if (key) row.mapping.key = key;
  }
  if (k?.username) row.k8s.user = k.username;
  if (k?.impersonated) {
    row.k8s.impersonated = { groups: [...k.impersonated.groups] };
    if (k.impersonated.username) row.k8s.impersonated.user = k.impersonated.username;
  }
  if (r) {
    if (r.verb) row.verb = r.verb;
    if (r.apiGroup) row.apiGroup = r.apiGroup;
    if (r.resource) row.resource = r.resource;
    if (r.subresource) row.subresource = r.subresource;
    if (r.namespace) row.namespace = r.namespace;
    if (r.name) row.name = r.name;
    if (r.requestURI) row.requestURI = r.requestURI;
    const target = targetOf(r);
    if (target) row.target = target;
    if (r.statusCode !== undefined) row.status = r.statusCode;
    if (r.sourceIPs[0]) row.sourceIP = r.sourceIPs[0];
    if (r.userAgent) row.userAgent = r.userAgent;
  }
  return row;
};

// ---------------------------------------------------------------------------------------------
// display (table only)
// ---------------------------------------------------------------------------------------------

type Display = Column<RequestRow>;

const text = (key: string, header: string, f: (r: RequestRow) => unknown, maxWidth?: number): Display =>
  maxWidth === undefined ? { key, header, text: f } : { key, header, text: f, maxWidth };

export const CHAIN_COLUMNS: Display[] = [
  { key: 'time', header: 'time', maxWidth: 27 },
  { key: 'human.identity', header: 'human', maxWidth: 32 },
  { key: 'principal.arn', header: 'principal', maxWidth: 56 },
  { key: 'mapping.source', header: 'mapping' },
  { key: 'k8s.user', header: 'k8s user', maxWidth: 40 },
  { key: 'verb', header: 'verb' },
  text('target', 'target', (r) => r.target ?? r.requestURI, 48),
  { key: 'status', header: 'code' },
  { key: 'decision.outcome', header: 'outcome' },
  text('why', 'why', (r) => decisionText(r.decision), 60),
  { key: 'auditID', header: 'auditID', maxWidth: 36 },
];

export const DENIED_COLUMNS: Display[] = [
  { key: 'time', header: 'time', maxWidth: 27 },
  { key: 'decision.failedStage', header: 'stage' },
  { key: 'principal.arn', header: 'principal', maxWidth: 56 },
  { key: 'human.identity', header: 'human', maxWidth: 32 },
  { key: 'k8s.user', header: 'k8s user', maxWidth: 40 },
  { key: 'verb', header: 'verb' },
  text('target', 'target', (r) => r.target ?? r.requestURI, 48),
  { key: 'status', header: 'code' },
  text('missing', 'missing permission', (r) => missingText(r.decision.missing), 60),
  text('message', 'message', (r) => (r.decision.missing ? '' : r.decision.message), 60),
  { key: 'chainId', header: 'chain', maxWidth: 44 },
];

/** who-did of a workload: the request's own cluster and the pod take the human's place. */
export const WORKLOAD_CHAIN_COLUMNS: Display[] = [
  { key: 'time', header: 'time', maxWidth: 27 },
  { key: 'cluster', header: 'called cluster', maxWidth: 24 },
  text('pod', 'pod', (r) => workloadPodText(r.human?.workload), 40),
  { key: 'principal.arn', header: 'principal', maxWidth: 56 },
  { key: 'mapping.source', header: 'mapping' },
  { key: 'k8s.user', header: 'k8s user', maxWidth: 40 },
  { key: 'verb', header: 'verb' },
  text('target', 'target', (r) => r.target ?? r.requestURI, 48),
  { key: 'status', header: 'code' },
  { key: 'decision.outcome', header: 'outcome' },
  { key: 'auditID', header: 'auditID', maxWidth: 36 },
];

const workloadPodText = (w: WorkloadField | undefined): string | undefined =>
  w ? `${w.namespace}/${w.pod ?? `(service account ${w.serviceAccount})`}` : undefined;

/** CSV: one column per field, headed by its JSON path (docs/output.schema.json). */
export const REQUEST_CSV_COLUMNS: Column<RequestRow>[] = [
  'time',
  'cluster',
  'accountId',
  'kind',
  'auditID',
  'chainId',
  'principal.type',
  'principal.arn',
  'principal.stsArn',
  'principal.principalId',
  'principal.accessKeyId',
  'principal.sessionName',
  'human.identity',
  'human.via',
  'human.workload.kind',
  'human.workload.accountId',
  'human.workload.cluster',
  'human.workload.namespace',
  'human.workload.serviceAccount',
  'human.workload.pod',
  'mapping.source',
  'mapping.key',
  'k8s.user',
  'k8s.groups',
  'k8s.impersonated.user',
  'k8s.impersonated.groups',
  'decision.outcome',
  'decision.authorizer',
  'decision.candidates',
  'decision.binding.kind',
  'decision.binding.namespace',
  'decision.binding.name',
  'decision.role.kind',
  'decision.role.name',
  'decision.policy.arn',
  'decision.policy.scope',
  'decision.policy.namespaces',
  'decision.failedStage',
  'decision.missing.verb',
  'decision.missing.apiGroup',
  'decision.missing.resource',
  'decision.missing.subresource',
  'decision.missing.namespace',
  'decision.missing.name',
  'decision.missing.path',
  'decision.message',
  'decision.reason',
  'verb',
  'apiGroup',
  'resource',
  'subresource',
  'namespace',
  'name',
  'requestURI',
  'target',
  'status',
  'sourceIP',
  'userAgent',
  'links.principal',
  'links.human',
  'links.mapping',
  'links.k8sIdentity',
  'links.decision',
  'links.request',
].map((key) => ({ key, header: key }));

// ---------------------------------------------------------------------------------------------
// explain: the chain link by link
// ---------------------------------------------------------------------------------------------

export interface ExplainRow {
  step: number;
  link: LinkName;
  status: LinkStatus;
  /** The link's value as derived (lib/chain/types.ts), absent when nothing is known. */
  value?:
    | PrincipalLink
    | HumanLink
    | MappingLink
    | K8sIdentityLink
    | DecisionLink
    | (RequestLink & { target?: string });
  why: string;
  evidence: string[];
}

export const explainRows = (chain: DecisionChain): ExplainRow[] =>
  LINK_NAMES.map((link, i) => {
    const l = chain[link] as Link<ExplainRow['value']>;
    const row: ExplainRow = { step: i + 1, link, status: l.status, why: l.why, evidence: [...l.evidence] };
    if (l.value !== undefined) {
      if (link === 'request') {
        const r = l.value as RequestLink;
        const target = targetOf(r);
        row.value = target ? { ...r, target } : { ...r };
      } else {
        row.value = l.value;
      }
    }
    return row;
  });

const join = (parts: (string | undefined | false)[]): string => parts.filter(Boolean).join('  ');

/** One line per link for the table: the identifying value first (lib/console/pivots.ts reads values, not this). */
export const explainValueText = (row: Pick<ExplainRow, 'link' | 'value'>): string => {
  const v = row.value;
  if (v === undefined) return '';
  switch (row.link) {
    case 'principal': {
      const p = v as PrincipalLink;
      if (p.type === 'service-account' && p.serviceAccount) {
        const sa = p.serviceAccount;
        return join([`service account ${sa.namespace}/${sa.name}`, sa.podName && `pod=${sa.podName}`]);
      }
      return join([
        p.canonicalArn ?? p.stsArn ?? p.type,
        p.stsArn && p.stsArn !== p.canonicalArn && `sts=${p.stsArn}`,
        p.principalId && `id=${p.principalId}`,
        p.accessKeyId && `key=${p.accessKeyId}`,
        p.sessionName !== undefined && p.sessionName !== '' && `session=${p.sessionName} (caller-chosen)`,
      ]);
    }
    case 'human': {
      const h = v as HumanLink;
      return join([
        h.identity,
        `via ${h.via}`,
        h.credentialEventId && `issued by CloudTrail ${h.credentialEventId}`,
        h.chain?.length ? `chain ${h.chain.join(' -> ')}` : false,
        ...workloadLines(h),
      ]);
    }
    case 'mapping': {
      const m = v as MappingLink;
      return join([
        m.source,
        m.accessEntry &&
          `entry ${m.accessEntry.principalArn} (${m.accessEntry.type}) groups=[${m.accessEntry.kubernetesGroups.join(' ')}] policies=[${m.accessEntry.policies.map((p) => policyFieldText(policyField(p))).join(' ')}]`,
        m.awsAuthRow &&
          `aws-auth ${m.awsAuthRow.kind} #${m.awsAuthRow.index} ${m.awsAuthRow.arn} -> ${m.awsAuthRow.username ?? ''} [${m.awsAuthRow.groups.join(' ')}]`,
        m.since && `since ${m.since}`,
        m.actor && `by ${actorText(m.actor)}`,
        m.shadowed?.length ? `shadowed: ${m.shadowed.map((s) => s.source).join(', ')}` : false,
      ]);
    }
    case 'k8sIdentity': {
      const k = v as K8sIdentityLink;
      return join([
        k.username ?? '(no username)',
        `groups=[${k.groups.join(' ')}]`,
        k.impersonated && `impersonating ${k.impersonated.username ?? ''} [${k.impersonated.groups.join(' ')}]`,
      ]);
    }
    case 'decision': {
      const d = v as DecisionLink;
      const f = decisionField(d);
      return join([
        d.outcome,
        d.authorizer === 'unknown' && d.candidates?.length
          ? `authorizer unknown (possible: ${d.candidates.join(', ')})`
          : `by ${d.authorizer}`,
        f.binding && `${f.binding.kind} ${f.binding.namespace ? `${f.binding.namespace}/` : ''}${f.binding.name}`,
        f.role && `${f.role.kind} ${f.role.name}`,
        f.subject && `to ${f.subject.kind} ${f.subject.name}`,
        f.policy && `policy ${policyFieldText(f.policy)}`,
        d.denial && `failed at ${d.denial.stage}`,
        d.denial?.missing && `missing ${missingText(d.denial.missing)}`,
        d.denial?.message && `"${d.denial.message}"`,
      ]);
    }
    case 'request': {
      const r = v as RequestLink & { target?: string };
      return join([
        r.verb,
        r.target ?? r.requestURI,
        r.statusCode !== undefined && `-> ${r.statusCode}`,
        r.sourceIPs.length > 0 && `from ${r.sourceIPs.join(',')}`,
        r.userAgent && `ua=${r.userAgent}`,
        r.truncated && '(audit event was truncated)',
      ]);
    }
  }
};

export const EXPLAIN_COLUMNS: Column<ExplainRow>[] = [
  { key: 'step', header: '#' },
  { key: 'link', header: 'link' },
  { key: 'status', header: 'status' },
  { key: 'value', header: 'value', maxWidth: 110, text: explainValueText },
  { key: 'why', header: 'why', maxWidth: 70 },
];

export const EXPLAIN_CSV_COLUMNS: Column<ExplainRow>[] = [
  { key: 'step', header: 'step' },
  { key: 'link', header: 'link' },
  { key: 'status', header: 'status' },
  { key: 'value', header: 'value' },
  { key: 'why', header: 'why' },
  { key: 'evidence', header: 'evidence' },
];
