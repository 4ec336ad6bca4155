import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../bin/cli/io.js';
import { main } from '../../../bin/cli/main.js';
import { startLocalEngine } from '../../../lib/local/engine.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import {
  ACCESS_KEY,
  ACCOUNT,
  awsAuthYamlWithSecrets,
  bearerToken,
  cloudTrailWithSecrets,
  leaks,
  logExportWithSecrets,
  presignedUrl,
  refusedAssumeRole,
  SYNTHETIC,
} from '../../support/secret-corpus.js';
import { dumpTableText } from '../../support/table-dump.js';

/**
 * Secrets never kept, end to end through the product as a user runs it (the CLI, in process, on its
 * local engine): files holding bearer tokens, presigned URLs, session tokens and Authorization values
 * in every place they occur (test/support/secret-corpus.ts) are replayed, every question and
 * decode-token are asked in every output format, and neither what was printed nor anything the table
 * holds (compressed segments included) contains one of the secrets. What attribution needs is kept.
 */
const NOW = Date.parse('2024-09-01T00:00:00Z');
const WINDOW = ['--from', '2024-08-24T14:00:00Z', '--to', '2024-08-24T15:00:00Z'];
const FORMATS = ['table', 'json', 'csv'] as const;

const root = mkdtempSync(join(tmpdir(), 'eks-trail-secrets-'));
const dataDir = join(root, 'data');
const inputs = join(root, 'inputs');
const printed: string[] = [];

const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: root,
    now: () => NOW,
    readStdin: async () => '',
  };
  const code = await main([...argv, '--data-dir', dataDir], io);
  printed.push(out, err);
  return { code, out, err };
};

