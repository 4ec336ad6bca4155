import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { toTrailStoreError } from '../errors.js';
import { TrailStoreError } from '../trail-store.js';

/**
 * The table operations every item class uses: batched writes and reads with bounded retries, a
 * conditional put, and paged Queries. Every read is a Query, GetItem or BatchGetItem (never a Scan).
 */

export type Item = Record<string, unknown>;

export interface RetryOptions {
  /** Attempts per batch (first try included) before TrailStoreError THROTTLED. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface TableClientOptions {
  tableName: string;
  retry?: RetryOptions;
  /** Parallel requests per call. */
  concurrency?: number;
  /**
   * Items that must be stored before the given ones are written: the pending marks of tamper
   * evidence (lib/store/dynamodb/digests.ts pendingMarksFor). Written first and separately, so a
   * covered item is never stored without its mark, even when the write fails half-way.
   */
  writeAhead?: (items: readonly Item[]) => Item[];
}

const isConditionFailure = (err: unknown) =>
  (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

/** Top-level undefined attributes (an absent TTL) are left out rather than relying on marshall options. */
const defined = (item: Item): Item => {
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) if (v !== undefined) out[k] = v;
  return out;
};

export const mapLimit = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
};

export const itemKey = (item: { pk?: unknown; sk?: unknown }): string => `${item.pk}\u0000${item.sk}`;

