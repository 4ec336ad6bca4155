import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Secret-bearing inputs for the "secrets never kept" tests (lib/sources/redact.ts), built from real
 * formats: the presigned STS URL and bearer token of docs/formats.md §9.1-9.2 (parameter set and order
 * of `aws eks get-token`), the KIEMPossible audit event and the kiem replay fixture
 * (test/fixtures/query/kiem, see test/fixtures/SOURCES.md), authenticator lines shaped like the real
 * ones of docs/formats.md §1.3, and the STS AssumeRole* records of §3.4.
 *
 * Every secret VALUE here is SYNTHETIC: made up for these tests, never a real credential. Each one
 * contains the word SYNTHETIC where its alphabet allows it, so a leak shows up in a plain text search;
 * the hex signature, which cannot, is searched for as itself.
 */

export const KIEM = resolve(__dirname, '../fixtures/query/kiem');
export const ACCOUNT = '211125685544';
/** The access key of the KIEMPossible session (real sample): attribution must keep it. */
export const ACCESS_KEY = 'ASIATCKASJUUD7MPDOZN';

export const SYNTHETIC = {
  /** X-Amz-Signature: 64 hex digits. */
  signature: 'f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f',
  /** An STS session token (they start `IQoJb3JpZ2luX2Vj`), as X-Amz-Security-Token carries it. */
  sessionToken: 'IQoJb3JpZ2luX2VjSYNTHETICsessionTokenForTestsOnly0123456789+/abcDEF==',
  /** The session token an AssumeRole* response returns (older ones start `FwoGZXIvYXdz`). */
  assumeRoleSessionToken: 'FwoGZXIvYXdzSYNTHETICassumeRoleTokenForTestsOnly9876543210+/xyzXYZ=',
  /** An `access_token` query parameter (the API server's bearer token in a URL). */
  accessToken: 'SYNTHETICaccessTokenQueryParam0123456789',
  /** An Authorization: Bearer value. */
  bearer: 'SYNTHETICbearerHeaderValue0123456789abcdef',
  /** The signature part of a service-account JWT. */
  jwtSignature: 'SYNTHETICjwtSignatureValue0123456789_-abc',
  password: 'SYNTHETICpassword0123',
} as const;

const b64url = (s: string) => Buffer.from(s).toString('base64url');

/** A presigned STS GetCallerIdentity URL as `aws eks get-token` signs it (docs/formats.md §9.2). */
export const presignedUrl = (opts: { key?: string; date?: string; clusterIdInQuery?: string } = {}): string => {
  const date = opts.date ?? '20240824T142700Z';
  const params = [
    'Action=GetCallerIdentity',
    'Version=2011-06-15',
    'X-Amz-Algorithm=AWS4-HMAC-SHA256',
    `X-Amz-Credential=${opts.key ?? ACCESS_KEY}%2F${date.slice(0, 8)}%2Fus-east-1%2Fsts%2Faws4_request`,
    `X-Amz-Date=${date}`,
    'X-Amz-Expires=60',
    `X-Amz-Security-Token=${encodeURIComponent(SYNTHETIC.sessionToken)}`,
    'X-Amz-SignedHeaders=host%3Bx-k8s-aws-id',
    `X-Amz-Signature=${SYNTHETIC.signature}`,
  ];
  if (opts.clusterIdInQuery) params.push(`x-k8s-aws-id=${opts.clusterIdInQuery}`);
  return `https://sts.us-east-1.amazonaws.com/?${params.join('&')}`;
};

/** `k8s-aws-v1.` + unpadded base64url of the presigned URL (docs/formats.md §9.1). */
export const bearerToken = (url = presignedUrl()): string => `k8s-aws-v1.${b64url(url)}`;

/** A service-account token: header and payload are what it names, the signature is the secret. */
export const jwt = (): string =>
  [
    b64url('{"alg":"RS256","kid":"synthetic"}'),
    b64url('{"iss":"https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE","sub":"system:serviceaccount:ci:builder"}'),
    SYNTHETIC.jwtSignature,
  ].join('.');

