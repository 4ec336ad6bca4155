import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeReason, parseAuthorizationReason, splitNameNamespace } from '../../../lib/authz/reason.js';
import { annotationsOf, fixtureJson, pantherLog } from '../chain/fixtures.js';

const DECISION = 'authorization.k8s.io/decision';
const REASON = 'authorization.k8s.io/reason';

const parseAnnotations = (a: Record<string, string>) => parseAuthorizationReason(a[DECISION], a[REASON]);

describe('parseAuthorizationReason on real annotations', () => {
  it('reads the EKS access-policy allow of the kiempossible SSO event', () => {
    const event = fixtureJson<{ annotations: Record<string, string> }>('kiempossible-access-policy-allow.json');
    expect(parseAnnotations(event.annotations)).toEqual({
      ok: true,
      value: {
        kind: 'access-policy-allow',
        principalArn: 'arn:aws:iam::211125685544:role/sso_admin',
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
        principalId: 'AROATCKASJUUBCXRRKSFT',
        bindingKind: 'ClusterRoleBinding',
      },
    });
  });

  it('reads a RoleBinding grant, splitting the binding name from its namespace', () => {
    const event = fixtureJson<{ annotations: Record<string, string> }>('non-eks-rolebinding-allow.json');
    expect(parseAnnotations(event.annotations)).toEqual({
      ok: true,
      value: {
        kind: 'rbac-allow',
        binding: { kind: 'RoleBinding', name: 'mayor-user-binding', namespace: 'wareville' },
        role: { kind: 'Role', name: 'mayor-user' },
        subject: { kind: 'User', name: 'mayor-malware' },
        legacy: false,
      },
    });
  });

  it('reads the eks:addon-manager RoleBinding in kube-system (panther)', () => {
    const r = parseAnnotations(annotationsOf(pantherLog('eks:addon-manager from public ip as lambda')));
    expect(r).toEqual({
      ok: true,
      value: {
        kind: 'rbac-allow',
        binding: { kind: 'RoleBinding', name: 'eks:addon-manager', namespace: 'kube-system' },
        role: { kind: 'Role', name: 'eks:addon-manager' },
        subject: { kind: 'User', name: 'eks:addon-manager' },
        legacy: false,
      },
    });
  });

  it('splits a ServiceAccount subject into name and namespace (coredns)', () => {
    const r = parseAnnotations(annotationsOf(pantherLog('403 and Private IP')));
    expect(r.ok && r.value.kind === 'rbac-allow' && r.value.subject).toEqual({
      kind: 'ServiceAccount',
      name: 'coredns',
      namespace: 'kube-system',
    });
  });

  it('reads a Group subject (system:unauthenticated via public-info-viewer)', () => {
    const r = parseAnnotations(annotationsOf(pantherLog('Anonymous API Access Web Scanner Allowed')));
    expect(r.ok && r.value.kind === 'rbac-allow' && r.value.subject).toEqual({
      kind: 'Group',
      name: 'system:unauthenticated',
    });
  });

  it('reads the empty allow reason of kubernetes-admin as an allow that names no grant', () => {
    expect(parseAnnotations(annotationsOf(pantherLog('Not 403')))).toEqual({
      ok: true,
      value: { kind: 'privileged-allow' },
    });
  });

  it('reads a forbid with an empty reason as "no opinion" (workshop kube-scheduler 403)', () => {
    const event = fixtureJson<{ annotations: Record<string, string> }>('workshop-forbid-kube-scheduler-2023.json');
    expect(parseAnnotations(event.annotations)).toEqual({ ok: true, value: { kind: 'forbid', reasons: [] } });
  });
});

