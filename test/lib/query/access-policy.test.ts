import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authorizeQuestion,
  type Caller,
  callerFromAuthorizer,
  parseQueryAccessPolicy,
  type QueryAccessPolicy,
  scopeFor,
} from '../../../lib/query/access-policy.js';
import { auditFilters } from '../../../lib/query/query-audit.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(resolve(__dirname, '../../fixtures/query-api', name), 'utf8')) as {
    requestContext: { authorizer: { iam: Record<string, unknown> } };
  };
const SSO_REQUEST = fixture('function-url-request-sso-role.json');
const USER_REQUEST = fixture('function-url-request-iam-user.json');

const SECURITY = '111111111111';
const PROD = '222222222222';
const STAGING = '333333333333';

const policy = (grants: unknown[]): QueryAccessPolicy => {
  const r = parseQueryAccessPolicy(grants);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
};

const callerOf = (userArn: string): Caller => {
  const r = callerFromAuthorizer({ userArn, accountId: userArn.split(':')[4] });
  if (!r.ok) throw new Error(r.issues[0].message);
  return r.value;
};

const roleSession = (account: string, role: string, session = 'alice') =>
  `arn:aws:sts::${account}:assumed-role/${role}/${session}`;

const GRANTS = policy([
  { name: 'secops', roleArn: `arn:aws:iam::${SECURITY}:role/SecOpsAuditor`, accounts: ['*'] },
  { name: 'auditors', roleArn: `arn:aws:iam::${SECURITY}:role/Auditor-*`, accounts: [PROD], clusters: ['prod*'] },
  { name: 'team-a', permissionSet: 'EksTeamA', accounts: [STAGING], clusters: ['team-a-?'] },
  {
    name: 'sso-readers',
    permissionSet: 'devops_*',
    callerAccounts: ['476264531111'],
    accounts: [PROD, STAGING],
    clusters: ['prod', 'staging'],
  },
]);

describe('callerFromAuthorizer', () => {
  it('understands the Identity Center session of a function URL request: role, permission set, session', () => {
    const r = callerFromAuthorizer(SSO_REQUEST.requestContext.authorizer.iam);
    expect(r).toEqual({
      ok: true,
      value: {
        arn: 'arn:aws:sts::476264531111:assumed-role/AWSReservedSSO_devops_admin_595c0f4da82205f0/gkan@example.com',
        accountId: '476264531111',
        kind: 'role',
        roleArn: 'arn:aws:iam::476264531111:role/AWSReservedSSO_devops_admin_595c0f4da82205f0',
        permissionSet: 'devops_admin',
        sessionName: 'gkan@example.com',
        callerId: 'AROAW5Y4UBHMR662MVVH4:gkan@example.com',
      },
    });
  });

  it('understands the IAM user of the AWS documentation sample as a user, never a role', () => {
    const r = callerFromAuthorizer(USER_REQUEST.requestContext.authorizer.iam);
    expect(r.ok && r.value).toMatchObject({ kind: 'user', accountId: '111122223333' });
    expect(r.ok && r.value.roleArn).toBeUndefined();
  });

  it.each([
    ['no authorizer (direct Invoke, or an auth type other than AWS_IAM)', undefined],
    ['an authorizer without userArn', { accountId: SECURITY }],
    ['an empty userArn', { userArn: '' }],
    ['a userArn that is not an ARN', { userArn: 'alice' }],
    ['an ARN of no principal', { userArn: 'arn:aws:s3:::bucket' }],
  ])('refuses %s with a QUERY_ACCESS issue', (_kind, iam) => {
    const r = callerFromAuthorizer(iam);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0].code).toBe('QUERY_ACCESS');
  });
});

