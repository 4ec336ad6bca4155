import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyAuthnError,
  parseAuthenticatorLine,
  parseGoStringSlice,
} from '../../../lib/sources/authenticator-line.js';
import { quoteGo } from '../../../lib/sources/go-quote.js';
import type { AuthenticatorLine, AuthnFailureClass } from '../../../lib/sources/types.js';

const fixtureLines = (name: string): string[] =>
  readFileSync(new URL(`../../fixtures/sources/authenticator/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));

const parsed = (line: string): AuthenticatorLine => {
  const r = parseAuthenticatorLine(line);
  if (!r.ok) throw new Error(`expected ok for ${line}: ${JSON.stringify(r.issues)}`);
  return r.value;
};

describe('real EKS authenticator lines (corpus)', () => {
  it('reads the 2025 STS response with stsendpoint and the raw STS ARN (rotel)', () => {
    const [granted, sts] = fixtureLines('rotel-lambda-forwarder-2025.log');
    expect(parsed(sts as string)).toMatchObject({
      kind: 'sts-response',
      time: '2025-12-24T19:52:38Z',
      level: 'info',
      accessKeyId: 'ASIA5PYP2AD2ANOSYXTN',
      accountId: '927209226484',
      stsArn:
        'arn:aws:sts::927209226484:assumed-role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL/EKSAuthTokenSession',
      session: 'EKSAuthTokenSession',
      userId: 'AROA5PYP2AD2O47IG7477',
      stsEndpoint: 'sts.us-east-1.amazonaws.com',
      client: '127.0.0.1:38940',
    });
    const g = parsed(granted as string);
    expect(g).toMatchObject({
      kind: 'access-granted',
      canonicalArn: 'arn:aws:iam::927209226484:role/AWSWesleyClusterManagerLambda-Add-AddonManagerRole-1CRTQUJF13T5U',
      groups: [],
      uid: 'aws-iam-authenticator:927209226484:AROA5PYP2AD2FVXU23CA6',
      username: 'eks:addon-manager',
      stsEndpoint: 'sts.us-east-1.amazonaws.com',
    });
    expect(g.fields).toMatchObject({ method: 'POST', path: '/authenticate', groups: '[]' });
  });

  it('reads the knowledge-center granted and both denial shapes', () => {
    const [granted, stsDenied, notMapped] = fixtureLines('aws-knowledge-center-eks-api-server-unauthorized.log');
    expect(parsed(granted as string)).toMatchObject({
      kind: 'access-granted',
      canonicalArn: 'arn:aws:iam::123456789000:user/testuser',
      groups: ['system:masters'],
      username: 'kubernetes-admin',
    });
    const d = parsed(stsDenied as string);
    expect(d).toMatchObject({ kind: 'access-denied', errorClass: 'sts-failure', level: 'warning' });
    expect('canonicalArn' in d).toBe(false);
    // The Go-quoted JSON body inside the error is unescaped once.
    expect(d.kind === 'access-denied' && d.error).toContain('{"Error":{"Code":"InvalidClientTokenId"');
    expect(parsed(notMapped as string)).toMatchObject({
      kind: 'access-denied',
      canonicalArn: 'arn:aws:iam::XXXXXXXXXX:role/admin-test-role',
      error: 'ARN is not mapped',
      errorClass: 'identity-not-mapped',
    });
  });

  it('reads the hosted-EKS `sts=` key and the old template error (issue 419)', () => {
    const [line] = fixtureLines('aws-iam-authenticator-issue-419.log');
    expect(parsed(line as string)).toMatchObject({
      kind: 'access-denied',
      canonicalArn: 'arn:aws:iam::REDACTED:role/crossplane-test',
      error: 'failed mapping username: SessionName did not contain an instance id',
      errorClass: 'template-error',
      stsEndpoint: 'sts.ap-northeast-1.amazonaws.com',
    });
  });

  it('reads the AWS-internal node-manager grant (terraform-aws-eks 2415)', () => {
    const [line] = fixtureLines('terraform-aws-eks-issue-2415.log');
    expect(parsed(line as string)).toMatchObject({
      kind: 'access-granted',
      username: 'eks:node-manager',
      groups: [],
      uid: 'aws-iam-authenticator:xxx1:xxxxxxxxxxxxxxxxxx',
    });
  });

  it('reads an SSO session whose name contains @ as a bare value (ManagedKube)', () => {
    const [line] = fixtureLines('managedkube-kubernetes-ops-sso-2022.log');
    expect(parsed(line as string)).toMatchObject({
      kind: 'sts-response',
      session: 'gkan@example.com',
      accessKeyId: 'ASIAW5Y4UBHMUKVMVAAA',
      accountId: '476264531111',
      userId: 'AROAW5Y4UBHMR662MVVH4',
    });
  });

  it('reads empty bare values and a local-offset time (PR 292 OSS output)', () => {
    const [stsFailed, emptySts, notMapped] = fixtureLines('aws-iam-authenticator-pr-292-oss-test-output.log');
    expect(parsed(stsFailed as string)).toMatchObject({ kind: 'access-denied', errorClass: 'sts-failure' });
    const e = parsed(emptySts as string);
    expect(e).toMatchObject({ kind: 'sts-response', time: '2020-02-20T22:04:31-08:00' });
    expect(e.fields).toMatchObject({ accesskeyid: '', accountid: '', arn: '', session: '', userid: '' });
    // Empty values are absent from the typed fields, never empty strings.
    expect(e.kind === 'sts-response' && [e.accessKeyId, e.stsArn, e.session, e.userId]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const n = parsed(notMapped as string);
    expect(n).toMatchObject({ kind: 'access-denied', errorClass: 'identity-not-mapped' });
    expect(n.kind === 'access-denied' && n.canonicalArn).toBeUndefined();
  });

  it('reads the startup excerpt: static mappings parse, the author-trimmed quotes are reported', () => {
    const lines = fixtureLines('fun-every-day-2023-startup-excerpt.log');
    const results = lines.map(parseAuthenticatorLine);
    // Lines 1-2 lost their closing quote when the blog author trimmed them.
    expect(results.slice(0, 2).map((r) => (r.ok ? 'ok' : r.issues[0]?.code))).toEqual([
      'AUTHN_LINE_BAD_QUOTE',
      'AUTHN_LINE_BAD_QUOTE',
    ]);
    const values = results.slice(2).map((r) => (r.ok ? r.value : undefined));
    expect(values.map((v) => v?.kind)).toEqual([
      'static-mapping',
      'static-mapping',
      'static-mapping',
      'static-mapping',
      'unrecognised',
      'unrecognised',
    ]);
    expect(values[0]).toMatchObject({
      mappingKind: 'role',
      arn: 'arn:aws:iam::753431191269:role/AWSWesleyClusterManagerLambda-Add-AddonManagerRole-1BCJKIH4W9AOD',
      username: 'eks:addon-manager',
      groups: [],
    });
    expect(values[3]).toMatchObject({
      mappingKind: 'user',
      arn: 'arn:aws:iam::xxx:user/xxx',
      groups: ['system:masters'],
    });
    expect(values[4]?.msg).toContain('Unable to re-establish watch: Get "https://172.16.42.46:443/');
  });

  it('reads a `starting mapper` line as written by Infof("%q") (excerpt line with its closing quote restored)', () => {
    const excerpt = fixtureLines('fun-every-day-2023-startup-excerpt.log')[0] as string;
    const restored = `time="2023-02-19T00:00:00Z" ${excerpt}"`;
    expect(parsed(restored)).toMatchObject({ kind: 'mapper-started', mapper: 'MountedFile' });
    expect(parsed('level=info msg="starting mapper \\"EKSConfigMap\\""')).toMatchObject({ mapper: 'EKSConfigMap' });
  });

  it('strips pod/container, kail and CloudWatch timestamp prefixes (unattributed index hits)', () => {
    const lines = fixtureLines('unattributed-index-hits.log');
    const values = lines.map(parsed);
    expect(values.map((v) => v.kind)).toEqual([
      'sts-response',
      'access-granted',
      'access-granted',
      'sts-response',
      'sts-response',
    ]);
    expect(values[0]).toMatchObject({
      stsArn: 'arn:aws:iam::123456789:user/garland.kan',
      userId: 'KEIEPOWIEKELEOQIEURIW',
    });
    expect(values[2]).toMatchObject({
      uid: 'heptio-authenticator-aws:011571571136:AROAIT4XH3HYANFPD3M3E',
      username: 'admin',
    });
    expect(values[4]).toMatchObject({
      time: '2023-03-23T15:00:41Z',
      session: 'i-0429e7bc1c0bb2932',
      accessKeyId: 'ASIAQ52MI263MY5EWZW2',
    });
  });
});