describe('parseAuthorizationReason grammar variants', () => {
  it.each([
    [
      'legacy unquoted binding',
      'allow',
      'RBAC: allowed by ClusterRoleBinding system:public-info-viewer',
      {
        kind: 'rbac-allow',
        binding: { kind: 'ClusterRoleBinding', name: 'system:public-info-viewer' },
        legacy: true,
      },
    ],
    [
      'legacy form with no name at all',
      'allow',
      'RBAC: allowed by ClusterRoleBinding',
      { kind: 'rbac-allow', binding: { kind: 'ClusterRoleBinding', name: '' }, legacy: true },
    ],
    [
      'Go escapes inside quotes',
      'allow',
      'RBAC: allowed by ClusterRoleBinding "we\\"ird\\\\name\\u00e9" of ClusterRole "r\\x41" to User "a\\tb"',
      {
        kind: 'rbac-allow',
        binding: { kind: 'ClusterRoleBinding', name: 'we"ird\\nameé' },
        role: { kind: 'ClusterRole', name: 'rA' },
        subject: { kind: 'User', name: 'a\tb' },
        legacy: false,
      },
    ],
    [
      'RoleBinding referencing a ClusterRole',
      'allow',
      'RBAC: allowed by RoleBinding "view-all/dev" of ClusterRole "view" to Group "devs"',
      {
        kind: 'rbac-allow',
        binding: { kind: 'RoleBinding', name: 'view-all', namespace: 'dev' },
        role: { kind: 'ClusterRole', name: 'view' },
        subject: { kind: 'Group', name: 'devs' },
        legacy: false,
      },
    ],
    [
      'ServiceAccount subject of a ClusterRoleBinding without namespace (RBAC writes "sa/")',
      'allow',
      'RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to ServiceAccount "builder/"',
      {
        kind: 'rbac-allow',
        binding: { kind: 'ClusterRoleBinding', name: 'x' },
        role: { kind: 'ClusterRole', name: 'y' },
        subject: { kind: 'ServiceAccount', name: 'builder' },
        legacy: false,
      },
    ],
    [
      'namespace-scoped access policy (guessed RoleBinding form)',
      'allow',
      'EKS Access Policy: allowed by RoleBinding "arn:aws:iam::111122223333:role/dev+arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy/team-a" of ClusterRole "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy" to User "AROAEXAMPLE"',
      {
        kind: 'access-policy-allow',
        principalArn: 'arn:aws:iam::111122223333:role/dev',
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy',
        namespace: 'team-a',
        principalId: 'AROAEXAMPLE',
        bindingKind: 'RoleBinding',
      },
    ],
    [
      'principal ARN containing "+" (allowed in IAM names)',
      'allow',
      'EKS Access Policy: allowed by ClusterRoleBinding "arn:aws:iam::111122223333:role/a+b+arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy" of ClusterRole "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy" to User "AROAX"',
      {
        kind: 'access-policy-allow',
        principalArn: 'arn:aws:iam::111122223333:role/a+b',
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
        principalId: 'AROAX',
        bindingKind: 'ClusterRoleBinding',
      },
    ],
    [
      'forbid joined reasons',
      'forbid',
      'webhook: no\nother: nope',
      { kind: 'forbid', reasons: ['webhook: no', 'other: nope'] },
    ],
    [
      'forbid with aggregated RBAC errors',
      'forbid',
      'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "x" not found]',
      {
        kind: 'rbac-errors',
        errors: [
          'clusterrole.rbac.authorization.k8s.io "gone" not found',
          'role.rbac.authorization.k8s.io "x" not found',
        ],
      },
    ],
    [
      'forbid with one RBAC error and another authorizer reason',
      'forbid',
      'RBAC: role.rbac.authorization.k8s.io "x" not found\nEKS: denied',
      { kind: 'rbac-errors', errors: ['role.rbac.authorization.k8s.io "x" not found'], otherReasons: ['EKS: denied'] },
    ],
    ['authorizer internal error (reason only)', undefined, 'internal error', { kind: 'internal-error' }],
    [
      'unknown allow text',
      'allow',
      'Node: allowed because it is a node',
      { kind: 'other', text: 'Node: allowed because it is a node' },
    ],
    [
      'unknown binding kind',
      'allow',
      'RBAC: allowed by SomethingElse "x"',
      { kind: 'other', text: 'RBAC: allowed by SomethingElse "x"' },
    ],
    ['no annotations at all', undefined, undefined, { kind: 'other', text: '' }],
    [
      'reason without a decision is still recognised',
      undefined,
      'RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "b" to User "c"',
      {
        kind: 'rbac-allow',
        binding: { kind: 'ClusterRoleBinding', name: 'a' },
        role: { kind: 'ClusterRole', name: 'b' },
        subject: { kind: 'User', name: 'c' },
        legacy: false,
      },
    ],
  ] as const)('%s', (_name, decision, reason, expected) => {
    expect(parseAuthorizationReason(decision, reason)).toEqual({ ok: true, value: expected });
  });
});

describe('parseAuthorizationReason rejects broken quoting', () => {
  it.each([
    ['unbalanced quotes', 'RBAC: allowed by ClusterRoleBinding "abc of ClusterRole "x" to User "u"'],
    ['unterminated subject', 'RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "x" to User "u'],
    ['bad escape', 'RBAC: allowed by ClusterRoleBinding "a\\q" of ClusterRole "x" to User "u"'],
    ['truncated hex escape', 'RBAC: allowed by RoleBinding "a/b" of Role "\\x4" to User "u"'],
    [
      'unterminated access-policy binding',
      'EKS Access Policy: allowed by ClusterRoleBinding "arn:aws:iam::1:role/x+arn',
    ],
    ['dangling backslash', 'RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "b" to User "\\'],
  ])('%s', (_name, reason) => {
    const r = parseAuthorizationReason('allow', reason);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe('REASON_GRAMMAR');
      expect(r.raw).toContain(reason);
    }
  });
});

describe('splitNameNamespace', () => {
  it.each([
    ['a/b', { name: 'a', namespace: 'b' }],
    ['a', { name: 'a' }],
    ['a/', { name: 'a' }],
    ['a/b/c', { name: 'a/b', namespace: 'c' }],
  ])('%s', (input, expected) => {
    expect(splitNameNamespace(input)).toEqual(expected);
  });
});

describe('describeReason', () => {
  it('names binding, role and subject of an RBAC grant', () => {
    const r = parseAuthorizationReason(
      'allow',
      'RBAC: allowed by RoleBinding "mayor-user-binding/wareville" of Role "mayor-user" to User "mayor-malware"',
    );
    expect(r.ok && describeReason(r.value)).toBe(
      'RBAC RoleBinding mayor-user-binding (namespace wareville) of Role mayor-user to User mayor-malware',
    );
  });
});

describe('parseAuthorizationReason is total', () => {
  it('never throws, for any decision and reason', () => {
    fc.assert(
      fc.property(fc.option(fc.string()), fc.option(fc.string()), (d, r) => {
        const res = parseAuthorizationReason(d ?? undefined, r ?? undefined);
        expect(typeof res.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on reason-shaped text built from grammar fragments', () => {
    const frag = fc.constantFrom(
      'RBAC: allowed by ',
      'EKS Access Policy: allowed by ',
      'ClusterRoleBinding ',
      'RoleBinding ',
      ' of ',
      'ClusterRole ',
      'Role ',
      ' to ',
      'User ',
      'ServiceAccount ',
      '"',
      '\\',
      '\\x',
      '\\u12',
      '/',
      '+arn:',
      'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
      'x',
      '\n',
    );
    fc.assert(
      fc.property(fc.constantFrom('allow', 'forbid', undefined), fc.array(frag, { maxLength: 14 }), (d, parts) => {
        const res = parseAuthorizationReason(d, parts.join(''));
        expect(typeof res.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});
