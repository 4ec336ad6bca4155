import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/config/env-reader.js';
import { loadOcsfExportConfig } from '../../../functions/config/ocsf-export-config.js';

const valid = {
  TABLE_NAME: 'eks-access-trail-Trail-1ABC',
  OCSF_API_ACTIVITY_LOCATION: 's3://aws-security-data-lake-eu-west-1-abc/ext/eks-trail-api-activity/1.0/',
  OCSF_REGION: 'eu-west-1',
};

const problemsOf = (env: Record<string, string | undefined>) => {
  try {
    loadOcsfExportConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.variable);
  }
  throw new Error('expected a ConfigError');
};

describe('ocsf-export config loader', () => {
  it('reads a complete environment', () => {
    expect(
      loadOcsfExportConfig({
        ...valid,
        OCSF_ENTITY_MANAGEMENT_LOCATION: 's3://lake/ext/em',
        OCSF_WRITER_ROLE_ARN: 'arn:aws:iam::111111111111:role/provider',
        OCSF_WRITER_EXTERNAL_ID: 'xid',
        OCSF_CLUSTER_REGIONS: '{"222222222222/prod":"us-west-2"}',
        OCSF_INTERVAL_MINUTES: '30',
        OCSF_LAG_MINUTES: '5',
        PRODUCT_VERSION: '0.1.0',
      }),
    ).toEqual({
      tableName: 'eks-access-trail-Trail-1ABC',
      apiActivity: { bucket: 'aws-security-data-lake-eu-west-1-abc', prefix: 'ext/eks-trail-api-activity/1.0' },
      entityManagement: { bucket: 'lake', prefix: 'ext/em' },
      writer: { roleArn: 'arn:aws:iam::111111111111:role/provider', externalId: 'xid' },
      region: 'eu-west-1',
      clusterRegions: { '222222222222/prod': 'us-west-2' },
      intervalMinutes: 30,
      lagMinutes: 5,
      productVersion: '0.1.0',
    });
  });

  it.each([
    ['no table', { TABLE_NAME: undefined }, 'TABLE_NAME'],
    ['no API Activity location', { OCSF_API_ACTIVITY_LOCATION: undefined }, 'OCSF_API_ACTIVITY_LOCATION'],
    ['a location that is not s3://', { OCSF_API_ACTIVITY_LOCATION: 'lake/ext' }, 'OCSF_API_ACTIVITY_LOCATION'],
    ['a region that is not one', { OCSF_REGION: 'europe' }, 'OCSF_REGION'],
    ['cluster regions that are not JSON', { OCSF_CLUSTER_REGIONS: '{' }, 'OCSF_CLUSTER_REGIONS'],
    ['a cluster region that is not one', { OCSF_CLUSTER_REGIONS: '{"a/b":"mars"}' }, 'OCSF_CLUSTER_REGIONS'],
    ['an external id without a role', { OCSF_WRITER_EXTERNAL_ID: 'x' }, 'OCSF_WRITER_EXTERNAL_ID'],
    [
      'a writer role that is not an IAM ARN',
      { OCSF_WRITER_ROLE_ARN: 'arn:aws:sns:eu-west-1:1:x' },
      'OCSF_WRITER_ROLE_ARN',
    ],
    ['a zero interval', { OCSF_INTERVAL_MINUTES: '0' }, 'OCSF_INTERVAL_MINUTES'],
  ])('refuses %s', (_kind, over, variable) => {
    expect(problemsOf({ ...valid, ...over })).toContain(variable);
  });
});
