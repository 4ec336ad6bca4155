import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnsAlertSink } from '../../functions/shared/sns-alert-sink.js';
import { evaluateMappingChanges } from '../../lib/alerts/mapping-rules.js';
import { stratusChanges } from '../lib/alerts/helpers.js';

/** SNS has no local engine: the sink is checked on the PublishCommand input it builds. */
const TOPIC = 'arn:aws:sns:us-east-1:444455556666:eks-access-trail-alerts';
const sns = mockClient(SNSClient);

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

const stratusAlerts = () => {
  const changes = stratusChanges();
  return evaluateMappingChanges({
    newChanges: changes,
    allChanges: changes,
    config: { trustedAccountIds: [], suppressions: [], recentMappingDays: 7, unusedMappingDays: 90 },
  });
};

describe('SnsAlertSink', () => {
  it('publishes the text form with a short subject and filterable attributes', async () => {
    const alert = stratusAlerts().find((a) => a.ruleId === 'access-policy-associated')!;
    await new SnsAlertSink(new SNSClient({ region: 'us-east-1' }), TOPIC).publish(alert);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.TopicArn).toBe(TOPIC);
    expect(input.Subject?.length).toBeLessThanOrEqual(100);
    expect(input.Subject).toMatch(/^\[HIGH\] 012345678901\/eks-cluster: AmazonEKSClusterAdminPolicy associated/);
    expect(input.Message).toContain('Severity: HIGH');
    expect(input.Message).toContain('+ AmazonEKSClusterAdminPolicy (cluster scope)');
    expect(input.MessageAttributes).toEqual({
      severity: { DataType: 'String', StringValue: 'high' },
      cluster: { DataType: 'String', StringValue: 'eks-cluster' },
      ruleId: { DataType: 'String', StringValue: 'access-policy-associated' },
      accountId: { DataType: 'String', StringValue: '012345678901' },
    });
  });

  it('lets an SNS failure through so the batch is retried', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' }));
    const [alert] = stratusAlerts();
    await expect(new SnsAlertSink(new SNSClient({ region: 'us-east-1' }), TOPIC).publish(alert!)).rejects.toThrow(
      'Rate exceeded',
    );
  });

  it('publishes a summary with a sanitised subject', async () => {
    await new SnsAlertSink(new SNSClient({ region: 'us-east-1' }), TOPIC).publishText('posture\nreport é', '', {
      severity: 'high',
      ruleId: 'posture-report',
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      Subject: 'posture report e',
      Message: '(empty)',
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'high' },
        ruleId: { DataType: 'String', StringValue: 'posture-report' },
        cluster: { DataType: 'String', StringValue: '*' },
      },
    });
  });
});
