import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrailStacks } from '../../cdk/trail-app.js';
import { CENTRAL, MEMBER_ACCOUNT, multiAccountInput, OTHER_MEMBER_ACCOUNT, synthApp } from './support/trail-apps.js';

let stacks: TrailStacks;
const memberTemplate = (account: string, region: string): Template => {
  const s = stacks.members.find((m) => m.account === account && m.region === region);
  if (!s) throw new Error(`no member stack ${account}/${region}`);
  return Template.fromStack(s);
};

beforeAll(() => {
  stacks = synthApp(multiAccountInput).stacks;
});

describe('member stacks: layout', () => {
  it('creates one member stack per (account, region) with clusters, plus us-east-1 STS forwarders', () => {
    expect(stacks.members.map((m) => m.stackName).sort()).toEqual([
      `EksAccessTrail-Member-${MEMBER_ACCOUNT}-eu-west-1`,
      `EksAccessTrail-Member-${MEMBER_ACCOUNT}-us-east-1`,
      `EksAccessTrail-Member-${MEMBER_ACCOUNT}-us-west-2`,
      `EksAccessTrail-Member-${OTHER_MEMBER_ACCOUNT}-eu-west-1`,
      `EksAccessTrail-Member-${OTHER_MEMBER_ACCOUNT}-us-east-1`,
    ]);
  });

  it('adds a central-account destination for every other cluster region, targeting the central stream', () => {
    expect(stacks.destinations.map((d) => `${d.account}/${d.region}`)).toEqual([`${CENTRAL.account}/us-west-2`]);
    Template.fromStack(stacks.destinations[0]!).hasResourceProperties('AWS::Logs::Destination', {
      DestinationName: 'eks-access-trail',
      TargetArn: `arn:aws:kinesis:eu-west-1:${CENTRAL.account}:stream/eks-access-trail`,
      RoleArn: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            `:iam::${CENTRAL.account}:role/eks-access-trail-cwl-to-kinesis-eu-west-1`,
          ],
        ],
      },
    });
  });
});

describe('member stack: log subscriptions', () => {
  it('subscribes each cluster log group once, by name, to the destination of its own region', () => {
    const t = memberTemplate(MEMBER_ACCOUNT, 'us-west-2');
    t.resourceCountIs('AWS::Logs::SubscriptionFilter', 1);
    t.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: '/aws/eks/prod-us/cluster',
      FilterName: 'eks-access-trail-us-west-2',
      FilterPattern: '?"level=" ?"audit.k8s.io"',
      DestinationArn: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:logs:us-west-2:${CENTRAL.account}:destination:eks-access-trail`],
        ],
      },
    });
    // The cluster owns its log group: the stack must never create (and so never delete) it.
    t.resourceCountIs('AWS::Logs::LogGroup', 0);
  });

  it('turns on authenticator and audit logging only where asked, with eks:UpdateClusterConfig on that cluster only', () => {
    const t = memberTemplate(MEMBER_ACCOUNT, 'eu-west-1');
    const custom = Object.values(t.findResources('Custom::AWS'));
    expect(custom).toHaveLength(1);
    const create = JSON.parse(custom[0]!.Properties.Create as string);
    expect(create).toMatchObject({
      service: 'EKS',
      action: 'UpdateClusterConfig',
      parameters: { name: 'prod', logging: { clusterLogging: [{ types: ['authenticator', 'audit'], enabled: true }] } },
      ignoreErrorCodesMatching: 'InvalidParameterException',
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'eks:UpdateClusterConfig',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:eks:eu-west-1:${MEMBER_ACCOUNT}:cluster/prod`]],
            },
          },
        ],
      },
    });
    // The provider runs under its own role: no AWS managed policy (AWSLambdaBasicExecutionRole may
    // write to every log group), logs only to its own group, kept logRetentionDays.
    for (const role of Object.values(t.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    t.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ClustersLoggingProviderRole'), 'Arn'] },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^ClustersLoggingProviderLogs') } },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ClustersLoggingProviderRole') }],
      PolicyDocument: {
        Statement: [
          {
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ClustersLoggingProviderLogs'), 'Arn'] },
          },
        ],
      },
    });
    // The filter waits for logging to be on (EKS creates the log group then).
    const [filterId] = Object.keys(t.findResources('AWS::Logs::SubscriptionFilter'));
    const filter = t.toJSON().Resources[filterId!];
    expect(JSON.stringify(filter.DependsOn)).toMatch(/Logging/);
    memberTemplate(MEMBER_ACCOUNT, 'us-west-2').resourceCountIs('Custom::AWS', 0);
    memberTemplate(OTHER_MEMBER_ACCOUNT, 'eu-west-1').resourceCountIs('Custom::AWS', 0);
  });
});

