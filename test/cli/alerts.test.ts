import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../bin/cli/io.js';
import { main } from '../../bin/cli/main.js';

/**
 * `eks-trail replay` raising alerts and `eks-trail alerts` listing them, in local mode, driven through
 * the CLI's entry point in process (arguments, output streams and exit codes as a user sees them).
 */
const ROOT = resolve(__dirname, '../..');
const FIXTURE = join(ROOT, 'test/fixtures/query/kiem');
const cwd = mkdtempSync(join(tmpdir(), 'eks-trail-alerts-cli-'));
const DATA = join(cwd, 'data');
const WINDOW = ['--from', '2024-08-01T00:00:00Z', '--to', '2024-08-31T00:00:00Z'];

const run = async (...argv: string[]) => {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: { AWS_ACCESS_KEY_ID: 'none', AWS_SECRET_ACCESS_KEY: 'none', AWS_EC2_METADATA_DISABLED: 'true' },
    cwd,
    now: () => Date.parse('2024-09-01T00:00:00Z'),
    readStdin: async () => '',
  };
  const code = await main(argv, io);
  return { code, out, err };
};

beforeAll(async () => {
  // The deployment's own configuration file: its suppressions and member accounts apply locally too.
  writeFileSync(
    join(cwd, 'trail.json'),
    JSON.stringify({
      clusters: [{ name: 'kiem', account: '211125685544', region: 'eu-west-1' }],
      memberAccountIds: ['211125685544'],
      alertSuppressions: [{ ruleId: 'cluster-created-creator-admin' }],
    }),
  );
}, 60_000);

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('eks-trail replay raises alerts in local mode', () => {
  it('counts them by severity, with the suppressions of --alert-config', async () => {
    const r = await run(
      'replay',
      FIXTURE,
      '--account',
      '211125685544',
      '--at',
      '2024-08-05T00:00:00Z',
      '--data-dir',
      DATA,
      '--alert-config',
      'trail.json',
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('alerts: 2 raised (1 high, 1 medium) (eks-trail alerts lists them)');
  });

  it('lists them as a table, newest first, with the evidence command', async () => {
    const r = await run('alerts', '--data-dir', DATA, ...WINDOW);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME +SEVERITY +RULE +CLUSTER +ALERT +BY +HUMAN +CHANGE +EVIDENCE +STATUS +ALERT ID$/);
    expect(lines.slice(1).map((l) => l.split(/ {2,}/)[2])).toEqual([
      'access-policy-associated',
      'access-entry-created',
    ]);
    expect(r.out).toContain('eks-trail mappings history --cluster 211125685544/kiem');
    expect(r.err).toContain('# alerts recorded in the alert ledger');
  });

  it('answers in JSON and CSV, and filters by severity and rule', async () => {
    const json = JSON.parse(
      (await run('alerts', '--data-dir', DATA, ...WINDOW, '--format', 'json', '--severity', 'high+')).out,
    );
    expect(json.question).toBe('alerts');
    expect(json.rows.map((r: { ruleId: string }) => r.ruleId)).toEqual(['access-policy-associated']);
    expect(json.rows[0].diff.after).toMatchObject({
      policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
    });
    const csv = (
      await run('alerts', '--data-dir', DATA, ...WINDOW, '--format', 'csv', '--rule', 'access-entry-created')
    ).out;
    expect(csv.split('\r\n')).toHaveLength(3);
    expect(csv).toContain('access-entry-created');
  });

  it('pages with --limit and --cursor', async () => {
    const first = await run('alerts', '--data-dir', DATA, ...WINDOW, '--limit', '1');
    const cursor = /--cursor (\S+)/.exec(first.err)?.[1];
    expect(cursor).toBeDefined();
    const second = await run('alerts', '--data-dir', DATA, ...WINDOW, '--limit', '1', '--cursor', cursor!);
    expect(second.out).toContain('access-entry-created');
    expect(second.err).not.toContain('--cursor');
  });
});

describe('eks-trail alerts --rerun', () => {
  it('shows what the configuration without the suppression would add, and writes nothing', async () => {
    writeFileSync(join(cwd, 'no-suppression.json'), JSON.stringify({ memberAccountIds: ['211125685544'] }));
    const r = await run(
      'alerts',
      '--rerun',
      '--alert-config',
      'no-suppression.json',
      '--data-dir',
      DATA,
      ...WINDOW,
      '--format',
      'json',
    );
    expect(r.code).toBe(0);
    const a = JSON.parse(r.out);
    const created = a.rows.find((x: { ruleId: string }) => x.ruleId === 'cluster-created-creator-admin');
    expect(created).toMatchObject({ status: 'would fire', ledger: 'not recorded' });
    expect(a.notes.join('\n')).toContain('no-suppression.json (0 suppression(s), trusted accounts 211125685544');
    // A listing afterwards still shows only what the replay recorded.
    const listed = JSON.parse((await run('alerts', '--data-dir', DATA, ...WINDOW, '--format', 'json')).out);
    expect(listed.rows).toHaveLength(2);
  });

  it('says which keys of the configuration the rules do not read', async () => {
    const r = await run('alerts', '--rerun', '--alert-config', 'trail.json', '--data-dir', DATA, ...WINDOW);
    expect(r.err).toContain('keys the alert rules do not read: clusters');
  });
});

describe('alerts usage errors exit 2 with a message naming the argument', () => {
  it.each([
    [['alerts', '--severity', 'urgent'], '--severity: "urgent" is not one of critical, high, medium, low, info'],
    [['alerts', '--rule', 'aws-auth-changed'], '--rule: "aws-auth-changed" is not one of'],
    [['alerts', '--alert-config', 'trail.json'], '--alert-config: only with --rerun'],
    [
      ['alerts', '--rerun', '--api', 'https://abc.lambda-url.eu-west-1.on.aws/'],
      '--rerun: the rules run on this machine',
    ],
    [['alerts', '--rerun', '--alert-config', 'missing.json'], '--alert-config: cannot read missing.json'],
    [['alerts', 'prod'], 'unexpected arguments: prod'],
  ])('%j', async (args, message) => {
    const r = await run(...args, '--data-dir', DATA);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.out).toBe('');
  });

  it('refuses a configuration file with a misspelt suppression key', async () => {
    writeFileSync(join(cwd, 'typo.json'), JSON.stringify({ alertSuppressions: [{ rule: 'x' }] }));
    const r = await run('alerts', '--rerun', '--alert-config', 'typo.json', '--data-dir', DATA);
    expect(r.code).toBe(2);
    expect(r.err).toContain('alertSuppressions[0].rule: unknown key');
  });
});
