/**
 * Helpers shared by the mapping-change rules, the posture report and first-use tracking: which
 * identities EKS manages itself, mapping keys, suppression globs and the actor / human of a change.
 */
import { humanFor } from '../chain/human.js';
import type { CorrelationEvidence, CredentialIssuance, DecisionChain, PrincipalLink } from '../chain/types.js';
import { canonicalizeArn, splitArn } from '../identity/arn.js';
import { accessEntryMatchKey } from '../identity/mapping-changes.js';
import type { AwsAuthRow, ClusterMappingState, MappingActor } from '../identity/types.js';
import type { AlertActor, AlertSuppression } from './types.js';

// ---------------------------------------------------------------------------------------------
// EKS-managed identities
// ---------------------------------------------------------------------------------------------

/**
 * Roles EKS uses to run the cluster (docs/formats.md §1.3 hosted-EKS observations): the AWS-owned
 * `AWSWesleyClusterManagerLambda-*` roles behind eks:addon-manager / node-manager / fargate-manager,
 * and the EKS service-linked roles (`AWSServiceRoleForAmazonEKS`, `…Nodegroup`, `…ForFargate`, …).
 */
const EKS_MANAGED_ROLE = [/^AWSWesleyClusterManagerLambda-/i, /^AWSServiceRoleForAmazonEKS/i];

/** Service-linked roles live under this IAM path; AWS owns their policies, the customer cannot edit them. */
const SERVICE_ROLE_PATH = /:role\/aws-service-role\//i;

/** True for principals EKS manages itself: mapping them is not a risk the customer can act on. */
export const isEksManagedPrincipal = (arn: string | undefined): boolean => {
  if (!arn) return false;
  if (SERVICE_ROLE_PATH.test(arn)) return true;
  const c = canonicalizeArn(arn);
  const name = c.ok ? c.value.name : (arn.split('/').pop() ?? '');
  return EKS_MANAGED_ROLE.some((re) => re.test(name));
};

/** `eks:` usernames are reserved for EKS components (access entries refuse them for customers). */
export const isEksManagedUsername = (username: string | undefined): boolean => username?.startsWith('eks:') === true;

export const isEksManagedRow = (row: AwsAuthRow): boolean =>
  isEksManagedPrincipal(row.arn) || isEksManagedUsername(row.username);

/** The call was made by an AWS service (e.g. EKS creating node-group access entries), not a person. */
export const isAwsServiceActor = (actor: MappingActor): boolean => {
  const aws = actor.aws;
  if (!aws) return false;
  if (aws.type === 'AWSService') return true;
  return typeof aws.invokedBy === 'string' && /\.amazonaws\.com$/i.test(aws.invokedBy);
};

// ---------------------------------------------------------------------------------------------
// Mapping keys: which mapping a request used, and which mapping a state row is
// ---------------------------------------------------------------------------------------------

export const accessEntryMappingKey = (principalArnOrMatchKey: string): string =>
  `access-entry:${accessEntryMatchKey(principalArnOrMatchKey)}`;

export const awsAuthRowMappingKey = (row: Pick<AwsAuthRow, 'kind' | 'matchKey'>): string =>
  `aws-auth-${row.kind}:${row.matchKey}`;

export const awsAuthAccountMappingKey = (accountId: string): string => `aws-auth-account:${accountId}`;

export const creatorMappingKey = (canonicalArn: string | undefined): string =>
  `cluster-creator:${canonicalArn ? accessEntryMatchKey(canonicalArn) : 'unknown'}`;

/**
 * The mapping a chain's request went through, as a stable key (undefined for service accounts,
 * anonymous, EKS-internal and unmapped requests: they use no customer mapping).
 */
export const mappingKeyOfChain = (chain: DecisionChain): string | undefined => {
  const m = chain.mapping.value;
  if (!m) return undefined;
  const principal = chain.principal.value;
  switch (m.source) {
    case 'access-entry':
      return m.accessEntry ? accessEntryMappingKey(m.accessEntry.principalArn) : undefined;
    case 'aws-auth-role':
    case 'aws-auth-user':
      return m.awsAuthRow ? awsAuthRowMappingKey(m.awsAuthRow) : undefined;
    case 'aws-auth-account':
      return principal?.accountId ? awsAuthAccountMappingKey(principal.accountId) : undefined;
    case 'cluster-creator':
      // In API modes the creator is an ordinary (bootstrap) access entry.
      if (m.accessEntry) return accessEntryMappingKey(m.accessEntry.principalArn);
      return creatorMappingKey(principal?.canonicalArn);
    default:
      return undefined;
  }
};

