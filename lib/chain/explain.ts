import { describeReason } from '../authz/reason.js';
import type { MissingPermission } from '../authz/types.js';
import type { AccessPolicyAssociation, MappingActor } from '../identity/types.js';
import type {
  DecisionChain,
  DecisionLink,
  HumanLink,
  K8sIdentityLink,
  Link,
  MappingLink,
  PrincipalLink,
  RequestLink,
} from './types.js';

/**
 * Plain-text rendering of a chain, link by link, each marked observed / derived / unknown with its
 * why and evidence: what the CLI's `explain` prints. Deterministic (no clock, stable field order).
 */

const policyName = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

const scopeText = (a: AccessPolicyAssociation): string =>
  a.scope.type === 'cluster' ? 'cluster scope' : `namespaces ${a.scope.namespaces.join(', ') || '(none)'}`;

const list = (xs: readonly string[] | undefined): string => `[${(xs ?? []).join(', ')}]`;

const actorText = (a: MappingActor | undefined): string | undefined => {
  if (!a) return undefined;
  const aws = a.aws?.arn ?? a.aws?.canonicalArn;
  if (aws) return aws;
  if (a.k8sUsername) return `k8s user ${a.k8sUsername}${a.k8sCanonicalArn ? ` (${a.k8sCanonicalArn})` : ''}`;
  return undefined;
};

const principalText = (p: PrincipalLink): string => {
  if (p.type === 'service-account' && p.serviceAccount) {
    const sa = p.serviceAccount;
    const pod = sa.podName ? ` in pod ${sa.podName}` : '';
    return `service account ${sa.namespace}/${sa.name}${pod}`;
  }
  if (p.type === 'anonymous') return 'anonymous (no credentials)';
  if (p.type === 'k8s-internal') return 'Kubernetes / EKS component (no IAM principal)';
  if (p.type === 'oidc-user' && p.oidc) {
    return `OIDC user ${p.oidc.claim} of provider ${p.oidc.provider} (${p.oidc.issuerUrl}); no IAM principal`;
  }
  const parts = [`${p.type} ${p.canonicalArn ?? '(ARN unknown)'}`];
  const details: string[] = [];
  if (p.stsArn && p.stsArn !== p.canonicalArn) details.push(`session ARN ${p.stsArn}`);
  if (p.principalId) details.push(`principal id ${p.principalId}`);
  if (p.accountId) details.push(`account ${p.accountId}`);
  if (p.accessKeyId) details.push(`access key ${p.accessKeyId}`);
  if (p.sessionName) details.push(`session name ${JSON.stringify(p.sessionName)}`);
  if (details.length) parts.push(`(${details.join(', ')})`);
  return parts.join(' ');
};

const VIA: Record<HumanLink['via'], string> = {
  'sso-session': 'IAM Identity Center session',
  'iam-user': 'IAM user',
  'assume-role-caller': 'caller of AssumeRole',
  saml: 'SAML subject',
  'web-identity': 'web identity subject',
  'source-identity': 'STS source identity',
  root: 'account root',
  'pod-identity': 'EKS Pod Identity session of a pod',
  irsa: 'IRSA web identity of a pod',
  oidc: 'OIDC identity provider user',
};

/** The workload lines: pod, association or trust, and the people behind them. */
export const workloadLines = (h: HumanLink): string[] => {
  const w = h.workload;
  if (!w) return [];
  const where = w.cluster ? `cluster ${w.accountId ? `${w.accountId}/` : ''}${w.cluster}` : 'cluster unknown';
  const out = [
    `workload: ${where}, namespace ${w.namespace}, service account ${w.serviceAccount}${
      w.pod ? `, pod ${w.pod}${w.podStatus === 'derived' ? ' (derived)' : ''}` : ', pod not named by the evidence'
    }`,
  ];
  const a = w.association;
  if (a) {
    out.push(
      `association ${a.associationId ?? '(id unknown)'} [${a.status}] -> ${a.roleArn}${
        a.targetRoleArn ? ` then ${a.targetRoleArn}` : ''
      }${a.createdBy ? `, created ${a.createdAt ?? ''} by ${a.createdBy}${a.createdByHuman ? ` (${a.createdByHuman})` : ''}` : ''}`,
    );
  }
  if (w.trust) out.push(`IRSA trust: issuer ${w.trust.issuer}, subject ${w.trust.subject}`);
  const d = w.deployedBy;
  if (d) {
    out.push(
      `deployed by [${d.status}]: ${d.human ?? d.username ?? '(unknown)'}${d.verb ? ` ${d.verb}` : ''} ${d.owner}${
        d.at ? ` at ${d.at}` : ''
      }${d.auditID ? ` (audit ${d.auditID})` : ''}`,
    );
  }
  return out;
};

