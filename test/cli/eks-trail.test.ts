import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The CLI as a user runs it: a separate process, a temporary working directory, exit codes. */
const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const BIN = join(ROOT, 'bin/eks-trail.ts');
const FIXTURE = join(ROOT, 'test/fixtures/query/kiem');
const cwd = mkdtempSync(join(tmpdir(), 'eks-trail-cli-'));

const run = (...args: string[]) => {
  const r = spawnSync(TSX, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'none',
      AWS_SECRET_ACCESS_KEY: 'none',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('usage errors exit 2 with a message naming the argument', () => {
  it.each([
    [['who-did', '--outcome', 'maybe'], '--outcome: "maybe" is not one of allow, forbid, authn-failed'],
    [['who-did', '--namspace', 'x'], "Unknown option '--namspace'"],
    [['who-did', '--format', 'xml'], '--format: "xml" is not one of table, json, csv'],
    [['who-did', '--since', '3mo'], '--since: "3mo" is not a duration'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['mappings', 'future'], 'mappings: unknown subcommand "future" (valid: history)'],
    [['explain'], 'missing auditID'],
    [['decode-token', 'not-a-token'], 'token is missing expected "k8s-aws-v1." prefix'],
    [['replay', '--account', '12'], 'nothing to replay'],
    [['workloads'], '--role: required'],
    [['who-did', '--service-account', 'ci/deployer'], '--cluster: required with service-account and pod'],
    [['who-did', '--pod', 'runner-7f9', '--cluster', 'build-eu'], '--pod: "runner-7f9" is not <namespace>/<name>'],
  ])('%j', (args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.out).toBe('');
  });

  it('prints the overview with no command', () => {
    const r = run();
    expect(r.code).toBe(2);
    expect(r.out).toContain('usage: eks-trail <command> [options]');
  });
});

describe('local mode end to end', () => {
  it('replays the fixture and answers questions from the data dir it created', () => {
    const replay = run('replay', FIXTURE, '--account', '211125685544', '--at', '2024-08-05T00:00:00Z');
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('requests: 3 stored; authentication failures: 1');
    expect(replay.out).toContain('quarantined: 0');

    const who = run(
      'who-did',
      '--human',
      'gomyers@paloaltonetworks.com',
      '--from',
      '2024-08-24T14:00:00Z',
      '--to',
      '2024-08-24T15:00:00Z',
      '--format',
      'json',
    );
    expect(who.code).toBe(0);
    const answer = JSON.parse(who.out);
    expect(answer.rows.map((r: { auditID: string }) => r.auditID)).toEqual(['fb5dba68-6262-4718-b45e-d293b03e434d']);

    const denied = run(
      'denied',
      '--cluster',
      'kiem',
      '--from',
      '2024-08-24T14:00:00Z',
      '--to',
      '2024-08-24T15:00:00Z',
      '--format',
      'csv',
    );
    expect(denied.code).toBe(0);
    expect(denied.out.split('\r\n')[0]).toBe(
      'time,stage,principal,human,k8s user,verb,target,code,missing permission,why,chain',
    );
    expect(denied.out).toContain('list secrets in namespace kube-system');

    const window = ['--cluster', 'kiem', '--from', '2024-08-24T14:00:00Z', '--to', '2024-08-24T15:00:00Z'];
    const first = run('who-did', ...window, '--limit', '1');
    expect(first.code).toBe(0);
    const cursor = /# more rows: run the same command with --cursor (\S+)/.exec(first.err)?.[1];
    expect(cursor).toBeDefined();
    expect(run('who-did', ...window, '--limit', '1', '--cursor', cursor as string).code).toBe(0);
    const otherFilter = run('who-did', ...window, '--limit', '1', '--verb', 'get', '--cursor', cursor as string);
    expect(otherFilter.code).toBe(2);
    expect(otherFilter.err).toContain('cursor: it continues another question or other filters');

    const missing = run('explain', '00000000-0000-0000-0000-000000000000', '--cluster', 'kiem');
    expect(missing.code).toBe(3);
    expect(missing.err).toContain('no request 00000000-0000-0000-0000-000000000000');

    const unknownCluster = run('denied', '--cluster', 'prod');
    expect(unknownCluster.code).toBe(3);
    expect(unknownCluster.err).toContain('"prod" is not in the trail (known: 211125685544/kiem)');
  });

  it('refuses a log export whose cluster it cannot tell', () => {
    const p = join(cwd, 'export.json');
    writeFileSync(
      p,
      JSON.stringify({ events: [{ logStreamName: 'authenticator-1', timestamp: 1, message: 'x', eventId: '1' }] }),
    );
    const r = run('replay', p, '--data-dir', join(cwd, 'other'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('pass --log-group /aws/eks/<cluster>/cluster');
  });
});

describe('decode-token', () => {
  it('decodes a token offline and says the cluster id is signed but not readable', () => {
    const url =
      'https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      '&X-Amz-Credential=ASIATCKASJUUD7MPDOZN%2F20240824%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240824T142700Z' +
      '&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=abc';
    const r = run(
      'decode-token',
      `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`,
      '--no-trail',
      '--format',
      'json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.token).toMatchObject({
      accessKeyId: 'ASIATCKASJUUD7MPDOZN',
      clusterIdSigned: true,
      authenticatorExpiresAt: '2024-08-24T14:42:00.000Z',
    });
  });
});
