import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, PageRequest, StoredChain } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type ClusterRef, SHARDS } from '../../../lib/store/keys.js';
import { ACCOUNT_A, chainFromEvent, kiempossibleEvent, variant } from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

/**
 * Cursors over write-sharded listings: every item exactly once, in order, whatever the page size,
 * with pages ending mid-bucket and buckets spread over all shards.
 */
let h: StoreHarness;
const prodA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const RANGE = { from: '2024-08-23T00:00:00Z', to: '2024-08-25T23:59:59Z' };
const base = kiempossibleEvent();
const N = 150;

/** Deterministic spread over three days and many hours; some share a timestamp to exercise tie-breaks. */
const at = (i: number) => {
  const ms = Date.parse('2024-08-23T05:00:00Z') + ((i * 7_919_000) % (60 * 3_600_000)) + (i % 3 === 0 ? 0 : i);
  return new Date(ms).toISOString().replace('Z', `${String(i % 1000).padStart(3, '0')}Z`);
};
const records = Array.from({ length: N }, (_, i) =>
  chainFromEvent(
    variant(base, {
      auditID: `page-${String(i).padStart(3, '0')}`,
      at: at(i),
      namespace: 'team-a',
      resource: 'pods',
      name: `p${i % 5}`,
    }),
    { cluster: 'prod', accountId: ACCOUNT_A },
  ),
);

const readAll = async (fetch: (p: PageRequest) => Promise<Page<StoredChain>>, req: PageRequest) => {
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await fetch({ ...req, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(req.limit ?? 50);
    seen.push(...page.items.map((c) => c.chain.chainId));
    cursor = page.cursor;
    pages++;
  } while (cursor && pages < 500);
  return { seen, pages };
};

beforeAll(async () => {
  h = await startStoreHarness();
  await h.store.putChains(records);
  h.counter.reset();
});
afterAll(async () => h.engine.stop());

const expectedOrder = (newestFirst: boolean) => {
  const keyed = records.map((r) => ({ id: r.chain.chainId, at: r.chain.at }));
  keyed.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return (newestFirst ? keyed.reverse() : keyed).map((k) => k.id);
};

describe('paging', () => {
  it('spreads one cluster-hour over several shards', async () => {
    const rows = (await h.dump()).map((r) => JSON.parse(r) as Record<string, { S?: string }>);
    const partitions = new Set(rows.map((r) => r['gsi1pk']?.S).filter((v) => v?.startsWith('T#')));
    const shardsUsed = new Set([...partitions].map((p) => p?.slice(-2)));
    expect(shardsUsed.size).toBeGreaterThan(SHARDS.clusterTime / 2);
  });

  it.each([
    [3, 'newest-first'],
    [7, 'newest-first'],
    [7, 'oldest-first'],
    [50, 'oldest-first'],
    [1000, 'newest-first'],
  ] as const)('cluster listing, %i per page, %s: every chain once, in time order', async (limit, order) => {
    const { seen } = await readAll((p) => h.store.chainsByCluster(prodA, RANGE, p), { limit, order });
    const ids = seen;
    expect(new Set(ids).size).toBe(N);
    // equal timestamps may come in either order; compare times, not ids
    const times = new Map(records.map((r) => [r.chain.chainId, r.chain.at]));
    expect(ids.map((id) => times.get(id))).toEqual(expectedOrder(order === 'newest-first').map((id) => times.get(id)));
  });

  it('principal listing over day buckets pages the same way', async () => {
    const { seen } = await readAll(
      (p) => h.store.chainsByPrincipal('arn:aws:iam::211125685544:role/sso_admin', RANGE, p),
      { limit: 11 },
    );
    expect(new Set(seen).size).toBe(N);
    expect(seen).toHaveLength(N);
  });

  it('object listing pages in (namespace, name, time) order within each day', async () => {
    const { seen } = await readAll(
      (p) => h.store.chainsByResource(prodA, { resource: 'pods', namespace: 'team-a', name: 'p3' }, RANGE, p),
      { limit: 4, order: 'oldest-first' },
    );
    const expected = records.filter((_, i) => i % 5 === 3).map((r) => r.chain.chainId);
    expect([...seen].sort()).toEqual([...expected].sort());
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(h.store.chainsByCluster(prodA, RANGE, { cursor: 'not-a-cursor' })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    const forged = Buffer.from(JSON.stringify({ v: 2 })).toString('base64url');
    await expect(h.store.chainsByCluster(prodA, RANGE, { cursor: forged })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });

  it('used only Query and BatchGetItem', () => {
    expect(Object.keys(h.counter.counts()).sort()).toEqual(['BatchGetItemCommand', 'QueryCommand']);
  });
});
