import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attachAuthnDenial,
  correlateAuditEvent,
  correlateAuthnFailure,
  stsLineFor,
} from '../../../lib/chain/correlate.js';
import { inMemoryEvidence } from '../../../lib/chain/evidence.js';
import { renderChain } from '../../../lib/chain/explain.js';
import type { CredentialIssuance } from '../../../lib/chain/types.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { parseAuthenticatorLine } from '../../../lib/sources/authenticator-line.js';
import type { AccessDeniedLine, AuditEvent, LogEventOrigin, StsResponseLine } from '../../../lib/sources/types.js';
import { fixtureJson, fixtureText, pantherLog } from './fixtures.js';
import {
  accessEntry,
  associate,
  assumeRoleIssuance,
  auditFrom,
  authMode,
  awsAuthPut,
  CLUSTER,
  clusterCreated,
  principalIdObserved,
  withFields,
} from './scenario.js';

const origin = { cluster: CLUSTER, accountId: '111122223333' };
const none = () => inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [] });
const evidence = (mappingChanges: MappingChange[], credentials: CredentialIssuance[] = []) =>
  inMemoryEvidence({ cluster: CLUSTER, mappingChanges, credentials });

// ---------------------------------------------------------------------------------------------
// fixtures
// ---------------------------------------------------------------------------------------------

const kiem = fixtureJson('kiempossible-access-policy-allow.json');
const SSO_ADMIN_ROLE = 'arn:aws:iam::211125685544:role/sso_admin';
const CLUSTER_ADMIN = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';

/** kubernetes-admin / DevAdministrator, system:masters, empty allow reason (panther, 2022 extra keys). */
const devAdmin = pantherLog('Not 403');
const DEV_ADMIN_ROLE = 'arn:aws:iam::123412341234:role/DevAdministrator';
const DEV_ADMIN_KEY = 'ASIARLIVEKVNN6Y6J5UW';

const apiModeCluster = (at = '2024-01-01T00:00:00.000Z'): MappingChange[] => [
  clusterCreated(at, 'API_AND_CONFIG_MAP', 'arn:aws:sts::211125685544:assumed-role/creator/x', {
    bootstrapAdmin: false,
  }),
];

// ---------------------------------------------------------------------------------------------

describe('correlateAuditEvent: SSO user via access entry with ClusterAdmin policy (kiempossible)', () => {
  const changes = [
    ...apiModeCluster(),
    accessEntry('2024-02-01T10:00:00.000Z', SSO_ADMIN_ROLE, { id: 'ct-create-entry' }),
    associate('2024-02-01T10:00:05.000Z', SSO_ADMIN_ROLE, 'AmazonEKSClusterAdminPolicy'),
  ];
  const saml = assumeRoleIssuance({
    eventId: 'ct-saml-1',
    eventTime: '2024-08-24T14:00:00Z',
    api: 'AssumeRoleWithSAML',
    roleArn: SSO_ADMIN_ROLE,
    sessionName: 'gomyers@paloaltonetworks.com',
    issuedAccessKeyId: 'ASIATCKASJUUD7MPDOZN',
    caller: { type: 'SAMLUser', principalId: 'okta:gomyers' },
    subject: 'gomyers@paloaltonetworks.com',
  });
  const chain = correlateAuditEvent(auditFrom(kiem), origin, evidence(changes, [saml]));

  it('names the principal as the authenticator reported it', () => {
    expect(chain.chainId).toBe('prod#fb5dba68-6262-4718-b45e-d293b03e434d');
    expect(chain.at).toBe('2024-08-24T14:27:07.461683Z');
    expect(chain.principal.status).toBe('observed');
    expect(chain.principal.value).toEqual({
      type: 'assumed-role',
      stsArn: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers@paloaltonetworks.com',
      canonicalArn: SSO_ADMIN_ROLE,
      principalId: 'AROATCKASJUUBCXRRKSFT',
      accountId: '211125685544',
      accessKeyId: 'ASIATCKASJUUD7MPDOZN',
      sessionName: 'gomyers@paloaltonetworks.com',
    });
  });

  it('finds the human through the SAML issuance, not the (caller-chosen) session name', () => {
    expect(chain.human).toMatchObject({
      status: 'derived',
      value: { identity: 'gomyers@paloaltonetworks.com', via: 'saml', credentialEventId: 'ct-saml-1' },
      evidence: ['cloudtrail:ct-saml-1'],
    });
  });

  it('attributes the mapping to the access entry and the decision to its ClusterAdmin association', () => {
    expect(chain.mapping.status).toBe('derived');
    expect(chain.mapping.value).toMatchObject({
      source: 'access-entry',
      accessEntry: {
        principalArn: SSO_ADMIN_ROLE,
        type: 'STANDARD',
        policies: [{ policyArn: CLUSTER_ADMIN, scope: { type: 'cluster', namespaces: [] } }],
      },
      username: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
    });
    expect(chain.decision).toMatchObject({
      status: 'observed',
      value: {
        outcome: 'allow',
        authorizer: 'eks-access-policy',
        accessPolicy: {
          policyArn: CLUSTER_ADMIN,
          scope: { type: 'cluster', namespaces: [] },
          principalArn: SSO_ADMIN_ROLE,
        },
      },
    });
    expect(chain.k8sIdentity.value).toEqual({
      username: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
      uid: 'aws-iam-authenticator:211125685544:AROATCKASJUUBCXRRKSFT',
      groups: ['system:authenticated'],
    });
    expect(chain.request.value).toEqual({
      verb: 'list',
      requestURI: '/api/v1/namespaces',
      resource: 'namespaces',
      statusCode: 200,
      sourceIPs: ['130.41.219.137'],
      userAgent: 'ClusterLoGo_darwin_amd64/v0.0.0 (darwin/amd64) kubernetes/$Format',
      stage: 'ResponseComplete',
      level: 'Request',
      truncated: false,
    });
    expect(chain.pendingEnrichment).toBe(false);
  });
});

