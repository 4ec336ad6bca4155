import { canonicalizeArn } from '../identity/arn.js';
import type { AlertEvidence } from './types.js';

/**
 * The question behind an alert, so every alert (in SNS text, the ledger, the `alerts` listing, the
 * EventBridge event and the Security Hub finding) points at the stored facts it was raised on: the
 * mapping history around a change, or the request a first use made.
 */

/** `<account>/<name>` when the account is known: EKS names are unique per account and region only. */
export const clusterParam = (cluster: string, accountId: string | undefined): string =>
  accountId ? `${accountId}/${cluster}` : cluster;

// Audit data is attacker-influenced: anything outside a conservative set is quoted for a POSIX shell.
const shellWord = (s: string): string => (/^[A-Za-z0-9_./:@+=,#-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

const command = (words: string[], params: [string, string | undefined][]): string =>
  [
    'eks-trail',
    ...words.map(shellWord),
    ...params.flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, shellWord(v)])),
  ].join(' ');

/**
 * The mapping history of the cluster over the change's own instant (or span, for a pair of changes),
 * narrowed to the principal when the alert names an IAM principal the filter accepts.
 */
export const mappingChangeEvidence = (o: {
  cluster: string;
  accountId?: string | undefined;
  from: string;
  to: string;
  principalArn?: string | undefined;
}): AlertEvidence => {
  const principal = o.principalArn !== undefined && canonicalizeArn(o.principalArn).ok ? o.principalArn : undefined;
  const params: Record<string, string> = { cluster: clusterParam(o.cluster, o.accountId), from: o.from, to: o.to };
  if (principal !== undefined) params['principal'] = principal;
  return {
    question: 'mappings-history',
    params,
    command: command(
      ['mappings', 'history'],
      [
        ['cluster', params['cluster']],
        ['from', o.from],
        ['to', o.to],
        ['principal', principal],
      ],
    ),
  };
};

/** The request itself, found by its auditID and time (any request is found with both). */
export const requestEvidence = (o: {
  cluster: string;
  accountId?: string | undefined;
  auditId: string;
  at: string;
}): AlertEvidence => {
  const cluster = clusterParam(o.cluster, o.accountId);
  return {
    question: 'explain',
    params: { cluster, 'audit-id': o.auditId, at: o.at },
    command: command(
      ['explain', o.auditId],
      [
        ['cluster', cluster],
        ['at', o.at],
      ],
    ),
  };
};
