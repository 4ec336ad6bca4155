import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLUSTER_LOG_FILTER_PATTERN,
  EKS_ACCESS_EVENT_NAMES,
  STS_ASSUME_ROLE_EVENT_NAMES,
} from '../../cdk/event-patterns.js';
import { matchesEventPattern } from './support/eventbridge-pattern.js';
import { matchesTermPattern } from './support/filter-pattern.js';
import { MEMBER_ACCOUNT, multiAccountInput, synthApp } from './support/trail-apps.js';

const fixture = (name: string) => new URL(`../fixtures/cdk/${name}`, import.meta.url);
const events = JSON.parse(readFileSync(fixture('eventbridge-events.json'), 'utf8')) as Record<
  string,
  Record<string, unknown>
>;

/** The synthesized EventPattern of every rule, by its source, from the member and central templates. */
const patterns: { where: string; source: string; pattern: unknown }[] = [];

beforeAll(() => {
  const { stacks } = synthApp(multiAccountInput);
  const member = stacks.members.find((m) => m.account === MEMBER_ACCOUNT && m.region === 'eu-west-1')!;
  for (const [where, stack] of [
    ['member', member],
    ['central', stacks.central],
  ] as const) {
    for (const r of Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'))) {
      const pattern = r.Properties.EventPattern as { source?: string[] } | undefined;
      if (pattern?.source) patterns.push({ where, source: pattern.source[0]!, pattern });
    }
  }
});

const rulesFor = (source: string) => {
  const found = patterns.filter((p) => p.source === source);
  expect(found.map((p) => p.where).sort()).toEqual(['central', 'member']);
  return found;
};

/** An STS AssumeRole* event. No real sample is in the corpus: built from the documented CloudTrail keys (docs/formats.md §3). */
const stsEvent = (eventName: string) => ({
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.sts',
  account: MEMBER_ACCOUNT,
  time: '2024-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventSource: 'sts.amazonaws.com', eventName, eventType: 'AwsApiCall' },
});

/** The real AssumeRoleForPodIdentity record of the immersion-day sample in an EventBridge envelope. */
const eksAuthEvent = (() => {
  const records = JSON.parse(
    readFileSync(
      new URL('../fixtures/sources/cloudtrail/immersion-day-pod-identity-records.json', import.meta.url),
      'utf8',
    ),
  ) as { Records: Record<string, unknown>[] };
  const detail = records.Records[0] as Record<string, unknown>;
  return {
    version: '0',
    id: '1d1b2c3e-0000-4000-8000-000000000001',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.eks-auth',
    account: detail['recipientAccountId'],
    time: detail['eventTime'],
    region: detail['awsRegion'],
    resources: [],
    detail,
  };
})();

