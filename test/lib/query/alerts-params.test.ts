import { describe, expect, it } from 'vitest';
import { parseQuestionParams, parseSeverities } from '../../../lib/query/params.js';

/** The `alerts` question's parameters, shared by the CLI, the query API and the console. */

const NOW = Date.parse('2025-06-30T12:00:00Z');

describe('alerts parameters', () => {
  it('defaults to the last 30 days of every cluster', () => {
    const r = parseQuestionParams('alerts', {}, NOW);
    expect(r).toEqual({
      ok: true,
      value: {
        question: 'alerts',
        range: { from: '2025-05-31T12:00:00.000Z', to: '2025-06-30T12:00:00.000Z' },
        limit: 50,
      },
    });
  });

  it('reads cluster, window, severities, rules and rerun (camelCase from JSON callers too)', () => {
    const r = parseQuestionParams(
      'alerts',
      {
        cluster: '111122223333/prod',
        from: '2025-05-01',
        to: '2025-06-01',
        severity: 'high+',
        rule: 'system-masters-mapping,aws-auth-edited',
        rerun: 'true',
        limit: '10',
      },
      NOW,
    );
    expect(r.ok && r.value).toEqual({
      question: 'alerts',
      cluster: '111122223333/prod',
      range: { from: '2025-05-01T00:00:00.000Z', to: '2025-06-01T00:00:00.000Z' },
      severities: ['critical', 'high'],
      rules: ['system-masters-mapping', 'aws-auth-edited'],
      rerun: true,
      limit: 10,
      clockFree: true,
    });
  });

  it.each([
    ['an unknown severity', { severity: 'urgent' }, 'severity'],
    ['a severity list with an unknown entry', { severity: 'high,severe' }, 'severity'],
    ['an empty severity list', { severity: ',' }, 'severity'],
    ['an unknown rule id', { rule: 'aws-auth-changed' }, 'rule'],
    ['rerun that is not a boolean', { rerun: 'yes' }, 'rerun'],
    ['a parameter of another question', { principal: 'arn:aws:iam::111122223333:role/x' }, 'principal'],
    ['since with from', { since: '7d', from: '2025-01-01' }, 'since'],
  ])('refuses %s, naming the parameter', (_name, params, param) => {
    const r = parseQuestionParams('alerts', params, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0].path).toBe(param);
  });

  it.each([
    ['critical', ['critical']],
    ['low,HIGH', ['high', 'low']],
    ['medium+', ['critical', 'high', 'medium']],
    ['info+', ['critical', 'high', 'medium', 'low', 'info']],
    ['critical+,low', ['critical', 'low']],
  ])('severity %s is %j', (text, expected) => {
    const r = parseSeverities(text);
    expect(r.ok && r.value).toEqual(expected);
  });
});
