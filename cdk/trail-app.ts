import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ClusterConfig, TrailConfig } from './config.js';
import { GLOBAL_STS_REGION, STACK, streamArn } from './names.js';
import { admissionOf } from './policies.js';
import { CentralStack } from './stacks/central-stack.js';
import { DestinationStack } from './stacks/destination-stack.js';
import { MemberStack } from './stacks/member-stack.js';

export interface TrailStacks {
  central: CentralStack;
  /** Central-account destinations for regions other than the central region. */
  destinations: DestinationStack[];
  /** One per (account, region) with clusters, plus the us-east-1 STS forwarders. */
  members: MemberStack[];
}

/**
 * Builds every stack of a validated configuration under `scope` (an App or a Stage). Multi-account:
 * the central stack, a destination stack per extra cluster region, and a member stack per
 * (account, region) with clusters. Single-account: one stack with both sides.
 */
export function buildTrailApp(scope: Construct, config: TrailConfig): TrailStacks {
  // With a KMS-encrypted queue CDK otherwise grants EventBridge SendMessage without any condition.
  scope.node.setContext('@aws-cdk/aws-events:eventsTargetQueueSameAccount', true);

  const centralEnv = { account: config.centralAccount, region: config.centralRegion };
  const members: MemberStack[] = [];
  const destinations: DestinationStack[] = [];
  const stsOnlyStack = (id: string, account: string) =>
    new MemberStack(scope, id, {
      env: { account, region: GLOBAL_STS_REGION },
      description: 'eks-access-trail: forwards STS AssumeRole* events of the global STS endpoint (us-east-1)',
      clusters: [],
      centralAccount: config.centralAccount,
      centralRegion: config.centralRegion,
      forwardEksEvents: false,
      forwardStsEvents: true,
      logRetentionDays: config.logRetentionDays as logs.RetentionDays,
    });

  if (config.mode === 'single-account') {
    const central = new CentralStack(scope, STACK.single, {
      env: centralEnv,
      description: 'eks-access-trail (single account): ingestion, storage, query API and alerts',
      config,
      singleAccount: true,
    });
    if (config.forwardGlobalStsEvents && config.centralRegion !== GLOBAL_STS_REGION) {
      const sts = stsOnlyStack(STACK.singleGlobalSts, config.centralAccount);
      sts.addStackDependency(central);
      members.push(sts);
    }
    return { central, destinations, members };
  }

  const centralHasClusters = config.clusters.some(
    (c) => c.account === config.centralAccount && c.region === config.centralRegion,
  );
  const central = new CentralStack(scope, STACK.central, {
    env: centralEnv,
    description: 'eks-access-trail central (security account): ingestion, storage, query API and alerts',
    config,
    localEventRules: centralHasClusters,
  });

  const admission = admissionOf(config, false);
  const clusterRegions = [...new Set(config.clusters.map((c) => c.region))].filter((r) => r !== config.centralRegion);
  for (const region of clusterRegions.sort()) {
    const d = new DestinationStack(scope, STACK.destination(region), {
      env: { account: config.centralAccount, region },
      description: `eks-access-trail CloudWatch Logs destination for ${region} clusters`,
      streamArn: streamArn(partitionOf(config.centralRegion), config.centralRegion, config.centralAccount),
      centralRegion: config.centralRegion,
      admission,
    });
    d.addStackDependency(central);
    destinations.push(d);
  }

  const byStack = new Map<string, ClusterConfig[]>();
  for (const c of config.clusters) {
    const key = `${c.account}/${c.region}`;
    byStack.set(key, [...(byStack.get(key) ?? []), c]);
  }
  const accountsWithGlobalStsStack = new Set<string>();
  for (const [key, clusters] of [...byStack].sort(([a], [b]) => a.localeCompare(b))) {
    const [account, region] = key.split('/') as [string, string];
    // Same account and region as the central bus: the central stack's own default-bus rules cover it.
    const isCentral = account === config.centralAccount && region === config.centralRegion;
    members.push(
      new MemberStack(scope, STACK.member(account, region), {
        env: { account, region },
        description: `eks-access-trail member: control-plane log subscriptions and CloudTrail forwarding (${region})`,
        clusters,
        centralAccount: config.centralAccount,
        centralRegion: config.centralRegion,
        forwardEksEvents: !isCentral,
        forwardStsEvents: !isCentral,
        logRetentionDays: config.logRetentionDays as logs.RetentionDays,
      }),
    );
    if (region === GLOBAL_STS_REGION) accountsWithGlobalStsStack.add(account);
  }
  if (config.forwardGlobalStsEvents) {
    for (const account of [...new Set(config.clusters.map((c) => c.account))].sort()) {
      if (accountsWithGlobalStsStack.has(account)) continue;
      if (account === config.centralAccount && config.centralRegion === GLOBAL_STS_REGION) continue;
      members.push(stsOnlyStack(STACK.member(account, GLOBAL_STS_REGION), account));
    }
  }
  return { central, destinations, members };
}

/** Partition of a region (the destination stack needs a literal stream ARN in another region). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}
