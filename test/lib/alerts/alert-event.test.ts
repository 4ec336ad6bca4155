import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALERT_EVENT_DETAIL_TYPE,
  ALERT_EVENT_SOURCE,
  alertEventDetail,
  alertEventEntry,
  clusterArnOf,
  DETAIL_BUDGET_BYTES,
} from '../../../lib/alerts/alert-event.js';
import { evaluateMappingChanges } from '../../../lib/alerts/mapping-rules.js';
import type { Alert, Severity } from '../../../lib/alerts/types.js';
import { SEVERITIES } from '../../../lib/alerts/types.js';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import { matchesEventPattern } from '../../cdk/support/eventbridge-pattern.js';
import { alertDetailErrors } from '../../support/alert-event-schema.js';
import { mk, stratusBaselineAwsAuth } from './helpers.js';
import { CONFIG, sampleAlerts } from './sample-alerts.js';

/** The EventBridge form of alerts: its published schema, its size limit, and the example rules in docs/. */

const DOCS = join(import.meta.dirname, '../../../docs');
const EXAMPLES = join(DOCS, 'alert-events');

/** An event as EventBridge hands it to rules: the envelope fields and the parsed detail. */
const asDelivered = (alert: Alert) => {
  const entry = alertEventEntry(alert, {
    clusterArn: `arn:aws:eks:eu-west-1:${alert.accountId}:cluster/${alert.cluster}`,
  });
  return {
    version: '0',
    id: '00000000-0000-0000-0000-000000000000',
    source: entry.Source,
    'detail-type': entry.DetailType,
    account: '111111111111',
    time: entry.Time.toISOString(),
    region: 'eu-west-1',
    resources: entry.Resources,
    detail: JSON.parse(entry.Detail),
  };
};

