import type { ClusterMappingState, MappingActor, StoredAssociation } from '../identity/types.js';
import { effectiveRoleMatchKey, podSessionMatches, workloadIdentity } from '../identity/workload.js';
import type { AwsActor } from '../sources/types.js';
import type {
  ClusterRefLike,
  CorrelationEvidence,
  CredentialIssuance,
  HumanLink,
  LinkStatus,
  WorkloadLink,
} from './types.js';

/**
 * The workload behind a session EKS issued to a pod (docs/formats.md §3.5): EKS Pod Identity (an STS
 * AssumeRole by pods.eks.amazonaws.com with the pod's session tags, or an EKS Auth response) and IRSA
 * (AssumeRoleWithWebIdentity with a token of a cluster's OIDC issuer). The pod and its service account
 * come from the issuing record; the association and the cluster of an issuer from other clusters'
 * facts (CorrelationEvidence.workload), which may be missing: each part says how it is known.
 */

export interface WorkloadHuman {
  human: HumanLink;
  status: LinkStatus;
  why: string[];
  /** Facts that could still arrive and complete the link (the issuer's cluster, the association). */
  pending: boolean;
}

const actorText = (a: MappingActor | undefined): string | undefined => {
  const aws = a?.aws;
  if (aws) return aws.arn ?? aws.canonicalArn ?? aws.principalId ?? aws.type;
  return a?.k8sUsername;
};

/** The person a CloudTrail caller is, when the caller says so itself (SSO session, IAM user, root). */
const directHuman = (a: AwsActor | undefined): string | undefined => {
  if (!a) return undefined;
  if (a.type === 'IAMUser') return a.arn;
  if (a.type === 'Root') return a.arn ?? `root of ${a.accountId ?? 'unknown account'}`;
  const role = a.sessionIssuerArn ?? a.arn ?? '';
  if (a.type === 'AssumedRole' && a.sessionName && /\/AWSReservedSSO_/i.test(role)) return a.sessionName;
  return undefined;
};

const associationPart = (
  stored: StoredAssociation,
  status: LinkStatus,
  why: string,
): NonNullable<WorkloadLink['association']> => {
  const a: NonNullable<WorkloadLink['association']> = { status, roleArn: stored.roleArn, why };
  if (stored.associationId) a.associationId = stored.associationId;
  if (stored.associationArn) a.associationArn = stored.associationArn;
  if (stored.targetRoleArn) a.targetRoleArn = stored.targetRoleArn;
  if (stored.disableSessionTags !== undefined) a.disableSessionTags = stored.disableSessionTags;
  a.lastChangedAt = stored.since;
  if (stored.created) {
    a.createdAt = stored.created.at;
    a.sourceEventId = stored.created.sourceEventId;
    const by = actorText(stored.created.actor);
    if (by) a.createdBy = by;
    const human = directHuman(stored.created.actor.aws);
    if (human) a.createdByHuman = human;
  } else {
    a.sourceEventId = stored.sourceEventId;
    const by = actorText(stored.actor);
    if (by) a.createdBy = by;
  }
  return a;
};

/** The cluster a Pod Identity issuance names: its ARN tag, else its name tag resolved among known clusters. */
const podCluster = (iss: CredentialIssuance, evidence: CorrelationEvidence): ClusterRefLike | undefined => {
  const w = iss.workload;
  if (!w?.cluster) return undefined;
  if (w.accountId) return { accountId: w.accountId, cluster: w.cluster };
  const known = (evidence.workload?.clusters() ?? []).filter((c) => c.cluster === w.cluster);
  return known.length === 1 ? known[0] : undefined;
};

const stateAt = (
  evidence: CorrelationEvidence,
  ref: ClusterRefLike | undefined,
  at: string,
): ClusterMappingState | undefined => {
  if (!ref) return undefined;
  try {
    return evidence.workload?.stateOf(ref, at);
  } catch {
    return undefined;
  }
};

