import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeToken, tokenLiveAt } from '../../../lib/token/decode-token.js';

/**
 * Tokens built by hand the way `aws eks get-token` builds them: `k8s-aws-v1.` + unpadded base64url of
 * a presigned STS GetCallerIdentity URL (shape per the aws-iam-authenticator token format rules in
 * docs/formats.md §1.3; the key id and signature are made up).
 */
const QS = [
  'Action=GetCallerIdentity',
  'Version=2011-06-15',
  'X-Amz-Algorithm=AWS4-HMAC-SHA256',
  'X-Amz-Credential=ASIAZZEXAMPLE0000001%2F20240411%2Fus-east-1%2Fsts%2Faws4_request',
  'X-Amz-Date=20240411T205956Z',
  'X-Amz-Expires=60',
  'X-Amz-SignedHeaders=host%3Bx-k8s-aws-id',
  'X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE',
  'X-Amz-Signature=4f1c0ffee0000000000000000000000000000000000000000000000000000000',
];
const tokenOf = (url: string) => `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`;
const URL_OK = `https://sts.us-east-1.amazonaws.com/?${QS.join('&')}`;

describe('decodeToken', () => {
  it('reads endpoint, key, signing time and both expiries from a get-token style token', () => {
    const r = decodeToken(tokenOf(URL_OK));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      stsHost: 'sts.us-east-1.amazonaws.com',
      endpointRegion: 'us-east-1',
      globalEndpoint: false,
      signingRegion: 'us-east-1',
      service: 'sts',
      accessKeyId: 'ASIAZZEXAMPLE0000001',
      accessKeyKind: 'temporary',
      credentialDate: '20240411',
      signedAt: '2024-04-11T20:59:56.000Z',
      expiresSeconds: 60,
      presignExpiresAt: '2024-04-11T21:00:56.000Z',
      authenticatorExpiresAt: '2024-04-11T21:14:56.000Z',
      signedHeaders: ['host', 'x-k8s-aws-id'],
      clusterIdSigned: true,
      hasSecurityToken: true,
      action: 'GetCallerIdentity',
      problems: [],
    });
    // The cluster id is a signed HEADER: its value never travels in the URL.
    expect(r.value.clusterId).toBeUndefined();
  });

  it('accepts the global endpoint, a Bearer prefix and ExecCredential JSON', () => {
    const global = tokenOf(URL_OK.replace('sts.us-east-1.amazonaws.com', 'sts.amazonaws.com'));
    const r = decodeToken(`Bearer ${global}`);
    expect(r.ok && [r.value.globalEndpoint, r.value.endpointRegion]).toEqual([true, 'us-east-1']);
    const exec = JSON.stringify({
      kind: 'ExecCredential',
      status: { expirationTimestamp: '2024-04-11T21:14:56Z', token: global },
    });
    expect(decodeToken(exec).ok).toBe(true);
  });

  it('says when the authenticator would still accept it', () => {
    const r = decodeToken(tokenOf(URL_OK));
    if (!r.ok) throw new Error('decode');
    expect(tokenLiveAt(r.value, Date.parse('2024-04-11T21:14:56Z'))).toBe(true);
    expect(tokenLiveAt(r.value, Date.parse('2024-04-11T21:14:57Z'))).toBe(false);
  });

  it.each([
    [
      'a long-term key',
      QS.map((q) => q.replace('ASIAZZ', 'AKIAZZ')),
      (v: { accessKeyKind?: string }) => v.accessKeyKind === 'long-term',
    ],
  ])('recognises %s', (_n, qs, check) => {
    const r = decodeToken(tokenOf(`https://sts.eu-west-1.amazonaws.com/?${qs.join('&')}`));
    expect(r.ok && check(r.value)).toBe(true);
  });

  it.each([
    [
      'unsigned cluster id',
      QS.map((q) => q.replace('host%3Bx-k8s-aws-id', 'host')),
      'client did not sign the x-k8s-aws-id header',
    ],
    ['foreign host', null, 'unexpected hostname'],
    ['other action', QS.map((q) => q.replace('GetCallerIdentity', 'AssumeRole')), 'unexpected action'],
    [
      'smuggled parameter',
      [...QS, 'x-amz-credential=AKIAOTHER%2F20240411%2Fus-east-1%2Fsts%2Faws4_request'],
      'duplicate query parameter',
    ],
    ['unknown parameter', [...QS, 'foo=bar'], 'non-whitelisted query parameter'],
    ['no date', QS.filter((q) => !q.startsWith('X-Amz-Date')), 'X-Amz-Date parameter must be present'],
    ['bad expires', QS.map((q) => q.replace('Expires=60', 'Expires=-5')), 'invalid X-Amz-Expires'],
  ])('decodes but flags a token the authenticator would reject: %s', (_name, qs, problem) => {
    const url = qs
      ? `https://sts.us-east-1.amazonaws.com/?${qs.join('&')}`
      : URL_OK.replace('sts.us-east-1.amazonaws.com', 'sts.evil.example.com');
    const r = decodeToken(tokenOf(url));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.problems.some((p) => p.includes(problem))).toBe(true);
  });

  it.each([
    ['no prefix', 'abc', 'TOKEN_PREFIX'],
    ['not a string', 42, 'TOKEN_PREFIX'],
    ['bad base64', 'k8s-aws-v1.!!!', 'TOKEN_ENCODING'],
    ['empty body', 'k8s-aws-v1.', 'TOKEN_ENCODING'],
    ['binary body', `k8s-aws-v1.${Buffer.from([0, 1, 2, 255]).toString('base64url')}`, 'TOKEN_ENCODING'],
    ['not a URL', `k8s-aws-v1.${Buffer.from('hello').toString('base64url')}`, 'TOKEN_URL'],
    ['too large', `k8s-aws-v1.${'A'.repeat(5000)}`, 'TOKEN_TOO_LARGE'],
  ])('fails with a code on %s', (_name, input, code) => {
    const r = decodeToken(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.code).toBe(code);
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `k8s-aws-v1.${s}`),
          fc.string().map((s) => tokenOf(s)),
          fc.anything(),
        ),
        (input) => {
          decodeToken(input);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('decodeToken keeps no secret', () => {
  // The signature and session token of the hand-built URL above (made up, see QS).
  const SIGNATURE = '4f1c0ffee0000000000000000000000000000000000000000000000000000000';
  const SESSION = 'IQoJb3JpZ2luX2VjEXAMPLE';

  it('returns the URL with its signature and security token redacted, and says both were there', () => {
    const r = decodeToken(tokenOf(URL_OK));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ hasSignature: true, hasSecurityToken: true, accessKeyId: 'ASIAZZEXAMPLE0000001' });
    expect(r.value.url).toBe(
      URL_OK.replace(SIGNATURE, '[REDACTED:X-Amz-Signature]').replace(SESSION, '[REDACTED:X-Amz-Security-Token]'),
    );
    expect(JSON.stringify(r.value)).not.toMatch(new RegExp(`${SIGNATURE}|${SESSION}`));
  });

  it('redacts the raw text of a token it refuses (a mistyped token is still a credential)', () => {
    const bad = `${tokenOf(URL_OK)}!`;
    const r = decodeToken(`{"status":{"token":"${bad}"}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.raw).not.toContain(tokenOf(URL_OK));
  });
});
