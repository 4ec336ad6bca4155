import { Names, Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ENV } from '../../lib/runtime-env.js';

export interface AlertTopicProps {
  alertEmails: string[];
}

/**
 * SNS topic for mapping-change alerts, posture findings and operational alarms; KMS-encrypted, TLS
 * only. Three kinds of publisher, each admitted on its own terms: the alerting functions (their
 * roles), this account's CloudWatch alarms (the cloudwatch service, for alarms of this account and
 * region only), and the EventBridge rules given eventTarget() (the events service, for that rule only).
 */
export class AlertTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  private eventBridgeKeyGrant = false;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const alarmsOfThisAccount = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
    };
    this.key = new kms.Key(this, 'Key', {
      description: 'eks-access-trail alert topic encryption',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the topic as the cloudwatch service: with a customer-managed key
    // the key policy must let it generate data keys, or alarm notifications are silently dropped.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'], // in a key policy "*" means this key
        conditions: alarmsOfThisAccount,
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'eks-access-trail alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    // Without this statement an alarm action is accepted at deploy time and then refused at every
    // state change: the alarms of the stack would never reach anyone.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: alarmsOfThisAccount,
      }),
    );
    for (const email of props.alertEmails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
  }

  /** Publish permission (and the key use it needs), and ALERT_TOPIC_ARN on the function. */
  grantPublishTo(fn: lambda.Function): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.key.keyArn] }),
    );
    fn.addEnvironment(ENV.alertTopicArn, this.topic.topicArn);
  }

  /**
   * The topic as the target of one EventBridge rule. Unlike targets.SnsTopic, which admits the events
   * service to publish for any rule of any account, the topic policy admits the rule's own ARN only.
   */
  eventTarget(props: targets.TargetBaseProps & { message: events.RuleTargetInput }): events.IRuleTarget {
    return {
      bind: (rule: events.IRule) => {
        this.topic.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: `EventRule${Names.nodeUniqueId(rule.node)}`,
            principals: [new iam.ServicePrincipal('events.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [this.topic.topicArn],
            conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
          }),
        );
        if (!this.eventBridgeKeyGrant) {
          this.eventBridgeKeyGrant = true;
          // EventBridge's key requests for an SNS target carry no aws:SourceArn / aws:SourceAccount:
          // conditioned on them, this grant would drop every delivery. The key encrypts this topic
          // only, and the topic policy above is what limits who may publish.
          this.key.addToResourcePolicy(
            new iam.PolicyStatement({
              sid: 'EventBridgeRuleTargets',
              principals: [new iam.ServicePrincipal('events.amazonaws.com')],
              actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
              resources: ['*'], // in a key policy "*" means this key
            }),
          );
        }
        if (props.deadLetterQueue) targets.addToDeadLetterQueueResourcePolicy(rule, props.deadLetterQueue);
        return { ...targets.bindBaseTargetConfig(props), arn: this.topic.topicArn, input: props.message };
      },
    };
  }
}
