import { randomBytes } from 'node:crypto';
import {
  InternalServerError,
  PutItemCommand,
  RequestLimitExceeded,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandCounter, countCommands, FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import { toTrailStoreError } from '../../../lib/store/errors.js';
import type { ClusterRef } from '../../../lib/store/keys.js';
import { TrailStoreError } from '../../../lib/store/trail-store.js';
import { injectFaults, throttle } from '../../support/ddb-faults.js';
import { clientFor } from '../../support/engine.js';
import {
  ACCOUNT_A,
  awsAuthChange,
  chainFromEvent,
  kiempossibleEvent,
  logBatchOf,
  quarantineRecord,
  variant,
} from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

/**
 * Storage faults on a real engine: throttling and UnprocessedItems retried within bounds, SDK errors
 * mapped to TrailStoreError, and rows of any size stored whole.
 */
let h: StoreHarness;
/** Counters never reset, on every client of the file, so the last test can prove no Scan was sent. */
const watched: CommandCounter[] = [];
const prodA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const DAY = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' };
const base = kiempossibleEvent();
/** A delivery of `n` requests of the SSO human, one record each (all notable: found by auditID alone). */
const delivery = (n: number, prefix: string) =>
  logBatchOf(
    Array.from({ length: n }, (_, i) =>
      chainFromEvent(variant(base, { auditID: `${prefix}-${i}` }), { cluster: 'prod', accountId: ACCOUNT_A }),
    ),
    Array.from({ length: n }, (_, i) => `${prefix}-unit-${i}`),
  );

beforeAll(async () => {
  h = await startStoreHarness();
  watched.push(countCommands(h.client));
});
afterAll(async () => h.engine.stop());

/** A client of its own on the engine, watched for Scans. */
const newClient = (config?: { maxAttempts?: number }) => {
  const client = h.engine.newClient(config);
  watched.push(countCommands(client));
  return client;
};

describe('throttling on a real client', () => {
  it('retries UnprocessedItems until every item is written', async () => {
    // The same delivery without faults, on a table of its own: how many BatchWriteItems it takes.
    const clean = await startStoreHarness(h.engine);
    watched.push(countCommands(clean.client));
    await clean.store.putLogBatch(delivery(20, 'unproc'));
    const calls = clean.counter.count('BatchWriteItemCommand');

    const client = newClient();
    const store = h.storeWith(client);
    const counter = countCommands(client);
    // The first BatchWriteItem of a delivery is its pending marks (one item here, docs/tamper-evidence.md),
    // written ahead of the parts: the marks come back whole, their retry stores the one mark, then the
    // parts come back in part.
    const faults = injectFaults(client, {
      BatchWriteItemCommand: [
        { kind: 'unprocessed', keep: 0 },
        { kind: 'unprocessed', keep: 1 },
        { kind: 'unprocessed', keep: 1 },
      ],
    });
    await store.putLogBatch(delivery(20, 'unproc'));
    expect(faults.fired).toEqual([
      'BatchWriteItemCommand:unprocessed',
      'BatchWriteItemCommand:unprocessed',
      'BatchWriteItemCommand:unprocessed',
    ]);
    expect(counter.count('BatchWriteItemCommand')).toBe(calls + 2);
    for (let i = 0; i < 20; i++) expect(await h.store.requestByAuditId(prodA, `unproc-${i}`)).toBeDefined();
    // Every item the clean write made is there, byte for byte.
    const all = await h.dump();
    for (const item of await clean.dump()) expect(all).toContain(item);
  });

  it('retries a BatchWriteItem that threw ProvisionedThroughputExceededException', async () => {
    const client = newClient();
    const store = h.storeWith(client);
    const faults = injectFaults(client, { BatchWriteItemCommand: [{ kind: 'throw', error: throttle }] });
    await store.putLogBatch(delivery(3, 'thrown'));
    expect(faults.fired).toEqual(['BatchWriteItemCommand:throw']);
    expect(await h.store.requestByAuditId(prodA, 'thrown-2')).toBeDefined();
  });

  it('retries a throttled conditional PutItem', async () => {
    const client = newClient();
    const store = h.storeWith(client);
    injectFaults(client, { PutItemCommand: [{ kind: 'throw', error: throttle }] });
    expect(await store.putMappingChanges([awsAuthChange({ sourceEventId: 'throttled-put' })])).toHaveLength(1);
  });

  it('gives up after the bounded attempts with a retryable THROTTLED error', async () => {
    const client = newClient();
    const store = h.storeWith(client, { retry: { maxAttempts: 3, sleep: async () => {} } });
    injectFaults(client, {
      BatchWriteItemCommand: Array.from({ length: 3 }, () => ({ kind: 'unprocessed' as const, keep: 0 })),
    });
    const err = await store.putLogBatch(delivery(2, 'giveup')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrailStoreError);
    expect(err).toMatchObject({ code: 'THROTTLED', retryable: true });
  });

  it('writes no posting when the parts could not be written (parts first, then the index)', async () => {
    const client = newClient({ maxAttempts: 1 });
    const store = h.storeWith(client, { retry: { maxAttempts: 1, sleep: async () => {} } });
    const invalid = () =>
      Object.assign(new Error('One or more parameter values were invalid'), { name: 'ValidationException' });
    injectFaults(client, { BatchWriteItemCommand: [{ kind: 'throw', error: invalid }] });
    await expect(store.putLogBatch(delivery(2, 'refused'))).rejects.toMatchObject({
      code: 'VALIDATION',
      retryable: false,
    });
    expect((await h.dump()).filter((r) => r.includes('refused'))).toEqual([]);
    expect(await h.store.requestByAuditId(prodA, 'refused-0')).toBeUndefined();
  });

  it('waits with growing, jittered, capped delays between attempts', async () => {
    const client = newClient();
    const delays: number[] = [];
    const store = h.storeWith(client, {
      retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 400, sleep: async (ms) => void delays.push(ms) },
    });
    injectFaults(client, {
      BatchWriteItemCommand: Array.from({ length: 5 }, () => ({ kind: 'unprocessed' as const, keep: 0 })),
    });
    await store.putLogBatch(delivery(1, 'delays'));
    expect(delays).toHaveLength(5);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(400, 100 * 2 ** i));
    });
  });
});

