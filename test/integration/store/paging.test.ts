import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import { type ClusterRef, cellOf, sortableTime } from '../../../lib/store/keys.js';
import type { PageRequest, StoredRequest, StorePage } from '../../../lib/store/trail-store.js';
import { ACCOUNT_A, chainFromEvent, kiempossibleEvent, logBatchOf, variant } from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

/**
 * Cursors over cell-by-cell listings (docs/data-model.md, "Reading"): every request exactly once, in
 * order, whatever the page size, with pages ending inside a cell, cells holding several segments (one
 * per delivery), and the stages of one request stored in two segments of a cell.
 */
let h: StoreHarness;
const prodA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const RANGE = { from: '2024-08-23T00:00:00Z', to: '2024-08-25T23:59:59Z' };
const SSO = 'arn:aws:iam::211125685544:role/sso_admin';
const base = kiempossibleEvent();
const N = 150;
const DENSE = 40;
const DELIVERIES = 5;

/** Spread over three days; every third shares its millisecond with another, so ties need the id to order. */
const at = (i: number) => {
  const ms = Date.parse('2024-08-23T05:00:00Z') + ((i * 7_919_000) % (60 * 3_600_000)) + (i % 3 === 0 ? 0 : i);
  return new Date(ms).toISOString().replace('Z', `${String(i % 3 === 0 ? 0 : i % 1000).padStart(3, '0')}Z`);
};

const spread = Array.from({ length: N }, (_, i) =>
  variant(base, {
    auditID: `page-${String(i).padStart(3, '0')}`,
    at: at(i),
    namespace: 'team-a',
    resource: 'pods',
    name: `p${i % 5}`,
  }),
);
/** One busy cell (2024-08-24T12:00-12:05): forty requests, some at the very same instant. */
const dense = Array.from({ length: DENSE }, (_, i) =>
  variant(base, {
    auditID: `dense-${String(i).padStart(2, '0')}`,
    at: `2024-08-24T12:0${Math.floor(i / 10)}:${String((i * 7) % 60).padStart(2, '0')}.${i % 4 === 0 ? '000000' : String(i).padStart(6, '0')}Z`,
    namespace: 'team-b',
    resource: 'pods',
    name: 'busy',
  }),
);
/** A watch: ResponseStarted and ResponseComplete of one request, each in another delivery. */
const watchStarted = variant(base, {
  auditID: 'dense-watch',
  at: '2024-08-24T12:02:30.500000Z',
  stage: 'ResponseStarted',
});
const watchComplete = variant(watchStarted, { auditID: 'dense-watch', stage: 'ResponseComplete' });

const events = [...spread, ...dense];
/** Distinct requests by (time, auditID): what a listing must hand out, once each. */
const requests = [...events, watchStarted].map((e) => ({
  id: e.auditID,
  at: sortableTime(e.requestReceivedTimestamp!)!,
}));
const byKey = (a: { id: string; at: string }, b: { id: string; at: string }) =>
  a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

