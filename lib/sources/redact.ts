/**
 * Secrets never kept (docs/design.md, principle 8; docs/formats.md §9.6). Every parser runs what it
 * read through this module before anything is stored, quarantined, alerted or printed, so a trail that
 * answers "who did what" never holds a credential someone could replay.
 *
 * What is a secret (docs/formats.md §9.4): a bearer token as a whole, a presigned URL's signature and
 * security token, an STS session token, an Authorization header value, and OAuth-style query
 * parameters (`access_token`, the way the API server accepts a bearer token in a query string). What
 * attribution needs is kept: the access key id, the credential scope (date, region, service), the
 * signing time and the cluster id of a token, and the credential part of a SigV4 Authorization header.
 *
 * Every secret is replaced by a marker `[REDACTED:<what>]`, where <what> names the rule (the
 * parameter or key name as AWS or the client spells it, or the kind of token). The marker never
 * matches a rule again, so redaction is idempotent and running it at several layers is safe.
 *
 * Rules on text, in the order they run (`redactText`):
 *
 *  1. bearer-token       `k8s-aws-v1.<base64url>` -> `[REDACTED:bearer-token key=… scope=… signed=… cluster=…]`,
 *                        the non-secret parts read from the presigned URL inside (docs/formats.md §9.2)
 *  2. JSON keys          `"<secret key>":"<value>"`, also once JSON-escaped (`\"sessionToken\":\"…\"`)
 *                        -> the value becomes `[REDACTED:<name>]`. A key is secret when it ends with
 *                        a secret name: `sessionToken`, `secretAccessKey`, `token`, `password`,
 *                        `authorization`, `X-Amz-Security-Token`, `ci.example.com/token`, … (not
 *                        `subjectFromWebIdentityToken`, the web-identity subject attribution needs)
 *  3. Authorization      `Authorization: <value>` / `authorization=<value>`; a SigV4 value keeps its
 *                        Credential and loses its Signature (rule 4), any other value is redacted whole
 *  4. presign params     `X-Amz-Signature`, `X-Amz-Security-Token` (also as `X-Amz-Security-Token:` headers),
 *                        and `Signature=` (SigV4 Authorization, SigV2 presigned URLs), plain or
 *                        percent-encoded (`%26X-Amz-Signature%3D…` inside another URL)
 *  5. secret params      `access_token=`, `id_token=`, `refresh_token=`, `token=`, `client_secret=`,
 *                        `password=`, `api_key=`, `sessionToken=`, `aws_secret_access_key=`, … in query
 *                        strings, logfmt (`token="…"`) and form bodies
 *  6. bearer             `Bearer <16 or more token characters>`
 *  7. jwt-signature      a JWT keeps its header and payload (who it names) and loses its signature
 *  8. aws-session-token  an STS session token anywhere else (they start `IQoJb3JpZ2luX2Vj` or `FwoGZXIvYXdz`)
 *
 * Rules on parsed values (`redactValue`): a string under a secret key (rule 2) becomes
 * `[REDACTED:<name>]`; the `data` and `stringData` values of a Kubernetes
 * Secret become `[REDACTED:secret-data]`; every other string goes through the text rules.
 */
import { boundedJsonText, checkDepth, JsonDepthError, MAX_JSON_DEPTH } from '../json-depth.js';
import { fail, failWith, issue, mapIssues, type NonEmptyIssues, ok, type ParseResult } from '../result.js';

export const REDACTED_PREFIX = '[REDACTED:';

export const redactionMarker = (what: string): string => `${REDACTED_PREFIX}${what}]`;

export const isRedacted = (s: string): boolean => s.startsWith(REDACTED_PREFIX);

/**
 * Cheap test run before the rules: text holding none of these cannot match any rule (every rule's
 * match contains one of them), so most log lines cost one regex scan. `authorization.k8s.io`, in the
 * decision annotations of every audit event (docs/formats.md §2.3), is not a reason to look further.
 * Real JSON encoders escape no ASCII letter (Go escapes `&`, `<`, `>`), but a replayed or forged file
 * may (`\u0074oken`): a letter written as an escape sends the text through the rules too.
 */
