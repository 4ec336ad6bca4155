/**
 * Kubernetes audit events from `kube-apiserver-audit-*` streams (docs/formats.md §2): one audit.k8s.io/v1
 * `Event` per CloudWatch event. Oversized events are cut by CloudWatch and end in `[Truncated...]`
 * (docs/formats.md §0); what a regex can still read from them is kept, flagged `truncated`.
 */

import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import { setOwn } from '../own-property.js';
import { fail, failWith, type Issue, isNonEmpty, issue, ok, type ParseResult, rawText } from '../result.js';
import { isRecord, tryParseJson } from './json-stream.js';
import { redactParsed } from './redact.js';
import { normaliseTimestamp, splitCloudWatchPrefix } from './timestamps.js';
import type { AuditEvent, AuditObjectRef, AuditResponseStatus, K8sUserInfo } from './types.js';

export const TRUNCATION_SUFFIX = '[Truncated...]';

/** Natural idempotency key of an audit record: the auditID repeats across stages (docs/formats.md §2.7). */
export const auditStageKey = (e: Pick<AuditEvent, 'auditID' | 'stage'>): string => `${e.auditID}#${e.stage}`;

// Validators append to `issues` and return the value read (undefined when absent or bad). They run
// for every audit event, so they avoid per-field result objects and copies of what JSON.parse just
// built (the parsed object is ours alone).
type Issues = Issue[];
/** A value quoted in an issue message: JSON, cut short (the raw text keeps the whole input). */
const shown = (v: unknown): string => {
  const text = rawText(v);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
};

const bad = (issues: Issues, path: string, message: string): undefined => {
  issues.push(issue('AUDIT_BAD_FIELD', message, path));
  return undefined;
};

const optString = (v: unknown, path: string, issues: Issues): string | undefined => {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : bad(issues, path, `${path} is not a string`);
};

const isStringArray = (v: unknown): v is string[] => {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
};

const stringArray = (v: unknown, path: string, issues: Issues): string[] => {
  if (v === undefined || v === null) return [];
  if (!isStringArray(v)) {
    bad(issues, path, `${path} is not an array of strings`);
    return [];
  }
  return v;
};

/**
 * `user.extra` is `map[string][]string`; values are normalised to string arrays so that consumers
 * never branch (a scalar becomes a one-element array, null an empty one). Keys are kept verbatim,
 * including Panther's rewritten ones (`authentication_kubernetes_io_slash_pod-name`).
 */
const extraMap = (v: unknown, path: string, issues: Issues): Record<string, string[]> => {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) {
    bad(issues, path, `${path} is not an object`);
    return {};
  }
  const out: Record<string, string[]> = {};
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const raw = v[k];
    if (raw === null || raw === undefined) setOwn(out, k, []);
    else if (typeof raw === 'string') setOwn(out, k, [raw]);
    else if (isStringArray(raw)) setOwn(out, k, raw);
    else {
      bad(issues, `${path}.${k}`, `${path}.${k} is not a string or an array of strings`);
      return {};
    }
  }
  return out;
};

const userInfo = (v: unknown, path: string, issues: Issues): K8sUserInfo => {
  // 401 events carry an empty user object (docs/formats.md §2.4); a missing one is read the same way.
  if (v === undefined || v === null) return { groups: [], extra: {} };
  if (!isRecord(v)) {
    bad(issues, path, `${path} is not an object`);
    return { groups: [], extra: {} };
  }
  const before = issues.length;
  const username = optString(v.username, `${path}.username`, issues);
  const uid = issues.length === before ? optString(v.uid, `${path}.uid`, issues) : undefined;
  const groups = issues.length === before ? stringArray(v.groups, `${path}.groups`, issues) : [];
  const extra = issues.length === before ? extraMap(v.extra, `${path}.extra`, issues) : {};
  const value: K8sUserInfo = { groups, extra };
  if (username !== undefined) value.username = username;
  if (uid !== undefined) value.uid = uid;
  return value;
};

const OBJECT_REF_KEYS = [
  'resource',
  'namespace',
  'name',
  'uid',
  'apiGroup',
  'apiVersion',
  'resourceVersion',
  'subresource',
] as const satisfies ReadonlyArray<keyof AuditObjectRef>;

