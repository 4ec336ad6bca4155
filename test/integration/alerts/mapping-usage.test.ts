import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countCommands } from '../../../lib/store/command-counter.js';
import { DynamoDbMappingUsageStore } from '../../../lib/store/dynamodb/mapping-usage.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';
import { dumpTable } from '../../support/table-dump.js';

/** Mapping usage against a real DynamoDB engine: min/max kept by conditional writes, whatever the order. */
let engine: Engine;
let table: string;
const ACCOUNT = '111122223333';
const KEY = 'access-entry:arn:aws:iam::211125685544:role/sso_admin';

beforeAll(async () => {
  engine = await startEngine();
  table = await createTestTable(engine.client, 'usage');
});

afterAll(async () => {
  await engine?.stop();
});

const uses = [
  { at: '2024-08-24T14:27:07.461683Z', chainId: 'prod#c' },
  { at: '2024-08-24T14:27:07.461Z', chainId: 'prod#b' },
  { at: '2024-08-25T09:00:00Z', chainId: 'prod#d' },
  { at: '2024-08-23T00:00:00Z', chainId: 'prod#a' },
];

describe('DynamoDbMappingUsageStore', () => {
  it('keeps the earliest and latest use whatever the arrival order, and reports first uses', async () => {
    const results: Record<string, string[]> = {};
    for (const [name, order] of [
      ['forward', uses],
      ['reversed', [...uses].reverse()],
    ] as const) {
      const cluster = `prod-${name}`;
      const store = new DynamoDbMappingUsageStore(engine.client, { tableName: table });
      const firsts: boolean[] = [];
      for (const u of order)
        firsts.push((await store.recordUse(cluster, KEY, u.at, { accountId: ACCOUNT, chainId: u.chainId })).firstUse);
      expect(firsts[0]).toBe(true);
      const [usage] = await store.list(cluster, ACCOUNT);
      expect(usage).toEqual({
        cluster,
        accountId: ACCOUNT,
        mappingKey: KEY,
        firstUsedAt: '2024-08-23T00:00:00.000000Z',
        firstChainId: 'prod#a',
        lastUsedAt: '2024-08-25T09:00:00.000000Z',
        lastChainId: 'prod#d',
      });
      results[name] = firsts.map(String);
    }
    // Forward: the first call, then each use earlier than all before it (…07.461Z precedes …07.461683Z,
    // 2024-08-23 precedes both); the later use of 2024-08-25 is not.
    expect(results['forward']).toEqual(['true', 'true', 'false', 'true']);
    expect(results['reversed']).toEqual(['true', 'false', 'false', 'false']);
  });

  it('writes nothing when a use is redelivered, and reports the stored first use as first again', async () => {
    const store = new DynamoDbMappingUsageStore(engine.client, { tableName: table });
    for (const u of uses)
      await store.recordUse('prod-redelivery', KEY, u.at, { accountId: ACCOUNT, chainId: u.chainId });
    const before = await dumpTable(engine.client, table);
    for (const u of uses) {
      const r = await store.recordUse('prod-redelivery', KEY, u.at, { accountId: ACCOUNT, chainId: u.chainId });
      // The delivery that first recorded it may have failed before its alert went out: the retry
      // raises it again, and the alert ledger sends it at most once.
      expect(r.firstUse).toBe(u.chainId === 'prod#a');
    }
    expect(await dumpTable(engine.client, table)).toEqual(before);
  });

  it('reports the previous last use when a later use moves it', async () => {
    const store = new DynamoDbMappingUsageStore(engine.client, { tableName: table });
    await store.recordUse('prod-last', KEY, '2024-01-01T00:00:00Z', { accountId: ACCOUNT, chainId: 'x' });
    const r = await store.recordUse('prod-last', KEY, '2024-06-01T00:00:00Z', { accountId: ACCOUNT, chainId: 'y' });
    expect(r).toEqual({ firstUse: false, lastUsedBefore: '2024-01-01T00:00:00.000000Z' });
  });

  it('lists a cluster through Query and BatchGetItem, never Scan', async () => {
    const store = new DynamoDbMappingUsageStore(engine.client, { tableName: table });
    for (let i = 0; i < 5; i++) {
      await store.recordUse('prod-list', `aws-auth-role:arn:aws:iam::${ACCOUNT}:role/r${i}`, '2024-08-01T00:00:00Z', {
        accountId: ACCOUNT,
      });
    }
    const counter = countCommands(engine.client);
    const listed = await store.list('prod-list', ACCOUNT);
    counter.detach();
    expect(listed.map((u) => u.mappingKey)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `aws-auth-role:arn:aws:iam::${ACCOUNT}:role/r${i}`),
    );
    expect(counter.count('ScanCommand')).toBe(0);
    expect(await store.list('prod-other', ACCOUNT)).toEqual([]);
  });
});