describe('correlateAuditEvent: IAM Identity Center permission-set role', () => {
  it('trusts the session name AWS enforces for AWSReservedSSO_* roles', () => {
    const raw = fixtureJson('sso-access-entry-user-extra.json');
    const chain = correlateAuditEvent(auditFrom(raw), origin, none());
    expect(chain.human).toEqual({
      status: 'observed',
      value: { identity: 'sysadmin', via: 'sso-session' },
      why: 'IAM Identity Center permission-set role: AWS sets the session name to the signed-in user (sysadmin)',
      evidence: ['audit:user.extra.sessionName'],
    });
  });
});

describe('correlateAuditEvent: aws-auth role with a {{SessionName}} username (stratus backdoor mapRoles)', () => {
  // mapRoles as the stratus-red-team aws-auth update carried it.
  const mapRoles =
    '- groups:\n    - system:masters\n  rolearn: arn:aws:iam::012345678901:role/account-admin\n  username: cluster-admin-{{SessionName}}\n- groups:\n    - system:bootstrappers\n    - system:nodes\n  rolearn: arn:aws:iam::012345678901:role/eksctl-cluser-NodeInstanceRole\n  username: system:node:{{EC2PrivateDNSName}}\n- groups:\n    - system:masters\n  rolearn: arn:aws:iam::012345678901:role/stratus-red-team-eks-backdoor-aws-auth-role\n  username: backdoor\n';
  const event = auditFrom(
    withFields(devAdmin, {
      user: {
        username: 'cluster-admin-alice-example.com',
        uid: 'aws-iam-authenticator:012345678901:AROAACCOUNTADMIN0001',
        groups: ['system:masters', 'system:authenticated'],
        extra: {
          accessKeyId: ['ASIAACCOUNTADMIN0001'],
          arn: ['arn:aws:sts::012345678901:assumed-role/account-admin/alice@example.com'],
          canonicalArn: ['arn:aws:iam::012345678901:role/account-admin'],
          sessionName: ['alice@example.com'],
        },
      },
    }),
  );
  const changes = [
    clusterCreated('2022-07-20T13:00:00.000Z', 'CONFIG_MAP', 'arn:aws:sts::012345678901:assumed-role/creator/x'),
    awsAuthPut('2022-07-20T13:13:30.000Z', { mapRoles }),
  ];

  it('resolves aws-auth mapRoles[0] with the session expanded, and masters as the authorizer', () => {
    const chain = correlateAuditEvent(event, origin, evidence(changes));
    expect(chain.mapping.status).toBe('derived');
    expect(chain.mapping.value).toMatchObject({
      source: 'aws-auth-role',
      awsAuthRow: {
        kind: 'role',
        index: 0,
        arn: 'arn:aws:iam::012345678901:role/account-admin',
        username: 'cluster-admin-{{SessionName}}',
      },
      username: 'cluster-admin-alice-example.com',
      groups: ['system:masters'],
    });
    expect(chain.decision.value).toMatchObject({
      outcome: 'allow',
      authorizer: 'system:masters',
      reason: { kind: 'privileged-allow' },
    });
    // alice@example.com is a caller-chosen session name on a non-SSO role: not the human.
    expect(chain.human.status).toBe('unknown');
    expect(chain.human.why).toContain('"alice@example.com" is chosen by the caller and not trusted');
    expect(chain.pendingEnrichment).toBe(true);
  });
});

describe('correlateAuditEvent: cluster creator in CONFIG_MAP mode (panther kubernetes-admin)', () => {
  const event = auditFrom(devAdmin);
  const changes = [
    clusterCreated(
      '2022-11-01T00:00:00.000Z',
      'CONFIG_MAP',
      'arn:aws:sts::123412341234:assumed-role/DevAdministrator/creator-session',
    ),
  ];

  it('explains kubernetes-admin / system:masters as the creator grant with an empty allow reason', () => {
    const chain = correlateAuditEvent(event, origin, evidence(changes));
    expect(chain.principal.value).toMatchObject({
      type: 'assumed-role',
      canonicalArn: DEV_ADMIN_ROLE,
      accessKeyId: DEV_ADMIN_KEY,
      sessionName: '1669660343296132000',
      // 2022 events have no extra.principalId: the uid carries it.
      principalId: 'AROARLIVEKVNIRVGDLJWJ',
    });
    expect(chain.principal.why).toContain('principal id from user.uid (user.extra has no principalId');
    expect(chain.principal.evidence).toContain('audit:user.uid');
    expect(chain.mapping.value).toMatchObject({
      source: 'cluster-creator',
      username: 'kubernetes-admin',
      groups: ['system:masters'],
    });
    expect(chain.decision.value).toMatchObject({ outcome: 'allow', authorizer: 'system:masters', rawReason: '' });
    expect(chain.request.value).toMatchObject({
      verb: 'get',
      resource: 'pods',
      subresource: 'log',
      namespace: 'default',
      name: 'kube-bench-drn4j',
      stage: 'ResponseStarted',
    });
  });
});

