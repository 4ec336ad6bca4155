import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../config.js';
import { CLUSTER_LOG_FILTER_PATTERN } from '../event-patterns.js';
import { acknowledge } from '../nag.js';
import { clusterLogGroupName, subscriptionFilterName } from '../names.js';

export type SubscriptionTarget =
  /** Cross-account (or same-account) CloudWatch Logs destination: no role on the member side. */
  | { kind: 'destination'; destinationArn: string }
  /** Same account and region: straight to the stream, with a role CloudWatch Logs assumes. */
  | { kind: 'stream'; streamArn: string; roleArn: string };

export interface ClusterLogSubscriptionsProps {
  clusters: ClusterConfig[];
  destination: SubscriptionTarget;
}

/**
 * One subscription filter per cluster log group, leaving the second of the two filters CloudWatch
 * Logs allows per log group free for the owner's own tooling. The log group is referenced by name:
 * EKS creates it when control-plane logging is turned on, and the stack must never own (or delete) it.
 */
export class ClusterLogSubscriptions extends Construct {
  readonly filters: logs.CfnSubscriptionFilter[] = [];

  constructor(scope: Construct, id: string, props: ClusterLogSubscriptionsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    for (const cluster of props.clusters) {
      const filter = new logs.CfnSubscriptionFilter(this, `Filter-${cluster.name}`, {
        logGroupName: clusterLogGroupName(cluster.name),
        filterName: subscriptionFilterName(stack.region),
        filterPattern: CLUSTER_LOG_FILTER_PATTERN,
        destinationArn:
          props.destination.kind === 'destination' ? props.destination.destinationArn : props.destination.streamArn,
        ...(props.destination.kind === 'stream' ? { roleArn: props.destination.roleArn } : {}),
      });
      this.filters.push(filter);
      if (cluster.enableControlPlaneLogging) {
        const logging = new ControlPlaneLogging(this, `Logging-${cluster.name}`, { clusterName: cluster.name });
        // The filter needs the log group, which appears once EKS applies the logging update.
        filter.node.addDependency(logging);
      }
    }
  }
}

/**
 * Turns on the `authenticator` and `audit` control-plane log types with eks:UpdateClusterConfig.
 * The API merges: types not named keep their state, so api / controllerManager / scheduler logging
 * chosen by the owner is untouched. Removing the stack leaves logging on (no onDelete): turning
 * audit logging off is the owner's decision, not a side effect of uninstalling.
 */
export class ControlPlaneLogging extends Construct {
  constructor(scope: Construct, id: string, props: { clusterName: string }) {
    super(scope, id);
    const stack = Stack.of(this);
    const clusterArn = stack.formatArn({ service: 'eks', resource: 'cluster', resourceName: props.clusterName });
    const call: cr.AwsSdkCall = {
      service: 'EKS',
      action: 'UpdateClusterConfig',
      parameters: {
        name: props.clusterName,
        logging: { clusterLogging: [{ types: ['authenticator', 'audit'], enabled: true }] },
      },
      physicalResourceId: cr.PhysicalResourceId.of(`${props.clusterName}-control-plane-logging`),
      // EKS answers InvalidParameterException "No changes needed for the logging config provided"
      // when both types are already on: that is success for us.
      ignoreErrorCodesMatching: 'InvalidParameterException',
    };
    const resource = new cr.AwsCustomResource(this, 'UpdateClusterConfig', {
      onCreate: call,
      onUpdate: call,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['eks:UpdateClusterConfig'], resources: [clusterArn] }),
      ]),
    });
    // AwsCustomResource shares one provider function per stack; its role is created by CDK with the
    // AWS managed basic-execution policy, and cannot be given a custom one.
    const provider = stack.node.tryFindChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    acknowledge(
      provider ? provider : resource,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'Role of the CDK-provided AwsCustomResource provider (eks:UpdateClusterConfig on listed clusters only); CDK attaches the basic-execution managed policy, which only allows writing its own logs.',
    );
  }
}
