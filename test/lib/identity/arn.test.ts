import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arnAccountId,
  canonicalizeArn,
  KNOWN_PARTITIONS,
  principalMatchKey,
  roleArnHasPath,
  splitArn,
} from '../../../lib/identity/arn.js';

// Real ARNs: rotel-lambda-forwarder (2025 hosted EKS), ManagedKube SSO README (2022; the reporter's
// 11-digit account typo kept on purpose), KIEMPossible audit event, containers-roadmap#185.
const ROTEL_STS =
  'arn:aws:sts::927209226484:assumed-role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL/EKSAuthTokenSession';
const MANAGEDKUBE_STS =
  'arn:aws:sts::47626451111:assumed-role/AWSReservedSSO_devops_admin_595c0f4da82205f0/gkan@example.com';
const MANAGEDKUBE_ROLE =
  'arn:aws:iam::476264531111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_devops_admin_595c0f4da82205f0';
const KIEM_STS = 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers@paloaltonetworks.com';

describe('canonicalizeArn', () => {
  it('turns an assumed-role STS ARN into the path-less IAM role ARN and keeps the session', () => {
    const r = canonicalizeArn(ROTEL_STS);
    expect(r).toEqual({
      ok: true,
      value: {
        type: 'assumed-role',
        partition: 'aws',
        accountId: '927209226484',
        canonicalArn: 'arn:aws:iam::927209226484:role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL',
        matchKey: 'arn:aws:iam::927209226484:role/awswesleyclustermanagerlambda-nodemanagerrole-1w15hhfybjtfl',
        name: 'AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL',
        sessionName: 'EKSAuthTokenSession',
      },
    });
  });

  it('keeps an e-mail session name raw (the @ -> - rewrite belongs to templates only)', () => {
    const r = canonicalizeArn(KIEM_STS);
    expect(r.ok && r.value.sessionName).toBe('gomyers@paloaltonetworks.com');
    expect(r.ok && r.value.canonicalArn).toBe('arn:aws:iam::211125685544:role/sso_admin');
  });

  it('gives an SSO session and its path-bearing IAM role the same match key', () => {
    const sts = canonicalizeArn(MANAGEDKUBE_STS);
    const role = canonicalizeArn(MANAGEDKUBE_ROLE);
    expect(sts.ok && sts.value.canonicalArn).toBe(
      'arn:aws:iam::47626451111:role/AWSReservedSSO_devops_admin_595c0f4da82205f0',
    );
    expect(role.ok && role.value.canonicalArn).toBe(
      'arn:aws:iam::476264531111:role/AWSReservedSSO_devops_admin_595c0f4da82205f0',
    );
    expect(role.ok && role.value.name).toBe('AWSReservedSSO_devops_admin_595c0f4da82205f0');
  });

  it('joins every middle segment of an assumed-role resource, as the authenticator does', () => {
    const r = canonicalizeArn('arn:aws:sts::111122223333:assumed-role/a/b/session');
    expect(r.ok && r.value.canonicalArn).toBe('arn:aws:iam::111122223333:role/a/b');
  });

  it('strips the path of an IAM role (containers-roadmap#185 devToolingOperator)', () => {
    const r = canonicalizeArn('arn:aws:iam::012345678910:role/teams/tooling/devToolingOperator');
    expect(r.ok && r.value).toMatchObject({
      type: 'role',
      canonicalArn: 'arn:aws:iam::012345678910:role/devToolingOperator',
      name: 'devToolingOperator',
    });
  });

  it('keeps the path of an IAM user', () => {
    const r = canonicalizeArn('arn:aws:iam::111122223333:user/division/team/Alice');
    expect(r.ok && r.value).toMatchObject({
      type: 'user',
      canonicalArn: 'arn:aws:iam::111122223333:user/division/team/Alice',
      matchKey: 'arn:aws:iam::111122223333:user/division/team/alice',
      name: 'Alice',
    });
    expect(r.ok && r.value.sessionName).toBeUndefined();
  });

  it('keeps root and federated-user ARNs unchanged (federated stays an sts ARN)', () => {
    const root = canonicalizeArn('arn:aws:iam::111122223333:root');
    expect(root.ok && root.value).toMatchObject({ type: 'root', canonicalArn: 'arn:aws:iam::111122223333:root' });
    const fed = canonicalizeArn('arn:aws:sts::111122223333:federated-user/Bob');
    expect(fed.ok && fed.value).toMatchObject({
      type: 'federated-user',
      canonicalArn: 'arn:aws:sts::111122223333:federated-user/Bob',
      name: 'Bob',
    });
  });

  it.each([
    ['aws-cn', 'arn:aws-cn:sts::111122223333:assumed-role/R/s', 'arn:aws-cn:iam::111122223333:role/R'],
    ['aws-us-gov', 'arn:aws-us-gov:sts::111122223333:assumed-role/R/s', 'arn:aws-us-gov:iam::111122223333:role/R'],
    ['aws-iso', 'arn:aws-iso:iam::111122223333:user/u', 'arn:aws-iso:iam::111122223333:user/u'],
    ['aws-iso-b', 'arn:aws-iso-b:iam::111122223333:role/x/R', 'arn:aws-iso-b:iam::111122223333:role/R'],
  ])('keeps the %s partition', (_p, arn, canonical) => {
    const r = canonicalizeArn(arn);
    expect(r.ok && r.value.canonicalArn).toBe(canonical);
  });

  it('trims surrounding whitespace', () => {
    const r = canonicalizeArn('  arn:aws:iam::111122223333:user/u \n');
    expect(r.ok && r.value.canonicalArn).toBe('arn:aws:iam::111122223333:user/u');
  });

  it.each([
    ['unknown partition', 'arn:aws-mars:iam::111122223333:role/R', 'ARN_UNKNOWN_PARTITION'],
    ['empty string', '', 'ARN_INVALID'],
    ['not an ARN', 'kubernetes-admin', 'ARN_INVALID'],
    ['too few fields', 'arn:aws:iam::111122223333', 'ARN_INVALID'],
    ['missing account', 'arn:aws:iam:::role/R', 'ARN_INVALID'],
    ['assumed-role without session', 'arn:aws:sts::111122223333:assumed-role/R', 'ARN_INVALID'],
    ['assumed-role without role', 'arn:aws:sts::111122223333:assumed-role//s', 'ARN_INVALID'],
    ['role without name', 'arn:aws:iam::111122223333:role/', 'ARN_INVALID'],
    ['user without name', 'arn:aws:iam::111122223333:user/', 'ARN_INVALID'],
    ['federated-user without name', 'arn:aws:sts::111122223333:federated-user/', 'ARN_INVALID'],
    ['a group', 'arn:aws:iam::111122223333:group/admins', 'ARN_UNSUPPORTED_TYPE'],
    ['an access policy', 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', 'ARN_UNSUPPORTED_TYPE'],
  ])('rejects %s with %s', (_kind, arn, code) => {
    const r = canonicalizeArn(arn);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe(code);
      expect(r.raw).toBe(arn.trim());
    }
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = canonicalizeArn(s);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...KNOWN_PARTITIONS),
        fc.constantFrom('iam', 'sts', 'eks'),
        fc.string(),
        fc.string(),
        (p, svc, acct, res) => {
          const r = canonicalizeArn(`arn:${p}:${svc}::${acct}:${res}`);
          if (r.ok) expect(r.value.matchKey).toBe(r.value.canonicalArn.toLowerCase());
        },
      ),
    );
  });

  it('is idempotent on its own output', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('aws', 'aws-cn'),
        fc.stringMatching(/^\d{12}$/),
        fc.stringMatching(/^[\w+=,.@-]{1,20}$/),
        fc.stringMatching(/^[\w+=,.@-]{2,20}$/),
        (p, acct, role, session) => {
          const first = canonicalizeArn(`arn:${p}:sts::${acct}:assumed-role/${role}/${session}`);
          expect(first.ok).toBe(true);
          if (!first.ok) return;
          const again = canonicalizeArn(first.value.canonicalArn);
          expect(again.ok && again.value.canonicalArn).toBe(first.value.canonicalArn);
        },
      ),
    );
  });
});