describe('SDK errors map to TrailStoreError', () => {
  const meta = { $metadata: {} };
  it.each([
    ['provisioned throughput', 'THROTTLED', true, () => throttle()],
    ['request limit', 'THROTTLED', true, () => new RequestLimitExceeded({ message: 'limit', ...meta })],
    [
      'throttling (control plane)',
      'THROTTLED',
      true,
      () => Object.assign(new Error('rate'), { name: 'ThrottlingException' }),
    ],
    ['internal server error', 'UNAVAILABLE', true, () => new InternalServerError({ message: 'boom', ...meta })],
    [
      'bare 503',
      'UNAVAILABLE',
      true,
      () => Object.assign(new Error('unavailable'), { name: 'Unknown', $metadata: { httpStatusCode: 503 } }),
    ],
    ['connection reset', 'UNAVAILABLE', true, () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['missing table', 'NOT_FOUND', false, () => new ResourceNotFoundException({ message: 'no table', ...meta })],
    [
      'validation',
      'VALIDATION',
      false,
      () => Object.assign(new Error('One or more parameter values were invalid'), { name: 'ValidationException' }),
    ],
    [
      'item too large',
      'ITEM_TOO_LARGE',
      false,
      () =>
        Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' }),
    ],
    [
      'condition',
      'CONDITION',
      false,
      () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }),
    ],
    ['anything else', 'UNKNOWN', false, () => new Error('weird')],
  ] as const)('%s -> %s (injected through a real client)', async (_label, code, retryable, error) => {
    const client = newClient({ maxAttempts: 1 });
    const store = h.storeWith(client, { retry: { maxAttempts: 1, sleep: async () => {} } });
    injectFaults(client, { GetItemCommand: [{ kind: 'throw', error }] });
    const err = await store.credential('ASIAFAULT').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrailStoreError);
    expect(err).toMatchObject({ code, retryable });
    expect((err as TrailStoreError).cause).toBeDefined();
  });

  it.each([
    [
      'an item over 400 KB -> ITEM_TOO_LARGE',
      async () => {
        await h.client.send(
          new PutItemCommand({
            TableName: h.tableName,
            Item: { pk: { S: 'big' }, sk: { S: 'big' }, blob: { S: 'x'.repeat(401 * 1024) } },
          }),
        );
      },
      'ITEM_TOO_LARGE',
    ],
    [
      'a missing table -> NOT_FOUND',
      async () => {
        await h.client.send(
          new PutItemCommand({ TableName: 'no-such-table', Item: { pk: { S: 'a' }, sk: { S: 'b' } } }),
        );
      },
      'NOT_FOUND',
    ],
    [
      'an empty key -> VALIDATION',
      async () => {
        await h.client.send(new PutItemCommand({ TableName: h.tableName, Item: { pk: { S: '' }, sk: { S: 'b' } } }));
      },
      'VALIDATION',
    ],
    [
      'a refused connection -> UNAVAILABLE',
      async () => {
        const dead = clientFor('http://127.0.0.1:9', { maxAttempts: 1 });
        await dead.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' }, sk: { S: 'b' } } }));
      },
      'UNAVAILABLE',
    ],
  ] as const)('the engine itself: %s', async (_label, run, code) => {
    const err = await run().then(
      () => undefined,
      (e: unknown) => toTrailStoreError(e, 'PutItem'),
    );
    expect(err?.code).toBe(code);
  });
});

