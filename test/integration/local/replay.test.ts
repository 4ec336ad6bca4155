import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplayOptions, type ReplaySummary, replayFiles } from '../../../lib/local/replay.js';
import { renderReplaySummary, replayHints } from '../../../lib/local/replay-summary.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';

/** `replay` over real public samples of every shape (test/fixtures/SOURCES.md), into a real engine. */
const FIX = resolve(__dirname, '../../fixtures');
const SHAPES = join(FIX, 'local/shapes');
const KIEM = join(FIX, 'query/kiem');
const S3_EXPORT = join(SHAPES, 'exportedlogs/4f15b84a-1adb-492a-820c-c0cedcaf1933');
const NOW = Date.parse('2026-11-01T00:00:00Z');

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => engine?.stop());

const freshStore = async (): Promise<DynamoDbTrailStore> =>
  new DynamoDbTrailStore(engine.client, { tableName: await createTestTable(engine.client, 'replay') });

const replay = async (
  paths: string[],
  opts: Partial<ReplayOptions> = {},
  store?: DynamoDbTrailStore,
): Promise<{ s: ReplaySummary; store: DynamoDbTrailStore }> => {
  const st = store ?? (await freshStore());
  const s = await replayFiles(paths, st, { now: () => NOW, ...opts });
  return { s, store: st };
};

const quarantinedTotal = (s: ReplaySummary): number => Object.values(s.quarantined).reduce((n, v) => n + (v ?? 0), 0);

describe('replay reads every shape users have', () => {
  it.each<[string, string[], Partial<ReplayOptions>, Partial<ReplaySummary>, string]>([
    [
      'filter-log-events output (aws-cli example)',
      [join(SHAPES, 'aws-cli-filter-log-events.json')],
      { logGroup: '/aws/eks/demo/cluster' },
      { logEvents: 2, firstEventAt: 1712567843827, lastEventAt: 1712568068991, duplicates: 0 },
      'filter-log-events',
    ],
    [
      'two filter-log-events pages appended (the same page twice)',
      [join(SHAPES, 'aws-cli-filter-log-events.two-pages.json')],
      { logGroup: '/aws/eks/demo/cluster' },
      { logEvents: 4, duplicates: 2 },
      'filter-log-events',
    ],
    [
      'get-log-events output (aws-cli example)',
      [join(SHAPES, 'aws-cli-get-log-events.json')],
      { cluster: 'demo' },
      { logEvents: 3, firstEventAt: 1433190184356, lastEventAt: 1433190184358 },
      'get-log-events',
    ],
    [
      'get-query-results output (aws-cli example)',
      [join(SHAPES, 'aws-cli-get-query-results.json')],
      { cluster: 'demo' },
      { logEvents: 3, firstEventAt: Date.parse('2024-05-19T06:10:16.682Z') },
      'logs-insights-query-results',
    ],
    [
      'export to S3, gzip, stream from the object key',
      [S3_EXPORT],
      { logGroup: '/aws/eks/kiem/cluster', accountId: '211125685544' },
      { logEvents: 12, requests: 1, firstEventAt: Date.parse('2020-02-21T06:04:31Z') },
      'log-lines',
    ],
    [
      'audit events as JSON lines (falco trace files)',
      [join(SHAPES, 'falco-audit-events.jsonl')],
      { cluster: 'minikube', accountId: '111122223333' },
      // Two of falco's files are one request (same auditID and stage): stored once, counted as a duplicate.
      { logEvents: 4, requests: 3, duplicates: 1, firstEventAt: Date.parse('2018-10-25T13:58:49.736Z') },
      'audit-events',
    ],
    [
      'audit events gzip',
      [join(SHAPES, 'falco-audit-events.jsonl.gz')],
      { cluster: 'minikube', accountId: '111122223333' },
      { logEvents: 4, requests: 3, duplicates: 1 },
      'audit-events',
    ],
    [
      'audit events as a JSON array',
      [join(SHAPES, 'falco-audit-events.array.json')],
      { cluster: 'minikube', accountId: '111122223333' },
      { logEvents: 4, requests: 3, duplicates: 1 },
      'audit-events',
    ],
    [
      'audit events pretty-printed one after another',
      [join(SHAPES, 'falco-kiem-audit-events.pretty.json')],
      { cluster: 'minikube', accountId: '111122223333' },
      { logEvents: 3, requests: 3 },
      'audit-events',
    ],
    [
      'an audit EventList (webhook batch)',
      [join(SHAPES, 'falco-audit-event-list.json')],
      { cluster: 'minikube', accountId: '111122223333' },
      { logEvents: 4, requests: 3, duplicates: 1 },
      'audit-event-list',
    ],
    [
      'authenticator lines as plain text',
      [join(FIX, 'sim/authenticator-real-lines.log')],
      { cluster: 'demo' },
      { logEvents: 11 },
      'log-lines',
    ],
  ])('%s', async (_name, paths, opts, expected, shape) => {
    const { s } = await replay(paths, opts);
    expect(s.refused).toEqual([]);
    expect(s.files.every((f) => f.shape === shape)).toBe(true);
    expect(s).toMatchObject(expected);
    expect(quarantinedTotal(s)).toBe(0);
  });

  it('reads a Logs Insights console CSV export and its payload copies, and says a Lambda group is not an EKS one', async () => {
    const { s } = await replay([
      join(SHAPES, 'karthiksharma-logs-insights-results.csv'),
      join(SHAPES, 'firehose-s3-object-powertools-payloads'),
    ]);
    expect(s.refused).toEqual([]);
    expect(s.files.map((f) => [f.shape, f.records])).toEqual([
      ['logs-insights-csv', 20],
      ['subscription-payloads', 9],
    ]);
    expect(s.firstEventAt).toBe(1668092603917);
    expect(s.lastEventAt).toBe(1729520895159);
    // The records name their groups (@log, payload logGroup): /aws/lambda/… is refused one payload
    // (one group and stream) at a time: two streams of the CSV, three payloads of the Firehose object.
    expect(s.quarantined).toEqual({ ENVELOPE_NOT_EKS_LOG_GROUP: 5 });
  });

  it('refuses plain audit events without --cluster, and says so', async () => {
    const { s } = await replay([join(SHAPES, 'falco-audit-events.jsonl')]);
    expect(s.refused).toMatchObject([{ code: 'FILE_NEEDS_CLUSTER' }]);
    expect(s.refused[0]?.message).toContain('pass --cluster <name>');
    expect(s.files).toEqual([]);
  });
});

