import { Aws, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { LogDestination } from '../constructs/log-destination.js';
import { destinationRoleName } from '../names.js';
import type { Admission } from '../policies.js';

export interface DestinationStackProps extends StackProps {
  /** ARN of the central stream (central region). */
  streamArn: string;
  centralRegion: string;
  admission: Admission;
}

/**
 * A CloudWatch Logs destination in the central account for a region other than the central one:
 * log groups can only subscribe to a destination of their own region. It reuses the central
 * stack's role by name (IAM is global) and writes cross-region into the central stream.
 */
export class DestinationStack extends Stack {
  readonly destination: LogDestination;

  constructor(scope: Construct, id: string, props: DestinationStackProps) {
    super(scope, id, props);
    this.destination = new LogDestination(this, 'Destination', {
      streamArn: props.streamArn,
      roleArn: `arn:${Aws.PARTITION}:iam::${this.account}:role/${destinationRoleName(props.centralRegion)}`,
      admission: props.admission,
    });
  }
}
