import { canonicalizeArn } from '../identity/arn.js';
import type { AwsActor } from '../sources/types.js';
import type { CorrelationEvidence, CredentialIssuance, HumanLink, Link, PrincipalLink } from './types.js';
import { type WorkloadHuman, workloadOfIssuance } from './workload.js';

/**
 * Who is behind an IAM principal (docs/design.md, principle 4: attribute by what the caller cannot choose).
 *  - IAM Identity Center roles (`AWSReservedSSO_*`): AWS sets the session name to the user, so it
 *    is trusted;
 *  - IAM users and root are the person (or at least the credential owner) themselves;
 *  - any other role session: the AssumeRole* event that issued the access key names the caller;
 *    role chaining is followed through the caller's own access key, bounded and cycle-safe;
 *  - a session name chosen by the caller is shown but never used as the human.
 */

/** Role chains longer than this are cut (AWS itself allows chaining but caps its session at 1 h). */
export const MAX_CHAIN_DEPTH = 8;

const SSO_ROLE = /^AWSReservedSSO_/i;

const roleNameOf = (arn: string | undefined): string | undefined => {
  if (!arn) return undefined;
  const c = canonicalizeArn(arn);
  return c.ok && (c.value.type === 'role' || c.value.type === 'assumed-role') ? c.value.name : undefined;
};

export const isSsoRoleArn = (arn: string | undefined): boolean => SSO_ROLE.test(roleNameOf(arn) ?? '');

export interface HumanResult {
  link: Link<HumanLink>;
  /** True when the answer may still change because an issuance event has not arrived yet. */
  pending: boolean;
}

const unknown = (why: string, pending: boolean, evidence: string[] = []): HumanResult => ({
  link: { status: 'unknown', why, evidence },
  pending,
});

const actorArn = (a: AwsActor): string | undefined => a.arn ?? a.canonicalArn ?? a.sessionIssuerArn;

interface Trace {
  human?: HumanLink;
  /** Intermediate role sessions, innermost first while tracing (reversed on output). */
  hops: string[];
  issuances: CredentialIssuance[];
  why: string[];
  pending: boolean;
  /** Set when the chain ends at an AWS service (e.g. ec2.amazonaws.com): a workload, not a person. */
  service?: string;
  /** Set when the chain ends at a pod (EKS Pod Identity or IRSA): the workload link. */
  workload?: WorkloadHuman;
}

/** The human a caller represents, when the caller itself says it (no further lookup needed). */
const humanOfActor = (caller: AwsActor): HumanLink | undefined => {
  const t = caller.type;
  if (t === 'IAMUser' && caller.arn) return { identity: caller.arn, via: 'iam-user' };
  if (t === 'Root') return { identity: caller.arn ?? `root of ${caller.accountId ?? 'unknown account'}`, via: 'root' };
  if (
    t === 'AssumedRole' &&
    caller.sessionName &&
    (isSsoRoleArn(caller.sessionIssuerArn) || isSsoRoleArn(caller.arn))
  ) {
    return { identity: caller.identityStoreUserId ?? caller.sessionName, via: 'sso-session' };
  }
  if (t === 'IdentityCenterUser' && (caller.identityStoreUserId || caller.userName)) {
    return { identity: (caller.userName ?? caller.identityStoreUserId) as string, via: 'sso-session' };
  }
  return undefined;
};

