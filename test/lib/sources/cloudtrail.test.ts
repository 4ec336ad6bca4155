import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeArnParam,
  isTrackedEvent,
  parseAwsActor,
  parseCloudTrailFile,
  parseCloudTrailRecord,
  parseEventBridgeEvent,
} from '../../../lib/sources/cloudtrail.js';
import type { CloudTrailEvent } from '../../../lib/sources/types.js';

const text = (name: string): string =>
  readFileSync(new URL(`../../fixtures/sources/cloudtrail/${name}`, import.meta.url), 'utf8');
const json = <T = Record<string, unknown>>(name: string): T => JSON.parse(text(name)) as T;

const parsed = (r: ReturnType<typeof parseCloudTrailRecord>): CloudTrailEvent => {
  if (!r.ok) throw new Error(`expected ok: ${JSON.stringify(r.issues)}`);
  return r.value;
};

/** The JSON code blocks of a stratus-red-team Detection string. */
const stratusBlocks = (name: string): string[] =>
  [...text(name).matchAll(/json\n(\{[\s\S]*?\n\})\n/g)].map((m) => m[1] as string);

const cliRecords = json<{ Records: Record<string, unknown>[] }>('eks-records-from-aws-cli-examples.json').Records;
const stsRecords = json<Record<string, unknown>[]>('sts-assume-role-records.json');

describe('real and corpus-derived records', () => {
  it('reads the 2018 AWS-docs CreateCluster: clusterName key, epoch createdAt, IAM user actor, defaults', () => {
    const e = parsed(parseCloudTrailRecord(json('awsdocs-createcluster-2018.json')));
    expect(e).toMatchObject({
      eventId: 'eab22523-174a-499c-9dd6-91e7be3ff8e3',
      eventTime: '2018-05-28T19:16:43Z',
      eventName: 'CreateCluster',
      eventSource: 'eks.amazonaws.com',
      region: 'region-code',
      recipientAccountId: '111122223333',
      sourceIPAddress: '205.251.233.178',
      userAgent: 'PostmanRuntime/6.4.0',
      succeeded: true,
      action: {
        kind: 'CreateCluster',
        cluster: 'test',
        // No accessConfig in 2018: the aws-auth era, creator bootstrapped as admin.
        authenticationMode: 'CONFIG_MAP',
        bootstrapClusterCreatorAdminPermissions: true,
        enabledLogTypes: [],
        clusterArn: 'arn:aws:eks:region-code:111122223333:cluster/test',
      },
    });
    expect(e.actor).toEqual({
      type: 'IAMUser',
      arn: 'arn:aws:iam::111122223333:user/username',
      canonicalArn: 'arn:aws:iam::111122223333:user/username',
      principalId: 'AKIAIOSFODNN7EXAMPLE',
      accountId: '111122223333',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: 'username',
    });
  });

  it('reads the rooty0 SSO userIdentity: path-less canonical role, session = e-mail, issuer with SSO path', () => {
    const record = json('rooty0-sso-createtags.json');
    expect(parseAwsActor(record.userIdentity)).toEqual({
      type: 'AssumedRole',
      arn: 'arn:aws:sts::062000000000:assumed-role/AWSReservedSSO_Admins_260008d6b2140109/example@domain.com',
      canonicalArn: 'arn:aws:iam::062000000000:role/AWSReservedSSO_Admins_260008d6b2140109',
      sessionName: 'example@domain.com',
      principalId: 'AROAQ24IPRMBUNTPNGG1D',
      accountId: '062000000000',
      accessKeyId: 'ASIAQ52IPRMBGR1W77WH',
      sessionIssuerArn:
        'arn:aws:iam::062000000000:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_Admins_260008d6b2140109',
    });
    // ec2 CreateTags is not tracked: an unsupported-event issue, counted as skipped in files.
    const r = parseCloudTrailRecord(record);
    expect(!r.ok && r.issues.map((i) => i.code)).toEqual(['CLOUDTRAIL_UNSUPPORTED_EVENT']);
    expect(parseCloudTrailFile(JSON.stringify({ Records: [record] }))).toEqual({
      parsed: [],
      rejected: [],
      skipped: 1,
    });
  });

  describe('stratus-red-team excerpts', () => {
    const [createBlock, associateBlock] = stratusBlocks('create-access-entry-detection-excerpt.txt');

    it('the excerpt with the trailing comma yields a structured CLOUDTRAIL_NOT_JSON error with the raw text', () => {
      const r = parseCloudTrailRecord(createBlock);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.issues[0]?.code).toBe('CLOUDTRAIL_NOT_JSON');
        expect(r.raw).toBe(createBlock);
      }
    });

    it('the valid but partial excerpt names every envelope field its authors cut', () => {
      const r = parseCloudTrailRecord(associateBlock);
      expect(!r.ok && r.issues.map((i) => `${i.code}:${i.path}`)).toEqual([
        'CLOUDTRAIL_MISSING_FIELD:eventID',
        'CLOUDTRAIL_MISSING_FIELD:eventTime',
        'CLOUDTRAIL_MISSING_FIELD:userIdentity',
      ]);
    });

    it('reads the fixed CreateAccessEntry copy', () => {
      const e = parsed(parseCloudTrailRecord(json('stratus-create-access-entry.fixed.json')));
      expect(e.action).toEqual({
        kind: 'CreateAccessEntry',
        cluster: 'eks-cluster',
        principalArn: 'arn:aws:iam::012345678901:role/stratus-red-team-eks-create-access-entry-role',
        entryType: 'STANDARD',
        kubernetesGroups: [],
      });
    });

    it('reads the completed AssociateAccessPolicy copy, percent-decoding the URI-label principalArn', () => {
      const e = parsed(parseCloudTrailRecord(json('stratus-associate-access-policy.completed.json')));
      expect(e.action).toEqual({
        kind: 'AssociateAccessPolicy',
        cluster: 'eks-cluster',
        principalArn: 'arn:aws:iam::012345678901:role/stratus-red-team-eks-create-access-entry-role',
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
        scope: { type: 'cluster', namespaces: [] },
      });
      expect(e.actor).toMatchObject({ principalId: 'AROAEXAMPLEID0000001', sessionName: 'stratus-red-team' });
    });
  });
});

