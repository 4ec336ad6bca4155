import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACCESS_POLICIES,
  accessPolicyArn,
  accessPolicyName,
  bootstrapCreatorEntry,
  CONFIG_MAP_CREATOR_MAPPING,
  checkAccessEntryUsername,
  creatorPrincipalArn,
  defaultAccessEntryGroups,
  defaultAccessEntryUsername,
  describeAccessPolicy,
  effectiveAccessEntryGroups,
  effectiveAccessEntryUsername,
  isAdminPolicy,
  reservedPrefixOf,
} from '../../../lib/identity/access-entry.js';
import type { ClusterCreator } from '../../../lib/identity/types.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/identity/${name}`, import.meta.url), 'utf8')) as {
    accessEntry: { principalArn: string; username: string; type: string; kubernetesGroups: string[] };
  };

describe('defaultAccessEntryUsername', () => {
  it.each([
    ['cli-create-access-entry-user.json'],
    ['cli-create-access-entry-ec2-linux.json'],
    ['cli-update-access-entry.json'],
    ['cli-describe-access-entry.json'],
  ])('reproduces the username EKS returned in %s', (file) => {
    const { accessEntry } = fixture(file);
    expect(defaultAccessEntryUsername(accessEntry.principalArn, accessEntry.type)).toBe(accessEntry.username);
  });

  it('drops the role path (containers-roadmap#185 devToolingOperator)', () => {
    expect(defaultAccessEntryUsername('arn:aws:iam::012345678910:role/teams/tooling/devToolingOperator')).toBe(
      'arn:aws:sts::012345678910:assumed-role/devToolingOperator/{{SessionName}}',
    );
  });

  it('keeps the partition of the role', () => {
    expect(defaultAccessEntryUsername('arn:aws-cn:iam::111122223333:role/R', 'STANDARD')).toBe(
      'arn:aws-cn:sts::111122223333:assumed-role/R/{{SessionName}}',
    );
  });

  it.each([
    ['EC2_LINUX', 'system:node:{{EC2PrivateDNSName}}'],
    ['EC2_WINDOWS', 'system:node:{{EC2PrivateDNSName}}'],
    ['FARGATE_LINUX', 'system:node:{{SessionName}}'],
    ['HYBRID_LINUX', 'system:node:{{SessionName}}'],
    ['EC2', 'system:node:{{SessionName}}'],
    ['HYPERPOD_LINUX', 'system:node:{{SessionName}}'],
  ])('gives %s nodes %s', (type, username) => {
    expect(defaultAccessEntryUsername('arn:aws:iam::111122223333:role/node', type)).toBe(username);
  });

  it.each([
    ['garbage', 'not-an-arn'],
    ['a root ARN', 'arn:aws:iam::111122223333:root'],
    ['a group ARN', 'arn:aws:iam::111122223333:group/g'],
    ['a role without a name', 'arn:aws:iam::111122223333:role/'],
  ])('has no default for %s', (_kind, arn) => {
    expect(defaultAccessEntryUsername(arn)).toBeUndefined();
  });
});

describe('default and effective groups', () => {
  it('matches the system:nodes group EKS set on the EC2_LINUX CLI entry', () => {
    const { accessEntry } = fixture('cli-create-access-entry-ec2-linux.json');
    expect(defaultAccessEntryGroups(accessEntry.type)).toEqual(accessEntry.kubernetesGroups);
    expect(effectiveAccessEntryGroups({ type: 'EC2_LINUX', kubernetesGroups: [] })).toEqual(['system:nodes']);
  });

  it('keeps the groups of STANDARD entries as they are, even when empty', () => {
    expect(effectiveAccessEntryGroups({ type: 'STANDARD', kubernetesGroups: [] })).toEqual([]);
    expect(effectiveAccessEntryGroups({ type: 'STANDARD', kubernetesGroups: ['tester'] })).toEqual(['tester']);
  });

  it.each(['FARGATE_LINUX', 'HYBRID_LINUX', 'HYPERPOD_LINUX', 'EC2'])(
    'puts %s nodes in system:nodes, which the Node authorizer needs (inferred)',
    (type) => {
      expect(defaultAccessEntryGroups(type)).toEqual(['system:nodes']);
      expect(effectiveAccessEntryGroups({ type, kubernetesGroups: [] })).toEqual(['system:nodes']);
    },
  );

  it('uses the stored username before the generated default', () => {
    const base = { principalArn: 'arn:aws:iam::111122223333:role/R', type: 'STANDARD' };
    expect(effectiveAccessEntryUsername(base)).toBe('arn:aws:sts::111122223333:assumed-role/R/{{SessionName}}');
    expect(effectiveAccessEntryUsername({ ...base, username: 'ops:{{SessionName}}' })).toBe('ops:{{SessionName}}');
  });
});