/** Follow AssumeRole* issuances from `accessKeyId` back to a person (or as far as the evidence goes). */
const trace = (accessKeyId: string, evidence: CorrelationEvidence): Trace | undefined => {
  const first = evidence.credentialFor(accessKeyId);
  if (!first) return undefined;
  const t: Trace = { hops: [], issuances: [], why: [], pending: false };
  const seen = new Set<string>([accessKeyId]);
  let iss: CredentialIssuance | undefined = first;
  for (let depth = 0; iss && depth < MAX_CHAIN_DEPTH; depth++) {
    t.issuances.push(iss);
    // A key EKS issued to a pod names the pod before anything else: IRSA is a web identity, Pod
    // Identity an AWS service call, and both would otherwise end the trace without a workload.
    const w = workloadOfIssuance(iss, evidence);
    if (w) {
      t.workload = w;
      t.human = w.human;
      return t;
    }
    if (iss.api === 'AssumeRoleWithSAML') {
      if (iss.subject) {
        t.human = { identity: iss.subject, via: 'saml' };
        return t;
      }
      t.why.push(`AssumeRoleWithSAML ${iss.sourceEventId} carries no SAML subject`);
      break;
    }
    if (iss.api === 'AssumeRoleWithWebIdentity') {
      if (iss.subject) {
        t.human = { identity: iss.subject, via: 'web-identity' };
        return t;
      }
      t.why.push(`AssumeRoleWithWebIdentity ${iss.sourceEventId} carries no subject`);
      break;
    }
    const caller = iss.caller;
    const direct = humanOfActor(caller);
    if (direct) {
      t.human = direct;
      return t;
    }
    const callerArn = actorArn(caller);
    if (caller.type === 'AssumedRole' && caller.accessKeyId) {
      if (callerArn) t.hops.push(callerArn);
      if (seen.has(caller.accessKeyId)) {
        t.why.push(`role chain loops back to access key ${caller.accessKeyId}`);
        break;
      }
      seen.add(caller.accessKeyId);
      const next = evidence.credentialFor(caller.accessKeyId);
      if (!next) {
        t.why.push(`no AssumeRole* issuance known yet for the caller's access key ${caller.accessKeyId}`);
        t.pending = true;
        break;
      }
      iss = next;
      continue;
    }
    if (caller.type === 'AWSService') {
      // EC2 instance profiles, Lambda, ECS tasks…: the service assumed the role for a workload. No
      // person is behind the session, so there is no human to name (the issuance stays as evidence).
      t.service = caller.invokedBy ?? caller.principalId ?? 'an AWS service';
      return t;
    }
    t.human = { identity: callerArn ?? caller.principalId ?? 'unknown caller', via: 'assume-role-caller' };
    if (!caller.accessKeyId) t.why.push('the caller has no access key in CloudTrail, so it cannot be traced further');
    return t;
  }
  if (t.issuances.length >= MAX_CHAIN_DEPTH && !t.human) t.why.push(`role chain longer than ${MAX_CHAIN_DEPTH} hops`);
  // Cut short: the outermost caller reached is the best attribution we have.
  const last = t.issuances[t.issuances.length - 1] as CredentialIssuance;
  const outer = t.hops.length > 0 ? t.hops.pop() : actorArn(last.caller);
  t.human = { identity: outer ?? 'unknown caller', via: 'assume-role-caller' };
  return t;
};

/** The human link of a session issued to a pod: the workload, with how each part is known. */
const workloadResult = (accessKeyId: string, t: Trace, sessionNote: string): HumanResult => {
  const w = t.workload as WorkloadHuman;
  const first = t.issuances[0] as CredentialIssuance;
  const hops = [...t.hops].reverse();
  const value: HumanLink = { ...w.human, credentialEventId: first.sourceEventId };
  if (hops.length > 0) value.chain = hops;
  const why = [
    ...(hops.length > 0
      ? [
          `access key ${accessKeyId} was issued by ${first.api} ${first.sourceEventId}; role chain through ${hops.join(' -> ')}`,
        ]
      : []),
    ...w.why,
    ...t.why,
  ].join('; ');
  const evidence = t.issuances.map((i) => `cloudtrail:${i.sourceEventId}`);
  const a = w.human.workload?.association;
  if (a?.sourceEventId) evidence.push(`mapping:${a.sourceEventId}`);
  return {
    link: { status: w.status, value, why: `${why}${sessionNote}`, evidence },
    pending: w.pending || t.pending,
  };
};