describe('correlateAuditEvent: node role via an EC2_LINUX access entry', () => {
  const NODE_ROLE = 'arn:aws:iam::111122223333:role/eks-node-role';
  const raw = withFields(pantherLog('legitimate EKS node from AWS IP - should not alert'), {
    user: {
      username: 'system:node:ip-192-168-3-178.us-west-2.compute.internal',
      uid: 'aws-iam-authenticator:111122223333:AROANODEROLE00000001',
      groups: ['system:nodes', 'system:authenticated'],
      extra: {
        accessKeyId: ['ASIANODEKEY000000001'],
        arn: ['arn:aws:sts::111122223333:assumed-role/eks-node-role/i-0123456789abcdef0'],
        canonicalArn: [NODE_ROLE],
        principalId: ['AROANODEROLE00000001'],
        sessionName: ['i-0123456789abcdef0'],
      },
    },
  });
  const changes = [
    ...apiModeCluster(),
    accessEntry('2024-03-01T00:00:00.000Z', NODE_ROLE, { type: 'EC2_LINUX', groups: ['system:nodes'] }),
  ];

  it('maps through the node entry and credits the Node authorizer', () => {
    const chain = correlateAuditEvent(auditFrom(raw), origin, evidence(changes));
    expect(chain.mapping.value).toMatchObject({
      source: 'access-entry',
      accessEntry: { principalArn: NODE_ROLE, type: 'EC2_LINUX', kubernetesGroups: ['system:nodes'] },
    });
    expect(chain.decision.value).toMatchObject({ outcome: 'allow', authorizer: 'node' });
    expect(chain.request.value).toMatchObject({
      verb: 'create',
      resource: 'serviceaccounts',
      subresource: 'token',
      name: 'kube-proxy',
    });
  });
});

describe('correlateAuditEvent: the same principal in access entries and aws-auth', () => {
  const mapRoles = `- rolearn: ${SSO_ADMIN_ROLE}\n  username: legacy-admin\n  groups:\n    - system:masters\n`;
  const base = [
    accessEntry('2024-02-01T10:00:00.000Z', SSO_ADMIN_ROLE),
    associate('2024-02-01T10:00:05.000Z', SSO_ADMIN_ROLE, 'AmazonEKSClusterAdminPolicy'),
    awsAuthPut('2024-01-15T00:00:00.000Z', { mapRoles }),
  ];
  // What the API server recorded follows the mapping in force: the access entry's default
  // username in the API modes, the aws-auth row's username and groups in CONFIG_MAP.
  const viaEntry = auditFrom(kiem);
  const viaAwsAuth = auditFrom(
    withFields(kiem, {
      user: {
        ...(kiem.user as Record<string, unknown>),
        username: 'legacy-admin',
        groups: ['system:masters', 'system:authenticated'],
      },
      annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    }),
  );

  it.each([
    ['API_AND_CONFIG_MAP', viaEntry, 'access-entry', 'takes precedence'],
    ['API', viaEntry, 'access-entry', 'aws-auth is ignored in API mode'],
    ['CONFIG_MAP', viaAwsAuth, 'aws-auth-role', undefined],
  ] as const)('in %s mode the mapping is the one in force', (mode, event, source, shadowWhy) => {
    const chain = correlateAuditEvent(event, origin, evidence([authMode('2024-01-01T00:00:00.000Z', mode), ...base]));
    expect(chain.mapping.status).toBe('derived');
    expect(chain.mapping.value?.source).toBe(source);
    const shadow = (chain.mapping.value?.shadowed ?? []).find((s) => s.source === 'aws-auth-role');
    if (shadowWhy) expect(shadow?.why).toContain(shadowWhy);
    else expect(chain.mapping.value).toMatchObject({ username: 'legacy-admin', groups: ['system:masters'] });
  });
});

describe('correlateAuditEvent: role deleted and recreated (new principal id)', () => {
  const mapRoles = `- rolearn: ${SSO_ADMIN_ROLE}\n  username: legacy-admin\n  groups:\n    - system:masters\n`;
  const changes = [
    authMode('2024-01-01T00:00:00.000Z', 'API_AND_CONFIG_MAP'),
    accessEntry('2024-02-01T10:00:00.000Z', SSO_ADMIN_ROLE),
    principalIdObserved('2024-02-01T11:00:00.000Z', SSO_ADMIN_ROLE, 'AROAOLDROLEID0000001'),
    awsAuthPut('2024-01-15T00:00:00.000Z', { mapRoles }),
  ];

  it('skips the access entry bound to the old id and lets the aws-auth row (bound to the ARN) re-admit it', () => {
    const chain = correlateAuditEvent(auditFrom(kiem), origin, evidence(changes));
    expect(chain.mapping.value?.source).toBe('aws-auth-role');
    expect(chain.mapping.why).toContain('AROAOLDROLEID0000001');
    expect(chain.mapping.why).toContain('recreated');
  });

  it('explains an authenticator denial of the recreated role against the known history', () => {
    const line = deniedLine(
      'time="2024-08-24T14:27:07Z" level=warning msg="access denied" arn="arn:aws:iam::211125685544:role/sso_admin" client="127.0.0.1:33384" error="identity is not mapped" method=POST path=/authenticate',
    );
    const chain = correlateAuthnFailure(
      line,
      logOrigin('authn-evt-1', Date.parse('2024-08-24T14:27:07.120Z')),
      evidence(changes.slice(0, 3)),
    );
    expect(chain.mapping).toMatchObject({ status: 'observed', value: { source: 'unmapped' } });
    expect(chain.mapping.why).toContain('the history maps it');
  });
});

