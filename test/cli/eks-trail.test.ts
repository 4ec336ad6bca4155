import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../support/csv.js';

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
    [['who-did', '--outcome', 'maybe'], '--outcome: "maybe" is not one of allow, forbid, authn-failed, unknown'],
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

// Each of these runs the CLI as a process several times (replay forks a process of its own): on a
// loaded machine that takes longer than the default timeout, which is no claim about speed.
describe('local mode end to end', () => {
  it('replays the fixture and answers questions from the data dir it created', () => {
    const replay = run('replay', FIXTURE, '--account', '211125685544', '--at', '2024-08-05T00:00:00Z');
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('requests: 3 distinct stored; authentication failures: 1');
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
    // CSV carries the fields, each column headed by its JSON path (docs/output.schema.json).
    const [cols = [], ...lines] = parseCsv(denied.out);
    expect(cols.slice(0, 7)).toEqual(['time', 'cluster', 'accountId', 'kind', 'auditID', 'chainId', 'principal.type']);
    const forbidden = lines
      .map((l) => Object.fromEntries(l.map((v, i) => [cols[i], v])))
      .find((r) => r['decision.failedStage'] === 'authorization');
    expect(forbidden).toMatchObject({
      'decision.outcome': 'forbid',
      'decision.missing.verb': 'list',
      'decision.missing.resource': 'secrets',
      'decision.missing.namespace': 'kube-system',
      status: '403',
    });

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
  }, 120_000);

  it('refuses a log export whose cluster it cannot tell', () => {
    const p = join(cwd, 'export.json');
    writeFileSync(
      p,
      JSON.stringify({ events: [{ logStreamName: 'authenticator-1', timestamp: 1, message: 'x', eventId: '1' }] }),
    );
    const r = run('replay', p, '--data-dir', join(cwd, 'other'));
    expect(r.code).toBe(4);
    expect(r.out).toContain('[FILE_NEEDS_LOG_GROUP]');
    expect(r.out).toContain('pass --log-group /aws/eks/<cluster>/cluster');
  });
});

describe('replay of a directory with a corrupt file, a README and a bad record, then the quarantine', () => {
  it('lands the rest, exits 4, counts what it refused, and lists and shows the quarantined record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eks-trail-mixed-'));
    const data = join(cwd, 'mixed-data');
    for (const f of ['cloudtrail.json', 'kiem.yaml']) copyFileSync(join(FIXTURE, f), join(dir, f));
    const exp = JSON.parse(readFileSync(join(FIXTURE, 'kiem.filter-log-events.json'), 'utf8'));
    const bad = exp.events[1];
    delete bad.message;
    writeFileSync(join(dir, 'kiem.filter-log-events.json'), JSON.stringify(exp, null, 4));
    copyFileSync(join(ROOT, 'test/fixtures/local/shapes/falco-README.md'), join(dir, 'README.md'));
    const gz = gzipSync(readFileSync(join(FIXTURE, 'cloudtrail.json')));
    writeFileSync(join(dir, 'truncated.json.gz'), gz.subarray(0, gz.length >> 1));

    const r = run('replay', dir, '--account', '211125685544', '--at', '2024-08-05T00:00:00Z', '--data-dir', data);
    expect(r.code).toBe(4);
    expect(r.out).toContain('files: 3 read (1 aws-auth, 1 cloudtrail, 1 filter-log-events), 2 refused');
    expect(r.out).toMatch(/refused .*README\.md \[FILE_UNRECOGNISED\]/);
    expect(r.out).toMatch(/refused .*truncated\.json\.gz \[FILE_NOT_GZIP\]/);
    expect(r.out).toContain('accepted shapes:');
    expect(r.out).toContain('quarantined: 1 (EXPORT_RECORD_SHAPE=1)');
    expect(r.out).toContain('requests: 2 distinct stored');
    expect(r.out).not.toContain('1970');
    const hint = /eks-trail quarantine --from (\S+) --to (\S+)`/.exec(r.out);
    expect(hint).not.toBeNull();

    const window = ['--from', hint?.[1] as string, '--to', hint?.[2] as string, '--data-dir', data];
    const listed = run('quarantine', ...window, '--format', 'json');
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.out).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      source: 'replay-file',
      code: 'EXPORT_RECORD_SHAPE',
      index: 'events[1].message',
      at: new Date(bad.timestamp).toISOString(),
    });
    expect(JSON.parse(rows[0].raw)).toEqual(bad);

    const csv = run('quarantine', ...window, '--format', 'csv');
    expect(csv.out.split('\r\n')[0]).toBe('at,source,source id,index,code,why,cluster,raw');
    expect(run('quarantine', ...window, '--code', 'AUDIT_NOT_JSON').out).toContain('(no rows)');
    expect(run('quarantine', ...window, '--source', 'kinesis-record').out).toContain('(no rows)');

    const shown = run('quarantine', 'show', 'replay-file', rows[0].sourceId, '--at', rows[0].at, '--data-dir', data);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain('EXPORT_RECORD_SHAPE at events[1].message: log event without a string message');
    expect(shown.out).toContain(bad.eventId);
    const missing = run('quarantine', 'show', 'replay-file', 'nope#1', '--at', rows[0].at, '--data-dir', data);
    expect(missing.code).toBe(3);
    expect(run('quarantine', '--source', 'somewhere', '--data-dir', data).code).toBe(2);
  }, 120_000);
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
