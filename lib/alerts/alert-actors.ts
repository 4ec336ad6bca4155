import { humanFor } from '../chain/human.js';
import type { CorrelationEvidence, CredentialIssuance, PrincipalLink } from '../chain/types.js';
import { canonicalizeArn, splitArn } from '../identity/arn.js';
import type { MappingActor } from '../identity/types.js';
import type { AlertActor } from './types.js';

/** Who made a mapping change, as an alert names them, and the human behind that actor when known. */
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
