import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../config.js';
import { CLUSTER_LOG_FILTER_PATTERN } from '../event-patterns.js';
import { clusterLogGroupName, subscriptionFilterName } from '../names.js';

export type SubscriptionTarget =
  /** Cross-account (or same-account) CloudWatch Logs destination: no role on the member side. */
  | { kind: 'destination'; destinationArn: string }
  /** Same account and region: straight to the stream, with a role CloudWatch Logs assumes. */
  | { kind: 'stream'; streamArn: string; roleArn: string };

export interface ClusterLogSubscriptionsProps {
  clusters: ClusterConfig[];
  destination: SubscriptionTarget;
  /** Retention of the control-plane logging provider's log group. */
  logRetention: logs.RetentionDays;
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
    let provider: ProviderIdentity | undefined;
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
        provider ??= new ProviderIdentity(this, 'LoggingProvider', props.logRetention);
        const logging = new ControlPlaneLogging(this, `Logging-${cluster.name}`, {
          clusterName: cluster.name,
          provider,
        });
        // The filter needs the log group, which appears once EKS applies the logging update.
        filter.node.addDependency(logging);
      }
    }
  }
}

/**
 * Role and log group of the one provider function AwsCustomResource shares per stack. Given its own
 * role, the provider gets no AWS managed policy (CDK's default role carries
 * AWSLambdaBasicExecutionRole, which may write to every log group of the account): it may write to
 * its own log group, and call what each resource's policy adds.
 */
export class ProviderIdentity extends Construct {
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, retention: logs.RetentionDays) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'eks-access-trail control-plane logging provider (eks:UpdateClusterConfig on listed clusters)',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // logGroupArn already ends in ":*", which covers the group's streams and nothing else.
        resources: [this.logGroup.logGroupArn],
      }),
    );
  }
}

/**
 * Turns on the `authenticator` and `audit` control-plane log types with eks:UpdateClusterConfig.
 * The API merges: types not named keep their state, so api / controllerManager / scheduler logging
 * chosen by the owner is untouched. Removing the stack leaves logging on (no onDelete): turning
 * audit logging off is the owner's decision, not a side effect of uninstalling.
 */
export class ControlPlaneLogging extends Construct {
  constructor(scope: Construct, id: string, props: { clusterName: string; provider: ProviderIdentity }) {
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
    new cr.AwsCustomResource(this, 'UpdateClusterConfig', {
      onCreate: call,
      onUpdate: call,
      installLatestAwsSdk: false,
      // The provider is shared by every AwsCustomResource of the stack: each passes the same role and
      // log group, and each resource adds its own statement to the role.
      role: props.provider.role,
      logGroup: props.provider.logGroup,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['eks:UpdateClusterConfig'], resources: [clusterArn] }),
      ]),
    });
  }
}
