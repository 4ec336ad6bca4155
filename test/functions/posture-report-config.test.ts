import { describe, expect, it } from 'vitest';
import { ConfigError, loadPostureReportConfig } from '../../functions/config/posture-report-config.js';

const BASE = {
  TABLE_NAME: 'trail',
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:444455556666:alerts',
};

describe('loadPostureReportConfig', () => {
  it('reads every alert setting', () => {
    const config = loadPostureReportConfig({
      ...BASE,
      TRUSTED_ACCOUNT_IDS: '111122223333, 444455556666',
      TRUSTED_ORGANIZATION_ID: 'o-a1b2c3d4e5',
      ALERT_SUPPRESSIONS:
        '[{"ruleId":"aws-auth-edited","cluster":"sandbox-*"},{"principal":"arn:aws:iam::*:role/ci-*"}]',
      UNUSED_MAPPING_DAYS: '60',
      RECENT_MAPPING_DAYS: '3',
    });
    expect(config).toEqual({
      tableName: 'trail',
      alertTopicArn: BASE.ALERT_TOPIC_ARN,
      alerts: {
        trustedAccountIds: ['111122223333', '444455556666'],
        organizationId: 'o-a1b2c3d4e5',
        suppressions: [{ ruleId: 'aws-auth-edited', cluster: 'sandbox-*' }, { principal: 'arn:aws:iam::*:role/ci-*' }],
        unusedMappingDays: 60,
        recentMappingDays: 3,
      },
    });
  });

  it('defaults the optional settings', () => {
    expect(loadPostureReportConfig(BASE).alerts).toEqual({
      trustedAccountIds: [],
      suppressions: [],
      unusedMappingDays: 90,
      recentMappingDays: 7,
    });
  });

  it.each([
    ['a missing topic', { ALERT_TOPIC_ARN: '' }, 'ALERT_TOPIC_ARN'],
    ['a topic that is not an SNS ARN', { ALERT_TOPIC_ARN: 'arn:aws:sqs:us-east-1:1:q' }, 'ALERT_TOPIC_ARN'],
    ['suppressions that are not JSON', { ALERT_SUPPRESSIONS: '[{ruleId:x}]' }, 'ALERT_SUPPRESSIONS'],
    ['suppressions that are not an array', { ALERT_SUPPRESSIONS: '{"ruleId":"x"}' }, 'ALERT_SUPPRESSIONS'],
    ['a suppression with an unknown key', { ALERT_SUPPRESSIONS: '[{"rule":"x"}]' }, 'ALERT_SUPPRESSIONS'],
    ['a suppression naming nothing', { ALERT_SUPPRESSIONS: '[{}]' }, 'ALERT_SUPPRESSIONS'],
    ['a suppression with a non-string value', { ALERT_SUPPRESSIONS: '[{"cluster":3}]' }, 'ALERT_SUPPRESSIONS'],
    ['an unused-days value that is not a positive integer', { UNUSED_MAPPING_DAYS: '-1' }, 'UNUSED_MAPPING_DAYS'],
    ['a malformed organization id', { TRUSTED_ORGANIZATION_ID: 'org-1' }, 'TRUSTED_ORGANIZATION_ID'],
    ['an account id that is not 12 digits', { TRUSTED_ACCOUNT_IDS: '1234' }, 'TRUSTED_ACCOUNT_IDS'],
  ])('refuses %s', (_name, patch, variable) => {
    let error: unknown;
    try {
      loadPostureReportConfig({ ...BASE, ...patch });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable)).toEqual([variable]);
  });
});
