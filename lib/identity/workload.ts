/**
 * Workload identities: EKS Pod Identity associations, IRSA web-identity tokens of a cluster's OIDC
 * issuer, and the OIDC identity-provider configs that admit people without IAM (docs/formats.md §3.5,
 * §3.6). Pure helpers shared by the mapping history, the chain and the questions.
 */
import type { OidcIdentityProviderConfig } from '../sources/types.js';
import { principalMatchKey } from './arn.js';
import type { PodIdentityAssociation } from './types.js';

/** State key of an association: EKS allows one per service account and cluster. */
export const associationKey = (namespace: string, serviceAccount: string): string => `${namespace}/${serviceAccount}`;

/** Role ARNs match path-less and lower-cased, as access entries and issuances do (docs/formats.md §5.1). */
export const roleMatchKeyOf = (roleArn: string): string => principalMatchKey(roleArn) ?? roleArn.trim().toLowerCase();

/** An association with its match keys computed. */
export const withMatchKeys = (a: Omit<PodIdentityAssociation, 'roleMatchKey' | 'targetRoleMatchKey'>) => {
  const out: PodIdentityAssociation = { ...a, roleMatchKey: roleMatchKeyOf(a.roleArn) };
  if (a.targetRoleArn) out.targetRoleMatchKey = roleMatchKeyOf(a.targetRoleArn);
  return out;
};

/**
 * The role whose session a pod ends up holding: the target role when one is set (EKS assumes it
 * with the first role's session), else the association's role.
 */
export const effectiveRoleMatchKey = (a: PodIdentityAssociation): string => a.targetRoleMatchKey ?? a.roleMatchKey;

const EKS_ISSUER = /oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/id\/([A-Za-z0-9]+)/;

/**
 * `oidc.eks.<region>.amazonaws.com/id/<ID>` (lower-cased host, id as written) found in an issuer
 * URL, an IAM OIDC provider ARN, or CloudTrail's `identityProvider`; undefined for other issuers
 * (GitHub, Okta…). The same text names one cluster whatever the wrapping.
 */
export const eksIssuerKey = (text: string | undefined): string | undefined => {
  if (!text) return undefined;
  const m = EKS_ISSUER.exec(text);
  if (!m) return undefined;
  const host = m[0].slice(0, m[0].indexOf('/id/')).toLowerCase();
  return `${host}/id/${(m[2] as string).toUpperCase()}`;
};

const SA_SUBJECT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** `system:serviceaccount:<ns>:<name>`, the `sub` of a projected service-account token. */
export const serviceAccountOfSubject = (
  subject: string | undefined,
): { namespace: string; serviceAccount: string } | undefined => {
  const m = subject ? SA_SUBJECT.exec(subject.trim()) : null;
  return m ? { namespace: m[1] as string, serviceAccount: m[2] as string } : undefined;
};

/**
 * The session name EKS Pod Identity gives the role session: `eks-<cluster>-<pod>-<uuid>`, with the
 * cluster name cut to its first 10 characters and the pod name possibly cut too (docs/formats.md §3.5;
 * the cut lengths are inferred from samples, not documented). Returns what lies between `eks-` and
 * the uuid, or undefined for any other session name.
 */
export const podIdentitySessionMiddle = (session: string | undefined): string | undefined => {
  const m = session ? /^eks-(.+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(session) : null;
  return m ? (m[1] as string) : undefined;
};

/** Could this Pod Identity session name belong to a pod of this cluster (and, when given, this pod)? */
export const podSessionMatches = (session: string | undefined, cluster: string, pod?: string): boolean => {
  const middle = podIdentitySessionMiddle(session);
  if (middle === undefined) return false;
  const head = `${cluster.slice(0, 10)}-`;
  if (!middle.startsWith(head)) return false;
  const podPart = middle.slice(head.length);
  return podPart !== '' && (pod === undefined || pod.startsWith(podPart));
};

/**
 * The username prefix the API server applies for this provider. EKS passes the config to the API
 * server's OIDC authenticator, whose default (no prefix given) is `<issuerUrl>#` unless the username
 * claim is `email`; `-` turns prefixing off (docs/formats.md §3.6).
 */
export const effectiveUsernamePrefix = (c: OidcIdentityProviderConfig): string => {
  const p = c.usernamePrefix;
  if (p === '-') return '';
  if (p !== undefined) return p;
  return (c.usernameClaim ?? 'sub') === 'email' ? '' : `${c.issuerUrl}#`;
};

/** The claim value behind a username the provider admitted, or undefined when it cannot have admitted it. */
export const oidcClaimOf = (c: OidcIdentityProviderConfig, username: string): string | undefined => {
  const prefix = effectiveUsernamePrefix(c);
  if (!username.startsWith(prefix)) return undefined;
  const claim = username.slice(prefix.length);
  return claim === '' ? undefined : claim;
};

/**
 * The workload identity a chain names for pods: stable across sessions, so the human postings of one
 * service account gather under one key (`who-did --service-account`).
 */
export const workloadIdentity = (
  cluster: { accountId?: string; cluster: string } | undefined,
  namespace: string,
  serviceAccount: string,
  issuer?: string,
): string =>
  cluster
    ? `serviceaccount:${cluster.accountId ?? '_'}/${cluster.cluster}/${namespace}/${serviceAccount}`
    : `serviceaccount:${issuer ?? 'unknown-cluster'}/${namespace}/${serviceAccount}`;

/**
 * A pod's owner as its name suggests: `<deployment>-<replicaset hash>-<5>` for Deployments,
 * `<name>-<5>` for DaemonSets and Jobs, `<statefulset>-<n>` for StatefulSets. Kubernetes writes the
 * owner in `metadata.ownerReferences`, which the trail does not keep for pods; the name is a
 * convention, so what follows from it is derived, never observed.
 */
export const ownerCandidatesOfPod = (pod: string): { resource: string; group: string; name: string }[] => {
  const out: { resource: string; group: string; name: string }[] = [];
  const rs = /^(.+)-([a-z0-9]{6,10})-([a-z0-9]{5})$/.exec(pod);
  if (rs) {
    out.push({ resource: 'deployments', group: 'apps', name: rs[1] as string });
    out.push({ resource: 'replicasets', group: 'apps', name: `${rs[1]}-${rs[2]}` });
  }
  const five = /^(.+)-([a-z0-9]{5})$/.exec(pod);
  if (five) {
    out.push({ resource: 'jobs', group: 'batch', name: five[1] as string });
    out.push({ resource: 'daemonsets', group: 'apps', name: five[1] as string });
  }
  const ordinal = /^(.+)-(\d+)$/.exec(pod);
  if (ordinal) out.push({ resource: 'statefulsets', group: 'apps', name: ordinal[1] as string });
  return out;
};
