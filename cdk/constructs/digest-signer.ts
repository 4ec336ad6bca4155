import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIGEST_KEY_ALIAS, KMS_SIGNING_ALGORITHM } from '../../lib/integrity/kms-key.js';
import { DIGEST_METRICS, ENV, METRICS } from '../../lib/runtime-env.js';
import { DIGEST_PK_PREFIX, PENDING_PK_PREFIX } from '../../lib/store/keys.js';
import { trailRuleName } from '../names.js';
import { TrailFunction } from './trail-function.js';
import type { TrailTable } from './trail-table.js';

export interface DigestSignerProps {
  table: TrailTable;
  /**
   * Every function that writes the trail: each is denied the digest partitions, so no ingest role
   * can write, change or delete a digest (docs/tamper-evidence.md, "Who can write what").
   */
  writers: lambda.Function[];
  logRetention: logs.RetentionDays;
  /** Encrypts the signer's log group (TrailFunction). */
  logsKey: kms.IKey;
  /** Where the signer's alarms go (the alert topic). */
  alarmTopic: sns.ITopic;
  /** Where EventBridge puts a scheduled run it could not deliver. */
  deadLetterQueue: sqs.IQueue;
  /** How long Lambda may retry a log batch: the Kinesis event source's maximum record age. */
  retryWindow: Duration;
}

/** IAM condition on the partition keys of the items a request writes (DynamoDB fine-grained access control). */
const leadingKeys = (quantifier: 'ForAllValues' | 'ForAnyValue', prefixes: string[]) => ({
  [`${quantifier}:StringLike`]: { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) },
});

/**
 * Tamper evidence (docs/tamper-evidence.md): an asymmetric KMS key that only the signer may sign
 * with, the signer function on an hourly schedule, its right to write the digest partitions and no
 * others, the deny that keeps every trail writer out of them, and alarms on a failed or missed run
 * and on signed items found changed.
 */
export class DigestSigner extends Construct {
  readonly key: kms.Key;
  readonly fn: TrailFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: DigestSignerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { table } = props;

    this.fn = new TrailFunction(this, 'Function', {
      entry: 'digest-signer',
      description: 'Signs hourly digests of what the trail stored (tamper evidence)',
      // A backlog (a backfill, or runs missed) is read and hashed in one run.
      timeout: Duration.minutes(15),
      logRetention: props.logRetention,
      logsKey: props.logsKey,
      // Links of a scope form one chain: two runs at once would fork it.
      reservedConcurrentExecutions: 1,
    });
    const role = this.fn.role;

