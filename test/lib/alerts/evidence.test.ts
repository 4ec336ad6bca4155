import { describe, expect, it } from 'vitest';
import { mappingChangeEvidence, requestEvidence } from '../../../lib/alerts/evidence.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { sampleAlerts } from './sample-alerts.js';

/** Every alert names the question that shows its evidence, and that question is one the CLI and the API accept. */

describe('alert evidence', () => {
  it('is a valid question for every alert the rules raise on the real samples', () => {
    const alerts = sampleAlerts();
    for (const a of alerts) {
      expect(a.evidence, a.alertId).toBeDefined();
      const parsed = parseQuestionParams(a.evidence!.question, a.evidence!.params, Date.parse('2026-01-01T00:00:00Z'));
      expect(parsed.ok, `${a.alertId}: ${JSON.stringify(parsed)}`).toBe(true);
    }
  });

  it('points a first use at the request it made, and a change at the mapping history of its own instant', () => {
    const alerts = sampleAlerts();
    const firstUse = alerts.find((a) => a.ruleId === 'new-mapping-first-use')!;
    expect(firstUse.evidence).toEqual({
      question: 'explain',
      params: {
        cluster: '111122223333/kiem',
        'audit-id': 'fb5dba68-6262-4718-b45e-d293b03e434d',
        at: '2024-08-24T14:27:07.461683Z',
      },
      command:
        'eks-trail explain fb5dba68-6262-4718-b45e-d293b03e434d --cluster 111122223333/kiem --at 2024-08-24T14:27:07.461683Z',
    });
    const policy = alerts.find((a) => a.ruleId === 'access-policy-associated' && a.cluster === 'eks-customer')!;
    expect(policy.evidence?.params).toEqual({
      cluster: '111122223333/eks-customer',
      from: policy.at,
      to: policy.at,
      principal: 'arn:aws:iam::111122223333:role/Admin',
    });
  });

  it.each([
    ['a principal the filter takes', 'arn:aws:iam::111122223333:role/Admin', true],
    ['a mapAccounts wildcard', 'arn:aws:iam::111122223333:*', false],
    ['no principal', undefined, false],
  ])('filters the history on %s only when the question accepts it', (_name, principalArn, filtered) => {
    const e = mappingChangeEvidence({
      cluster: 'prod',
      accountId: '111122223333',
      from: '2025-01-01T00:00:00Z',
      to: '2025-01-01T00:00:00Z',
      principalArn,
    });
    expect('principal' in e.params).toBe(filtered);
  });

  it('quotes for the shell whatever an attacker put in an auditID or a name', () => {
    const e = requestEvidence({
      cluster: 'prod',
      accountId: undefined,
      auditId: "a'; rm -rf / #",
      at: '2025-01-01T00:00:00Z',
    });
    expect(e.command).toBe(`eks-trail explain 'a'\\''; rm -rf / #' --cluster prod --at 2025-01-01T00:00:00Z`);
  });
});