/** The human link for an IAM principal link (non-IAM principals have none). */
export const humanFor = (principal: Link<PrincipalLink>, evidence: CorrelationEvidence): HumanResult => {
  const p = principal.value;
  if (!p) return unknown('no principal, so no human', false);
  switch (p.type) {
    case 'service-account':
      return unknown(
        `no human: a workload's service-account token${p.serviceAccount?.podName ? ` (pod ${p.serviceAccount.podName})` : ''}`,
        false,
      );
    case 'anonymous':
      return unknown('no human: the request carried no credentials', false);
    case 'k8s-internal':
      return unknown('no human: a Kubernetes / EKS component identity', false);
    case 'oidc-user':
      if (p.oidc) {
        return {
          link: {
            status: 'derived',
            value: { identity: p.oidc.claim, via: 'oidc' },
            why: `the ${p.oidc.provider} identity provider (${p.oidc.issuerUrl}) vouched for ${p.oidc.claim}; the claim is the person's identity at that provider`,
            evidence: [...principal.evidence],
          },
          pending: false,
        };
      }
      return unknown('an OIDC user whose provider is not known', false);
    default:
      break;
  }
  if (p.type === 'user' && p.canonicalArn) {
    return {
      link: {
        status: principal.status === 'observed' ? 'observed' : 'derived',
        value: { identity: p.canonicalArn, via: 'iam-user' },
        why: 'an IAM user authenticates as itself (long-term credentials)',
        evidence: [...principal.evidence],
      },
      pending: false,
    };
  }
  if (p.type === 'root' && p.canonicalArn) {
    return {
      link: {
        status: principal.status === 'observed' ? 'observed' : 'derived',
        value: { identity: p.canonicalArn, via: 'root' },
        why: 'the account root user',
        evidence: [...principal.evidence],
      },
      pending: false,
    };
  }
  const ssoIssuance = p.accessKeyId ? evidence.credentialFor(p.accessKeyId) : undefined;
  if (isSsoRoleArn(p.canonicalArn) && p.sessionName) {
    const value: HumanLink = { identity: p.sessionName, via: 'sso-session' };
    const ev = ['audit:user.extra.sessionName'];
    if (ssoIssuance) {
      value.credentialEventId = ssoIssuance.sourceEventId;
      ev.push(`cloudtrail:${ssoIssuance.sourceEventId}`);
    }
    return {
      link: {
        status: principal.status === 'observed' ? 'observed' : 'derived',
        value,
        why: `IAM Identity Center permission-set role: AWS sets the session name to the signed-in user (${p.sessionName})`,
        evidence: ev,
      },
      pending: false,
    };
  }
  const sessionNote = p.sessionName
    ? `; the session name ${JSON.stringify(p.sessionName)} is chosen by the caller and not trusted`
    : '';
  if (p.type === 'unknown' && !p.canonicalArn && !p.accessKeyId && !p.principalId && !p.accountId) {
    return unknown('no human can be traced: the record names no IAM identity (see the principal link)', false);
  }
  if (!p.accessKeyId) {
    return unknown(
      `user.extra names no access key, so the AssumeRole* issuance that names the caller cannot be looked up (possible causes: an authenticator older than v0.5.1, which did not write it, or a truncated audit event)${sessionNote}`,
      false,
    );
  }
  const t = trace(p.accessKeyId, evidence);
  if (t?.service) {
    const first = t.issuances[0] as CredentialIssuance;
    return unknown(
      `no human: access key ${p.accessKeyId} was issued by ${first.api} ${first.sourceEventId} to the AWS service ${t.service}, acting for a workload${sessionNote}`,
      false,
      t.issuances.map((i) => `cloudtrail:${i.sourceEventId}`),
    );
  }
  if (!t?.human) {
    return unknown(
      `no AssumeRole* issuance known yet for access key ${p.accessKeyId} (the STS CloudTrail event may still arrive)${sessionNote}`,
      true,
    );
  }
  if (t.workload) return workloadResult(p.accessKeyId, t, sessionNote);
  const value: HumanLink = { ...t.human };
  const firstIssuance = t.issuances[0] as CredentialIssuance;
  value.credentialEventId = firstIssuance.sourceEventId;
  // Hops were collected from the request's session outwards; report the outermost (closest to the person) first.
  const hops = [...t.hops].reverse();
  if (hops.length > 0) value.chain = hops;
  // AWS keeps a source identity across role chaining and the caller cannot change it once set.
  const sourceIdentity = t.issuances.map((i) => i.sourceIdentity).find((s) => s);
  if (value.via === 'assume-role-caller' && sourceIdentity) {
    value.identity = sourceIdentity;
    value.via = 'source-identity';
  }
  const why = [
    `access key ${p.accessKeyId} was issued by ${firstIssuance.api} ${firstIssuance.sourceEventId} at ${firstIssuance.issuedAt}`,
    hops.length > 0 ? `role chain through ${hops.join(' -> ')}` : undefined,
    ...t.why,
  ]
    .filter((x): x is string => !!x)
    .join('; ');
  return {
    link: {
      status: 'derived',
      value,
      why: `${why}${sessionNote}`,
      evidence: t.issuances.map((i) => `cloudtrail:${i.sourceEventId}`),
    },
    pending: t.pending,
  };
};
