import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayFiles } from '../../../lib/local/replay.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { runQuestion } from '../../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { GroundTruth } from '../../../sim/index.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';
import { compareAll, describeReport, requestChainsByAuditId } from '../e2e/harness.js';

/**
 * docs/data-model.md, cluster registry: log exports name no account, so a replay without `--account`
 * files their requests under the placeholder account `_`. When CloudTrail (or `--account`) later
 * tells which account owns the cluster, the placeholder's data is joined to it: every answer is then
 * the one the trail gives when the account was known from the start, whichever came first.
 */

const samples = new URL('../../../samples/', import.meta.url).pathname;
const NOW = () => Date.parse('2025-06-02T16:30:00Z');
const WINDOW = { from: '2025-06-02T08:00:00Z', to: '2025-06-02T16:00:00Z' };
const truths = readFileSync(join(samples, 'ground-truth.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as GroundTruth);
const clusterNames = [...new Set(truths.map((t) => t.cluster))].sort();

let engine: Engine;
const stores: Record<'accountFirst' | 'logsFirst' | 'logsOnly', DynamoDbTrailStore> = {} as never;

const newStore = async (label: string) =>
  new DynamoDbTrailStore(engine.newClient(), { tableName: await createTestTable(engine.client, label) });

const replay = (store: DynamoDbTrailStore, dirs: string[], withAccounts: boolean) =>
  replayFiles(
    dirs.map((d) => join(samples, d)),
    store,
    withAccounts ? { now: NOW, accountFor: async (c) => (await store.resolveCluster(c))?.accountId } : { now: NOW },
  );

/** Every question a user asks of a cluster, as the CLI and the API answer it. */
const answers = async (store: DynamoDbTrailStore, cluster: string) => {
  const out: Record<string, unknown> = {};
  const asks: [string, Record<string, string>][] = [
    ['who-did', { cluster, ...WINDOW, limit: '1000' }],
    ['denied', { cluster, ...WINDOW, limit: '1000' }],
    ['access-at', { cluster, at: '2025-06-02T15:00:00Z' }],
    ['mappings-history', { cluster }],
  ];
  for (const [question, params] of asks) {
    const p = parseQuestionParams(question, params, NOW());
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    out[question] = await runQuestion(store, p.value);
  }
  return out;
};

beforeAll(async () => {
  engine = await startEngine();
  stores.accountFirst = await newStore('orphan-account-first');
  await replay(stores.accountFirst, ['cloudtrail', 'aws-auth', 'logs'], true);

  // Logs first, with no way to know the account; CloudTrail and the aws-auth snapshots afterwards.
  stores.logsFirst = await newStore('orphan-logs-first');
  const orphan = await replay(stores.logsFirst, ['logs'], false);
  expect(orphan.requestsStored).toBeGreaterThan(0);
  await replay(stores.logsFirst, ['cloudtrail', 'aws-auth'], true);

  stores.logsOnly = await newStore('orphan-logs-only');
  await replay(stores.logsOnly, ['logs'], false);
}, 180_000);

afterAll(async () => {
  await engine?.stop();
});

describe('a cluster whose account is learnt after its requests', () => {
  it('is listed once, under its account, with the placeholder joined to it', async () => {
    const accountOf = new Map(truths.map((t) => [t.cluster, t.accountId]));
    const expected = clusterNames.map((cluster) => ({ cluster, accountId: accountOf.get(cluster) }));
    expect(await stores.logsFirst.clusters()).toEqual(expected);
    expect(await stores.accountFirst.clusters()).toEqual(expected);
  });

  it('agrees with the ground truth on every request, as when the account came first', async () => {
    const first = await requestChainsByAuditId(stores.accountFirst, truths, WINDOW);
    const later = await requestChainsByAuditId(stores.logsFirst, truths, WINDOW);
    const report = compareAll(truths, later);
    expect(report.agreement, describeReport(report)).toBe(1);
    expect([...later.keys()].sort()).toEqual([...first.keys()].sort());
    for (const [id, chain] of first) expect(later.get(id), id).toEqual(chain);
  });

  it.each(clusterNames)('answers every question about %s exactly as when the account came first', async (cluster) => {
    expect(await answers(stores.logsFirst, cluster)).toEqual(await answers(stores.accountFirst, cluster));
  });

  it('finds a request by auditID under the account', async () => {
    const t = truths.find((x) => x.auditID)!;
    const p = parseQuestionParams('explain', { cluster: t.cluster, auditId: t.auditID }, NOW());
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    const a = await runQuestion(stores.logsFirst, p.value);
    expect(a.cluster).toBe(`${t.accountId}/${t.cluster}`);
    expect(a.rows.length).toBeGreaterThan(0);
  });
});

describe('a cluster whose account is never learnt', () => {
  it('is listed under the placeholder account and answered by its bare name', async () => {
    expect(await stores.logsOnly.clusters()).toEqual(clusterNames.map((cluster) => ({ cluster, accountId: '_' })));
    const p = parseQuestionParams('who-did', { cluster: clusterNames[0]!, ...WINDOW, limit: '5' }, NOW());
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    const a = await runQuestion(stores.logsOnly, p.value);
    expect(a.cluster).toBe(`_/${clusterNames[0]}`);
    expect(a.rows).toHaveLength(5);
  });
});
