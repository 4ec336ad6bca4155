import type { Caller } from './access-policy.js';

/**
 * The audit record of one query API request (docs/deploy.md, "Query audit log"): who asked, what,
 * with which filters, what came of it and how many rows went back. One per request, allowed or not,
 * written as one structured JSON log line by the handler.
 */
export interface QueryAuditRecord {
  /** Constant marker, so a metric filter or Logs Insights query can select these lines. */
  audit: 'eks-trail-query';
  caller: {
    /** `userArn` as the function URL reported it (with the session name for a role). */
    arn?: string;
    accountId?: string;
    callerId?: string;
    /** Role callers: the path-less role ARN the grants match. */
    role?: string;
    permissionSet?: string;
  };
  question?: string;
  /** The parameters as asked, kebab-case, each value as text (bounded); a cursor is only noted. */
  filters: Record<string, string>;
  outcome: QueryOutcome;
  status: number;
  /** The error code of a refused or failed request (ACCESS_DENIED, BAD_PARAMETER…). */
  code?: string;
  /** Rows returned (0 unless answered). */
  rows: number;
  /** `<account>/<name>` the answer is about. */
  cluster?: string;
  /** The grants that named the caller. */
  grants: string[];
  /** A fleet-wide answer limited to the clusters the caller may read. */
  scoped?: boolean;
  requestId?: string;
  sourceIp?: string;
}

export type QueryOutcome = 'answered' | 'denied' | 'bad-request' | 'not-found' | 'failed';

/** A filter value longer than this is cut: the audit line records the question, not bulk input. */
export const MAX_FILTER_CHARS = 256;

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The parameters of a request as the audit line keeps them. */
export const auditFilters = (params: Record<string, unknown>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    const key = kebab(k).slice(0, 64);
    // The cursor is an opaque position: that the request continued a listing is what matters.
    if (key === 'cursor') {
      out[key] = '(continued)';
      continue;
    }
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    out[key] = text.length > MAX_FILTER_CHARS ? `${text.slice(0, MAX_FILTER_CHARS)}…` : text;
  }
  return out;
};

/** The caller part of the record, from what is known of the caller (possibly nothing). */
export const auditCaller = (
  caller: Caller | undefined,
  reported: { userArn?: unknown; accountId?: unknown; callerId?: unknown } | undefined,
): QueryAuditRecord['caller'] => {
  const out: QueryAuditRecord['caller'] = {};
  const arn = caller?.arn ?? (typeof reported?.userArn === 'string' ? reported.userArn : undefined);
  const accountId = typeof reported?.accountId === 'string' ? reported.accountId : caller?.accountId;
  const callerId = caller?.callerId ?? (typeof reported?.callerId === 'string' ? reported.callerId : undefined);
  if (arn !== undefined) out.arn = arn;
  if (accountId !== undefined) out.accountId = accountId;
  if (callerId !== undefined) out.callerId = callerId;
  if (caller?.roleArn !== undefined) out.role = caller.roleArn;
  if (caller?.permissionSet !== undefined) out.permissionSet = caller.permissionSet;
  return out;
};