describe('ARN helpers', () => {
  it('principalMatchKey lower-cases the canonical ARN and rejects non-principals', () => {
    expect(principalMatchKey(KIEM_STS)).toBe('arn:aws:iam::211125685544:role/sso_admin');
    expect(principalMatchKey('arn:aws:iam::211125685544:role/SSO_Admin')).toBe(
      'arn:aws:iam::211125685544:role/sso_admin',
    );
    expect(principalMatchKey(undefined)).toBeUndefined();
    expect(principalMatchKey('garbage')).toBeUndefined();
  });

  it('roleArnHasPath tells path-bearing role ARNs apart', () => {
    expect(roleArnHasPath(MANAGEDKUBE_ROLE)).toBe(true);
    expect(roleArnHasPath('arn:aws:iam::111122223333:role/R')).toBe(false);
    expect(roleArnHasPath('arn:aws:iam::111122223333:user/path/u')).toBe(false);
    expect(roleArnHasPath('arn:aws:sts::111122223333:assumed-role/R/s')).toBe(false);
  });

  it('splitArn keeps colons inside the resource and arnAccountId reads the account', () => {
    expect(splitArn('arn:aws:eks:us-west-2:111122223333:access-entry/c/role/111122223333/R/uuid')).toEqual({
      partition: 'aws',
      service: 'eks',
      region: 'us-west-2',
      accountId: '111122223333',
      resource: 'access-entry/c/role/111122223333/R/uuid',
    });
    expect(splitArn('arn:aws:iam::1:x:y')?.resource).toBe('x:y');
    expect(arnAccountId(KIEM_STS)).toBe('211125685544');
    expect(arnAccountId('arn:aws:eks::aws:cluster-access-policy/X')).toBe('aws');
    expect(arnAccountId(undefined)).toBeUndefined();
  });
});