const objectRef = (v: unknown, issues: Issues): AuditObjectRef | undefined => {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) return bad(issues, 'objectRef', 'objectRef is not an object');
  const out: AuditObjectRef = {};
  for (const k of OBJECT_REF_KEYS) {
    const before = issues.length;
    const s = optString(v[k], `objectRef.${k}`, issues);
    if (issues.length !== before) return undefined;
    if (s !== undefined) out[k] = s;
  }
  return out;
};

const toCode = (v: unknown): number | undefined => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d{3}$/.test(v)) return Number(v);
  return undefined;
};

const responseStatus = (v: unknown, issues: Issues): AuditResponseStatus | undefined => {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) return bad(issues, 'responseStatus', 'responseStatus is not an object');
  const out: AuditResponseStatus = {};
  const code = toCode(v.code);
  if (code !== undefined) out.code = code;
  else if (v.code !== undefined && v.code !== null)
    return bad(issues, 'responseStatus.code', 'responseStatus.code is not an integer');
  for (const k of ['status', 'reason', 'message'] as const) {
    const before = issues.length;
    const s = optString(v[k], `responseStatus.${k}`, issues);
    if (issues.length !== before) return undefined;
    if (s !== undefined) out[k] = s;
  }
  if (isRecord(v.details)) {
    const d: NonNullable<AuditResponseStatus['details']> = {};
    for (const k of ['group', 'kind', 'name'] as const) {
      const s = v.details[k];
      if (typeof s === 'string') setOwn(d, k, s);
    }
    out.details = d;
  }
  return out;
};

/** `map[string]string`; scalars that some normalisers turned into numbers / booleans are re-stringified. */
const annotations = (v: unknown, issues: Issues): Record<string, string> => {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) {
    bad(issues, 'annotations', 'annotations is not an object');
    return {};
  }
  const out: Record<string, string> = {};
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const raw = v[k];
    if (typeof raw === 'string') setOwn(out, k, raw);
    else if (typeof raw === 'number' || typeof raw === 'boolean') setOwn(out, k, String(raw));
    else if (raw !== null && raw !== undefined) {
      bad(issues, `annotations.${k}`, `annotations.${k} is not a string`);
      return {};
    }
  }
  return out;
};

const timestamp = (v: unknown, path: string, issues: Issues): string | undefined => {
  if (v === undefined || v === null) return undefined;
  const iso = normaliseTimestamp(v);
  return iso === undefined ? bad(issues, path, `${path} is not a timestamp: ${shown(v)}`) : iso;
};

const fromObject = (o: Record<string, unknown>, raw: string): ParseResult<AuditEvent> => {
  const kind = o.kind;
  const apiVersion = o.apiVersion;
  if (kind !== undefined && kind !== 'Event') {
    return fail(raw, issue('AUDIT_NOT_EVENT', `kind is ${shown(kind)}, not "Event"`, 'kind'));
  }
  if (apiVersion !== undefined && (typeof apiVersion !== 'string' || !apiVersion.startsWith('audit.k8s.io/'))) {
    return fail(raw, issue('AUDIT_NOT_EVENT', `apiVersion ${shown(apiVersion)} is not audit.k8s.io`, 'apiVersion'));
  }
  if (kind === undefined && apiVersion === undefined) {
    return fail(raw, issue('AUDIT_NOT_EVENT', 'neither kind nor apiVersion: not an audit event'));
  }
  const issues: Issue[] = [];
  const { auditID, stage } = o;
  if (auditID === undefined || auditID === null || auditID === '') {
    issues.push(issue('AUDIT_MISSING_FIELD', 'auditID is missing', 'auditID'));
  } else if (typeof auditID !== 'string') issues.push(issue('AUDIT_BAD_FIELD', 'auditID is not a string', 'auditID'));
  if (stage === undefined || stage === null || stage === '') {
    issues.push(issue('AUDIT_MISSING_FIELD', 'stage is missing', 'stage'));
  } else if (typeof stage !== 'string') issues.push(issue('AUDIT_BAD_FIELD', 'stage is not a string', 'stage'));

  const user = userInfo(o.user, 'user', issues);
  const impersonated =
    o.impersonatedUser == null ? undefined : userInfo(o.impersonatedUser, 'impersonatedUser', issues);
  const sourceIPs = stringArray(o.sourceIPs, 'sourceIPs', issues);
  const ref = objectRef(o.objectRef, issues);
  const status = responseStatus(o.responseStatus, issues);
  const notes = annotations(o.annotations, issues);
  const level = optString(o.level, 'level', issues);
  const verb = optString(o.verb, 'verb', issues);
  const requestURI = optString(o.requestURI, 'requestURI', issues);
  const userAgent = optString(o.userAgent, 'userAgent', issues);
  const received = timestamp(o.requestReceivedTimestamp, 'requestReceivedTimestamp', issues);
  const staged = timestamp(o.stageTimestamp, 'stageTimestamp', issues);
  if (isNonEmpty(issues)) return failWith(raw, issues);

  const e: AuditEvent = {
    auditID: auditID as string,
    stage: stage as string,
    user,
    sourceIPs,
    annotations: notes,
    truncated: false,
  };
  if (level !== undefined) e.level = level;
  if (verb !== undefined) e.verb = verb;
  if (requestURI !== undefined) e.requestURI = requestURI;
  if (impersonated !== undefined) e.impersonatedUser = impersonated;
  if (userAgent !== undefined) e.userAgent = userAgent;
  if (ref !== undefined) e.objectRef = ref;
  if (status !== undefined) e.responseStatus = status;
  if (received !== undefined) e.requestReceivedTimestamp = received;
  if (staged !== undefined) e.stageTimestamp = staged;
  for (const body of ['requestObject', 'responseObject'] as const) {
    const v = o[body];
    if (v === undefined) continue;
    if (exceedsJsonDepth(v, MAX_JSON_DEPTH - 1)) {
      return fail(raw, issue('INPUT_TOO_DEEP', `${body} is nested deeper than ${MAX_JSON_DEPTH} levels`, body));
    }
    e[body] = v;
  }
  return ok(e);
};

