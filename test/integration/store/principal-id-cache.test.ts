import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MappingChange } from '../../../lib/identity/types.js';
import { type CommandCounter, countCommands, FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import type { DynamoDbTrailStoreOptions } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { ACCOUNT_A, accessEntryChange } from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

/**
 * `principal-id-observed` arrives with nearly every IAM request, and refused conditional writes are
 * billed: the store collapses observations of one binding per call and skips the ones it knows are
 * stored, while the table still keeps the earliest observation and only the first arrival is new.
 */
let h: StoreHarness;
/** Counters never reset, on every client of the file, so the last test can prove no Scan was sent. */
const watched: CommandCounter[] = [];

beforeAll(async () => {
  h = await startStoreHarness();
  watched.push(countCommands(h.client));
});
afterAll(async () => h.engine.stop());

const ADMIN = 'arn:aws:iam::211125685544:role/sso_admin';

const obs = (sourceEventId: string, at: string, principalId = 'AROATCKASJUUBCXRRKSFT'): MappingChange => ({
  cluster: 'prod',
  accountId: ACCOUNT_A,
  at,
  sourceEventId,
  source: 'audit',
  actor: { k8sUsername: 'alice' },
  op: { kind: 'principal-id-observed', matchKey: ADMIN, principalId },
});

const fresh = async (options: Partial<DynamoDbTrailStoreOptions> = {}) => {
  const local = await startStoreHarness(h.engine, options);
  watched.push(countCommands(local.client));
  return local;
};

/** Mapping history items (`MC#` partitions) of a table, comparable across tables. */
const mappingItems = async (local: StoreHarness) =>
  (await local.dump()).filter((row) => (JSON.parse(row) as { pk?: { S?: string } }).pk?.S?.startsWith('MC#'));

const storedIds = async (local: StoreHarness) =>
  (await local.store.mappingChanges({ accountId: ACCOUNT_A, cluster: 'prod' })).map((c) => c.sourceEventId);

const puts = async (local: StoreHarness, run: () => Promise<unknown>) => {
  local.counter.reset();
  await run();
  return local.counter.count('PutItemCommand');
};

const permutations = <T>(items: T[]): T[][] =>
  items.length <= 1
    ? [items]
    : items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));

describe('observations of one binding in one call', () => {
  it('cost one PutItem for 100 observations and return only the earliest as new', async () => {
    const local = await fresh();
    const start = Date.parse('2024-08-24T09:00:00Z');
    // Shuffled times, so the earliest sits in the middle of the call (index 50).
    const changes = Array.from({ length: 100 }, (_, i) =>
      obs(`audit-${i}`, new Date(start + ((i * 37 + 50) % 100) * 60_000).toISOString()),
    );
    let news: MappingChange[] = [];
    expect(await puts(local, async () => (news = await local.store.putMappingChanges(changes)))).toBe(1);
    expect(news.map((c) => c.sourceEventId)).toEqual(['audit-50']);
    expect(await storedIds(local)).toEqual(['audit-50']);
  });

  it('collapse per binding and leave the other changes of the call alone', async () => {
    const local = await fresh();
    const entry = accessEntryChange();
    const changes = [
      obs('audit-2', '2024-08-24T12:00:00Z', 'AROAFIRST'),
      entry,
      obs('audit-1', '2024-08-24T11:00:00Z', 'AROAFIRST'),
      obs('audit-3', '2024-08-24T13:00:00Z', 'AROASECOND'),
      obs('audit-3', '2024-08-24T13:00:00Z', 'AROASECOND'),
    ];
    let news: MappingChange[] = [];
    expect(await puts(local, async () => (news = await local.store.putMappingChanges(changes)))).toBe(3);
    expect(news).toEqual([entry, changes[2], changes[3]]);
  });
});

describe('observations in later calls', () => {
  it('cost no PutItem once the binding is known to be stored', async () => {
    const local = await fresh();
    await local.store.putMappingChanges([obs('audit-1', '2024-08-24T09:00:00Z')]);
    const before = await local.dump();
    const again = [
      obs('audit-1', '2024-08-24T09:00:00Z'),
      obs('audit-2', '2024-08-24T09:00:00Z'),
      obs('audit-3', '2024-08-24T10:00:00Z'),
    ];
    for (const c of again) {
      let news: MappingChange[] = [];
      expect(await puts(local, async () => (news = await local.store.putMappingChanges([c])))).toBe(0);
      expect(news).toEqual([]);
    }
    expect(await local.dump()).toEqual(before);
  });

  it('still let an earlier observation arriving later replace the stored one, without counting it new', async () => {
    const local = await fresh();
    expect(await local.store.putMappingChanges([obs('audit-late', '2024-08-24T15:00:00Z')])).toHaveLength(1);
    let news: MappingChange[] = [];
    const early = obs('audit-early', '2024-08-24T09:00:00Z');
    expect(await puts(local, async () => (news = await local.store.putMappingChanges([early])))).toBe(2);
    expect(news).toEqual([]);
    expect(await storedIds(local)).toEqual(['audit-early']);
    expect(await puts(local, () => local.store.putMappingChanges([obs('audit-late', '2024-08-24T15:00:00Z')]))).toBe(0);
    expect(await storedIds(local)).toEqual(['audit-early']);
  });

  it('leave the same stored item for every arrival order, with exactly the first arrival new', async () => {
    // Two share a timestamp: the event id breaks the tie, as it does in the table's `ord`.
    const all = [
      obs('audit-a', '2024-08-24T09:00:00Z'),
      obs('audit-b', '2024-08-24T09:00:00Z'),
      obs('audit-c', '2024-08-24T12:00:00Z'),
      obs('audit-d', '2024-08-24T15:00:00Z'),
    ];
    const orders = permutations(all);
    expect(orders).toHaveLength(24);
    const dumps: string[][] = [];
    for (const order of orders) {
      const local = await fresh();
      const newPerCall: number[] = [];
      for (const c of order) newPerCall.push((await local.store.putMappingChanges([c])).length);
      expect(newPerCall).toEqual([1, 0, 0, 0]);
      expect(await storedIds(local)).toEqual(['audit-a']);
      dumps.push(await mappingItems(local));
    }
    expect(dumps[0]).toHaveLength(1);
    for (const d of dumps) expect(d).toEqual(dumps[0]);
  });
});

