import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { awsAuthRawData, diffAwsAuth, parseAwsAuth, rowCanMatch } from '../../../lib/identity/aws-auth.js';
import type { AwsAuthConfig } from '../../../lib/identity/types.js';

const text = (name: string) => readFileSync(new URL(`../../fixtures/identity/${name}`, import.meta.url), 'utf8');
const stratus = JSON.parse(text('stratus-backdoor-aws-auth-audit-excerpt.json')) as { requestObject: unknown };

const parsed = (input: unknown): AwsAuthConfig => {
  const r = parseAwsAuth(input);
  if (!r.ok) throw new Error(`expected ok: ${JSON.stringify(r.issues)}`);
  return r.value;
};

const NODE_ROLE = 'arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6';

describe('parseAwsAuth on the authenticator fixtures', () => {
  it.each([['aws-auth.yaml'], ['aws-auth-crazy-case-keys.yaml'], ['aws-auth-open-source-case-keys.yaml']])(
    'reads %s the same way whatever the key case',
    (file) => {
      const config = parsed(text(file));
      expect(config).toEqual({
        roles: [
          {
            kind: 'role',
            arn: NODE_ROLE,
            matchKey: NODE_ROLE.toLowerCase(),
            username: 'system:node:{{EC2PrivateDNSName}}',
            groups: ['system:bootstrappers', 'system:nodes'],
            flags: [],
            index: 0,
          },
        ],
        users: [
          {
            kind: 'user',
            arn: 'arn:aws:iam::555555555555:user/admin',
            matchKey: 'arn:aws:iam::555555555555:user/admin',
            username: 'admin',
            groups: ['system:masters'],
            flags: [],
            index: 0,
          },
        ],
        accounts: ['555555555555'],
        parseable: true,
        problems: [],
      });
    },
  );

  it('accepts the same ConfigMap as an object, as its data map and as JSON text', () => {
    const fromYaml = parsed(text('aws-auth.yaml'));
    const object = parseYaml(text('aws-auth.yaml')) as { data: unknown };
    expect(parsed(object)).toEqual(fromYaml);
    expect(parsed(object.data)).toEqual(fromYaml);
    expect(parsed(JSON.stringify(object))).toEqual(fromYaml);
    expect(parsed(Buffer.from(text('aws-auth.yaml')))).toEqual(fromYaml);
  });

  it('finds aws-auth inside a List and in a multi-document file', () => {
    const object = parseYaml(text('aws-auth.yaml'));
    const other = { kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: {} };
    expect(parsed({ kind: 'List', apiVersion: 'v1', items: [other, object] }).users).toHaveLength(1);
    const multi = `kind: ConfigMap\nmetadata:\n  name: coredns\n---\n${text('aws-auth.yaml')}`;
    expect(parsed(multi).roles).toHaveLength(1);
  });
});

describe('parseAwsAuth on the Stratus backdoor audit body', () => {
  it('reads the three mapRoles rows, templates kept verbatim', () => {
    const config = parsed(stratus.requestObject);
    expect(config.roles.map((r) => [r.arn, r.username, r.groups])).toEqual([
      ['arn:aws:iam::012345678901:role/account-admin', 'cluster-admin-{{SessionName}}', ['system:masters']],
      [
        'arn:aws:iam::012345678901:role/eksctl-cluser-NodeInstanceRole',
        'system:node:{{EC2PrivateDNSName}}',
        ['system:bootstrappers', 'system:nodes'],
      ],
      ['arn:aws:iam::012345678901:role/stratus-red-team-eks-backdoor-aws-auth-role', 'backdoor', ['system:masters']],
    ]);
    expect(config.users).toEqual([]);
    expect(config.accounts).toEqual([]);
    expect(config.parseable).toBe(true);
    expect(awsAuthRawData(stratus.requestObject)).toEqual({
      mapRoles: (stratus.requestObject as { data: { mapRoles: string } }).data.mapRoles,
    });
  });
});

const cm = (data: Record<string, unknown>) => ({
  kind: 'ConfigMap',
  apiVersion: 'v1',
  metadata: { name: 'aws-auth', namespace: 'kube-system' },
  data,
});

