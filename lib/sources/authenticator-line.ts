/**
 * aws-iam-authenticator log lines (docs/formats.md §1): logrus TextFormatter output, one line per CloudWatch
 * event. Hosted EKS runs a fork whose strings lag OSS, so everything is matched on `msg`, every key
 * is optional, and error texts are matched case-insensitively by substring.
 */

import { setOwn } from '../own-property.js';
import { fail, issue, ok, type ParseResult, rawText } from '../result.js';
import { readGoQuoted } from './go-quote.js';
import { isRecord, tryParseJson } from './json-stream.js';
import { redactParsed } from './redact.js';
import { splitCloudWatchPrefix } from './timestamps.js';
import type {
  AccessDeniedLine,
  AccessGrantedLine,
  AuthenticatorLine,
  AuthnFailureClass,
  MapperStartedLine,
  StaticMappingLine,
  StsResponseLine,
  UnrecognisedAuthenticatorLine,
} from './types.js';

// logrus writes its own keys first; a data key that collides becomes `fields.<key>`.
const LOGRUS_KEYS = ['time', 'level', 'msg'] as const;
// Where the logrus part starts behind a foreign prefix (`pod container `, `ns/pod[container]: `).
const LOGRUS_START = /(?:^|\s)((?:time|level|msg)=)/;

interface Tokenized {
  fields: Record<string, string>;
}

const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/** JavaScript's `\s` (what the key grammar has always used), as a char-code test. */
const isJsSpace = (c: number): boolean =>
  c < 0x80
    ? c === 0x20 || (c >= 0x09 && c <= 0x0d)
    : c === 0xa0 ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000 ||
      c === 0xfeff;

const tokenize = (body: string): ParseResult<Tokenized> => {
  // A plain object: lines share their key order, so V8 gives them one compact shape (a
  // prototype-less object is a hash table per line). setOwn keeps a `__proto__` key an own property.
  const fields: Record<string, string> = {};
  let i = 0;
  const n = body.length;
  let pairs = 0;
  while (i < n) {
    while (i < n && isBlank(body.charCodeAt(i))) i++;
    if (i >= n) break;
    // A logrus key: anything up to `=` that is not whitespace or a quote.
    let j = i;
    for (; j < n; j++) {
      const c = body.charCodeAt(j);
      if (c === 0x3d /* = */ || c === 0x22 /* " */ || isJsSpace(c)) break;
    }
    if (j === i || body.charCodeAt(j) !== 0x3d) {
      return fail(body, issue('AUTHN_LINE_GRAMMAR', `expected key=value at offset ${i}`, `offset ${i}`));
    }
    const key = body.slice(i, j);
    i = j + 1;
    let value: string;
    if (body.charCodeAt(i) === 0x22) {
      const q = readGoQuoted(body, i);
      if (q === undefined) {
        return fail(body, issue('AUTHN_LINE_BAD_QUOTE', `unterminated or invalid quoted value for "${key}"`, key));
      }
      if (q.end < n && !isBlank(body.charCodeAt(q.end))) {
        return fail(body, issue('AUTHN_LINE_GRAMMAR', `text right after the quoted value of "${key}"`, key));
      }
      value = q.value;
      i = q.end;
    } else {
      // Bare values may be empty (`session=`); take everything up to the next blank, as logrus only
      // writes a bare value when it holds no blank.
      let k = i;
      while (k < n && !isBlank(body.charCodeAt(k))) k++;
      value = body.slice(i, k);
      i = k;
    }
    setOwn(fields, key, value);
    pairs++;
  }
  if (pairs === 0) return fail(body, issue('AUTHN_LINE_GRAMMAR', 'no key=value pairs'));
  return ok({ fields });
};

/** `fmt.Sprint([]string)`: `[a b c]`, `[]`. A group name holding a blank cannot be told apart. */
export const parseGoStringSlice = (v: string | undefined): string[] => {
  if (v === undefined) return [];
  const s = v.trim();
  const inner = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  return inner.split(' ').filter((g) => g.length > 0);
};