describe('grammar details', () => {
  it('tolerates a trailing newline and CRLF', () => {
    expect(parsed('time="2025-01-01T00:00:00Z" level=info msg="access granted" groups="[a b]"\r\n')).toMatchObject({
      kind: 'access-granted',
      groups: ['a', 'b'],
    });
  });

  it('reads a line ending in any mix of CR, LF and blanks as the line without its final CR/LF run', () => {
    const withoutRaw = (r: ReturnType<typeof parseAuthenticatorLine>) => (r.ok ? r : { ...r, raw: undefined });
    fc.assert(
      fc.property(
        fc.constantFrom(
          'time="2025-01-01T00:00:00Z" level=info msg="access granted" groups="[a b]"',
          'level=info msg=x',
          '',
        ),
        fc.array(fc.constantFrom('\r', '\n', ' ', '\t', 'x'), { maxLength: 6 }),
        (line, tail) => {
          const message = `${line}${tail.join('')}`;
          expect(withoutRaw(parseAuthenticatorLine(message))).toEqual(
            withoutRaw(parseAuthenticatorLine(message.replace(/[\r\n]+$/, ''))),
          );
        },
      ),
    );
  });

  it('reads a kubectl --prefix wrapper', () => {
    expect(parsed('[pod/aws-iam-authenticator-x/authenticator] level=info msg="access granted"').kind).toBe(
      'access-granted',
    );
  });

  it('keeps unknown messages as unrecognised with every field', () => {
    const v = parsed(
      'time="2024-01-01T00:00:00Z" level=info msg="logging latency metric" Latency=12 Type=dynamic_file Version=3',
    );
    expect(v).toMatchObject({ kind: 'unrecognised', fields: { Latency: '12', Type: 'dynamic_file', Version: '3' } });
  });

  it('reads the sso static-mapping variant and mapAccounts lines', () => {
    expect(
      parsed('level=info msg="mapping IAM role" groups="[admins]" sso="{PermissionSetName:Admin}" username=admin'),
    ).toMatchObject({ kind: 'static-mapping', mappingKind: 'sso', groups: ['admins'], username: 'admin' });
    expect(parsed('level=info msg="mapping IAM Account" accountID=123456789012')).toMatchObject({
      mappingKind: 'account',
      accountId: '123456789012',
    });
  });

  it('reads a --log-format=json line into the same shape', () => {
    expect(
      parsed(
        '{"level":"info","msg":"access granted","arn":"arn:aws:iam::1:role/r","groups":["a","b"],"username":"u","time":"2024-01-01T00:00:00Z"}',
      ),
    ).toMatchObject({
      kind: 'access-granted',
      canonicalArn: 'arn:aws:iam::1:role/r',
      groups: ['a', 'b'],
      username: 'u',
    });
  });

  it('handles a data key named __proto__ as an ordinary field', () => {
    const v = parsed('level=info msg=x __proto__=y');
    expect(Object.getOwnPropertyDescriptor(v.fields, '__proto__')?.value).toBe('y');
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it.each([
    ['[]', []],
    ['[system:masters]', ['system:masters']],
    ['[system:bootstrappers system:nodes]', ['system:bootstrappers', 'system:nodes']],
    ['', []],
    [undefined, []],
  ])('parses the fmt.Sprint group list %j', (input, expected) => {
    expect(parseGoStringSlice(input)).toEqual(expected);
  });
});

describe('error classification (docs/formats.md §1.3 catalogue)', () => {
  it.each<[string, AuthnFailureClass]>([
    ['input token was not properly formatted: token is too large', 'token-malformed'],
    ['input token was not properly formatted: token is missing expected "k8s-aws-v1." prefix', 'token-malformed'],
    [
      'input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) 2024-01-01 00:00:00 +0000 UTC',
      'token-expired',
    ],
    [
      'sts getCallerIdentity failed: error from AWS (expected 200, got 403) on us-east-1 endpoint. Body: {}',
      'sts-failure',
    ],
    ['sts getCallerIdentity failed: malformed UserID "AROA"', 'sts-failure'],
    ['sts getCallerIdentity was throttled: Rate exceeded', 'sts-throttled'],
    ['ARN is not mapped', 'identity-not-mapped'],
    ['ARN is not mapped: arn:aws:iam::1:role/x', 'identity-not-mapped'],
    ['Identity is not mapped', 'identity-not-mapped'],
    ['identity is not mapped', 'identity-not-mapped'],
    [
      'mapper DynamicFile renderTemplates error: error rendering username template "{{EC2PrivateDNSName}}": SessionName did not contain an instance id',
      'template-error',
    ],
    ['failed mapping group: failed querying private DNS from EC2 API for node i-1: boom', 'template-error'],
    ['mapper EKSConfigMap Map error: failed to find node i-0123456789abcdef0', 'template-error'],
    [
      "invalid username 'system:x' for mapper DynamicFile: username must not begin with with the following prefixes: [aws: iam: amazon: system: eks:]",
      'reserved-prefix',
    ],
    ['ARN does not match User ID', 'arn-userid-mismatch'],
    ["arn 'arn:aws-xx:iam::1:role/r' does not have a recognized partition", 'invalid-arn'],
    ["arn 'foo' is invalid: arn: invalid prefix", 'invalid-arn'],
    ['something else entirely', 'unknown'],
    ['', 'unknown'],
  ])('%s -> %s', (error, expected) => {
    expect(classifyAuthnError(error)).toBe(expected);
    const line = `time="2024-01-01T00:00:00Z" level=warning msg="access denied" client="127.0.0.1:1" error=${quoteGo(error)} method=POST path=/authenticate`;
    expect(parsed(line)).toMatchObject({ kind: 'access-denied', error, errorClass: expected });
  });

  it('gives an access denied without error= an empty error of class unknown', () => {
    expect(parsed('level=warning msg="access denied"')).toMatchObject({ error: '', errorClass: 'unknown' });
  });
});

describe('rejections', () => {
  it.each([
    ['empty', '', 'AUTHN_LINE_EMPTY'],
    ['only blanks and newline', '  \n', 'AUTHN_LINE_EMPTY'],
    ['only a CloudWatch timestamp', '2023-03-23T15:00:41.719Z ', 'AUTHN_LINE_EMPTY'],
    ['free text', 'hello world', 'AUTHN_LINE_GRAMMAR'],
    ['key=value without logrus keys', 'a=b c=d', 'AUTHN_LINE_GRAMMAR'],
    ['a word between pairs', 'level=info stray msg=x', 'AUTHN_LINE_GRAMMAR'],
    ['text glued to a closing quote', 'level=info msg="x"y', 'AUTHN_LINE_GRAMMAR'],
    ['unterminated quote', 'level=info msg="x', 'AUTHN_LINE_BAD_QUOTE'],
    ['bad escape', 'level=info msg="\\q"', 'AUTHN_LINE_BAD_QUOTE'],
  ])('%s -> %s', (_name, line, code) => {
    const r = parseAuthenticatorLine(line);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe(code);
      expect(r.raw).toBe(line);
    }
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (s) => {
        const r = parseAuthenticatorLine(s);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.string()), { maxLength: 6 }), (pairs) => {
        const line = `level=info ${pairs.map(([k, v]) => `${k}=${quoteGo(v)}`).join(' ')}`;
        const r = parseAuthenticatorLine(line);
        expect(r.ok).toBe(true);
        const expected: Record<string, string> = { level: 'info' };
        for (const [k, v] of pairs) expected[k] = v;
        if (r.ok) expect({ ...r.value.fields }).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    // Non-string input from untyped callers.
    expect(parseAuthenticatorLine(undefined as unknown as string).ok).toBe(false);
  });
});
