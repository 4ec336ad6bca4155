import type { ExplainRow } from '../query/chain-rows.js';

/**
 * The values of a chain an analyst pivots on (list the requests of this human, this principal, this
 * mapping…), read back from the explain rows. The explain answer is what every target returns, the
 * deployed query API included, and its values are the fields explainRows (lib/query/chain-rows.ts)
 * joins with two spaces, the identifying one first; nothing here is guessed from free text beyond that.
 */
export interface ChainPivots {
  /** Canonical IAM ARN (role, user) of the caller. */
  principal?: string;
  human?: string;
  /** The access entry principal ARN or aws-auth row ARN that admitted the request. */
  mappingKey?: string;
  mappingSource?: string;
  k8sUser?: string;
  /** `ns/resource/name` as `touched` accepts it. */
  target?: string;
  verb?: string;
}

// Non-resource requests show their URI (`/healthz`, `/apis/…`) where a resource target would be;
// `touched` selects resources only.
const NON_RESOURCE = /^\/(api|apis|healthz|livez|readyz|openapi|version|metrics|logs)(\/|$|\?)/;

/** `ns/resource[/name]` or, at cluster scope, `/resource/name`. */
const isResourceTarget = (t: string): boolean =>
  t.startsWith('/') ? !NON_RESOURCE.test(t) && /^\/[^/?]+\/[^/?]+$/.test(t) : /^[^/?\s]+\/[^?\s]+$/.test(t);

const fields = (value: string): string[] => value.split('  ').filter((s) => s !== '');

export const chainPivots = (rows: readonly Pick<ExplainRow, 'link' | 'value'>[]): ChainPivots => {
  const out: ChainPivots = {};
  for (const row of rows) {
    const [first, second] = fields(row.value);
    if (first === undefined) continue;
    switch (row.link) {
      case 'principal':
        if (/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/.test(first)) out.principal = first;
        break;
      case 'human':
        out.human = first;
        break;
      case 'mapping': {
        out.mappingSource = first;
        const entry =
          /(?:^|\s)entry (arn:\S+)/.exec(row.value) ?? /(?:^|\s)aws-auth \S+ #\d+ (arn:\S+)/.exec(row.value);
        if (entry?.[1]) out.mappingKey = entry[1];
        break;
      }
      case 'k8sIdentity':
        if (first !== '(no username)') out.k8sUser = first;
        break;
      case 'request':
        out.verb = first;
        if (second !== undefined && isResourceTarget(second)) out.target = second;
        break;
    }
  }
  return out;
};
