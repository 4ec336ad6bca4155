import type { ActorField } from '../../lib/query/mappings.js';
/**
 * The console's URLs. Every view is a path and its state is in the query string, so the address bar
 * is always a link an analyst can paste into a ticket (it carries no token: see lib/console/guard.ts).
 */

export type Params = Record<string, string | undefined>;

export const href = (path: string, params: Params): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
};

export interface Window {
  since?: string;
  from?: string;
  to?: string;
}

export const windowOf = (p: URLSearchParams): Window => ({
  since: p.get('since') ?? undefined,
  from: p.get('from') ?? undefined,
  to: p.get('to') ?? undefined,
});

const DAY = 86_400_000;

/** A day either side of an instant: where "what else did they do" starts when pivoting from one request. */
export const windowAround = (at: string | undefined): Window => {
  const t = at ? Date.parse(at) : Number.NaN;
  if (Number.isNaN(t)) return {};
  return { from: new Date(t - DAY).toISOString(), to: new Date(t + DAY).toISOString() };
};

export const searchHref = (question: string, cluster: string | undefined, w: Window, filters: Params): string =>
  href('/search', { q: question, cluster, ...w, ...filters });

export const requestHref = (cluster: string | undefined, auditId: string, at?: string): string =>
  href('/request', { cluster, 'audit-id': auditId, at });

export const mappingsHref = (cluster: string | undefined, params: Params = {}): string =>
  href('/mappings', { cluster, ...params });

export const accessHref = (cluster: string | undefined, at?: string, params: Params = {}): string =>
  href('/access', { cluster, at, ...params });

export const alertsHref = (cluster: string | undefined): string => href('/alerts', { cluster });

/** `<account>/<name>` when the row names its account (same-named clusters of two accounts stay apart). */
export const clusterOf = (row: { cluster?: string; accountId?: string }): string | undefined =>
  row.cluster === undefined ? undefined : row.accountId ? `${row.accountId}/${row.cluster}` : row.cluster;

/** An IAM or STS principal ARN `who-did --principal` accepts (not `arn:aws:iam::<acct>:*` of mapAccounts). */
export const isPrincipalArn = (s: string | undefined): s is string =>
  s !== undefined && /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|user|assumed-role)\//.test(s);

/** The IAM principal of a mapping change's actor, when it is one (a pivot to its requests). */
export const actorArn = (actor: ActorField | undefined): string | undefined =>
  isPrincipalArn(actor?.arn) ? actor?.arn : undefined;

/** An actor in a few words: `<arn> (via <service>)` or `<k8s user> (<arn>)`. */
export const actorLabel = (a: ActorField | undefined): string | undefined => {
  if (!a) return undefined;
  if (a.k8sUser) return a.arn ? `${a.k8sUser} (${a.arn})` : a.k8sUser;
  const who = a.arn ?? a.principalId ?? a.type;
  return who && a.invokedBy ? `${who} (via ${a.invokedBy})` : who;
};
