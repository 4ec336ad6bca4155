import { linkValues } from '../chain/link-values.js';
import type { DecisionChain } from '../chain/types.js';
import { accessPolicyName } from '../identity/access-entry.js';
import { mappingKey } from './ocsf.js';

/**
 * The plain JSON-lines export: one flat object per request with the structured fields of its chain,
 * for SIEMs that do not read OCSF (docs/ocsf.md, "Plain JSON lines"). Keys are stable; a value the
 * chain does not have is left out, never guessed. Link statuses say which parts were observed,
 * derived or unknown.
 */
export interface PlainRecord {
  time: string;
  cluster: string;
  account_id?: string;
  audit_id?: string;
  kind: DecisionChain['kind'];
  principal?: string;
  principal_type?: string;
  human?: string;
  human_via?: string;
  mapping?: { source: string; key?: string };
  k8s_user?: string;
  k8s_groups: string[];
  decision: {
    outcome: string;
    authorizer?: string;
    binding?: string;
    role?: string;
    policy?: string;
    failed_stage?: string;
  };
  verb?: string;
  resource?: string;
  subresource?: string;
  api_group?: string;
  namespace?: string;
  name?: string;
  request_uri?: string;
  status?: number;
  source_ips: string[];
  user_agent?: string;
  links: Record<'principal' | 'human' | 'mapping' | 'k8s_identity' | 'decision' | 'request', string>;
}

const set = <T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void => {
  if (v !== undefined && v !== '') o[k] = v;
};

export const plainRecord = (chain: DecisionChain): PlainRecord => {
  const { principal: p, human: h, mapping: m, k8sIdentity: k, decision: d, request: r } = linkValues(chain);
  const decision: PlainRecord['decision'] = { outcome: d?.outcome ?? 'unknown' };
  set(decision, 'authorizer', d?.authorizer);
  const reason = d?.reason;
  if (reason?.kind === 'rbac-allow') {
    const b = reason.binding;
    decision.binding = `${b.kind}/${b.namespace ? `${b.namespace}/` : ''}${b.name}`;
    if (reason.role) decision.role = `${reason.role.kind}/${reason.role.name}`;
  }
  const policyArn =
    d?.accessPolicy?.policyArn ?? (reason?.kind === 'access-policy-allow' ? reason.policyArn : undefined);
  if (policyArn) decision.policy = accessPolicyName(policyArn) ?? policyArn;
  else if (reason?.kind === 'privileged-allow') decision.policy = 'system:masters';
  set(decision, 'failed_stage', d?.denial?.stage);

  const out: PlainRecord = {
    time: chain.at,
    cluster: chain.cluster,
    kind: chain.kind,
    k8s_groups: k?.groups ?? [],
    decision,
    source_ips: r?.sourceIPs ?? [],
    links: {
      principal: chain.principal.status,
      human: chain.human.status,
      mapping: chain.mapping.status,
      k8s_identity: chain.k8sIdentity.status,
      decision: chain.decision.status,
      request: chain.request.status,
    },
  };
  set(out, 'account_id', chain.accountId);
  set(out, 'audit_id', chain.auditID);
  set(out, 'principal', p?.canonicalArn ?? p?.stsArn);
  set(out, 'principal_type', p?.type);
  set(out, 'human', h?.identity);
  set(out, 'human_via', h?.via);
  if (m) {
    const key = mappingKey(chain);
    out.mapping = key ? { source: m.source, key } : { source: m.source };
  }
  set(out, 'k8s_user', k?.username);
  set(out, 'verb', r?.verb);
  set(out, 'resource', r?.resource);
  set(out, 'subresource', r?.subresource);
  set(out, 'api_group', r?.apiGroup);
  set(out, 'namespace', r?.namespace);
  set(out, 'name', r?.name);
  set(out, 'request_uri', r?.requestURI);
  set(out, 'status', r?.statusCode);
  set(out, 'user_agent', r?.userAgent);
  return out;
};