// One leading character class, then the rest of each trigger: irregexp then tries the alternatives
// only where one of these letters stands, about twice as fast as the plain alternation. The JWT
// trigger (`eyJ`, two letters after the class) runs on its own: in the same alternation it makes the
// shortest match three characters, too short a window for irregexp to skip ahead, so every position
// of every log line paid for all thirteen alternatives; apart, both scans skip (about 40 % less time
// per audit event, the largest single cost of parsing one). Together they test exactly the same
// language as the one alternation did.
const MAY_HOLD_JWT = /[kKtTsSpPaAbBeEiIfF]yJ/i;
const MAY_HOLD_OTHER_SECRET =
  /[kKtTsSpPaAbBeEiIfF](?:8s-aws-v1|oken|ecret|assw|ignature|uthorization(?!\.k8s\.io)|earer|QoJb3JpZ2luX2Vj|woGZXIvYXdz|ssertion|pi[-_]?key|rivate[-_]?key)/i;

/** `\u0040`-`\u007f`: an ASCII letter (and a few signs) written as a JSON escape. */
export const ESCAPED_LETTER = /\\u00[4-7][0-9a-f]/i;

export const mayHoldSecret = (text: string): boolean =>
  MAY_HOLD_JWT.test(text) || MAY_HOLD_OTHER_SECRET.test(text) || (text.includes('\\u00') && ESCAPED_LETTER.test(text));

// Secret names, as one alternation: keys of JSON objects and names of key=value pairs. A key is
// secret when it ENDS with one of them (`sessionToken`, `ci.example.com/token`, `db_password`).
const SECRET_NAMES =
  'x-amz-signature|x-amz-security-token|(?:access|id|refresh|session|web[-_]?identity|bearer|security|auth)[-_]?token|token|client[-_]?secret|(?:aws[-_]?)?secret[-_]?access[-_]?key|secret|password|passwd|api[-_]?key|saml[-_]?assertion|private[-_]?key|authorization';

const SECRET_KEY_TAIL = new RegExp(`(${SECRET_NAMES})$`, 'i');

/**
 * Keys that end like a secret but hold what attribution needs: the web-identity subject of an
 * AssumeRoleWithWebIdentity response names the person (docs/formats.md §3.4).
 */
const NOT_SECRET_KEYS: ReadonlySet<string> = new Set(['subjectfromwebidentitytoken']);

/** The secret name a key ends with (`ci.example.com/token` -> `token`), or undefined for any other key. */
const secretKeyName = (key: string): string | undefined => {
  if (key.length > 128 || NOT_SECRET_KEYS.has(key.toLowerCase())) return undefined;
  return SECRET_KEY_TAIL.exec(key)?.[1];
};

/** True when a key of a parsed object names a secret (`sessionToken`, `X-Amz-Security-Token`, `ci.example.com/token`…). */
export const isSecretKey = (key: string): boolean => secretKeyName(key) !== undefined;

// AWS spells its presign parameters one way; the authenticator compares them without case.
const CANONICAL: Record<string, string> = {
  'x-amz-signature': 'X-Amz-Signature',
  'x-amz-security-token': 'X-Amz-Security-Token',
  signature: 'Signature',
  authorization: 'Authorization',
};

/** The name a marker carries: AWS's spelling for its own parameters, else the secret name as written. */
const markerName = (name: string): string =>
  CANONICAL[name.toLowerCase()] ?? name.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40);

// --- rule 1: EKS bearer tokens ----------------------------------------------------------------------

const BEARER_TOKEN = /k8s-aws-v1\.(?:[A-Za-z0-9_+/-]|%2[BbFf]|%3[Dd])+=*/g;

const attributionPart = (s: string | null | undefined): string | undefined => {
  if (!s) return undefined;
  const clean = s.replace(/[^A-Za-z0-9_./:-]/g, '').slice(0, 128);
  return clean === '' ? undefined : clean;
};

/**
 * What a token says about its signer without the secret parts: the presigned URL's X-Amz-Credential
 * (key id / date / region / service), X-Amz-Date and, when a client put it in the query, x-k8s-aws-id.
 */
const bearerTokenMarker = (token: string): string => {
  let body = token.slice('k8s-aws-v1.'.length).replace(/=+$/, '');
  try {
    body = decodeURIComponent(body);
  } catch {
    // a stray % stays as written; the decode below then fails and the marker carries no details
  }
  const parts: string[] = [];
  if (/^[A-Za-z0-9_+/-]+$/.test(body)) {
    const text = Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const query = text.indexOf('?');
    if (query >= 0 && /^https?:\/\//i.test(text)) {
      const params = new URLSearchParams(text.slice(query + 1));
      const get = (name: string): string | undefined => {
        for (const [k, v] of params) if (k.toLowerCase() === name) return v;
        return undefined;
      };
      const [key, ...scope] = (get('x-amz-credential') ?? '').split('/');
      const details: [string, string | undefined][] = [
        ['key', attributionPart(key)],
        ['scope', attributionPart(scope.slice(0, 3).join('/'))],
        ['signed', attributionPart(get('x-amz-date'))],
        ['cluster', attributionPart(get('x-k8s-aws-id'))],
      ];
      for (const [k, v] of details) if (v !== undefined) parts.push(`${k}=${v}`);
    }
  }
  return redactionMarker(parts.length > 0 ? `bearer-token ${parts.join(' ')}` : 'bearer-token');
};

