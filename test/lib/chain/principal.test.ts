import { describe, expect, it } from 'vitest';
import { correlateAuditEvent } from '../../../lib/chain/correlate.js';
import { credentialFromCloudTrail, inMemoryEvidence } from '../../../lib/chain/evidence.js';
import { parseAuthenticatorUid, principalFromUser } from '../../../lib/chain/principal.js';
import type { CredentialIssuance } from '../../../lib/chain/types.js';
import { parseAuditEvent } from '../../../lib/sources/audit-event.js';
import { fixtureText, pantherLog } from './fixtures.js';
import { assumeRoleEvent, auditFrom, CLUSTER, withFields } from './scenario.js';

describe('parseAuthenticatorUid', () => {
  it.each([
    [
      'role',
      'aws-iam-authenticator:211125685544:AROATCKASJUUBCXRRKSFT',
      { issuer: 'aws-iam-authenticator', accountId: '211125685544', userId: 'AROATCKASJUUBCXRRKSFT' },
    ],
    // A federated user's userid is `<account>:<name>`: only the first two colons separate fields.
    [
      'federated user',
      'aws-iam-authenticator:123456789012:123456789012:Bob',
      { issuer: 'aws-iam-authenticator', accountId: '123456789012', userId: '123456789012:Bob' },
    ],
    [
      'legacy heptio prefix',
      'heptio-authenticator-aws:123456789012:AIDAEXAMPLE',
      { issuer: 'heptio-authenticator-aws', accountId: '123456789012', userId: 'AIDAEXAMPLE' },
    ],
    [
      'scrubbed account',
      'aws-iam-authenticator:administrative:kubernetes-admin',
      { issuer: 'aws-iam-authenticator', accountId: 'administrative', scrubbedUsername: 'kubernetes-admin' },
    ],
  ])('%s', (_name, uid, expected) => {
    expect(parseAuthenticatorUid(uid)).toEqual(expected);
  });

  it.each([
    ['service-account uid', '5e4461f9-f529-4e66-9343-0b0cc9452284'],
    ['empty', ''],
    ['missing userid', 'aws-iam-authenticator:123'],
  ])('rejects %s', (_name, uid) => {
    expect(parseAuthenticatorUid(uid)).toBeUndefined();
  });
});

describe('principalFromUser', () => {
  it('derives the principal from an access-entry default username when extra lacks canonicalArn', () => {
    const link = principalFromUser({
      username: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
      uid: 'aws-iam-authenticator:211125685544:AROATCKASJUUBCXRRKSFT',
      groups: ['system:authenticated'],
      extra: {},
    });
    expect(link.status).toBe('derived');
    expect(link.value).toEqual({
      type: 'assumed-role',
      stsArn: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
      canonicalArn: 'arn:aws:iam::211125685544:role/sso_admin',
      principalId: 'AROATCKASJUUBCXRRKSFT',
      accountId: '211125685544',
      sessionName: 'gomyers-paloaltonetworks.com',
    });
  });

  it('reads the newer sigs.k8s.io principalId key and an IAM user with an empty session name', () => {
    const link = principalFromUser({
      username: 'arn:aws:iam::123456789012:user/ops/alice',
      groups: [],
      extra: {
        arn: ['arn:aws:iam::123456789012:user/ops/alice'],
        canonicalArn: ['arn:aws:iam::123456789012:user/ops/alice'],
        sessionName: [''],
        'sigs.k8s.io/aws-iam-authenticator/principalId': ['AIDAALICE'],
      },
    });
    expect(link.value).toEqual({
      type: 'user',
      stsArn: 'arn:aws:iam::123456789012:user/ops/alice',
      canonicalArn: 'arn:aws:iam::123456789012:user/ops/alice',
      principalId: 'AIDAALICE',
      accountId: '123456789012',
    });
  });

  it.each([
    ['anonymous', { username: 'system:anonymous', groups: ['system:unauthenticated'], extra: {} }, 'anonymous'],
    ['control-plane component', { username: 'system:kube-controller-manager', groups: [], extra: {} }, 'k8s-internal'],
    [
      'EKS component without IAM keys',
      { username: 'eks:cloud-controller-manager', groups: [], extra: {} },
      'k8s-internal',
    ],
    // Nodes come in through an IAM mapping: without the keys, the authenticator predates them.
    [
      'node without IAM keys',
      { username: 'system:node:ip-10-0-1-5.ec2.internal', groups: ['system:nodes'], extra: {} },
      'unknown',
    ],
    ['OIDC user', { username: 'admin@example.com', groups: [], extra: {} }, 'unknown'],
    ['no user at all (401)', { groups: [], extra: {} }, 'unknown'],
  ])('classifies %s', (_name, user, type) => {
    expect(principalFromUser(user).value?.type).toBe(type);
  });

  it('derives a certificate, never observes one: the record only shows that IAM keys are absent', () => {
    const link = principalFromUser({ username: 'system:kube-scheduler', groups: [], extra: {} });
    expect(link.status).toBe('derived');
    expect(link.why).toContain('client certificate');
  });
});

describe('correlateAuditEvent on thin or truncated input', () => {
  it('derives the role from the STS issuance when extra carries only the access key (2020-era authenticator)', () => {
    const raw = withFields(pantherLog('Not 403'), {
      user: {
        username: 'kubernetes-admin',
        groups: ['system:masters', 'system:authenticated'],
        extra: { accessKeyId: ['ASIAOLDERA000000001'] },
      },
    });
    const iss = credentialFromCloudTrail(
      assumeRoleEvent({
        eventId: 'ct-old',
        eventTime: '2022-11-29T00:00:00Z',
        roleArn: 'arn:aws:iam::123412341234:role/DevAdministrator',
        issuedAccessKeyId: 'ASIAOLDERA000000001',
        caller: { type: 'IAMUser', arn: 'arn:aws:iam::123412341234:user/carol' },
      }),
    ) as CredentialIssuance;
    const chain = correlateAuditEvent(
      auditFrom(raw),
      { cluster: CLUSTER },
      inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [iss] }),
    );
    expect(chain.principal).toMatchObject({
      status: 'derived',
      value: {
        type: 'assumed-role',
        canonicalArn: 'arn:aws:iam::123412341234:role/DevAdministrator',
        accessKeyId: 'ASIAOLDERA000000001',
      },
      evidence: ['audit:user.extra.accessKeyId', 'cloudtrail:ct-old'],
    });
    expect(chain.human.value).toMatchObject({ identity: 'arn:aws:iam::123412341234:user/carol', via: 'iam-user' });
  });

  it('keeps what a truncated event still has', () => {
    // CloudWatch carries each audit event as one compact JSON line.
    const line = JSON.stringify(JSON.parse(fixtureText('kiempossible-access-policy-allow.json')));
    const cut = `${line.slice(0, line.indexOf('"responseStatus"'))}[Truncated...]`;
    const parsed = parseAuditEvent(cut);
    if (!parsed.ok) throw new Error(`truncated fixture did not parse: ${JSON.stringify(parsed.issues)}`);
    const chain = correlateAuditEvent(
      parsed.value,
      { cluster: CLUSTER, timestamp: Date.parse('2024-08-24T14:27:08.000Z') },
      inMemoryEvidence({ cluster: CLUSTER, mappingChanges: [], credentials: [] }),
    );
    expect(chain.chainId).toBe('prod#fb5dba68-6262-4718-b45e-d293b03e434d');
    expect(chain.request.value?.truncated).toBe(true);
    expect(chain.request.why).toContain('truncated');
  });
});
