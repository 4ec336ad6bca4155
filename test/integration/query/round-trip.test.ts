import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayFiles } from '../../../lib/local/replay.js';
import type { RequestRow } from '../../../lib/query/chain-rows.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { runQuestion } from '../../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';

/**
 * Every value an answer prints is accepted back: each target who-did and touched print returns its
 * row from touched, and each value in a column with a filter (human, principal, k8s user, verb,
 * resource, namespace, outcome, stage) returns its row from that filter. Over the bundled samples,
 * replayed through the real pipelines into a real engine.
 */

const SAMPLES = resolve(__dirname, '../../../samples');
const NOW = Date.parse('2025-06-03T00:00:00Z');
const WINDOW = { from: '2025-06-02T07:00:00Z', to: '2025-06-02T17:00:00Z' };

let engine: Engine;
let store: DynamoDbTrailStore;
let clusters: string[];
const printed = new Map<string, RequestRow[]>();

const ask = async (question: string, params: Record<string, string>): Promise<RequestRow[]> => {
  const rows: RequestRow[] = [];
  let cursor: string | undefined;
  do {
    const p = parseQuestionParams(question, { ...params, limit: '1000', ...(cursor ? { cursor } : {}) }, NOW);
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    const a = await runQuestion(store, p.value);
    rows.push(...(a.rows as RequestRow[]));
    cursor = a.nextCursor;
  } while (cursor !== undefined);
  return rows;
};

const ids = (rows: readonly RequestRow[]): Set<string> => new Set(rows.map((r) => r.chainId));

beforeAll(async () => {
  engine = await startEngine();
  const table = await createTestTable(engine.client, 'round-trip');
  store = new DynamoDbTrailStore(engine.client, { tableName: table });
  await replayFiles([SAMPLES], store, {
    now: () => NOW,
    accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
  });
  clusters = (await store.clusters()).map((c) => `${c.accountId}/${c.cluster}`).sort();
  for (const cluster of clusters) printed.set(cluster, await ask('who-did', { cluster, ...WINDOW }));
}, 120_000);

afterAll(async () => {
  await engine?.stop();
});

/** Distinct values of one column, each with the rows that print it. */
const byValue = (rows: readonly RequestRow[], value: (r: RequestRow) => string | undefined) => {
  const out = new Map<string, RequestRow[]>();
  for (const r of rows) {
    const v = value(r);
    if (v === undefined) continue;
    out.set(v, [...(out.get(v) ?? []), r]);
  }
  return [...out];
};