describe('EKS access management (aws-cli example responses as CloudTrail records)', () => {
  const byIndex = (i: number): CloudTrailEvent => parsed(parseCloudTrailRecord(cliRecords[i]));

  it('CreateAccessEntry takes the effective username / groups / type from the response', () => {
    expect(byIndex(0).action).toEqual({
      kind: 'CreateAccessEntry',
      cluster: 'eks-customer',
      principalArn: 'arn:aws:iam::111122223333:user/eks-user',
      entryType: 'STANDARD',
      username: 'arn:aws:iam::111122223333:user/eks-user',
      kubernetesGroups: [],
      accessEntryArn:
        'arn:aws:eks:us-west-2:111122223333:access-entry/eks-customer/user/111122223333/eks-user/a1b2c3d4-5678-90ab-cdef-a6506e3d36p0',
    });
    expect(byIndex(1).action).toMatchObject({
      entryType: 'EC2_LINUX',
      username: 'system:node:{{EC2PrivateDNSName}}',
      kubernetesGroups: ['system:nodes'],
    });
  });

  it('UpdateAccessEntry separates what the call set from the entry after it', () => {
    expect(byIndex(2).action).toEqual({
      kind: 'UpdateAccessEntry',
      cluster: 'eks-customer',
      principalArn: 'arn:aws:iam::111122223333:role/Admin',
      kubernetesGroups: ['tester'],
      after: {
        kubernetesGroups: ['tester'],
        username: 'arn:aws:sts::111122223333:assumed-role/Admin/{{SessionName}}',
        entryType: 'STANDARD',
      },
    });
  });

  it('Delete / Associate / Disassociate decode their URI-label ARNs', () => {
    expect(byIndex(3).action).toEqual({
      kind: 'DeleteAccessEntry',
      cluster: 'eks-customer',
      principalArn: 'arn:aws:iam::111122223333:role/Admin',
    });
    expect(byIndex(4).action).toEqual({
      kind: 'AssociateAccessPolicy',
      cluster: 'eks-customer',
      principalArn: 'arn:aws:iam::111122223333:role/Admin',
      policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy',
      scope: { type: 'namespace', namespaces: ['default'] },
    });
    expect(byIndex(5).action).toEqual({
      kind: 'DisassociateAccessPolicy',
      cluster: 'eks-customer',
      principalArn: 'arn:aws:iam::111122223333:role/Admin',
      policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy',
    });
  });

  it('CreateCluster with logging; UpdateClusterConfig for logging on/off and auth mode; DeleteCluster', () => {
    expect(byIndex(6).action).toMatchObject({
      kind: 'CreateCluster',
      cluster: 'example',
      authenticationMode: 'CONFIG_MAP',
      enabledLogTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'],
    });
    expect(byIndex(7).action).toEqual({
      kind: 'UpdateClusterConfig',
      cluster: 'my-cluster',
      logging: { enabled: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'], disabled: [] },
    });
    expect(byIndex(8).action).toEqual({
      kind: 'UpdateClusterConfig',
      cluster: 'eks-customer',
      authenticationMode: 'API_AND_CONFIG_MAP',
    });
    expect(byIndex(9).action).toEqual({
      kind: 'UpdateClusterConfig',
      cluster: 'eks-customer',
      logging: { enabled: ['authenticator', 'audit'], disabled: ['scheduler', 'controllerManager'] },
    });
    expect(byIndex(10).action).toEqual({ kind: 'DeleteCluster', cluster: 'prod' });
  });

  it('CreateCluster reads accessConfig from the request, or the response when it echoes the cluster', () => {
    const base = cliRecords[6] as Record<string, unknown>;
    const req = base.requestParameters as Record<string, unknown>;
    const e = parsed(
      parseCloudTrailRecord({
        ...base,
        requestParameters: {
          ...req,
          accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false },
        },
      }),
    );
    expect(e.action).toMatchObject({ authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false });
    const res = base.responseElements as { cluster: Record<string, unknown> };
    const e2 = parsed(
      parseCloudTrailRecord({
        ...base,
        responseElements: { cluster: { ...res.cluster, accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' } } },
      }),
    );
    expect(e2.action).toMatchObject({
      authenticationMode: 'API_AND_CONFIG_MAP',
      bootstrapClusterCreatorAdminPermissions: true,
    });
  });

  it('a failed call parses with succeeded: false and its error', () => {
    const e = byIndex(12);
    expect(e).toMatchObject({
      succeeded: false,
      errorCode: 'ResourceInUseException',
      errorMessage: 'The specified access entry resource is already in use on this cluster.',
      action: { kind: 'CreateAccessEntry', principalArn: 'arn:aws:iam::111122223333:user/eks-user' },
    });
  });

  it('an SSO actor keeps the issuer path while the canonical ARN drops it', () => {
    expect(byIndex(0).actor).toMatchObject({
      canonicalArn: 'arn:aws:iam::111122223333:role/AWSReservedSSO_Admins_0123456789abcdef',
      sessionIssuerArn:
        'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_Admins_0123456789abcdef',
      sessionName: 'alice@example.com',
      principalId: 'AROAEXAMPLEADMIN0001',
    });
  });
});

describe('STS AssumeRole*', () => {
  const [assume, saml, web, denied] = stsRecords.map((r) => parsed(parseCloudTrailRecord(r)));

  it('AssumeRole: the issued key, session, source identity; CloudTrail locale expiration normalised', () => {
    expect(assume?.action).toEqual({
      kind: 'AssumeRole',
      api: 'AssumeRole',
      roleArn: 'arn:aws:iam::111122223333:role/eks-admins',
      roleSessionName: 'bob-session',
      issuedAccessKeyId: 'ASIAEXAMPLEISSUED001',
      assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/eks-admins/bob-session',
      assumedRoleId: 'AROAEXAMPLEEKSADMIN1:bob-session',
      expiration: '2025-06-05T09:00:00.000Z',
      sourceIdentity: 'bob',
    });
    expect(assume?.actor).toMatchObject({ type: 'IAMUser', userName: 'bob', accessKeyId: 'AKIAEXAMPLEBOB000001' });
  });

  it('AssumeRoleWithSAML: session from the assumed-role ARN, SAML subject and issuer', () => {
    expect(saml?.action).toMatchObject({
      api: 'AssumeRoleWithSAML',
      roleArn: 'arn:aws:iam::111122223333:role/okta-eks-readers',
      roleSessionName: 'carol@example.com',
      issuedAccessKeyId: 'ASIAEXAMPLEISSUED002',
      subject: 'carol@example.com',
      issuer: 'http://www.okta.com/exk0example',
      expiration: '2025-06-05T09:05:00Z',
    });
    // A SAMLUser has no ARN; its principalId keeps its colon; identityProvider names the provider.
    expect(saml?.actor).toEqual({
      type: 'SAMLUser',
      principalId: 'EXAMPLEnameQualifier=:carol@example.com',
      userName: 'carol@example.com',
      identityProvider: 'EXAMPLEnameQualifier=',
    });
  });

  it('AssumeRoleWithWebIdentity: subjectFromWebIdentityToken and provider', () => {
    expect(web?.action).toMatchObject({
      api: 'AssumeRoleWithWebIdentity',
      subject: 'repo:example-org/deploy:ref:refs/heads/main',
      issuer: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com',
      issuedAccessKeyId: 'ASIAEXAMPLEISSUED003',
    });
  });

  it('a denied AssumeRole parses with no issued key (empty string) and succeeded: false', () => {
    expect(denied).toMatchObject({
      succeeded: false,
      errorCode: 'AccessDenied',
      action: { api: 'AssumeRole', issuedAccessKeyId: '', roleSessionName: 'mallory' },
    });
  });

  it('a successful AssumeRole without credentials is rejected: the key is the join', () => {
    const r = parseCloudTrailRecord({ ...stsRecords[0], responseElements: { assumedRoleUser: {} } });
    expect(!r.ok && r.issues.map((i) => `${i.code}:${i.path}`)).toEqual([
      'CLOUDTRAIL_MISSING_FIELD:responseElements.credentials.accessKeyId',
    ]);
  });
});

describe('EventBridge envelope', () => {
  const events = json<Record<string, unknown>[]>('eventbridge-cloudtrail-events.json');

  it('unwraps detail and uses detail.eventID, not the envelope id', () => {
    const e = parsed(parseEventBridgeEvent(events[0]));
    expect(e.eventId).toBe('e0e0e0e0-0000-4000-8000-000000000001');
    expect(e.action.kind).toBe('CreateAccessEntry');
    expect(parsed(parseEventBridgeEvent(JSON.stringify(events[2]))).action.kind).toBe('AssumeRole');
  });

  it('fills what detail lacks from the envelope (id, time, region, account)', () => {
    const ev = events[1] as Record<string, unknown>;
    const {
      eventID: _id,
      eventTime: _t,
      awsRegion: _r,
      recipientAccountId: _a,
      ...detail
    } = ev.detail as Record<string, unknown>;
    const e = parsed(parseEventBridgeEvent({ ...ev, detail }));
    expect(e).toMatchObject({
      eventId: '7c1a0c1e-0000-4000-8000-0000000000a2',
      eventTime: '2025-05-24T20:59:51Z',
      region: 'us-west-2',
      recipientAccountId: '111122223333',
    });
  });

  it.each([
    [
      'another detail-type',
      'ENVELOPE_SHAPE',
      'detail-type',
      { ...(events[0] as object), 'detail-type': 'EC2 Instance State-change Notification' },
    ],
    [
      'the powertools EC2 sample',
      'ENVELOPE_SHAPE',
      'detail-type',
      JSON.parse(
        readFileSync(new URL('../../fixtures/sources/cwl/powertools-eventbridge-base.json', import.meta.url), 'utf8'),
      ),
    ],
    ['detail not an object', 'ENVELOPE_SHAPE', 'detail', { ...(events[0] as object), detail: 'x' }],
    [
      'a record problem, path under detail',
      'CLOUDTRAIL_MISSING_FIELD',
      'detail.userIdentity',
      {
        ...(events[0] as object),
        detail: { ...((events[0] as Record<string, unknown>).detail as object), userIdentity: undefined },
      },
    ],
    ['not JSON', 'CLOUDTRAIL_NOT_JSON', undefined, '{'],
  ])('%s -> %s', (_name, code, path, input) => {
    const r = parseEventBridgeEvent(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe(code);
      expect(r.issues[0]?.path).toBe(path);
    }
  });
});

describe('files', () => {
  it('a CloudTrail log file, plain and gzip: parsed, skipped (DescribeCluster) and nothing rejected', () => {
    const plain = text('eks-records-from-aws-cli-examples.json');
    const r = parseCloudTrailFile(plain);
    expect([r.parsed.length, r.skipped, r.rejected.length]).toEqual([12, 1, 0]);
    expect(r.parsed.map((e) => e.eventName)).toEqual([
      'CreateAccessEntry',
      'CreateAccessEntry',
      'UpdateAccessEntry',
      'DeleteAccessEntry',
      'AssociateAccessPolicy',
      'DisassociateAccessPolicy',
      'CreateCluster',
      'UpdateClusterConfig',
      'UpdateClusterConfig',
      'UpdateClusterConfig',
      'DeleteCluster',
      'CreateAccessEntry',
    ]);
    expect(parseCloudTrailFile(gzipSync(plain))).toEqual(r);
    expect(parseCloudTrailFile(Buffer.from(plain))).toEqual(r);
  });

  it('`aws cloudtrail lookup-events` output: CloudTrailEvent strings', () => {
    const r = parseCloudTrailFile(text('lookup-events-output.json'));
    expect(r.parsed.map((e) => e.eventId)).toEqual([
      'e0e0e0e0-0000-4000-8000-000000000001',
      'e0e0e0e0-0000-4000-8000-000000000005',
    ]);
    expect(r.skipped).toBe(1);
  });

  it('a JSON array of EventBridge events, JSON lines and appended documents', () => {
    expect(parseCloudTrailFile(text('eventbridge-cloudtrail-events.json')).parsed).toHaveLength(3);
    const lines = `${stsRecords.map((r) => JSON.stringify(r)).join('\n')}\n`;
    const r = parseCloudTrailFile(lines);
    expect(r.parsed.map((e) => e.action.kind === 'AssumeRole' && e.action.api)).toEqual([
      'AssumeRole',
      'AssumeRoleWithSAML',
      'AssumeRoleWithWebIdentity',
      'AssumeRole',
    ]);
    const appended = parseCloudTrailFile(
      `${text('lookup-events-output.json')}\n${text('awsdocs-createcluster-2018.json')}`,
    );
    expect([appended.parsed.length, appended.skipped]).toEqual([3, 1]);
  });

  it('keeps good records next to bad ones, with the record index in the issue path', () => {
    const bad = {
      ...(cliRecords[0] as object),
      eventID: undefined,
      requestParameters: { name: 'c', principalArn: 'not-an-arn' },
      responseElements: null,
    };
    const r = parseCloudTrailFile(JSON.stringify({ Records: [cliRecords[3], bad, 7] }));
    expect(r.parsed).toHaveLength(1);
    expect(r.rejected.map((x) => x.issues.map((i) => `${i.code}:${i.path}`))).toEqual([
      ['CLOUDTRAIL_MISSING_FIELD:Records[1].eventID', 'CLOUDTRAIL_BAD_ARN:Records[1].requestParameters.principalArn'],
      ['CLOUDTRAIL_SHAPE:Records[2]'],
    ]);
  });

  it.each([
    ['empty text', 'CLOUDTRAIL_NOT_JSON', ''],
    ['free text', 'CLOUDTRAIL_NOT_JSON', 'hello'],
    ['a cut file', 'CLOUDTRAIL_NOT_JSON', '{"Records":[{"eventName":'],
    ['a broken gzip', 'ENVELOPE_NOT_GZIP', gzipSync('{"Records":[]}').subarray(0, 15)],
  ])('%s -> one rejection %s', (_name, code, input) => {
    const r = parseCloudTrailFile(input);
    expect(r.parsed).toEqual([]);
    expect(r.rejected.map((x) => x.issues[0]?.code)).toEqual([code]);
  });
});

describe('record rejections', () => {
  const good = cliRecords[4] as Record<string, unknown>;
  const req = good.requestParameters as Record<string, unknown>;
  const with_ = (patch: Record<string, unknown>): Record<string, unknown> => ({ ...good, ...patch });

  it.each([
    ['not an object', 'CLOUDTRAIL_SHAPE', undefined, [good]],
    ['not JSON text', 'CLOUDTRAIL_NOT_JSON', undefined, '{"eventName"'],
    ['no eventName', 'CLOUDTRAIL_MISSING_FIELD', 'eventName', with_({ eventName: undefined })],
    ['no eventSource', 'CLOUDTRAIL_MISSING_FIELD', 'eventSource', with_({ eventSource: undefined })],
    [
      'ECS CreateCluster (same name, other service)',
      'CLOUDTRAIL_UNSUPPORTED_EVENT',
      'eventName',
      with_({ eventSource: 'ecs.amazonaws.com', eventName: 'CreateCluster' }),
    ],
    ['DescribeAccessEntry', 'CLOUDTRAIL_UNSUPPORTED_EVENT', 'eventName', with_({ eventName: 'DescribeAccessEntry' })],
    ['no eventID', 'CLOUDTRAIL_MISSING_FIELD', 'eventID', with_({ eventID: undefined })],
    ['unreadable eventTime', 'CLOUDTRAIL_SHAPE', 'eventTime', with_({ eventTime: 'soon' })],
    ['userIdentity not an object', 'CLOUDTRAIL_MISSING_FIELD', 'userIdentity', with_({ userIdentity: 'x' })],
    ['requestParameters a string', 'CLOUDTRAIL_SHAPE', 'requestParameters', with_({ requestParameters: 'x' })],
    [
      'no cluster name',
      'CLOUDTRAIL_MISSING_FIELD',
      'requestParameters.name',
      with_({ requestParameters: { ...req, name: undefined }, responseElements: null }),
    ],
    [
      'principalArn not an ARN',
      'CLOUDTRAIL_BAD_ARN',
      'requestParameters.principalArn',
      with_({ requestParameters: { ...req, principalArn: 'Admin' }, responseElements: null }),
    ],
    [
      'no access scope',
      'CLOUDTRAIL_MISSING_FIELD',
      'requestParameters.accessScope',
      with_({ requestParameters: { ...req, accessScope: undefined }, responseElements: null }),
    ],
    [
      'unknown scope type',
      'CLOUDTRAIL_SHAPE',
      'requestParameters.accessScope.type',
      with_({ requestParameters: { ...req, accessScope: { type: 'global' } } }),
    ],
    [
      'unknown auth mode',
      'CLOUDTRAIL_SHAPE',
      'requestParameters.accessConfig.authenticationMode',
      { ...(cliRecords[8] as object), requestParameters: { name: 'c', accessConfig: { authenticationMode: 'IAM' } } },
    ],
    [
      'AssumeRole without roleArn',
      'CLOUDTRAIL_MISSING_FIELD',
      'requestParameters.roleArn',
      { ...stsRecords[0], requestParameters: {} },
    ],
  ])('%s -> %s', (_name, code, path, input) => {
    const r = parseCloudTrailRecord(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe(code);
      expect(r.issues[0]?.path).toBe(path);
      expect(typeof r.raw).toBe('string');
    }
  });
});

describe('helpers', () => {
  it.each([
    ['arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa', 'arn:aws:iam::1:role/a'],
    ['arn:aws:iam::1:role/a', 'arn:aws:iam::1:role/a'],
    // A literal '+' is not a space here: only %-escapes are decoded.
    ['arn:aws:iam::1:role/a+b', 'arn:aws:iam::1:role/a+b'],
    ['arn%ZZ', 'arn%ZZ'],
  ])('decodeArnParam(%s) = %s', (input, expected) => {
    expect(decodeArnParam(input)).toBe(expected);
  });

  it('tracks only the EKS and STS events of their own service', () => {
    expect(isTrackedEvent('eks.amazonaws.com', 'CreateAccessEntry')).toBe(true);
    expect(isTrackedEvent('sts.amazonaws.com', 'AssumeRoleWithSAML')).toBe(true);
    expect(isTrackedEvent('sts.amazonaws.com', 'GetCallerIdentity')).toBe(false);
    expect(isTrackedEvent('ecs.amazonaws.com', 'DeleteCluster')).toBe(false);
  });

  it('reads Identity Center onBehalfOf and service invokedBy', () => {
    expect(
      parseAwsActor({
        type: 'IdentityCenterUser',
        accountId: '1',
        onBehalfOf: { userId: '9067-abc', identityStoreArn: 'arn:x' },
      }),
    ).toEqual({ type: 'IdentityCenterUser', accountId: '1', identityStoreUserId: '9067-abc' });
    expect(parseAwsActor({ type: 'AWSService', invokedBy: 'eks.amazonaws.com' })).toEqual({
      type: 'AWSService',
      invokedBy: 'eks.amazonaws.com',
    });
    expect(parseAwsActor(null)).toEqual({ type: 'Unknown' });
  });
});

describe('totality', () => {
  it('no parser throws on arbitrary JSON values, strings or bytes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(typeof parseCloudTrailRecord(v).ok).toBe('boolean');
        expect(typeof parseEventBridgeEvent(v).ok).toBe('boolean');
        expect(typeof parseAwsActor(v).type).toBe('string');
        const f = parseCloudTrailFile(JSON.stringify(v) ?? '');
        expect(f.parsed.length + f.rejected.length + f.skipped).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 200 }), (s, bytes) => {
        expect(typeof parseCloudTrailRecord(s).ok).toBe('boolean');
        expect(Array.isArray(parseCloudTrailFile(s).rejected)).toBe(true);
        expect(Array.isArray(parseCloudTrailFile(bytes).rejected)).toBe(true);
        expect(Array.isArray(parseCloudTrailFile(gzipSync(bytes)).rejected)).toBe(true);
      }),
      { numRuns: 300 },
    );
    // Records with random values in every field the parser reads.
    const field = fc.oneof(fc.jsonValue(), fc.string(), fc.constant(undefined));
    fc.assert(
      fc.property(
        fc.constantFrom(...cliRecords, ...stsRecords),
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
    expect(parseCloudTrailFile(undefined as unknown as string).rejected).toHaveLength(1);
  });
});
