import { effectiveAccessEntryUsername, isNodeEntryType } from '../identity/access-entry.js';
import { canonicalizeArn } from '../identity/arn.js';
import { rowCanMatch } from '../identity/aws-auth.js';
import { templateMatches } from '../identity/templates.js';
import type { ClusterMappingState, MappingActor } from '../identity/types.js';
import { effectiveUsernamePrefix, oidcClaimOf } from '../identity/workload.js';
import type { OidcIdentityProviderConfig } from '../sources/types.js';
import type { Link, MappingLink, PrincipalLink } from './types.js';

/**
 * Users whose audit event carries no IAM identity (docs/formats.md §2.8): people of an OIDC identity
 * provider the cluster trusts (§3.6), and nodes whose authenticator wrote no user.extra. Both are
 * read against the mapping state at the request's time; a match is derived, never observed, because
 * nothing in the event names the provider or the node's IAM role.
 */

type StoredProvider = OidcIdentityProviderConfig & { since: string; actor: MappingActor; sourceEventId: string };

export interface OidcMatch {
  principal: Link<PrincipalLink>;
  mapping: Link<MappingLink>;
}

/**
 * The provider whose username prefix the username carries. With several, the longest prefix wins
 * (an empty prefix fits any name); a `system:` name is never an OIDC user, as EKS refuses a
 * `system:` prefix and the API server reserves the names.
 */
export const oidcUserOf = (
  username: string,
  groups: readonly string[],
  state: ClusterMappingState,
): OidcMatch | undefined => {
  if (username.startsWith('system:') || username.startsWith('eks:')) return undefined;
  let best: { p: StoredProvider; claim: string; prefix: string } | undefined;
  let tie = false;
  for (const p of state.identityProviders?.values() ?? []) {
    const claim = oidcClaimOf(p, username);
    if (claim === undefined) continue;
    const prefix = effectiveUsernamePrefix(p);
    if (!best || prefix.length > best.prefix.length) {
      best = { p, claim, prefix };
      tie = false;
    } else if (prefix.length === best.prefix.length) tie = true;
  }
  if (!best || tie) return undefined;
  const { p, claim, prefix } = best;
  const provider: NonNullable<MappingLink['oidcProvider']> = {
    name: p.name,
    issuerUrl: p.issuerUrl,
    usernameClaim: p.usernameClaim ?? 'sub',
    usernamePrefix: prefix,
  };
  if (p.clientId) provider.clientId = p.clientId;
  if (p.groupsClaim) provider.groupsClaim = p.groupsClaim;
  if (p.groupsPrefix !== undefined) provider.groupsPrefix = p.groupsPrefix;
  if (p.requiredClaims) provider.requiredClaims = { ...p.requiredClaims };
  const claimGroups = groups.filter((g) => p.groupsPrefix !== undefined && g.startsWith(p.groupsPrefix));
  const why = `${username} carries no IAM identity, and the OIDC identity provider ${p.name} (${p.issuerUrl}, associated ${p.since}) admits users as ${JSON.stringify(prefix)} + their ${provider.usernameClaim} claim`;
  return {
    principal: {
      status: 'derived',
      value: { type: 'oidc-user', oidc: { provider: p.name, issuerUrl: p.issuerUrl, claim } },
      why,
      evidence: ['audit:user.username', `mapping:${p.sourceEventId}`],
    },
    mapping: {
      status: 'derived',
      value: {
        source: 'oidc-provider',
        oidcProvider: provider,
        username,
        groups: claimGroups,
        since: p.since,
        actor: p.actor,
        sourceEventId: p.sourceEventId,
      },
      why: `${why}; its groups claim ${p.groupsClaim ?? '(none)'} with prefix ${JSON.stringify(p.groupsPrefix ?? '')} gives the groups`,
      evidence: [`mapping:${p.sourceEventId}`],
    },
  };
};

export interface NodeCandidate {
  /** IAM role the mapping names (access-entry principal, aws-auth rolearn). */
  principalArn: string;
  label: string;
}

/**
 * The mappings that could have admitted a node of this username: node-type access entries (honoured
 * outside CONFIG_MAP) and aws-auth rows in `system:nodes` (outside API), whose username template fits.
 * Candidates naming the same role count once.
 */
export const nodeMappingCandidates = (username: string, state: ClusterMappingState): NodeCandidate[] => {
  if (!username.startsWith('system:node:')) return [];
  const mode = state.authMode ?? (state.accessEntries.size > 0 ? 'API_AND_CONFIG_MAP' : 'CONFIG_MAP');
  const out = new Map<string, NodeCandidate>();
  const add = (arn: string, label: string) => {
    const c = canonicalizeArn(arn);
    const key = c.ok ? c.value.matchKey : arn.toLowerCase();
    if (!out.has(key)) out.set(key, { principalArn: arn, label });
  };
  if (mode !== 'CONFIG_MAP') {
    for (const e of state.accessEntries.values()) {
      if (!isNodeEntryType(e.type)) continue;
      const tpl = effectiveAccessEntryUsername(e);
      if (tpl !== undefined && templateMatches(tpl, username, {}))
        add(e.principalArn, `${e.type} access entry ${e.principalArn}`);
    }
  }
  if (mode !== 'API' && state.awsAuth) {
    for (const row of state.awsAuth.config.roles) {
      if (!rowCanMatch(row) || !row.groups.includes('system:nodes') || row.username === undefined) continue;
      if (templateMatches(row.username, username, {})) add(row.arn, `aws-auth mapRoles[${row.index}] ${row.arn}`);
    }
  }
  return [...out.values()];
};
