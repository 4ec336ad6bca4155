import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalEngine } from '../../lib/local/engine.js';

/**
 * `eks-trail verify` as a user runs it (a separate process): replay signs what it stored with the
 * data dir's key, verify checks it (exit 0), and a change made behind the store's back is reported
 * with its key (exit 5).
 */
const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const BIN = join(ROOT, 'bin/eks-trail.ts');
const FIXTURE = join(ROOT, 'test/fixtures/query/kiem');
const cwd = mkdtempSync(join(tmpdir(), 'eks-trail-verify-'));
const dataDir = join(cwd, '.eks-trail');

const run = (...args: string[]) => {
  const r = spawnSync(TSX, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 90_000,
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

const WINDOW = ['--cluster', 'kiem', '--from', '2024-08-24T00:00:00Z', '--to', '2024-08-24T23:00:00Z'];

describe('eks-trail verify', () => {
  it.each([
    [['verify'], '--cluster: required'],
    [['verify', '--cluster', 'kiem', '--format', 'csv'], '--format: "csv" is not one of table, json'],
    [['verify', '--cluster', 'kiem', '--api', 'https://example.com'], '--api: verify reads the table itself'],
    [['verify', '--cluster', 'kiem', '--from', 'yesterday'], '--from'],
  ])('%j exits 2', (args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('verifies what replay stored and signed, then finds a deleted mapping change by its key', async () => {
    const replay = run('replay', FIXTURE, '--account', '211125685544', '--at', '2024-08-05T00:00:00Z');
    expect(replay.code).toBe(0);
    expect(replay.err).toMatch(/digests: \d+ items in \d+ hour buckets signed, 2 chains extended/);

    const ok = run('verify', ...WINDOW);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('211125685544/kiem');
    expect(ok.out).toMatch(/2024-08-24T14\s+ok\s+observed/);
    expect(ok.out).toContain('ok: nothing stored differs from what was signed');

    const json = JSON.parse(run('verify', ...WINDOW, '--format', 'json').out);
    expect(json.ok).toBe(true);
    expect(json.keyId).toMatch(/^local:/);

    // Delete one mapping change directly in the engine, as anything with write access to the table
    // could. (The fixture's request parts are past their 400-day TTL by now: gone, they would count
    // as expired, which is what DynamoDB itself does to them.)
    const engine = await startLocalEngine({ dataDir });
    let deleted = '';
    try {
      const doc = DynamoDBDocumentClient.from(engine.client);
      const parts = await doc.send(
        new QueryCommand({
          TableName: engine.tableName,
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': 'MC#C#211125685544#kiem' },
        }),
      );
      const change = parts.Items?.[0] as { pk: string; sk: string };
      deleted = change.sk;
      await doc.send(new DeleteCommand({ TableName: engine.tableName, Key: { pk: change.pk, sk: change.sk } }));
    } finally {
      await engine.stop();
    }
    const bad = run('verify', ...WINDOW);
    expect(bad.code).toBe(5);
    expect(bad.out).toMatch(/history\s+tampered\s+observed/);
    expect(bad.out).toContain('items-missing');
    expect(bad.out).toContain(deleted);
    expect(bad.out).toContain('NOT OK: 1 problems');
  });

  it('refuses a data dir nothing was signed in', () => {
    const r = run('verify', '--cluster', 'kiem', '--data-dir', join(cwd, 'empty'));
    expect(r.code).toBe(3);
  });
});