/** Pod Identity with the pod named by the record (session tags or EKS Auth response). */
const podIdentityNamed = (iss: CredentialIssuance, evidence: CorrelationEvidence): WorkloadHuman | undefined => {
  const w = iss.workload;
  if (!w?.namespace || !w.serviceAccount) return undefined;
  const ref = podCluster(iss, evidence);
  const link: WorkloadLink = { kind: 'pod-identity', namespace: w.namespace, serviceAccount: w.serviceAccount };
  if (ref) {
    link.cluster = ref.cluster;
    link.accountId = ref.accountId;
  } else if (w.cluster) link.cluster = w.cluster;
  if (w.pod) {
    link.pod = w.pod;
    link.podStatus = 'observed';
  }
  if (w.podUid) link.podUid = w.podUid;
  const source = w.from === 'session-tags' ? 'the session tags EKS set' : 'the EKS Auth response';
  const why = [
    `access key ${iss.accessKeyId} was issued by EKS Pod Identity (${iss.api} ${iss.sourceEventId}) to ${w.pod ? `pod ${w.pod}, ` : ''}service account ${w.namespace}/${w.serviceAccount} of cluster ${w.cluster ?? '(unknown)'}, as ${source} state`,
  ];
  let pending = false;
  const state = stateAt(evidence, ref, iss.issuedAt);
  const stored = state?.podIdentityAssociations?.get(`${w.namespace}/${w.serviceAccount}`);
  if (w.associationId) {
    const part: NonNullable<WorkloadLink['association']> = stored
      ? associationPart(stored, 'observed', 'the EKS Auth response names the association')
      : {
          status: 'observed',
          roleArn: iss.roleArn,
          why: 'the EKS Auth response names the association; its history is not in the trail',
        };
    part.associationId = w.associationId;
    if (w.associationArn) part.associationArn = w.associationArn;
    link.association = part;
  } else if (stored) {
    const role = effectiveRoleMatchKey(stored);
    const matches = role === iss.roleMatchKey || stored.roleMatchKey === iss.roleMatchKey;
    link.association = associationPart(
      stored,
      'derived',
      matches
        ? `the association of ${w.namespace}/${w.serviceAccount} in force at ${iss.issuedAt} binds ${stored.targetRoleArn ?? stored.roleArn}, the role of the session`
        : `the association of ${w.namespace}/${w.serviceAccount} in force at ${iss.issuedAt} binds ${stored.roleArn}, not the session's role ${iss.roleArn}: the recorded history is incomplete`,
    );
  } else {
    why.push(
      ref
        ? `no Pod Identity association of ${w.namespace}/${w.serviceAccount} is recorded for ${ref.cluster} at ${iss.issuedAt}`
        : `the pod's cluster ${w.cluster ?? '(unnamed)'} is not in the trail, so its association is not known`,
    );
    pending = true;
  }
  const human: HumanLink = {
    identity: workloadIdentity(ref ?? (w.cluster ? { cluster: w.cluster } : undefined), w.namespace, w.serviceAccount),
    via: 'pod-identity',
    workload: link,
  };
  return { human, status: 'derived', why, pending };
};

/**
 * Pod Identity with session tags turned off: only the session name `eks-<cluster>-<pod>-<uuid>` names
 * the pod, both names cut short. The association is the one of a known cluster with that name prefix
 * that binds the session's role; exactly one must fit.
 */
