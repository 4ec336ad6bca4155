import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OCSF_VERSION } from '../../lib/export/ocsf.js';
import { ocsfErrors } from '../support/ocsf-schema.js';

/** `eks-trail export` as a user runs it: a separate process over a local data dir seeded by `replay`. */
const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const BIN = join(ROOT, 'bin/eks-trail.ts');
const FIXTURE = join(ROOT, 'test/fixtures/query/kiem');
const cwd = mkdtempSync(join(tmpdir(), 'eks-trail-export-cli-'));
const WINDOW = ['--cluster', 'kiem', '--from', '2024-08-01T00:00:00Z', '--to', '2024-08-24T23:59:59Z'];

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
      AWS_REGION: '',
      AWS_DEFAULT_REGION: '',
    },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

beforeAll(() => {
  const r = run('replay', FIXTURE, '--account', '211125685544', '--at', '2024-08-05T00:00:00Z');
  if (r.code !== 0) throw new Error(r.err);
}, 60_000);
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('export usage errors exit 2 with a message naming the argument', () => {
  it.each([
    [['export', ...WINDOW], '--format: required (one of ocsf-jsonl, ocsf-parquet, jsonl)'],
    [['export', '--format', 'xml', ...WINDOW], '--format: "xml" is not one of ocsf-jsonl, ocsf-parquet, jsonl'],
    [['export', '--format', 'jsonl', '--cluster', 'kiem'], '--from: required (or --since)'],
    [['export', '--format', 'ocsf-parquet', ...WINDOW], '--out: required for ocsf-parquet'],
    [['export', '--format', 'ocsf-parquet', ...WINDOW, '--out', 'x'], '--cluster-region: required for ocsf-parquet'],
    [['export', '--format', 'jsonl', '--cluster', 'kiem', '--from', 'yesterday'], '--from'],
  ])('%j', (args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });
});

describe('export', () => {
  it('streams OCSF JSON lines to stdout, every line a valid OCSF 1.8.0 record, with progress on stderr', () => {
    const r = run('export', '--format', 'ocsf-jsonl', ...WINDOW, '--cluster-region', 'us-east-1');
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const api = lines.filter((l) => l.class_uid === 6003);
    const changes = lines.filter((l) => l.class_uid === 3004);
    expect(api.length).toBe(4);
    expect(changes.length).toBeGreaterThan(0);
    for (const l of api) expect(ocsfErrors(OCSF_VERSION, 'api_activity', l)).toBe('');
    for (const l of changes) expect(ocsfErrors(OCSF_VERSION, 'entity_management', l)).toBe('');
    expect(api.every((l) => l.cloud.region === 'us-east-1')).toBe(true);
    expect(r.err).toContain('export: 4 requests');
  });

  it('writes plain JSON lines to a file', () => {
    const r = run('export', '--format', 'jsonl', ...WINDOW, '--out', 'out/plain.jsonl');
    expect(r.code).toBe(0);
    expect(r.out).toContain('out/plain.jsonl: 4 requests');
    const rows = readFileSync(join(cwd, 'out/plain.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.length).toBe(4);
    const sso = rows.find((x) => x.audit_id === 'fb5dba68-6262-4718-b45e-d293b03e434d');
    expect(sso).toMatchObject({
      cluster: 'kiem',
      principal: 'arn:aws:iam::211125685544:role/sso_admin',
      mapping: { source: 'access-entry' },
      decision: { outcome: 'allow' },
      verb: 'list',
    });
  });

  it('writes Parquet partitioned as Security Lake custom sources, readable by a Parquet reader', async () => {
    const r = run('export', '--format', 'ocsf-parquet', ...WINDOW, '--out', 'lake', '--cluster-region', 'eu-west-1');
    expect(r.code).toBe(0);
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
    const all = files(join(cwd, 'lake')).map((f) => relative(join(cwd, 'lake'), f));
    expect(
      all.some((f) =>
        f.startsWith('eks-trail-api-activity/region=eu-west-1/accountId=211125685544/eventDay=20240824/'),
      ),
    ).toBe(true);
    expect(all.some((f) => f.startsWith('eks-trail-entity-management/region=eu-west-1/accountId=211125685544/'))).toBe(
      true,
    );
    let rows = 0;
    for (const f of all.filter((x) => x.startsWith('eks-trail-api-activity/'))) {
      const read = await parquetReadObjects({ file: await asyncBufferFromFile(join(cwd, 'lake', f)) });
      for (const row of read) expect(row.class_uid).toBe(6003);
      rows += read.length;
    }
    expect(rows).toBe(4);
  });
});
