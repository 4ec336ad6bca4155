import { App } from 'aws-cdk-lib';
import { type TrailConfig, validateTrailConfig } from '../../../cdk/config.js';
import { applyNag } from '../../../cdk/nag.js';
import { buildTrailApp, type TrailStacks } from '../../../cdk/trail-app.js';

/** The explicit environment every CDK test synthesizes for: templates must not depend on the CLI's defaults or credentials. */
export const CENTRAL = { account: '111111111111', region: 'eu-west-1' } as const;
export const MEMBER_ACCOUNT = '222222222222';
export const OTHER_MEMBER_ACCOUNT = '333333333333';

export const multiAccountInput = {
  clusters: [
    { name: 'prod', account: MEMBER_ACCOUNT, region: 'eu-west-1', enableControlPlaneLogging: true },
    { name: 'prod-us', account: MEMBER_ACCOUNT, region: 'us-west-2' },
    { name: 'staging', account: OTHER_MEMBER_ACCOUNT, region: 'eu-west-1', silenceAlarm: true },
  ],
  memberAccountIds: [MEMBER_ACCOUNT, OTHER_MEMBER_ACCOUNT],
  retentionDays: { request: 400, quarantine: 30 },
  alertEmails: ['secops@example.com'],
  kinesisShards: 2,
  parallelizationFactor: 2,
  logRetentionDays: 30,
  recentMappingDays: 3,
  alertSuppressions: [{ ruleId: 'access-entry-created', cluster: 'staging' }],
  queryAccess: [
    { name: 'secops', permissionSet: 'SecurityAudit', accounts: ['*'] },
    {
      name: 'prod-oncall',
      roleArn: 'arn:aws:iam::111111111111:role/OnCall',
      accounts: [MEMBER_ACCOUNT],
      clusters: ['prod*'],
    },
  ],
  silenceAlarmMinutes: 30,
};

export function config(input: unknown): TrailConfig {
  const r = validateTrailConfig(input, CENTRAL);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

/**
 * A fresh app for a configuration. Bundling is skipped (the CI synth bundles for real): template
 * assertions do not look inside the code asset, and bundling four functions per app costs seconds.
 */
export function synthApp(input: unknown, opts: { nag?: boolean } = {}): { app: App; stacks: TrailStacks } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildTrailApp(app, config(input));
  if (opts.nag === true) applyNag(app);
  return { app, stacks };
}
