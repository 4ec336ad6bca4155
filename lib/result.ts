import { boundedJsonText, exceedsJsonDepth } from './json-depth.js';

/**
 * The result shape every parser in lib/ returns. Parsers are total: they never throw on bad input,
 * they return `ok: false` with structured issues and the raw text, so a caller can quarantine it.
 */
export type IssueCode =
  // any input: nested deeper than lib/json-depth.ts allows; bytes that are not valid UTF-8
  | 'INPUT_TOO_DEEP'
  | 'INPUT_INVALID_UTF8'
  // envelopes (CloudWatch Logs subscription payloads, Kinesis / Firehose records, EventBridge)
  | 'ENVELOPE_NOT_BASE64'
  | 'ENVELOPE_NOT_GZIP'
  | 'ENVELOPE_NOT_JSON'
  | 'ENVELOPE_SHAPE'
  | 'ENVELOPE_NOT_EKS_LOG_GROUP'
  // authenticator lines
  | 'AUTHN_LINE_EMPTY'
  | 'AUTHN_LINE_GRAMMAR'
  | 'AUTHN_LINE_BAD_QUOTE'
  // audit events
  | 'AUDIT_NOT_JSON'
  | 'AUDIT_NOT_EVENT'
  | 'AUDIT_MISSING_FIELD'
  | 'AUDIT_BAD_FIELD'
  | 'AUDIT_TRUNCATED_NO_ID'
  // CloudTrail records
  | 'CLOUDTRAIL_NOT_JSON'
  | 'CLOUDTRAIL_SHAPE'
  | 'CLOUDTRAIL_MISSING_FIELD'
  | 'CLOUDTRAIL_UNSUPPORTED_EVENT'
  | 'CLOUDTRAIL_BAD_ARN'
  // aws-auth ConfigMap
  | 'AWS_AUTH_NOT_CONFIGMAP'
  | 'AWS_AUTH_YAML'
  | 'AWS_AUTH_ROW_SHAPE'
  // identity
  | 'ARN_INVALID'
  | 'ARN_UNKNOWN_PARTITION'
  | 'ARN_UNSUPPORTED_TYPE'
  // authorization reason grammar
  | 'REASON_GRAMMAR'
  // 403 responseStatus.message not in the authorization-forbidden grammar (e.g. admission denials)
  | 'FORBIDDEN_MESSAGE_GRAMMAR'
  // ingestion: the store refused a record for good (not a transient fault), or a bug in correlation
  | 'STORE_REJECTED'
  | 'INGEST_INTERNAL'
  // tamper evidence: a stored digest manifest or chain link that does not read back (docs/tamper-evidence.md)
  | 'DIGEST_MALFORMED'
  // tokens
  | 'TOKEN_PREFIX'
  | 'TOKEN_ENCODING'
  | 'TOKEN_URL'
  // token longer than the authenticator accepts (4 KiB)
  | 'TOKEN_TOO_LARGE'
  // query parameters (CLI arguments, query API params): `path` names the bad parameter
  | 'QUERY_PARAM'
  // query API access model (the `queryAccess` grants): `path` names the bad grant field
  | 'QUERY_ACCESS'
  // local files (replay): a whole file refused; the rest of a replay still lands
  | 'FILE_EMPTY'
  | 'FILE_NOT_GZIP'
  | 'FILE_UNREADABLE'
  | 'FILE_UNRECOGNISED'
  | 'FILE_JSON_SYNTAX'
  | 'FILE_NEEDS_LOG_GROUP'
  | 'FILE_NEEDS_CLUSTER'
  // local files (replay): one record of an export refused (quarantined with its index and raw text)
  | 'EXPORT_RECORD_NOT_JSON'
  | 'EXPORT_RECORD_SHAPE'
  | 'EXPORT_RECORD_NO_TIME'
  | 'EXPORT_LINE_UNRECOGNISED'
  | 'EXPORT_CSV_ROW'
  // an alert configuration file (`--alert-config`): `path` names the bad key
  | 'ALERT_CONFIG';

export interface Issue {
  /** Stable machine-readable code; never reworded once released. */
  code: IssueCode;
  /** Human-readable explanation; may change between releases. */
  message: string;
  /** Where in the input, e.g. `logEvents[3].message` or `requestParameters.principalArn`. */
  path?: string;
}

/** At least one issue: a refusal always says why, so nothing downstream has to invent a reason. */
export type NonEmptyIssues = [Issue, ...Issue[]];

export const isNonEmpty = (issues: readonly Issue[]): issues is NonEmptyIssues => issues.length > 0;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: NonEmptyIssues; raw: string };

export const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });

export const fail = <T = never>(raw: string, first: Issue, ...rest: Issue[]): ParseResult<T> => ({
  ok: false,
  issues: [first, ...rest],
  raw,
});

/** A refusal from issues gathered along the way (the caller has checked there is at least one). */
export const failWith = <T = never>(raw: string, issues: NonEmptyIssues): ParseResult<T> => ({
  ok: false,
  issues,
  raw,
});

/** Issues rewritten one by one (a path prefixed, say), still at least one. */
export const mapIssues = (issues: NonEmptyIssues, f: (i: Issue) => Issue): NonEmptyIssues => [
  f(issues[0]),
  ...issues.slice(1).map(f),
];

export const issue = (code: IssueCode, message: string, path?: string): Issue =>
  path === undefined ? { code, message } : { code, message, path };

/**
 * Render any input as the raw text kept with a rejected record. Never throws: a value nested too deep
 * for JSON.stringify is rendered cut at the depth limit, and an object JSON cannot render (a cycle)
 * falls back to its tag, never to String(), whose Array.prototype.join recurses without bound.
 */
export const rawText = (input: unknown): string => {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return Buffer.from(input).toString('utf8');
  if (typeof input !== 'object' || input === null) {
    try {
      return JSON.stringify(input) ?? String(input);
    } catch {
      return String(input);
    }
  }
  try {
    if (exceedsJsonDepth(input)) return boundedJsonText(input);
    return JSON.stringify(input) ?? Object.prototype.toString.call(input);
  } catch {
    // A cycle, or a hostile object (a throwing getter, a proxy).
    return Object.prototype.toString.call(input);
  }
};