describe('row flags', () => {
  it('flags a rolearn with a path: the authenticator never canonicalises it (containers-roadmap#185)', () => {
    const config = parsed(
      cm({
        mapRoles:
          '- rolearn: arn:aws:iam::476264531111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_devops_admin_595c0f4da82205f0\n  username: sso\n',
      }),
    );
    expect(config.roles[0]?.flags).toEqual(['path-never-matches']);
    expect(rowCanMatch(config.roles[0]!)).toBe(false);
  });

  it('flags an assumed-role STS ARN in mapUsers or mapRoles', () => {
    const config = parsed(
      cm({
        mapUsers: '- userarn: arn:aws:sts::111122223333:assumed-role/Admin/alice\n  username: alice\n',
        mapRoles: '- rolearn: arn:aws:sts::111122223333:assumed-role/Admin/alice\n',
      }),
    );
    expect(config.users[0]?.flags).toEqual(['sts-arn-never-matches']);
    expect(config.roles[0]?.flags).toEqual(['sts-arn-never-matches']);
  });

  it('does not flag a federated-user ARN, which stays an sts ARN when canonical', () => {
    const config = parsed(cm({ mapUsers: '- userarn: arn:aws:sts::111122223333:federated-user/Bob\n' }));
    expect(config.users[0]?.flags).toEqual([]);
  });

  it('lets the LAST of two case-insensitively equal rolearns win', () => {
    const config = parsed(
      cm({
        mapRoles:
          '- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: first\n- rolearn: arn:aws:iam::111122223333:role/ADMIN\n  username: second\n',
      }),
    );
    expect(config.roles.map((r) => r.flags)).toEqual([['shadowed-duplicate'], []]);
    expect(config.roles[1]?.username).toBe('second');
  });

  it('keys users by the raw userarn: exact duplicates shadow, case variants are ambiguous', () => {
    const config = parsed(
      cm({
        mapUsers: [
          '- userarn: arn:aws:iam::111122223333:user/alice\n  username: a1',
          '- userarn: arn:aws:iam::111122223333:user/alice\n  username: a2',
          '- userarn: arn:aws:iam::111122223333:user/Alice\n  username: a3',
        ].join('\n'),
      }),
    );
    expect(config.users.map((r) => r.flags)).toEqual([
      ['shadowed-duplicate'],
      ['case-ambiguous-duplicate'],
      ['case-ambiguous-duplicate'],
    ]);
  });

  it.each([
    ['garbage', 'not-an-arn'],
    ['an unknown partition', 'arn:aws-mars:iam::111122223333:role/R'],
    ['an empty rolearn', "''"],
  ])('flags %s as invalid-arn', (_kind, arn) => {
    const config = parsed(cm({ mapRoles: `- rolearn: ${arn}\n  username: x\n` }));
    expect(config.roles[0]?.flags).toContain('invalid-arn');
  });

  it('keeps a row without any ARN key, flagged invalid (e.g. an sso: row)', () => {
    const config = parsed(cm({ mapRoles: '- sso:\n    permissionSetName: Admin\n  username: x\n' }));
    expect(config.roles[0]).toMatchObject({ arn: '', flags: ['invalid-arn'] });
  });

  it('keeps numbers and booleans as text, as the authenticator reads them into strings', () => {
    const config = parsed(
      cm({
        mapAccounts: '- 012345678901\n- "111122223333"\n',
        mapUsers: '- userarn: arn:aws:iam::1:user/u\n  username: yes\n',
      }),
    );
    expect(config.accounts).toEqual(['012345678901', '111122223333']);
    expect(config.users[0]?.username).toBe('yes');
  });
});

