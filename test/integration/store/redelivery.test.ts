import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionChain } from '../../../lib/chain/types.js';
import type { AuditEvent } from '../../../lib/sources/types.js';
import { type CommandCounter, countCommands, FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import type { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { ClusterRef } from '../../../lib/store/keys.js';
import type {
  LogBatchWrite,
  PageRequest,
  StoredAuditFacts,
  StoredRequest,
  StorePage,
} from '../../../lib/store/trail-store.js';
import { injectFaults, throttle } from '../../support/ddb-faults.js';
import { ACCOUNT_A, chainFromEvent, kiempossibleEvent } from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';
import { dumpTableText } from '../../support/table-dump.js';

/**
 * Redelivery against a real engine (docs/data-model.md, "Writes"): the transport hands the same
 * records again whole, bisected, as a suffix, duplicated by the producer, or in another order, and the
 * trail must answer every question exactly as after one clean delivery.
 */
let h: StoreHarness;
/** Counters never reset, on every client of the file, so the last test can prove no Scan was sent. */
const watched: CommandCounter[] = [];

beforeAll(async () => {
  h = await startStoreHarness();
  watched.push(countCommands(h.client));
});
afterAll(async () => h.engine.stop());

const fresh = async (): Promise<StoreHarness> => {
  const local = await startStoreHarness(h.engine);
  watched.push(countCommands(local.client));
  return local;
};

const PROD: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const STAGING: ClusterRef = { accountId: ACCOUNT_A, cluster: 'staging' };
const DAY = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' };
const CELL_A = '2024-08-24T14:25';
const role = (i: number) => `arn:aws:iam::111122223333:role/team-${i}`;
const NODE_ROLE = 'arn:aws:iam::111122223333:role/eks-node-group-NodeInstanceRole';

interface Row {
  ref: ClusterRef;
  id: string;
  at: string;
  stage?: string;
  username: string;
  groups?: string[];
  canonicalArn: string;
  accessKeyId?: string;
  resource: string;
  namespace?: string;
  name?: string;
  code?: number;
  human?: string;
}

const rowOf = (r: Row): { chain: DecisionChain; facts: StoredAuditFacts } => {
  const base = kiempossibleEvent();
  const extra: Record<string, string[]> = { canonicalArn: [r.canonicalArn] };
  if (r.accessKeyId) extra['accessKeyId'] = [r.accessKeyId];
  const event: AuditEvent = {
    ...base,
    auditID: r.id,
    stage: r.stage ?? 'ResponseComplete',
    requestReceivedTimestamp: r.at,
    stageTimestamp: r.at,
    user: { username: r.username, groups: r.groups ?? ['system:authenticated'], extra },
    objectRef: {
      resource: r.resource,
      ...(r.namespace ? { namespace: r.namespace } : {}),
      ...(r.name ? { name: r.name } : {}),
    },
    responseStatus: { code: r.code ?? 200 },
    annotations: r.code === 403 ? { 'authorization.k8s.io/decision': 'forbid' } : base.annotations,
  };
  return chainFromEvent(event, {
    cluster: r.ref.cluster,
    accountId: r.ref.accountId,
    ...(r.human ? { human: r.human } : {}),
    ...(r.accessKeyId && !r.human ? { pendingEnrichment: true } : { pendingEnrichment: false }),
  });
};

/** A record of the stream: a unit id and the rows it carries. */
interface Unit {
  id: string;
  rows: Row[];
}

/** `HH:MM:SS` on the day, with µs so that rows of one cell interleave by time across units. */
const t = (hms: string, micros = 0) => `2024-08-24T${hms}.${String(micros).padStart(6, '0')}Z`;

/**
 * Six records over two clusters and two cells (14:25 and 14:30). Later units carry EARLIER times, so
 * the row order inside a segment differs from the unit order; unit 1 starts a watch that unit 4 ends.
 */
const stream = (): Unit[] =>
  Array.from({ length: 6 }, (_, i) => {
    const rows: Row[] = [
      {
        ref: PROD,
        id: `n-${i}`,
        at: t(`14:29:${50 - 8 * i}`, i),
        username: `team-${i}`,
        canonicalArn: role(i),
        accessKeyId: i === 1 ? 'ASIAPENDING1' : `ASIAKEY${i}`,
        resource: i % 2 === 0 ? 'pods' : 'secrets',
        namespace: i < 3 ? 'default' : 'apps',
        name: `obj-${i % 2}`,
        ...(i === 2 ? { human: 'carol@example.com' } : {}),
      },
      {
        ref: PROD,
        id: `b-${i}`,
        at: t(`14:28:${50 - 8 * i}`, i),
        username: `system:node:ip-${i % 3}`,
        groups: ['system:nodes'],
        canonicalArn: NODE_ROLE,
        resource: 'pods',
        namespace: 'default',
        name: 'web-1',
      },
    ];
    if (i % 2 === 1) {
      rows.push({
        ref: PROD,
        id: `x-${i}`,
        at: t(`14:34:${50 - 8 * i}`),
        username: `team-${i}`,
        canonicalArn: role(i),
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'aws-auth',
        ...(i === 3 ? { code: 403 } : {}),
      });
    }
    if (i % 2 === 0) {
      rows.push({
        ref: STAGING,
        id: `s-${i}`,
        at: t(`14:27:${50 - 8 * i}`),
        username: 'system:node:ip-9',
        groups: ['system:nodes'],
        canonicalArn: NODE_ROLE,
        resource: 'nodes',
        name: 'ip-9',
      });
    }
    if (i === 1 || i === 4) {
      rows.push({
        ref: PROD,
        id: 'watch-1',
        at: t('14:26:10', 42),
        stage: i === 1 ? 'ResponseStarted' : 'ResponseComplete',
        username: 'team-1',
        canonicalArn: role(1),
        accessKeyId: 'ASIAPENDING1',
        resource: 'pods',
        namespace: 'default',
      });
    }
    return { id: `shardId-000000000000:4960000000000000000000000000000000000000000000000${i}`, rows };
  });

/** A delivery as the log pipeline hands it over: unit indexes are positions in this delivery. */
const delivery = (units: readonly Unit[]): LogBatchWrite => ({
  audit: units.flatMap((u, index) => u.rows.map((r) => ({ unit: { id: u.id, index }, ...rowOf(r) }))),
  authenticator: [],
});

const readAll = async (fetch: (p: PageRequest) => Promise<StorePage<StoredRequest>>): Promise<StoredRequest[]> => {
  const out: StoredRequest[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await fetch({ limit: 2, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(2);
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor && ++pages < 200);
  return out;
};

/** A request as a question sees it; `handle` names where it is stored, which is free to differ. */
const seen = (r: StoredRequest | undefined) => {
  if (!r) return undefined;
  const { handle: _h, ...rest } = r;
  return rest;
};

/** Every question the store answers from requests, over the stream's data. */
const answers = async (store: DynamoDbTrailStore) => {
  const all = (fetch: (p: PageRequest) => Promise<StorePage<StoredRequest>>) =>
    readAll(fetch).then((rs) => rs.map(seen));
  const ids = [...new Map(stream().flatMap((u) => u.rows.map((r) => [r.id, r] as const))).values()];
  return {
    prod: await all((p) => store.requestsByCluster(PROD, DAY, p)),
    prodOldestFirst: await all((p) => store.requestsByCluster(PROD, DAY, { ...p, order: 'oldest-first' })),
    staging: await all((p) => store.requestsByCluster(STAGING, DAY, p)),
    principals: await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => all((p) => store.requestsByPrincipal(role(i), DAY, p))),
    ),
    nodeRole: await all((p) => store.requestsByPrincipal(NODE_ROLE, DAY, p, PROD)),
    users: await Promise.all(
      ['team-0', 'team-3', 'system:node:ip-0', 'system:node:ip-2'].map((u) =>
        all((p) => store.requestsByK8sUser(PROD, u, DAY, p)),
      ),
    ),
    kinds: await Promise.all(
      [{ resource: 'pods' }, { resource: 'secrets', namespace: 'apps' }, { namespace: 'default' }].map((sel) =>
        all((p) => store.requestsByResource(PROD, sel, DAY, p)),
      ),
    ),
    object: await all((p) =>
      store.requestsByResource(PROD, { resource: 'pods', namespace: 'default', name: 'web-1' }, DAY, p),
    ),
    denials: await all((p) => store.denials(PROD, DAY, p)),
    human: await all((p) => store.requestsByHuman('carol@example.com', DAY, p)),
    pendingKey: await all((p) => store.requestsByAccessKey('ASIAPENDING1', DAY, p)),
    byId: await Promise.all(ids.map(async (r) => seen(await store.requestByAuditId(r.ref, r.id)))),
    byIdAt: await Promise.all(ids.map(async (r) => seen(await store.requestByAuditId(r.ref, r.id, r.at)))),
  };
};

/** The answers of one clean delivery of the whole stream, on a table of its own. */
let clean: Awaited<ReturnType<typeof answers>>;
let cleanDump: string[];

beforeAll(async () => {
  const local = await fresh();
  await local.store.putLogBatch(delivery(stream()));
  clean = await answers(local.store);
  cleanDump = await local.dump();
});

const auditIds = (rs: readonly (object | undefined)[]) =>
  rs.map((r) => (r && 'auditID' in r ? String(r.auditID) : undefined));

describe('the clean delivery (reference answers)', () => {
  it('lists every request of each cluster exactly once, the split watch as one request of two stages', () => {
    const expected = stream()
      .flatMap((u) => u.rows)
      .filter((r) => r.ref === PROD);
    expect(new Set(auditIds(clean.prod)).size).toBe(clean.prod.length);
    expect(auditIds(clean.prod).sort()).toEqual([...new Set(expected.map((r) => r.id))].sort());
    const watch = clean.prod.find((r) => r?.kind === 'request' && r.auditID === 'watch-1');
    expect(watch?.kind === 'request' && watch.stages.map((s) => s.event.stage)).toEqual([
      'ResponseStarted',
      'ResponseComplete',
    ]);
    expect(auditIds(clean.staging)).toEqual(['s-0', 's-2', 's-4']);
    expect(auditIds(clean.principals[3]!).sort()).toEqual(['n-3', 'x-3']);
    expect(auditIds(clean.human)).toEqual(['n-2']);
    expect(auditIds(clean.pendingKey).sort()).toEqual(['n-1', 'watch-1']);
    expect(auditIds(clean.denials)).toEqual(['x-3']);
    expect(auditIds(clean.kinds[1]!)).toEqual(['n-3', 'n-5']);
    // Notable requests by id alone; bulk ones only with their time.
    expect(clean.byId.filter((r) => r !== undefined).length).toBe(10);
    expect(clean.byIdAt.map((r) => r?.kind)).toEqual(clean.byIdAt.map(() => 'request'));
  });
});

describe('redelivery', () => {
  it('of the same delivery, twice, leaves the table byte-for-byte the same', async () => {
    const local = await fresh();
    const first = await local.store.putLogBatch(delivery(stream()));
    expect(first.segments).toBe(3);
    const once = await local.dump();
    expect(once).toEqual(cleanDump);
    expect(await local.store.putLogBatch(delivery(stream()))).toEqual(first);
    expect(await local.dump()).toEqual(once);
    // Another container (a fresh store on the same table) writes the same bytes too.
    await local.storeWith(local.engine.newClient()).putLogBatch(delivery(stream()));
    expect(await local.dump()).toEqual(once);
  });

  it('bisected by Lambda (whole, then each half with unit indexes restarting) answers as one clean delivery', async () => {
    const local = await fresh();
    const units = stream();
    await local.store.putLogBatch(delivery(units));
    await local.store.putLogBatch(delivery(units.slice(0, 3)));
    await local.store.putLogBatch(delivery(units.slice(3)));
    const got = await answers(local.store);
    expect(new Set(auditIds(got.prod)).size).toBe(got.prod.length);
    expect(got).toEqual(clean);
  });

  it.each([
    ['as Lambda sends them (each half after its parent)', [0, 1, 3, 4, 2, 5, 6]],
    ['leaves first, the whole delivery last', [3, 4, 5, 6, 1, 2, 0]],
    ['second halves first', [0, 2, 6, 5, 1, 4, 3]],
  ])('bisected down to single records, %s, answers as one clean delivery', async (_label, order) => {
    const units = stream();
    // The bisection tree of six records: the whole, its halves, and theirs.
    const tree = [
      units,
      units.slice(0, 3),
      units.slice(3),
      units.slice(0, 1),
      units.slice(1, 3),
      units.slice(3, 4),
      units.slice(4),
    ];
    const local = await fresh();
    for (const i of order) await local.store.putLogBatch(delivery(tree[i]!));
    expect(await answers(local.store)).toEqual(clean);
  });

  it('bisected so that every row of a part moves to the other half: no row is stored twice', async () => {
    // The whole delivery puts both rows in one segment (anchored at its first record): the bulk row of
    // record 0 and the notable row of record 1. Its first half has no notable row there; unless that
    // half rewrites the notable part (empty), the whole delivery's copy stays beside the second half's.
    const [first, second] = stream();
    const units: Unit[] = [
      { id: 'moved-0', rows: [first!.rows[1]!] },
      { id: 'moved-1', rows: [second!.rows[0]!] },
    ];
    const local = await fresh();
    await local.store.putLogBatch(delivery(units));
    await local.store.putLogBatch(delivery(units.slice(0, 1)));
    await local.store.putLogBatch(delivery(units.slice(1)));
    const parts = (await dumpTableText(local.engine.client, local.tableName)).filter((text) =>
      text.startsWith('{"v":1,'),
    );
    for (const id of [first!.rows[1]!.id, second!.rows[0]!.id])
      expect(parts.filter((text) => text.includes(`"${id}"`)).length, id).toBe(1);
  });

  it('bisected so that a part shrinks to fewer chunks: the old chunks left behind are not read as part of it', async () => {
    const big = { blob: randomBytes(600 * 1024).toString('base64') };
    const units: Unit[] = [
      { id: 'chunky-0', rows: [{ ...stream()[0]!.rows[0]!, id: 'small', at: t('14:26:00') }] },
      { id: 'chunky-1', rows: [{ ...stream()[0]!.rows[0]!, id: 'huge', at: t('14:27:00') }] },
    ];
    const write = (store: DynamoDbTrailStore, part: Unit[]) => {
      const batch = delivery(part);
      for (const r of batch.audit) if (r.facts.event.auditID === 'huge') r.facts.event.annotations['blob'] = big.blob;
      return store.putLogBatch(batch);
    };
    const local = await fresh();
    await write(local.store, units);
    const chunked = (await local.dump()).filter((s) => s.includes(`"S":"${CELL_A}#`) && /#n\.\d/.test(s));
    expect(chunked.length).toBeGreaterThan(0);
    await write(local.store, units.slice(0, 1));
    await write(local.store, units.slice(1));
    // The whole delivery's later chunks are still in the table under the first half's part.
    expect(
      (await local.dump()).filter((s) => s.includes(`"S":"${CELL_A}#`) && /#n\.\d/.test(s)).length,
    ).toBeGreaterThan(chunked.length);
    const listed = await readAll((p) => local.store.requestsByCluster(PROD, DAY, p));
    expect(auditIds(listed)).toEqual(['huge', 'small']);
    const oldestFirst = await readAll((p) => local.store.requestsByCluster(PROD, DAY, { ...p, order: 'oldest-first' }));
    expect(auditIds(oldestFirst)).toEqual(['small', 'huge']);
    const huge = listed[0];
    expect(huge?.kind === 'request' && huge.stages[0]?.event.annotations['blob']).toBe(big.blob);
    expect(auditIds(await readAll((p) => local.store.requestsByPrincipal(role(0), DAY, p)))).toEqual(['huge', 'small']);
    expect((await local.store.requestByAuditId(PROD, 'small'))?.at).toBe(t('14:26:00'));
  });

  it('retried whole after the store failed midway ends byte-for-byte as a clean delivery', async () => {
    const local = await fresh();
    const client = local.engine.newClient();
    watched.push(countCommands(client));
    const failing = local.storeWith(client, { retry: { maxAttempts: 1, sleep: async () => {} } });
    // The parts go through, then the second batch of postings is throttled: a partial write.
    const faults = injectFaults(client, {
      BatchWriteItemCommand: [
        { kind: 'unprocessed', keep: 25 },
        { kind: 'unprocessed', keep: 25 },
        { kind: 'throw', error: throttle },
      ],
    });
    const err = await failing.putLogBatch(delivery(stream())).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'THROTTLED', retryable: true });
    expect(faults.fired).toHaveLength(3);
    const partial = await local.dump();
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(cleanDump.length);
    await local.store.putLogBatch(delivery(stream()));
    expect(await local.dump()).toEqual(cleanDump);
  });

  it('retried as a suffix (the records after one stored earlier) after a failure answers as one clean delivery', async () => {
    const local = await fresh();
    const units = stream();
    // Record 0 was stored by an earlier invocation; records 1.. failed midway and come again alone.
    await local.store.putLogBatch(delivery(units.slice(0, 1)));
    const client = local.engine.newClient();
    watched.push(countCommands(client));
    const failing = local.storeWith(client, { retry: { maxAttempts: 1, sleep: async () => {} } });
    // The pending marks go ahead of the parts (docs/tamper-evidence.md) and are stored; the parts fail midway.
    injectFaults(client, {
      BatchWriteItemCommand: [
        { kind: 'unprocessed', keep: 25 },
        { kind: 'unprocessed', keep: 3 },
      ],
    });
    await expect(failing.putLogBatch(delivery(units.slice(1)))).rejects.toMatchObject({ retryable: true });
    await local.store.putLogBatch(delivery(units.slice(1)));
    expect(await answers(local.store)).toEqual(clean);
  });

  it('of a payload the producer sent twice in another record stores it twice and lists it once', async () => {
    const units = stream();
    const copy: Unit = {
      id: 'shardId-000000000000:49600000000000000000000000000000000000000000000000099',
      rows: units[1]!.rows,
    };
    // In the same delivery the copy lands in the same segments: kept once when written.
    const same = await fresh();
    await same.store.putLogBatch(delivery([...units, copy]));
    expect(await same.dump()).toEqual(cleanDump);
    // In another delivery it lands in segments of its own: stored twice, answered once.
    const other = await fresh();
    await other.store.putLogBatch(delivery(units));
    await other.store.putLogBatch(delivery([copy]));
    const rows = (await other.dump())
      .map((s) => JSON.parse(s) as Record<string, { S?: string; N?: string }>)
      .filter((i) => i['pk']?.S === `S#${ACCOUNT_A}#prod` && !i['sk']?.S?.includes('.'))
      .reduce((n, i) => n + Number(i['nr']?.N ?? 0), 0);
    const distinctProdRows = new Set(
      units.flatMap((u) => u.rows.filter((r) => r.ref === PROD).map((r) => `${r.id}/${r.stage}`)),
    );
    expect(rows).toBe(distinctProdRows.size + units[1]!.rows.filter((r) => r.ref === PROD).length);
    expect(await answers(other.store)).toEqual(clean);
  });

  it('answers the same whatever order the deliveries arrive in, down to the bytes', async () => {
    const units = stream();
    const deliveries = [units.slice(0, 2), units.slice(2, 4), units.slice(4)];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const dumps: string[][] = [];
    for (const order of orders) {
      const local = await fresh();
      for (const i of order) await local.store.putLogBatch(delivery(deliveries[i]!));
      dumps.push(await local.dump());
      const got = await answers(local.store);
      // Three deliveries are three sets of segments, but the same requests: the watch's stages were
      // split across deliveries 0 and 2, and still come out as one request.
      expect(got).toEqual(clean);
    }
    for (const d of dumps) expect(d).toEqual(dumps[0]);
  });
});

describe('late humans', () => {
  it('putLateLinks writes the same human posting as an ingest that already knew the human', async () => {
    const human = 'dave@example.com';
    const key = 'ASIALATE0000000001';
    const units: Unit[] = [0, 1, 2].map((i) => ({
      id: `late-unit-${i}`,
      rows: [
        {
          ref: PROD,
          id: `late-${i}`,
          at: t(`14:2${6 + i}:00`),
          username: 'dave',
          canonicalArn: role(7),
          accessKeyId: key,
          resource: 'pods',
          namespace: 'default',
        },
        {
          ref: PROD,
          id: `late-node-${i}`,
          at: t(`14:2${6 + i}:30`),
          username: 'system:node:ip-0',
          groups: ['system:nodes'],
          canonicalArn: NODE_ROLE,
          resource: 'pods',
        },
      ],
    }));
    const humanPostings = async (local: StoreHarness) =>
      (await local.dump()).filter((s) => (JSON.parse(s) as { pk: { S: string } }).pk.S.startsWith('IH#'));

    // Known at ingest.
    const known = await fresh();
    const withHuman = (u: Unit): Unit => ({
      ...u,
      rows: u.rows.map((r) => (r.accessKeyId === key ? { ...r, human } : r)),
    });
    await known.store.putLogBatch(delivery(units.map(withHuman)));

    // Learnt later: the pending requests are found by key, derived again, and linked.
    const late = await fresh();
    await late.store.putLogBatch(delivery(units));
    expect(await humanPostings(late)).toEqual([]);
    const pending = await readAll((p) => late.store.requestsByAccessKey(key, DAY, p));
    expect(auditIds(pending).sort()).toEqual(['late-0', 'late-1', 'late-2']);
    await late.store.putLateLinks(
      pending.map((r) => {
        if (r.kind !== 'request' || !r.handle) throw new Error('a stored request has a handle');
        const { chain } = chainFromEvent(r.stages[0]!.event, { cluster: 'prod', accountId: ACCOUNT_A, human });
        return { handle: r.handle, chain };
      }),
    );

    expect(await humanPostings(late)).toHaveLength(1);
    expect(await humanPostings(late)).toEqual(await humanPostings(known));
    const byHuman = async (local: StoreHarness) =>
      (await readAll((p) => local.store.requestsByHuman(human, DAY, p))).map(seen);
    expect(auditIds(await byHuman(late))).toEqual(['late-2', 'late-1', 'late-0']);
    expect(await byHuman(late)).toEqual(await byHuman(known));
    // Idempotent: linking again rewrites the same item.
    const before = await late.dump();
    await late.store.putLateLinks(
      pending.map((r) => ({
        handle: r.handle!,
        chain: chainFromEvent((r as Extract<StoredRequest, { kind: 'request' }>).stages[0]!.event, {
          cluster: 'prod',
          accountId: ACCOUNT_A,
          human,
        }).chain,
      })),
    );
    expect(await late.dump()).toEqual(before);
  });
});

describe('reads', () => {
  it('never sent a Scan or PartiQL statement', () => {
    for (const counter of watched) {
      for (const name of FULL_TABLE_READS) expect(counter.count(name)).toBe(0);
    }
    const total = (name: string) => watched.reduce((n, c) => n + c.count(name), 0);
    expect(total('QueryCommand')).toBeGreaterThan(0);
    expect(total('BatchGetItemCommand')).toBeGreaterThan(0);
  });
});
