import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { renderAlertText, safeSubject } from '../../lib/alerts/render.js';
import type { Alert, AlertSink } from '../../lib/alerts/types.js';

/**
 * SNS adapter of the alert sink. E-mail subscribers read Subject and Message verbatim, so the message
 * is the readable text form; filter policies select on the message attributes (severity, cluster,
 * ruleId), e.g. `{"severity":["critical","high"]}` for a pager subscription.
 */

/** SNS rejects empty attribute values; attributes are strings of at most a few hundred characters here. */
const attr = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: value === '' ? '-' : value,
});

export class SnsAlertSink implements AlertSink {
  constructor(
    private readonly client: Pick<SNSClient, 'send'>,
    private readonly topicArn: string,
  ) {}

  async publish(alert: Alert): Promise<void> {
    const { subject, body } = renderAlertText(alert);
    const attributes: Record<string, MessageAttributeValue> = {
      severity: attr(alert.severity),
      cluster: attr(alert.cluster),
      ruleId: attr(alert.ruleId),
    };
    if (alert.accountId) attributes['accountId'] = attr(alert.accountId);
    await this.client.send(
      new PublishCommand({ TopicArn: this.topicArn, Subject: subject, Message: body, MessageAttributes: attributes }),
    );
  }

  /** A message that is not an alert (the daily posture summary). */
  async publishText(
    subject: string,
    body: string,
    attributes: { severity: string; ruleId: string; cluster?: string },
  ): Promise<void> {
    const attrs: Record<string, MessageAttributeValue> = {
      severity: attr(attributes.severity),
      ruleId: attr(attributes.ruleId),
      cluster: attr(attributes.cluster ?? '*'),
    };
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: safeSubject(subject),
        Message: body === '' ? '(empty)' : body,
        MessageAttributes: attrs,
      }),
    );
  }
}
