import { createHash } from 'node:crypto';
import type { AwsSecurityFinding, Resource, SeverityLabel } from '@aws-sdk/client-securityhub';
import { describeActor } from './alert-actors.js';
import type { Alert, MappingRuleId, Severity } from './types.js';

/**
 * An alert as an AWS Security Finding Format finding, imported into Security Hub through the
 * account's default product (a custom integration): docs/alert-events.md, "Security Hub".
 *
 * - Security Hub takes a default-product finding only from the account it names (`AwsAccountId` is
 *   the calling account: the security account), so the cluster's own account is in the resource ARN.
 * - `Id` is derived from the alert id: re-importing the same alert (a retried delivery) updates the
 *   one finding instead of adding a second.
 * - Finding providers set severity and types through `FindingProviderFields`; the top-level fields
 *   carry the same values for consumers that read those.
 */

export const ASFF_SCHEMA_VERSION = '2018-10-08';

const SEVERITY_LABEL: Record<Severity, SeverityLabel> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  low: 'LOW',
  info: 'INFORMATIONAL',
};

/**
 * ASFF types (`namespace/category/classifier`): what each rule suggests about the change, not proof of
 * intent. A change that grants or widens access is a possible persistence or privilege step; one that
 * hides activity (logging off, a short-lived entry) a possible evasion.
 */
const RULE_TYPES: Record<MappingRuleId, string> = {
  'access-entry-created': 'TTPs/Persistence/EKS access entry created',
  'access-entry-updated': 'TTPs/Persistence/EKS access entry changed',
  'access-entry-deleted': 'Software and Configuration Checks/AWS Security Best Practices/EKS access entry deleted',
  'access-entry-churn': 'TTPs/Defense Evasion/EKS access entry created and deleted within the hour',
  'access-policy-associated': 'TTPs/Privilege Escalation/EKS access policy associated',
  'access-policy-disassociated':
    'Software and Configuration Checks/AWS Security Best Practices/EKS access policy disassociated',
  'aws-auth-created': 'TTPs/Persistence/EKS aws-auth created',
  'aws-auth-edited': 'TTPs/Persistence/EKS aws-auth edited',
  'aws-auth-deleted': 'Effects/Denial of Service/EKS aws-auth deleted',
  'aws-auth-unparseable': 'Effects/Denial of Service/EKS aws-auth unparseable',
  'system-masters-mapping': 'TTPs/Privilege Escalation/EKS mapping to system:masters',
  'untrusted-account-mapping': 'TTPs/Initial Access/EKS mapping admits an untrusted account',
  'aws-auth-map-accounts': 'TTPs/Privilege Escalation/EKS aws-auth mapAccounts',
  'auth-mode-changed': 'Software and Configuration Checks/AWS Security Best Practices/EKS authentication mode changed',
  'control-plane-logging-disabled': 'TTPs/Defense Evasion/EKS control-plane logging disabled',
  'cluster-created-creator-admin':
    'Software and Configuration Checks/AWS Security Best Practices/EKS cluster creator is cluster admin',
  'new-mapping-first-use': 'Unusual Behaviors/User/First use of a new EKS identity mapping',
  'pod-identity-association-created': 'TTPs/Persistence/EKS Pod Identity association created',
  'pod-identity-association-updated': 'TTPs/Persistence/EKS Pod Identity association changed',
  'pod-identity-association-deleted':
    'Software and Configuration Checks/AWS Security Best Practices/EKS Pod Identity association deleted',
  'pod-identity-escalation': 'TTPs/Privilege Escalation/EKS Pod Identity association to a cluster-admin role',
  'pod-identity-cross-account-target': 'TTPs/Lateral Movement/EKS Pod Identity target role in another account',
  'pod-identity-session-tags-disabled':
    'Software and Configuration Checks/AWS Security Best Practices/EKS Pod Identity session tags disabled',
  'identity-provider-associated': 'TTPs/Initial Access/EKS OIDC identity provider associated',
  'identity-provider-disassociated':
    'Software and Configuration Checks/AWS Security Best Practices/EKS OIDC identity provider disassociated',
};

export interface AsffOptions {
  /** `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`. */
  productArn: string;
  /** When the finding is imported (UpdatedAt); the caller's clock, never read here. */
  now: string;
  /** The cluster's ARN when its region is known. */
  clusterArn?: string;
}

