import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { acknowledge, MIN_ACK_REASON_LENGTH } from '../../cdk/nag.js';
import { multiAccountInput, synthApp } from './support/trail-apps.js';

const allConstructs = (root: IConstruct): IConstruct[] => [root, ...root.node.children.flatMap(allConstructs)];

/** Every acknowledgement recorded in the tree: rule id -> reason. */
const acknowledgements = (root: IConstruct) =>
  allConstructs(root).flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ path: c.node.path, id, reason })),
  );

const GENERIC = /^(ok|fine|n\/a|not needed|false positive|suppressed|acknowledged|by design|intended|todo)\b/i;

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['multi-account (accounts)', multiAccountInput],
    [
      'multi-account (organization)',
      { ...multiAccountInput, memberAccountIds: undefined, organizationId: 'o-a1b2c3d4e5' },
    ],
    ['single-account', { mode: 'single-account', clusters: [{ name: 'prod', enableControlPlaneLogging: true }] }],
    ['multi-account with the OCSF export to its own bucket', { ...multiAccountInput, ocsfExport: {} }],
    [
      'multi-account with the OCSF export into Security Lake',
      {
        ...multiAccountInput,
        ocsfExport: {
          securityLake: {
            apiActivityLocation: 's3://aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-api-activity/1.0/',
            entityManagementLocation:
              's3://aws-security-data-lake-eu-west-1-abc123/ext/eks-trail-entity-management/1.0/',
            providerRoleArn:
              'arn:aws:iam::111111111111:role/AmazonSecurityLake-Provider-eks-trail-api-activity-eu-west-1',
            externalId: 'eks-trail-external-id',
          },
        },
      },
    ],
  ])('synthesizes the %s app with no unacknowledged finding', (_mode, input) => {
    const { app } = synthApp(input, { nag: true });
    // Synthesis throws and lists the findings when any is left.
    expect(() => app.synth()).not.toThrow();
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(MIN_ACK_REASON_LENGTH);
      expect(a.reason, `${a.path} ${a.id}`).not.toMatch(GENERIC);
    }
    // Granular rules are acknowledged finding by finding, never wholesale.
    for (const a of acks.filter((x) => /IAM[45]/.test(x.id))) expect(a.id).toMatch(/\[.+\]$/);
  });

  it('still reports a real finding (the plugin is active, not silenced wholesale)', () => {
    const { app, stacks } = synthApp(multiAccountInput, { nag: true });
    // A wildcard grant nobody acknowledged must fail synthesis.
    stacks.central.queryApi.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    expect(() => app.synth()).toThrow(/IAM5/);
  });

  it.each([
    ['empty', ''],
    ['too short to explain anything', 'needed by the app'],
  ])('refuses an acknowledgement whose reason is %s', (_kind, reason) => {
    const { stacks } = synthApp(multiAccountInput);
    expect(() => acknowledge(stacks.central, 'AwsSolutions-IAM5', reason)).toThrow(/specific reason/);
  });
});
