import type { DecisionChain } from '../chain/types.js';
import { accessEntryMatchKey } from '../identity/mapping-changes.js';
import type { AwsAuthRow, ClusterMappingState, MappingActor } from '../identity/types.js';

/**
 * Mapping keys: one name per identity mapping (an access entry, an aws-auth row, a mapAccounts account,
 * the creator grant), shared by first-use tracking, the usage items and the posture report.
 */
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