/** When and by whom the mapping a chain used was put in force, read from the mapping state. */
export const mappingOrigin = (
  state: ClusterMappingState,
  mappingKey: string,
): { since: string; actor?: MappingActor; sourceEventId?: string } | undefined => {
  const [kind, ...rest] = mappingKey.split(':');
  const key = rest.join(':');
  if (kind === 'access-entry') {
    const e = state.accessEntries.get(key);
    return e ? { since: e.since, actor: e.actor, sourceEventId: e.sourceEventId } : undefined;
  }
  if (kind === 'aws-auth-role' || kind === 'aws-auth-user' || kind === 'aws-auth-account') {
    const a = state.awsAuth;
    return a ? { since: a.since, actor: a.actor, sourceEventId: a.sourceEventId } : undefined;
  }
  if (kind === 'cluster-creator' && state.creator) {
    return {
      since: state.creator.since,
      sourceEventId: state.creator.sourceEventId,
      actor: { aws: state.creator.actor },
    };
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// Suppressions
// ---------------------------------------------------------------------------------------------

const globCache = new Map<string, RegExp>();

/** `*` = any run of characters, `?` = one character; case-insensitive like IAM names. Whole-string match. */
export const globMatches = (glob: string, text: string): boolean => {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 'is');
    globCache.set(glob, re);
  }
  return re.test(text);
};

export interface SuppressionSubject {
  ruleId: string;
  cluster: string;
  /** Every principal ARN the alert is about (the mapped principal, the actor); any may match. */
  principals: (string | undefined)[];
}

/** True when some suppression rule matches every field it names. A rule naming nothing matches nothing. */
export const isSuppressed = (suppressions: readonly AlertSuppression[], s: SuppressionSubject): boolean =>
  suppressions.some((rule) => {
    if (rule.ruleId === undefined && rule.principal === undefined && rule.cluster === undefined) return false;
    if (rule.ruleId !== undefined && rule.ruleId !== s.ruleId) return false;
    if (rule.cluster !== undefined && !globMatches(rule.cluster, s.cluster)) return false;
    if (rule.principal !== undefined) {
      const glob = rule.principal;
      if (!s.principals.some((p) => p !== undefined && globMatches(glob, p))) return false;
    }
    return true;
  });

// ---------------------------------------------------------------------------------------------
// Actor and human
// ---------------------------------------------------------------------------------------------

export const alertActorOf = (actor: MappingActor): AlertActor => {
  const out: AlertActor = {};
  const aws = actor.aws;
  if (aws?.arn) out.awsArn = aws.arn;
  const canonical = aws?.canonicalArn ?? actor.k8sCanonicalArn;
  if (canonical) out.canonicalArn = canonical;
  if (aws?.accessKeyId) out.accessKeyId = aws.accessKeyId;
  if (aws?.accountId) out.accountId = aws.accountId;
  if (actor.k8sUsername) out.k8sUsername = actor.k8sUsername;
  if (aws?.invokedBy) out.invokedBy = aws.invokedBy;
  return out;
};

/** One line naming the actor, for titles and bodies. */
export const describeActor = (actor: AlertActor): string => {
  const who = actor.awsArn ?? actor.canonicalArn ?? actor.k8sUsername;
  const parts = [who ?? 'unknown actor'];
  if (actor.k8sUsername && who !== actor.k8sUsername) parts.push(`(k8s user ${actor.k8sUsername})`);
  if (actor.invokedBy) parts.push(`via ${actor.invokedBy}`);
  return parts.join(' ');
};

const PRINCIPAL_TYPE: Record<string, PrincipalLink['type']> = {
  AssumedRole: 'assumed-role',
  IAMUser: 'user',
  Root: 'root',
  FederatedUser: 'federated-user',
};

/**
 * The person behind the actor of a change: SSO session user, IAM user, or the AssumeRole* caller of
 * the actor's access key (followed through role chains) when that issuance is known.
 */
export const humanBehind = (
  actor: MappingActor,
  credentialFor: ((accessKeyId: string) => CredentialIssuance | undefined) | undefined,
): string | undefined => {
  const aws = actor.aws;
  if (!aws) return undefined;
  if (aws.type === 'IdentityCenterUser') return aws.userName ?? aws.identityStoreUserId;
  const arn = aws.arn ?? aws.canonicalArn ?? actor.k8sCanonicalArn;
  const canonical = arn ? canonicalizeArn(arn) : undefined;
  const principal: PrincipalLink = {
    type: canonical?.ok ? canonical.value.type : (PRINCIPAL_TYPE[aws.type] ?? 'unknown'),
  };
  if (aws.arn) principal.stsArn = aws.arn;
  const canonicalArn = canonical?.ok ? canonical.value.canonicalArn : aws.canonicalArn;
  if (canonicalArn) principal.canonicalArn = canonicalArn;
  if (aws.accessKeyId) principal.accessKeyId = aws.accessKeyId;
  if (aws.accountId) principal.accountId = aws.accountId;
  const session = aws.sessionName ?? (canonical?.ok ? canonical.value.sessionName : undefined);
  if (session) principal.sessionName = session;
  // humanFor only looks credentials up; the mapping state is never consulted for a human.
  const evidence: CorrelationEvidence = {
    mappingStateAt: () => {
      throw new Error('mapping state is not available when attributing an alert actor');
    },
    credentialFor: (key) => credentialFor?.(key),
  };
  const result = humanFor({ status: 'observed', value: principal, why: 'change actor', evidence: [] }, evidence);
  return result.link.value?.identity;
};

/** The account id of an ARN, if it names one (12 digits). */
export const accountOfArn = (arn: string | undefined): string | undefined => {
  const id = arn ? splitArn(arn.trim())?.accountId : undefined;
  return id && /^\d{12}$/.test(id) ? id : undefined;
};