const humanText = (h: HumanLink): string => {
  const chain = h.chain?.length ? `, role chain ${h.chain.join(' -> ')}` : '';
  const ev = h.credentialEventId ? `, credentials from CloudTrail ${h.credentialEventId}` : '';
  return `${h.identity} via ${VIA[h.via]}${chain}${ev}`;
};

const SOURCE: Record<MappingLink['source'], string> = {
  'access-entry': 'EKS access entry',
  'aws-auth-role': 'aws-auth mapRoles row',
  'aws-auth-user': 'aws-auth mapUsers row',
  'aws-auth-account': 'aws-auth mapAccounts (auto-mapped to the ARN)',
  'cluster-creator': 'cluster creator grant',
  'eks-internal': 'EKS-internal identity',
  'oidc-provider': 'OIDC identity provider config',
  unmapped: 'no mapping',
  'service-account': 'service-account token (no IAM mapping)',
  anonymous: 'anonymous (no mapping)',
  'static-file': 'authenticator static file',
  certificate: 'client certificate (no IAM mapping)',
};

const mappingLines = (m: MappingLink): string[] => {
  const out = [SOURCE[m.source]];
  if (m.oidcProvider) {
    const o = m.oidcProvider;
    out.push(
      `provider ${o.name} issuer ${o.issuerUrl}${o.clientId ? ` client ${o.clientId}` : ''}, username claim ${o.usernameClaim} prefix ${JSON.stringify(o.usernamePrefix)}${
        o.groupsClaim ? `, groups claim ${o.groupsClaim} prefix ${JSON.stringify(o.groupsPrefix ?? '')}` : ''
      }`,
    );
  }
  if (m.accessEntry) {
    const e = m.accessEntry;
    out.push(
      `access entry ${e.principalArn} (type ${e.type}${e.username ? `, username ${e.username}` : ''}, kubernetesGroups ${list(e.kubernetesGroups)})`,
    );
    out.push(
      e.policies.length
        ? `access policies: ${e.policies.map((p) => `${policyName(p.policyArn)} (${scopeText(p)})`).join('; ')}`
        : 'access policies: none',
    );
  }
  if (m.awsAuthRow) {
    const r = m.awsAuthRow;
    out.push(
      `aws-auth ${r.kind === 'role' ? 'mapRoles' : 'mapUsers'}[${r.index}] ${r.arn} -> username ${r.username ?? '(ARN)'}, groups ${list(r.groups)}${
        r.flags.length ? ` [${r.flags.join(', ')}]` : ''
      }`,
    );
  }
  if (m.username !== undefined || m.groups?.length) {
    out.push(`yields username ${m.username ?? '?'}, groups ${list(m.groups)}`);
  }
  const since = [
    m.since ? `since ${m.since}` : '',
    actorText(m.actor) ? `by ${actorText(m.actor)}` : '',
    m.sourceEventId ? `(event ${m.sourceEventId})` : '',
  ]
    .filter(Boolean)
    .join(' ');
  if (since) out.push(since);
  for (const s of m.shadowed ?? []) out.push(`shadowed: ${s.source}: ${s.why}`);
  return out;
};

const k8sText = (k: K8sIdentityLink): string[] => {
  const out = [`username ${k.username ?? '(none)'}, groups ${list(k.groups)}${k.uid ? `, uid ${k.uid}` : ''}`];
  if (k.impersonated) {
    out.push(
      `impersonating ${k.impersonated.username ?? '(none)'}, groups ${list(k.impersonated.groups)} (authorization used this identity)`,
    );
  }
  return out;
};