describe('correlateAuditEvent: RBAC grants', () => {
  it('reads a RoleBinding grant for an EKS-internal principal (panther eks:addon-manager)', () => {
    const chain = correlateAuditEvent(
      auditFrom(pantherLog('eks:addon-manager from public ip as lambda')),
      origin,
      none(),
    );
    expect(chain.mapping).toMatchObject({
      status: 'derived',
      value: { source: 'eks-internal', username: 'eks:addon-manager' },
    });
    expect(chain.decision.value).toMatchObject({
      outcome: 'allow',
      authorizer: 'rbac',
      reason: {
        kind: 'rbac-allow',
        binding: { kind: 'RoleBinding', name: 'eks:addon-manager', namespace: 'kube-system' },
        role: { kind: 'Role', name: 'eks:addon-manager' },
        subject: { kind: 'User', name: 'eks:addon-manager' },
      },
    });
    expect(chain.pendingEnrichment).toBe(true); // the human behind the AWS-internal session is unknown until STS evidence
  });

  it('reads a ClusterRoleBinding grant to a service account (panther coredns)', () => {
    const chain = correlateAuditEvent(auditFrom(pantherLog('403 and Private IP')), origin, none());
    expect(chain.principal.value).toEqual({
      type: 'service-account',
      serviceAccount: { namespace: 'kube-system', name: 'coredns' },
    });
    expect(chain.mapping.value).toEqual({ source: 'service-account' });
    expect(chain.human.status).toBe('unknown');
    expect(chain.decision.value?.authorizer).toBe('rbac');
    expect(chain.decision.why).toContain('request then failed with 403');
    expect(chain.pendingEnrichment).toBe(false);
  });

  it('reads an RBAC RoleBinding grant for a non-IAM user (non-EKS sample)', () => {
    const chain = correlateAuditEvent(auditFrom(fixtureJson('non-eks-rolebinding-allow.json')), origin, none());
    expect(chain.principal).toMatchObject({ status: 'unknown', value: { type: 'unknown' } });
    expect(chain.decision.value).toMatchObject({
      authorizer: 'rbac',
      reason: { binding: { name: 'mayor-user-binding', namespace: 'wareville' } },
    });
  });
});

describe('correlateAuditEvent: 403 with an empty reason', () => {
  it('parses the missing permission of a control-plane component (workshop kube-scheduler)', () => {
    const chain = correlateAuditEvent(
      auditFrom(fixtureJson('workshop-forbid-kube-scheduler-2023.json')),
      origin,
      none(),
    );
    expect(chain.principal.value).toEqual({ type: 'k8s-internal' });
    expect(chain.mapping).toMatchObject({ status: 'derived', value: { source: 'certificate' } });
    expect(chain.decision).toMatchObject({
      status: 'observed',
      value: {
        outcome: 'forbid',
        authorizer: 'none',
        reason: { kind: 'forbid', reasons: [] },
        denial: {
          stage: 'authorization',
          missing: {
            username: 'system:kube-scheduler',
            verb: 'list',
            resource: 'poddisruptionbudgets',
            apiGroup: 'policy',
            scope: 'cluster',
          },
        },
      },
    });
    expect(chain.decision.value?.denial?.explanation).toBe(
      'no RBAC binding grants list on poddisruptionbudgets (API group policy) at cluster scope to user system:kube-scheduler or groups []; access policies in force: none',
    );
  });

  it('names the access policies in force for an IAM principal and why they do not cover it', () => {
    const message =
      'secrets is forbidden: User "arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com" cannot list resource "secrets" in API group "" in the namespace "wareville"';
    const raw = withFields(kiem, {
      requestURI: '/api/v1/namespaces/wareville/secrets?limit=500',
      objectRef: { resource: 'secrets', namespace: 'wareville', apiVersion: 'v1' },
      responseStatus: {
        metadata: {},
        status: 'Failure',
        message,
        reason: 'Forbidden',
        details: { kind: 'secrets' },
        code: 403,
      },
      annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
    });
    const changes = [
      ...apiModeCluster(),
      accessEntry('2024-02-01T10:00:00.000Z', SSO_ADMIN_ROLE),
      associate('2024-02-01T10:00:05.000Z', SSO_ADMIN_ROLE, 'AmazonEKSViewPolicy', {
        type: 'namespace',
        namespaces: ['dev'],
      }),
    ];
    const chain = correlateAuditEvent(auditFrom(raw), origin, evidence(changes));
    expect(chain.decision.value?.denial?.missing).toMatchObject({
      verb: 'list',
      resource: 'secrets',
      namespace: 'wareville',
    });
    expect(chain.decision.value?.denial?.explanation).toContain(
      'access policies in force: AmazonEKSViewPolicy (namespace dev) does not cover it: scoped to namespace(s) dev, not wareville',
    );
    expect(chain.request.value?.statusCode).toBe(403);
  });
});

// ---------------------------------------------------------------------------------------------
// authentication failures
// ---------------------------------------------------------------------------------------------

const deniedLine = (text: string): AccessDeniedLine => {
  const r = parseAuthenticatorLine(text);
  if (!r.ok || r.value.kind !== 'access-denied') throw new Error(`not an access denied line: ${text}`);
  return r.value;
};
const logOrigin = (eventId: string, timestamp: number): LogEventOrigin => ({
  cluster: CLUSTER,
  accountId: '111122223333',
  logGroup: `/aws/eks/${CLUSTER}/cluster`,
  logStream: 'authenticator-0123456789abcdef0123456789abcdef',
  streamKind: 'authenticator',
  eventId,
  timestamp,
});
const kcLines = fixtureText('authenticator-kc-and-419.log')
  .split('\n')
  .filter((l) => l.includes('access denied'));