describe('username rules', () => {
  it.each([
    ['aws:x', 'aws:'],
    ['iam:x', 'iam:'],
    ['amazon:x', 'amazon:'],
    ['system:masters-wannabe', 'system:'],
    ['eks:addon-manager', 'eks:'],
  ])('finds the reserved prefix of %s', (username, prefix) => {
    expect(reservedPrefixOf(username)).toBe(prefix);
    expect(checkAccessEntryUsername('STANDARD', username)).toContainEqual({ kind: 'reserved-prefix', prefix });
  });

  it('accepts ordinary names and the EKS-generated node usernames', () => {
    expect(reservedPrefixOf('kubernetes-admin')).toBeUndefined();
    expect(checkAccessEntryUsername('STANDARD', 'arn:aws:sts::1:assumed-role/R/{{SessionName}}')).toEqual([]);
    expect(checkAccessEntryUsername('EC2_LINUX', 'system:node:{{EC2PrivateDNSName}}')).toEqual([]);
    expect(checkAccessEntryUsername('HYBRID_LINUX', 'system:node:{{SessionName}}')).toEqual([]);
  });

  it.each([
    ['john{{SessionName}}', [{ kind: 'session-name-without-colon' }]],
    [':john{{SessionName}}', []],
    ['jo:hn{{SessionName}}', []],
    ['john', []],
  ])('applies the colon-before-{{SessionName}} rule to %s', (username, problems) => {
    expect(checkAccessEntryUsername('STANDARD', username)).toEqual(problems);
  });

  it('flags a custom username on a node entry', () => {
    expect(checkAccessEntryUsername('EC2_LINUX', 'bob')).toEqual([{ kind: 'custom-username-on-node-type' }]);
  });
});

describe('access policies', () => {
  it('names the policy from the CLI association and the Stratus CloudTrail excerpt', () => {
    const assoc = JSON.parse(
      readFileSync(new URL('../../fixtures/identity/cli-associate-access-policy.json', import.meta.url), 'utf8'),
    ) as { associatedAccessPolicy: { policyArn: string } };
    expect(accessPolicyName(assoc.associatedAccessPolicy.policyArn)).toBe('AmazonEKSEditPolicy');
    expect(isAdminPolicy(assoc.associatedAccessPolicy.policyArn)).toBe(false);
    const stratus = JSON.parse(
      readFileSync(
        new URL('../../fixtures/identity/stratus-associate-access-policy-cloudtrail-excerpt.json', import.meta.url),
        'utf8',
      ),
    ) as { requestParameters: { policyArn: string } };
    expect(isAdminPolicy(stratus.requestParameters.policyArn)).toBe(true);
  });

  it.each([
    ['AmazonEKSClusterAdminPolicy', true],
    ['AmazonEKSAdminPolicy', true],
    ['AmazonEKSEditPolicy', false],
    ['AmazonEKSViewPolicy', false],
    ['AmazonEKSAdminViewPolicy', false],
    ['AmazonEKSAutoNodePolicy', false],
    ['AmazonEKSNetworkingPolicy', false],
  ])('%s is admin: %s, in every partition', (name, admin) => {
    for (const partition of ['aws', 'aws-cn', 'aws-us-gov']) {
      expect(isAdminPolicy(accessPolicyArn(name, partition))).toBe(admin);
    }
    expect(describeAccessPolicy(accessPolicyArn(name))?.grants.length).toBeGreaterThan(0);
  });

  it('describes every catalogued policy and leaves unknown names undescribed', () => {
    for (const [name, info] of ACCESS_POLICIES) expect(info.name).toBe(name);
    expect(describeAccessPolicy(accessPolicyArn('AmazonEKSSomethingNewPolicy'))).toBeUndefined();
    expect(accessPolicyName(accessPolicyArn('AmazonEKSSomethingNewPolicy'))).toBe('AmazonEKSSomethingNewPolicy');
  });

  it.each([
    ['an IAM managed policy', 'arn:aws:iam::aws:policy/AdministratorAccess'],
    ['garbage', 'AmazonEKSClusterAdminPolicy'],
    ['a customer account', 'arn:aws:eks::111122223333:cluster-access-policy/AmazonEKSClusterAdminPolicy'],
  ])('is not an access policy: %s', (_kind, arn) => {
    expect(accessPolicyName(arn)).toBeUndefined();
    expect(isAdminPolicy(arn)).toBe(false);
  });
});