/** Parts of a default-product ARN: the partition, region and (calling) account of the import. */
export const parseProductArn = (arn: string): { partition: string; region: string; accountId: string } | undefined => {
  const m = /^arn:(aws[a-z-]*):securityhub:([a-z0-9-]+):(\d{12}):product\/(\d{12})\/default$/.exec(arn);
  return m && m[3] === m[4] ? { partition: m[1]!, region: m[2]!, accountId: m[3]! } : undefined;
};

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** ASFF timestamps: RFC 3339; the trail's microseconds are cut to milliseconds. */
const iso = (at: string): string => {
  const t = Date.parse(at);
  return Number.isNaN(t) ? at : new Date(t).toISOString();
};

/** At most 512 characters; a longer alert id is replaced by its digest (the id stays deterministic). */
export const findingIdOf = (alertId: string): string => {
  const id = `eks-access-trail/${alertId}`;
  return id.length <= 512 ? id : `eks-access-trail/sha256/${createHash('sha256').update(alertId).digest('hex')}`;
};

const principalResource = (arn: string | undefined, partition: string): Resource | undefined => {
  const m = arn ? /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\//.exec(arn) : null;
  if (!arn || !m) return undefined;
  return {
    Type: m[1] === 'role' ? 'AwsIamRole' : 'AwsIamUser',
    Id: arn,
    Partition: partition as Resource['Partition'],
  };
};

export const asffFinding = (alert: Alert, o: AsffOptions): AwsSecurityFinding => {
  const product = parseProductArn(o.productArn);
  const partition = product?.partition ?? 'aws';
  const label = SEVERITY_LABEL[alert.severity];
  const type = RULE_TYPES[alert.ruleId] ?? 'Unusual Behaviors/User/EKS identity mapping change';
  const clusterRef = alert.accountId ? `${alert.accountId}/${alert.cluster}` : alert.cluster;
  const cluster: Resource = o.clusterArn
    ? {
        Type: 'AwsEksCluster',
        Id: o.clusterArn,
        Partition: partition as Resource['Partition'],
        Region: o.clusterArn.split(':')[3] as string,
      }
    : { Type: 'Other', Id: `eks-cluster/${clusterRef}`, Partition: partition as Resource['Partition'] };
  const resources: Resource[] = [cluster];
  const principal = principalResource(alert.related?.principalArn, partition);
  if (principal) resources.push(principal);
  const description = [
    ...alert.diff.lines,
    ...(alert.related?.notes ?? []).map((n) => `Note: ${n}`),
    `By: ${describeActor(alert.actor)}${alert.human ? ` (human: ${alert.human})` : ''}`,
    ...(alert.evidence ? [`Evidence: ${alert.evidence.command}`] : []),
  ].join('\n');
  const created = iso(alert.at);
  const now = iso(o.now);
  const fields: Record<string, string> = {
    'eks-access-trail/alertId': clip(alert.alertId, 2048),
    'eks-access-trail/ruleId': alert.ruleId,
    'eks-access-trail/cluster': clusterRef,
    'eks-access-trail/sourceEventIds': clip(alert.sourceEventIds.join(','), 2048),
  };
  const actor = alert.actor.awsArn ?? alert.actor.canonicalArn ?? alert.actor.k8sUsername;
  if (actor) fields['eks-access-trail/actor'] = clip(actor, 2048);
  if (alert.human) fields['eks-access-trail/human'] = clip(alert.human, 2048);
  if (alert.evidence) fields['eks-access-trail/evidence'] = clip(alert.evidence.command, 2048);
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: findingIdOf(alert.alertId),
    ProductArn: o.productArn,
    ProductName: 'eks-access-trail',
    CompanyName: 'eks-access-trail',
    GeneratorId: `eks-access-trail/${alert.ruleId}`,
    AwsAccountId: product?.accountId,
    Types: [type],
    FirstObservedAt: created,
    LastObservedAt: created,
    CreatedAt: created,
    // Never before CreatedAt, whatever the caller's clock says.
    UpdatedAt: Date.parse(now) > Date.parse(created) ? now : created,
    Severity: { Label: label, Original: alert.severity },
    FindingProviderFields: { Severity: { Label: label, Original: alert.severity }, Types: [type] },
    Title: clip(alert.title, 256),
    Description: clip(description, 1024),
    ProductFields: fields,
    Resources: resources,
    RecordState: 'ACTIVE',
  };
};
