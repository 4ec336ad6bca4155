import { Aws, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../config.js';
import { ClusterLogSubscriptions } from '../constructs/cluster-log-subscriptions.js';
import { eksAccessEventPattern, stsAssumeRoleEventPattern } from '../event-patterns.js';
import { centralBusArn, destinationArn } from '../names.js';

export interface MemberStackProps extends StackProps {
  /** Clusters of this stack's account and region (may be empty for an STS-only stack in us-east-1). */
  clusters: ClusterConfig[];
  centralAccount: string;
  centralRegion: string;
  /** Forward EKS access-management events (false in the extra us-east-1 STS-only stack). */
  forwardEksEvents: boolean;
  forwardStsEvents: boolean;
}

/**
 * The workload-account side: subscription filters on the clusters' control-plane log groups to the
 * central destination of this region, and default-bus rules forwarding CloudTrail events to the
 * central bus. Built only from names (no cross-stack references), so it can be deployed in each
 * account with `cdk deploy` or as a service-managed StackSet template.
 */
export class MemberStack extends Stack {
  readonly subscriptions?: ClusterLogSubscriptions;
  readonly forwardRole?: iam.Role;
  readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, props);
    if (props.clusters.length > 0) {
      this.subscriptions = new ClusterLogSubscriptions(this, 'Clusters', {
        clusters: props.clusters,
        destination: {
          kind: 'destination',
          destinationArn: destinationArn(Aws.PARTITION, this.region, props.centralAccount),
        },
      });
    }

    if (!props.forwardEksEvents && !props.forwardStsEvents) return;
    const busArn = centralBusArn(Aws.PARTITION, props.centralRegion, props.centralAccount);
    const centralBus = events.EventBus.fromEventBusArn(this, 'CentralBus', busArn);
    const forwardRole = new iam.Role(this, 'ForwardRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'EventBridge forwards EKS / STS CloudTrail events to the eks-access-trail central bus',
    });
    forwardRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [busArn] }));
    this.forwardRole = forwardRole;
    const target = new targets.EventBus(centralBus, { role: forwardRole });

    if (props.forwardEksEvents) {
      this.rules.push(
        new events.Rule(this, 'ForwardEksAccessEvents', {
          description: 'EKS access-management CloudTrail events -> eks-access-trail central bus',
          eventPattern: eksAccessEventPattern(),
          targets: [target],
        }),
      );
    }
    if (props.forwardStsEvents) {
      this.rules.push(
        new events.Rule(this, 'ForwardStsAssumeRoleEvents', {
          description: 'STS AssumeRole* CloudTrail events -> eks-access-trail central bus',
          eventPattern: stsAssumeRoleEventPattern(),
          targets: [target],
        }),
      );
    }
  }
}