const missingText = (m: MissingPermission): string => {
  if (m.scope === 'path') return `${m.username} cannot ${m.verb} path ${m.path ?? '?'}`;
  const res = `${m.resource ?? '?'}${m.subresource ? `/${m.subresource}` : ''}`;
  const group = m.apiGroup ? `.${m.apiGroup}` : '';
  const where = m.scope === 'namespace' ? `in namespace ${m.namespace ?? '?'}` : 'at cluster scope';
  return `${m.username} cannot ${m.verb} ${res}${group}${m.name ? ` ${m.name}` : ''} ${where}`;
};

const decisionLines = (d: DecisionLink): string[] => {
  const out = [`${d.outcome} (authorizer: ${d.authorizer})`];
  if (d.reason && d.outcome === 'allow') out.push(describeReason(d.reason));
  else if (d.rawReason && d.outcome !== 'forbid') out.push(`reason: ${JSON.stringify(d.rawReason)}`);
  if (d.accessPolicy) {
    out.push(
      `access policy ${policyName(d.accessPolicy.policyArn)} on ${d.accessPolicy.principalArn}, ${scopeText(d.accessPolicy)}`,
    );
  }
  if (d.denial) {
    out.push(`failed stage: ${d.denial.stage}${d.denial.failureClass ? ` (${d.denial.failureClass})` : ''}`);
    if (d.denial.message) out.push(`message: ${d.denial.message}`);
    if (d.denial.missing) out.push(`missing: ${missingText(d.denial.missing)}`);
    if (d.denial.explanation) out.push(`explanation (derived): ${d.denial.explanation}`);
    if (d.outcome === 'forbid' && d.rawReason) out.push(`reason: ${JSON.stringify(d.rawReason)}`);
  }
  return out;
};

const requestText = (r: RequestLink): string[] => {
  const target = [
    r.resource
      ? `${r.resource}${r.subresource ? `/${r.subresource}` : ''}${r.apiGroup ? `.${r.apiGroup}` : ''}`
      : undefined,
    r.namespace ? `namespace ${r.namespace}` : undefined,
    r.name ? `name ${r.name}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const out = [`${r.verb ?? '?'} ${r.requestURI ?? ''}`.trim()];
  if (target) out.push(target);
  out.push(
    [
      r.statusCode !== undefined ? `status ${r.statusCode}` : undefined,
      r.sourceIPs.length ? `from ${r.sourceIPs.join(', ')}` : undefined,
      r.userAgent ? `user agent ${JSON.stringify(r.userAgent)}` : undefined,
    ]
      .filter(Boolean)
      .join(', '),
  );
  const meta = [
    r.stage ? `stage ${r.stage}` : undefined,
    r.level ? `level ${r.level}` : undefined,
    r.truncated ? 'TRUNCATED' : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  if (meta) out.push(meta);
  return out.filter((l) => l.length > 0);
};

const section = <T>(n: number, title: string, link: Link<T>, body: (v: T) => string[]): string[] => {
  const head = `${n}. ${title} [${link.status}]`;
  const lines = link.value !== undefined ? body(link.value) : [];
  const out = [lines.length ? `${head} ${lines[0]}` : head];
  for (const l of lines.slice(1)) out.push(`     ${l}`);
  out.push(`     why: ${link.why}`);
  if (link.evidence.length) out.push(`     evidence: ${link.evidence.join(', ')}`);
  return out;
};

/** Render a chain as plain text, one numbered section per link. */
export const renderChain = (chain: DecisionChain): string => {
  const lines: string[] = [];
  lines.push(
    `chain ${chain.chainId} (${chain.kind}) at ${chain.at || '(time unknown)'}, cluster ${chain.cluster}${
      chain.accountId ? ` (account ${chain.accountId})` : ''
    }`,
  );
  if (chain.pendingEnrichment) {
    lines.push('  pending enrichment: some links are unknown only because related events have not arrived yet');
  }
  lines.push(...section(1, 'principal', chain.principal, (p) => [principalText(p)]));
  lines.push(...section(2, 'human', chain.human, (h) => [humanText(h), ...workloadLines(h)]));
  lines.push(...section(3, 'mapping', chain.mapping, mappingLines));
  lines.push(...section(4, 'k8s identity', chain.k8sIdentity, k8sText));
  lines.push(...section(5, 'decision', chain.decision, decisionLines));
  lines.push(...section(6, 'request', chain.request, requestText));
  return `${lines.join('\n')}\n`;
};