describe('member stack: CloudTrail forwarding', () => {
  it('forwards EKS and STS events from the default bus to the central bus with a role limited to PutEvents there', () => {
    const t = memberTemplate(MEMBER_ACCOUNT, 'eu-west-1');
    const busArn = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, `:events:eu-west-1:${CENTRAL.account}:event-bus/eks-access-trail`],
      ],
    };
    const rules = Object.values(t.findResources('AWS::Events::Rule'));
    expect(rules.map((r) => r.Properties.Name).sort()).toEqual([
      'EksAccessTrail-ForwardAlarms',
      'EksAccessTrail-ForwardEksAccessEvents',
      'EksAccessTrail-ForwardStsAssumeRoleEvents',
    ]);
    for (const r of rules) {
      expect(r.Properties.EventBusName).toBeUndefined();
      expect(r.Properties.Targets).toEqual([
        {
          Arn: busArn,
          Id: 'Target0',
          RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^ForwardRole/), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^ForwardDlq/), 'Arn'] } },
        },
      ]);
    }
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })] },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: busArn }] },
    });
  });

  it('forwards only STS events from the us-east-1 stack, where global-endpoint AssumeRole calls are recorded', () => {
    const t = memberTemplate(MEMBER_ACCOUNT, 'us-east-1');
    t.resourceCountIs('AWS::Logs::SubscriptionFilter', 0);
    const rules = Object.values(t.findResources('AWS::Events::Rule'));
    expect(rules.map((r) => r.Properties.EventPattern.source)).toEqual([['aws.sts'], ['aws.cloudwatch']]);
  });

  it('keeps events the central bus refuses in an encrypted, TLS-only DLQ for 14 days, sendable by its own rules only', () => {
    const t = memberTemplate(MEMBER_ACCOUNT, 'eu-west-1');
    t.resourceCountIs('AWS::SQS::Queue', 1);
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    const [policy] = Object.values(t.findResources('AWS::SQS::QueuePolicy'));
    const statements = policy!.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements.find((st) => st.Effect === 'Deny')).toMatchObject({
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    const sends = statements.filter((st) => st.Action === 'sqs:SendMessage');
    expect(sends).toHaveLength(3);
    for (const st of sends) {
      expect(st).toMatchObject({
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/^Forward/), 'Arn'] } } },
      });
    }
  });

  it('alarms on failed forwarding and on DLQ depth, and forwards those alarms to the central bus (the member has no topic)', () => {
    const t = memberTemplate(MEMBER_ACCOUNT, 'eu-west-1');
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.map((a) => a.Properties.AlarmName).sort()).toEqual([
      'EksAccessTrail-ForwardDlqDepth',
      'EksAccessTrail-ForwardFailures',
    ]);
    const failures = alarms.find((a) => a.Properties.AlarmName === 'EksAccessTrail-ForwardFailures')!;
    const named = (
      failures.Properties.Metrics as { MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } } }[]
    )
      .flatMap((m) => (m.MetricStat ? [[m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions]] : []))
      .map((x) => JSON.stringify(x))
      .sort();
    expect(named).toEqual(
      [
        ['FailedInvocations', [{ Name: 'RuleName', Value: 'EksAccessTrail-ForwardEksAccessEvents' }]],
        ['FailedInvocations', [{ Name: 'RuleName', Value: 'EksAccessTrail-ForwardStsAssumeRoleEvents' }]],
        ['InvocationsFailedToBeSentToDlq', [{ Name: 'RuleName', Value: 'EksAccessTrail-ForwardEksAccessEvents' }]],
        ['InvocationsFailedToBeSentToDlq', [{ Name: 'RuleName', Value: 'EksAccessTrail-ForwardStsAssumeRoleEvents' }]],
      ]
        .map((x) => JSON.stringify(x))
        .sort(),
    );
    for (const a of alarms) expect(a.Properties.TreatMissingData).toBe('notBreaching');
    t.hasResourceProperties('AWS::Events::Rule', {
      Name: 'EksAccessTrail-ForwardAlarms',
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: {
          alarmName: ['EksAccessTrail-ForwardFailures', 'EksAccessTrail-ForwardDlqDepth'],
          state: { value: ['ALARM'] },
        },
      },
    });
  });

  it('omits the us-east-1 STS forwarders when forwardGlobalStsEvents is false', () => {
    const { stacks: s } = synthApp({ ...multiAccountInput, forwardGlobalStsEvents: false });
    expect(s.members.filter((m) => m.region === 'us-east-1')).toEqual([]);
  });
});

