import * as iam from 'aws-cdk-lib/aws-iam';
import type { TrailConfig } from './config.js';

/** Who may send into the central account: an explicit account list, or every account of an organization. */
export type Admission = { kind: 'accounts'; accounts: string[] } | { kind: 'organization'; organizationId: string };

/**
 * A resource-policy statement admitting exactly the configured senders. For an organization the
 * principal must be "*" narrowed by aws:PrincipalOrgID (the only way to name an organization in a
 * resource policy); accounts are listed as principals, so nobody else matches.
 */
export function admissionStatement(
  admission: Admission,
  action: string,
  resource: string,
  sid: string,
): iam.PolicyStatement {
  if (admission.kind === 'organization') {
    return new iam.PolicyStatement({
      sid,
      principals: [new iam.StarPrincipal()],
      actions: [action],
      resources: [resource],
      conditions: { StringEquals: { 'aws:PrincipalOrgID': admission.organizationId } },
    });
  }
  return new iam.PolicyStatement({
    sid,
    principals: admission.accounts.map((a) => new iam.AccountPrincipal(a)),
    actions: [action],
    resources: [resource],
  });
}

/** The senders the central resources admit for a configuration. */
export function admissionOf(config: TrailConfig, single: boolean): Admission {
  if (single) return { kind: 'accounts', accounts: [config.centralAccount] };
  if (config.organizationId !== undefined) return { kind: 'organization', organizationId: config.organizationId };
  const accounts = new Set(config.memberAccountIds);
  // A cluster in the security account itself subscribes through the same destination.
  if (config.clusters.some((c) => c.account === config.centralAccount)) accounts.add(config.centralAccount);
  return { kind: 'accounts', accounts: [...accounts] };
}
