import { describeReason } from '../authz/reason.js';
import type { MissingPermission } from '../authz/types.js';
import { workloadLines } from '../chain/explain.js';
import { linkValues } from '../chain/link-values.js';
import type { DecisionChain, Link, LinkStatus } from '../chain/types.js';
import type { Column } from './format.js';
import { actorText, policyText } from './mappings.js';

/** One request (or authentication failure) as a flat, typed row. */
export interface ChainRow {
  at: string;
  cluster: string;
  accountId?: string;
  chainId: string;
  auditID?: string;
  /** The human behind the principal (SSO user, IAM user, assume-role caller), when known. */
  human?: string;
  humanVia?: string;
  /** For sessions issued to a pod: `<account>/<cluster>/<namespace>/<pod or service account>`. */
  workload?: string;
  pod?: string;
  principal?: string;
  principalType?: string;
  /** Caller-chosen: shown, never trusted. */
  session?: string;
  accessKeyId?: string;
  mapping?: string;
  /** The access entry principal ARN or aws-auth row ARN that admitted the request. */
  mappingKey?: string;
  username?: string;
  groups: string[];
  verb?: string;
  /** `ns/resource[/subresource]/name` (`/resource/name` at cluster scope), or the request URI for non-resource requests. */
  target?: string;
  code?: number;
  outcome: string;
  authorizer?: string;
  /** Binding / access policy that allowed it, or the failed stage and what was missing. */
  why?: string;
  failedStage?: string;
  missing?: string;
  sourceIP?: string;
  userAgent?: string;
  /** Link statuses, e.g. `principal=observed mapping=derived human=unknown`. */
  evidence: string;
}

export const missingText = (m: MissingPermission | undefined): string | undefined => {
  if (!m) return undefined;
  if (m.scope === 'path') return `${m.verb} ${m.path ?? ''}`.trim();
  const res = m.subresource ? `${m.resource}/${m.subresource}` : (m.resource ?? '');
  const group = m.apiGroup ? `.${m.apiGroup}` : '';
  const where = m.scope === 'namespace' ? ` in namespace ${m.namespace}` : ' at cluster scope';
  return `${m.verb} ${res}${group}${m.name ? ` "${m.name}"` : ''}${where}`;
};

export const targetText = (chain: DecisionChain): string | undefined => {
  const r = chain.request.value;
  if (!r) return undefined;
  if (!r.resource) return r.requestURI;
  const res = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const group = r.apiGroup ? `.${r.apiGroup}` : '';
  // Cluster scope gets a leading `/` (the form `touched` accepts); a `-` would read as a formula in CSV.
  return [r.namespace ?? '', `${res}${group}`, ...(r.name ? [r.name] : [])].join('/');
};

const LINKS = ['principal', 'human', 'mapping', 'k8sIdentity', 'decision', 'request'] as const;

export const evidenceSummary = (chain: DecisionChain): string =>
  LINKS.map((k) => `${k}=${(chain[k] as Link<unknown>).status}`).join(' ');

export const chainRow = (chain: DecisionChain): ChainRow => {
  const { principal: p, human: h, mapping: m, k8sIdentity: k, decision: d, request: r } = linkValues(chain);
  const row: ChainRow = {
    at: chain.at,
    cluster: chain.cluster,
    chainId: chain.chainId,
    groups: k?.groups ?? [],
    outcome: d?.outcome ?? 'unknown',
    evidence: evidenceSummary(chain),
  };
  if (chain.accountId) row.accountId = chain.accountId;
  if (chain.auditID) row.auditID = chain.auditID;
  if (h) {
    row.human = h.identity;
    row.humanVia = h.via;
    const w = h.workload;
    if (w) {
      row.workload = `${w.accountId ?? '_'}/${w.cluster ?? '?'}/${w.namespace}/${w.pod ?? w.serviceAccount}`;
      if (w.pod) row.pod = `${w.namespace}/${w.pod}`;
    }
  }
  if (p) {
    const principal = p.canonicalArn ?? p.stsArn;
    if (principal) row.principal = principal;
    row.principalType = p.type;
    if (p.sessionName) row.session = p.sessionName;
    if (p.accessKeyId) row.accessKeyId = p.accessKeyId;
  }
  if (m) {
    row.mapping = m.source;
    const key = m.accessEntry?.principalArn ?? m.awsAuthRow?.arn;
    if (key) row.mappingKey = key;
  }
  if (k?.username) row.username = k.username;
  if (r?.verb) row.verb = r.verb;
  const target = targetText(chain);
  if (target) row.target = target;
  if (r?.statusCode !== undefined) row.code = r.statusCode;
  if (d) {
    row.authorizer = d.authorizer;
    if (d.denial) {
      row.failedStage = d.denial.stage;
      const missing = missingText(d.denial.missing);
      if (missing) row.missing = missing;
      row.why = missing
        ? `${d.denial.stage}: missing ${missing}`
        : `${d.denial.stage}: ${d.denial.message ?? d.denial.failureClass ?? ''}`.trim();
    } else if (d.reason) {
      row.why = describeReason(d.reason);
    } else if (d.rawReason) {
      row.why = d.rawReason;
    }
  }
  if (r?.sourceIPs[0]) row.sourceIP = r.sourceIPs[0];
  if (r?.userAgent) row.userAgent = r.userAgent;
  return row;
};