// --- rule 2: JSON keys ------------------------------------------------------------------------------

// Every `"key":"string"` pair; the replacer keeps those whose key is secret (secretKeyName).
const JSON_PAIR = /"([^"\\]{1,128})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
// One level of JSON inside a JSON string (lookup-events' CloudTrailEvent): the quotes are escaped.
const ESCAPED_JSON_PAIR = /\\"([^"\\]{1,128})\\"(\s*:\s*)\\"([^"\\]*)\\"/g;

const isSigV4 = (value: string): boolean => /^\s*AWS4-/i.test(value);

/** The value kept for a secret key: its marker, or the value itself when the key is not secret. */
const jsonKeyValue = (key: string, value: string): string => {
  const name = secretKeyName(key);
  if (name === undefined || value === '' || isRedacted(value)) return value;
  // A SigV4 Authorization value names the key that signed (attribution); rule 4 takes its Signature.
  if (name.toLowerCase() === 'authorization' && isSigV4(value)) return value;
  return redactionMarker(markerName(name));
};

// --- rule 3: Authorization --------------------------------------------------------------------------

const AUTHORIZATION = /(authorization)(["']?[ \t]*[:=][ \t]*["']?)([^"'\r\n\\&]+)/gi;

// --- rule 4: presign parameters ---------------------------------------------------------------------

// What may stand before a parameter: start, query or list separators, blanks, quotes, or the
// separators escaped (`\u0026` in Go's JSON, `%26` / `%3F` inside another URL).
const DELIM = `(^|[?&;\\s,("']|\\\\u0026|%26|%3[Ff])`;
// A parameter value: stops at the next separator, plain or percent-encoded (%26 &, %3B ;).
const PARAM_VALUE = `(?:%(?!26|3[Bb])[0-9A-Fa-f]{2}|[A-Za-z0-9+/=_.~-])+`;
const PRESIGN = new RegExp(`${DELIM}(x-amz-signature|x-amz-security-token)(=|%3[Dd]|:[ \\t]*)(${PARAM_VALUE})`, 'gi');
const SIGNATURE = new RegExp(`${DELIM}(signature)(=|%3[Dd])(${PARAM_VALUE})`, 'gi');

// --- rule 5: secret parameters ----------------------------------------------------------------------

const SECRET_PARAM_VALUE = `(?:"[^"\\\\\\r\\n]*"|(?:%(?!26|3[Bb])[0-9A-Fa-f]{2}|[^&\\s"'\\\\#<>%;,])+)`;
// A name may carry a prefix (`ci_token=`, `dbPassword=`), as keys do.
const SECRET_PARAM = new RegExp(
  `${DELIM}([A-Za-z0-9]{0,40}?[-_.]?(?:${SECRET_NAMES}))(=|%3[Dd])(${SECRET_PARAM_VALUE})`,
  'gi',
);

// --- rules 6 to 8 -----------------------------------------------------------------------------------

const BEARER = /\b(bearer)(\s+)([A-Za-z0-9._~+/-]{16,}=*)/gi;
const JWT = /\b(eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.)[A-Za-z0-9_-]{8,}/g;
const SESSION_TOKEN = /(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz)(?:[A-Za-z0-9+/=]|%2[BbFf]|%3[Dd])*/g;

const quoted = (value: string, marker: string): string =>
  value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? `"${marker}"` : marker;

/** The text with every secret of the rules above replaced by its marker. Total and idempotent. */
export const redactText = (text: string): string =>
  typeof text !== 'string' || !mayHoldSecret(text) ? text : applyTextRules(text);

/** The text rules without the mayHoldSecret shortcut (exported for the test that the shortcut is sound). */
export const applyTextRules = (text: string): string => {
  let s = text;
  if (s.includes('k8s-aws-v1.')) s = s.replace(BEARER_TOKEN, bearerTokenMarker);
  s = s.replace(
    JSON_PAIR,
    (_m, key: string, sep: string, value: string) => `"${key}"${sep}"${jsonKeyValue(key, value)}"`,
  );
  if (s.includes('\\"')) {
    s = s.replace(
      ESCAPED_JSON_PAIR,
      (_m, key: string, sep: string, value: string) => `\\"${key}\\"${sep}\\"${jsonKeyValue(key, value)}\\"`,
    );
  }
  s = s.replace(AUTHORIZATION, (m, name: string, sep: string, value: string) =>
    isRedacted(value) || isSigV4(value) ? m : `${name}${sep}${redactionMarker('Authorization')}`,
  );
  s = s.replace(
    PRESIGN,
    (_m, pre: string, name: string, sep: string) => `${pre}${name}${sep}${redactionMarker(markerName(name))}`,
  );
  s = s.replace(
    SIGNATURE,
    (_m, pre: string, name: string, sep: string) => `${pre}${name}${sep}${redactionMarker('Signature')}`,
  );
  s = s.replace(SECRET_PARAM, (m, pre: string, name: string, sep: string, value: string) => {
    const inner = value.startsWith('"') ? value.slice(1, -1) : value;
    if (inner === '' || isRedacted(inner)) return m;
    return `${pre}${name}${sep}${quoted(value, redactionMarker(markerName(secretKeyName(name) ?? name)))}`;
  });
  s = s.replace(BEARER, (_m, word: string, gap: string) => `${word}${gap}${redactionMarker('bearer')}`);
  s = s.replace(JWT, (_m, head: string) => `${head}${redactionMarker('jwt-signature')}`);
  s = s.replace(SESSION_TOKEN, redactionMarker('aws-session-token'));
  return s;
};

// --- parsed values ----------------------------------------------------------------------------------

const SECRET_DATA = redactionMarker('secret-data');

const redactSecretData = (data: unknown): unknown => {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(data)) {
    Object.defineProperty(out, k, {
      value:
        typeof (data as Record<string, unknown>)[k] === 'string' ? SECRET_DATA : (data as Record<string, unknown>)[k],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
};

const walk = (value: unknown, depth: number): unknown => {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value;
  checkDepth(depth);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const r = walk(v, depth + 1);
      if (r !== v) {
        out ??= value.slice();
        out[i] = r;
      }
    }
    return out ?? value;
  }
  const src = value as Record<string, unknown>;
  // A Kubernetes Secret's values are the secret, whatever their keys are called.
  const isSecretObject = src.kind === 'Secret';
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(src)) {
    const v = src[k];
    let r: unknown;
    if (typeof v === 'string' && v !== '' && isSecretKey(k)) {
      const marked = jsonKeyValue(k, v);
      r = marked === v ? redactText(v) : marked;
    } else if (isSecretObject && (k === 'data' || k === 'stringData')) r = redactSecretData(v);
    else r = walk(v, depth + 1);
    if (r !== v) {
      if (out === undefined) {
        out = {};
        for (const kk of Object.keys(src)) {
          Object.defineProperty(out, kk, { value: src[kk], enumerable: true, writable: true, configurable: true });
        }
      }
      Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
    }
  }
  return out ?? value;
};

/**
 * `value` with every secret replaced by its marker (the rules above). Copy on write: the input is
 * never modified, and a value holding no secret is returned as is. Throws JsonDepthError past
 * MAX_JSON_DEPTH: parsers check the depth of what they read first (INPUT_TOO_DEEP).
 */
export const redactValue = <T>(value: T): T => walk(value, 1) as T;

// --- parser results ---------------------------------------------------------------------------------

/** Issue messages quote input now and then (a bad value, a path): they are redacted like the input. */
export const redactIssues = (issues: NonEmptyIssues): NonEmptyIssues =>
  mapIssues(issues, (i) => {
    const message = redactText(i.message);
    return message === i.message ? i : { ...i, message };
  });

/**
 * A parser's result with its secrets redacted: the value through `redactValue`, a refusal's raw text
 * and issue messages through `redactText`. `source` is the text the value was parsed from, when there
 * is one: text that cannot hold a secret (mayHoldSecret) spares the walk over the value.
 */
export const redactParsed = <T>(r: ParseResult<T>, source?: string): ParseResult<T> => {
  if (!r.ok) return failWith(redactText(r.raw), redactIssues(r.issues));
  if (source !== undefined && !mayHoldSecret(source)) return r;
  try {
    return ok(redactValue(r.value));
  } catch (err) {
    if (!(err instanceof JsonDepthError)) throw err;
    return fail(
      redactText(source ?? boundedJsonText(r.value)),
      issue('INPUT_TOO_DEEP', `nested deeper than ${MAX_JSON_DEPTH} levels`),
    );
  }
};
