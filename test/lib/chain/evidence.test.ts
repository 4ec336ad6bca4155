import { describe, expect, it } from 'vitest';
import { credentialFromCloudTrail, inMemoryEvidence } from '../../../lib/chain/evidence.js';
import type { CloudTrailEvent } from '../../../lib/sources/types.js';
import { accessEntry, assumeRoleEvent, CLUSTER } from './scenario.js';

const caller = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::062000000000:assumed-role/AWSReservedSSO_Admins_260008d6b2140109/example@domain.com',
  principalId: 'AROAQ24IPRMBUNTPNGG1D',
  accessKeyId: 'ASIAQ52IPRMBGR1W77WH',
  sessionIssuerArn:
    'arn:aws:iam::062000000000:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_Admins_260008d6b2140109',
  sessionName: 'example@domain.com',
};

describe('credentialFromCloudTrail', () => {
  it('turns a successful AssumeRole into the issuance of its access key (role path stripped for matching)', () => {
    const e = assumeRoleEvent({
      eventId: 'ct-1',
      eventTime: '2023-04-13T19:40:00Z',
      roleArn: 'arn:aws:iam::062000000000:role/teams/tooling/deployer',
      sessionName: 'deploy-7',
      issuedAccessKeyId: 'ASIANEWKEY0000000001',
      caller,
      sourceIdentity: 'example@domain.com',
    });
    expect(credentialFromCloudTrail(e)).toEqual({
      accessKeyId: 'ASIANEWKEY0000000001',
      issuedAt: '2023-04-13T19:40:00Z',
      api: 'AssumeRole',
      roleArn: 'arn:aws:iam::062000000000:role/teams/tooling/deployer',
      roleMatchKey: 'arn:aws:iam::062000000000:role/deployer',
      sessionName: 'deploy-7',
      sourceIdentity: 'example@domain.com',
      caller,
      sourceEventId: 'ct-1',
    });
  });

  it('keeps the SAML subject of AssumeRoleWithSAML', () => {
    const e = assumeRoleEvent({
      eventId: 'ct-2',
      eventTime: '2023-04-13T19:40:00Z',
      api: 'AssumeRoleWithSAML',
      roleArn: 'arn:aws:iam::062000000000:role/saml-admins',
      issuedAccessKeyId: 'ASIASAML000000000001',
      caller: { type: 'SAMLUser' },
      subject: 'jane@example.com',
    });
    expect(credentialFromCloudTrail(e)).toMatchObject({ api: 'AssumeRoleWithSAML', subject: 'jane@example.com' });
  });

  const failed = assumeRoleEvent({
    eventId: 'ct-3',
    eventTime: '2023-04-13T19:40:00Z',
    roleArn: 'arn:aws:iam::062000000000:role/x',
    issuedAccessKeyId: 'ASIAX',
    caller,
    errorCode: 'AccessDenied',
  });
  const notSts: CloudTrailEvent = {
    eventId: 'ct-4',
    eventTime: '2023-04-13T19:40:00Z',
    eventName: 'DeleteAccessEntry',
    eventSource: 'eks.amazonaws.com',
    actor: caller,
    succeeded: true,
    action: { kind: 'DeleteAccessEntry', cluster: CLUSTER, principalArn: 'arn:aws:iam::062000000000:role/x' },
  };
  it.each([
    ['a failed call issues nothing', failed],
    ['an EKS event is not an issuance', notSts],
  ])('%s', (_name, e) => {
    expect(credentialFromCloudTrail(e)).toBeUndefined();
  });
});

describe('inMemoryEvidence', () => {
  const issue = (eventId: string, eventTime: string) =>
    credentialFromCloudTrail(
      assumeRoleEvent({
        eventId,
        eventTime,
        roleArn: 'arn:aws:iam::062000000000:role/r',
        issuedAccessKeyId: 'ASIASAME',
        caller,
      }),
    ) as NonNullable<ReturnType<typeof credentialFromCloudTrail>>;

  it('looks issuances up by access key, keeping one deterministically when a key is seen twice', () => {
    const a = issue('ct-b', '2023-01-01T00:00:00Z');
    const b = issue('ct-a', '2023-01-01T00:00:00Z');
    const e1 = inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [a, b] });
    const e2 = inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [b, a] });
    expect(e1.credentialFor('ASIASAME')?.sourceEventId).toBe('ct-a');
    expect(e2.credentialFor('ASIASAME')?.sourceEventId).toBe('ct-a');
    expect(e1.credentialFor('ASIAOTHER')).toBeUndefined();
  });

  it('answers the mapping state in force at an instant from the cluster history', () => {
    const ev = inMemoryEvidence({
      cluster: CLUSTER,
      mappingChanges: [accessEntry('2024-02-01T10:00:00.000Z', 'arn:aws:iam::062000000000:role/dev')],
      credentials: [],
    });
    expect(ev.mappingStateAt('2024-02-01T09:59:59.999999Z').accessEntries.size).toBe(0);
    expect([...ev.mappingStateAt('2024-02-01T10:00:00.000001Z').accessEntries.keys()]).toEqual([
      'arn:aws:iam::062000000000:role/dev',
    ]);
  });
});