describe('authorizeQuestion: who is named', () => {
  it.each([
    ['an exact role ARN', roleSession(SECURITY, 'SecOpsAuditor'), ['secops']],
    ['a role ARN pattern', roleSession(SECURITY, 'Auditor-eu'), ['auditors']],
    ['a role ARN pattern, ignoring case as IAM does', roleSession(SECURITY, 'auditor-EU'), ['auditors']],
    [
      'a permission set',
      roleSession(SECURITY, 'AWSReservedSSO_EksTeamA_0123456789abcdef', 'bob@example.com'),
      ['team-a'],
    ],
    [
      'a permission set pattern from an admitted caller account',
      roleSession('476264531111', 'AWSReservedSSO_devops_admin_595c0f4da82205f0', 'gkan@example.com'),
      ['sso-readers'],
    ],
  ])('allows %s', (_kind, arn, grants) => {
    const d = authorizeQuestion(GRANTS, callerOf(arn), undefined);
    expect(d.allowed).toBe(true);
    if (d.allowed) expect(d.scope.grants).toEqual(grants);
  });

  it.each([
    ['a role no grant names', roleSession(SECURITY, 'Developer'), 'no query access grant names'],
    ['the right role name in another account', roleSession(PROD, 'SecOpsAuditor'), 'no query access grant names'],
    [
      'a role merely named like a permission set suffix',
      roleSession(SECURITY, 'EksTeamA'),
      'no query access grant names',
    ],
    [
      'a permission set role without its 16-hex suffix',
      roleSession(SECURITY, 'AWSReservedSSO_EksTeamA'),
      'no query access grant names',
    ],
    [
      'a permission set from a caller account the grant does not admit',
      roleSession(PROD, 'AWSReservedSSO_devops_admin_595c0f4da82205f0'),
      'no query access grant names',
    ],
    ['an IAM user', `arn:aws:iam::${SECURITY}:user/SecOpsAuditor`, 'only roles'],
    ['the root user', `arn:aws:iam::${SECURITY}:root`, 'only roles'],
    ['a federated user', `arn:aws:sts::${SECURITY}:federated-user/SecOpsAuditor`, 'only roles'],
  ])('denies %s with ACCESS_DENIED', (_kind, arn, message) => {
    const d = authorizeQuestion(GRANTS, callerOf(arn), undefined);
    expect(d.allowed).toBe(false);
    if (!d.allowed) {
      expect(d.code).toBe('ACCESS_DENIED');
      expect(d.message).toContain(message);
    }
  });

  it('denies everyone when no grant is configured', () => {
    for (const arn of [roleSession(SECURITY, 'SecOpsAuditor'), roleSession(SECURITY, 'Admin')]) {
      expect(authorizeQuestion(policy([]), callerOf(arn), undefined).allowed).toBe(false);
    }
    expect(parseQueryAccessPolicy(undefined)).toEqual({ ok: true, value: { grants: [] } });
  });
});

describe('authorizeQuestion: which clusters', () => {
  const auditor = callerOf(roleSession(SECURITY, 'Auditor-eu'));
  const teamA = callerOf(roleSession(SECURITY, 'AWSReservedSSO_EksTeamA_0123456789abcdef'));
  const secops = callerOf(roleSession(SECURITY, 'SecOpsAuditor'));

  it.each([
    [auditor, `${PROD}/prod`, true],
    [auditor, `${PROD}/prod-eu`, true],
    [auditor, 'prod', true],
    [auditor, `${STAGING}/prod`, false],
    [auditor, `${PROD}/staging`, false],
    [auditor, 'staging', false],
    [teamA, `${STAGING}/team-a-1`, true],
    [teamA, `${STAGING}/team-a-12`, false],
    [teamA, `${STAGING}/Team-a-1`, false],
    [teamA, `${PROD}/team-a-1`, false],
    [secops, `${STAGING}/anything`, true],
    [secops, 'anything', true],
  ])('%# %s asks about %s: allowed %s', (caller, cluster, allowed) => {
    const d = authorizeQuestion(GRANTS, caller, cluster);
    expect(d.allowed).toBe(allowed);
    if (!d.allowed) expect(d.message).toContain(`covers cluster ${cluster}`);
  });

  it('filters a fleet-wide listing to the clusters the caller may read', () => {
    const fleet = [
      { accountId: PROD, cluster: 'prod' },
      { accountId: PROD, cluster: 'prod-us' },
      { accountId: PROD, cluster: 'staging' },
      { accountId: STAGING, cluster: 'prod' },
      { accountId: STAGING, cluster: 'team-a-1' },
      { accountId: SECURITY, cluster: 'tools' },
    ];
    const visible = (c: Caller) => fleet.filter((r) => scopeFor(GRANTS, c).mayRead(r));
    expect(visible(auditor)).toEqual([
      { accountId: PROD, cluster: 'prod' },
      { accountId: PROD, cluster: 'prod-us' },
    ]);
    expect(visible(teamA)).toEqual([{ accountId: STAGING, cluster: 'team-a-1' }]);
    expect(visible(secops)).toEqual(fleet);
    // Several grants naming one caller add up.
    const both = policy([
      { name: 'a', roleArn: `arn:aws:iam::${SECURITY}:role/X`, accounts: [PROD], clusters: ['prod'] },
      { name: 'b', roleArn: 'arn:aws:iam::*:role/X', accounts: [STAGING] },
    ]);
    const x = callerOf(roleSession(SECURITY, 'X'));
    expect(scopeFor(both, x).grants).toEqual(['a', 'b']);
    expect(fleet.filter((r) => scopeFor(both, x).mayRead(r))).toEqual([
      { accountId: PROD, cluster: 'prod' },
      { accountId: STAGING, cluster: 'prod' },
      { accountId: STAGING, cluster: 'team-a-1' },
    ]);
  });
});

