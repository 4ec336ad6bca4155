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

/** SNS topic for mapping-change alerts, posture findings and operational alarms; KMS-encrypted, TLS only. */
export class AlertTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'eks-access-trail alert topic encryption',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the topic as the cloudwatch service: with a customer-managed key
    // the key policy must let it generate data keys, or alarm notifications are silently dropped.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'], // in a key policy "*" means this key
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'eks-access-trail alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
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
}