/** Every string that must never be found in what the product stores or prints. */
export const secretValues = (): string[] => {
  const token = bearerToken();
  return [
    ...Object.values(SYNTHETIC),
    encodeURIComponent(SYNTHETIC.sessionToken),
    encodeURIComponent(SYNTHETIC.assumeRoleSessionToken),
    token,
    // Any long piece of the token's body, in case it is stored cut.
    token.slice('k8s-aws-v1.'.length, 'k8s-aws-v1.'.length + 40),
    token.slice(-40),
  ];
};

/** The secrets found in `texts`, with where: empty when nothing leaked. */
export const leaks = (texts: readonly string[]): { secret: string; at: string }[] => {
  const out: { secret: string; at: string }[] = [];
  for (const text of texts) {
    for (const secret of [...secretValues(), 'SYNTHETIC']) {
      const i = text.indexOf(secret);
      if (i >= 0) out.push({ secret, at: text.slice(Math.max(0, i - 80), i + secret.length + 20) });
    }
  }
  return out;
};

// --- inputs -----------------------------------------------------------------------------------------

interface ExportEvent {
  logStreamName: string;
  timestamp: number;
  message: string;
  ingestionTime?: number;
  eventId: string;
}

const AUDIT_STREAM = 'kube-apiserver-audit-900118300c7497e54b1f844e21ac4f7b';
const AUTHN_STREAM = 'authenticator-1111222272c52cc05e3177863bdcc12d';

const kiemEvents = (): ExportEvent[] =>
  (JSON.parse(readFileSync(join(KIEM, 'kiem.filter-log-events.json'), 'utf8')) as { events: ExportEvent[] }).events;

/** The KIEMPossible audit event of the kiem fixture, as an object. */
export const kiemAuditEvent = (): Record<string, unknown> => {
  const e = kiemEvents().find((x) => x.message.includes('fb5dba68'));
  return JSON.parse(e?.message as string) as Record<string, unknown>;
};

/**
 * The KIEMPossible event with secrets where clients and the API server put them: a bearer token as
 * `access_token` in requestURI (the API server accepts one there), an Authorization header pasted into
 * the user agent, a presigned URL in an annotation.
 */
export const auditEventWithSecrets = (): Record<string, unknown> => {
  const e = kiemAuditEvent();
  e.requestURI = `/api/v1/namespaces?access_token=${bearerToken()}&limit=500`;
  e.userAgent = `kubectl/v1.30.2 (linux/amd64) kubernetes/39683505 Authorization: Bearer ${SYNTHETIC.bearer}`;
  e.annotations = { ...(e.annotations as object), 'debug.example.com/presigned-url': presignedUrl() };
  return e;
};

/**
 * A 401 (docs/formats.md §2.4: empty user, ResponseStarted) whose status message quotes the token it
 * refused, as a proxy or webhook in front of the API server might.
 */
export const unauthenticatedWithToken = (): Record<string, unknown> => ({
  ...kiemAuditEvent(),
  auditID: '5ec2e7a1-0000-4000-8000-000000000003',
  stage: 'ResponseStarted',
  level: 'Metadata',
  user: {},
  annotations: {},
  requestURI: '/api/v1/namespaces/kube-system/secrets',
  verb: 'list',
  objectRef: { resource: 'secrets', namespace: 'kube-system', apiVersion: 'v1' },
  responseStatus: {
    metadata: {},
    status: 'Failure',
    message: `Authentication failed, attempted: bearer (Authorization: Bearer ${bearerToken()})`,
    reason: 'Unauthorized',
    code: 401,
  },
  requestReceivedTimestamp: '2024-08-24T14:29:59.100000Z',
  stageTimestamp: '2024-08-24T14:29:59.300000Z',
});