// --- truncated events -------------------------------------------------------------------------
// The Event struct is serialised in a fixed field order (kind, apiVersion, level, auditID, stage,
// requestURI, verb, user, impersonatedUser, sourceIPs, userAgent, objectRef, responseStatus,
// requestObject, responseObject, timestamps, annotations), so the FIRST match of each top-level key
// is the structural one: the request/response bodies, where look-alike keys could hide, come later.
const JSTR = '"((?:[^"\\\\]|\\\\.)*)"';
const field = (name: string): RegExp => new RegExp(`"${name}":${JSTR}`);
const TRUNCATED_PATTERNS = {
  auditID: field('auditID'),
  stage: field('stage'),
  level: field('level'),
  verb: field('verb'),
  requestURI: field('requestURI'),
  userAgent: field('userAgent'),
  requestReceivedTimestamp: field('requestReceivedTimestamp'),
  stageTimestamp: field('stageTimestamp'),
  user: new RegExp(`"user":\\{(?:"username":${JSTR})?,?(?:"uid":${JSTR})?,?(?:"groups":\\[((?:${JSTR},?)*)\\])?`),
  objectRef: /"objectRef":\{([^{}]*)\}/,
  code: new RegExp(
    `"responseStatus":\\{"metadata":\\{[^{}]*\\}(?:,"status":${JSTR})?(?:,"message":${JSTR})?(?:,"reason":${JSTR})?(?:,"details":\\{[^{}]*\\})?,"code":(\\d+)`,
  ),
  decision: /"authorization\.k8s\.io\/decision":"(allow|forbid)"/,
  reason: new RegExp(`"authorization\\.k8s\\.io/reason":${JSTR}`),
} as const;

const jsonString = (escaped: string | undefined): string | undefined => {
  if (escaped === undefined) return undefined;
  const r = tryParseJson(`"${escaped}"`);
  return r.ok && typeof r.value === 'string' ? r.value : undefined;
};

