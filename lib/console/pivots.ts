import type { HumanLink, K8sIdentityLink, MappingLink, PrincipalLink, RequestLink } from '../chain/types.js';
import { type ExplainRow, targetOf } from '../query/chain-rows.js';

/**
 * The values of a chain an analyst pivots on (list the requests of this human, this principal, this
 * mapping…), read from the fields of the explain rows: the explain answer is what every target
 * returns, the deployed query API included. A link that is unknown offers no pivot.
 */
export interface ChainPivots {
  /** Canonical IAM ARN (role, user) of the caller. */
  principal?: string;
  human?: string;
  /** The access entry principal ARN or aws-auth row ARN that admitted the request. */
  mappingKey?: string;
  mappingSource?: string;
  k8sUser?: string;
  /** The object or kind as `touched` accepts it. */
  target?: string;
  verb?: string;
}

export const chainPivots = (rows: readonly Pick<ExplainRow, 'link' | 'value' | 'status'>[]): ChainPivots => {
  const out: ChainPivots = {};
  for (const row of rows) {
    if (row.value === undefined) continue;
    switch (row.link) {
      case 'principal': {
        const p = row.value as PrincipalLink;
        if (p.canonicalArn) out.principal = p.canonicalArn;
        break;
      }
      case 'human':
        if (row.status !== 'unknown') out.human = (row.value as HumanLink).identity;
        break;
      case 'mapping': {
        if (row.status === 'unknown') break;
        const m = row.value as MappingLink;
        out.mappingSource = m.source;
        const key = m.accessEntry?.principalArn ?? m.awsAuthRow?.arn;
        if (key) out.mappingKey = key;
        break;
      }
      case 'k8sIdentity': {
        const k = row.value as K8sIdentityLink;
        if (k.username) out.k8sUser = k.username;
        break;
      }
      case 'request': {
        const r = row.value as RequestLink;
        if (r.verb) out.verb = r.verb;
        const target = targetOf(r);
        if (target) out.target = target;
        break;
      }
    }
  }
  return out;
};
