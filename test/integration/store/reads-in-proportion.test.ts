import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRef } from '../../../lib/store/keys.js';
import type { StoredAuthenticatorRecord } from '../../../lib/store/trail-store.js';
import { ACCOUNT_A, chainFromEvent, kiempossibleEvent, logBatchOf, variant } from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

/**
 * docs/data-model.md, "Reading": a listing fetches the parts whose rows it is about to hand out, in
 * the order of their time bounds, not every part of a busy cell. Counted on the wire: the keys every
 * BatchGetItem asks for.
 */

const prod: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const base = kiempossibleEvent();
const DELIVERIES = 20;
const PER_DELIVERY = 40;
/** The busy cell 2024-08-24T12:00-12:05, one delivery per 15 seconds of it, none overlapping. */
const timeOf = (d: number, i: number) => {
  const ms = Date.parse('2024-08-24T12:00:00Z') + d * 15_000 + i * 300;
  return new Date(ms).toISOString().replace('Z', '000Z');
};

/** Keys asked by BatchGetItem since the last reset. */
const keysFetched = (client: DynamoDBClient) => {
  let n = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchGetItemCommand') {
        const input = (args as { input: { RequestItems: Record<string, { Keys: unknown[] }> } }).input;
        for (const t of Object.values(input.RequestItems)) n += t.Keys.length;
      }
      return next(args);
    },
    { step: 'initialize', name: 'keysFetched' },
  );
  return {
    count: () => n,
    reset: () => {
      n = 0;
    },
  };
};

let h: StoreHarness;
let fetched: ReturnType<typeof keysFetched>;

beforeAll(async () => {
  h = await startStoreHarness();
  fetched = keysFetched(h.client);
  for (let d = 0; d < DELIVERIES; d++) {
    const events = Array.from({ length: PER_DELIVERY }, (_, i) =>
      variant(base, { auditID: `d${d}-r${String(i).padStart(2, '0')}`, at: timeOf(d, i) }),
    );
    const result = await h.store.putLogBatch(
      logBatchOf(
        events.map((e) => chainFromEvent(e, { cluster: prod.cluster, accountId: prod.accountId })),
        `delivery-${d}`,
      ),
    );
    expect(result.segments).toBe(1);
  }
  // Authenticator lines: one per second of the cell, each delivery its own segment.
  for (let d = 0; d < DELIVERIES; d++) {
    const records: StoredAuthenticatorRecord[] = Array.from({ length: 15 }, (_, i) => ({
      line: {
        kind: 'access-granted',
        canonicalArn: 'arn:aws:iam::111122223333:role/node',
        username: `n${i}`,
        groups: [],
        fields: {},
      },
      origin: {
        cluster: prod.cluster,
        accountId: prod.accountId,
        logGroup: '/aws/eks/prod/cluster',
        logStream: 'authenticator-1',
        streamKind: 'authenticator',
        eventId: `authn-${d}-${i}`,
        timestamp: Date.parse('2024-08-24T12:00:00Z') + d * 15_000 + i * 1_000,
      },
    }));
    const result = await h.store.putLogBatch({
      audit: [],
      authenticator: records.map((record, i) => ({ unit: { id: `authn-delivery-${d}`, index: i }, record })),
    });
    expect(result.segments).toBe(1);
  }
}, 60_000);

afterAll(async () => {
  await h?.engine.stop();
});

const WINDOW = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' };

describe('a busy cell', () => {
  it('hands out its newest requests from the latest deliveries only', async () => {
    fetched.reset();
    const page = await h.store.requestsByCluster(prod, WINDOW, { limit: 10 });
    expect(page.items.map((r) => (r.kind === 'request' ? r.auditID : '')).slice(0, 3)).toEqual([
      'd19-r39',
      'd19-r38',
      'd19-r37',
    ]);
    // The latest delivery holds 40 rows; the fetch may reach one delivery further, never the cell.
    expect(fetched.count()).toBeGreaterThan(0);
    expect(fetched.count()).toBeLessThanOrEqual(2);
  });

  it('still hands out every request exactly once when paged through', async () => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.store.requestsByCluster(prod, WINDOW, { limit: 33, ...(cursor ? { cursor } : {}) });
      ids.push(...page.items.map((r) => (r.kind === 'request' ? r.auditID : '')));
      cursor = page.cursor;
    } while (cursor);
    expect(ids).toHaveLength(DELIVERIES * PER_DELIVERY);
    expect(new Set(ids).size).toBe(DELIVERIES * PER_DELIVERY);
  });

  it('fetches only the part that reaches the instant an explain --at names', async () => {
    fetched.reset();
    const found = await h.store.requestByAuditId(prod, 'd7-r05', timeOf(7, 5));
    expect(found?.kind === 'request' && found.auditID).toBe('d7-r05');
    // The pointer's part (the request is notable), then the parts reaching its instant: the same one.
    expect(fetched.count()).toBeLessThanOrEqual(2);
  });

  it('reads the authenticator lines of narrow windows without the rest of the cell', async () => {
    fetched.reset();
    const around = { from: '2024-08-24T12:01:00.500Z', to: '2024-08-24T12:01:02.500Z' };
    const page = await h.store.authenticatorRecords(prod, WINDOW, { limit: 1000 }, [around]);
    expect(page.items.map((r) => r.origin.eventId).sort()).toEqual(['authn-4-1', 'authn-4-2']);
    expect(fetched.count()).toBe(1);
  });
});