describe('cluster creator bootstrap', () => {
  const creator = (over: Partial<ClusterCreator> = {}): ClusterCreator => ({
    actor: {
      type: 'AssumedRole',
      arn: 'arn:aws:sts::012345678910:assumed-role/devToolingOperator/alice',
      principalId: 'AROAEXAMPLEID',
      sessionIssuerArn: 'arn:aws:iam::012345678910:role/teams/tooling/devToolingOperator',
    },
    canonicalArn: 'arn:aws:iam::012345678910:role/devToolingOperator',
    bootstrapAdmin: true,
    ...over,
  });

  it('creates a cluster-scoped AmazonEKSClusterAdminPolicy entry for the role, with its path, in API modes', () => {
    for (const mode of ['API', 'API_AND_CONFIG_MAP'] as const) {
      expect(bootstrapCreatorEntry(creator(), mode)).toEqual({
        principalArn: 'arn:aws:iam::012345678910:role/teams/tooling/devToolingOperator',
        matchKey: 'arn:aws:iam::012345678910:role/devtoolingoperator',
        type: 'STANDARD',
        username: 'arn:aws:sts::012345678910:assumed-role/devToolingOperator/{{SessionName}}',
        kubernetesGroups: [],
        policies: [
          {
            policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
            scope: { type: 'cluster', namespaces: [] },
          },
        ],
        principalId: 'AROAEXAMPLEID',
        bootstrapCreator: true,
      });
    }
  });

  it('creates no entry in CONFIG_MAP mode (the grant is the invisible kubernetes-admin mapping) or without bootstrap', () => {
    expect(bootstrapCreatorEntry(creator(), 'CONFIG_MAP')).toBeUndefined();
    expect(bootstrapCreatorEntry(creator({ bootstrapAdmin: false }), 'API')).toBeUndefined();
    expect(CONFIG_MAP_CREATOR_MAPPING).toEqual({ username: 'kubernetes-admin', groups: ['system:masters'] });
  });

  it('falls back to the canonical ARN when CloudTrail gave no session issuer, and uses the user ARN for users', () => {
    const noIssuer = creator({ actor: { type: 'AssumedRole', arn: 'arn:aws:sts::012345678910:assumed-role/R/s' } });
    delete noIssuer.canonicalArn;
    expect(creatorPrincipalArn(noIssuer)).toBe('arn:aws:iam::012345678910:role/R');
    const user = creator({ actor: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/ops/alice' } });
    delete user.canonicalArn;
    const entry = bootstrapCreatorEntry(user, 'API');
    expect(entry?.principalArn).toBe('arn:aws:iam::111122223333:user/ops/alice');
    expect(entry?.username).toBe('arn:aws:iam::111122223333:user/ops/alice');
    expect(entry?.principalId).toBeUndefined();
  });

  it('creates nothing when the creator principal is unknown', () => {
    expect(bootstrapCreatorEntry({ actor: { type: 'Unknown' }, bootstrapAdmin: true }, 'API')).toBeUndefined();
  });
});
