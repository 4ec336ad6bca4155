import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { acknowledge, MIN_ACK_REASON_LENGTH } from '../../cdk/nag.js';
import { multiAccountInput, synthApp } from './support/trail-apps.js';

const allConstructs = (root: IConstruct): IConstruct[] => [root, ...root.node.children.flatMap(allConstructs)];

/** Every acknowledgement recorded in the tree: rule id -> reason. */
const acknowledgements = (root: IConstruct) =>
  allConstructs(root).flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ path: c.node.path, id, reason })),
  );

/** The OCSF export's acknowledgements, read and accepted (cdk/constructs/ocsf-export.ts). */
const OCSF_CRAWLER_ACKS = [
  'OcsfExport/CrawlerRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSGlueServiceRole]',
];
const OCSF_OWN_BUCKET_ACKS = [
  ...OCSF_CRAWLER_ACKS,
  'OcsfExport/AccessLogs AwsSolutions-S1',
  'OcsfExport/AccessLogs CloudFormation-Validate::W3045',
  'OcsfExport/CrawlerRole AwsSolutions-IAM5[Resource::<OcsfExportBucketC9E94A27.Arn>/ext/*]',
  'OcsfExport/CrawlerRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:eu-west-1:111111111111:log-group:/aws-glue/crawlers-role/*]',
  'OcsfExport/Function/Role AwsSolutions-IAM5[Resource::<OcsfExportBucketC9E94A27.Arn>/ext/*]',
];

const GENERIC = /^(ok|fine|n\/a|not needed|false positive|suppressed|acknowledged|by design|intended|todo)\b/i;

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['multi-account (accounts)', multiAccountInput],
    [
      'multi-account (organization)',
      { ...multiAccountInput, memberAccountIds: undefined, organizationId: 'o-a1b2c3d4e5' },
    ],
    ['single-account', { mode: 'single-account', clusters: [{ name: 'prod', enableControlPlaneLogging: true }] }],
    [
      'multi-account with the OCSF export to its own bucket',
      { ...multiAccountInput, ocsfExport: {} },
      OCSF_OWN_BUCKET_ACKS,
    ],
    [
      'multi-account with alerts imported into Security Hub on a bus of its own',
      { ...multiAccountInput, alertRouting: { eventBusName: 'security-findings', securityHub: true } },
    ],
    [
      'multi-account with the OCSF export into Security Lake',
      {
        ...multiAccountInput,
        ocsfExport: {
          securityLake: {
            apiActivityLocation: 's3://aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-api-activity/1.0/',
            entityManagementLocation:
              's3://aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-entity-management/1.0/',
            providerRoleArn:
              'arn:aws:iam::111111111111:role/AmazonSecurityLake-Provider-eks-trail-api-activity-eu-west-1',
            externalId: 'eks-trail-external-id',
          },
        },
      },
      [
        ...OCSF_CRAWLER_ACKS,
        'OcsfExport/CrawlerRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-api-activity/1.0/*]',
        'OcsfExport/CrawlerRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-entity-management/1.0/*]',
      ],
    ],
  ])('synthesizes the %s app with no unacknowledged finding', (_mode, input, extraAcks: string[] = []) => {
    const { app } = synthApp(input, { nag: true });
    // Synthesis throws and lists the findings when any is left.
    expect(() => app.synth()).not.toThrow();
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(MIN_ACK_REASON_LENGTH);
      expect(a.reason, `${a.path} ${a.id}`).not.toMatch(GENERIC);
    }
    // Granular rules are acknowledged finding by finding, never wholesale.
    for (const a of acks.filter((x) => /IAM[45]/.test(x.id))) expect(a.id).toMatch(/\[.+\]$/);
    // The reviewed list: a new acknowledgement must be added here, with its reason read.
    const reviewed = acks.map((a) => `${a.path.replace(/^[^/]+\//, '')} ${a.id.replace(/^Annotation::/, '')}`);
    expect([...new Set(reviewed)].sort()).toEqual(
      [
        'LogStream AwsSolutions-KDS3',
        'LogIngestFailures AwsSolutions-SQS3',
        'EventDeliveryDlq AwsSolutions-SQS3',
        'ForwardDlq AwsSolutions-SQS3',
        ...extraAcks,
      ].sort(),
    );
    // No AWS managed policy anywhere but the Glue crawler role Security Lake asks for.
    expect(acks.filter((a) => a.id.includes('IAM4')).map((a) => a.path.replace(/^[^/]+\//, ''))).toEqual(
      extraAcks.filter((a) => a.includes('IAM4')).map((a) => a.split(' ')[0]),
    );
  });

  it('still reports a real finding (the plugin is active, not silenced wholesale)', () => {
    const { app, stacks } = synthApp(multiAccountInput, { nag: true });
    // A wildcard grant nobody acknowledged must fail synthesis.
    stacks.central.queryApi.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    expect(() => app.synth()).toThrow(/IAM5/);
  });

  it.each([
    ['empty', ''],
    ['too short to explain anything', 'needed by the app'],
  ])('refuses an acknowledgement whose reason is %s', (_kind, reason) => {
    const { stacks } = synthApp(multiAccountInput);
    expect(() => acknowledge(stacks.central, 'AwsSolutions-IAM5', reason)).toThrow(/specific reason/);
  });
});
