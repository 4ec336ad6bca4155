import { fail, issue, ok, type ParseResult, rawText } from '../result.js';
import { redactText } from '../sources/redact.js';

/**
 * Offline decoding of an EKS bearer token: `k8s-aws-v1.` + base64url(presigned STS GetCallerIdentity URL),
 * as `aws eks get-token` and aws-iam-authenticator produce it (docs/formats.md §1.3 token format errors, §1.4).
 * Nothing is verified against AWS: the signature cannot be checked without the secret key, and who the
 * key belongs to comes from the trail (see `attributeToken`), not from the token.
 */

export const TOKEN_PREFIX = 'k8s-aws-v1.';
/** The authenticator refuses longer tokens ("token is too large"). */
export const MAX_TOKEN_BYTES = 4096;
/**
 * The authenticator accepts a token for 15 minutes after X-Amz-Date whatever X-Amz-Expires says
 * ("X-Amz-Date parameter is expired (15 minute expiration)"): kubectl reuses one token that long.
 */
export const AUTHENTICATOR_VALIDITY_MS = 15 * 60_000;

/** Query parameters the authenticator allows in the presigned URL (case-insensitive). */
const ALLOWED_PARAMS = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

export interface DecodedToken {
  /**
   * The presigned URL with its signature and security token redacted (lib/sources/redact.ts): what
   * is printed must never be replayable (docs/formats.md §9.4). The rest of this object is read from
   * the URL before redaction.
   */
  url: string;
  /** Whether the URL carries an X-Amz-Signature (its value is never kept). */
  hasSignature: boolean;
  stsHost: string;
  /** From the host (`sts.<region>.amazonaws.com`); the global endpoint `sts.amazonaws.com` is us-east-1. */
  endpointRegion?: string;
  globalEndpoint: boolean;
  /** Region in the credential scope (what the signature was computed for). */
  signingRegion?: string;
  service?: string;
  /** First segment of X-Amz-Credential: the key that signed. ASIA… = temporary, AKIA… = IAM user key. */
  accessKeyId?: string;
  accessKeyKind?: 'temporary' | 'long-term' | 'unknown';
  /** yyyymmdd of the credential scope. */
  credentialDate?: string;
  /** X-Amz-Date as ISO. */
  signedAt?: string;
  /** X-Amz-Expires in seconds as written (`aws eks get-token` writes 60). */
  expiresSeconds?: number;
  /** signedAt + X-Amz-Expires: what STS itself would enforce. */
  presignExpiresAt?: string;
  /** signedAt + 15 min: what the authenticator enforces regardless of X-Amz-Expires. */
  authenticatorExpiresAt?: string;
  signedHeaders: string[];
  /**
   * The cluster ID the token was made for travels as the `x-k8s-aws-id` header of the presigned
   * request: it is signed (listed in X-Amz-SignedHeaders) but its VALUE is not in the URL, so it cannot be
   * read back from the token. Set only if a client put it in the query string as well.
   */
  clusterIdSigned: boolean;
  clusterId?: string;
  hasSecurityToken: boolean;
  algorithm?: string;
  action?: string;
  version?: string;
  /** What the authenticator would reject in this token (the token still decodes). */
  problems: string[];
}

const base64UrlDecode = (s: string): Buffer | undefined => {
  // RawURLEncoding: no padding. Tolerate padding and the standard alphabet for pasted tokens,
  // but refuse anything else rather than silently dropping characters as Buffer.from does.
  const body = s.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_\-+/]*$/.test(body) || body.length % 4 === 1) return undefined;
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
};

const amzDateToIso = (s: string): string | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : new Date(Date.parse(iso)).toISOString();
};

/** Accept a bare token, `Bearer <token>`, or `aws eks get-token` ExecCredential JSON. */
const extractToken = (input: string): string => {
  const s = input.trim();
  if (s.startsWith('{')) {
    try {
      const j = JSON.parse(s) as { status?: { token?: unknown } };
      if (typeof j?.status?.token === 'string') return j.status.token.trim();
    } catch {
      // not JSON: fall through and report the prefix problem on the raw text
    }
  }
  return s.replace(/^Bearer\s+/i, '');
};

/**
 * Decode a token offline. Nothing secret leaves: the URL is returned redacted, and a refused input's
 * raw text is redacted too (a token with a typo is still a credential).
 */
export const decodeToken = (input: unknown): ParseResult<DecodedToken> => {
  const r = decode(input);
  return r.ok ? r : fail(redactText(r.raw), r.issues[0], ...r.issues.slice(1));
};

