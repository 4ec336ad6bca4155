import { describe, expect, it } from 'vitest';
import { loadCloudTrailIngestConfig } from '../../../functions/config/cloudtrail-ingest-config.js';
import { ConfigError } from '../../../functions/config/env-reader.js';
import { loadLogIngestConfig } from '../../../functions/config/log-ingest-config.js';

const valid = {
  TABLE_NAME: 'eks-access-trail-Trail-1ABC',
  RETENTION_DAYS: '{"request":400,"bulkRequest":30,"quarantine":30,"mappingChange":0}',
  TRUSTED_ACCOUNT_IDS: '111111111111, 222222222222,111111111111',
  ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:eks-access-trail-alerts',
};

const problemsOf = (env: Record<string, string | undefined>) => {
  try {
    loadLogIngestConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe.each([
  ['log-ingest', loadLogIngestConfig],
  ['cloudtrail-ingest', loadCloudTrailIngestConfig],
])('%s config loader', (_name, load) => {
  it('reads every variable of a complete environment', () => {
    expect(
      load({
        ...valid,
        TRUSTED_ORGANIZATION_ID: 'o-a1b2c3d4e5',
        ALERT_SUPPRESSIONS: '[{"ruleId":"access-entry-created","cluster":"sandbox-*"}]',
        RECENT_MAPPING_DAYS: '3',
        UNUSED_MAPPING_DAYS: '30',
        AWS_REGION: 'eu-west-1',
        ALERT_EVENT_BUS_NAME: 'default',
        ALERT_SECURITY_HUB_PRODUCT_ARN: 'arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default',
        ALERT_CLUSTER_REGIONS: '{"222222222222/prod":"eu-west-1","222222222222/prod-us":"us-west-2"}',
      }),
    ).toEqual({
      tableName: 'eks-access-trail-Trail-1ABC',
      retentionDays: { request: 400, bulkRequest: 30, quarantine: 30, mappingChange: 0 },
      alertTopicArn: 'arn:aws:sns:eu-west-1:111111111111:eks-access-trail-alerts',
      alerts: {
        trustedAccountIds: ['111111111111', '222222222222'],
        organizationId: 'o-a1b2c3d4e5',
        suppressions: [{ ruleId: 'access-entry-created', cluster: 'sandbox-*' }],
        recentMappingDays: 3,
        unusedMappingDays: 30,
      },
      alertRouting: {
        eventBusName: 'default',
        securityHubProductArn: 'arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default',
        clusterRegions: { '222222222222/prod': 'eu-west-1', '222222222222/prod-us': 'us-west-2' },
        partition: 'aws',
      },
    });
  });

  it('needs only the table name and the alert topic; alert rules fall back to their defaults', () => {
    expect(load({ TABLE_NAME: 'trail', ALERT_TOPIC_ARN: valid.ALERT_TOPIC_ARN })).toEqual({
      tableName: 'trail',
      retentionDays: {},
      alertTopicArn: valid.ALERT_TOPIC_ARN,
      alerts: { trustedAccountIds: [], suppressions: [], recentMappingDays: 7, unusedMappingDays: 90 },
      // Without the routing variables (outside a deployment) alerts go to the topic alone.
      alertRouting: { clusterRegions: {}, partition: 'aws' },
    });
  });

  it('reads the alert ledger retention with the other item classes (cdk/config.ts lets deployers set it)', () => {
    const c = load({ ...valid, RETENTION_DAYS: '{"request":400,"alert":30}' });
    expect(c.retentionDays).toEqual({ request: 400, alert: 30 });
  });

  it('refuses to start without an alert topic: changes would be stored and nobody told', () => {
    expect(() => load({ TABLE_NAME: 'trail' })).toThrow(/ALERT_TOPIC_ARN: is required/);
  });
});

describe('log-ingest config errors', () => {
  it.each([
    ['missing table name', { TABLE_NAME: undefined }, 'TABLE_NAME', /required/],
    ['blank table name', { TABLE_NAME: '   ' }, 'TABLE_NAME', /required/],
    ['table name with a slash', { TABLE_NAME: 'arn:aws:dynamodb:x/table' }, 'TABLE_NAME', /valid DynamoDB table name/],
    ['retention not JSON', { RETENTION_DAYS: '{request:400}' }, 'RETENTION_DAYS', /not JSON/],
    ['retention as an array', { RETENTION_DAYS: '[400]' }, 'RETENTION_DAYS', /JSON object/],
    [
      'retention of an unknown class',
      { RETENTION_DAYS: '{"requests":400}' },
      'RETENTION_DAYS',
      /unknown item class "requests"/,
    ],
    [
      'retention of the item class storage v1 had (chains are no longer stored)',
      { RETENTION_DAYS: '{"chain":400}' },
      'RETENTION_DAYS',
      /unknown item class "chain"/,
    ],
    ['negative retention', { RETENTION_DAYS: '{"request":-1}' }, 'RETENTION_DAYS', /whole number/],
    ['fractional retention', { RETENTION_DAYS: '{"bulkRequest":1.5}' }, 'RETENTION_DAYS', /whole number/],
    ['short account id', { TRUSTED_ACCOUNT_IDS: '1111' }, 'TRUSTED_ACCOUNT_IDS', /1111/],
    [
      'topic that is not an SNS ARN',
      { ALERT_TOPIC_ARN: 'arn:aws:sqs:eu-west-1:111111111111:q' },
      'ALERT_TOPIC_ARN',
      /sns/,
    ],
    ['missing topic', { ALERT_TOPIC_ARN: undefined }, 'ALERT_TOPIC_ARN', /required/],
    ['suppressions not JSON', { ALERT_SUPPRESSIONS: '{ruleId' }, 'ALERT_SUPPRESSIONS', /not JSON/],
    [
      'suppression with a typo key',
      { ALERT_SUPPRESSIONS: '[{"rule":"x"}]' },
      'ALERT_SUPPRESSIONS',
      /unknown key "rule"/,
    ],
    ['zero recent-mapping window', { RECENT_MAPPING_DAYS: '0' }, 'RECENT_MAPPING_DAYS', /positive integer/],
    ['bad unused-mapping days', { UNUSED_MAPPING_DAYS: 'ninety' }, 'UNUSED_MAPPING_DAYS', /positive integer/],
    ['bad organization id', { TRUSTED_ORGANIZATION_ID: 'org-1' }, 'TRUSTED_ORGANIZATION_ID', /Organizations id/],
    ['bus name with a space', { ALERT_EVENT_BUS_NAME: 'my bus' }, 'ALERT_EVENT_BUS_NAME', /bus name/],
    [
      'Security Hub product of a partner (not the default product)',
      { ALERT_SECURITY_HUB_PRODUCT_ARN: 'arn:aws:securityhub:eu-west-1::product/vendor/product' },
      'ALERT_SECURITY_HUB_PRODUCT_ARN',
      /product\/<account>\/default/,
    ],
    [
      'Security Hub default product of another account',
      {
        ALERT_SECURITY_HUB_PRODUCT_ARN: 'arn:aws:securityhub:eu-west-1:111111111111:product/222222222222/default',
      },
      'ALERT_SECURITY_HUB_PRODUCT_ARN',
      /default/,
    ],
    ['cluster regions not JSON', { ALERT_CLUSTER_REGIONS: '{prod' }, 'ALERT_CLUSTER_REGIONS', /JSON object/],
    [
      'cluster region key without its account',
      { ALERT_CLUSTER_REGIONS: '{"prod":"eu-west-1"}' },
      'ALERT_CLUSTER_REGIONS',
      /not <account>\/<cluster>/,
    ],
    [
      'cluster region that is not a region',
      { ALERT_CLUSTER_REGIONS: '{"222222222222/prod":"Ireland"}' },
      'ALERT_CLUSTER_REGIONS',
      /not a region/,
    ],
  ])('rejects %s', (_case, override, variable, message) => {
    const problems = problemsOf({ ...valid, ...override });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.variable).toBe(variable);
    expect(problems[0]!.message).toMatch(message);
  });

  it('reports every bad variable at once, in a message naming each', () => {
    let error: unknown;
    try {
      loadLogIngestConfig({ RETENTION_DAYS: 'x', TRUSTED_ACCOUNT_IDS: 'abc' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.problems.map((p) => p.variable)).toEqual([
      'TABLE_NAME',
      'RETENTION_DAYS',
      'ALERT_TOPIC_ARN',
      'TRUSTED_ACCOUNT_IDS',
    ]);
    expect(e.message).toContain('TABLE_NAME');
    expect(e.name).toBe('ConfigError');
    expect(JSON.parse(JSON.stringify(e))).toEqual({ name: 'ConfigError', problems: e.problems });
  });
});
