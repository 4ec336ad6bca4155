import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateMappingChanges } from '../../../lib/alerts/mapping-rules.js';
import {
  alertSubject,
  capBytes,
  renderAlertJson,
  renderAlertText,
  renderFindingsReport,
  renderFindingsSummary,
  safeSubject,
} from '../../../lib/alerts/render.js';
import type { Alert, Finding } from '../../../lib/alerts/types.js';
import { mk, stratusBackdoorAwsAuth, stratusBaselineAwsAuth } from './helpers.js';

const backdoorAlerts = (): Alert[] => {
  const history = [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at: '2024-01-01T00:00:00.000Z' })];
  const edit = mk(
    { kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() },
    {
      source: 'audit',
      id: '0a1b2c3d-aaaa-4bbb-8ccc-000000000001',
      actor: {
        k8sUsername: 'kubernetes-admin',
        k8sCanonicalArn: 'arn:aws:iam::012345678901:role/account-admin',
        aws: {
          type: 'AssumedRole',
          arn: 'arn:aws:sts::012345678901:assumed-role/AWSReservedSSO_Admins_0123456789abcdef/mallory@example.com',
          canonicalArn: 'arn:aws:iam::012345678901:role/AWSReservedSSO_Admins_0123456789abcdef',
          sessionName: 'mallory@example.com',
        },
      },
    },
  );
  return evaluateMappingChanges({
    newChanges: [edit],
    allChanges: history,
    config: { trustedAccountIds: [], suppressions: [], recentMappingDays: 7, unusedMappingDays: 90 },
  });
};

describe('renderAlertText', () => {
  const alerts = backdoorAlerts();
  const masters = alerts.find((a) => a.ruleId === 'system-masters-mapping')!;
  const edited = alerts.find((a) => a.ruleId === 'aws-auth-edited')!;

  it('puts severity, cluster and title in a subject SNS accepts', () => {
    const { subject } = renderAlertText(masters);
    expect(subject.startsWith('[CRITICAL] 111122223333/prod: ')).toBe(true);
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });

  it('shows severity, cluster, actor, human and the diff in the body', () => {
    const { body } = renderAlertText(edited);
    const lines = body.split('\n');
    expect(lines).toContain('Severity: MEDIUM');
    expect(lines).toContain('Cluster:  111122223333/prod');
    expect(lines).toContain(
      'Actor:    arn:aws:sts::012345678901:assumed-role/AWSReservedSSO_Admins_0123456789abcdef/mallory@example.com (k8s user kubernetes-admin)',
    );
    expect(lines).toContain('Human:    mallory@example.com');
    expect(lines).toContain(
      '  + rolearn: arn:aws:iam::012345678901:role/stratus-red-team-eks-backdoor-aws-auth-role username: backdoor groups: system:masters',
    );
    expect(lines).toContain('Source events: 0a1b2c3d-aaaa-4bbb-8ccc-000000000001');
  });

  it('shows removed rows as - lines', () => {
    const removal = evaluateMappingChanges({
      newChanges: [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at: '2024-03-01T00:00:00.000Z' })],
      allChanges: [mk({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }, { at: '2024-02-01T00:00:00.000Z' })],
      config: { trustedAccountIds: [], suppressions: [], recentMappingDays: 7, unusedMappingDays: 90 },
    });
    const { body } = renderAlertText(removal[0]!);
    expect(body).toContain('  - rolearn: arn:aws:iam::012345678901:role/stratus-red-team-eks-backdoor-aws-auth-role');
  });

  it('round-trips the JSON form', () => {
    expect(JSON.parse(renderAlertJson(masters))).toEqual(masters);
  });

  it('keeps any subject within SNS limits', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const out = safeSubject(s);
        expect(out.length).toBeGreaterThan(0);
        expect(out.length).toBeLessThanOrEqual(100);
        expect(out).toMatch(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
      }),
    );
    expect(alertSubject({ ...masters, title: 'x'.repeat(300) }).endsWith('...')).toBe(true);
  });

  it('caps a body at the byte budget on a character boundary', () => {
    const out = capBytes('é'.repeat(1000), 500);
    expect(Buffer.byteLength(out, 'utf8')).toBeLessThanOrEqual(500);
    expect(out).toContain('[truncated');
  });
});

describe('renderFindingsReport', () => {
  const findings: Finding[] = [
    {
      findingId: 'system-masters-mapping#1/prod#a',
      ruleId: 'system-masters-mapping',
      severity: 'high',
      cluster: 'prod',
      accountId: '111122223333',
      title: 'admin is mapped to system:masters',
      detail: 'system:masters bypasses RBAC.',
    },
    {
      findingId: 'aws-auth-migration#1/dev#b',
      ruleId: 'aws-auth-migration',
      severity: 'low',
      cluster: 'dev',
      accountId: '111122223333',
      title: 'ops still relies on aws-auth',
      detail: 'Migrate.',
      commands: ['aws eks create-access-entry --cluster-name dev --principal-arn arn:aws:iam::111122223333:role/ops'],
    },
  ];

  it('groups by cluster and shows commands', () => {
    const text = renderFindingsReport(findings).split('\n');
    expect(text[0]).toBe('2 posture findings (1 high, 1 low)');
    expect(text).toContain('== 111122223333/prod (1 high)');
    expect(text).toContain('[HIGH] admin is mapped to system:masters');
    expect(text).toContain(
      '    $ aws eks create-access-entry --cluster-name dev --principal-arn arn:aws:iam::111122223333:role/ops',
    );
  });

  it('says so when there is nothing to report', () => {
    expect(renderFindingsReport([])).toBe('No posture findings.');
  });

  it('summarises the worst severity in the subject', () => {
    expect(renderFindingsSummary(findings, 2).subject).toBe(
      '[HIGH] eks-access-trail posture: 2 findings on 2 clusters',
    );
  });
});
