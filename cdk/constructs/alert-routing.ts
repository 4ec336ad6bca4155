import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ALERT_EVENT_DETAIL_TYPE, ALERT_EVENT_SOURCE } from '../../lib/alerts/alert-event.js';
import { ENV } from '../../lib/runtime-env.js';
import { type AlertRoutingSettings, DEFAULT_ALERT_ROUTING } from '../alert-routing-config.js';
import type { ClusterConfig } from '../config.js';

export interface AlertRoutingProps {
  settings?: AlertRoutingSettings;
  /** The deployment's clusters: their regions make the cluster ARN of each routed alert. */
  clusters: readonly ClusterConfig[];
}

/**
 * Where alerts go besides the SNS topic (docs/alert-events.md): every alert as an event on an
 * EventBridge bus of this account and region (the default bus unless configured), and, when
 * `securityHub` is set, as an ASFF finding imported into Security Hub through the account's default
 * product. Creates nothing; grants a function exactly those two calls:
 *  - `events:PutEvents` on that one bus, only for this product's source and detail-type (the
 *    `events:source` / `events:detail-type` condition keys), so the ingest roles cannot pose as
 *    GuardDuty or any other source on a bus other rules trust;
 *  - `securityhub:BatchImportFindings` on the default product ARN of this account and region, the
 *    only product a custom integration imports into.
 */
export class AlertRouting extends Construct {
  readonly settings: AlertRoutingSettings;
  readonly eventBusArn: string;
  /** Set when findings are imported. */
  readonly securityHubProductArn?: string;
  private readonly clusterRegions: Record<string, string>;

  constructor(scope: Construct, id: string, props: AlertRoutingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.settings = props.settings ?? DEFAULT_ALERT_ROUTING;
    this.eventBusArn = stack.formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: this.settings.eventBusName,
    });
    if (this.settings.securityHub) {
      this.securityHubProductArn = `arn:${stack.partition}:securityhub:${stack.region}:${stack.account}:product/${stack.account}/default`;
    }
    this.clusterRegions = Object.fromEntries(props.clusters.map((c) => [`${c.account}/${c.name}`, c.region]));
  }

  /** The two grants and the variables the function's config loader reads (functions/config/alert-routing-config.ts). */
  grantTo(fn: lambda.Function): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [this.eventBusArn],
        conditions: {
          StringEquals: { 'events:source': ALERT_EVENT_SOURCE, 'events:detail-type': ALERT_EVENT_DETAIL_TYPE },
        },
      }),
    );
    fn.addEnvironment(ENV.alertEventBusName, this.settings.eventBusName);
    fn.addEnvironment(ENV.alertClusterRegions, JSON.stringify(this.clusterRegions));
    if (this.securityHubProductArn) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['securityhub:BatchImportFindings'],
          resources: [this.securityHubProductArn],
        }),
      );
      fn.addEnvironment(ENV.alertSecurityHubProductArn, this.securityHubProductArn);
    }
  }
}