describe('correlateAuthnFailure on real authenticator denials', () => {
  it('401 from an unmapped ARN: the principal is the canonical ARN, the stage is unmapped', () => {
    const line = deniedLine(kcLines.find((l) => l.includes('ARN is not mapped')) as string);
    const chain = correlateAuthnFailure(
      line,
      logOrigin('37000000000000000000000000000000000000000000000000000001', Date.parse('2022-12-28T15:37:19.512Z')),
      none(),
    );
    expect(chain.chainId).toBe('prod#authn#37000000000000000000000000000000000000000000000000000001');
    expect(chain.kind).toBe('authn-failure');
    expect(chain.at).toBe('2022-12-28T15:37:19.512Z');
    expect(chain.principal).toMatchObject({
      status: 'observed',
      value: { type: 'assumed-role', canonicalArn: 'arn:aws:iam::XXXXXXXXXX:role/admin-test-role' },
    });
    expect(chain.decision.value).toEqual({
      outcome: 'authn-failed',
      authorizer: 'none',
      denial: { stage: 'unmapped', failureClass: 'identity-not-mapped', message: 'ARN is not mapped' },
    });
    expect(chain.mapping).toMatchObject({ status: 'observed', value: { source: 'unmapped' } });
    expect(chain.request.status).toBe('unknown');
  });

  it('an STS failure has no principal', () => {
    const line = deniedLine(kcLines.find((l) => l.includes('InvalidClientTokenId')) as string);
    const chain = correlateAuthnFailure(line, logOrigin('e2', Date.parse('2022-12-26T20:46:48.000Z')), none());
    expect(chain.principal).toMatchObject({ status: 'unknown', value: { type: 'unknown' } });
    expect(chain.decision.value?.denial).toMatchObject({ stage: 'sts', failureClass: 'sts-failure' });
    expect(chain.mapping.status).toBe('unknown');
  });

  it('a template failure (hosted EKS 2022 wording) is stage template', () => {
    const line = deniedLine(kcLines.find((l) => l.includes('SessionName did not contain')) as string);
    const chain = correlateAuthnFailure(line, logOrigin('e3', Date.parse('2022-01-07T18:47:39.000Z')), none());
    expect(chain.decision.value?.denial).toMatchObject({ stage: 'template', failureClass: 'template-error' });
    expect(chain.principal.value?.canonicalArn).toBe('arn:aws:iam::REDACTED:role/crossplane-test');
  });

  it('the matching audit 401 has no user and fails at authentication', () => {
    // docs/formats.md §2.4: empty user object, ResponseStarted, code 401, no authorization annotations.
    const event: AuditEvent = auditFrom({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: '0b3c2a8e-0000-4000-8000-000000000401',
      stage: 'ResponseStarted',
      requestURI: '/api/v1/namespaces/default/pods',
      verb: 'list',
      user: {},
      sourceIPs: ['203.0.113.7'],
      userAgent: 'kubectl/v1.29.3 (linux/amd64) kubernetes/6813625',
      responseStatus: {
        metadata: {},
        status: 'Failure',
        message: 'Authentication failed, attempted: bearer',
        reason: 'Unauthorized',
        code: 401,
      },
      requestReceivedTimestamp: '2022-12-28T15:37:19.498121Z',
      stageTimestamp: '2022-12-28T15:37:19.500100Z',
    });
    const chain = correlateAuditEvent(event, origin, none());
    expect(chain.principal.status).toBe('unknown');
    expect(chain.k8sIdentity.status).toBe('unknown');
    expect(chain.decision.value).toEqual({
      outcome: 'authn-failed',
      authorizer: 'none',
      denial: { stage: 'authentication', message: 'Authentication failed, attempted: bearer' },
    });
    expect(chain.pendingEnrichment).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

describe('correlateAuditEvent: impersonation', () => {
  it('records the impersonated identity and evaluates authorization for it', () => {
    const raw = withFields(devAdmin, {
      impersonatedUser: { username: 'jane', groups: ['developers', 'system:authenticated'] },
      annotations: {
        'authorization.k8s.io/decision': 'allow',
        'authorization.k8s.io/reason':
          'RBAC: allowed by RoleBinding "dev-edit/default" of ClusterRole "edit" to Group "developers"',
      },
    });
    const chain = correlateAuditEvent(auditFrom(raw), origin, none());
    expect(chain.k8sIdentity.value).toMatchObject({
      username: 'kubernetes-admin',
      groups: ['system:masters', 'system:authenticated'],
      impersonated: { username: 'jane', groups: ['developers', 'system:authenticated'] },
    });
    expect(chain.decision.value?.authorizer).toBe('rbac');
    expect(chain.decision.why).toContain('evaluated for the impersonated user jane');
    expect(chain.principal.value?.canonicalArn).toBe(DEV_ADMIN_ROLE);
  });
});

describe('correlateAuditEvent: the human behind a shared role', () => {
  const event = auditFrom(devAdmin);
  const creator = [
    clusterCreated(
      '2022-11-01T00:00:00.000Z',
      'CONFIG_MAP',
      'arn:aws:sts::123412341234:assumed-role/DevAdministrator/c',
    ),
  ];

  it('names the IAM user who assumed the role that received the access key', () => {
    const iss = assumeRoleIssuance({
      eventId: 'ct-assume-1',
      eventTime: '2022-11-28T18:32:23Z',
      roleArn: DEV_ADMIN_ROLE,
      sessionName: '1669660343296132000',
      issuedAccessKeyId: DEV_ADMIN_KEY,
      caller: {
        type: 'IAMUser',
        arn: 'arn:aws:iam::123412341234:user/alice',
        accountId: '123412341234',
        accessKeyId: 'AKIAALICE00000000001',
      },
    });
    const chain = correlateAuditEvent(event, origin, evidence(creator, [iss]));
    expect(chain.human).toEqual({
      status: 'derived',
      value: { identity: 'arn:aws:iam::123412341234:user/alice', via: 'iam-user', credentialEventId: 'ct-assume-1' },
      why: `access key ${DEV_ADMIN_KEY} was issued by AssumeRole ct-assume-1 at 2022-11-28T18:32:23Z; the session name "1669660343296132000" is chosen by the caller and not trusted`,
      evidence: ['cloudtrail:ct-assume-1'],
    });
    expect(chain.pendingEnrichment).toBe(false);
  });

  it('follows role chaining through the caller’s own access key to an SSO session', () => {
    const hop = assumeRoleIssuance({
      eventId: 'ct-assume-2',
      eventTime: '2022-11-28T18:32:23Z',
      roleArn: DEV_ADMIN_ROLE,
      issuedAccessKeyId: DEV_ADMIN_KEY,
      caller: {
        type: 'AssumedRole',
        arn: 'arn:aws:sts::123412341234:assumed-role/ci-deployer/pipeline-42',
        accessKeyId: 'ASIACIDEPLOYER000001',
        sessionName: 'pipeline-42',
      },
    });
    const root = assumeRoleIssuance({
      eventId: 'ct-assume-1',
      eventTime: '2022-11-28T18:30:00Z',
      roleArn: 'arn:aws:iam::123412341234:role/ci-deployer',
      issuedAccessKeyId: 'ASIACIDEPLOYER000001',
      caller: {
        type: 'AssumedRole',
        arn: 'arn:aws:sts::123412341234:assumed-role/AWSReservedSSO_Admins_260008d6b2140109/bob@example.com',
        sessionIssuerArn:
          'arn:aws:iam::123412341234:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_Admins_260008d6b2140109',
        sessionName: 'bob@example.com',
        accessKeyId: 'ASIABOBSSO0000000001',
      },
    });
    const chain = correlateAuditEvent(event, origin, evidence(creator, [hop, root]));
    expect(chain.human.value).toEqual({
      identity: 'bob@example.com',
      via: 'sso-session',
      credentialEventId: 'ct-assume-2',
      chain: ['arn:aws:sts::123412341234:assumed-role/ci-deployer/pipeline-42'],
    });
    expect(chain.human.evidence).toEqual(['cloudtrail:ct-assume-2', 'cloudtrail:ct-assume-1']);
  });

  it('stops on a cycle of access keys and stays pending when a hop is missing', () => {
    const a = assumeRoleIssuance({
      eventId: 'ct-a',
      eventTime: '2022-11-28T18:00:00Z',
      roleArn: DEV_ADMIN_ROLE,
      issuedAccessKeyId: DEV_ADMIN_KEY,
      caller: { type: 'AssumedRole', arn: 'arn:aws:sts::123412341234:assumed-role/r1/s', accessKeyId: 'ASIAKEYB' },
    });
    const b = assumeRoleIssuance({
      eventId: 'ct-b',
      eventTime: '2022-11-28T17:00:00Z',
      roleArn: 'arn:aws:iam::123412341234:role/r1',
      issuedAccessKeyId: 'ASIAKEYB',
      caller: { type: 'AssumedRole', arn: 'arn:aws:sts::123412341234:assumed-role/r2/s', accessKeyId: DEV_ADMIN_KEY },
    });
    const cyclic = correlateAuditEvent(event, origin, evidence(creator, [a, b]));
    expect(cyclic.human.status).toBe('derived');
    expect(cyclic.human.why).toContain('loops back');
    const cut = correlateAuditEvent(event, origin, evidence(creator, [a]));
    expect(cut.human.value).toMatchObject({
      identity: 'arn:aws:sts::123412341234:assumed-role/r1/s',
      via: 'assume-role-caller',
    });
    expect(cut.pendingEnrichment).toBe(true);
  });
});

describe('correlateAuditEvent: late evidence and determinism', () => {
  const event = auditFrom(kiem);
  const changes = [
    ...apiModeCluster(),
    accessEntry('2024-02-01T10:00:00.000Z', SSO_ADMIN_ROLE),
    associate('2024-02-01T10:00:05.000Z', SSO_ADMIN_ROLE, 'AmazonEKSClusterAdminPolicy'),
  ];
  const creds = [
    assumeRoleIssuance({
      eventId: 'ct-saml-1',
      eventTime: '2024-08-24T14:00:00Z',
      api: 'AssumeRoleWithSAML',
      roleArn: SSO_ADMIN_ROLE,
      issuedAccessKeyId: 'ASIATCKASJUUD7MPDOZN',
      caller: { type: 'SAMLUser' },
      subject: 'gomyers@paloaltonetworks.com',
    }),
  ];

  it('is pending without mappings and credentials, and complete once they arrive', () => {
    const early = correlateAuditEvent(event, origin, none());
    expect(early.pendingEnrichment).toBe(true);
    expect(early.mapping.status).toBe('unknown');
    expect(early.mapping.why).toContain('no identity-mapping history is known for cluster prod');
    expect(early.human.status).toBe('unknown');
    expect(early.decision.value).toMatchObject({
      authorizer: 'eks-access-policy',
      accessPolicy: {
        policyArn: CLUSTER_ADMIN,
        principalArn: SSO_ADMIN_ROLE,
        scope: { type: 'cluster', namespaces: [] },
      },
    });

    const late = correlateAuditEvent(event, origin, evidence(changes, creds));
    expect(late.pendingEnrichment).toBe(false);
    expect(late.mapping.status).toBe('derived');
    expect(late.human.status).toBe('derived');
    expect(late).toEqual(correlateAuditEvent(event, origin, evidence([...changes].reverse(), creds)));
  });

  it('gives the same chain for the same inputs, whatever the order evidence was collected in', () => {
    const a = correlateAuditEvent(event, origin, evidence(changes, creds));
    const b = correlateAuditEvent(
      event,
      origin,
      evidence([changes[2], changes[0], changes[1]] as MappingChange[], [...creds, ...creds]),
    );
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(renderChain(b)).toBe(renderChain(a));
  });
});

// ---------------------------------------------------------------------------------------------

const extraArb = fc.dictionary(
  fc.constantFrom(
    'arn',
    'canonicalArn',
    'accessKeyId',
    'sessionName',
    'principalId',
    'sigs.k8s.io/aws-iam-authenticator/principalId',
    'authentication.kubernetes.io/pod-name',
    'x',
  ),
  fc.array(
    fc.oneof(
      fc.string(),
      fc.constantFrom(
        'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_A_1/x@y',
        'arn:aws:iam::111122223333:role/r',
        'arn:aws:iam::111122223333:user/u',
        'arn:aws:sts::111122223333:federated-user/bob',
        'ASIAKEY1',
        '',
      ),
    ),
    { maxLength: 2 },
  ),
);
const userArb = fc.record(
  {
    username: fc.oneof(
      fc.string(),
      fc.constantFrom(
        'system:anonymous',
        'system:serviceaccount:ns:sa',
        'system:node:n1',
        'kubernetes-admin',
        'arn:aws:sts::1:assumed-role/r/s',
      ),
    ),
    uid: fc.oneof(
      fc.string(),
      fc.constantFrom(
        'aws-iam-authenticator:123:123:Bob',
        'heptio-authenticator-aws:1:AROA',
        'aws-iam-authenticator:administrative:x',
      ),
    ),
    groups: fc.array(fc.constantFrom('system:masters', 'system:nodes', 'system:authenticated', 'dev'), {
      maxLength: 3,
    }),
    extra: extraArb,
  },
  { requiredKeys: ['groups', 'extra'] },
);
const reasonArb = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '',
    'internal error',
    'RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "b" to User "c"',
    `EKS Access Policy: allowed by ClusterRoleBinding "${SSO_ADMIN_ROLE}+${CLUSTER_ADMIN}" of ClusterRole "${CLUSTER_ADMIN}" to User "AROA"`,
    'RBAC: [x, y]',
  ),
);
const auditArb: fc.Arbitrary<AuditEvent> = fc.record(
  {
    auditID: fc.string(),
    stage: fc.constantFrom('ResponseComplete', 'ResponseStarted', 'Panic', 'x'),
    level: fc.constantFrom('Metadata', 'Request'),
    verb: fc.string(),
    requestURI: fc.string(),
    user: userArb,
    impersonatedUser: userArb,
    sourceIPs: fc.array(fc.string(), { maxLength: 2 }),
    objectRef: fc.record(
      { resource: fc.string(), namespace: fc.string(), name: fc.string(), subresource: fc.string() },
      { requiredKeys: [] },
    ),
    responseStatus: fc.record(
      {
        code: fc.constantFrom(200, 201, 401, 403, 500),
        message: fc.oneof(
          fc.string(),
          fc.constant(
            'secrets is forbidden: User "u" cannot list resource "secrets" in API group "" in the namespace "a"',
          ),
        ),
      },
      { requiredKeys: [] },
    ),
    requestReceivedTimestamp: fc.oneof(fc.string(), fc.constant('2024-08-24T14:27:07.461683Z')),
    annotations: fc.record(
      {
        'authorization.k8s.io/decision': fc.constantFrom('allow', 'forbid', 'x'),
        'authorization.k8s.io/reason': reasonArb,
      },
      { requiredKeys: [] },
    ),
    truncated: fc.boolean(),
  },
  { requiredKeys: ['auditID', 'stage', 'user', 'sourceIPs', 'annotations', 'truncated'] },
) as fc.Arbitrary<AuditEvent>;

describe('the correlator is total', () => {
  const ev = evidence(
    [
      ...apiModeCluster(),
      accessEntry('2024-02-01T10:00:00.000Z', SSO_ADMIN_ROLE),
      associate('2024-02-01T10:00:05.000Z', SSO_ADMIN_ROLE, 'AmazonEKSClusterAdminPolicy'),
    ],
    [],
  );
  it('never throws and always renders, for any parsed audit event shape', () => {
    fc.assert(
      fc.property(auditArb, (e) => {
        const chain = correlateAuditEvent(e, origin, ev);
        expect(chain.chainId).toBe(`prod#${e.auditID}`);
        expect(typeof renderChain(chain)).toBe('string');
      }),
      { numRuns: 1500 },
    );
  });

  it('never throws for any authenticator denial', () => {
    fc.assert(
      fc.property(
        fc.record({
          error: fc.string(),
          canonicalArn: fc.option(fc.oneof(fc.string(), fc.constant(SSO_ADMIN_ROLE)), { nil: undefined }),
        }),
        fc.constantFrom('identity-not-mapped', 'template-error', 'sts-failure', 'unknown', 'reserved-prefix'),
        fc.integer(),
        (f, errorClass, ts) => {
          const line: AccessDeniedLine = { kind: 'access-denied', fields: {}, error: f.error, errorClass };
          if (f.canonicalArn !== undefined) line.canonicalArn = f.canonicalArn;
          const chain = correlateAuthnFailure(line, logOrigin('x', ts), ev);
          expect(typeof renderChain(chain)).toBe('string');
        },
      ),
      { numRuns: 800 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 401 requests joined to the authenticator denial (found by the end-to-end ground-truth test)
// ---------------------------------------------------------------------------------------------

describe('401 requests and authenticator denials: who was denied, and why', () => {
  const KC_ROLE = 'arn:aws:iam::XXXXXXXXXX:role/admin-test-role';
  const KEY = 'ASIAXXXXXXXXKCTEST01';
  const deniedAt = Date.parse('2022-12-28T15:37:19.512Z');
  const denial = {
    line: deniedLine(kcLines.find((l) => l.includes('ARN is not mapped')) as string),
    origin: logOrigin('denied-1', deniedAt),
  };
  // Same grammar as the rotel `STS response` line (docs/formats.md §1.3), for the KC sample's role.
  const stsText = `time="2022-12-28T15:37:19Z" level=info msg="STS response" accesskeyid=${KEY} accountid=XXXXXXXXXX arn="arn:aws:sts::XXXXXXXXXX:assumed-role/admin-test-role/alice" client="127.0.0.1:33384" method=POST path=/authenticate session=alice userid=AROAXXXXXXXXKCROLE01`;
  const stsParsed = parseAuthenticatorLine(stsText);
  if (!stsParsed.ok || stsParsed.value.kind !== 'sts-response') throw new Error('not an STS response line');
  const sts = { line: stsParsed.value as StsResponseLine, origin: logOrigin('sts-1', deniedAt - 3) };
  const caller = assumeRoleIssuance({
    eventId: 'ct-alice',
    eventTime: '2022-12-28T15:30:00Z',
    roleArn: KC_ROLE,
    sessionName: 'alice',
    issuedAccessKeyId: KEY,
    caller: { type: 'IAMUser', arn: 'arn:aws:iam::XXXXXXXXXX:user/alice', accessKeyId: 'AKIAXXXXXXXXALICE001' },
  });
  const request401: AuditEvent = auditFrom({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: '0b3c2a8e-0000-4000-8000-000000000401',
    stage: 'ResponseStarted',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'list',
    user: {},
    sourceIPs: ['203.0.113.7'],
    responseStatus: { metadata: {}, message: 'Authentication failed, attempted: bearer', code: 401 },
    requestReceivedTimestamp: '2022-12-28T15:37:19.498121Z',
    stageTimestamp: '2022-12-28T15:37:19.513100Z',
  });

  it('finds the STS response line of a denial on the same stream, for the same principal', () => {
    const other = { ...sts, origin: { ...sts.origin, eventId: 'sts-other', logStream: 'authenticator-other' } };
    const stale = { ...sts, origin: { ...sts.origin, eventId: 'sts-stale', timestamp: deniedAt - 5_000 } };
    expect(stsLineFor(denial, [other, stale, sts])?.origin.eventId).toBe('sts-1');
    expect(stsLineFor(denial, [other, stale])).toBeUndefined();
  });

  it.each([
    ['another principal', 'arn:aws:sts::XXXXXXXXXX:assumed-role/someone-else/bob'],
    ['no ARN at all', undefined],
  ])('ignores an STS response line naming %s', (_kind, stsArn) => {
    const line: StsResponseLine = { ...sts.line };
    if (stsArn === undefined) delete line.stsArn;
    else line.stsArn = stsArn;
    expect(stsLineFor(denial, [{ line, origin: sts.origin }])).toBeUndefined();
  });

  it('the authn-failure chain takes access key, principal id and human from the STS response line', () => {
    const chain = correlateAuthnFailure(denial.line, denial.origin, evidence([], [caller]), sts);
    expect(chain.principal.value).toMatchObject({
      canonicalArn: KC_ROLE,
      principalId: 'AROAXXXXXXXXKCROLE01',
      accessKeyId: KEY,
      sessionName: 'alice',
    });
    expect(chain.human.value).toMatchObject({ identity: 'arn:aws:iam::XXXXXXXXXX:user/alice', via: 'iam-user' });
    expect(chain.pendingEnrichment).toBe(false);
  });

  it('a 401 request joined to its denial names the principal, the human and the failed stage', () => {
    const bare = correlateAuditEvent(request401, origin, evidence([], [caller]));
    const chain = attachAuthnDenial(bare, denial, sts, evidence([], [caller]));
    expect(chain.chainId).toBe(bare.chainId);
    expect(chain.request).toEqual(bare.request);
    expect(chain.principal).toMatchObject({
      status: 'derived',
      value: { canonicalArn: KC_ROLE, principalId: 'AROAXXXXXXXXKCROLE01', accessKeyId: KEY },
    });
    expect(chain.principal.evidence).toContain('authenticator:denied-1');
    expect(chain.human.value?.identity).toBe('arn:aws:iam::XXXXXXXXXX:user/alice');
    expect(chain.mapping.value?.source).toBe('unmapped');
    expect(chain.decision.value).toMatchObject({
      outcome: 'authn-failed',
      authorizer: 'none',
      denial: { stage: 'unmapped', failureClass: 'identity-not-mapped', message: 'ARN is not mapped' },
    });
    expect(chain.decision.status).toBe('derived');
  });

  it('a 401 joined to a token failure keeps an unknown principal and mapping but names the stage', () => {
    const stsFailure = {
      line: deniedLine(kcLines.find((l) => l.includes('InvalidClientTokenId')) as string),
      origin: logOrigin('denied-2', deniedAt),
    };
    const bare = correlateAuditEvent(request401, origin, none());
    const chain = attachAuthnDenial(bare, stsFailure, undefined, none());
    expect(chain.principal).toEqual(bare.principal);
    expect(chain.mapping).toEqual(bare.mapping);
    expect(chain.decision.value?.denial).toMatchObject({ stage: 'sts', failureClass: 'sts-failure' });
  });
});

describe('correlateAuditEvent: credentials an AWS service assumed for a workload', () => {
  it('names no human for an EC2 instance-profile session, keeping the issuance as evidence', () => {
    const iss = assumeRoleIssuance({
      eventId: 'ct-ec2',
      eventTime: '2022-11-28T18:00:00Z',
      roleArn: DEV_ADMIN_ROLE,
      sessionName: 'i-0123456789abcdef0',
      issuedAccessKeyId: DEV_ADMIN_KEY,
      caller: { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' },
    });
    const chain = correlateAuditEvent(auditFrom(devAdmin), origin, evidence([], [iss]));
    expect(chain.human.status).toBe('unknown');
    expect(chain.human.value).toBeUndefined();
    expect(chain.human.why).toContain('ec2.amazonaws.com');
    expect(chain.human.evidence).toEqual(['cloudtrail:ct-ec2']);
  });
});
