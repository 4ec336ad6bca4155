import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DESTINATION_NAME } from '../names.js';
import { type Admission, admissionStatement } from '../policies.js';

export interface LogDestinationProps {
  /** The central Kinesis stream; it may be in another region than this destination. */
  streamArn: string;
  /** Role CloudWatch Logs assumes to write to the stream. */
  roleArn: string;
  admission: Admission;
}

/**
 * A CloudWatch Logs destination in the central account. A log group can only subscribe to a
 * destination in its own region, while the destination's Kinesis target may be in another region,
 * so there is one destination (this construct) per region that has clusters, all feeding one stream.
 */
export class LogDestination extends Construct {
  readonly destination: logs.CfnDestination;
  readonly destinationArn: string;

  constructor(scope: Construct, id: string, props: LogDestinationProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.destinationArn = stack.formatArn({
      service: 'logs',
      resource: 'destination',
      resourceName: DESTINATION_NAME,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const policy = new iam.PolicyDocument({
      statements: [
        admissionStatement(
          props.admission,
          'logs:PutSubscriptionFilter',
          this.destinationArn,
          'AdmitMemberSubscriptions',
        ),
      ],
    });
    this.destination = new logs.CfnDestination(this, 'Destination', {
      destinationName: DESTINATION_NAME,
      roleArn: props.roleArn,
      targetArn: props.streamArn,
      destinationPolicy: stack.toJsonString(policy.toJSON()),
    });
  }
}
