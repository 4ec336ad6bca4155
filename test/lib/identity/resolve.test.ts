import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import { MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import { resolveMapping } from '../../../lib/identity/resolve.js';
import type {
  AccessEntry,
  AwsAuthConfig,
  ClusterCreator,
  ClusterMappingState,
  MappingActor,
} from '../../../lib/identity/types.js';
import type { AuthenticationMode } from '../../../lib/sources/types.js';

const json = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/identity/${name}`, import.meta.url), 'utf8'));
const ADMIN = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';
const ACTOR: MappingActor = { aws: { type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/ops/alice' } };

const config = (data: Record<string, string>): AwsAuthConfig => {
  const r = parseAwsAuth(data);
  if (!r.ok) throw new Error('bad config');
  return r.value;
};
const stratusConfig = (): AwsAuthConfig => {
  const r = parseAwsAuth(json('stratus-backdoor-aws-auth-audit-excerpt.json').requestObject);
  if (!r.ok) throw new Error('fixture');
  return r.value;
};

const entry = (
  principalArn: string,
  over: Partial<AccessEntry> = {},
): AccessEntry & { since: string; actor: MappingActor; sourceEventId: string } => ({
  principalArn,
  matchKey: principalArn.toLowerCase(),
  type: 'STANDARD',
  kubernetesGroups: [],
  policies: [],
  since: '2024-01-01T00:00:00.000Z',
  actor: ACTOR,
  sourceEventId: 'ct-entry',
  ...over,
});

const state = (opts: {
  mode?: AuthenticationMode;
  entries?: ReturnType<typeof entry>[];
  awsAuth?: AwsAuthConfig | null;
  creator?: ClusterCreator;
}): ClusterMappingState => {
  const s: ClusterMappingState = {
    cluster: 'c',
    at: '2024-06-01T00:00:00.000Z',
    authModeKnown: opts.mode !== undefined,
    accessEntries: new Map((opts.entries ?? []).map((e) => [e.matchKey, e])),
    deleted: false,
  };
  if (opts.mode) s.authMode = opts.mode;
  if (opts.awsAuth !== undefined) {
    s.awsAuth =
      opts.awsAuth === null
        ? null
        : {
            config: opts.awsAuth,
            since: '2024-02-01T00:00:00.000Z',
            actor: { k8sUsername: 'kubernetes-admin' },
            sourceEventId: 'audit-1',
          };
  }
  if (opts.creator) s.creator = { ...opts.creator, since: '2023-01-01T00:00:00.000Z', sourceEventId: 'ct-create' };
  return s;
};

// KIEMPossible: SSO role sso_admin admitted by an access entry with AmazonEKSClusterAdminPolicy.
const kiem = json('kiempossible-eks-audit-access-policy-allow.json');
const kiemWho = {
  canonicalArn: kiem.user.extra.canonicalArn[0],
  principalId: kiem.user.extra.principalId[0],
  sessionName: kiem.user.extra.sessionName[0],
  accessKeyId: kiem.user.extra.accessKeyId[0],
};
const kiemObserved = { username: kiem.user.username, groups: kiem.user.groups };
const SSO_ROLE = 'arn:aws:iam::211125685544:role/sso_admin';
const kiemEntry = () =>
  entry(SSO_ROLE, {
    principalId: 'AROATCKASJUUBCXRRKSFT',
    policies: [{ policyArn: ADMIN, scope: { type: 'cluster', namespaces: [] } }],
  });

describe('access entries', () => {
  it('resolves the KIEMPossible request to its access entry and the observed username', () => {
    const r = resolveMapping(state({ mode: 'API_AND_CONFIG_MAP', entries: [kiemEntry()] }), kiemWho, kiemObserved);
    expect(r).toMatchObject({
      source: 'access-entry',
      username: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
      groups: [],
      policies: [{ policyArn: ADMIN }],
      since: '2024-01-01T00:00:00.000Z',
      sourceEventId: 'ct-entry',
      shadowed: [],
    });
    expect(r.accessEntry?.principalArn).toBe(SSO_ROLE);
    expect(r.why).not.toContain('differ');
  });

  it('wins over an aws-auth row for the same principal in API_AND_CONFIG_MAP', () => {
    const awsAuth = config({ mapRoles: `- rolearn: ${SSO_ROLE}\n  username: legacy\n  groups: [system:masters]\n` });
    const r = resolveMapping(state({ mode: 'API_AND_CONFIG_MAP', entries: [kiemEntry()], awsAuth }), kiemWho);
    expect(r.source).toBe('access-entry');
    expect(r.shadowed).toEqual([{ source: 'aws-auth-role', why: expect.stringContaining('takes precedence') }]);
  });

  it('matches an entry created with a path by the path-less session (containers-roadmap#185)', () => {
    const e = entry('arn:aws:iam::012345678910:role/teams/tooling/devToolingOperator', {
      matchKey: 'arn:aws:iam::012345678910:role/devtoolingoperator',
    });
    const r = resolveMapping(state({ mode: 'API', entries: [e] }), {
      canonicalArn: 'arn:aws:sts::012345678910:assumed-role/devToolingOperator/alice@example.com',
      sessionName: 'alice@example.com',
    });
    expect(r.source).toBe('access-entry');
    expect(r.username).toBe('arn:aws:sts::012345678910:assumed-role/devToolingOperator/alice-example.com');
  });

  it('gives a node entry the system:nodes group and marks its DNS name unresolved', () => {
    const e = entry('arn:aws:iam::111122223333:role/admin-test-ip', { type: 'EC2_LINUX' });
    const r = resolveMapping(state({ mode: 'API', entries: [e] }), {
      canonicalArn: 'arn:aws:iam::111122223333:role/admin-test-ip',
      sessionName: 'i-0123456789abcdef0',
    });
    expect(r).toMatchObject({
      source: 'access-entry',
      username: 'system:node:{{EC2PrivateDNSName}}',
      groups: ['system:nodes'],
    });
    expect(r.why).toContain('cannot be resolved offline');
  });

  it('does not match a recreated principal (new principal id), and says so', () => {
    const r = resolveMapping(state({ mode: 'API', entries: [kiemEntry()] }), {
      ...kiemWho,
      principalId: 'AROANEWROLEID',
    });
    expect(r.source).toBe('unmapped');
    expect(r.why).toContain('deleted and recreated');
  });

  it('lets the aws-auth row re-admit a recreated role in API_AND_CONFIG_MAP (aws-auth binds the ARN string)', () => {
    const awsAuth = config({
      mapRoles: `- rolearn: ${SSO_ROLE}\n  username: legacy:{{SessionName}}\n  groups: [ops]\n`,
    });
    const r = resolveMapping(state({ mode: 'API_AND_CONFIG_MAP', entries: [kiemEntry()], awsAuth }), {
      ...kiemWho,
      principalId: 'AROANEWROLEID',
    });
    expect(r).toMatchObject({
      source: 'aws-auth-role',
      username: 'legacy:gomyers-paloaltonetworks.com',
      groups: ['ops'],
    });
    expect(r.why).toContain('deleted and recreated');
  });

  it('notes an unchecked binding when the request carries no principal id (2022-era extra)', () => {
    const r = resolveMapping(state({ mode: 'API', entries: [kiemEntry()] }), {
      canonicalArn: SSO_ROLE,
      sessionName: 's',
    });
    expect(r.source).toBe('access-entry');
    expect(r.why).toContain('unchecked');
  });

  it('ignores access entries in CONFIG_MAP mode but lists them as shadowed', () => {
    const r = resolveMapping(state({ mode: 'CONFIG_MAP', entries: [kiemEntry()] }), kiemWho);
    expect(r.source).toBe('unmapped');
    expect(r.shadowed).toEqual([{ source: 'access-entry', why: expect.stringContaining('ignored in CONFIG_MAP') }]);
  });
});

describe('aws-auth', () => {
  const backdoorWho = {
    canonicalArn: 'arn:aws:sts::012345678901:assumed-role/stratus-red-team-eks-backdoor-aws-auth-role/attacker',
    sessionName: 'attacker',
  };

  it('resolves the Stratus backdoor role to its system:masters row', () => {
    const r = resolveMapping(state({ mode: 'CONFIG_MAP', awsAuth: stratusConfig() }), backdoorWho);
    expect(r).toMatchObject({
      source: 'aws-auth-role',
      username: 'backdoor',
      groups: ['system:masters'],
      sourceEventId: 'audit-1',
    });
    expect(r.awsAuthRow?.index).toBe(2);
  });

  it('ignores aws-auth in API mode', () => {
    const r = resolveMapping(state({ mode: 'API', awsAuth: stratusConfig() }), backdoorWho);
    expect(r.source).toBe('unmapped');
    expect(r.shadowed[0]?.why).toContain('ignored in API mode');
  });

  it('matches rolearns case-insensitively and renders {{SessionName}}', () => {
    const r = resolveMapping(state({ mode: 'CONFIG_MAP', awsAuth: stratusConfig() }), {
      canonicalArn: 'arn:aws:iam::012345678901:role/ACCOUNT-ADMIN',
      sessionName: 'jane@example.com',
    });
    expect(r).toMatchObject({ source: 'aws-auth-role', username: 'cluster-admin-jane-example.com' });
  });

  it('renders a node row for an EC2 session and refuses it for a person', () => {
    const awsAuth = stratusConfig();
    const node = resolveMapping(
      state({ mode: 'CONFIG_MAP', awsAuth }),
      {
        canonicalArn: 'arn:aws:iam::012345678901:role/eksctl-cluser-NodeInstanceRole',
        sessionName: 'i-0a1b2c3d4e5f60718',
      },
      {
        username: 'system:node:ip-192-168-12-34.ec2.internal',
        groups: ['system:bootstrappers', 'system:nodes', 'system:authenticated'],
      },
    );
    expect(node).toMatchObject({
      source: 'aws-auth-role',
      username: 'system:node:ip-192-168-12-34.ec2.internal',
      groups: ['system:bootstrappers', 'system:nodes'],
    });
    expect(node.why).not.toContain('differ');
    const person = resolveMapping(state({ mode: 'CONFIG_MAP', awsAuth }), {
      canonicalArn: 'arn:aws:iam::012345678901:role/eksctl-cluser-NodeInstanceRole',
      sessionName: 'mallory',
    });
    expect(person.username).toBeUndefined();
    expect(person.why).toContain('SessionName did not contain an instance id');
  });

  it('consults roles before users, then mapAccounts', () => {
    const awsAuth = config({
      mapRoles: '- rolearn: arn:aws:iam::555555555555:role/R\n  username: from-role\n',
      mapUsers:
        '- userarn: arn:aws:iam::555555555555:role/R\n  username: from-users\n- userarn: arn:aws:iam::555555555555:user/admin\n  username: admin\n  groups: [system:masters]\n',
      mapAccounts: '- 555555555555\n',
    });
    const s = state({ mode: 'CONFIG_MAP', awsAuth });
    const role = resolveMapping(s, { canonicalArn: 'arn:aws:iam::555555555555:role/R', sessionName: 'x' });
    expect(role.source).toBe('aws-auth-role');
    expect(role.shadowed.map((x) => x.source)).toEqual(['aws-auth-user', 'aws-auth-account']);
    const user = resolveMapping(s, { canonicalArn: 'arn:aws:iam::555555555555:user/admin' });
    expect(user).toMatchObject({ source: 'aws-auth-user', username: 'admin', groups: ['system:masters'] });
    const other = resolveMapping(s, { canonicalArn: 'arn:aws:sts::555555555555:assumed-role/Other/s' });
    expect(other).toMatchObject({
      source: 'aws-auth-account',
      username: 'arn:aws:iam::555555555555:role/Other',
      groups: [],
    });
  });

  it('never matches a rolearn with a path, and explains why', () => {
    const awsAuth = config({
      mapRoles:
        '- rolearn: arn:aws:iam::476264531111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_devops_admin_595c0f4da82205f0\n  username: sso\n',
    });
    const r = resolveMapping(state({ mode: 'CONFIG_MAP', awsAuth }), {
      canonicalArn:
        'arn:aws:sts::476264531111:assumed-role/AWSReservedSSO_devops_admin_595c0f4da82205f0/gkan@example.com',
    });
    expect(r.source).toBe('unmapped');
    expect(r.why).toContain('IAM path');
  });

  it('uses the last of duplicate rolearns and explains the shadowed one', () => {
    const awsAuth = config({
      mapRoles:
        '- rolearn: arn:aws:iam::1:role/R\n  username: first\n- rolearn: arn:aws:iam::1:role/r\n  username: second\n',
    });
    const r = resolveMapping(state({ mode: 'CONFIG_MAP', awsAuth }), {
      canonicalArn: 'arn:aws:iam::1:role/R',
      sessionName: 's',
    });
    expect(r.username).toBe('second');
    expect(r.why).toContain('shadowed-duplicate');
  });

  it('lets the observed username pick between users that differ only by case', () => {
    const awsAuth = config({
      mapUsers:
        '- userarn: arn:aws:iam::1:user/alice\n  username: lower\n- userarn: arn:aws:iam::1:user/Alice\n  username: upper\n',
    });
    const r = resolveMapping(
      state({ mode: 'CONFIG_MAP', awsAuth }),
      { canonicalArn: 'arn:aws:iam::1:user/Alice' },
      { username: 'upper' },
    );
    expect(r.username).toBe('upper');
    expect(r.why).toContain('differs from another userarn only by case');
  });

  it('notes a deleted aws-auth and an unparseable one', () => {
    expect(
      resolveMapping(state({ mode: 'CONFIG_MAP', awsAuth: null }), { canonicalArn: 'arn:aws:iam::1:user/u' }).why,
    ).toContain('aws-auth was deleted');
    const broken = config({ mapRoles: '- rolearn: [', mapUsers: '- userarn: arn:aws:iam::1:user/u\n  username: u\n' });
    const r = resolveMapping(state({ mode: 'CONFIG_MAP', awsAuth: broken }), { canonicalArn: 'arn:aws:iam::1:user/u' });
    expect(r.source).toBe('aws-auth-user');
    expect(r.why).toContain('unparseable');
  });
});

describe('cluster creator', () => {
  const creator: ClusterCreator = {
    actor: { type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/creator/bob', principalId: 'AROACREATOR' },
    canonicalArn: 'arn:aws:iam::1:role/creator',
    bootstrapAdmin: true,
  };

  it('admits the creator as kubernetes-admin / system:masters in CONFIG_MAP, before aws-auth', () => {
    const awsAuth = config({ mapRoles: '- rolearn: arn:aws:iam::1:role/creator\n  username: other\n' });
    const r = resolveMapping(state({ mode: 'CONFIG_MAP', awsAuth, creator }), {
      canonicalArn: 'arn:aws:sts::1:assumed-role/creator/bob',
    });
    expect(r).toMatchObject({
      source: 'cluster-creator',
      username: 'kubernetes-admin',
      groups: ['system:masters'],
      sourceEventId: 'ct-create',
    });
    expect(r.shadowed.map((s) => s.source)).toEqual(['aws-auth-role']);
  });

  it('reports the bootstrap access entry as the creator grant in API modes', () => {
    const tl = new MappingTimeline('c', [
      {
        cluster: 'c',
        at: '2024-01-01T00:00:00.000Z',
        sourceEventId: 'ct-create',
        source: 'cloudtrail',
        actor: { aws: creator.actor },
        op: { kind: 'cluster-created', creator, mode: 'API', enabledLogTypes: [] },
      },
    ]);
    const r = resolveMapping(tl.stateAt('2024-02-01T00:00:00Z'), {
      canonicalArn: 'arn:aws:iam::1:role/creator',
      principalId: 'AROACREATOR',
      sessionName: 'bob',
    });
    expect(r).toMatchObject({
      source: 'cluster-creator',
      username: 'arn:aws:sts::1:assumed-role/creator/bob',
      policies: [{ policyArn: ADMIN }],
    });
    expect(r.accessEntry?.bootstrapCreator).toBe(true);
  });

  it('infers the invisible creator grant from an observed kubernetes-admin when the creator is unknown', () => {
    const r = resolveMapping(
      state({}),
      { canonicalArn: 'arn:aws:iam::123456789000:user/testuser' },
      { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
    );
    expect(r).toMatchObject({ source: 'cluster-creator', username: 'kubernetes-admin', groups: ['system:masters'] });
    expect(r.why).toContain('inferred CONFIG_MAP');
  });
});

describe('EKS-internal principals', () => {
  it.each([
    ['arn:aws:iam::927209226484:role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL', 'eks:node-manager'],
    [
      'arn:aws:iam::927209226484:role/AWSWesleyClusterManagerLambda-Add-AddonManagerRole-1CRTQUJF13T5U',
      'eks:addon-manager',
    ],
    [
      'arn:aws:iam::753431191269:role/AWSWesleyClusterManagerLambda-FargateManagerRole-L8NAUF636GUD',
      'eks:fargate-manager',
    ],
  ])('recognises %s as %s', (canonicalArn, username) => {
    const r = resolveMapping(state({ mode: 'API' }), { canonicalArn });
    expect(r).toMatchObject({ source: 'eks-internal', username, groups: [] });
  });

  it('treats an unmapped eks: username as internal', () => {
    const r = resolveMapping(
      state({ mode: 'API' }),
      { canonicalArn: 'arn:aws:iam::1:role/Something' },
      { username: 'eks:cloud-controller-manager' },
    );
    expect(r.source).toBe('eks-internal');
  });
});

describe('observed identity', () => {
  it('prefers the candidate consistent with the observed username and says the history is incomplete', () => {
    const awsAuth = config({ mapRoles: `- rolearn: ${SSO_ROLE}\n  username: legacy:{{SessionName}}\n` });
    const r = resolveMapping(state({ mode: 'API_AND_CONFIG_MAP', entries: [kiemEntry()], awsAuth }), kiemWho, {
      username: 'legacy:gomyers-paloaltonetworks.com',
    });
    expect(r.source).toBe('aws-auth-role');
    expect(r.why).toContain('incomplete');
    expect(r.shadowed.map((s) => s.source)).toEqual(['access-entry']);
  });

  it('reports observed groups that disagree with the mapping in force', () => {
    const r = resolveMapping(state({ mode: 'API', entries: [kiemEntry()] }), kiemWho, {
      username: kiemObserved.username,
      groups: ['system:masters', 'system:authenticated'],
    });
    expect(r.source).toBe('access-entry');
    expect(r.why).toContain('observed groups [system:masters]');
  });

  it('reports an authenticated user that no known mapping explains', () => {
    const r = resolveMapping(
      state({ mode: 'API' }),
      { canonicalArn: 'arn:aws:iam::1:role/Ghost' },
      { username: 'ghost' },
    );
    expect(r.source).toBe('unmapped');
    expect(r.why).toContain('incomplete');
  });
});

describe('unknown auth mode', () => {
  it('infers API_AND_CONFIG_MAP when entries exist and CONFIG_MAP otherwise, saying so', () => {
    const withEntries = resolveMapping(state({ entries: [kiemEntry()] }), kiemWho);
    expect(withEntries.source).toBe('access-entry');
    expect(withEntries.why).toContain('inferred API_AND_CONFIG_MAP');
    const without = resolveMapping(state({ awsAuth: stratusConfig() }), {
      canonicalArn: 'arn:aws:iam::012345678901:role/account-admin',
      sessionName: 's',
    });
    expect(without.source).toBe('aws-auth-role');
    expect(without.why).toContain('inferred CONFIG_MAP');
  });

  it('copes with a principal ARN that cannot be canonicalised', () => {
    const r = resolveMapping(state({ mode: 'API' }), { canonicalArn: 'garbage' });
    expect(r).toMatchObject({ source: 'unmapped', groups: [], policies: [] });
  });
});