describe('large rows', () => {
  const chunkItems = async (auditID: string) => {
    const rows = (await h.dump()).map((r) => JSON.parse(r) as Record<string, { S?: string; N?: string }>);
    const pointer = rows.find((r) => r['pk']?.S === `R#C#${ACCOUNT_A}#prod#${auditID}`);
    const [cell, anchor] = (pointer?.['sk']?.S ?? '').split('#');
    return rows.filter((r) => r['pk']?.S === `S#${ACCOUNT_A}#prod` && r['sk']?.S?.startsWith(`${cell}#${anchor}#n`));
  };

  it.each([
    [
      'request and response bodies of 600 KB',
      'large-bodies',
      (id: string) => {
        const huge = { kind: 'ConfigMap', data: { blob: randomBytes(450 * 1024).toString('base64') } };
        return { ...variant(base, { auditID: id, requestObject: huge }), responseObject: huge };
      },
    ],
    [
      'annotations of 560 KB',
      'large-annotations',
      (id: string) => ({
        ...variant(base, { auditID: id }),
        annotations: { big: randomBytes(420 * 1024).toString('base64') },
      }),
    ],
  ])('a row with %s is split into chunk items and reads back whole', async (_label, id, make) => {
    const event = make(id);
    await h.store.putLogBatch(
      logBatchOf([chainFromEvent(event, { cluster: 'prod', accountId: ACCOUNT_A })], `${id}-u`),
    );
    const chunks = await chunkItems(id);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(Number(c['nc']?.N)).toBe(chunks.length);
    const got = await h.store.requestByAuditId(prodA, id);
    expect(got?.kind === 'request' && got.stages[0]?.event).toEqual(event);
    // Through a listing of the cluster and through a posting too.
    const listed = (await h.store.requestsByCluster(prodA, DAY, { limit: 1000 })).items.find(
      (r) => r.kind === 'request' && r.auditID === id,
    );
    expect(listed?.kind === 'request' && listed.stages[0]?.event).toEqual(event);
    const byUser = (await h.store.requestsByK8sUser(prodA, String(event.user.username), DAY, { limit: 1000 })).items;
    expect(byUser.some((r) => r.kind === 'request' && r.auditID === id)).toBe(true);
  });

  it('a delivery of many rows that compress past one item is split too, and every row reads back', async () => {
    const n = 60;
    const batch = logBatchOf(
      Array.from({ length: n }, (_, i) =>
        chainFromEvent(
          {
            ...variant(base, { auditID: `many-${i}` }),
            annotations: { note: randomBytes(12 * 1024).toString('base64') },
          },
          { cluster: 'prod', accountId: ACCOUNT_A },
        ),
      ),
      'many-unit',
    );
    await h.store.putLogBatch(batch);
    expect((await chunkItems('many-0')).length).toBeGreaterThan(1);
    for (const i of [0, 29, 59]) {
      const got = await h.store.requestByAuditId(prodA, `many-${i}`);
      expect(got?.kind === 'request' && got.stages[0]?.event.annotations).toEqual(
        batch.audit[i]?.facts.event.annotations,
      );
    }
  });

  it('truncates a quarantined raw text over 350 KB and records its size', async () => {
    const raw = `{"broken": "${'q'.repeat(600 * 1024)}`;
    await h.store.quarantine([quarantineRecord({ sourceId: 'huge-raw', raw })]);
    const page = await h.store.quarantined('AUDIT_NOT_JSON', DAY);
    const rec = page.items.find((q) => q.sourceId === 'huge-raw');
    expect(rec?.rawTruncated).toBe(true);
    expect(rec?.rawBytes).toBe(Buffer.byteLength(raw));
    expect(raw.startsWith(rec?.raw ?? 'x')).toBe(true);
    expect(Buffer.byteLength(rec?.raw ?? '')).toBeLessThanOrEqual(350 * 1024);
  });

  it('keeps every row of a huge aws-auth version (compressed), dropping only the raw ConfigMap data', async () => {
    const roles = Array.from({ length: 2500 }, (_, i) => `arn:aws:iam::111122223333:role/team-${i}-${'r'.repeat(60)}`);
    const change = awsAuthChange({ sourceEventId: 'huge-aws-auth', roles });
    if (change.op.kind === 'aws-auth-put') change.op.rawData = { mapRoles: 'x'.repeat(300 * 1024) };
    expect(await h.store.putMappingChanges([change])).toHaveLength(1);
    const stored = (await h.store.mappingChanges(prodA)).find((c) => c.sourceEventId === 'huge-aws-auth');
    expect(stored?.op.kind === 'aws-auth-put' && stored.op.config.roles.length).toBe(2500);
    expect(stored?.op.kind === 'aws-auth-put' && stored.op.rawData).toBeUndefined();
  });
});