describe('parseQueryAccessPolicy', () => {
  it('defaults clusters to every cluster of the granted accounts and keeps every field', () => {
    expect(
      policy([
        { name: 'a', roleArn: 'arn:aws:iam::111111111111:role/A', accounts: ['222222222222'] },
        { name: 'b', permissionSet: 'B*', callerAccounts: ['111111111111'], accounts: ['*'], clusters: ['x', 'y'] },
      ]).grants,
    ).toEqual([
      { name: 'a', roleArn: 'arn:aws:iam::111111111111:role/A', accounts: ['222222222222'], clusters: ['*'] },
      { name: 'b', permissionSet: 'B*', callerAccounts: ['111111111111'], accounts: ['*'], clusters: ['x', 'y'] },
    ]);
  });

  const ok = { name: 'g', roleArn: 'arn:aws:iam::111111111111:role/A', accounts: ['*'] };
  it.each([
    ['not a list', { grants: [] }, 'queryAccess'],
    ['a grant that is not an object', ['x'], '[0]'],
    ['an unknown key', [{ ...ok, cluster: 'prod' }], '[0].cluster'],
    ['no name', [{ ...ok, name: undefined }], '[0].name'],
    ['a duplicate name', [ok, ok], '[1].name'],
    ['neither role nor permission set', [{ name: 'g', accounts: ['*'] }], '[0]'],
    ['both role and permission set', [{ ...ok, permissionSet: 'P' }], '[0]'],
    [
      'a role ARN with a path',
      [{ ...ok, roleArn: 'arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/X' }],
      '[0].roleArn',
    ],
    ['a user ARN', [{ ...ok, roleArn: 'arn:aws:iam::111111111111:user/alice' }], '[0].roleArn'],
    ['an assumed-role ARN', [{ ...ok, roleArn: 'arn:aws:sts::111111111111:assumed-role/A/s' }], '[0].roleArn'],
    ['a short account in the role ARN', [{ ...ok, roleArn: 'arn:aws:iam::1111:role/A' }], '[0].roleArn'],
    ['an unknown partition', [{ ...ok, roleArn: 'arn:aws-moon:iam::111111111111:role/A' }], '[0].roleArn'],
    ['a bad permission set name', [{ name: 'g', permissionSet: 'has space', accounts: ['*'] }], '[0].permissionSet'],
    ['callerAccounts with a role ARN', [{ ...ok, callerAccounts: ['111111111111'] }], '[0].callerAccounts'],
    ['no accounts', [{ ...ok, accounts: undefined }], '[0].accounts'],
    ['an empty account list', [{ ...ok, accounts: [] }], '[0].accounts'],
    ['a numeric account', [{ ...ok, accounts: [222222222222] }], '[0].accounts[0]'],
    ['a bad cluster pattern', [{ ...ok, clusters: ['prod/eu'] }], '[0].clusters[0]'],
    ['too many grants', Array.from({ length: 51 }, (_, i) => ({ ...ok, name: `g${i}` })), 'queryAccess'],
  ])('refuses %s, naming the field', (_kind, input, path) => {
    const r = parseQueryAccessPolicy(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues.map((i) => i.code)).toEqual(r.issues.map(() => 'QUERY_ACCESS'));
      expect(r.issues.map((i) => i.path)).toContain(path);
    }
  });

  it('reports every problem of every grant at once', () => {
    const r = parseQueryAccessPolicy([
      { name: '', accounts: [] },
      { ...ok, clusters: [''] },
    ]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toEqual(['[0].name', '[0]', '[0].accounts', '[1].clusters[0]']);
  });

  it('never throws, whatever JSON it is given', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = parseQueryAccessPolicy(v);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(fc.anything(), (v) => {
        expect(typeof callerFromAuthorizer(v).ok).toBe('boolean');
      }),
    );
  });
});

describe('auditFilters', () => {
  it('keeps the parameters as asked, kebab-case, notes a cursor without its value and bounds long values', () => {
    expect(
      auditFilters({
        cluster: 'prod',
        k8sUser: 'alice',
        limit: 5,
        cursor: 'eyJzIjo1fQ',
        empty: '',
        principal: 'a'.repeat(300),
      }),
    ).toEqual({
      cluster: 'prod',
      'k8s-user': 'alice',
      limit: '5',
      cursor: '(continued)',
      principal: `${'a'.repeat(256)}…`,
    });
  });
});