describe('EventBridge patterns against real events', () => {
  it('the EKS rules match the EKS Auth AssumeRoleForPodIdentity record of a pod, the STS rules do not', () => {
    for (const { pattern } of rulesFor('aws.eks')) expect(matchesEventPattern(pattern, eksAuthEvent)).toBe(true);
    for (const { pattern } of rulesFor('aws.sts')) expect(matchesEventPattern(pattern, eksAuthEvent)).toBe(false);
  });

  it.each([
    'CreatePodIdentityAssociation',
    'UpdatePodIdentityAssociation',
    'DeletePodIdentityAssociation',
    'AssociateIdentityProviderConfig',
    'DisassociateIdentityProviderConfig',
  ])('the EKS rules forward %s', (eventName) => {
    const event = { ...eksAuthEvent, source: 'aws.eks', detail: { eventSource: 'eks.amazonaws.com', eventName } };
    for (const { pattern } of rulesFor('aws.eks')) expect(matchesEventPattern(pattern, event)).toBe(true);
  });

  it.each(['stratus-create-access-entry', 'stratus-associate-access-policy', 'awsdocs-create-cluster-2018'])(
    'the EKS rules (member and central) match the %s CloudTrail record',
    (name) => {
      for (const { pattern } of rulesFor('aws.eks')) expect(matchesEventPattern(pattern, events[name])).toBe(true);
      for (const { pattern } of rulesFor('aws.sts')) expect(matchesEventPattern(pattern, events[name])).toBe(false);
    },
  );

  it('the forwarding alarm rules (member default bus, central bus) match the member alarms entering ALARM only', () => {
    const sample = JSON.parse(readFileSync(fixture('cloudwatch-alarm-state-change-metric-math.json'), 'utf8')) as {
      detail: { alarmName: string; state: { value: string } };
    };
    const named = (alarmName: string, state = 'ALARM') => ({
      ...sample,
      detail: { ...sample.detail, alarmName, state: { ...sample.detail.state, value: state } },
    });
    for (const { pattern } of rulesFor('aws.cloudwatch')) {
      expect(matchesEventPattern(pattern, sample)).toBe(false);
      expect(matchesEventPattern(pattern, named('EksAccessTrail-ForwardFailures'))).toBe(true);
      expect(matchesEventPattern(pattern, named('EksAccessTrail-ForwardDlqDepth'))).toBe(true);
      expect(matchesEventPattern(pattern, named('EksAccessTrail-ForwardFailures', 'OK'))).toBe(false);
      // The central stack's own alarms notify the topic directly; forwarding them too would double them.
      expect(matchesEventPattern(pattern, named('EksAccessTrail-ClusterSilent-222222222222-eu-west-1-prod'))).toBe(
        false,
      );
    }
  });

  it.each(['rooty0-ec2-create-tags', 'powertools-eventbridge-base'])(
    'no rule matches the unrelated %s event',
    (name) => {
      for (const { pattern } of patterns) expect(matchesEventPattern(pattern, events[name])).toBe(false);
    },
  );

  it.each([...STS_ASSUME_ROLE_EVENT_NAMES])('the STS rules match %s and the EKS rules do not', (eventName) => {
    for (const { pattern } of rulesFor('aws.sts')) expect(matchesEventPattern(pattern, stsEvent(eventName))).toBe(true);
    for (const { pattern } of rulesFor('aws.eks'))
      expect(matchesEventPattern(pattern, stsEvent(eventName))).toBe(false);
  });

  it.each<[string, Record<string, string>]>([
    ['a read-only EKS call', { eventName: 'DescribeAccessEntry' }],
    [
      'an STS call that issues no role credentials',
      { eventName: 'GetCallerIdentity', eventSource: 'sts.amazonaws.com' },
    ],
  ])('does not match %s', (_what, change) => {
    const base = structuredClone(events['stratus-create-access-entry']!);
    const source = change.eventSource === 'sts.amazonaws.com' ? 'aws.sts' : 'aws.eks';
    const event = { ...base, source, detail: { ...(base.detail as object), ...change } };
    for (const { pattern } of patterns) expect(matchesEventPattern(pattern, event)).toBe(false);
  });

  it('covers exactly the EKS operations that change access, authentication mode, logging, Pod Identity or OIDC providers, and EKS Auth', () => {
    expect([...EKS_ACCESS_EVENT_NAMES].sort()).toEqual(
      [
        'AssociateAccessPolicy',
        'CreateAccessEntry',
        'CreateCluster',
        'DeleteAccessEntry',
        'DeleteCluster',
        'DisassociateAccessPolicy',
        'UpdateAccessEntry',
        'UpdateClusterConfig',
        'CreatePodIdentityAssociation',
        'UpdatePodIdentityAssociation',
        'DeletePodIdentityAssociation',
        'AssociateIdentityProviderConfig',
        'DisassociateIdentityProviderConfig',
        'AssumeRoleForPodIdentity',
      ].sort(),
    );
  });
});

const logLines = (name: string) =>
  readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));

describe('subscription filter pattern against real control-plane log lines', () => {
  it.each([
    'rotel-lambda-forwarder-2025.log',
    'aws-knowledge-center-eks-api-server-unauthorized.log',
    'aws-iam-authenticator-issue-419.log',
    'terraform-aws-eks-issue-2415.log',
  ])('passes every authenticator line of %s', (name) => {
    const lines = logLines(name);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(matchesTermPattern(CLUSTER_LOG_FILTER_PATTERN, line)).toBe(true);
  });

  it('passes an audit event as CloudWatch delivers it (one JSON line), also when truncated', () => {
    const event = JSON.stringify(JSON.parse(readFileSync(fixture('eks-audit-access-policy-allow.json'), 'utf8')));
    expect(matchesTermPattern(CLUSTER_LOG_FILTER_PATTERN, event)).toBe(true);
    // Oversized events are cut and suffixed (docs/formats.md §0); apiVersion comes before the bulky fields.
    expect(matchesTermPattern(CLUSTER_LOG_FILTER_PATTERN, `${event.slice(0, 120)}[Truncated...]`)).toBe(true);
  });

  it('drops non-EKS log lines and the CloudWatch control message', () => {
    const other = JSON.parse(readFileSync(fixture('powertools-cloudwatch-base.DECODED.json'), 'utf8')) as {
      logEvents: { message: string }[];
    };
    const control = JSON.parse(readFileSync(fixture('vector-control-message.json'), 'utf8')) as typeof other;
    const messages = [...other.logEvents, ...control.logEvents].map((e) => e.message);
    expect(messages.length).toBe(4);
    for (const m of messages) expect(matchesTermPattern(CLUSTER_LOG_FILTER_PATTERN, m)).toBe(false);
  });
});
