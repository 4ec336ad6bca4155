import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonDepthError } from '../../../lib/json-depth.js';
import {
  applyTextRules,
  ESCAPED_LETTER,
  isSecretKey,
  mayHoldSecret,
  redactParsed,
  redactText,
  redactValue,
} from '../../../lib/sources/redact.js';
import {
  ACCESS_KEY,
  bearerToken,
  jwt,
  leaks,
  presignedUrl,
  SYNTHETIC,
  secretValues,
} from '../../support/secret-corpus.js';

const TOKEN_MARKER = `[REDACTED:bearer-token key=${ACCESS_KEY} scope=20240824/us-east-1/sts signed=20240824T142700Z]`;
const enc = encodeURIComponent;

describe('redactText: each rule, where secrets occur', () => {
  it.each([
    ['a bearer token, keeping its key id, scope and signing time', bearerToken(), TOKEN_MARKER],
    [
      'a bearer token whose URL names its cluster in the query',
      bearerToken(presignedUrl({ clusterIdInQuery: 'prod' })),
      TOKEN_MARKER.replace(']', ' cluster=prod]'),
    ],
    ['a bearer token that does not decode', 'k8s-aws-v1.bm90LWEtdXJs!!', '[REDACTED:bearer-token]!!'],
    [
      'a token as access_token in an audit requestURI',
      `/api/v1/namespaces?access_token=${bearerToken()}&limit=500`,
      `/api/v1/namespaces?access_token=${TOKEN_MARKER}&limit=500`,
    ],
    [
      'access_token in a requestURI as Go writes it in JSON (& as \\u0026)',
      `/api/v1/pods?watch=1\\u0026access_token=${SYNTHETIC.accessToken}\\u0026limit=5`,
      '/api/v1/pods?watch=1\\u0026access_token=[REDACTED:access_token]\\u0026limit=5',
    ],
    [
      'the signature and security token of a presigned URL, keeping X-Amz-Credential and X-Amz-Date',
      presignedUrl(),
      presignedUrl()
        .replace(enc(SYNTHETIC.sessionToken), '[REDACTED:X-Amz-Security-Token]')
        .replace(SYNTHETIC.signature, '[REDACTED:X-Amz-Signature]'),
    ],
    [
      'presign parameters spelt in lower case',
      `x-amz-signature=${SYNTHETIC.signature}&x-amz-security-token=${enc(SYNTHETIC.sessionToken)}`,
      'x-amz-signature=[REDACTED:X-Amz-Signature]&x-amz-security-token=[REDACTED:X-Amz-Security-Token]',
    ],
    [
      'a presigned URL percent-encoded inside another URL',
      `/login?next=https%3A%2F%2Fsts.amazonaws.com%2F%3FX-Amz-Signature%3D${SYNTHETIC.signature}%26X-Amz-Date%3D20240824T142700Z`,
      '/login?next=https%3A%2F%2Fsts.amazonaws.com%2F%3FX-Amz-Signature%3D[REDACTED:X-Amz-Signature]%26X-Amz-Date%3D20240824T142700Z',
    ],
    [
      'an X-Amz-Security-Token header',
      `X-Amz-Security-Token: ${SYNTHETIC.sessionToken}`,
      'X-Amz-Security-Token: [REDACTED:X-Amz-Security-Token]',
    ],
    [
      'a bearer Authorization header',
      `Authorization: Bearer ${SYNTHETIC.bearer}`,
      'Authorization: [REDACTED:Authorization]',
    ],
    [
      'a basic Authorization header',
      'authorization: Basic U1lOVEhFVElDOnBhc3N3b3Jk',
      'authorization: [REDACTED:Authorization]',
    ],
    [
      'a SigV4 Authorization header, keeping its credential',
      `Authorization: AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/20240824/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SYNTHETIC.signature}`,
      `Authorization: AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/20240824/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=[REDACTED:Signature]`,
    ],
    ['a bearer value anywhere', `retrying with bearer ${SYNTHETIC.bearer}`, 'retrying with bearer [REDACTED:bearer]'],
    [
      'a JWT, keeping header and payload',
      `token issued: ${jwt()}`,
      `token issued: ${jwt().replace(SYNTHETIC.jwtSignature, '[REDACTED:jwt-signature]')}`,
    ],
    ['a session token without a label', `creds ${SYNTHETIC.sessionToken} ok`, 'creds [REDACTED:aws-session-token] ok'],
    [
      'a logfmt pair, quoted',
      `client="127.0.0.1" token="${SYNTHETIC.accessToken}"`,
      'client="127.0.0.1" token="[REDACTED:token]"',
    ],
    [
      'prefixed secret names in a query string',
      `?ci_token=${SYNTHETIC.accessToken}&dbPassword=${SYNTHETIC.password}&aws_secret_access_key=${SYNTHETIC.password}`,
      '?ci_token=[REDACTED:token]&dbPassword=[REDACTED:Password]&aws_secret_access_key=[REDACTED:aws_secret_access_key]',
    ],
    [
      'a JSON key of an AssumeRole response',
      `{"credentials":{"accessKeyId":"ASIAEXAMPLE","sessionToken":"${SYNTHETIC.assumeRoleSessionToken}","expiration":"x"}}`,
      '{"credentials":{"accessKeyId":"ASIAEXAMPLE","sessionToken":"[REDACTED:sessionToken]","expiration":"x"}}',
    ],
    [
      'a JSON key inside a JSON string (lookup-events CloudTrailEvent)',
      `{"CloudTrailEvent":"{\\"credentials\\":{\\"sessionToken\\":\\"${SYNTHETIC.assumeRoleSessionToken}\\"}}"}`,
      '{"CloudTrailEvent":"{\\"credentials\\":{\\"sessionToken\\":\\"[REDACTED:sessionToken]\\"}}"}',
    ],
    [
      'a domain-prefixed annotation key',
      `{"ci.example.com/token":"${SYNTHETIC.accessToken}","ci.example.com/owner":"alice"}`,
      '{"ci.example.com/token":"[REDACTED:token]","ci.example.com/owner":"alice"}',
    ],
  ])('%s', (_what, input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it.each([
    [
      'an authenticator error text',
      'input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) 20220101T000000Z',
    ],
    ['a 401 message', 'Authentication failed, attempted: bearer, access_token'],
    ['a tokenreview request', '/apis/authentication.k8s.io/v1/tokenreviews'],
    ['a service-account token request', '/api/v1/namespaces/ci/serviceaccounts/builder/token'],
    ['an authorization annotation', '{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}'],
    ['a web-identity subject', '{"subjectFromWebIdentityToken":"system:serviceaccount:ci:builder"}'],
    [
      'an access key id and credential scope',
      `X-Amz-Credential=${ACCESS_KEY}%2F20240824%2Fus-east-1%2Fsts%2Faws4_request`,
    ],
    ['a Secret reference', '{"volumes":[{"secret":{"secretName":"token-abc"}}]}'],
  ])('leaves %s as it is', (_what, input) => {
    expect(redactText(input)).toBe(input);
  });

  it('finds none of the corpus secrets in the redacted corpus', () => {
    const texts = [
      presignedUrl(),
      bearerToken(),
      jwt(),
      `Bearer ${SYNTHETIC.bearer}`,
      ...secretValues().map((s) => `token=${s}`),
    ];
    expect(leaks(texts.map(redactText))).toEqual([]);
  });

  it('is idempotent and total on any text (property)', () => {
    const pieces = fc.constantFrom(
      bearerToken(),
      presignedUrl(),
      jwt(),
      'access_token=',
      'Authorization: ',
      'Bearer ',
      '"sessionToken":"',
      '\\"token\\":\\"',
      '%26X-Amz-Signature%3D',
      '[REDACTED:',
      SYNTHETIC.sessionToken,
      '&',
      '"',
      '\\',
    );
    const text = fc
      .array(fc.oneof(pieces, fc.string(), fc.string({ unit: 'grapheme' })), { maxLength: 12 })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(text, (t) => {
        const once = redactText(t);
        expect(redactText(once)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it('runs the rules on every text they could change (the mayHoldSecret shortcut is sound, property)', () => {
    const pieces = fc.constantFrom(
      bearerToken(),
      jwt(),
      SYNTHETIC.sessionToken,
      SYNTHETIC.assumeRoleSessionToken,
      'access_token=',
      'ACCESS_TOKEN=',
      'Passwd=',
      'api-key=',
      'PRIVATE_KEY=',
      'Authorization: ',
      'proxy-authorization=',
      'BEARER ',
      '"Secret":"',
      'x-amz-signature=',
      'Signature=',
      'SAMLAssertion=',
      'abcdefghijklmnopqrstuvwxyz0123456789',
      '&',
      '"',
      ':',
      ' ',
    );
    const text = fc.array(fc.oneof(pieces, fc.string({ maxLength: 8 })), { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, (t) => {
        if (applyTextRules(t) !== t) expect(mayHoldSecret(t)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('answers exactly as the single trigger alternation it was split from (property)', () => {
    // The pre-check as one regex, kept here as the reference its two-scan form must equal.
    const single =
      /[kKtTsSpPaAbBeEiIfF](?:8s-aws-v1|oken|ecret|assw|ignature|uthorization(?!\.k8s\.io)|earer|yJ|QoJb3JpZ2luX2Vj|woGZXIvYXdz|ssertion|pi[-_]?key|rivate[-_]?key)/i;
    const pieces = fc.constantFrom(
      'k8s-aws-v1',
      'TOKEN',
      'secret',
      'eyJ',
      'EYJ',
      'xyJ',
      'IQoJb3JpZ2luX2Vj',
      'FwoGZXIvYXdz',
      'Authorization',
      'authorization.k8s.io',
      'AUTHORIZATION.K8S.IO',
      'api_key',
      'private-key',
      'e',
      'y',
      'J',
      '.',
      '\u212a',
    );
    const text = fc.array(fc.oneof(pieces, fc.string({ maxLength: 6 })), { maxLength: 12 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, (t) => {
        expect(mayHoldSecret(t)).toBe(single.test(t) || ESCAPED_LETTER.test(t));
      }),
      { numRuns: 2000 },
    );
  });

  it('spares text that cannot hold a secret without running the rules', () => {
    expect(mayHoldSecret('{"kind":"Event","verb":"get","requestURI":"/api/v1/nodes?limit=5\\u0026watch=1"}')).toBe(
      false,
    );
    // The decision annotations every audit event carries are no reason to look further.
    expect(mayHoldSecret('{"authorization.k8s.io/decision":"allow"}')).toBe(false);
    expect(mayHoldSecret('Authorization: x')).toBe(true);
    // A letter written as a JSON escape could hide a secret's name from the scan: such text is looked at.
    expect(mayHoldSecret('{"requestURI":"/api/v1/nodes?\\u0074oken=abc123xyz789"}')).toBe(true);
    expect(mayHoldSecret('ACCESS_TOKEN=x')).toBe(true);
  });
});

describe('redactValue', () => {
  it('redacts strings under secret keys and through the text rules, copying only what changes', () => {
    const shared = { name: 'kept', list: ['a', 'b'] };
    const input = {
      shared,
      credentials: { accessKeyId: 'ASIAEXAMPLE', sessionToken: SYNTHETIC.assumeRoleSessionToken },
      headers: { Authorization: `Bearer ${SYNTHETIC.bearer}`, 'X-Amz-Security-Token': SYNTHETIC.sessionToken },
      uri: `/api?access_token=${SYNTHETIC.accessToken}`,
    };
    const before = JSON.stringify(input);
    const out = redactValue(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(out.shared).toBe(shared);
    expect(out).toEqual({
      shared,
      credentials: { accessKeyId: 'ASIAEXAMPLE', sessionToken: '[REDACTED:sessionToken]' },
      headers: { Authorization: '[REDACTED:Authorization]', 'X-Amz-Security-Token': '[REDACTED:X-Amz-Security-Token]' },
      uri: '/api?access_token=[REDACTED:access_token]',
    });
  });

  it('returns a value without secrets as it is', () => {
    const v = { a: [1, 'x', { b: null }] };
    expect(redactValue(v)).toBe(v);
  });

  it('redacts every value of a Kubernetes Secret, whatever its keys', () => {
    expect(
      redactValue({ kind: 'Secret', metadata: { name: 's' }, data: { 'ca.crt': 'LS0t' }, stringData: { x: 'y' } }),
    ).toEqual({
      kind: 'Secret',
      metadata: { name: 's' },
      data: { 'ca.crt': '[REDACTED:secret-data]' },
      stringData: { x: '[REDACTED:secret-data]' },
    });
  });

  it('keeps a __proto__ key an own property', () => {
    const v = JSON.parse(`{"__proto__":{"token":"${SYNTHETIC.accessToken}"}}`) as Record<string, unknown>;
    const out = redactValue(v);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"token":"[REDACTED:token]"}}');
  });

  it('refuses a value nested past the depth limit with JsonDepthError, not a stack overflow', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => redactValue(deep)).toThrow(JsonDepthError);
  });

  it.each([
    ['sessionToken', true],
    ['SecretAccessKey', true],
    ['x-amz-security-token', true],
    ['ci.example.com/token', true],
    ['db_password', true],
    ['Authorization', true],
    ['accessKeyId', false],
    ['subjectFromWebIdentityToken', false],
    ['secretName', false],
    ['tokenExpirationSeconds', false],
  ])('isSecretKey(%s) is %s', (key, secret) => {
    expect(isSecretKey(key)).toBe(secret);
  });
});

describe('redactParsed', () => {
  it("redacts a refusal's raw text and issue messages", () => {
    const r = redactParsed({
      ok: false,
      issues: [
        { code: 'AUDIT_BAD_FIELD', message: `stageTimestamp is not a timestamp: "token=${SYNTHETIC.accessToken}"` },
      ],
      raw: `{"requestURI":"/x?access_token=${SYNTHETIC.accessToken}"`,
    });
    expect(leaks([JSON.stringify(r)])).toEqual([]);
  });

  it('turns a value too deep to walk into INPUT_TOO_DEEP', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 300; i++) deep = [deep];
    const r = redactParsed({ ok: true, value: deep });
    expect(!r.ok && r.issues[0].code).toBe('INPUT_TOO_DEEP');
  });
});
