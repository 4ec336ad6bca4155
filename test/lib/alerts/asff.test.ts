import { describe, expect, it } from 'vitest';
import { asffFinding, findingIdOf, parseProductArn } from '../../../lib/alerts/asff.js';
import { MAPPING_RULE_IDS, type Severity } from '../../../lib/alerts/types.js';
import { sampleAlerts } from './sample-alerts.js';

/** Alerts as ASFF findings for Security Hub's default product (docs/alert-events.md, "Security Hub"). */

const PRODUCT = 'arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default';
const NOW = '2025-06-03T00:00:00.000Z';
const NAMESPACES = [
  'Software and Configuration Checks',
  'TTPs',
  'Effects',
  'Unusual Behaviors',
  'Sensitive Data Identifications',
];

describe('asffFinding', () => {
  const alerts = sampleAlerts();

  it('fills every attribute BatchImportFindings requires, within its length limits, for every sample alert', () => {
    for (const a of alerts) {
      const f = asffFinding(a, { productArn: PRODUCT, now: NOW });
      for (const k of [
        'SchemaVersion',
        'Id',
        'ProductArn',
        'GeneratorId',
        'AwsAccountId',
        'CreatedAt',
        'UpdatedAt',
        'Title',
        'Description',
        'Resources',
        'Types',
      ] as const) {
        expect(f[k], `${a.alertId} ${k}`).toBeTruthy();
      }
      expect(f.SchemaVersion).toBe('2018-10-08');
      expect(f.Id!.length).toBeLessThanOrEqual(512);
      expect(f.GeneratorId!.length).toBeLessThanOrEqual(512);
      expect(f.Title!.length).toBeLessThanOrEqual(256);
      expect(f.Description!.length).toBeLessThanOrEqual(1024);
      expect(Buffer.byteLength(JSON.stringify(f))).toBeLessThan(240 * 1024);
      for (const t of f.Types!) {
        expect(t.split('/').length, t).toBe(3);
        expect(NAMESPACES, t).toContain(t.split('/')[0]);
      }
      for (const v of Object.values(f.ProductFields ?? {})) expect(v.length).toBeLessThanOrEqual(2048);
    }
  });

  it('is filed under the security account (default-product imports must name the caller) with the cluster account in the resource', () => {
    const a = alerts.find((x) => x.ruleId === 'access-entry-created' && x.cluster === 'eks-customer')!;
    const f = asffFinding(a, {
      productArn: PRODUCT,
      now: NOW,
      clusterArn: 'arn:aws:eks:us-west-2:111122223333:cluster/eks-customer',
    });
    expect(f.AwsAccountId).toBe('111111111111');
    expect(f.Resources).toEqual([
      {
        Type: 'AwsEksCluster',
        Id: 'arn:aws:eks:us-west-2:111122223333:cluster/eks-customer',
        Partition: 'aws',
        Region: 'us-west-2',
      },
      { Type: 'AwsIamUser', Id: 'arn:aws:iam::111122223333:user/eks-user', Partition: 'aws' },
    ]);
    expect(f.ProductFields).toMatchObject({
      'eks-access-trail/ruleId': 'access-entry-created',
      'eks-access-trail/cluster': '111122223333/eks-customer',
      'eks-access-trail/evidence': a.evidence!.command,
    });
    expect(f.Description).toContain('Evidence: eks-trail mappings history');
  });

  it('names the cluster as an Other resource when its region is not known, rather than guess an ARN', () => {
    const f = asffFinding(alerts[0]!, { productArn: PRODUCT, now: NOW });
    expect(f.Resources![0]).toEqual({
      Type: 'Other',
      Id: `eks-cluster/${alerts[0]!.accountId}/${alerts[0]!.cluster}`,
      Partition: 'aws',
    });
  });

  it.each<[Severity, string]>([
    ['critical', 'CRITICAL'],
    ['high', 'HIGH'],
    ['medium', 'MEDIUM'],
    ['low', 'LOW'],
    ['info', 'INFORMATIONAL'],
  ])('maps severity %s to %s, through FindingProviderFields as providers must', (severity, label) => {
    const f = asffFinding({ ...alerts[0]!, severity }, { productArn: PRODUCT, now: NOW });
    expect(f.FindingProviderFields?.Severity).toEqual({ Label: label, Original: severity });
    expect(f.Severity?.Label).toBe(label);
    expect(f.FindingProviderFields?.Types).toEqual(f.Types);
  });

  it('keeps the finding id of an alert stable, so a retried import updates the finding instead of adding one', () => {
    const a = alerts[0]!;
    expect(asffFinding(a, { productArn: PRODUCT, now: NOW }).Id).toBe(
      asffFinding(a, { productArn: PRODUCT, now: '2030-01-01T00:00:00Z' }).Id,
    );
    const long = 'x'.repeat(900);
    expect(findingIdOf(long)).toMatch(/^eks-access-trail\/sha256\/[0-9a-f]{64}$/);
    expect(findingIdOf(long)).toBe(findingIdOf(long));
  });

  it('never dates the update before the change, whatever the caller’s clock says', () => {
    const a = alerts[0]!;
    const f = asffFinding(a, { productArn: PRODUCT, now: '2000-01-01T00:00:00Z' });
    expect(f.UpdatedAt).toBe(f.CreatedAt);
    expect(f.CreatedAt).toBe(new Date(a.at).toISOString());
  });

  it('has a type for every rule', () => {
    for (const ruleId of MAPPING_RULE_IDS) {
      const f = asffFinding({ ...alerts[0]!, ruleId }, { productArn: PRODUCT, now: NOW });
      expect(f.Types![0], ruleId).not.toContain('EKS identity mapping change');
    }
  });
});

describe('parseProductArn', () => {
  it.each([
    [PRODUCT, { partition: 'aws', region: 'eu-west-1', accountId: '111111111111' }],
    [
      'arn:aws-cn:securityhub:cn-north-1:111111111111:product/111111111111/default',
      { partition: 'aws-cn', region: 'cn-north-1', accountId: '111111111111' },
    ],
    ['arn:aws:securityhub:eu-west-1:111111111111:product/222222222222/default', undefined],
    ['arn:aws:securityhub:eu-west-1::product/crowdstrike/crowdstrike-falcon', undefined],
    ['not an arn', undefined],
  ])('%s', (arn, expected) => {
    expect(parseProductArn(arn)).toEqual(expected);
  });
});
