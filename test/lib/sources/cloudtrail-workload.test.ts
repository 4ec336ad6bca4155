import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isTrackedEvent,
  parseCloudTrailFile,
  parseCloudTrailRecord,
  TRACKED_EKS_AUTH_EVENTS,
} from '../../../lib/sources/cloudtrail.js';
import type { CloudTrailAction, CloudTrailEvent } from '../../../lib/sources/types.js';
import { SYNTHETIC } from '../../support/secret-corpus.js';

const json = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/sources/cloudtrail/${name}`, import.meta.url), 'utf8')) as T;

const parsed = (r: ReturnType<typeof parseCloudTrailRecord>): CloudTrailEvent => {
  if (!r.ok) throw new Error(`expected ok: ${JSON.stringify(r.issues)}`);
  return r.value;
};

const immersion = json<{ Records: Record<string, unknown>[] }>('immersion-day-pod-identity-records.json').Records;
const constructed = json<{ Records: Record<string, unknown>[] }>('workload-records-from-aws-cli-examples.json').Records;
const byName = (name: string): Record<string, unknown> =>
  constructed.find((r) => r['eventName'] === name) as Record<string, unknown>;
const action = <K extends CloudTrailAction['kind']>(r: Record<string, unknown>, kind: K) => {
  const e = parsed(parseCloudTrailRecord(r));
  expect(e.action.kind).toBe(kind);
  return e.action as Extract<CloudTrailAction, { kind: K }>;
};

describe('EKS Pod Identity in real CloudTrail records (immersion-day samples)', () => {
  it('reads AssumeRoleForPodIdentity as CloudTrail writes it: the node asked, the response is null, no key', () => {
    const e = parsed(parseCloudTrailRecord(immersion[0]));
    expect(e).toMatchObject({
      eventSource: 'eks-auth.amazonaws.com',
      eventName: 'AssumeRoleForPodIdentity',
      succeeded: true,
      actor: {
        type: 'AssumedRole',
        canonicalArn: 'arn:aws:iam::823571991546:role/eks-security-workshop',
        sessionName: 'i-07574d724fb843fda',
      },
      action: { kind: 'AssumeRoleForPodIdentity', cluster: 'eksworkshop-eksctl', issuedAccessKeyId: '' },
    });
    // The masked token is never carried into the action.
    expect(JSON.stringify(e.action)).not.toContain('HIDDEN');
  });

  it('reads the lookup-events output of the same call', () => {
    const f = parseCloudTrailFile(
      JSON.stringify(json('immersion-day-assume-role-for-pod-identity.lookup-events.json')),
    );
    expect(f.rejected).toEqual([]);
    expect(f.parsed).toHaveLength(1);
    expect(f.parsed[0]?.action).toEqual({
      kind: 'AssumeRoleForPodIdentity',
      cluster: 'eksworkshop-eksctl',
      issuedAccessKeyId: '',
    });
  });

  it('keeps the Pod Identity session tags of the STS AssumeRole EKS makes, and no other tags', () => {
    const a = action(immersion[1] as Record<string, unknown>, 'AssumeRole');
    expect(a).toMatchObject({
      api: 'AssumeRole',
      roleArn: 'arn:aws:iam::823571991546:role/eks-pod-s3-read-access-role',
      roleSessionName: 'eks-eksworksho-app1-498124c2-a555-40bf-9059-ca9a26821eb0',
      issuedAccessKeyId: 'ASIA37QFXJP5MQOWRZ6Q',
      expiration: '2024-04-16T15:20:04.000Z',
      podTags: {
        'eks-cluster-arn': 'arn:aws:eks:us-west-2:823571991546:cluster/eksworkshop-eksctl',
        'eks-cluster-name': 'eksworkshop-eksctl',
        'kubernetes-namespace': 'ns-a',
        'kubernetes-service-account': 'sa1',
        'kubernetes-pod-name': 'app1',
        'kubernetes-pod-uid': '0cda7f85-c1f9-4dee-b6e9-a0b50c8f3012',
      },
    });
    const withOther = structuredClone(immersion[1]) as { requestParameters: { tags: unknown[] } };
    withOther.requestParameters.tags.push({ key: 'team', value: 'payments' });
    expect(Object.keys(action(withOther, 'AssumeRole').podTags ?? {})).not.toContain('team');
  });
});

describe('EKS Pod Identity and identity-provider operations (aws-cli example responses as records)', () => {
  it('CreatePodIdentityAssociation takes the association from the response', () => {
    expect(action(byName('CreatePodIdentityAssociation'), 'CreatePodIdentityAssociation')).toEqual({
      kind: 'CreatePodIdentityAssociation',
      cluster: 'eks-customer',
      association: {
        associationId: 'a-8mvwvh57cu74mgcst',
        associationArn: 'arn:aws:eks:us-west-2:111122223333:podidentityassociation/eks-customer/a-8mvwvh57cu74mgcst',
        namespace: 'default',
        serviceAccount: 'default',
        roleArn: 'arn:aws:iam::111122223333:role/my-role',
      },
    });
  });

  it('UpdatePodIdentityAssociation separates what the call set from the association after it', () => {
    const a = action(byName('UpdatePodIdentityAssociation'), 'UpdatePodIdentityAssociation');
    expect(a.associationId).toBe('a-9njjin9gfghecgocd');
    expect(a.roleArn).toBe('arn:aws:iam::111122223333:role/s3-role');
    expect(a.targetRoleArn).toBeUndefined();
    expect(a.after).toMatchObject({
      namespace: 'default',
      serviceAccount: 'default',
      associationId: 'a-9njjin9gfghecgocd',
    });
  });

  it.each([
    ['an empty targetRoleArn removes the target role', { targetRoleArn: '' }, { targetRoleArn: null }],
    ['an empty policy removes the session policy', { policy: '' }, { policy: null }],
    [
      'a target role, disabled session tags and a session policy are read',
      {
        targetRoleArn: 'arn:aws:iam::444455556666:role/cross-account-admin',
        disableSessionTags: true,
        policy: '{"Version":"2012-10-17"}',
      },
      {
        targetRoleArn: 'arn:aws:iam::444455556666:role/cross-account-admin',
        disableSessionTags: true,
        policy: '{"Version":"2012-10-17"}',
      },
    ],
  ])('UpdatePodIdentityAssociation: %s', (_what, extra, expected) => {
    const r = structuredClone(byName('UpdatePodIdentityAssociation')) as Record<string, Record<string, unknown>>;
    Object.assign(r['requestParameters'] as object, extra);
    expect(action(r, 'UpdatePodIdentityAssociation')).toMatchObject(expected);
  });

  it('CreatePodIdentityAssociation reads target role, external id and disabled session tags from the response', () => {
    const r = structuredClone(byName('CreatePodIdentityAssociation')) as {
      responseElements: { association: Record<string, unknown> };
    };
    Object.assign(r.responseElements.association, {
      targetRoleArn: 'arn:aws:iam::444455556666:role/cross-account-admin',
      externalId: '2c2c4b2e-aaaa-4bbb-8ccc-0123456789ab',
      disableSessionTags: true,
    });
    expect(action(r, 'CreatePodIdentityAssociation').association).toMatchObject({
      targetRoleArn: 'arn:aws:iam::444455556666:role/cross-account-admin',
      externalId: '2c2c4b2e-aaaa-4bbb-8ccc-0123456789ab',
      disableSessionTags: true,
    });
  });

  it('DeletePodIdentityAssociation keeps the deleted association', () => {
    expect(action(byName('DeletePodIdentityAssociation'), 'DeletePodIdentityAssociation')).toMatchObject({
      associationId: 'a-9njjin9gfghecgocd',
      before: { namespace: 'default', serviceAccount: 'default', roleArn: 'arn:aws:iam::111122223333:role/s3-role' },
    });
  });

  it('AssociateIdentityProviderConfig reads the config from the request (the response is only an update)', () => {
    expect(action(byName('AssociateIdentityProviderConfig'), 'AssociateIdentityProviderConfig')).toEqual({
      kind: 'AssociateIdentityProviderConfig',
      cluster: 'my-eks-cluster',
      config: {
        name: 'my-identity-provider',
        issuerUrl: 'https://oidc.eks.us-east-2.amazonaws.com/id/38D6A4619A0A69E342B113ED7F1A7652',
        clientId: 'kubernetes',
        usernameClaim: 'email',
        usernamePrefix: 'my-username-prefix',
        groupsClaim: 'my-claim',
        groupsPrefix: 'my-groups-prefix',
        requiredClaims: { Claim1: 'value1', Claim2: 'value2' },
      },
    });
  });

  it('DisassociateIdentityProviderConfig names the config by type and name', () => {
    expect(action(byName('DisassociateIdentityProviderConfig'), 'DisassociateIdentityProviderConfig')).toEqual({
      kind: 'DisassociateIdentityProviderConfig',
      cluster: 'my-eks-cluster',
      name: 'my-identity-provider',
      type: 'oidc',
    });
  });

  it('AssumeRoleForPodIdentity with the API response: subject, association, role session and key', () => {
    expect(action(byName('AssumeRoleForPodIdentity'), 'AssumeRoleForPodIdentity')).toEqual({
      kind: 'AssumeRoleForPodIdentity',
      cluster: 'eksworkshop-eksctl',
      issuedAccessKeyId: 'ASIAQAHCJ2QPPKHZNJFH',
      assumedRoleArn:
        'arn:aws:sts::111122223333:assumed-role/eks-pod-s3-readonly-access/eks-eks-ref-sc-app2-17903385-a093-4b17-9f47-97e9137a30fc',
      assumedRoleId: 'AROAQAHCJ2QPFDE3D2IDP:eks-eks-ref-sc-app2-17903385-a093-4b17-9f47-97e9137a30fc',
      subject: { namespace: 'ns-a', serviceAccount: 'app1' },
      associationArn:
        'arn:aws:eks:us-west-2:111122223333:podidentityassociation/eksworkshop-eksctl/a-lfw52xh1ihr1szuwp',
      associationId: 'a-lfw52xh1ihr1szuwp',
      audience: 'pods.eks.amazonaws.com',
      expiration: '2023-12-10T11:10:32+00:00',
    });
  });

  it('CreateCluster keeps the OIDC issuer of the cluster it describes', () => {
    expect(action(byName('CreateCluster'), 'CreateCluster').oidcIssuer).toBe(
      'https://oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW',
    );
  });

  it('AssumeRoleWithWebIdentity of an IRSA token keeps subject, provider and audience; the actor its provider', () => {
    const e = parsed(parseCloudTrailRecord(byName('AssumeRoleWithWebIdentity')));
    expect(e.actor.identityProvider).toBe(
      'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW',
    );
    expect(e.action).toMatchObject({
      api: 'AssumeRoleWithWebIdentity',
      subject: 'system:serviceaccount:monitoring:cost-exporter',
      issuer:
        'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW',
      audience: 'sts.amazonaws.com',
      issuedAccessKeyId: 'ASIAEXAMPLEIRSA00001',
    });
  });
});

describe('rejections of the new operations', () => {
  const patched = (name: string, patch: (r: Record<string, Record<string, unknown>>) => void) => {
    const r = structuredClone(byName(name)) as Record<string, Record<string, unknown>>;
    patch(r);
    return parseCloudTrailRecord(r);
  };
  it.each([
    [
      'an association without a namespace',
      'CreatePodIdentityAssociation',
      (r: Record<string, Record<string, unknown>>) => {
        const assoc = r['responseElements']?.['association'] as Record<string, unknown>;
        delete assoc['namespace'];
        delete r['requestParameters']?.['namespace'];
      },
      'CLOUDTRAIL_MISSING_FIELD',
    ],
    [
      'an association whose role is not an ARN',
      'CreatePodIdentityAssociation',
      (r: Record<string, Record<string, unknown>>) => {
        (r['responseElements']?.['association'] as Record<string, unknown>)['roleArn'] = 'my-role';
      },
      'CLOUDTRAIL_BAD_ARN',
    ],
    [
      'an update without an association id',
      'UpdatePodIdentityAssociation',
      (r: Record<string, Record<string, unknown>>) => {
        delete r['requestParameters']?.['associationId'];
        r['responseElements'] = {};
      },
      'CLOUDTRAIL_MISSING_FIELD',
    ],
    [
      'a provider config without an issuer',
      'AssociateIdentityProviderConfig',
      (r: Record<string, Record<string, unknown>>) => {
        const oidc = r['requestParameters']?.['oidc'] as Record<string, unknown>;
        delete oidc['issuerUrl'];
      },
      'CLOUDTRAIL_MISSING_FIELD',
    ],
    [
      'a disassociation that names no config',
      'DisassociateIdentityProviderConfig',
      (r: Record<string, Record<string, unknown>>) => {
        r['requestParameters'] = { name: 'my-eks-cluster' };
      },
      'CLOUDTRAIL_MISSING_FIELD',
    ],
    [
      'an EKS Auth response with a key but no assumed role',
      'AssumeRoleForPodIdentity',
      (r: Record<string, Record<string, unknown>>) => {
        delete r['responseElements']?.['assumedRoleUser'];
      },
      'CLOUDTRAIL_MISSING_FIELD',
    ],
    [
      'an EKS Auth call that names no cluster',
      'AssumeRoleForPodIdentity',
      (r: Record<string, Record<string, unknown>>) => {
        delete r['requestParameters']?.['clusterName'];
      },
      'CLOUDTRAIL_MISSING_FIELD',
    ],
  ])('%s is rejected with a stable code', (_kind, name, patch, code) => {
    const r = patched(name, patch);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.code)).toContain(code);
  });

  it('a failed AssumeRoleForPodIdentity parses with no key', () => {
    const r = structuredClone(immersion[0]) as Record<string, unknown>;
    r['errorCode'] = 'AccessDeniedException';
    r['errorMessage'] = 'no association';
    expect(action(r, 'AssumeRoleForPodIdentity').issuedAccessKeyId).toBe('');
  });
});

describe('tracked events of the EKS Auth API', () => {
  it('tracks AssumeRoleForPodIdentity from eks-auth only', () => {
    expect(TRACKED_EKS_AUTH_EVENTS).toEqual(['AssumeRoleForPodIdentity']);
    expect(isTrackedEvent('eks-auth.amazonaws.com', 'AssumeRoleForPodIdentity')).toBe(true);
    expect(isTrackedEvent('eks.amazonaws.com', 'AssumeRoleForPodIdentity')).toBe(false);
    expect(isTrackedEvent('eks.amazonaws.com', 'CreatePodIdentityAssociation')).toBe(true);
    expect(isTrackedEvent('eks.amazonaws.com', 'AssociateIdentityProviderConfig')).toBe(true);
  });
});

describe('totality of the new operations', () => {
  it('never throws on random values in any field the parser reads', () => {
    const field = fc.oneof(fc.jsonValue(), fc.string(), fc.constant(undefined), fc.constant(null));
    fc.assert(
      fc.property(
        fc.constantFrom(...constructed, ...immersion),
        fc.record(
          { requestParameters: field, responseElements: field, userIdentity: field, eventTime: field },
          { requiredKeys: [] },
        ),
        (base, patch) => {
          expect(typeof parseCloudTrailRecord({ ...base, ...patch }).ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('secrets of EKS Auth records are never kept (lib/sources/redact.ts)', () => {
  // The API returns the pod's session credentials and takes its service-account token; CloudTrail
  // masks them in the records seen, but a record that carries them must not bring them in.
  const withSecrets = (): Record<string, unknown> => {
    const r = structuredClone(byName('AssumeRoleForPodIdentity'));
    (r['requestParameters'] as Record<string, unknown>)['token'] = SYNTHETIC.accessToken;
    const res = r['responseElements'] as { credentials: Record<string, unknown> };
    res.credentials['sessionToken'] = SYNTHETIC.assumeRoleSessionToken;
    res.credentials['secretAccessKey'] = SYNTHETIC.password;
    return r;
  };
  const leaks = (text: string) =>
    [SYNTHETIC.accessToken, SYNTHETIC.assumeRoleSessionToken, SYNTHETIC.password].filter((s) => text.includes(s));

  it('parses the record with its key and without its token or secrets', () => {
    const e = parsed(parseCloudTrailRecord(withSecrets()));
    expect(e.action).toMatchObject({ kind: 'AssumeRoleForPodIdentity', issuedAccessKeyId: 'ASIAQAHCJ2QPPKHZNJFH' });
    expect(leaks(JSON.stringify(e))).toEqual([]);
  });

  it('keeps no secret in the raw text of a rejected record', () => {
    const r = withSecrets();
    delete (r['responseElements'] as { assumedRoleUser?: unknown }).assumedRoleUser;
    const out = parseCloudTrailRecord(r);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(leaks(out.raw)).toEqual([]);
  });
});
