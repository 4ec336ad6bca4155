import type { CredentialIssuance } from '../chain/types.js';
import type { TrailStore } from '../store/trail-store.js';
import type { DecodedToken } from './decode-token.js';

/**
 * Who a token's access key belongs to, from the trail: the AssumeRole* issuance of the key (CloudTrail)
 * and the requests already seen with it (audit user.extra.accessKeyId). The token alone cannot say:
 * the key id is not secret and the signature cannot be checked offline.
 */
export interface TokenAttribution {
  accessKeyId: string;
  issuance?: {
    api: CredentialIssuance['api'];
    roleArn: string;
    sessionName?: string;
    issuedAt: string;
    expiresAt?: string;
    caller?: string;
    subject?: string;
    sourceIdentity?: string;
    eventId: string;
  };
  /** Distinct principals seen using the key (normally one), with counts. */
  seenAs: { canonicalArn?: string; principalId?: string; sessionName?: string; clusters: string[]; requests: number }[];
  /** Plain-language conclusion. */
  summary: string;
}

export type AttributionSource = Pick<TrailStore, 'credential' | 'requestsByAccessKey'>;

/** Requests read per token: enough to name who used the key, bounded for a key used all day. */
const SEEN_LIMIT = 1_000;

const first = (extra: Record<string, string[]>, key: string): string | undefined => extra[key]?.[0] || undefined;

export const attributeToken = async (
  token: DecodedToken,
  source: AttributionSource,
): Promise<TokenAttribution | undefined> => {
  const key = token.accessKeyId;
  if (!key) return undefined;
  // Any time: a key is indexed by the requests made with it, so an open window costs what it returns.
  const [cred, page] = await Promise.all([
    source.credential(key),
    source.requestsByAccessKey(key, { from: '1970-01-01T00:00:00Z' }, { limit: SEEN_LIMIT }),
  ]);
  const facts = page.items.flatMap((r) => (r.kind === 'request' ? r.stages.slice(-1) : []));
  const seen = new Map<string, TokenAttribution['seenAs'][number] & { clusterSet: Set<string> }>();
  for (const f of facts) {
    const extra = f.event.user.extra;
    const canonicalArn = first(extra, 'canonicalArn');
    const principalId = first(extra, 'principalId') ?? first(extra, 'sigs.k8s.io/aws-iam-authenticator/principalId');
    const sessionName = first(extra, 'sessionName');
    const k = `${canonicalArn ?? ''}\u0000${principalId ?? ''}\u0000${sessionName ?? ''}`;
    const slot = seen.get(k) ?? { clusters: [], requests: 0, clusterSet: new Set<string>() };
    if (canonicalArn) slot.canonicalArn = canonicalArn;
    if (principalId) slot.principalId = principalId;
    if (sessionName) slot.sessionName = sessionName;
    slot.requests += 1;
    slot.clusterSet.add(f.origin.accountId ? `${f.origin.accountId}/${f.origin.cluster}` : f.origin.cluster);
    seen.set(k, slot);
  }
  const seenAs = [...seen.values()]
    .map(({ clusterSet, ...rest }) => ({ ...rest, clusters: [...clusterSet].sort() }))
    .sort((a, b) => b.requests - a.requests);
  const out: TokenAttribution = { accessKeyId: key, seenAs, summary: '' };
  if (cred) {
    const i: NonNullable<TokenAttribution['issuance']> = {
      api: cred.api,
      roleArn: cred.roleArn,
      issuedAt: cred.issuedAt,
      eventId: cred.sourceEventId,
    };
    if (cred.sessionName) i.sessionName = cred.sessionName;
    if (cred.expiresAt) i.expiresAt = cred.expiresAt;
    const caller = cred.caller.arn ?? cred.caller.principalId;
    if (caller) i.caller = caller;
    if (cred.subject) i.subject = cred.subject;
    if (cred.sourceIdentity) i.sourceIdentity = cred.sourceIdentity;
    out.issuance = i;
  }
  const parts: string[] = [];
  if (cred) {
    const who = cred.subject ?? cred.sourceIdentity ?? cred.caller.arn ?? 'an unknown caller';
    parts.push(`key issued by ${cred.api} of ${cred.roleArn} to ${who} at ${cred.issuedAt}`);
  } else if (key.startsWith('AKIA')) {
    parts.push('long-term IAM user key: no AssumeRole issuance exists for it');
  } else {
    parts.push('no AssumeRole* issuance of this key in the trail');
  }
  const top = seenAs[0];
  if (top)
    parts.push(`seen in ${facts.length} request(s) as ${top.canonicalArn ?? top.principalId ?? 'unknown principal'}`);
  else parts.push('no request with this key in the trail');
  out.summary = parts.join('; ');
  return out;
};
