import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_READ_ACTIONS, TABLE_WRITE_ACTIONS } from '../../cdk/constructs/trail-table.js';
import { FUNCTION_MEMORY_MB, FUNCTION_NODE_OPTIONS } from '../../cdk/function-settings.js';
import { ENV, METRICS } from '../../lib/runtime-env.js';
import { TABLE_SCHEMA } from '../../lib/store/table-schema.js';
import { MEMBER_ACCOUNT, multiAccountInput, OTHER_MEMBER_ACCOUNT, synthApp } from './support/trail-apps.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

let template: Template;
let orgTemplate: Template;
let resources: Resources;

beforeAll(() => {
  const { stacks } = synthApp(multiAccountInput);
  template = Template.fromStack(stacks.central);
  resources = template.toJSON().Resources as Resources;
  orgTemplate = Template.fromStack(
    synthApp({ ...multiAccountInput, memberAccountIds: undefined, organizationId: 'o-a1b2c3d4e5' }).stacks.central,
  );
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalIdOf = (type: string, pred: (p: Record<string, unknown>) => boolean) => {
  const found = ofType(type).find(([, r]) => pred(r.Properties ?? {}));
  if (!found) throw new Error(`no ${type} matching`);
  return found[0];
};
/**
 * The IAM policy statements granting to the role of a function whose POWERTOOLS_SERVICE_NAME is
 * `service` (Allow only: the writers' Deny of the digest partitions is tested in digest-signer.test.ts).
 */
const statementsOf = (service: string): { Action: string | string[]; Resource: unknown }[] => {
  const [, fn] = ofType('AWS::Lambda::Function').find(
    ([, r]) =>
      (r.Properties.Environment as { Variables: Record<string, string> } | undefined)?.Variables
        .POWERTOOLS_SERVICE_NAME === service,
  )!;
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Effect: string }[] }).Statement)
    .filter((st) => st.Effect !== 'Deny') as never[];
};
const actionsOf = (service: string) => statementsOf(service).flatMap((s) => [s.Action].flat());