beforeAll(async () => {
  mkdirSync(join(inputs, 'a'), { recursive: true });
  mkdirSync(join(inputs, 'b'), { recursive: true });
  writeFileSync(join(inputs, 'kiem.filter-log-events.json'), JSON.stringify(logExportWithSecrets(), null, 1));
  writeFileSync(join(inputs, 'a', 'cloudtrail.json'), JSON.stringify(cloudTrailWithSecrets()));
  // lookup-events output: each record is a JSON string inside the JSON (docs/formats.md §3.8).
  const lookup = {
    Events: [refusedAssumeRole('5ec2e7a1-0000-4000-8000-0000000000bb')].map((r) => ({
      EventId: r.eventID,
      CloudTrailEvent: JSON.stringify(r),
    })),
  };
  writeFileSync(join(inputs, 'b', 'cloudtrail.json'), JSON.stringify(lookup));
  writeFileSync(join(inputs, 'kiem.yaml'), awsAuthYamlWithSecrets());
  const replay = await run('replay', inputs, '--account', ACCOUNT, '--at', '2024-08-05T00:00:00Z');
  // The corpus holds records that are refused on purpose (a failed AssumeRole, a line nested too deep):
  // every file lands, and replay says some records were quarantined with its exit code 4.
  expect(replay.code).toBe(4);
  expect(replay.out).toContain('0 refused');
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('secrets never kept: replay, questions and decode-token through the CLI', () => {
  it('replays every secret-bearing file, quarantining the unreadable records', () => {
    const summary = printed[0] as string;
    expect(summary).toMatch(/requests: \d+ distinct stored/);
    // Two refused AssumeRole records (one per CloudTrail file, both `cloudtrail.json`), two
    // unreadable audit events, one unreadable authenticator line.
    expect(summary).toContain(
      'quarantined: 5 (AUDIT_NOT_JSON=1, AUTHN_LINE_BAD_QUOTE=1, CLOUDTRAIL_MISSING_FIELD=2, INPUT_TOO_DEEP=1)',
    );
  });

  it.each(FORMATS)(
    'prints no secret in who-did, denied, explain, touched and mappings history (%s)',
    async (format) => {
      const f = ['--format', format];
      const outs = [
        await run('who-did', '--cluster', 'kiem', ...WINDOW, ...f),
        await run('who-did', '--human', 'gomyers@paloaltonetworks.com', ...WINDOW, ...f),
        await run('denied', '--cluster', 'kiem', ...WINDOW, ...f),
        await run('explain', 'fb5dba68-6262-4718-b45e-d293b03e434d', '--cluster', 'kiem', ...f),
        await run('explain', '5ec2e7a1-0000-4000-8000-000000000001', '--cluster', 'kiem', ...f),
        await run('touched', 'kube-system/configmaps/aws-auth', '--cluster', 'kiem', ...WINDOW, ...f),
        await run('mappings', 'history', '--cluster', 'kiem', ...f),
      ];
      for (const o of outs) expect(o.code).toBe(0);
      expect(leaks(outs.flatMap((o) => [o.out, o.err]))).toEqual([]);
      // The request is still answered, the secrets in its user agent replaced by markers.
      expect(`${outs[3]?.out}${outs[3]?.err}`).toContain('fb5dba68-6262-4718-b45e-d293b03e434d');
      if (format === 'json') expect(outs[3]?.out).toContain('Authorization: [REDACTED:Authorization]');
    },
  );

  it.each(FORMATS)('decode-token prints neither the signature nor the security token (%s)', async (format) => {
    const withClusterId = bearerToken(presignedUrl({ clusterIdInQuery: 'kiem' }));
    for (const token of [bearerToken(), withClusterId, `Bearer ${withClusterId}`]) {
      const r = await run('decode-token', token, '--format', format);
      expect(r.code).toBe(0);
      expect(leaks([r.out, r.err])).toEqual([]);
      expect(r.out).toContain(ACCESS_KEY);
    }
    const json = await run('decode-token', withClusterId, '--format', 'json');
    const j = JSON.parse(json.out);
    expect(j.token).toMatchObject({
      accessKeyId: ACCESS_KEY,
      signingRegion: 'us-east-1',
      signedAt: '2024-08-24T14:27:00.000Z',
      clusterId: 'kiem',
      hasSignature: true,
      hasSecurityToken: true,
    });
    expect(j.token.url).toContain('X-Amz-Signature=[REDACTED:X-Amz-Signature]');
    expect(j.token.url).toContain('X-Amz-Security-Token=[REDACTED:X-Amz-Security-Token]');
    // The issuance of the key came through CloudTrail without its session token.
    expect(j.attribution.issuance.api).toBe('AssumeRoleWithSAML');
  });

  it('refuses a mistyped token without echoing it', async () => {
    const r = await run('decode-token', `k8s-aws-v1.${SYNTHETIC.accessToken}!`);
    expect(r.code).toBe(2);
    expect(leaks([r.out, r.err])).toEqual([]);
  });

  it('keeps no secret anywhere in the table, compressed segments included', async () => {
    const engine = await startLocalEngine({ dataDir });
    try {
      const dump = await dumpTableText(engine.client, engine.tableName);
      expect(dump.length).toBeGreaterThan(10);
      expect(leaks(dump)).toEqual([]);
      const all = dump.join('\n');
      // What attribution needs is there: the key id, scope and signing time of the token, the
      // issued key of the AssumeRole* response, the RBAC and aws-auth bodies kept as evidence.
      expect(all).toContain(
        `[REDACTED:bearer-token key=${ACCESS_KEY} scope=20240824/us-east-1/sts signed=20240824T142700Z]`,
      );
      expect(all).toContain(`X-Amz-Credential=${ACCESS_KEY}%2F20240824%2Fus-east-1%2Fsts%2Faws4_request`);
      expect(all).toContain('ci-builder');
      expect(all).toContain('"ci.example.com/token":"[REDACTED:token]"');
      expect(all).toContain('.[REDACTED:jwt-signature]');

      // Quarantined records keep their raw text, redacted, still recognisably the record.
      const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
      // Replayed CloudTrail records are quarantined at time 0 (a file has no delivery time), log
      // records at their event's time.
      const items: Awaited<ReturnType<typeof store.quarantined>>['items'] = [];
      for (const range of [
        { from: '1970-01-01T00:00:00Z', to: '1970-01-01T23:59:59Z' },
        { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' },
      ]) {
        items.push(...(await store.quarantined(undefined, range, { limit: 50 })).items);
      }
      const byCode = (code: string) => items.filter((i) => i.code === code);
      expect(
        byCode('CLOUDTRAIL_MISSING_FIELD')
          .map((i) => i.raw)
          .sort(),
      ).toEqual([
        expect.stringContaining('"sessionToken":"[REDACTED:sessionToken]"'),
        expect.stringContaining('"sessionToken":"[REDACTED:sessionToken]"'),
      ]);
      expect(new Set(byCode('CLOUDTRAIL_MISSING_FIELD').map((i) => i.sourceId)).size).toBe(2);
      expect(byCode('AUDIT_NOT_JSON')[0]?.raw).toContain('access_token=[REDACTED:access_token]');
      expect(byCode('INPUT_TOO_DEEP')[0]?.raw).toContain('5ec2e7a1-0000-4000-8000-00000000000b');
      expect(byCode('AUTHN_LINE_BAD_QUOTE')[0]?.raw).toContain('X-Amz-Signature=[REDACTED:X-Amz-Signature]');
    } finally {
      await engine.stop();
    }
  });
});