describe('partial parses (lockout risk)', () => {
  it('reads only the first YAML document of a key, as the Go decoder does', () => {
    const config = parsed(
      cm({ mapUsers: '- userarn: arn:aws:iam::1:user/a\n---\n- userarn: arn:aws:iam::1:user/b\n' }),
    );
    expect(config.users.map((u) => u.arn)).toEqual(['arn:aws:iam::1:user/a']);
    expect(config.parseable).toBe(true);
  });

  it.each([
    ['mapRoles is not YAML', { mapRoles: '- rolearn: [', mapUsers: '- userarn: arn:aws:iam::1:user/u\n' }, 'mapRoles'],
    [
      'mapRoles is a mapping',
      { mapRoles: 'rolearn: arn:aws:iam::1:role/R', mapUsers: '- userarn: arn:aws:iam::1:user/u\n' },
      'mapRoles',
    ],
    [
      'mapRoles has a scalar item',
      { mapRoles: '- just-a-string', mapUsers: '- userarn: arn:aws:iam::1:user/u\n' },
      'mapRoles',
    ],
    [
      'groups is a string',
      {
        mapRoles: '- rolearn: arn:aws:iam::1:role/R\n  groups: system:masters',
        mapUsers: '- userarn: arn:aws:iam::1:user/u\n',
      },
      'mapRoles',
    ],
    [
      'username is a list',
      { mapRoles: '- rolearn: arn:aws:iam::1:role/R\n  username: [a]', mapUsers: '- userarn: arn:aws:iam::1:user/u\n' },
      'mapRoles',
    ],
    ['mapRoles is not a string', { mapRoles: 42, mapUsers: '- userarn: arn:aws:iam::1:user/u\n' }, 'mapRoles'],
    [
      'mapAccounts holds a mapping',
      { mapAccounts: '- a: b', mapUsers: '- userarn: arn:aws:iam::1:user/u\n' },
      'mapAccounts',
    ],
  ])('keeps the good keys when %s', (_kind, data, badKey) => {
    const config = parsed(cm(data));
    expect(config.parseable).toBe(false);
    expect(config.problems.map((p) => p.key)).toContain(badKey);
    expect(config.users.map((u) => u.arn)).toEqual(['arn:aws:iam::1:user/u']);
  });

  it('treats empty or null keys as empty, without a problem', () => {
    const config = parsed(cm({ mapRoles: '', mapUsers: 'null', mapAccounts: '~' }));
    expect(config).toMatchObject({ roles: [], users: [], accounts: [], parseable: true });
    expect(parsed({ kind: 'ConfigMap', metadata: { name: 'aws-auth' } })).toMatchObject({ roles: [], parseable: true });
  });
});

describe('inputs that are not aws-auth', () => {
  it.each([
    ['a Status object', { kind: 'Status', status: 'Success' }, 'AWS_AUTH_NOT_CONFIGMAP'],
    [
      'another ConfigMap',
      { kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: {} },
      'AWS_AUTH_NOT_CONFIGMAP',
    ],
    [
      'aws-auth in another namespace',
      { kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'default' } },
      'AWS_AUTH_NOT_CONFIGMAP',
    ],
    [
      'a ConfigMap whose data is a list',
      { kind: 'ConfigMap', metadata: { name: 'aws-auth' }, data: [] },
      'AWS_AUTH_NOT_CONFIGMAP',
    ],
    ['an empty object', {}, 'AWS_AUTH_NOT_CONFIGMAP'],
    ['null', null, 'AWS_AUTH_NOT_CONFIGMAP'],
    ['a number', 7, 'AWS_AUTH_NOT_CONFIGMAP'],
    ['empty text', '   ', 'AWS_AUTH_NOT_CONFIGMAP'],
    ['a YAML scalar', 'hello', 'AWS_AUTH_NOT_CONFIGMAP'],
    ['broken YAML', 'kind: ConfigMap\ndata: [', 'AWS_AUTH_YAML'],
    ['a List without aws-auth', { kind: 'List', items: [{ kind: 'Pod' }] }, 'AWS_AUTH_NOT_CONFIGMAP'],
  ])('rejects %s with %s', (_kind, input, code) => {
    const r = parseAwsAuth(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe(code);
      expect(typeof r.raw).toBe('string');
    }
  });

  it('survives an object whose getters throw', () => {
    const hostile = Object.defineProperty({}, 'data', {
      get() {
        throw new Error('boom');
      },
      enumerable: true,
    });
    expect(parseAwsAuth(hostile).ok).toBe(false);
  });
});