    const root = new iam.AccountRootPrincipal();
    // No key rotation: KMS rotates symmetric keys only (cdk-nag's KMS5 checks those alone). The
    // public key verifies every digest ever signed; replacing the key means a new key and alias, with
    // older links verified against the old public key (docs/tamper-evidence.md, "Keys").
    this.key = new kms.Key(this, 'Key', {
      description: 'eks-access-trail digest signing (tamper evidence)',
      keySpec: kms.KeySpec.RSA_2048,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      alias: DIGEST_KEY_ALIAS,
      // Old digests are verified with this key's public key for as long as the trail is kept.
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new iam.PolicyDocument({
        statements: [
          // Administration through IAM, without the right to use the key: nobody but the signer signs,
          // and granting that right means changing this policy, which CloudTrail records.
          new iam.PolicyStatement({
            sid: 'Administer',
            principals: [root],
            actions: [
              'kms:CreateAlias',
              'kms:DeleteAlias',
              'kms:UpdateAlias',
              'kms:DescribeKey',
              'kms:EnableKey',
              'kms:DisableKey',
              'kms:GetKeyPolicy',
              'kms:PutKeyPolicy',
              'kms:ListGrants',
              'kms:ListKeyPolicies',
              'kms:ListResourceTags',
              'kms:RevokeGrant',
              'kms:TagResource',
              'kms:UntagResource',
              'kms:UpdateKeyDescription',
              'kms:ScheduleKeyDeletion',
              'kms:CancelKeyDeletion',
            ],
            resources: ['*'], // in a key policy "*" means this key
          }),
          // Verifying needs the public key only; principals of the account get it through IAM.
          new iam.PolicyStatement({
            sid: 'Verify',
            principals: [root],
            actions: ['kms:GetPublicKey', 'kms:Verify'],
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            sid: 'SignDigests',
            principals: [new iam.ArnPrincipal(role.roleArn)],
            actions: ['kms:Sign'],
            resources: ['*'],
            conditions: { StringEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM } },
          }),
        ],
      }),
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Sign'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM } },
      }),
    );
    this.fn.fn.addEnvironment(ENV.digestKeyArn, this.key.keyArn);
    // A pending mark is taken once its writer cannot still be writing: three times the longest writer timeout.
    const longest = Math.max(...props.writers.map((w) => w.timeout?.toMinutes() ?? 15));
    this.fn.fn.addEnvironment(ENV.digestSettleMinutes, String(Math.max(1, 3 * Math.ceil(longest))));
    this.fn.fn.addEnvironment(ENV.digestRetryWindowMinutes, String(props.retryWindow.toMinutes()));

    // ---- table access: read everything, write digests, delete pending marks (and orphaned manifests)
    table.grantReadTo(this.fn.fn);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
        resources: [table.table.tableArn],
        conditions: leadingKeys('ForAllValues', [DIGEST_PK_PREFIX]),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DeleteItem'],
        resources: [table.table.tableArn],
        conditions: leadingKeys('ForAllValues', [DIGEST_PK_PREFIX, PENDING_PK_PREFIX]),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Encrypt', 'kms:GenerateDataKey'], resources: [table.key.keyArn] }),
    );
    for (const writer of props.writers) {
      writer.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'NoDigestWrites',
          effect: iam.Effect.DENY,
          actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [table.table.tableArn],
          conditions: leadingKeys('ForAnyValue', [DIGEST_PK_PREFIX]),
        }),
      );
    }

    // ---- schedule: every hour, once the hour before has settled
    // Named like the stack's other rules, so the stack's rule-failure alarm can watch it too.
    this.schedule = new events.Rule(this, 'DigestSchedule', {
      ruleName: trailRuleName('DigestSchedule'),
      description: 'Runs the eks-access-trail digest signer every hour',
      schedule: events.Schedule.cron({ minute: '20' }),
      targets: [
        new targets.LambdaFunction(this.fn.fn, {
          retryAttempts: 2,
          // A run delivered later than this is superseded by the next one, which covers the same marks.
          maxEventAge: Duration.hours(1),
          deadLetterQueue: props.deadLetterQueue,
        }),
      ],
    });

    // ---- alarms
    const notify = new cwActions.SnsAction(props.alarmTopic);
    const hour = Duration.hours(1);
    const alarm = (alarmId: string, a: cloudwatch.AlarmProps) =>
      new cloudwatch.Alarm(this, alarmId, a).addAlarmAction(notify);
    alarm('Errors', {
      metric: this.fn.fn.metricErrors({ period: hour, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'the digest signer failed: what was stored since its last run is not signed yet',
    });
    alarm('NotRunning', {
      metric: this.fn.fn.metricInvocations({ period: Duration.hours(3), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data means no invocation: the schedule or the function is gone.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription: 'the digest signer has not run for three hours: nothing stored since is signed',
    });
    alarm('Mismatches', {
      metric: new cloudwatch.Metric({
        namespace: METRICS.namespace,
        metricName: DIGEST_METRICS.mismatches,
        dimensionsMap: { service: 'digest-signer' },
        period: hour,
        statistic: 'Sum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'signed trail items were found changed or deleted (the signer log names them; run eks-trail verify)',
    });

    new CfnOutput(stack, 'DigestKeyArn', {
      value: this.key.keyArn,
      description: 'Key the trail digests are signed with: eks-trail verify --table <t> --digest-key <this>',
    });
  }
}