describe('two containers on one table', () => {
  it('each take the conditional path for what they have not seen and keep the table on the earliest', async () => {
    const local = await fresh();
    const a = local.store;
    const clientB = local.engine.newClient();
    const counterB = countCommands(clientB);
    watched.push(countCommands(clientB));
    const b = local.storeWith(clientB);
    const putsB = async (c: MappingChange) => {
      counterB.reset();
      const news = await b.putMappingChanges([c]);
      return { puts: counterB.count('PutItemCommand'), news: news.length };
    };
    const putsA = async (c: MappingChange) => {
      let news: MappingChange[] = [];
      const n = await puts(local, async () => (news = await a.putMappingChanges([c])));
      return { puts: n, news: news.length };
    };

    expect(await putsA(obs('audit-d', '2024-08-24T15:00:00Z'))).toEqual({ puts: 1, news: 1 });
    // B's first sight of the same (redelivered) event: create and replace both refused.
    expect(await putsB(obs('audit-d', '2024-08-24T15:00:00Z'))).toEqual({ puts: 2, news: 0 });
    expect(await putsB(obs('audit-c', '2024-08-24T12:00:00Z'))).toEqual({ puts: 2, news: 0 });
    expect(await storedIds(local)).toEqual(['audit-c']);
    // A still believes audit-d: skipping what is at or after it is right, the table only moved earlier.
    expect(await putsA(obs('audit-e', '2024-08-24T16:00:00Z'))).toEqual({ puts: 0, news: 0 });
    expect(await putsA(obs('audit-a', '2024-08-24T09:00:00Z'))).toEqual({ puts: 2, news: 0 });
    expect(await putsB(obs('audit-d', '2024-08-24T15:00:00Z'))).toEqual({ puts: 0, news: 0 });
    // Earlier than B's bound, later than what A stored: refused by the table, then remembered by B.
    expect(await putsB(obs('audit-b', '2024-08-24T10:00:00Z'))).toEqual({ puts: 2, news: 0 });
    expect(await putsB(obs('audit-b2', '2024-08-24T11:00:00Z'))).toEqual({ puts: 0, news: 0 });
    expect(await storedIds(local)).toEqual(['audit-a']);
    counterB.detach();
  });
});

describe('cache bound', () => {
  it('evicts the least recently used binding, which then goes back to the conditional path', async () => {
    const local = await fresh({ principalIdCacheSize: 2 });
    // Repeats come an hour after the first observations, so only the cache decides whether they are written.
    const p = (id: string, principalId: string, at = '2024-08-24T13:00:00Z') => obs(id, at, principalId);
    for (const id of ['AROAONE', 'AROATWO', 'AROATHREE']) {
      expect(await local.store.putMappingChanges([p(`first-${id}`, id, '2024-08-24T12:00:00Z')])).toHaveLength(1);
    }
    // Cached: TWO, THREE. ONE was evicted.
    expect(await puts(local, () => local.store.putMappingChanges([p('again-3', 'AROATHREE')]))).toBe(0);
    let news: MappingChange[] = [];
    expect(await puts(local, async () => (news = await local.store.putMappingChanges([p('again-1', 'AROAONE')])))).toBe(
      2,
    );
    expect(news).toEqual([]);
    // Cached: THREE, ONE. TWO was evicted; its earlier observation still replaces the stored one.
    expect(await puts(local, () => local.store.putMappingChanges([p('again-1b', 'AROAONE')]))).toBe(0);
    const earlyTwo = p('early-2', 'AROATWO', '2024-08-24T08:00:00Z');
    expect(await puts(local, async () => (news = await local.store.putMappingChanges([earlyTwo])))).toBe(2);
    expect(news).toEqual([]);
    expect((await storedIds(local)).sort()).toEqual(['early-2', 'first-AROAONE', 'first-AROATHREE']);
  });

  it('is off when mapping changes expire, since the earliest observation may then disappear', async () => {
    const local = await fresh({ retentionDays: { mappingChange: 30 } });
    expect(await local.store.putMappingChanges([obs('audit-1', '2024-08-24T09:00:00Z')])).toHaveLength(1);
    expect(await puts(local, () => local.store.putMappingChanges([obs('audit-2', '2024-08-24T10:00:00Z')]))).toBe(2);
  });
});

describe('reads', () => {
  it('never sent a Scan or PartiQL statement: history reads are Queries', () => {
    for (const counter of watched) {
      for (const name of FULL_TABLE_READS) expect(counter.count(name)).toBe(0);
    }
    expect(watched.reduce((n, c) => n + c.count('QueryCommand'), 0)).toBeGreaterThan(0);
  });
});