describe('parseAwsAuth never throws', () => {
  it('on any JSON-like value', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const r = parseAwsAuth(input);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  it('on any text, and on any data strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (t, roles, users, accounts) => {
        expect(typeof parseAwsAuth(t).ok).toBe('boolean');
        const r = parseAwsAuth({ mapRoles: roles, mapUsers: users, mapAccounts: accounts });
        expect(r.ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('on YAML-ish fragments', () => {
    const token = fc.constantFrom(
      '- ',
      'rolearn: ',
      'groups:',
      '\n',
      '  ',
      '[',
      ']',
      '{',
      '}',
      '"',
      "'",
      '&a ',
      '*a',
      'x',
      ':',
      '|',
      '>',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (parts) => {
        const r = parseAwsAuth({ mapRoles: parts.join('') });
        expect(r.ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('diffAwsAuth', () => {
  const before = parsed(stratus.requestObject);

  it('reports the Stratus backdoor row as added against the config without it', () => {
    const data = (stratus.requestObject as { data: { mapRoles: string } }).data.mapRoles;
    const withoutBackdoor = parsed(cm({ mapRoles: data.split('- groups:').slice(0, 3).join('- groups:') }));
    const diff = diffAwsAuth(withoutBackdoor, before);
    expect(diff.added.map((r) => r.username)).toEqual(['backdoor']);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toEqual([]);
    expect(diff.empty).toBe(false);
  });

  it('reports changed username and groups by kind and matchKey, and account changes', () => {
    const after = parsed(
      cm({
        mapRoles: [
          '- rolearn: arn:aws:iam::012345678901:role/ACCOUNT-ADMIN',
          '  username: cluster-admin-{{SessionName}}',
          '  groups: [system:masters, ops]',
          '- rolearn: arn:aws:iam::012345678901:role/eksctl-cluser-NodeInstanceRole',
          '  username: system:node:{{EC2PrivateDNSName}}',
          '  groups: [system:bootstrappers, system:nodes]',
        ].join('\n'),
        mapAccounts: '- "012345678901"',
      }),
    );
    const diff = diffAwsAuth(before, after);
    expect(diff.changed).toHaveLength(1);
    expect(diff.changed[0]).toMatchObject({
      kind: 'role',
      matchKey: 'arn:aws:iam::012345678901:role/account-admin',
      fields: ['arn', 'groups'],
    });
    expect(diff.removed.map((r) => r.username)).toEqual(['backdoor']);
    expect(diff.accountsAdded).toEqual(['012345678901']);
    expect(diff.accountsRemoved).toEqual([]);
  });

  it('treats a missing or deleted side as empty and notices a config turning unparseable', () => {
    expect(diffAwsAuth(undefined, before).added).toHaveLength(3);
    expect(diffAwsAuth(before, null).removed).toHaveLength(3);
    const broken = parsed(cm({ mapRoles: '- rolearn: [' }));
    const diff = diffAwsAuth(before, broken);
    expect(diff.becameUnparseable).toBe(true);
    expect(diff.removed).toHaveLength(3);
  });

  it('is empty between a config and itself, however it was written', () => {
    const yaml = parsed(text('aws-auth.yaml'));
    const crazy = parsed(text('aws-auth-crazy-case-keys.yaml'));
    expect(diffAwsAuth(yaml, crazy)).toMatchObject({ empty: true, added: [], removed: [], changed: [] });
  });

  it('compares the effective row when a duplicate shadows another', () => {
    const one = parsed(cm({ mapRoles: '- rolearn: arn:aws:iam::1:role/R\n  username: a\n' }));
    const two = parsed(
      cm({
        mapRoles: '- rolearn: arn:aws:iam::1:role/R\n  username: a\n- rolearn: arn:aws:iam::1:role/r\n  username: b\n',
      }),
    );
    const diff = diffAwsAuth(one, two);
    expect(diff.changed[0]?.fields).toEqual(['arn', 'username']);
  });
});
