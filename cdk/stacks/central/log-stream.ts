import { Duration, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { TrailConfig } from '../../config.js';
import { LogDestination } from '../../constructs/log-destination.js';
import { acknowledge } from '../../nag.js';
import { destinationRoleName, STREAM_NAME, STREAM_RETENTION_HOURS } from '../../names.js';
import type { Admission } from '../../policies.js';

export interface LogStream {
  stream: kinesis.Stream;
  streamKey: kms.Key;
}

/** The encrypted Kinesis stream every control-plane log event of every cluster arrives on. */
export function createLogStream(stack: Stack, config: TrailConfig): LogStream {
  const streamKey = new kms.Key(stack, 'StreamKey', {
    description: 'eks-access-trail log stream encryption',
    enableKeyRotation: true,
  });
  const stream = new kinesis.Stream(stack, 'LogStream', {
    streamName: STREAM_NAME,
    encryption: kinesis.StreamEncryption.KMS,
    encryptionKey: streamKey,
    // Seven days, not the included 24 h: a batch that exhausts its retries is reported to the
    // on-failure queue by shard and sequence range only, and its data must still be in the stream
    // when someone replays it (docs/deploy.md, "Replaying failed records"). It also outlasts a
    // stalled event source mapping by a week instead of a day.
    retentionPeriod: Duration.hours(STREAM_RETENTION_HOURS),
    ...(config.kinesisShards > 0
      ? { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: config.kinesisShards }
      : { streamMode: kinesis.StreamMode.ON_DEMAND }),
  });

  acknowledge(
    stream,
    'AwsSolutions-KDS3',
    'The stream carries audit events with user identities and aws-auth bodies; a customer-managed key lets the security account control and audit who can decrypt them, which the aws/kinesis key (whose policy cannot be edited) does not. The KMS request cost it adds (one producer service, one consumer) is accepted for that control.',
  );
  return { stream, streamKey };
}

export interface LogDelivery {
  destinationRole: iam.Role;
  /** Absent in single-account mode, where log groups subscribe straight to the stream. */
  destination?: LogDestination;
}

/**
 * How CloudWatch Logs writes into the stream: the role it assumes and, with member accounts, the
 * cross-account destination their subscription filters name.
 */
export function createLogDelivery(
  stack: Stack,
  { stream, streamKey }: LogStream,
  admission: Admission,
  single: boolean,
): LogDelivery {
  const destinationRole = new iam.Role(stack, 'DestinationRole', {
    roleName: destinationRoleName(stack.region),
    description: 'Assumed by CloudWatch Logs to deliver EKS control-plane log events into the trail stream',
    assumedBy: new iam.ServicePrincipal('logs.amazonaws.com', {
      // Confused-deputy guard: only log groups of admitted accounts (any region) may cause CloudWatch
      // Logs to use this role. With an organization there is no account list to enumerate.
      ...(admission.kind === 'accounts'
        ? {
            conditions: {
              StringLike: {
                'aws:SourceArn': [...new Set([...admission.accounts, stack.account])].map(
                  (a) => `arn:${stack.partition}:logs:*:${a}:*`,
                ),
              },
            },
          }
        : {}),
    }),
  });
  destinationRole.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kinesis:PutRecord', 'kinesis:PutRecords'],
      resources: [stream.streamArn],
    }),
  );
  destinationRole.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [streamKey.keyArn] }),
  );
  if (single) return { destinationRole };
  const destination = new LogDestination(stack, 'Destination', {
    streamArn: stream.streamArn,
    roleArn: destinationRole.roleArn,
    admission,
  });
  destination.node.addDependency(destinationRole);
  return { destinationRole, destination };
}
