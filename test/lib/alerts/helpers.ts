import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import { changesFromCloudTrail } from '../../../lib/identity/mapping-changes.js';
import type { AwsAuthConfig, MappingActor, MappingChange, MappingChangeOp } from '../../../lib/identity/types.js';
import { parseCloudTrailFile, parseCloudTrailRecord } from '../../../lib/sources/cloudtrail.js';
import type { AwsActor } from '../../../lib/sources/types.js';

/** Alert test data: real samples (test/fixtures/alerts, see test/fixtures/SOURCES.md) through the product's parsers. */
export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'alerts');

const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** Every mapping change of the CloudTrail file built around the aws-cli examples (cluster eks-customer & co). */
export const cliExampleChanges = (): MappingChange[] => {
  const file = parseCloudTrailFile(read('eks-records-from-aws-cli-examples.json'));
  return file.parsed.flatMap(changesFromCloudTrail);
};

/** Stratus red team: CreateAccessEntry + AssociateAccessPolicy (AmazonEKSClusterAdminPolicy, cluster scope). */
export const stratusChanges = (): MappingChange[] =>
  ['stratus-create-access-entry.fixed.json', 'stratus-associate-access-policy.completed.json'].flatMap((f) => {
    const r = parseCloudTrailRecord(JSON.parse(read(f)));
    if (!r.ok) throw new Error(`fixture ${f} does not parse: ${JSON.stringify(r.issues)}`);
    return changesFromCloudTrail(r.value);
  });

const config = (input: unknown): AwsAuthConfig => {
  const r = parseAwsAuth(input);
  if (!r.ok) throw new Error(`aws-auth fixture does not parse: ${JSON.stringify(r.issues)}`);
  return r.value;
};

/** aws-iam-authenticator's own aws-auth fixture: a node role row, an admin user in system:masters, mapAccounts. */
export const authenticatorAwsAuth = (): AwsAuthConfig => config(read('aws-auth.yaml'));

/** Stratus backdoor: aws-auth with a third row mapping a backdoor role to system:masters. */
export const stratusBackdoorAwsAuth = (): AwsAuthConfig =>
  config(
    (JSON.parse(read('stratus-backdoor-aws-auth-audit-excerpt.json')) as { requestObject: unknown }).requestObject,
  );

/** The same ConfigMap without the backdoor row: what the cluster had before the attack. */
export const stratusBaselineAwsAuth = (): AwsAuthConfig => {
  const obj = JSON.parse(read('stratus-backdoor-aws-auth-audit-excerpt.json')) as {
    requestObject: { data: { mapRoles: string } };
  };
  const mapRoles = obj.requestObject.data.mapRoles;
  const cut = mapRoles.indexOf(
    '- groups:\n    - system:masters\n  rolearn: arn:aws:iam::012345678901:role/stratus-red-team',
  );
  return config({ ...obj.requestObject, data: { mapRoles: mapRoles.slice(0, cut) } });
};

export const kiempossibleAuditEvent = (): unknown => JSON.parse(read('kiempossible-access-policy-allow.json'));

export const SSO_ACTOR: AwsActor = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admins_0123456789abcdef/alice@example.com',
  canonicalArn: 'arn:aws:iam::111122223333:role/AWSReservedSSO_Admins_0123456789abcdef',
  accountId: '111122223333',
  accessKeyId: 'ASIAEXAMPLEALICE0001',
  sessionName: 'alice@example.com',
};

export const CI_ACTOR: AwsActor = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::111122223333:assumed-role/deployer/ci-run-42',
  canonicalArn: 'arn:aws:iam::111122223333:role/deployer',
  accountId: '111122223333',
  accessKeyId: 'ASIAEXAMPLEDEPLOY001',
  sessionName: 'ci-run-42',
};

let seq = 0;

/** A change on cluster prod / account 111122223333 (values written by us; shapes from the parsers). */
export const mk = (
  op: MappingChangeOp,
  opts: { at?: string; id?: string; actor?: MappingActor; source?: MappingChange['source']; cluster?: string } = {},
): MappingChange => ({
  cluster: opts.cluster ?? 'prod',
  accountId: '111122223333',
  at: opts.at ?? '2025-05-01T10:00:00.000Z',
  sourceEventId: opts.id ?? `evt-${++seq}`,
  source: opts.source ?? 'cloudtrail',
  actor: opts.actor ?? { aws: SSO_ACTOR },
  op,
});

export const roleArn = (name: string, account = '111122223333') => `arn:aws:iam::${account}:role/${name}`;

export const entryPut = (
  principalArn: string,
  extra: { groups?: string[]; username?: string; type?: string } = {},
): MappingChangeOp => ({
  kind: 'access-entry-put',
  entry: {
    principalArn,
    matchKey: principalArn.replace(/:role\/.*\//, ':role/').toLowerCase(),
    type: extra.type ?? 'STANDARD',
    kubernetesGroups: extra.groups ?? [],
    ...(extra.username ? { username: extra.username } : {}),
  },
});

export const entryDelete = (principalArn: string): MappingChangeOp => ({
  kind: 'access-entry-delete',
  principalArn,
  matchKey: principalArn.toLowerCase(),
});

export const policyAssociate = (
  principalArn: string,
  policy: string,
  scope: { type: 'cluster' | 'namespace'; namespaces: string[] } = { type: 'cluster', namespaces: [] },
): MappingChangeOp => ({
  kind: 'access-policy-associate',
  principalArn,
  matchKey: principalArn.toLowerCase(),
  association: { policyArn: `arn:aws:eks::aws:cluster-access-policy/${policy}`, scope },
});
