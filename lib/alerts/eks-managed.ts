import { canonicalizeArn } from '../identity/arn.js';
import type { AwsAuthRow, MappingActor } from '../identity/types.js';

/**
 * Identities EKS manages itself: mapping them is not a risk the customer can act on, so the rules and
 * the posture report leave them out.
 */
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