describe('targets round-trip', () => {
  it('prints group-qualified kinds, subresources, cluster-scoped objects and namespaces', () => {
    const targets = new Set([...printed.values()].flat().flatMap((r) => (r.target ? [r.target] : [])));
    expect([...targets]).toEqual(
      expect.arrayContaining([
        'kube-system/daemonsets.apps/aws-node',
        '/clusterrolebindings.rbac.authorization.k8s.io',
        '/nodes/status/ip-10-30-210-35.eu-west-1.compute.internal',
        '/nodes/ip-10-30-210-35.eu-west-1.compute.internal',
        '/namespaces',
        '/pods',
      ]),
    );
    expect([...targets].filter((t) => /^[^/]+\/namespaces\//.test(t))).toEqual([]);
  });

  it('every target who-did prints returns its rows from touched', { timeout: 120_000 }, async () => {
    let checked = 0;
    for (const [cluster, rows] of printed) {
      for (const [target, mine] of byValue(rows, (r) => r.target)) {
        const found = ids(await ask('touched', { cluster, target, ...WINDOW }));
        for (const r of mine)
          expect(found.has(r.chainId), `${cluster} touched ${target} misses ${r.chainId}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('every target touched prints returns its rows from touched again', async () => {
    const cluster = clusters.find((c) => c.endsWith('/checkout-stg')) as string;
    const rows = await ask('touched', { cluster, target: 'namespace/payments', ...WINDOW });
    expect(rows.length).toBeGreaterThan(0);
    for (const [target, mine] of byValue(rows, (r) => r.target)) {
      const found = ids(await ask('touched', { cluster, target, ...WINDOW }));
      for (const r of mine) expect(found.has(r.chainId), `touched ${target} misses ${r.chainId}`).toBe(true);
    }
  });

  it('a subresource target narrows to the subresource; the object target includes it', async () => {
    const [cluster, rows] = [...printed].find(([, rs]) => rs.some((r) => r.subresource === 'log')) as [
      string,
      RequestRow[],
    ];
    const log = rows.find((r) => r.subresource === 'log') as RequestRow;
    const object = `${log.namespace}/${log.resource}/${log.name}`;
    const sub = await ask('touched', { cluster, target: log.target as string, ...WINDOW });
    expect(sub.every((r) => r.subresource === 'log')).toBe(true);
    expect(ids(await ask('touched', { cluster, target: object, ...WINDOW })).has(log.chainId)).toBe(true);
  });
});

describe('every value printed in a column is accepted by its filter', () => {
  const filters: [string, string, (r: RequestRow) => string | undefined][] = [
    ['who-did', 'human', (r) => r.human?.identity],
    ['who-did', 'principal', (r) => r.principal.arn],
    ['who-did', 'k8s-user', (r) => r.k8s.user],
    ['who-did', 'verb', (r) => r.verb],
    ['who-did', 'resource', (r) => (r.resource ? `${r.resource}${r.apiGroup ? `.${r.apiGroup}` : ''}` : undefined)],
    ['who-did', 'namespace', (r) => r.namespace],
    ['who-did', 'outcome', (r) => r.decision.outcome],
    ['denied', 'stage', (r) => r.decision.failedStage],
  ];
  it.each(filters)('%s --%s', { timeout: 120_000 }, async (question, param, value) => {
    let checked = 0;
    for (const [cluster, rows] of printed) {
      for (const [v, mine] of byValue(rows, value)) {
        const found = ids(await ask(question, { cluster, [param]: v, ...WINDOW }));
        const wanted = question === 'denied' ? mine.filter((r) => r.decision.failedStage) : mine;
        for (const r of wanted) expect(found.has(r.chainId), `--${param} ${v} misses ${r.chainId}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('accepts --outcome unknown, which the rows print when the record does not say', async () => {
    const cluster = clusters[0] as string;
    const rows = await ask('who-did', { cluster, outcome: 'unknown', ...WINDOW });
    expect(rows.every((r) => r.decision.outcome === 'unknown')).toBe(true);
  });
});

describe('every principal the mapping questions print is accepted by their --principal', () => {
  const rowsOf = async (question: string, params: Record<string, string>) => {
    const p = parseQuestionParams(question, params, NOW);
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    return (await runQuestion(store, p.value)).rows as { principal?: string; target?: string; source?: string }[];
  };

  it('access-at, mapAccounts included', async () => {
    for (const cluster of clusters) {
      const at = '2025-06-02T13:00:00Z';
      const rows = await rowsOf('access-at', { cluster, at, limit: '1000' });
      expect(rows.some((r) => r.source === 'aws-auth-account')).toBe(cluster.endsWith('payments-prod'));
      // An OIDC identity provider is named by its issuer URL: no IAM principal, which --principal is about.
      for (const r of rows.filter((x) => x.source !== 'oidc-provider')) {
        const found = await rowsOf('access-at', { cluster, at, principal: r.principal as string, limit: '1000' });
        expect(
          found.some((f) => f.principal === r.principal && f.source === r.source),
          r.principal,
        ).toBe(true);
      }
    }
  });

  it('mappings history', async () => {
    for (const cluster of clusters) {
      const rows = await rowsOf('mappings-history', { cluster, limit: '1000' });
      // Changes of an OIDC provider or a Pod Identity association name no IAM principal (their target is
      // `oidc provider <name>` or `serviceaccount <ns>/<sa>`), so only ARN targets are asked back.
      for (const target of new Set(rows.map((r) => r.target).filter((t) => t?.startsWith('arn:')))) {
        const found = await rowsOf('mappings-history', { cluster, principal: target as string, limit: '1000' });
        expect(
          found.some((f) => f.target === target),
          target,
        ).toBe(true);
      }
    }
  });
});