// Ordered: the first matching class wins, most specific first (an aggregated mapper error may hold
// several; e.g. a token error also starts with the generic "input token" prefix).
const FAILURE_CLASSES: ReadonlyArray<readonly [AuthnFailureClass, RegExp]> = [
  ['token-expired', /X-Amz-Date parameter is expired/i],
  ['token-malformed', /input token was not properly formatted/i],
  ['sts-throttled', /was throttled/i],
  ['invalid-arn', /does not have a recognized partition|arn '[^']*' is invalid/i],
  ['sts-failure', /sts getCallerIdentity failed/i],
  ['reserved-prefix', /username must not begin with/i],
  ['arn-userid-mismatch', /ARN does not match User ID/i],
  [
    'template-error',
    /renderTemplates error|failed mapping (?:username|group)s?:|SessionName did not contain an instance id|failed querying private DNS|failed to find node/i,
  ],
  // "ARN is not mapped" (≤2023, also ": <arn>" in v0.4), "Identity is not mapped", "identity is not mapped".
  ['identity-not-mapped', /is not mapped/i],
];

/** Classify an `access denied` error text per the docs/formats.md §1.3 catalogue. */
export const classifyAuthnError = (error: string): AuthnFailureClass => {
  for (const [cls, re] of FAILURE_CLASSES) if (re.test(error)) return cls;
  return 'unknown';
};

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** Strip what wraps the logrus text: trailing newline, CloudWatch timestamp, `pod container` prefix. */
const stripWrappers = (message: string): string => {
  // By hand: the regex `[\r\n]+$` is tried at every offset of the line before it fails.
  let end = message.length;
  for (let c = message.charCodeAt(end - 1); c === 0x0a || c === 0x0d; c = message.charCodeAt(end - 1)) end--;
  let s = end === message.length ? message : message.slice(0, end);
  s = splitCloudWatchPrefix(s.trimStart()).rest;
  if (!/^[^\s="]+=/.test(s)) {
    const m = LOGRUS_START.exec(s);
    if (m) s = s.slice(m.index + m[0].length - (m[1] as string).length);
  }
  return s;
};

/** `--log-format=json` lines (no EKS sample seen, docs/formats.md §1.1): flatten to the same string fields. */
const jsonFields = (s: string): Record<string, string> | undefined => {
  if (!s.startsWith('{')) return undefined;
  const parsed = tryParseJson(s);
  if (!parsed.ok || !isRecord(parsed.value)) return undefined;
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(parsed.value)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) setOwn(fields, k, `[${v.map(String).join(' ')}]`);
    else if (typeof v === 'object') setOwn(fields, k, JSON.stringify(v));
    else setOwn(fields, k, String(v));
  }
  return 'msg' in fields || 'level' in fields ? fields : undefined;
};

const STARTING_MAPPER = /^starting mapper /;

/** Sets `key` when the line carried a non-empty value for it (absent keys stay absent, not undefined). */
const setIf = <T extends object, K extends keyof T>(target: T, key: K, v: string | undefined): void => {
  if (v !== undefined && v !== '') target[key] = v as T[K];
};

