import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { validateTrailConfig } from '../../cdk/config.js';
import { FUNCTION_MEMORY_MB } from '../../cdk/function-settings.js';
import { ENV } from '../../lib/runtime-env.js';
import { CENTRAL, multiAccountInput, synthApp } from './support/trail-apps.js';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk nested template and record fields
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

const LAKE = {
  apiActivityLocation: 's3://aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-api-activity/1.0/',
  entityManagementLocation: 's3://aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-entity-management/1.0/',
  providerRoleArn: 'arn:aws:iam::111111111111:role/AmazonSecurityLake-Provider-eks-trail-eu-west-1',
  externalId: 'eks-trail-external-id',
};

const central = (input: unknown) => {
  const t = Template.fromStack(synthApp(input).stacks.central);
  return { t, resources: t.toJSON().Resources as Resources };
};
const exportFunction = (resources: Resources) =>
  Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'ocsf-export',
  );
const statementsOfRole = (resources: Resources, roleRefPrefix: RegExp) =>
  Object.values(resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: { Ref: string }) => roleRefPrefix.test(x.Ref)),
    )
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);

describe('central stack: OCSF export', () => {
  it('adds nothing when the ocsfExport prop is absent', () => {
    const { resources } = central(multiAccountInput);
    expect(exportFunction(resources)).toBeUndefined();
    expect(Object.values(resources).some((r) => r.Type.startsWith('AWS::Glue::'))).toBe(false);
  });

  describe('to its own bucket', () => {
    const { t, resources } = central({ ...multiAccountInput, ocsfExport: { intervalMinutes: 30 } });

    it('runs the export function on the interval, reading the table, with the locations and cluster regions', () => {
      const fn = exportFunction(resources);
      expect(fn).toBeDefined();
      const vars = fn?.Properties.Environment.Variables;
      expect(vars[ENV.ocsfIntervalMinutes]).toBe('30');
      expect(vars[ENV.ocsfLagMinutes]).toBe('15');
      expect(vars[ENV.ocsfRegion]).toBe(CENTRAL.region);
      expect(JSON.parse(vars[ENV.ocsfClusterRegions])).toEqual({
        '222222222222/prod': 'eu-west-1',
        '222222222222/prod-us': 'us-west-2',
        '333333333333/staging': 'eu-west-1',
      });
      expect(JSON.stringify(vars[ENV.ocsfApiActivityLocation])).toContain('/ext/eks-trail-api-activity');
      expect(vars).toHaveProperty(ENV.tableName);
      expect(vars).not.toHaveProperty(ENV.ocsfWriterRoleArn);
      expect(fn?.Properties.ReservedConcurrentExecutions).toBe(1);
      expect(fn?.Properties.MemorySize).toBe(FUNCTION_MEMORY_MB['ocsf-export']);
      t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
    });

    it('keeps the objects in a KMS-encrypted, versioned, SSL-only, logged bucket that outlives the stack', () => {
      t.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              Match.objectLike({
                ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }),
                BucketKeyEnabled: true,
              }),
            ],
          },
          VersioningConfiguration: { Status: 'Enabled' },
          PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
          LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'ocsf-export/' }),
        }),
      });
    });

    it('lets the function put objects under ext/ only, and nothing else in S3', () => {
      const actions = statementsOfRole(resources, /^OcsfExportFunctionRole/).flatMap((s) => [s.Action].flat());
      expect(actions.filter((a) => a.startsWith('s3:'))).toEqual(['s3:PutObject']);
      expect(actions).toContain('kms:GenerateDataKey');
      expect(actions.some((a) => a.includes('*'))).toBe(false);
    });

    it('creates the Glue crawler role Security Lake asks for, and a crawler over both sources with encrypted logs', () => {
      t.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'glue.amazonaws.com' } })],
        }),
        ManagedPolicyArns: [
          Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('AWSGlueServiceRole')])] }),
        ],
      });
      const crawler = Object.values(resources).find((r) => r.Type === 'AWS::Glue::Crawler');
      expect(crawler?.Properties.Targets.S3Targets).toHaveLength(2);
      expect(crawler?.Properties.CrawlerSecurityConfiguration).toBeDefined();
      t.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
        EncryptionConfiguration: Match.objectLike({
          CloudWatchEncryption: Match.objectLike({ CloudWatchEncryptionMode: 'SSE-KMS' }),
        }),
      });
      t.hasOutput('OcsfCrawlerRoleArn', {});
      t.hasOutput('OcsfExportFunctionRoleArn', {});
    });

    it('alarms when an export run fails', () => {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmDescription: Match.stringLikeRegexp('OCSF export failed'),
      });
    });
  });

  describe('into Security Lake', () => {
    const { resources } = central({ ...multiAccountInput, ocsfExport: { securityLake: LAKE } });

    it('assumes the provider role Security Lake created, with its external id, and creates no bucket', () => {
      const vars = exportFunction(resources)?.Properties.Environment.Variables;
      expect(vars[ENV.ocsfApiActivityLocation]).toBe(LAKE.apiActivityLocation);
      expect(vars[ENV.ocsfEntityManagementLocation]).toBe(LAKE.entityManagementLocation);
      expect(vars[ENV.ocsfWriterRoleArn]).toBe(LAKE.providerRoleArn);
      expect(vars[ENV.ocsfWriterExternalId]).toBe(LAKE.externalId);
      const stmts = statementsOfRole(resources, /^OcsfExportFunctionRole/);
      expect(stmts).toContainEqual(
        expect.objectContaining({ Action: 'sts:AssumeRole', Resource: LAKE.providerRoleArn }),
      );
      expect(Object.values(resources).some((r) => r.Type === 'AWS::S3::Bucket')).toBe(false);
    });

    it("lets the crawler role read the sources' locations", () => {
      const stmts = statementsOfRole(resources, /^OcsfExportCrawlerRole/);
      const reads = stmts.filter((s) => s.Action === 's3:GetObject').map((s) => JSON.stringify(s.Resource));
      expect(
        reads.some((r) => r.includes('aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-api-activity/1.0/*')),
      ).toBe(true);
      expect(
        reads.some((r) => r.includes('aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-entity-management/1.0/*')),
      ).toBe(true);
    });
  });
});