const decode = (input: unknown): ParseResult<DecodedToken> => {
  if (typeof input !== 'string') {
    return fail(rawText(input), issue('TOKEN_PREFIX', 'a token must be a string'));
  }
  const token = extractToken(input);
  if (!token.startsWith(TOKEN_PREFIX)) {
    return fail(input, issue('TOKEN_PREFIX', `token is missing expected "${TOKEN_PREFIX}" prefix`));
  }
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
    return fail(input, issue('TOKEN_TOO_LARGE', `token is too large (over ${MAX_TOKEN_BYTES} bytes)`));
  }
  const bytes = base64UrlDecode(token.slice(TOKEN_PREFIX.length));
  if (!bytes || bytes.length === 0) {
    return fail(input, issue('TOKEN_ENCODING', 'token body is not base64url'));
  }
  const text = bytes.toString('utf8');
  if (!/^[\x21-\x7e]+$/.test(text)) {
    return fail(input, issue('TOKEN_ENCODING', 'token body does not decode to a URL'));
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(input, issue('TOKEN_URL', 'token body is not a URL'));
  }
  const problems: string[] = [];
  if (url.protocol !== 'https:') problems.push(`unexpected scheme ${JSON.stringify(url.protocol.replace(/:$/, ''))}`);
  const host = url.hostname.toLowerCase();
  const hostMatch = /^sts(?:-fips)?(?:\.([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/.exec(host);
  if (!hostMatch) problems.push(`unexpected hostname ${JSON.stringify(url.hostname)} in pre-signed URL`);
  if (url.pathname !== '/') problems.push('unexpected path in pre-signed URL');

  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [k, v] of url.searchParams) {
    const lk = k.toLowerCase();
    // Case-insensitive duplicates were once a way to smuggle a second X-Amz-Credential past the check.
    if (seen.has(lk)) problems.push(`duplicate query parameter found: ${JSON.stringify(k)}`);
    seen.add(lk);
    if (!ALLOWED_PARAMS.has(lk)) problems.push(`non-whitelisted query parameter ${JSON.stringify(k)}`);
    if (!params.has(lk)) params.set(lk, v);
  }
  const action = params.get('action');
  if (action !== 'GetCallerIdentity') problems.push('unexpected action parameter in pre-signed URL');

  const value: DecodedToken = {
    url: redactText(text),
    hasSignature: params.has('x-amz-signature'),
    stsHost: host,
    globalEndpoint: !!hostMatch && hostMatch[1] === undefined,
    signedHeaders: [],
    clusterIdSigned: false,
    hasSecurityToken: params.has('x-amz-security-token'),
    problems,
  };
  if (hostMatch) value.endpointRegion = hostMatch[1] ?? 'us-east-1';
  if (action !== undefined) value.action = action;
  const version = params.get('version');
  if (version !== undefined) value.version = version;
  const algorithm = params.get('x-amz-algorithm');
  if (algorithm !== undefined) value.algorithm = algorithm;

  const credential = params.get('x-amz-credential');
  if (credential === undefined) {
    problems.push('X-Amz-Credential parameter missing');
  } else {
    const [keyId, date, region, service] = credential.split('/');
    if (keyId) {
      value.accessKeyId = keyId;
      value.accessKeyKind = keyId.startsWith('ASIA') ? 'temporary' : keyId.startsWith('AKIA') ? 'long-term' : 'unknown';
    }
    if (date) value.credentialDate = date;
    if (region) value.signingRegion = region;
    if (service) value.service = service;
  }

  const signedHeaders = params.get('x-amz-signedheaders');
  value.signedHeaders = signedHeaders ? signedHeaders.split(';').map((h) => h.trim().toLowerCase()) : [];
  value.clusterIdSigned = value.signedHeaders.includes('x-k8s-aws-id');
  if (!value.clusterIdSigned) problems.push('client did not sign the x-k8s-aws-id header in the pre-signed URL');
  const clusterIdParam = [...url.searchParams].find(([k]) => k.toLowerCase() === 'x-k8s-aws-id');
  if (clusterIdParam) value.clusterId = clusterIdParam[1];

  const expires = params.get('x-amz-expires');
  if (expires !== undefined) {
    const n = Number(expires);
    if (!/^\d+$/.test(expires) || !Number.isSafeInteger(n) || n <= 0) {
      problems.push(`invalid X-Amz-Expires parameter in pre-signed URL: ${expires}`);
    } else {
      value.expiresSeconds = n;
    }
  }

  const amzDate = params.get('x-amz-date');
  if (amzDate === undefined) {
    problems.push('X-Amz-Date parameter must be present in pre-signed URL');
  } else {
    const iso = amzDateToIso(amzDate);
    if (iso === undefined) {
      problems.push(`X-Amz-Date parameter is not a date: ${JSON.stringify(amzDate)}`);
    } else {
      value.signedAt = iso;
      const t = Date.parse(iso);
      value.authenticatorExpiresAt = new Date(t + AUTHENTICATOR_VALIDITY_MS).toISOString();
      if (value.expiresSeconds !== undefined) {
        value.presignExpiresAt = new Date(t + value.expiresSeconds * 1000).toISOString();
      }
    }
  }
  if (!params.has('x-amz-signature')) problems.push('X-Amz-Signature parameter missing');
  return ok(value);
};

/** Whether the authenticator would still accept the token at `now` (epoch ms). */
export const tokenLiveAt = (t: DecodedToken, now: number): boolean | undefined =>
  t.signedAt === undefined ? undefined : now <= Date.parse(t.signedAt) + AUTHENTICATOR_VALIDITY_MS;