/** An RBAC change (bodies kept as evidence, docs/formats.md §2.6) whose object carries secrets. */
export const rbacEventWithSecrets = (): Record<string, unknown> => {
  const binding = {
    kind: 'ClusterRoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    metadata: {
      name: 'ci-builder',
      annotations: {
        'ci.example.com/token': jwt(),
        'ci.example.com/note': `built with ${jwt()}`,
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
          kind: 'ClusterRoleBinding',
          metadata: { name: 'ci-builder', annotations: { 'ci.example.com/password': SYNTHETIC.password } },
          token: SYNTHETIC.accessToken,
        }),
      },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ kind: 'ServiceAccount', name: 'builder', namespace: 'ci' }],
  };
  return {
    ...kiemAuditEvent(),
    level: 'RequestResponse',
    auditID: '5ec2e7a1-0000-4000-8000-000000000001',
    requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    verb: 'create',
    objectRef: {
      resource: 'clusterrolebindings',
      name: 'ci-builder',
      apiGroup: 'rbac.authorization.k8s.io',
      apiVersion: 'v1',
    },
    responseStatus: { metadata: {}, code: 201 },
    requestObject: binding,
    responseObject: binding,
    requestReceivedTimestamp: '2024-08-24T14:27:20.000000Z',
    stageTimestamp: '2024-08-24T14:27:20.050000Z',
  };
};

/** An aws-auth update (bodies kept) whose data holds an extra key with a bearer header in it. */
export const awsAuthEventWithSecrets = (): Record<string, unknown> => {
  const cm = {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'aws-auth', namespace: 'kube-system' },
    data: {
      mapRoles: `- rolearn: arn:aws:iam::${ACCOUNT}:role/dev\n  username: dev:{{SessionName}}\n  groups:\n    - developers\n`,
      note: `Authorization: Bearer ${SYNTHETIC.bearer}`,
    },
  };
  return {
    ...kiemAuditEvent(),
    level: 'RequestResponse',
    auditID: '5ec2e7a1-0000-4000-8000-000000000002',
    requestURI: '/api/v1/namespaces/kube-system/configmaps/aws-auth',
    verb: 'update',
    objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestObject: cm,
    responseObject: cm,
    requestReceivedTimestamp: '2024-08-24T14:27:30.000000Z',
    stageTimestamp: '2024-08-24T14:27:30.040000Z',
  };
};

/**
 * An authenticator denial whose error quotes the presigned URL: Go's HTTP client writes
 * `Get "<url>": <cause>` (the `error during GET` form of the docs/formats.md §1.3 catalogue).
 */
export const authenticatorDenialWithUrl = (): string =>
  `time="2024-08-24T14:29:59Z" level=warning msg="access denied" client="127.0.0.1:43440" error="sts getCallerIdentity failed: error during GET: Get \\"${presignedUrl()}\\": dial tcp 52.94.0.1:443: i/o timeout" method=POST path=/authenticate`;

/** An `access granted` line (the rotel fixture's shape) with an Authorization field a fork might add. */
export const authenticatorGrantWithHeader = (): string =>
  `time="2024-08-24T14:27:06Z" level=info msg="access granted" arn="arn:aws:iam::${ACCOUNT}:role/sso_admin" authorization="Bearer ${SYNTHETIC.bearer}" client="127.0.0.1:38940" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:${ACCOUNT}:AROATCKASJUUBCXRRKSFT" username="arn:aws:sts::${ACCOUNT}:assumed-role/sso_admin/gomyers-paloaltonetworks.com"`;

/** Records no parser can read, each holding a secret: they are quarantined with their raw text. */
export const poisonLogMessages = (): { stream: string; message: string }[] => [
  // JSON cut short, no [Truncated...] suffix: AUDIT_NOT_JSON.
  {
    stream: AUDIT_STREAM,
    message: `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"5ec2e7a1-0000-4000-8000-00000000000a","requestURI":"/api/v1/pods?access_token=${SYNTHETIC.accessToken}`,
  },
  // Nested deeper than any walker goes: INPUT_TOO_DEEP.
  {
    stream: AUDIT_STREAM,
    message: `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"5ec2e7a1-0000-4000-8000-00000000000b","stage":"ResponseComplete","requestURI":"/api?access_token=${SYNTHETIC.accessToken}","requestObject":${'['.repeat(2_000)}${']'.repeat(2_000)}}`,
  },
  // An unterminated quote: AUTHN_LINE_BAD_QUOTE.
  {
    stream: AUTHN_STREAM,
    message: `time="2024-08-24T14:29:58Z" level=warning msg="access denied" error="Get \\"${presignedUrl()}`,
  },
];