describe('single-account mode', () => {
  it('builds one stack that subscribes log groups straight to the stream and routes default-bus rules to the queue', () => {
    const { stacks: s } = synthApp({ mode: 'single-account', clusters: ['prod'] });
    expect(s.destinations).toEqual([]);
    expect(s.members.map((m) => m.stackName)).toEqual(['EksAccessTrail-GlobalSts']);
    const t = Template.fromStack(s.central);
    t.resourceCountIs('AWS::Logs::Destination', 0);
    t.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: '/aws/eks/prod/cluster',
      FilterName: 'eks-access-trail-eu-west-1',
      DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogStream'), 'Arn'] },
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DestinationRole'), 'Arn'] },
    });
    const defaultBusRules = Object.values(t.findResources('AWS::Events::Rule')).filter(
      (r) => r.Properties.EventBusName === undefined && r.Properties.EventPattern !== undefined,
    );
    expect(defaultBusRules.map((r) => r.Properties.EventPattern.source).sort()).toEqual([
      ['aws.eks', 'aws.eks-auth'],
      ['aws.sts'],
    ]);
    for (const r of defaultBusRules) expect(JSON.stringify(r.Properties.Targets)).toContain('CloudTrailQueue');
    // Same-account senders need no bus policy.
    t.resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });
});

describe('clusters in the security account itself (multi-account mode)', () => {
  it('subscribes them through the same destination and routes its own default-bus events straight to the queue', () => {
    const { stacks: s } = synthApp({
      ...multiAccountInput,
      clusters: [
        ...multiAccountInput.clusters,
        { name: 'security-tools', account: CENTRAL.account, region: CENTRAL.region },
      ],
    });
    const local = s.members.find((m) => m.account === CENTRAL.account && m.region === CENTRAL.region)!;
    const t = Template.fromStack(local);
    t.hasResourceProperties('AWS::Logs::SubscriptionFilter', { LogGroupName: '/aws/eks/security-tools/cluster' });
    // EventBridge cannot target another bus of the same account and region: no forwarding rules here...
    t.resourceCountIs('AWS::Events::Rule', 0);
    // ...the central stack's default-bus rules deliver them instead, and the destination admits the account.
    const central = Template.fromStack(s.central);
    const local2queue = Object.values(central.findResources('AWS::Events::Rule')).filter(
      (r) => r.Properties.EventBusName === undefined && r.Properties.EventPattern !== undefined,
    );
    expect(local2queue).toHaveLength(2);
    const [dest] = Object.values(central.findResources('AWS::Logs::Destination'));
    expect(JSON.stringify(dest!.Properties.DestinationPolicy)).toContain(`:iam::${CENTRAL.account}:root`);
  });
});
