/**
 * Which stored items the digests cover, and where each is counted (docs/tamper-evidence.md, "What a
 * digest covers"). One function decides it for the three places that must agree: the pending marks
 * ingest writes ahead of an item, the signer, and the verifier.
 *
 * A covered item belongs to a **scope** (a cluster's ref key `C#<account>#<cluster>`, or the issuance
 * scope) and, inside it, to a **bucket**: the hour of event time its key places it in
 * (`2025-06-02T08`), or `history` for the mapping history, whose items are read whole by every
 * answer and one of which (a principal-id observation) may move to an earlier time.
 *
 * Covered: segment parts and authenticator parts (the facts every request answer is derived from),
 * mapping changes, credential issuances, and human postings (`IH#`, written at ingest or later by
 * late links): the one index entry whose content can change after the facts were stored, and what
 * `who-did --human` answers from. Not covered: the other postings and the notable pointers (indexes
 * re-derivable from the parts; each reference carries the digest of the part it points at, so a
 * forged one is not followed into other rows), the registry, quarantine, the alert ledger and
 * mapping usage (none of them is evidence an answer is built from).
 */

import { ISSUANCE_SCOPE } from '../store/keys.js';

export { ISSUANCE_SCOPE };

export const HISTORY_BUCKET = 'history';

export type CoveredClass = 'segment' | 'authenticator' | 'mapping' | 'credential' | 'human-posting';

export interface Coverage {
  scope: string;
  bucket: string;
  cls: CoveredClass;
  /**
   * True for items outside their scope's own partitions (issuances, human postings): no Query by
   * scope finds them, so whoever writes one also notes its key for the signer, and the digest's
   * list of keys is how the verifier finds it again.
   */
  external: boolean;
}

const HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}/;

const hourOf = (text: unknown): string | undefined => {
  if (typeof text !== 'string') return undefined;
  const m = HOUR.exec(text);
  return m ? m[0] : undefined;
};

export const coverageOf = (item: Readonly<Record<string, unknown>>): Coverage | undefined => {
  const pk = item['pk'];
  const sk = item['sk'];
  if (typeof pk !== 'string' || typeof sk !== 'string') return undefined;
  // `S#<acct>#<cluster>` and `N#…` carry the cluster as `C#<acct>#<cluster>` does (lib/store/keys.ts).
  if (pk.startsWith('S#') || pk.startsWith('N#')) {
    const bucket = hourOf(sk);
    if (!bucket) return undefined;
    return { scope: `C${pk.slice(1)}`, bucket, cls: pk[0] === 'S' ? 'segment' : 'authenticator', external: false };
  }
  if (pk.startsWith('MC#C#')) return { scope: pk.slice(3), bucket: HISTORY_BUCKET, cls: 'mapping', external: false };
  if (pk.startsWith('CRED#') && sk === 'CRED') {
    const bucket = hourOf(item['at']);
    if (!bucket) return undefined;
    return { scope: ISSUANCE_SCOPE, bucket, cls: 'credential', external: true };
  }
  if (pk.startsWith('IH#')) {
    const bucket = hourOf(sk);
    const cl = item['cl'];
    if (!bucket || typeof cl !== 'string' || !cl.startsWith('C#')) return undefined;
    return { scope: cl, bucket, cls: 'human-posting', external: true };
  }
  return undefined;
};

/** The class of an item from its key alone (what a manifest entry records), for the signer's replacement rules. */
export const classOfKey = (pk: string): CoveredClass | undefined =>
  pk.startsWith('S#')
    ? 'segment'
    : pk.startsWith('N#')
      ? 'authenticator'
      : pk.startsWith('MC#C#')
        ? 'mapping'
        : pk.startsWith('CRED#')
          ? 'credential'
          : pk.startsWith('IH#')
            ? 'human-posting'
            : undefined;

/** The hour after a bucket's last instant, epoch ms; `history` never closes (always signable). */
export const bucketEndMs = (bucket: string): number =>
  bucket === HISTORY_BUCKET ? Number.NEGATIVE_INFINITY : Date.parse(`${bucket}:00:00Z`) + 3_600_000;