describe('a bad record or file never takes down the rest', () => {
  it('quarantines the one event without a message with its index and raw text, and stores the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-bad-record-'));
    const exp = JSON.parse(readFileSync(join(KIEM, 'kiem.filter-log-events.json'), 'utf8'));
    const bad = exp.events[2];
    delete bad.message;
    writeFileSync(join(dir, 'kiem.filter-log-events.json'), JSON.stringify(exp, null, 2));
    const { s, store } = await replay([dir], { accountId: '211125685544' });
    expect(s.refused).toEqual([]);
    expect(s.files).toMatchObject([{ shape: 'filter-log-events', records: 5, quarantined: 1 }]);
    expect(s.logEvents).toBe(4);
    expect(s.quarantined).toEqual({ EXPORT_RECORD_SHAPE: 1 });
    const q = await store.quarantined(
      'EXPORT_RECORD_SHAPE',
      { from: '2024-08-24T00:00:00Z', to: '2024-08-25T00:00:00Z' },
      {},
    );
    expect(q.items).toHaveLength(1);
    expect(q.items[0]).toMatchObject({
      source: 'replay-file',
      // Keyed by the file's content, the record's raw text and its index (lib/local/replay.ts fileRecordId).
      sourceId: expect.stringMatching(/^file:[0-9a-f]{24}:[0-9a-f]{24}#events\[2\]$/),
      at: bad.timestamp,
      issues: [{ code: 'EXPORT_RECORD_SHAPE', path: 'events[2].message' }],
    });
    expect(JSON.parse(q.items[0]?.raw as string)).toEqual(bad);
  });

  it('reads a file up to a break in its JSON, quarantines the broken rest, and lands the other files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-broken-'));
    const text = readFileSync(join(KIEM, 'kiem.filter-log-events.json'), 'utf8');
    const cut = text.indexOf('"eventId"', text.indexOf('"eventId"') + 1);
    writeFileSync(join(dir, 'kiem.filter-log-events.json'), `${text.slice(0, cut)}]]}`);
    for (const f of ['cloudtrail.json', 'kiem.yaml']) copyFileSync(join(KIEM, f), join(dir, f));
    const { s } = await replay([dir], { accountId: '211125685544', at: '2024-08-05T00:00:00.000Z' });
    expect(s.files.map((f) => f.shape).sort()).toEqual(['aws-auth', 'cloudtrail', 'filter-log-events']);
    expect(s.refused).toMatchObject([{ code: 'FILE_JSON_SYNTAX', recordsRead: 1 }]);
    expect(s.logEvents).toBe(1);
    expect(s.cloudTrailRecords).toBe(4);
  });

  it('lists a README, a corrupt gzip and a missing path as refused, with why, and replays the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-mixed-'));
    for (const f of ['cloudtrail.json', 'kiem.yaml', 'kiem.filter-log-events.json'])
      copyFileSync(join(KIEM, f), join(dir, f));
    copyFileSync(join(SHAPES, 'falco-README.md'), join(dir, 'README.md'));
    writeFileSync(join(dir, 'broken.json.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]));
    writeFileSync(join(dir, '.DS_Store'), 'x');
    const { s } = await replay([dir, join(dir, 'missing.json')], {
      accountId: '211125685544',
      at: '2024-08-05T00:00:00.000Z',
    });
    expect(s.refused.map((r) => [r.path.replace(`${dir}/`, ''), r.code])).toEqual([
      ['missing.json', 'FILE_UNREADABLE'],
      ['README.md', 'FILE_UNRECOGNISED'],
      ['broken.json.gz', 'FILE_NOT_GZIP'],
    ]);
    expect(s.ignored).toEqual([join(dir, '.DS_Store')]);
    expect(s.requests).toBe(3);
    expect(s.authnFailureChains).toBe(1);
    expect(renderReplaySummary(s)).toContain(
      'files: 3 read (1 aws-auth, 1 cloudtrail, 1 filter-log-events), 3 refused, 1 hidden ignored',
    );
  });
});