export const CHAIN_COLUMNS: Column[] = [
  { key: 'at', header: 'time', maxWidth: 27 },
  { key: 'human', header: 'human', maxWidth: 32 },
  { key: 'principal', header: 'principal', maxWidth: 56 },
  { key: 'mapping', header: 'mapping' },
  { key: 'username', header: 'k8s user', maxWidth: 40 },
  { key: 'verb', header: 'verb' },
  { key: 'target', header: 'target', maxWidth: 48 },
  { key: 'code', header: 'code' },
  { key: 'outcome', header: 'outcome' },
  { key: 'why', header: 'why', maxWidth: 60 },
  { key: 'auditID', header: 'auditID', maxWidth: 36 },
];

export const DENIED_COLUMNS: Column[] = [
  { key: 'at', header: 'time', maxWidth: 27 },
  { key: 'failedStage', header: 'stage' },
  { key: 'principal', header: 'principal', maxWidth: 56 },
  { key: 'human', header: 'human', maxWidth: 32 },
  { key: 'username', header: 'k8s user', maxWidth: 40 },
  { key: 'verb', header: 'verb' },
  { key: 'target', header: 'target', maxWidth: 48 },
  { key: 'code', header: 'code' },
  { key: 'missing', header: 'missing permission', maxWidth: 60 },
  { key: 'why', header: 'why', maxWidth: 60 },
  { key: 'chainId', header: 'chain', maxWidth: 44 },
];

// ---------------------------------------------------------------------------------------------
// explain: the chain link by link
// ---------------------------------------------------------------------------------------------

export interface ExplainRow {
  step: number;
  link: string;
  status: LinkStatus;
  value: string;
  why: string;
  evidence: string[];
}

const join = (parts: (string | undefined | false)[]): string => parts.filter(Boolean).join('  ');

export const explainRows = (chain: DecisionChain): ExplainRow[] => {
  const { principal: p, human: h, mapping: m, k8sIdentity: k, decision: d, request: r } = linkValues(chain);
  const values: Record<(typeof LINKS)[number], string> = {
    principal: p
      ? join([
          p.canonicalArn ?? p.stsArn ?? p.type,
          p.stsArn && p.stsArn !== p.canonicalArn && `sts=${p.stsArn}`,
          p.principalId && `id=${p.principalId}`,
          p.accessKeyId && `key=${p.accessKeyId}`,
          p.sessionName !== undefined && p.sessionName !== '' && `session=${p.sessionName} (caller-chosen)`,
        ])
      : '',
    human: h
      ? join([
          h.identity,
          `via ${h.via}`,
          h.credentialEventId && `issued by CloudTrail ${h.credentialEventId}`,
          h.chain?.length ? `chain ${h.chain.join(' -> ')}` : false,
          ...workloadLines(h),
        ])
      : '',
    mapping: m
      ? join([
          m.source,
          m.accessEntry &&
            `entry ${m.accessEntry.principalArn} (${m.accessEntry.type}) groups=[${m.accessEntry.kubernetesGroups.join(' ')}] policies=[${m.accessEntry.policies.map(policyText).join(' ')}]`,
          m.awsAuthRow &&
            `aws-auth ${m.awsAuthRow.kind} #${m.awsAuthRow.index} ${m.awsAuthRow.arn} -> ${m.awsAuthRow.username ?? ''} [${m.awsAuthRow.groups.join(' ')}]`,
          m.since && `since ${m.since}`,
          m.actor && `by ${actorText(m.actor)}`,
          m.shadowed?.length ? `shadowed: ${m.shadowed.map((s) => s.source).join(', ')}` : false,
        ])
      : '',
    k8sIdentity: k
      ? join([
          k.username ?? '(no username)',
          `groups=[${k.groups.join(' ')}]`,
          k.impersonated && `impersonating ${k.impersonated.username ?? ''} [${k.impersonated.groups.join(' ')}]`,
        ])
      : '',
    decision: d
      ? join([
          d.outcome,
          `by ${d.authorizer}`,
          d.reason && describeReason(d.reason),
          d.accessPolicy && `policy ${policyText(d.accessPolicy)}`,
          d.denial && `failed at ${d.denial.stage}`,
          d.denial?.missing && `missing ${missingText(d.denial.missing)}`,
          d.denial?.message && `"${d.denial.message}"`,
        ])
      : '',
    request: r
      ? join([
          r.verb,
          targetText(chain),
          r.statusCode !== undefined && `-> ${r.statusCode}`,
          r.sourceIPs.length > 0 && `from ${r.sourceIPs.join(',')}`,
          r.userAgent && `ua=${r.userAgent}`,
          r.truncated && '(audit event was truncated)',
        ])
      : '',
  };
  return LINKS.map((link, i) => {
    const l = chain[link] as Link<unknown>;
    return { step: i + 1, link, status: l.status, value: values[link], why: l.why, evidence: [...l.evidence] };
  });
};

export const EXPLAIN_COLUMNS: Column[] = [
  { key: 'step', header: '#' },
  { key: 'link', header: 'link' },
  { key: 'status', header: 'status' },
  { key: 'value', header: 'value', maxWidth: 110 },
  { key: 'why', header: 'why', maxWidth: 70 },
];