const recoverTruncated = (text: string, raw: string): ParseResult<AuditEvent> => {
  const get = (re: RegExp): string | undefined => jsonString(re.exec(text)?.[1]);
  const auditID = get(TRUNCATED_PATTERNS.auditID);
  if (!auditID) {
    return fail(raw, issue('AUDIT_TRUNCATED_NO_ID', 'truncated audit event without a recoverable auditID'));
  }
  const e: AuditEvent = {
    auditID,
    stage: get(TRUNCATED_PATTERNS.stage) ?? '',
    user: { groups: [], extra: {} },
    sourceIPs: [],
    annotations: {},
    truncated: true,
  };
  const level = get(TRUNCATED_PATTERNS.level);
  const verb = get(TRUNCATED_PATTERNS.verb);
  const requestURI = get(TRUNCATED_PATTERNS.requestURI);
  const userAgent = get(TRUNCATED_PATTERNS.userAgent);
  if (level !== undefined) e.level = level;
  if (verb !== undefined) e.verb = verb;
  if (requestURI !== undefined) e.requestURI = requestURI;
  if (userAgent !== undefined) e.userAgent = userAgent;
  const received = normaliseTimestamp(get(TRUNCATED_PATTERNS.requestReceivedTimestamp));
  const staged = normaliseTimestamp(get(TRUNCATED_PATTERNS.stageTimestamp));
  if (received !== undefined) e.requestReceivedTimestamp = received;
  if (staged !== undefined) e.stageTimestamp = staged;

  const um = TRUNCATED_PATTERNS.user.exec(text);
  if (um) {
    const username = jsonString(um[1]);
    const uid = jsonString(um[2]);
    if (username !== undefined) e.user.username = username;
    if (uid !== undefined) e.user.uid = uid;
    if (um[3] !== undefined) {
      const groups = tryParseJson(`[${um[3].replace(/,$/, '')}]`);
      if (groups.ok && Array.isArray(groups.value)) e.user.groups = groups.value.filter((g) => typeof g === 'string');
    }
  }
  const om = TRUNCATED_PATTERNS.objectRef.exec(text);
  if (om) {
    const parsed = tryParseJson(`{${om[1]}}`);
    if (parsed.ok) {
      const refIssues: Issue[] = [];
      const ref = objectRef(parsed.value, refIssues);
      if (refIssues.length === 0 && ref !== undefined) e.objectRef = ref;
    }
  }
  const cm = TRUNCATED_PATTERNS.code.exec(text);
  if (cm) e.responseStatus = { code: Number(cm[4]) };
  const decision = TRUNCATED_PATTERNS.decision.exec(text)?.[1];
  if (decision !== undefined) e.annotations['authorization.k8s.io/decision'] = decision;
  const reason = get(TRUNCATED_PATTERNS.reason);
  if (reason !== undefined) e.annotations['authorization.k8s.io/reason'] = reason;
  return ok(e);
};

const parseText = (message: string): ParseResult<AuditEvent> => {
  const text = splitCloudWatchPrefix(message.trim()).rest;
  if (text.endsWith(TRUNCATION_SUFFIX)) return recoverTruncated(text, message);
  if (!text.startsWith('{')) return fail(message, issue('AUDIT_NOT_JSON', 'an audit event is a JSON object'));
  // Depth is checked on the bodies only (fromObject): every other field is validated as strings and
  // string lists, so only requestObject and responseObject can carry nesting past that point, and
  // most events have neither (a walk of the whole event would cost every event).
  const parsed = tryParseJson(text, Number.POSITIVE_INFINITY);
  if (!parsed.ok) return fail(message, issue('AUDIT_NOT_JSON', parsed.error));
  if (!isRecord(parsed.value)) return fail(message, issue('AUDIT_NOT_EVENT', 'not a JSON object'));
  return fromObject(parsed.value, message);
};

/**
 * Parse one audit CloudWatch message. Tolerates surrounding blanks and a leading CloudWatch
 * timestamp (console exports). Panther-style `2022-11-29 00:09:04.38` timestamps become RFC 3339.
 * Secrets (a bearer token in `requestURI`, say) are redacted from the event and from a refusal's raw
 * text (lib/sources/redact.ts).
 */
export const parseAuditEvent = (message: string): ParseResult<AuditEvent> => {
  if (typeof message !== 'string') return fail(rawText(message), issue('AUDIT_NOT_JSON', 'not a string'));
  return redactParsed(parseText(message), message);
};

/** Same as parseAuditEvent for an already-decoded object (e.g. a JSON lines export). */
export const parseAuditEventObject = (value: unknown): ParseResult<AuditEvent> => {
  const raw = rawText(value);
  if (!isRecord(value)) return redactParsed(fail(raw, issue('AUDIT_NOT_EVENT', 'not a JSON object')));
  return redactParsed(fromObject(value, raw));
};
