import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../bin/cli/io.js';
import { main } from '../../bin/cli/main.js';
import { parseCsv } from '../support/csv.js';

/**
 * The CLI's JSON, validated against the documented schema (docs/output.schema.json) for every
 * question, and the notes of empty answers, which say where the trail's data is. The samples are
 * replayed once into a local data dir through the CLI itself.
 */

const ROOT = resolve(__dirname, '../..');
const SAMPLES = join(ROOT, 'samples');
const dir = mkdtempSync(join(tmpdir(), 'eks-trail-json-'));
const NOW = Date.parse('2025-08-01T12:00:00Z');

const schema = JSON.parse(readFileSync(join(ROOT, 'docs/output.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: dir,
    now: () => NOW,
    readStdin: async () => '',
  };
  const code = await main([...args, '--data-dir', join(dir, 'data')], io);
  return { code, out, err };
};

const json = async (...args: string[]) => {
  const r = await cli(...args, '--format', 'json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { question: string; rows: Record<string, unknown>[]; notes: string[] };
};

const WINDOW = ['--from', '2025-06-02T07:00:00Z', '--to', '2025-06-02T17:00:00Z'];
const PROD = '888636335083/payments-prod';
const POD_ROLE = 'arn:aws:iam::888636335083:role/workloads/payments-pod-deployer';

beforeAll(async () => {
  // The scenario's data folders: its README and ground truth are no export shape, and replay refuses them.
  const r = await cli('replay', ...['cloudtrail', 'aws-auth', 'logs'].map((d) => join(SAMPLES, d)));
  expect(r.code, r.err).toBe(0);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('JSON output follows docs/output.schema.json', () => {
  it.each([
    ['who-did of a cluster', ['who-did', '--cluster', PROD, ...WINDOW, '--limit', '1000']],
    ['who-did of a human, fleet-wide', ['who-did', '--human', 'dmitri.smith@example.com', ...WINDOW]],
    ['who-did of a principal', ['who-did', '--principal', 'arn:aws:iam::888636335083:role/break-glass', ...WINDOW]],
    ['denied', ['denied', '--cluster', PROD, ...WINDOW, '--limit', '1000']],
    ['touched', ['touched', 'kube-system/configmaps/aws-auth', '--cluster', PROD, ...WINDOW]],
    ['explain', ['explain', '05a4951e-5adf-43c2-8e34-28b591f7704d', '--cluster', PROD]],
    ['explain of a 401', ['explain', '52443b15-536d-48cc-a020-19981f3bc6fc', '--cluster', PROD]],
    ['access-at', ['access-at', '2025-06-02T13:00:00Z', '--cluster', PROD]],
    ['mappings history', ['mappings', 'history', '--cluster', PROD]],
    ['an empty who-did', ['who-did', '--cluster', PROD]],
    [
      'who-did of a service account',
      ['who-did', '--service-account', 'payments/payments-deployer', '--cluster', PROD, ...WINDOW],
    ],
    ['alerts', ['alerts', ...WINDOW, '--limit', '1000']],
    ['alerts --rerun', ['alerts', '--rerun', ...WINDOW, '--limit', '1000']],
    ['workloads', ['workloads', '--role', POD_ROLE, '--at', '2025-06-02T16:00:00Z', '--since', '1d']],
  ])('%s', async (_name, args) => {
    const a = await json(...args);
    const ok = validate(a);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
    expect(ok).toBe(true);
  });

  it('carries fields, not display strings: nested mapping and decision, the HTTP status as a number', async () => {
    const a = await json('who-did', '--cluster', PROD, '--human', 'dmitri.smith@example.com', ...WINDOW);
    expect(a.rows[0]).toMatchObject({
      human: { identity: 'dmitri.smith@example.com', via: 'sso-session' },
      mapping: { source: 'access-entry' },
      decision: { outcome: 'allow', authorizer: 'eks-access-policy', policy: { name: 'AmazonEKSClusterAdminPolicy' } },
      status: 200,
    });
    expect(a).not.toHaveProperty('columns');
  });

  it('alerts and workloads carry fields too: the actor and the diff as objects, sessions as a number', async () => {
    const alerts = await json('alerts', ...WINDOW, '--limit', '1000');
    // The replay (in its own process) raised them: the child builds the alert stage from its job.
    expect(alerts.rows.length).toBeGreaterThan(0);
    expect(alerts.rows[0]).toMatchObject({ actor: expect.any(Object), diff: { lines: expect.any(Array) } });
    expect(alerts.rows[0]).not.toHaveProperty('by');
    const workloads = await json('workloads', '--role', POD_ROLE, '--at', '2025-06-02T16:00:00Z', '--since', '1d');
    expect(workloads.rows[0]).toMatchObject({ via: 'pod-identity-association', sessions: expect.any(Number) });
    const sa = await json('who-did', '--service-account', 'payments/payments-deployer', '--cluster', PROD, ...WINDOW);
    expect(sa.rows[0]).toMatchObject({
      human: { workload: { kind: 'pod-identity', namespace: 'payments', serviceAccount: 'payments-deployer' } },
    });
  });

  it('CSV has one column per field, headed by its JSON path', async () => {
    const r = await cli('who-did', '--cluster', PROD, ...WINDOW, '--format', 'csv', '--limit', '5');
    const [header = [], first = []] = parseCsv(r.out);
    expect(header).toEqual(
      expect.arrayContaining(['time', 'human.identity', 'mapping.source', 'mapping.key', 'k8s.user', 'k8s.groups']),
    );
    expect(header).toEqual(
      expect.arrayContaining(['decision.outcome', 'decision.authorizer', 'decision.binding.name']),
    );
    expect(header).toEqual(expect.arrayContaining(['decision.role.name', 'decision.policy.arn', 'status', 'sourceIP']));
    expect(first[header.indexOf('decision.outcome')]).toMatch(/^(allow|forbid|authn-failed|unknown)$/);
  });
});

describe('an empty answer says where the data is', () => {
  it('who-did over the default last 24 h names the span of the cluster and the window to ask', async () => {
    const a = await json('who-did', '--cluster', PROD);
    expect(a.rows).toEqual([]);
    expect(a.notes).toEqual([
      `no rows in this window; the trail holds requests of cluster ${PROD} from 2025-06-02T08:02:24.813752Z to 2025-06-02T15:50:49.414642Z (ask with --from 2025-06-02T08:02:24Z --to 2025-06-02T15:50:50Z)`,
    ]);
  });

  it('of a human, fleet-wide', async () => {
    const a = await json('who-did', '--human', 'dmitri.smith@example.com');
    expect(a.notes.join('\n')).toMatch(/the trail holds requests of human dmitri\.smith@example\.com from 2025-06-02T/);
  });

  it('of a principal, and says when the trail holds nothing of it at all', async () => {
    const known = await json('who-did', '--principal', 'arn:aws:iam::888636335083:role/break-glass');
    expect(known.notes.join('\n')).toContain(
      'the trail holds requests of principal arn:aws:iam::888636335083:role/break-glass',
    );
    const unknown = await json('who-did', '--principal', 'arn:aws:iam::888636335083:role/nobody', ...WINDOW);
    expect(unknown.notes).toContain(
      'no rows: the trail holds no requests of principal arn:aws:iam::888636335083:role/nobody at all',
    );
  });

  it('touched over the default 30 days names the span of the object', async () => {
    const a = await json('touched', 'kube-system/configmaps/aws-auth', '--cluster', PROD);
    expect(a.notes.join('\n')).toMatch(
      /the trail holds requests of configmaps kube-system\/aws-auth on cluster .* from 2025-06-02T.* \(ask with --from/,
    );
  });

  it('denied, and a window inside the span with nothing matching the filters', async () => {
    const denied = await json('denied', '--cluster', PROD);
    expect(denied.notes.join('\n')).toContain(
      `the trail holds requests of denials on cluster ${PROD} from 2025-06-02T`,
    );
    const none = await json('who-did', '--cluster', PROD, ...WINDOW, '--verb', 'escalate');
    expect(none.notes.join('\n')).toContain('no rows match in this window; the trail holds requests of cluster');
  });

  it('access-at before any mapping history, and mappings history outside it', async () => {
    const at = await json('access-at', '2020-01-01T00:00:00Z', '--cluster', PROD);
    expect(at.rows).toEqual([]);
    expect(at.notes.join('\n')).toContain(`the trail holds mapping changes of cluster ${PROD} from`);
    const history = await json('mappings', 'history', '--cluster', PROD, '--from', '2020-01-01', '--to', '2020-02-01');
    expect(history.notes.join('\n')).toContain(`the trail holds mapping changes of cluster ${PROD} from`);
  });

  it('the table says it on stderr, under "(no rows)"', async () => {
    const r = await cli('who-did', '--cluster', PROD);
    expect(r.out).toBe('(no rows)\n');
    expect(r.err).toContain('# no rows in this window; the trail holds requests of cluster');
  });
});