describe('damaged parts', () => {
  it('leave the rest of the answer standing: a part that does not decode is left out, not thrown', async () => {
    await h.store.putLogBatch(delivery(3, 'damaged'));
    const raw = h.engine.newClient();
    watched.push(countCommands(raw));
    const rows = (await h.dump()).map((r) => JSON.parse(r) as Record<string, { S?: string; N?: string; B?: string }>);
    const pointer = rows.find((r) => r['pk']?.S === `R#C#${ACCOUNT_A}#prod#damaged-0`);
    const [cell, anchor] = (pointer?.['sk']?.S ?? '').split('#');
    // A write that failed between chunks, or damaged bytes: the part's only chunk no longer decodes.
    await raw.send(
      new PutItemCommand({
        TableName: h.tableName,
        Item: {
          pk: { S: `S#${ACCOUNT_A}#prod` },
          sk: { S: `${cell}#${anchor}#n` },
          z: { B: randomBytes(64) },
          nc: { N: '1' },
          nr: { N: '3' },
        },
      }),
    );
    const before = (await h.store.requestsByCluster(prodA, DAY, { limit: 1000 })).items;
    expect(before.some((r) => r.kind === 'request' && r.auditID.startsWith('damaged-'))).toBe(false);
    expect(before.length).toBeGreaterThan(0);
    await expect(h.store.requestByAuditId(prodA, 'damaged-1')).resolves.toBeUndefined();
  });
});

describe('reads', () => {
  it('never sent a Scan or PartiQL statement', () => {
    for (const counter of watched) {
      for (const name of FULL_TABLE_READS) expect(counter.count(name)).toBe(0);
    }
    expect(watched.reduce((n, c) => n + c.count('QueryCommand'), 0)).toBeGreaterThan(0);
  });
});