const podIdentityBySessionName = (
  iss: CredentialIssuance,
  evidence: CorrelationEvidence,
): WorkloadHuman | undefined => {
  const fits: { ref: ClusterRefLike; stored: StoredAssociation }[] = [];
  for (const ref of evidence.workload?.clusters() ?? []) {
    if (!podSessionMatches(iss.sessionName, ref.cluster)) continue;
    const state = stateAt(evidence, ref, iss.issuedAt);
    for (const stored of state?.podIdentityAssociations?.values() ?? []) {
      if (effectiveRoleMatchKey(stored) === iss.roleMatchKey || stored.roleMatchKey === iss.roleMatchKey)
        fits.push({ ref, stored });
    }
  }
  const session = iss.sessionName ?? '';
  if (fits.length !== 1) {
    const human: HumanLink = {
      identity: `pod-identity session ${session}`,
      via: 'pod-identity',
    };
    return {
      human,
      status: 'unknown',
      why: [
        `access key ${iss.accessKeyId} was issued by EKS Pod Identity (${iss.sourceEventId}) without session tags; ${
          fits.length === 0
            ? 'no recorded association of a cluster matching the session name binds its role'
            : `${fits.length} recorded associations fit the session name and role, so the pod's service account is ambiguous`
        }`,
      ],
      pending: fits.length === 0,
    };
  }
  const { ref, stored } = fits[0] as { ref: ClusterRefLike; stored: StoredAssociation };
  const podPart = session.slice(`eks-${ref.cluster.slice(0, 10)}-`.length, session.length - 37);
  const link: WorkloadLink = {
    kind: 'pod-identity',
    cluster: ref.cluster,
    accountId: ref.accountId,
    namespace: stored.namespace,
    serviceAccount: stored.serviceAccount,
    association: associationPart(
      stored,
      'derived',
      `the only recorded association of a cluster named like the session that binds role ${iss.roleArn}`,
    ),
  };
  if (podPart) {
    link.pod = podPart;
    link.podStatus = 'derived';
  }
  return {
    human: {
      identity: workloadIdentity(ref, stored.namespace, stored.serviceAccount),
      via: 'pod-identity',
      workload: link,
    },
    status: 'derived',
    why: [
      `access key ${iss.accessKeyId} was issued by EKS Pod Identity (${iss.sourceEventId}) with session tags disabled; the session name ${JSON.stringify(session)} names cluster ${ref.cluster} and pod ${podPart || '(cut)'} only in part, and one association fits`,
    ],
    pending: false,
  };
};

/** IRSA: a web-identity token of a cluster's own OIDC issuer, for one of its service accounts. */
const irsa = (iss: CredentialIssuance, evidence: CorrelationEvidence): WorkloadHuman | undefined => {
  const w = iss.workload;
  if (!w?.issuer || !w.namespace || !w.serviceAccount) return undefined;
  let ref: ClusterRefLike | undefined;
  try {
    ref = evidence.workload?.clusterOfIssuer(w.issuer);
  } catch {
    ref = undefined;
  }
  const subject = `system:serviceaccount:${w.namespace}:${w.serviceAccount}`;
  const link: WorkloadLink = {
    kind: 'irsa',
    namespace: w.namespace,
    serviceAccount: w.serviceAccount,
    trust: {
      issuer: w.issuer,
      subject,
      why: `STS accepted a token of issuer ${w.issuer} for ${subject}: the role's trust policy admits it (the policy itself is not read)`,
    },
  };
  if (w.audience) link.trust = { ...(link.trust as NonNullable<WorkloadLink['trust']>), audience: w.audience };
  if (ref) {
    link.cluster = ref.cluster;
    link.accountId = ref.accountId;
  }
  const why = [
    `access key ${iss.accessKeyId} was issued by AssumeRoleWithWebIdentity ${iss.sourceEventId} for the service-account token ${subject} of issuer ${w.issuer}`,
    ref
      ? `that issuer is cluster ${ref.accountId}/${ref.cluster}'s own (CreateCluster or DescribeCluster)`
      : 'no cluster in the trail is known to own that issuer yet (its CreateCluster or a backfill names it)',
    'IRSA tokens do not name the pod',
  ];
  return {
    human: { identity: workloadIdentity(ref, w.namespace, w.serviceAccount, w.issuer), via: 'irsa', workload: link },
    status: 'derived',
    why,
    pending: !ref,
  };
};

/** The workload behind an issuance, or undefined when the issuance did not go to a pod. */
export const workloadOfIssuance = (
  iss: CredentialIssuance,
  evidence: CorrelationEvidence,
): WorkloadHuman | undefined => {
  const w = iss.workload;
  if (!w) return undefined;
  if (w.kind === 'irsa') return irsa(iss, evidence);
  return podIdentityNamed(iss, evidence) ?? podIdentityBySessionName(iss, evidence);
};