describe('alertEventDetail', () => {
  const alerts = sampleAlerts();

  it('validates against docs/alert-event.schema.json for every alert the rules raise on the real samples', () => {
    expect(new Set(alerts.map((a) => a.ruleId)).size).toBeGreaterThanOrEqual(10);
    for (const a of alerts) expect(alertDetailErrors(alertEventDetail(a)), a.alertId).toBe('');
  });

  it('carries the alert whole: actor, human, diff with before/after, evidence, and routing fields', () => {
    const a = alerts.find((x) => x.ruleId === 'access-entry-updated')!;
    const d = alertEventDetail(a);
    expect(d).toMatchObject({
      schemaVersion: '1',
      alertId: a.alertId,
      ruleId: 'access-entry-updated',
      severity: a.severity,
      severityRank: SEVERITIES.indexOf(a.severity),
      cluster: 'eks-customer',
      accountId: '111122223333',
      clusterRef: '111122223333/eks-customer',
      at: a.at,
      actor: a.actor,
      diff: a.diff,
      evidence: a.evidence,
    });
    expect(d.by).toContain(a.actor.awsArn);
    expect(d.subject.startsWith('[MEDIUM] 111122223333/eks-customer: ')).toBe(true);
  });

  it('puts the change time on the event, the cluster ARN in resources, and no bus unless asked', () => {
    const a = alerts[0]!;
    const e = alertEventEntry(a, { clusterArn: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod' });
    expect(e).toMatchObject({ Source: ALERT_EVENT_SOURCE, DetailType: ALERT_EVENT_DETAIL_TYPE });
    expect(e.Time.toISOString()).toBe(new Date(a.at).toISOString());
    expect(e.Resources).toEqual(['arn:aws:eks:eu-west-1:111122223333:cluster/prod']);
    expect(e.EventBusName).toBeUndefined();
    expect(alertEventEntry(a, { eventBusName: 'security' }).EventBusName).toBe('security');
  });

  it('builds a cluster ARN only when both the account and the region are known', () => {
    const regions: Record<string, string> = { '111122223333/prod': 'us-gov-west-1' };
    expect(clusterArnOf({ cluster: 'prod', accountId: '111122223333' }, (r) => regions[r], 'aws-us-gov')).toBe(
      'arn:aws-us-gov:eks:us-gov-west-1:111122223333:cluster/prod',
    );
    expect(clusterArnOf({ cluster: 'other', accountId: '111122223333' }, (r) => regions[r])).toBeUndefined();
    expect(clusterArnOf({ cluster: 'prod' }, (r) => regions[r])).toBeUndefined();
  });

  it('drops the before/after bodies of a huge aws-auth edit to fit EventBridge, keeping the lines and saying so', () => {
    // Thousands of rows: what a large node fleet's aws-auth looks like; values written by us.
    const rows = Array.from(
      { length: 4_000 },
      (_, i) =>
        `- rolearn: arn:aws:iam::111122223333:role/team-${i}\n  username: team-${i}\n  groups:\n    - team-${i}`,
    ).join('\n');
    const big = parseAwsAuth({ data: { mapRoles: rows } });
    if (!big.ok) throw new Error('generated aws-auth does not parse');
    const [edited] = evaluateMappingChanges({
      newChanges: [mk({ kind: 'aws-auth-put', config: big.value }, { source: 'audit' })],
      allChanges: [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at: '2024-01-01T00:00:00.000Z' })],
      config: CONFIG,
    }).filter((a) => a.ruleId === 'aws-auth-edited');
    const d = alertEventDetail(edited!);
    expect(Buffer.byteLength(JSON.stringify(d))).toBeLessThanOrEqual(DETAIL_BUDGET_BYTES);
    expect(d.truncated).toBe(true);
    expect(d.diff.before).toBeUndefined();
    expect(d.diff.lines[0]).toBe(edited!.diff.lines[0]);
    expect(alertDetailErrors(d)).toBe('');
  });

  it('stays within the size budget and the schema whatever the titles and diff lines hold', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 2_000 }), { maxLength: 300 }),
        fc.string({ minLength: 1, maxLength: 500 }),
        fc.constantFrom<Severity>(...SEVERITIES),
        (lines, title, severity) => {
          const a: Alert = { ...sampleAlerts()[0]!, title, severity, diff: { lines, before: lines, after: lines } };
          const d = alertEventDetail(a);
          expect(Buffer.byteLength(JSON.stringify(d))).toBeLessThanOrEqual(DETAIL_BUDGET_BYTES);
          expect(alertDetailErrors(d)).toBe('');
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('the example EventBridge rules in docs/alert-events', () => {
  const alerts = sampleAlerts();
  const patterns = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.pattern.json'))
    .map((f) => [f, JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8'))] as const);
  const templates = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.template.json'))
    .flatMap((f) => {
      const t = JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: { EventPattern?: unknown } }>;
      };
      return Object.entries(t.Resources)
        .filter(([, r]) => r.Type === 'AWS::Events::Rule')
        .map(([id, r]) => [`${f} ${id}`, r.Properties.EventPattern] as const);
    });

  it('ship at least one pattern file and two deployable templates', () => {
    expect(patterns.length).toBeGreaterThanOrEqual(2);
    expect(templates.length).toBeGreaterThanOrEqual(2);
  });

  const critical = () =>
    asDelivered(alerts.find((a) => a.severity === 'critical') ?? { ...alerts[0]!, severity: 'critical' });
  const low = () => asDelivered(alerts.find((a) => a.severity === 'low')!);

  it.each([
    ['critical.pattern.json', critical, true],
    ['critical.pattern.json', low, false],
    [
      'cluster-admin-grants.pattern.json',
      () => asDelivered(alerts.find((a) => a.ruleId === 'access-policy-associated')!),
      true,
    ],
    [
      'cluster-admin-grants.pattern.json',
      () => asDelivered(alerts.find((a) => a.ruleId === 'aws-auth-edited')!),
      false,
    ],
    [
      'high-and-above-in-production.pattern.json',
      () => asDelivered({ ...alerts.find((a) => a.severity === 'high')!, cluster: 'prod-eu' }),
      true,
    ],
    [
      'high-and-above-in-production.pattern.json',
      () => asDelivered({ ...alerts.find((a) => a.severity === 'high')!, cluster: 'staging' }),
      false,
    ],
    [
      'high-and-above-in-production.pattern.json',
      () => asDelivered({ ...alerts.find((a) => a.severity === 'medium')!, cluster: 'prod-eu' }),
      false,
    ],
  ])('%s matches the right alerts (case %#: %s)', (file, event, expected) => {
    const pattern = patterns.find(([f]) => f === file)?.[1];
    expect(pattern).toBeDefined();
    expect(matchesEventPattern(pattern, event())).toBe(expected);
  });

  it('every template rule selects this product’s events and lets a GuardDuty finding through to nothing', () => {
    const guardDuty = { source: 'aws.guardduty', 'detail-type': 'GuardDuty Finding', detail: { severity: 8 } };
    for (const [name, pattern] of templates) {
      expect(matchesEventPattern(pattern, guardDuty), name).toBe(false);
      const crit = critical();
      const prodCritical = { ...crit, detail: { ...crit.detail, cluster: 'prod-payments' } };
      expect(matchesEventPattern(pattern, prodCritical), name).toBe(true);
      expect(matchesEventPattern(pattern, low()), name).toBe(false);
    }
  });
});
