import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError, resolveDeployEnv, validateTrailConfig } from '../../cdk/config.js';

const env = { account: '111111111111', region: 'eu-west-1' };
const minimal = { clusters: ['prod'], memberAccountIds: ['222222222222'] };

describe('validateTrailConfig', () => {
  it('fills defaults from the synthesis environment for a minimal multi-account config', () => {
    const r = validateTrailConfig(minimal, env);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      mode: 'multi-account',
      centralAccount: '111111111111',
      centralRegion: 'eu-west-1',
      clusters: [{ name: 'prod', account: '111111111111', region: 'eu-west-1', enableControlPlaneLogging: false }],
      memberAccountIds: ['222222222222'],
      kinesisShards: 0,
      parallelizationFactor: 1,
      logRetentionDays: 90,
      forwardGlobalStsEvents: true,
      alertEmails: [],
    });
  });

  it('applies the global enableControlPlaneLogging default unless a cluster overrides it', () => {
    const r = validateTrailConfig(
      {
        ...minimal,
        enableControlPlaneLogging: true,
        clusters: [
          { name: 'a', account: '222222222222' },
          { name: 'b', account: '222222222222', enableControlPlaneLogging: false },
        ],
      },
      env,
    );
    expect(r.ok && r.value.clusters.map((c) => c.enableControlPlaneLogging)).toEqual([true, false]);
  });

  it('accepts an organization instead of an account list and admits clusters of any account', () => {
    const r = validateTrailConfig(
      { organizationId: 'o-a1b2c3d4e5', clusters: [{ name: 'x', account: '444444444444', region: 'us-east-1' }] },
      env,
    );
    expect(r.ok && r.value.organizationId).toBe('o-a1b2c3d4e5');
  });

  it('accepts single-account mode without member accounts', () => {
    const r = validateTrailConfig({ mode: 'single-account', clusters: ['a', 'b'] }, env);
    expect(r.ok && r.value.mode).toBe('single-account');
  });

  it.each([
    ['not an object', 'clusters', '(root)'],
    ['empty cluster list', { ...minimal, clusters: [] }, 'clusters'],
    ['missing cluster list', { memberAccountIds: ['222222222222'] }, 'clusters'],
    ['bad cluster name', { ...minimal, clusters: ['-bad name'] }, 'clusters[0].name'],
    ['cluster entry of wrong type', { ...minimal, clusters: [42] }, 'clusters[0]'],
    ['bad cluster account', { ...minimal, clusters: [{ name: 'a', account: '12345' }] }, 'clusters[0].account'],
    ['bad cluster region', { ...minimal, clusters: [{ name: 'a', region: 'Europe' }] }, 'clusters[0].region'],
    ['unknown cluster key', { ...minimal, clusters: [{ name: 'a', acount: '222222222222' }] }, 'clusters[0].acount'],
    ['duplicate cluster', { ...minimal, clusters: ['a', 'a'] }, 'clusters[1]'],
    ['both org and accounts missing', { clusters: ['a'] }, 'memberAccountIds'],
    [
      'account id as a number (leading zeros lost)',
      { ...minimal, memberAccountIds: [22222222222] },
      'memberAccountIds[0]',
    ],
    ['account id too short', { ...minimal, memberAccountIds: ['2222'] }, 'memberAccountIds[0]'],
    [
      'duplicate member account',
      { ...minimal, memberAccountIds: ['222222222222', '222222222222'] },
      'memberAccountIds[1]',
    ],
    ['member accounts not a list', { ...minimal, memberAccountIds: '222222222222' }, 'memberAccountIds'],
    [
      'cluster in an account that is not admitted',
      { ...minimal, clusters: [{ name: 'a', account: '999999999999' }] },
      'clusters',
    ],
    ['bad organization id', { clusters: ['a'], organizationId: 'org-1' }, 'organizationId'],
    ['bad central account', { ...minimal, centralAccount: 'security' }, 'centralAccount'],
    ['bad central region', { ...minimal, centralRegion: 'eu_west_1' }, 'centralRegion'],
    ['unknown mode', { ...minimal, mode: 'hybrid' }, 'mode'],
    [
      'single-account with a cluster elsewhere',
      { mode: 'single-account', clusters: [{ name: 'a', region: 'us-east-1' }] },
      'clusters',
    ],
    ['unknown top-level key (typo)', { ...minimal, kinesisShard: 2 }, 'kinesisShard'],
    ['negative shard count', { ...minimal, kinesisShards: -1 }, 'kinesisShards'],
    ['fractional shard count', { ...minimal, kinesisShards: 1.5 }, 'kinesisShards'],
    [
      'parallelization factor above the Lambda limit',
      { ...minimal, parallelizationFactor: 11 },
      'parallelizationFactor',
    ],
    ['log retention CloudWatch does not offer', { ...minimal, logRetentionDays: 45 }, 'logRetentionDays'],
    ['unknown retention item class', { ...minimal, retentionDays: { chains: 30 } }, 'retentionDays.chains'],
    ['zero retention days', { ...minimal, retentionDays: { request: 0 } }, 'retentionDays.request'],
    ['retention not an object', { ...minimal, retentionDays: 30 }, 'retentionDays'],
    ['bad alert e-mail', { ...minimal, alertEmails: ['secops'] }, 'alertEmails[0]'],
    ['alert e-mails not a list', { ...minimal, alertEmails: 'a@b.c' }, 'alertEmails'],
    ['logging flag not boolean', { ...minimal, enableControlPlaneLogging: 'yes' }, 'enableControlPlaneLogging'],
    ['STS flag not boolean', { ...minimal, forwardGlobalStsEvents: 1 }, 'forwardGlobalStsEvents'],
    ['unused-mapping days not positive', { ...minimal, unusedMappingDays: 0 }, 'unusedMappingDays'],
    [
      'silence alarm flag not boolean',
      { ...minimal, clusters: [{ name: 'a', silenceAlarm: 'on' }] },
      'clusters[0].silenceAlarm',
    ],
    ['silence window off the five-minute grid', { ...minimal, silenceAlarmMinutes: 42 }, 'silenceAlarmMinutes'],
    ['silence window too short', { ...minimal, silenceAlarmMinutes: 5 }, 'silenceAlarmMinutes'],
    ['silence window over a day', { ...minimal, silenceAlarmMinutes: 1445 }, 'silenceAlarmMinutes'],
    ['query access not a list', { ...minimal, queryAccess: { name: 'a' } }, 'queryAccess'],
    ['a grant naming no caller', { ...minimal, queryAccess: [{ name: 'a', accounts: ['*'] }] }, 'queryAccess[0]'],
    [
      'a grant with a role path',
      { ...minimal, queryAccess: [{ name: 'a', roleArn: 'arn:aws:iam::111111111111:role/x/y', accounts: ['*'] }] },
      'queryAccess[0].roleArn',
    ],
    [
      'a grant with a bad account',
      { ...minimal, queryAccess: [{ name: 'a', permissionSet: 'P', accounts: ['22'] }] },
      'queryAccess[0].accounts[0]',
    ],
    [
      'grants too large for the function environment',
      {
        ...minimal,
        queryAccess: Array.from({ length: 40 }, (_, i) => ({
          name: `grant-${i}`,
          roleArn: `arn:aws:iam::111111111111:role/AuditorWithAVeryLongRoleName${i}`,
          accounts: ['222222222222'],
        })),
      },
      'queryAccess',
    ],
  ])('rejects %s, naming the key', (_kind, input, path) => {
    const r = validateTrailConfig(input, env);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toContain(path);
    for (const p of r.problems) expect(p.message.length).toBeGreaterThan(10);
  });

  it('defaults the silence alarm to the clusters whose logging the stack turns on, and the window to an hour', () => {
    const r = validateTrailConfig(
      {
        ...minimal,
        clusters: [
          { name: 'on', enableControlPlaneLogging: true },
          { name: 'off' },
          { name: 'own-logging', silenceAlarm: true },
          { name: 'quiet', enableControlPlaneLogging: true, silenceAlarm: false },
        ],
      },
      env,
    );
    expect(r.ok && r.value.clusters.map((c) => [c.name, c.silenceAlarm])).toEqual([
      ['on', true],
      ['off', false],
      ['own-logging', true],
      ['quiet', false],
    ]);
    expect(r.ok && r.value.silenceAlarmMinutes).toBe(60);
  });

  it('keeps the query access grants, clusters defaulted, and denies everyone when none is given', () => {
    const grant = { name: 'secops', permissionSet: 'SecurityAudit', callerAccounts: ['111111111111'], accounts: ['*'] };
    const r = validateTrailConfig({ ...minimal, queryAccess: [grant] }, env);
    expect(r.ok && r.value.queryAccess).toEqual([{ ...grant, clusters: ['*'] }]);
    const none = validateTrailConfig(minimal, env);
    expect(none.ok && none.value.queryAccess).toEqual([]);
  });

  it('reports every problem at once, not only the first', () => {
    const r = validateTrailConfig({ clusters: [], kinesisShards: -1, alertEmails: ['x'] }, env);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['clusters', 'memberAccountIds', 'kinesisShards', 'alertEmails[0]']),
    );
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const r = validateTrailConfig(input, env);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on objects with the known keys holding arbitrary values', () => {
    const anyValue = fc.oneof(fc.anything(), fc.array(fc.anything()), fc.dictionary(fc.string(), fc.anything()));
    fc.assert(
      fc.property(
        fc.record(
          {
            mode: anyValue,
            clusters: fc.oneof(anyValue, fc.array(fc.oneof(fc.string(), fc.dictionary(fc.string(), fc.anything())))),
            memberAccountIds: anyValue,
            organizationId: anyValue,
            retentionDays: anyValue,
            alertEmails: anyValue,
            kinesisShards: anyValue,
            logRetentionDays: anyValue,
            queryAccess: fc.oneof(anyValue, fc.array(fc.dictionary(fc.string(), fc.anything()))),
            silenceAlarmMinutes: anyValue,
          },
          { requiredKeys: [] },
        ),
        (input) => {
          expect(typeof validateTrailConfig(input, env).ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('resolveDeployEnv', () => {
  it('prefers -c account/region context over the CLI defaults', () => {
    const r = resolveDeployEnv(
      { account: '111111111111', region: 'eu-west-1' },
      { CDK_DEFAULT_ACCOUNT: '999999999999', CDK_DEFAULT_REGION: 'us-east-1' },
    );
    expect(r).toEqual({ ok: true, value: { account: '111111111111', region: 'eu-west-1' } });
  });

  it('falls back to CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION', () => {
    const r = resolveDeployEnv({}, { CDK_DEFAULT_ACCOUNT: '999999999999', CDK_DEFAULT_REGION: 'us-east-1' });
    expect(r).toEqual({ ok: true, value: { account: '999999999999', region: 'us-east-1' } });
  });

  it.each([
    ['no account anywhere (offline CLI)', {}, { CDK_DEFAULT_REGION: 'us-east-1' }, 'account'],
    ['no region anywhere', { account: '111111111111' }, {}, 'region'],
    ['malformed account', { account: '1111', region: 'eu-west-1' }, {}, 'account'],
    ['malformed region', { account: '111111111111', region: 'west' }, {}, 'region'],
  ])('fails with a clear error when %s', (_kind, context, processEnv, path) => {
    const r = resolveDeployEnv(context, processEnv);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toContain(path);
    const error = new ConfigValidationError(r.problems);
    expect(error.message).toContain(`${path}:`);
    expect(error.name).toBe('ConfigValidationError');
  });
});