// Lines are built by assignment rather than spreads of optional parts: this runs for every
// authenticator line, and the temporary objects were most of its cost.
const build = (fields: Record<string, string>): AuthenticatorLine => {
  const msg = fields.msg ?? '';
  // Hosted EKS wrote the endpoint as `sts=` on 2022 denials; OSS ≥ v0.6.28 writes `stsendpoint=`.
  const stsEndpoint = nonEmpty(fields.stsendpoint) ?? nonEmpty(fields.sts);
  const withBase = <L extends AuthenticatorLine>(line: L): L => {
    if (fields.time !== undefined) line.time = fields.time;
    if (fields.level !== undefined) line.level = fields.level;
    if (fields.msg !== undefined) line.msg = fields.msg;
    setIf(line, 'client', fields.client);
    return line;
  };

  switch (msg) {
    case 'STS response': {
      const line: StsResponseLine = withBase({ kind: 'sts-response', fields });
      setIf(line, 'accessKeyId', fields.accesskeyid);
      setIf(line, 'accountId', fields.accountid);
      setIf(line, 'stsArn', fields.arn);
      setIf(line, 'session', fields.session);
      setIf(line, 'userId', fields.userid);
      setIf(line, 'stsEndpoint', stsEndpoint);
      return line;
    }
    case 'access granted': {
      const line: AccessGrantedLine = withBase({
        kind: 'access-granted',
        fields,
        groups: parseGoStringSlice(fields.groups),
      });
      setIf(line, 'canonicalArn', fields.arn);
      setIf(line, 'uid', fields.uid);
      setIf(line, 'username', fields.username);
      setIf(line, 'stsEndpoint', stsEndpoint);
      return line;
    }
    case 'access denied': {
      const error = fields.error ?? '';
      const line: AccessDeniedLine = withBase({
        kind: 'access-denied',
        fields,
        error,
        errorClass: classifyAuthnError(error),
      });
      setIf(line, 'canonicalArn', fields.arn);
      setIf(line, 'stsEndpoint', stsEndpoint);
      return line;
    }
    case 'mapping IAM role':
    case 'mapping IAM user':
    case 'mapping IAM Account': {
      const mappingKind: StaticMappingLine['mappingKind'] =
        msg === 'mapping IAM Account'
          ? 'account'
          : msg === 'mapping IAM user'
            ? 'user'
            : fields.sso !== undefined && fields.role === undefined
              ? 'sso'
              : 'role';
      const arn = mappingKind === 'user' ? fields.user : mappingKind === 'role' ? fields.role : undefined;
      const line: StaticMappingLine = withBase({
        kind: 'static-mapping',
        fields,
        mappingKind,
        groups: parseGoStringSlice(fields.groups),
      });
      setIf(line, 'arn', arn);
      setIf(line, 'accountId', fields.accountID ?? fields.accountid);
      setIf(line, 'username', fields.username);
      return line;
    }
  }
  if (STARTING_MAPPER.test(msg)) {
    // `Infof("starting mapper %q", name)`: the name is Go-quoted inside the (already unquoted) msg.
    const rest = msg.slice('starting mapper '.length);
    const q = rest.startsWith('"') ? readGoQuoted(rest, 0) : undefined;
    const mapper = q !== undefined && q.end === rest.length ? q.value : rest.trim();
    if (mapper !== '') {
      const line: MapperStartedLine = withBase({ kind: 'mapper-started', fields, mapper });
      return line;
    }
  }
  const line: UnrecognisedAuthenticatorLine = withBase({ kind: 'unrecognised', fields });
  return line;
};

/**
 * Parse one authenticator line. Tolerates a leading CloudWatch timestamp, a `pod container` or
 * kail-style prefix and a trailing newline. A well-formed logrus line with an unknown `msg` is
 * `kind: 'unrecognised'` (ok); only text that is not logrus key=value at all is an error.
 */
export const parseAuthenticatorLine = (message: string): ParseResult<AuthenticatorLine> => {
  if (typeof message !== 'string') return fail(rawText(message), issue('AUTHN_LINE_EMPTY', 'not a string'));
  // Error texts can quote a presigned URL or a token (docs/formats.md §1.3): redacted before anything
  // keeps the line (lib/sources/redact.ts).
  return redactParsed(parseLine(message), message);
};

const parseLine = (message: string): ParseResult<AuthenticatorLine> => {
  const body = stripWrappers(message).trim();
  if (body === '') return fail(message, issue('AUTHN_LINE_EMPTY', 'empty line'));
  const fromJson = jsonFields(body);
  if (fromJson) return ok(build(fromJson));
  const t = tokenize(body);
  if (!t.ok) return fail(message, ...t.issues);
  const { fields } = t.value;
  if (!LOGRUS_KEYS.some((k) => k in fields)) {
    return fail(message, issue('AUTHN_LINE_GRAMMAR', 'key=value text without logrus time/level/msg'));
  }
  return ok(build(fields));
};