describe('central stack: log ingestion', () => {
  it('maps the Kinesis stream to log-ingest with partial batch responses, bisection, bounded retries and an on-failure queue', () => {
    const failures = logicalIdOf('AWS::SQS::Queue', () => true);
    expect(failures).toBeTruthy();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogStream'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 6 * 3600,
      StartingPosition: 'TRIM_HORIZON',
      ParallelizationFactor: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogIngestFailures'), 'Arn'] } },
      },
    });
  });

  it('feeds cloudtrail-ingest from the SQS queue with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CloudTrailQueue'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('encrypts the stream with its own customer-managed key and uses the configured shard count', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      Name: 'eks-access-trail',
      ShardCount: 2,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      StreamEncryption: {
        EncryptionType: 'KMS',
        KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StreamKey'), 'Arn'] },
      },
    });
  });

  it('uses on-demand capacity when no shard count is configured', () => {
    const t = Template.fromStack(synthApp({ ...multiAccountInput, kinesisShards: 0 }).stacks.central);
    t.hasResourceProperties('AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
  });

  it('admits exactly the configured member accounts on the log destination', () => {
    const [, dest] = ofType('AWS::Logs::Destination')[0]!;
    const joined = (dest.Properties.DestinationPolicy as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]
      .map((p) => (typeof p === 'string' ? p : '<partition>'))
      .join('');
    const policy = JSON.parse(joined) as {
      Statement: { Principal: { AWS: string[] }; Action: string; Resource: string }[];
    };
    expect(policy.Statement).toHaveLength(1);
    const principals = [policy.Statement[0]!.Principal.AWS].flat().sort();
    expect(principals).toEqual([
      `arn:<partition>:iam::${MEMBER_ACCOUNT}:root`,
      `arn:<partition>:iam::${OTHER_MEMBER_ACCOUNT}:root`,
    ]);
    expect(policy.Statement[0]!.Action).toBe('logs:PutSubscriptionFilter');
    expect(policy.Statement[0]!.Resource).toBe(
      'arn:<partition>:logs:eu-west-1:111111111111:destination:eks-access-trail',
    );
  });

  it('admits the whole organization by aws:PrincipalOrgID when an organization is configured', () => {
    const [, dest] = Object.entries(orgTemplate.findResources('AWS::Logs::Destination'))[0]!;
    const text = JSON.stringify(dest.Properties.DestinationPolicy);
    expect(text).toContain('\\"aws:PrincipalOrgID\\":\\"o-a1b2c3d4e5\\"');
    expect(text).toContain('\\"Principal\\":\\"*\\"');
    orgTemplate.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: {
        Action: 'events:PutEvents',
        Principal: '*',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
      },
    });
  });

  it('lets CloudWatch Logs assume the destination role only for log groups of admitted accounts, to put records only', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'eks-access-trail-cwl-to-kinesis-eu-west-1',
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'logs.amazonaws.com' },
            Condition: {
              StringLike: {
                'aws:SourceArn': Match.arrayWith([
                  { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:logs:*:${MEMBER_ACCOUNT}:*`]] },
                ]),
              },
            },
          }),
        ],
      },
    });
    const roleId = logicalIdOf('AWS::IAM::Role', (p) => p.RoleName === 'eks-access-trail-cwl-to-kinesis-eu-west-1');
    const actions = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement)
      .flatMap((s) => [s.Action].flat())
      .sort();
    expect(actions).toEqual(['kinesis:PutRecord', 'kinesis:PutRecords', 'kms:GenerateDataKey']);
  });
});

describe('central stack: CloudTrail events', () => {
  it('admits exactly the member accounts on the custom bus', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'eks-access-trail' });
    const policies = ofType('AWS::Events::EventBusPolicy');
    expect(policies).toHaveLength(1);
    const statement = policies[0]![1].Properties.Statement as { Principal: { AWS: unknown }; Action: string };
    expect(statement.Action).toBe('events:PutEvents');
    expect(JSON.stringify(statement.Principal.AWS)).toContain(`:iam::${MEMBER_ACCOUNT}:root`);
    expect(JSON.stringify(statement.Principal.AWS)).toContain(`:iam::${OTHER_MEMBER_ACCOUNT}:root`);
    expect(JSON.stringify(statement.Principal.AWS)).not.toContain('"*"');
  });

  it('routes the EKS and STS rules of the custom bus to the queue', () => {
    const rules = ofType('AWS::Events::Rule').filter(
      ([, r]) =>
        r.Properties.EventBusName !== undefined && JSON.stringify(r.Properties.Targets).includes('CloudTrailQueue'),
    );
    expect(rules.map(([, r]) => (r.Properties.EventPattern as { source: string[] }).source).sort()).toEqual([
      ['aws.eks', 'aws.eks-auth'],
      ['aws.sts'],
    ]);
  });

  it('encrypts every queue with a customer-managed key, enforces TLS, and gives the CloudTrail queue a DLQ', () => {
    for (const [, q] of ofType('AWS::SQS::Queue')) {
      expect(q.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^QueueKey/), 'Arn'] });
    }
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CloudTrailDlq'), 'Arn'] },
        maxReceiveCount: 5,
      },
      VisibilityTimeout: 360,
    });
    expect(ofType('AWS::SQS::QueuePolicy')).toHaveLength(4);
    for (const [, p] of ofType('AWS::SQS::QueuePolicy')) {
      expect(JSON.stringify(p.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('lets EventBridge send to the queue only for rules of this account', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } },
          }),
        ]),
      },
    });
  });
});

describe('central stack: table', () => {
  it('builds the table from TABLE_SCHEMA with KMS, PITR, deletion protection, TTL and on-demand billing', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
        TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.timeToLiveAttribute, Enabled: true },
        KeySchema: [
          { AttributeName: TABLE_SCHEMA.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: TABLE_SCHEMA.sortKey.name, KeyType: 'RANGE' },
        ],
      }),
    });
    const [, table] = ofType('AWS::DynamoDB::Table')[0]!;
    const gsis = table.Properties.GlobalSecondaryIndexes as {
      IndexName: string;
      Projection: { ProjectionType: string };
    }[];
    expect(gsis.map((g) => g.IndexName)).toEqual(TABLE_SCHEMA.globalSecondaryIndexes.map((g) => g.indexName));
    expect(gsis.every((g) => g.Projection.ProjectionType === 'KEYS_ONLY')).toBe(true);
  });

  it('rotates the table key and keeps it when the stack is deleted', () => {
    const keyId = logicalIdOf('AWS::KMS::Key', (p) => p.Description === 'eks-access-trail table encryption');
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ EnableKeyRotation: true, Description: 'eks-access-trail table encryption' }),
    });
    expect(
      JSON.stringify(resources[logicalIdOf('AWS::DynamoDB::Table', () => true)]!.Properties.SSESpecification),
    ).toContain(keyId);
  });

  it.each([
    ['log-ingest', TABLE_WRITE_ACTIONS],
    ['cloudtrail-ingest', TABLE_WRITE_ACTIONS],
    ['query-api', TABLE_READ_ACTIONS],
    ['posture-report', TABLE_READ_ACTIONS],
  ])('grants %s exactly its table actions, on the table and named indexes only', (service, expected) => {
    const dynamo = statementsOf(service).filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap((s) => [s.Action].flat()).sort()).toEqual([...expected].sort());
    const text = JSON.stringify(dynamo.map((s) => s.Resource));
    expect(text).not.toContain('*');
    for (const g of TABLE_SCHEMA.globalSecondaryIndexes) expect(text).toContain(`/index/${g.indexName}`);
  });

  it('never grants delete or scan, and keeps the query API and posture report read-only', () => {
    for (const service of ['log-ingest', 'cloudtrail-ingest', 'query-api', 'posture-report']) {
      const actions = actionsOf(service);
      expect(actions).not.toContain('dynamodb:DeleteItem');
      expect(actions).not.toContain('dynamodb:Scan');
      expect(actions.some((a) => a.includes('*'))).toBe(false);
    }
    for (const service of ['query-api', 'posture-report']) {
      expect(actionsOf(service).filter((a) => /^dynamodb:(Put|Update|BatchWrite|Delete)/.test(a))).toEqual([]);
      expect(actionsOf(service)).not.toContain('kms:Encrypt');
    }
  });

  it('sets TABLE_NAME on every function the table is granted to, and ALERT_TOPIC_ARN where publishing is granted', () => {
    const fns = ofType('AWS::Lambda::Function').map(
      ([, f]) => (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    );
    for (const vars of fns) expect(vars[ENV.tableName]).toEqual({ Ref: expect.stringMatching(/^TrailTable/) });
    const publishers = fns.filter((v) => v[ENV.alertTopicArn] !== undefined).map((v) => v.POWERTOOLS_SERVICE_NAME);
    expect(publishers.sort()).toEqual(['cloudtrail-ingest', 'log-ingest', 'posture-report']);
    expect(actionsOf('query-api')).not.toContain('sns:Publish');
  });

  it('gives the alerting functions the alert rules settings and the calls of the alert ledger and usage store', () => {
    const varsOf = (service: string) => {
      const [, f] = ofType('AWS::Lambda::Function').find(
        ([, fn]) =>
          (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.POWERTOOLS_SERVICE_NAME ===
          service,
      )!;
      return (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    };
    for (const service of ['log-ingest', 'cloudtrail-ingest', 'posture-report']) {
      const vars = varsOf(service);
      expect(vars[ENV.recentMappingDays]).toBe('3');
      expect(vars[ENV.unusedMappingDays]).toBe('90');
      expect(JSON.parse(vars[ENV.alertSuppressions] as string)).toEqual([
        { ruleId: 'access-entry-created', cluster: 'staging' },
      ]);
      expect(String(vars[ENV.trustedAccountIds]).split(',').sort()).toEqual([
        '111111111111',
        MEMBER_ACCOUNT,
        OTHER_MEMBER_ACCOUNT,
      ]);
    }
    expect(varsOf('query-api')[ENV.alertSuppressions]).toBeUndefined();
    // Ledger: conditional PutItem (claim), UpdateItem (release), Query on gsi1 + GetItem (by cluster).
    // Usage: conditional PutItem / UpdateItem (min/max), Query on gsi1 + BatchGetItem (list), GetItem.
    for (const service of ['log-ingest', 'cloudtrail-ingest']) {
      const table = statementsOf(service).filter((st) => [st.Action].flat().includes('dynamodb:PutItem'));
      expect(table).toHaveLength(1);
      expect([table[0]!.Action].flat()).toEqual(
        expect.arrayContaining([
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:Query',
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
        ]),
      );
      expect(JSON.stringify(table[0]!.Resource)).toContain('/index/gsi1');
      expect(actionsOf(service)).toContain('sns:Publish');
    }
  });
});

describe('central stack: functions', () => {
  it('runs every function on Node.js 24, arm64, with its own log group of the configured retention', () => {
    const fns = ofType('AWS::Lambda::Function');
    expect(fns).toHaveLength(5);
    for (const [, f] of fns) {
      expect(f.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(f.Properties.LoggingConfig).toMatchObject({ LogGroup: { Ref: expect.stringMatching(/Logs/) } });
    }
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups).toHaveLength(5);
    for (const [, g] of groups) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('encrypts every function log group with its own rotated key and keeps it when the stack goes (the query audit log lives there)', () => {
    const keyId = logicalIdOf('AWS::KMS::Key', (p) => String(p.Description).includes('function log groups'));
    for (const [id] of ofType('AWS::Logs::LogGroup')) {
      const g = template.toJSON().Resources[id];
      expect(g.DeletionPolicy).toBe('Retain');
      expect(g.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        Description: Match.stringLikeRegexp('function log groups'),
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
              Condition: {
                ArnLike: {
                  'kms:EncryptionContext:aws:logs:arn': {
                    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:111111111111:log-group:*']],
                  },
                },
              },
            }),
          ]),
        },
      }),
    });
  });

  it('sizes each function and sets its NODE_OPTIONS from cdk/function-settings.ts, which the benchmarks start the handler with', () => {
    const fns = ofType('AWS::Lambda::Function').map(([, f]) => f.Properties);
    const sizes = Object.fromEntries(
      fns.map((p) => [
        (p.Environment as { Variables: Record<string, string> }).Variables.POWERTOOLS_SERVICE_NAME,
        p.MemorySize,
      ]),
    );
    // The OCSF export function exists only with the ocsfExport prop (test/cdk/ocsf-export.test.ts).
    const { 'ocsf-export': _optional, ...always } = FUNCTION_MEMORY_MB;
    expect(sizes).toEqual(always);
    expect(sizes['log-ingest']).toBe(1024);
    for (const p of fns)
      expect((p.Environment as { Variables: Record<string, string> }).Variables.NODE_OPTIONS).toBe(
        FUNCTION_NODE_OPTIONS,
      );
  });

  it('lets each function write only to its own log group (no managed basic-execution policy)', () => {
    for (const [, role] of ofType('AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    for (const service of ['log-ingest', 'query-api']) {
      const logs = statementsOf(service).filter((s) => [s.Action].flat().includes('logs:PutLogEvents'));
      expect(logs).toHaveLength(1);
      expect(JSON.stringify(logs[0]!.Resource)).toMatch(/"Fn::GetAtt":\["\w*Logs\w*","Arn"\]/);
    }
  });

  it('passes trust and retention settings to the functions', () => {
    const [, f] = ofType('AWS::Lambda::Function')[0]!;
    const vars = (f.Properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(vars[ENV.trustedAccountIds]!.split(',').sort()).toEqual([
      '111111111111',
      MEMBER_ACCOUNT,
      OTHER_MEMBER_ACCOUNT,
    ]);
    expect(JSON.parse(vars[ENV.retentionDays]!)).toEqual({ request: 400, quarantine: 30 });
    expect(vars.POWERTOOLS_METRICS_NAMESPACE).toBe(METRICS.namespace);
  });

  it('exposes the query API only through an IAM-authenticated function URL and an invoke policy to attach', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    const [, policy] = ofType('AWS::IAM::ManagedPolicy')[0]!;
    expect(policy.Properties.ManagedPolicyName).toBe('EksAccessTrail-QueryApiInvoke-eu-west-1');
    const fnArn = { 'Fn::GetAtt': [expect.stringMatching(/^QueryApiFunction/), 'Arn'] };
    // Both actions, each only through the URL: no unconditioned lambda:InvokeFunction, which would let
    // a direct Invoke hand the handler a forged caller identity.
    expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toEqual([
      {
        Sid: 'InvokeTheFunctionUrl',
        Action: 'lambda:InvokeFunctionUrl',
        Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        Effect: 'Allow',
        Resource: fnArn,
      },
      {
        Sid: 'InvokeOnlyThroughTheUrl',
        Action: 'lambda:InvokeFunction',
        Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        Effect: 'Allow',
        Resource: fnArn,
      },
    ]);
    // The query function has no resource policy: only principals of this account, through an identity
    // policy such as this one, may call it.
    for (const [, p] of ofType('AWS::Lambda::Permission')) {
      expect(JSON.stringify(p.Properties.FunctionName)).not.toContain('QueryApiFunction');
    }
  });

  it('gives the query function the validated access grants, and no other function', () => {
    const varsOf = (service: string) =>
      (
        ofType('AWS::Lambda::Function').find(
          ([, f]) =>
            (f.Properties.Environment as { Variables: Record<string, string> }).Variables.POWERTOOLS_SERVICE_NAME ===
            service,
        )![1].Properties.Environment as { Variables: Record<string, string> }
      ).Variables;
    expect(JSON.parse(varsOf('query-api')[ENV.queryAccessPolicy]!)).toEqual([
      { name: 'secops', permissionSet: 'SecurityAudit', accounts: ['*'], clusters: ['*'] },
      {
        name: 'prod-oncall',
        roleArn: 'arn:aws:iam::111111111111:role/OnCall',
        accounts: ['222222222222'],
        clusters: ['prod*'],
      },
    ]);
    for (const service of ['log-ingest', 'cloudtrail-ingest', 'posture-report']) {
      expect(varsOf(service)[ENV.queryAccessPolicy]).toBeUndefined();
    }
    // No grant: the stack still deploys (everyone is denied) and says so at synth.
    const none = synthApp({ ...multiAccountInput, queryAccess: undefined }).stacks.central;
    const fn = Object.values(Template.fromStack(none).findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'query-api',
    );
    expect(fn?.Properties.Environment.Variables[ENV.queryAccessPolicy]).toBe('[]');
    expect(JSON.stringify(none.node.metadata)).toContain('eks-access-trail:no-query-access');
  });

  it('outputs the log group that holds the query audit log', () => {
    template.hasOutput('QueryAuditLogGroup', { Value: { Ref: Match.stringLikeRegexp('^QueryApiLogs') } });
  });

  it('outputs the query API URL that docs/deploy.md tells auditors to call', () => {
    template.hasOutput('QueryApiUrl', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^QueryApiFunctionFunctionUrl'), 'FunctionUrl'] },
    });
  });

  it('runs the posture report once a day', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 6 * * ? *)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PostureReportFunction'), 'Arn'] } })],
    });
  });
});

describe('central stack: alerts and alarms', () => {
  it('encrypts the alert topic with a customer-managed key, enforces TLS and subscribes the configured e-mails', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertsKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'secops@example.com' });
  });

  it('lets CloudWatch alarms use the topic key (or their notifications are dropped)', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
  });

  it.each([
    ['ingestion errors', { MetricName: 'Errors', Namespace: 'AWS/Lambda' }],
    ['iterator age', { MetricName: 'IteratorAge', Namespace: 'AWS/Lambda', Statistic: 'Maximum', Threshold: 900_000 }],
    [
      'quarantine count',
      {
        MetricName: METRICS.quarantined,
        Namespace: METRICS.namespace,
        Dimensions: [{ Name: 'service', Value: 'log-ingest' }],
      },
    ],
    ['DLQ depth', { MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS' }],
  ])('alarms on %s and notifies the alert topic', (_what, props) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...props,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertsTopic') }],
      TreatMissingData: 'notBreaching',
    });
  });

  it('sends every alarm to the topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(8);
    for (const [, a] of alarms)
      expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlertsTopic/) }]);
  });
});

describe('central stack: no silent loss', () => {
  it('keeps the stream 7 days, so a failed batch reported by sequence range can still be replayed', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', { RetentionPeriodHours: 168 });
    // The failure queue outlives the stream, so no pointer expires before its data.
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 86_400,
      KmsMasterKeyId: Match.anyValue(),
    });
  });

  it('gives every EventBridge rule target of the stack the encrypted event DLQ and a bounded retry policy', () => {
    const rules = ofType('AWS::Events::Rule');
    expect(rules.map(([, r]) => r.Properties.Name).sort()).toEqual([
      'EksAccessTrail-DailyPosture',
      'EksAccessTrail-DigestSchedule',
      'EksAccessTrail-EksAccessEvents',
      'EksAccessTrail-MemberAlarms',
      'EksAccessTrail-StsAssumeRoleEvents',
    ]);
    for (const [, r] of rules) {
      for (const t of r.Properties.Targets as { DeadLetterConfig?: unknown; RetryPolicy?: unknown }[]) {
        expect(t.DeadLetterConfig).toEqual({
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/^EventDeliveryDlq/), 'Arn'] },
        });
        expect(t.RetryPolicy).toMatchObject({ MaximumEventAgeInSeconds: expect.any(Number) });
      }
    }
    const [, dlq] = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('EventDeliveryDlq'))!;
    expect(dlq.Properties).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^QueueKey/), 'Arn'] },
      MessageRetentionPeriod: 1_209_600,
    });
    // EventBridge may send to it for these rules only.
    const [, policy] = ofType('AWS::SQS::QueuePolicy').find(([, p]) =>
      JSON.stringify(p.Properties.Queues).includes('EventDeliveryDlq'),
    )!;
    const sends = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.filter(
      (st) => st.Action === 'sqs:SendMessage',
    );
    expect(sends).toHaveLength(rules.length);
    for (const st of sends) {
      expect(st).toMatchObject({
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } },
      });
    }
  });

  it.each([
    ['failed deliveries', 'FailedInvocations'],
    ['deliveries that reached neither target nor DLQ', 'InvocationsFailedToBeSentToDlq'],
  ])('alarms on %s of every rule, by bus and rule name', (_what, metricName) => {
    const [, a] = ofType('AWS::CloudWatch::Alarm').find(([, x]) =>
      JSON.stringify(x.Properties.Metrics ?? []).includes(`"MetricName":"${metricName}"`),
    )!;
    const metrics = a.Properties.Metrics as { Expression?: string; MetricStat?: { Metric: { Dimensions: unknown } } }[];
    expect(metrics[0]!.Expression).toBe('SUM(METRICS())');
    expect(metrics.slice(1).map((m) => m.MetricStat!.Metric.Dimensions)).toEqual([
      [
        { Name: 'EventBusName', Value: 'eks-access-trail' },
        { Name: 'RuleName', Value: 'EksAccessTrail-EksAccessEvents' },
      ],
      [
        { Name: 'EventBusName', Value: 'eks-access-trail' },
        { Name: 'RuleName', Value: 'EksAccessTrail-StsAssumeRoleEvents' },
      ],
      [{ Name: 'RuleName', Value: 'EksAccessTrail-DailyPosture' }],
      [
        { Name: 'EventBusName', Value: 'eks-access-trail' },
        { Name: 'RuleName', Value: 'EksAccessTrail-MemberAlarms' },
      ],
      [{ Name: 'RuleName', Value: 'EksAccessTrail-DigestSchedule' }],
    ]);
    expect(a.Properties).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on the depth of the event DLQ', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventDeliveryDlq'), 'QueueName'] } },
      ],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertsTopic') }],
    });
  });

  it('alarms when a watched cluster with logging on sends nothing for silenceAlarmMinutes, missing data breaching', () => {
    const silent = ofType('AWS::CloudWatch::Alarm').filter(
      ([, a]) => a.Properties.MetricName === METRICS.clusterLogEvents,
    );
    // prod: the stack turns its logging on; staging: silenceAlarm set; prod-us: neither.
    expect(silent.map(([, a]) => a.Properties.AlarmName).sort()).toEqual([
      'EksAccessTrail-ClusterSilent-222222222222-eu-west-1-prod',
      'EksAccessTrail-ClusterSilent-333333333333-eu-west-1-staging',
    ]);
    for (const [, a] of silent) {
      expect(a.Properties).toMatchObject({
        Namespace: METRICS.namespace,
        Statistic: 'Sum',
        Period: 300,
        // 30 minutes = six empty five-minute periods in a row.
        EvaluationPeriods: 6,
        DatapointsToAlarm: 6,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
        AlarmActions: [{ Ref: expect.stringMatching(/^AlertsTopic/) }],
      });
    }
    expect(silent.find(([, a]) => String(a.Properties.AlarmName).endsWith('prod'))![1].Properties.Dimensions).toEqual([
      { Name: 'cluster', Value: '222222222222/eu-west-1/prod' },
      { Name: 'service', Value: 'log-ingest' },
    ]);
    // The whole log path too, whatever the per-cluster settings.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'EksAccessTrail-LogIngestSilent',
      Namespace: METRICS.namespace,
      MetricName: METRICS.recordsIn,
      Dimensions: [{ Name: 'service', Value: 'log-ingest' }],
      EvaluationPeriods: 6,
      DatapointsToAlarm: 6,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    // Every other alarm counts failures or messages, which are absent when there are none. (The digest
    // signer's run count is a silence alarm too: test/cdk/digest-signer.test.ts.)
    const silence = new Set<unknown>([METRICS.clusterLogEvents, METRICS.recordsIn, 'Invocations']);
    for (const [, a] of ofType('AWS::CloudWatch::Alarm').filter(([, x]) => !silence.has(x.Properties.MetricName))) {
      expect(a.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('lets this account’s CloudWatch alarms publish to the topic and use its key, and no other account’s', () => {
    const alarmsOfThisAccount = {
      StringEquals: { 'aws:SourceAccount': '111111111111' },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:eu-west-1:111111111111:alarm:*']],
        },
      },
    };
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'CloudWatchAlarmsOfThisAccount',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: Match.stringLikeRegexp('^AlertsTopic') },
            Condition: alarmsOfThisAccount,
          },
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      Description: 'eks-access-trail alert topic encryption',
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: alarmsOfThisAccount,
          }),
        ]),
      },
    });
  });

  it('sends the member stacks’ forwarding alarms from the central bus to the topic, admitting that rule only', () => {
    const ruleId = logicalIdOf('AWS::Events::Rule', (p) => p.Name === 'EksAccessTrail-MemberAlarms');
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'EksAccessTrail-MemberAlarms',
      EventBusName: { Ref: Match.stringLikeRegexp('^Bus') },
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix: 'EksAccessTrail-Forward' }], state: { value: ['ALARM'] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('^AlertsTopic') },
          InputTransformer: Match.objectLike({ InputTemplate: Match.stringLikeRegexp('eks-access-trail: alarm <') }),
        }),
      ],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          }),
        ]),
      },
    });
  });
});