describe('replay says what it could not tie, and how to tie it', () => {
  it('no account, no AssumeRole* issuance, no mapping history: each with its fix', async () => {
    const { s } = await replay([join(KIEM, 'kiem.filter-log-events.json')]);
    expect(s.untied).toMatchObject({
      noAccount: 3,
      clustersWithoutAccount: ['kiem'],
      noIssuance: 3,
      accessKeys: ['ASIADEVKEY0000000001', 'ASIATCKASJUUD7MPDOZN'],
      noMappingHistory: { kiem: 3 },
    });
    const hints = replayHints(s).join('\n');
    expect(hints).toContain('pass --account <12-digit id>, or replay the CloudTrail of that account too');
    expect(hints).toContain(
      '3 requests used 2 temporary access keys with no AssumeRole* issuance in what was replayed (ASIADEVKEY0000000001, ASIATCKASJUUD7MPDOZN)',
    );
    expect(hints).toContain('run `eks-trail backfill --cluster kiem`');
    expect(hints).toContain('kubectl get cm aws-auth -n kube-system -o yaml > kiem.yaml');
  });

  it('ties what CloudTrail and the aws-auth snapshot provide', async () => {
    const store = await freshStore();
    const { s } = await replay(
      [KIEM],
      { at: '2024-08-05T00:00:00.000Z', accountFor: async (c) => (await store.resolveCluster(c))?.accountId },
      store,
    );
    expect(s.untied).toMatchObject({ noAccount: 0, noMappingHistory: {}, noIssuance: 2, accessKeyCount: 1 });
  });
});