describe('ocsfExport configuration', () => {
  const check = (ocsfExport: unknown) => validateTrailConfig({ ...multiAccountInput, ocsfExport }, CENTRAL);

  it('fills defaults', () => {
    const r = check({});
    expect(r.ok && r.value.ocsfExport).toEqual({
      intervalMinutes: 60,
      lagMinutes: 15,
      apiActivitySourceName: 'eks-trail-api-activity',
      entityManagementSourceName: 'eks-trail-entity-management',
    });
  });

  it.each([
    ['not an object', 'yes', 'ocsfExport'],
    ['an unknown key', { interval: 5 }, 'ocsfExport.interval'],
    ['an interval under 5 minutes', { intervalMinutes: 1 }, 'ocsfExport.intervalMinutes'],
    ['an interval over a day', { intervalMinutes: 1441 }, 'ocsfExport.intervalMinutes'],
    ['a negative lag', { lagMinutes: -1 }, 'ocsfExport.lagMinutes'],
    ['a source name with a slash', { apiActivitySourceName: 'a/b' }, 'ocsfExport.apiActivitySourceName'],
    [
      'a lake location that is not s3://',
      { securityLake: { ...LAKE, apiActivityLocation: 'https://x' } },
      'ocsfExport.securityLake.apiActivityLocation',
    ],
    [
      'a provider role that is not a role ARN',
      { securityLake: { ...LAKE, providerRoleArn: 'role' } },
      'ocsfExport.securityLake.providerRoleArn',
    ],
    ['no external id', { securityLake: { ...LAKE, externalId: '' } }, 'ocsfExport.securityLake.externalId'],
    ['an unknown lake key', { securityLake: { ...LAKE, bucket: 'x' } }, 'ocsfExport.securityLake.bucket'],
  ])('refuses %s', (_kind, input, path) => {
    const r = check(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.path)).toContain(path);
  });
});