const readAll = async (fetch: (p: PageRequest) => Promise<StorePage<StoredRequest>>, req: PageRequest) => {
  const seen: StoredRequest[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await fetch({ ...req, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(req.limit ?? 50);
    seen.push(...page.items);
    cursor = page.cursor;
    pages++;
  } while (cursor && pages < 1000);
  expect(cursor).toBeUndefined();
  return { seen, pages };
};

const idOf = (r: StoredRequest) => (r.kind === 'request' ? r.auditID : '');

beforeAll(async () => {
  h = await startStoreHarness();
  // Five deliveries, each a slice of the stream: every busy cell holds several segments.
  for (let d = 0; d < DELIVERIES; d++) {
    const mine = events.filter((_, i) => i % DELIVERIES === d);
    const extra = d === 1 ? [watchStarted] : d === 3 ? [watchComplete] : [];
    await h.store.putLogBatch(
      logBatchOf(
        [...mine, ...extra].map((e) => chainFromEvent(e, { cluster: 'prod', accountId: ACCOUNT_A })),
        [...mine, ...extra].map((e) => `delivery-${d}-${e.auditID}-${e.stage}`),
      ),
    );
  }
  h.counter.reset();
});
afterAll(async () => h.engine.stop());

describe('paging', () => {
  it('stores the busy cell as several segments, one per delivery', async () => {
    const rows = (await h.dump()).map((r) => JSON.parse(r) as Record<string, { S?: string }>);
    const segments = rows.filter(
      (r) => r['pk']?.S === `S#${ACCOUNT_A}#prod` && r['sk']?.S?.startsWith('2024-08-24T12:00#'),
    );
    expect(new Set(segments.map((r) => r['sk']?.S?.split('#')[1])).size).toBe(DELIVERIES);
    expect(cellOf(sortableTime(dense[DENSE - 1]!.requestReceivedTimestamp!)!)).toBe('2024-08-24T12:00');
  });

  it.each([
    [1, 'newest-first'],
    [3, 'newest-first'],
    [7, 'newest-first'],
    [7, 'oldest-first'],
    [50, 'oldest-first'],
    [1000, 'newest-first'],
  ] as const)('cluster listing, %i per page, %s: every request once, in time order', async (limit, order) => {
    const { seen, pages } = await readAll((p) => h.store.requestsByCluster(prodA, RANGE, p), { limit, order });
    const expected = [...requests].sort(byKey);
    if (order === 'newest-first') expected.reverse();
    expect(seen.map(idOf)).toEqual(expected.map((r) => r.id));
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(requests.length / limit));
    // The watch's two stages sit in two segments, and still come as one request on one page.
    const watch = seen.find((r) => idOf(r) === 'dense-watch');
    expect(watch?.kind === 'request' && watch.stages.map((s) => s.event.stage)).toEqual([
      'ResponseStarted',
      'ResponseComplete',
    ]);
  });

  it('a page that ends inside the busy cell resumes there without skipping or repeating', async () => {
    const inCell = { from: '2024-08-24T12:00:00Z', to: '2024-08-24T12:04:59.999999Z' };
    for (const limit of [1, 2, 3, 9]) {
      const { seen, pages } = await readAll((p) => h.store.requestsByCluster(prodA, inCell, p), { limit });
      const expected = [...dense.map((e) => e.auditID), 'dense-watch'];
      expect(seen.map(idOf).sort()).toEqual(expected.sort());
      expect(new Set(seen.map(idOf)).size).toBe(seen.length);
      // At most one page more than needed: a page that ends with a cell cannot know no cell follows.
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / limit));
      expect(pages).toBeLessThanOrEqual(Math.ceil(expected.length / limit) + 1);
    }
  });

  it('principal listing over postings pages the same way', async () => {
    const { seen } = await readAll((p) => h.store.requestsByPrincipal(SSO, RANGE, p), { limit: 11 });
    expect(seen.map(idOf)).toEqual(
      [...requests]
        .sort(byKey)
        .reverse()
        .map((r) => r.id),
    );
  });

  it('object listing pages in time order', async () => {
    const { seen } = await readAll(
      (p) => h.store.requestsByResource(prodA, { resource: 'pods', namespace: 'team-a', name: 'p3' }, RANGE, p),
      { limit: 4, order: 'oldest-first' },
    );
    const expected = spread
      .filter((_, i) => i % 5 === 3)
      .map((e) => ({ id: e.auditID, at: sortableTime(e.requestReceivedTimestamp!)! }))
      .sort(byKey);
    expect(seen.map(idOf)).toEqual(expected.map((r) => r.id));
  });

  it('kind listing narrowed to a namespace pages over the busy cell', async () => {
    const { seen } = await readAll(
      (p) => h.store.requestsByResource(prodA, { resource: 'pods', namespace: 'team-b' }, RANGE, p),
      { limit: 6 },
    );
    expect(seen.map(idOf).sort()).toEqual(dense.map((e) => e.auditID).sort());
  });

  it.each([
    ['text that is not a cursor', 'not-a-cursor'],
    ['a cursor of another format', Buffer.from(JSON.stringify({ v: 2 })).toString('base64url')],
    ['a cursor whose cell is not a cell', Buffer.from(JSON.stringify({ c: '2024-08-24' })).toString('base64url')],
    [
      'a cursor whose key is not a row key',
      Buffer.from(JSON.stringify({ c: '2024-08-24T12:00', k: 5 })).toString('base64url'),
    ],
  ])('refuses %s with VALIDATION', async (_label, cursor) => {
    await expect(h.store.requestsByCluster(prodA, RANGE, { cursor })).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('used only Query and BatchGetItem', () => {
    const counts = h.counter.counts();
    for (const name of FULL_TABLE_READS) expect(counts[name] ?? 0).toBe(0);
    expect(Object.keys(counts).sort()).toEqual(['BatchGetItemCommand', 'QueryCommand']);
  });
});
