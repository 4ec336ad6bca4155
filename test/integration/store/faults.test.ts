import {
  InternalServerError,
  PutItemCommand,
  RequestLimitExceeded,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countCommands } from '../../../lib/store/command-counter.js';
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
  quarantineRecord,
  variant,
} from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

let h: StoreHarness;
const prodA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const base = kiempossibleEvent();
const chains = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) =>
    chainFromEvent(variant(base, { auditID: `${prefix}-${i}` }), { cluster: 'prod', accountId: ACCOUNT_A }),
  );

beforeAll(async () => {
  h = await startStoreHarness();
});
afterAll(async () => h.engine.stop());

describe('throttling on a real client', () => {
  it('retries UnprocessedItems until every item is written', async () => {
    const client = h.engine.newClient();
    const store = h.storeWith(client);
    const counter = countCommands(client);
    const faults = injectFaults(client, {
      BatchWriteItemCommand: [
        { kind: 'unprocessed', keep: 5 },
        { kind: 'unprocessed', keep: 0 },
      ],
    });
    await store.putChains(chains(20, 'unproc'));
    expect(faults.fired).toEqual(['BatchWriteItemCommand:unprocessed', 'BatchWriteItemCommand:unprocessed']);
    expect(counter.count('BatchWriteItemCommand')).toBe(3);
    for (let i = 0; i < 20; i++) expect(await h.store.chainByAuditId(prodA, `unproc-${i}`)).toBeDefined();
  });

  it('retries a BatchWriteItem that threw ProvisionedThroughputExceededException', async () => {
    const client = h.engine.newClient();
    const store = h.storeWith(client);
    const faults = injectFaults(client, { BatchWriteItemCommand: [{ kind: 'throw', error: throttle }] });
    await store.putChains(chains(3, 'thrown'));
    expect(faults.fired).toEqual(['BatchWriteItemCommand:throw']);
    expect(await h.store.chainByAuditId(prodA, 'thrown-2')).toBeDefined();
  });

  it('retries a throttled conditional PutItem', async () => {
    const client = h.engine.newClient();
    const store = h.storeWith(client);
    injectFaults(client, { PutItemCommand: [{ kind: 'throw', error: throttle }] });
    expect(await store.putMappingChanges([awsAuthChange({ sourceEventId: 'throttled-put' })])).toHaveLength(1);
  });

  it('gives up after the bounded attempts with a retryable THROTTLED error', async () => {
    const client = h.engine.newClient();
    const store = h.storeWith(client, { retry: { maxAttempts: 3, sleep: async () => {} } });
    injectFaults(client, {
      BatchWriteItemCommand: Array.from({ length: 3 }, () => ({ kind: 'unprocessed' as const, keep: 0 })),
    });
    const err = await store.putChains(chains(2, 'giveup')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrailStoreError);
    expect(err).toMatchObject({ code: 'THROTTLED', retryable: true });
  });

  it('waits with growing, jittered, capped delays between attempts', async () => {
    const client = h.engine.newClient();
    const delays: number[] = [];
    const store = h.storeWith(client, {
      retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 400, sleep: async (ms) => void delays.push(ms) },
    });
    injectFaults(client, {
      BatchWriteItemCommand: Array.from({ length: 5 }, () => ({ kind: 'unprocessed' as const, keep: 0 })),
    });
    await store.putChains(chains(1, 'delays'));
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
    const client = h.engine.newClient({ maxAttempts: 1 });
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

describe('oversized items', () => {
  it('drops request/response bodies from a chain over 400 KB, flags it, and still writes it', async () => {
    const huge = { kind: 'ConfigMap', data: { blob: 'y'.repeat(500 * 1024) } };
    const event = { ...variant(base, { auditID: 'oversize-1', requestObject: huge }), responseObject: huge };
    await h.store.putChains([chainFromEvent(event, { cluster: 'prod', accountId: ACCOUNT_A })]);
    const got = await h.store.chainByAuditId(prodA, 'oversize-1');
    expect(got?.trimmed).toEqual(['requestObject', 'responseObject']);
    expect(got?.facts?.event.requestObject).toBeUndefined();
    expect(got?.facts?.event.annotations).toEqual(base.annotations);
  });

  it('then drops annotations, then facts, never failing the record', async () => {
    const event = {
      ...variant(base, { auditID: 'oversize-2' }),
      annotations: { big: 'z'.repeat(450 * 1024) },
    };
    await h.store.putChains([chainFromEvent(event, { cluster: 'prod', accountId: ACCOUNT_A })]);
    const got = await h.store.chainByAuditId(prodA, 'oversize-2');
    expect(got?.trimmed).toEqual(['annotations']);
    expect(got?.facts?.event.auditID).toBe('oversize-2');
  });

  it('truncates a quarantined raw text over 350 KB and records its size', async () => {
    const raw = `{"broken": "${'q'.repeat(600 * 1024)}`;
    await h.store.quarantine([quarantineRecord({ sourceId: 'huge-raw', raw })]);
    const page = await h.store.quarantined('AUDIT_NOT_JSON', {
      from: '2024-08-24T00:00:00Z',
      to: '2024-08-24T23:59:59Z',
    });
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
    const stored = (await h.store.mappingChanges('prod', ACCOUNT_A)).find((c) => c.sourceEventId === 'huge-aws-auth');
    expect(stored?.op.kind === 'aws-auth-put' && stored.op.config.roles.length).toBe(2500);
    expect(stored?.op.kind === 'aws-auth-put' && stored.op.rawData).toBeUndefined();
  });
});