export class TableClient {
  readonly doc: DynamoDBDocumentClient;
  readonly table: string;
  readonly concurrency: number;
  private readonly retry: Required<RetryOptions>;
  private readonly writeAhead: ((items: readonly Item[]) => Item[]) | undefined;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: TableClientOptions) {
    this.doc =
      client instanceof DynamoDBDocumentClient
        ? client
        : DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
    this.concurrency = options.concurrency ?? 8;
    this.retry = {
      maxAttempts: options.retry?.maxAttempts ?? 8,
      baseDelayMs: options.retry?.baseDelayMs ?? 25,
      maxDelayMs: options.retry?.maxDelayMs ?? 2_000,
      sleep: options.retry?.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    };
    this.writeAhead = options.writeAhead;
  }

  /** Writes what must precede `items` (see TableClientOptions.writeAhead). */
  private async before(items: readonly Item[]): Promise<void> {
    const ahead = this.writeAhead?.(items) ?? [];
    if (ahead.length > 0) await this.putBatches(ahead);
  }

  async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTrailStoreError(err, operation);
    }
  }

  /** Full-jitter exponential backoff (AWS architecture blog "Exponential Backoff And Jitter"). */
  backoff(attempt: number): Promise<void> {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
    return this.retry.sleep(Math.floor(Math.random() * cap));
  }

  get maxAttempts(): number {
    return this.retry.maxAttempts;
  }

  /** BatchWriteItem in chunks of 25; UnprocessedItems and throttling retried with backoff, bounded. */
  async batchPut(items: readonly Item[]): Promise<void> {
    await this.before(items);
    await this.putBatches(items);
  }

  private async putBatches(items: readonly Item[]): Promise<void> {
    const unique = new Map<string, Item>();
    for (const item of items) unique.set(itemKey(item), defined(item));
    const all = [...unique.values()];
    const chunks: Item[][] = [];
    // BatchWriteItem takes 25 puts and 16 MB; chunk items are up to ~380 KB, so bound by bytes too.
    let current: Item[] = [];
    let bytes = 0;
    for (const item of all) {
      const size = approxBytes(item);
      if (current.length === 25 || (current.length > 0 && bytes + size > 12 * 1024 * 1024)) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      current.push(item);
      bytes += size;
    }
    if (current.length > 0) chunks.push(current);
    await mapLimit(chunks, Math.max(1, Math.ceil(this.concurrency / 2)), async (chunk) => {
      await this.retryUnprocessed(
        'BatchWriteItem',
        'items',
        chunk.map((Item) => ({ PutRequest: { Item } })),
        async (pending) => {
          const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
          return (res.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        },
      );
    });
  }

  /**
   * Sends a batch request and re-sends what DynamoDB hands back unprocessed, with backoff, until
   * nothing is left. Throttling and unavailability retry within the same bound; after it the fault
   * surfaces as retryable THROTTLED so the caller fails the batch and the transport redelivers it.
   */
  async retryUnprocessed<T>(
    operation: string,
    noun: string,
    initial: T[],
    send: (pending: T[]) => Promise<T[]>,
  ): Promise<void> {
    let pending = initial;
    for (let attempt = 0; ; attempt++) {
      let unprocessed: T[];
      try {
        unprocessed = await send(pending);
      } catch (err) {
        const mapped = toTrailStoreError(err, operation);
        if (mapped.code !== 'THROTTLED' && mapped.code !== 'UNAVAILABLE') throw mapped;
        if (attempt + 1 >= this.retry.maxAttempts) throw mapped;
        await this.backoff(attempt);
        continue;
      }
      if (unprocessed.length === 0) return;
      if (attempt + 1 >= this.retry.maxAttempts) {
        throw new TrailStoreError(
          `${operation}: ${unprocessed.length} ${noun} still unprocessed after ${attempt + 1} attempts`,
          'THROTTLED',
          true,
        );
      }
      pending = unprocessed;
      await this.backoff(attempt);
    }
  }

  /** BatchGetItem in chunks of 100, UnprocessedKeys retried; result keyed by `pk\0sk`. */
  async batchGet(keyList: readonly { pk: string; sk: string }[], consistent = false): Promise<Map<string, Item>> {
    const out = new Map<string, Item>();
    const unique = new Map<string, { pk: string; sk: string }>();
    for (const k of keyList) unique.set(itemKey(k), { pk: k.pk, sk: k.sk });
    const all = [...unique.values()];
    const chunks: { pk: string; sk: string }[][] = [];
    for (let i = 0; i < all.length; i += 100) chunks.push(all.slice(i, i + 100));
    await mapLimit(chunks, Math.max(1, Math.ceil(this.concurrency / 2)), async (chunk) => {
      await this.retryUnprocessed('BatchGetItem', 'keys', chunk as Record<string, unknown>[], async (pending) => {
        const res = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: consistent } } }),
        );
        for (const item of res.Responses?.[this.table] ?? []) out.set(itemKey(item), item);
        return res.UnprocessedKeys?.[this.table]?.Keys ?? [];
      });
    });
    return out;
  }

  async get(key: { pk: string; sk: string }, operation: string, consistent = false): Promise<Item | undefined> {
    const res = await this.call(operation, () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: consistent })),
    );
    return res.Item;
  }

  /** PutItem under a condition; false when the condition failed (the natural key was already there). */
  async conditionalPut(
    item: Item,
    condition: string,
    names?: Record<string, string>,
    values?: Record<string, unknown>,
  ): Promise<boolean> {
    await this.before([item]);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: defined(item),
            ConditionExpression: condition,
            ...(names ? { ExpressionAttributeNames: names } : {}),
            ...(values ? { ExpressionAttributeValues: values } : {}),
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        const mapped = toTrailStoreError(err, 'PutItem');
        if (!mapped.retryable || attempt + 1 >= this.retry.maxAttempts) throw mapped;
        await this.backoff(attempt);
      }
    }
  }

  /** One Query page. */
  async queryPage(
    input: Omit<QueryCommandInput, 'TableName'>,
    operation: string,
  ): Promise<{ items: Item[]; last?: Record<string, unknown> }> {
    const res = await this.call(operation, () => this.doc.send(new QueryCommand({ TableName: this.table, ...input })));
    return res.LastEvaluatedKey ? { items: res.Items ?? [], last: res.LastEvaluatedKey } : { items: res.Items ?? [] };
  }

  /** Every page of a Query. */
  async queryAll(input: Omit<QueryCommandInput, 'TableName'>, operation: string): Promise<Item[]> {
    const out: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.queryPage(start ? { ...input, ExclusiveStartKey: start } : input, operation);
      out.push(...page.items);
      start = page.last;
    } while (start);
    return out;
  }
}

/** A cheap upper bound of an item's wire size (for request batching only). */
const approxBytes = (item: Item): number => {
  let n = 0;
  for (const [k, v] of Object.entries(item)) {
    n += k.length;
    if (typeof v === 'string') n += v.length * 3;
    else if (v instanceof Uint8Array) n += v.length;
    else n += 64;
  }
  return n;
};
