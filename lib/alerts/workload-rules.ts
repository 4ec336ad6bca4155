/**
 * Alerts and posture findings about workload identities (docs/formats.md §3.5, §3.6): Pod Identity
 * associations, which map a Kubernetes service account to an IAM role (a mapping out of the cluster,
 * with the same escalation risk as one into it), and OIDC identity providers, which admit people
 * without IAM. Pure: the mapping-change rules and the posture report call in with the states.
 */
import { accessPolicyName, isAdminPolicy } from '../identity/access-entry.js';
import { splitArn } from '../identity/arn.js';
import { rowCanMatch } from '../identity/aws-auth.js';
import { MappingTimeline } from '../identity/mapping-timeline.js';
import type { ClusterMappingState, PodIdentityAssociation } from '../identity/types.js';
import { effectiveUsernamePrefix } from '../identity/workload.js';
import type { Severity } from './types.js';

/** The fold state the rules see (ClusterMappingState without cluster and instant). */
type Fold = Omit<ClusterMappingState, 'cluster' | 'at'>;

/** Where a role is mapped with admin rights: the cluster and the mapping that grants it. */
export interface AdminMapping {
  /** `<account>/<cluster>`. */
  cluster: string;
  via: string;
}

const SYSTEM_MASTERS = 'system:masters';

const modeOf = (s: Fold) => s.authMode ?? (s.accessEntries.size > 0 ? 'API_AND_CONFIG_MAP' : 'CONFIG_MAP');

/**
 * The mappings through which a role (lower-cased path-less ARN) is an administrator of a cluster:
 * an access entry with an admin access policy or `system:masters`, or an aws-auth row in
 * `system:masters`, each only when the cluster's authentication mode honours it.
 */
export const adminMappingsOf = (state: Fold, roleMatchKey: string): string[] => {
  if (state.deleted) return [];
  const mode = modeOf(state);
  const out: string[] = [];
  if (mode !== 'CONFIG_MAP') {
    const e = state.accessEntries.get(roleMatchKey);
    if (e) {
      for (const p of e.policies) {
        if (isAdminPolicy(p.policyArn))
          out.push(
            `access entry with ${accessPolicyName(p.policyArn) ?? p.policyArn} (${p.scope.type === 'cluster' ? 'cluster scope' : `namespaces ${p.scope.namespaces.join(', ')}`})`,
          );
      }
      if (e.kubernetesGroups.includes(SYSTEM_MASTERS)) out.push('access entry in system:masters');
    }
  }
  if (mode !== 'API' && state.awsAuth) {
    for (const row of state.awsAuth.config.roles) {
      if (row.matchKey === roleMatchKey && rowCanMatch(row) && row.groups.includes(SYSTEM_MASTERS))
        out.push(`aws-auth mapRoles[${row.index}] in system:masters`);
    }
  }
  return out;
};

/** The roles a pod of this association can act as: its role, and its target role when set. */
export const rolesOf = (a: PodIdentityAssociation): { arn: string; matchKey: string }[] => [
  { arn: a.roleArn, matchKey: a.roleMatchKey },
  ...(a.targetRoleArn && a.targetRoleMatchKey ? [{ arn: a.targetRoleArn, matchKey: a.targetRoleMatchKey }] : []),
];

/** An association on a `default` service account or in kube-system: any pod there gets the role. */
export const isPrivilegedServiceAccount = (a: Pick<PodIdentityAssociation, 'namespace' | 'serviceAccount'>): boolean =>
  a.namespace === 'kube-system' || a.serviceAccount === 'default';

export const accountOf = (arn: string | undefined): string | undefined => (arn ? splitArn(arn)?.accountId : undefined);

/** The target role is in another account than the cluster: a way out of the account. */
export const crossAccountTarget = (
  a: PodIdentityAssociation,
  clusterAccount: string | undefined,
): string | undefined => {
  const target = accountOf(a.targetRoleArn);
  const own = clusterAccount ?? accountOf(a.roleArn);
  return target && own && target !== own ? target : undefined;
};

export const associationLines = (sign: '+' | '-', a: PodIdentityAssociation): string[] => [
  `${sign} serviceAccount: ${a.namespace}/${a.serviceAccount}`,
  `${sign} roleArn: ${a.roleArn}`,
  ...(a.targetRoleArn ? [`${sign} targetRoleArn: ${a.targetRoleArn}`] : []),
  ...(a.disableSessionTags ? [`${sign} disableSessionTags: true`] : []),
  ...(a.policy ? [`${sign} session policy: ${a.policy.length > 200 ? `${a.policy.slice(0, 200)}…` : a.policy}`] : []),
];

export const plainAssociation = (a: PodIdentityAssociation | undefined): Record<string, unknown> | undefined => {
  if (!a) return undefined;
  const out: Record<string, unknown> = {
    namespace: a.namespace,
    serviceAccount: a.serviceAccount,
    roleArn: a.roleArn,
  };
  if (a.associationId) out['associationId'] = a.associationId;
  if (a.targetRoleArn) out['targetRoleArn'] = a.targetRoleArn;
  if (a.disableSessionTags) out['disableSessionTags'] = true;
  if (a.policy) out['policy'] = a.policy;
  return out;
};

/** Severity of a new or changed association: harder on a default service account or in kube-system. */
export const associationSeverity = (a: PodIdentityAssociation): Severity =>
  isPrivilegedServiceAccount(a) ? 'high' : 'medium';

/** What a provider config lets in, in one line. */
export const providerSummary = (p: {
  name: string;
  issuerUrl: string;
  usernameClaim?: string;
  usernamePrefix?: string;
  groupsClaim?: string;
  groupsPrefix?: string;
  requiredClaims?: Record<string, string>;
}): string =>
  `${p.name}: users of ${p.issuerUrl} as ${JSON.stringify(effectiveUsernamePrefix(p))} + ${p.usernameClaim ?? 'sub'}${
    p.groupsClaim ? `, groups ${JSON.stringify(p.groupsPrefix ?? '')} + ${p.groupsClaim}` : ''
  }${p.requiredClaims ? `, requiring ${Object.keys(p.requiredClaims).join(', ')}` : ''}`;

/**
 * A lookup of every watched cluster's admin mappings of a role at an instant, over the clusters'
 * mapping histories: the fleet-wide half of the escalation rule. Timelines are folded once.
 */
export const fleetAdminLookup = (
  clusters: readonly {
    ref: { accountId: string; cluster: string };
    changes: readonly import('../identity/types.js').MappingChange[];
  }[],
): ((roleMatchKey: string, at: string) => AdminMapping[]) => {
  const timelines = clusters.map((c) => ({ ref: c.ref, timeline: new MappingTimeline(c.ref.cluster, c.changes) }));
  return (roleMatchKey, at) =>
    timelines.flatMap(({ ref, timeline }) =>
      adminMappingsOf(timeline.stateAt(at), roleMatchKey).map((via) => ({
        cluster: `${ref.accountId}/${ref.cluster}`,
        via,
      })),
    );
};