/** A `[Truncated...]` audit event (docs/formats.md §0.4) whose kept requestURI holds a token. */
export const truncatedAuditWithToken = (): string => {
  const e: Record<string, unknown> = { ...kiemAuditEvent(), auditID: '5ec2e7a1-0000-4000-8000-00000000000c' };
  e.requestURI = `/api/v1/namespaces/default/pods/web-0/exec?command=sh&access_token=${bearerToken()}`;
  return `${JSON.stringify(e).slice(0, 900)}[Truncated...]`;
};

/** The kiem export with every secret-bearing log record above added (timestamps in the same hour). */
export const logExportWithSecrets = (): { events: ExportEvent[] } => {
  const events = kiemEvents().map((e) =>
    e.message.includes('fb5dba68') ? { ...e, message: JSON.stringify(auditEventWithSecrets()) } : e,
  );
  const add = (stream: string, message: string, timestamp: number) =>
    events.push({
      logStreamName: stream,
      timestamp,
      message,
      eventId: `5ec${String(events.length).padStart(53, '0')}`,
    });
  add(AUDIT_STREAM, JSON.stringify(rbacEventWithSecrets()), 1724509640050);
  add(AUDIT_STREAM, JSON.stringify(awsAuthEventWithSecrets()), 1724509650040);
  add(AUDIT_STREAM, truncatedAuditWithToken(), 1724509660000);
  add(AUDIT_STREAM, JSON.stringify(unauthenticatedWithToken()), 1724509799300);
  add(AUTHN_STREAM, authenticatorGrantWithHeader(), 1724509626000);
  add(AUTHN_STREAM, authenticatorDenialWithUrl(), 1724509799000);
  for (const [i, p] of poisonLogMessages().entries()) add(p.stream, p.message, 1724509700000 + i);
  return { events };
};

/** STS records of the kiem fixture with the session token AWS returns, plus one the parser refuses. */
export const cloudTrailWithSecrets = (): { Records: Record<string, unknown>[] } => {
  const doc = JSON.parse(readFileSync(join(KIEM, 'cloudtrail.json'), 'utf8')) as { Records: Record<string, unknown>[] };
  const records = doc.Records.map((r) => {
    if (r.eventName !== 'AssumeRoleWithSAML') return r;
    const res = r.responseElements as { credentials: Record<string, unknown> };
    return {
      ...r,
      responseElements: {
        ...res,
        credentials: { ...res.credentials, sessionToken: SYNTHETIC.assumeRoleSessionToken },
      },
    };
  });
  records.push(refusedAssumeRole('5ec2e7a1-0000-4000-8000-0000000000aa'));
  return { Records: records };
};

/** An AssumeRole record without its roleArn (CLOUDTRAIL_MISSING_FIELD) that still holds its session token. */
export const refusedAssumeRole = (eventID: string, sessionToken: string = SYNTHETIC.assumeRoleSessionToken) => ({
  eventVersion: '1.08',
  userIdentity: {
    type: 'IAMUser',
    arn: `arn:aws:iam::${ACCOUNT}:user/ci`,
    accountId: ACCOUNT,
    accessKeyId: 'AKIAEXAMPLECI0000001',
  },
  eventTime: '2024-08-24T14:20:00Z',
  eventSource: 'sts.amazonaws.com',
  eventName: 'AssumeRole',
  awsRegion: 'us-east-1',
  sourceIPAddress: '198.51.100.7',
  userAgent: 'aws-cli/2.15.0',
  requestParameters: { roleSessionName: 'ci' },
  responseElements: {
    credentials: { accessKeyId: 'ASIAEXAMPLECI0000002', sessionToken, expiration: 'Aug 24, 2024, 3:20:00 PM' },
  },
  requestID: 'b1c2d3e4-0000-4000-8000-000000000001',
  eventID,
  readOnly: true,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: ACCOUNT,
});

/** The kiem aws-auth snapshot with an extra data key holding a password. */
export const awsAuthYamlWithSecrets = (): string =>
  `${readFileSync(join(KIEM, 'kiem.yaml'), 'utf8').trimEnd()}\n  note: "password=${SYNTHETIC.password}"\n`;
