import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeAlertConfig, parseAlertConfigFile } from '../../../lib/alerts/alert-config-file.js';
import { DEFAULT_ALERT_CONFIG } from '../../../lib/alerts/types.js';

/** `--alert-config`: the deployment configuration file read for its alert keys. */

const ROOT = join(import.meta.dirname, '../../..');

describe('parseAlertConfigFile', () => {
  it('reads the alert keys of a deployment configuration and lists the others as ignored', () => {
    const r = parseAlertConfigFile(
      JSON.stringify({
        mode: 'multi-account',
        centralAccount: '111111111111',
        memberAccountIds: ['222222222222', '333333333333'],
        clusters: ['prod'],
        alertSuppressions: [{ ruleId: 'access-entry-created', cluster: 'sandbox-*' }],
        recentMappingDays: 3,
        organizationId: 'o-a1b2c3d4e5',
      }),
    );
    expect(r).toEqual({
      ok: true,
      value: {
        config: {
          trustedAccountIds: ['111111111111', '222222222222', '333333333333'],
          suppressions: [{ ruleId: 'access-entry-created', cluster: 'sandbox-*' }],
          recentMappingDays: 3,
          unusedMappingDays: DEFAULT_ALERT_CONFIG.unusedMappingDays,
          organizationId: 'o-a1b2c3d4e5',
        },
        used: ['alertSuppressions', 'centralAccount', 'memberAccountIds', 'organizationId', 'recentMappingDays'],
        ignored: ['clusters', 'mode'],
      },
    });
  });

  it('reads the bundled sample deployment configuration and a cdk.json context alike', () => {
    const sample = readFileSync(join(ROOT, 'cdk/sample-config.json'), 'utf8');
    const direct = parseAlertConfigFile(sample);
    const cdkJson = parseAlertConfigFile(
      JSON.stringify({ app: 'npx tsx cdk/app.ts', context: { eksAccessTrail: JSON.parse(sample) } }),
    );
    expect(direct.ok && direct.value.config.trustedAccountIds).toEqual(['222222222222']);
    expect(cdkJson).toEqual(direct);
  });

  it.each([
    ['not JSON', '{mode:', '(file)'],
    ['not an object', '[1]', '(file)'],
    ['suppressions not a list', '{"alertSuppressions":{"ruleId":"x"}}', 'alertSuppressions'],
    ['a suppression with a misspelt key', '{"alertSuppressions":[{"rule":"x"}]}', 'alertSuppressions[0].rule'],
    ['a suppression naming nothing', '{"alertSuppressions":[{}]}', 'alertSuppressions[0]'],
    ['a suppression with an empty glob', '{"alertSuppressions":[{"principal":" "}]}', 'alertSuppressions[0].principal'],
    ['an account id as a number', '{"memberAccountIds":[222222222222]}', 'memberAccountIds[0]'],
    ['a short central account', '{"centralAccount":"1111"}', 'centralAccount'],
    ['a bad organization id', '{"organizationId":"org-1"}', 'organizationId'],
    ['a zero first-use window', '{"recentMappingDays":0}', 'recentMappingDays'],
    ['unused days as text', '{"unusedMappingDays":"90"}', 'unusedMappingDays'],
  ])('refuses %s, naming the key', (_name, text, path) => {
    const r = parseAlertConfigFile(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues.map((i) => i.path)).toContain(path);
      expect(r.issues.every((i) => i.code === 'ALERT_CONFIG')).toBe(true);
      expect(r.raw).toBe(text);
    }
  });

  it('never throws, whatever the file holds', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ alertSuppressions: v })),
        ),
        (text) => {
          const r = parseAlertConfigFile(text);
          if (!r.ok) expect(r.issues.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('says what the rules run with, and when the untrusted-account rule is off', () => {
    expect(describeAlertConfig(DEFAULT_ALERT_CONFIG, 'the default alert configuration')).toBe(
      'the default alert configuration (0 suppression(s), no trusted accounts (the untrusted-account rule is off), first-use window 7 day(s))',
    );
  });
});
