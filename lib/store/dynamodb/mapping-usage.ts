import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { toTrailStoreError } from '../errors.js';
import { type ClusterRef, clusterRefKey, sortableTime, UNKNOWN_ACCOUNT } from '../keys.js';
import { INDEX } from '../table-schema.js';
import type { MappingUsage, MappingUsagePort, RecordUseResult } from '../trail-store.js';

/**
 * When each identity mapping was first and last used (docs/data-model.md, `USAGE#` items), for
 * first-use alerts and the unused-mapping posture finding.
 *
 *  - base:  pk `USAGE#C#<acct>#<cluster>#<mappingKey>`, sk `USAGE`
 *  - gsi1:  `USAGE#C#<acct>#<cluster>` / `<mappingKey>` (every mapping of a cluster)
 *
 * One item per mapping, not one partition per cluster: every request of a busy cluster touches its
 * mapping's item, and a single partition key value caps at 1,000 writes/s. The gsi1 keys never
 * change after the first write and the index is KEYS_ONLY, so the frequent lastUsedAt updates cost
 * no index write.
 *
 * Every write is conditional (first = min, last = max, ties broken on the chain id), so a
 * redelivered use changes nothing and the final item does not depend on arrival order.
 */

export const mappingUsageKey = (ref: ClusterRef, mappingKey: string) => ({
  pk: `USAGE#${clusterRefKey(ref)}#${mappingKey}`,
  sk: 'USAGE',
});
export const mappingUsageByClusterPk = (ref: ClusterRef) => `USAGE#${clusterRefKey(ref)}`;

export interface DynamoDbMappingUsageOptions {
  tableName: string;
}

type Item = Record<string, unknown>;

const isConditionFailure = (err: unknown) =>
  (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

export class DynamoDbMappingUsageStore implements MappingUsagePort {
  /**
   * Records one use. The writes are idempotent by design, so a redelivered use reads back as "not
   * first". If the delivery that recorded a first use then failed to publish its alert, the retry
   * would never raise it again: so when the writes say "not first", one consistent read tells whether
   * the stored first use IS this very use (same instant, same chain id); it is then reported as first
   * again, and the alert ledger drops the alert if it already went out.
   */
  async recordUse(
    cluster: string,
    mappingKey: string,
    at: string,
    opts: { accountId?: string; chainId?: string } = {},
  ): Promise<RecordUseResult> {
    const result = await this.recordUseOnce(cluster, mappingKey, at, opts);
    if (result.firstUse || opts.chainId === undefined) return result;
    const t = sortableTime(at);
    if (!t) return result;
    const key = mappingUsageKey({ accountId: opts.accountId ?? UNKNOWN_ACCOUNT, cluster }, mappingKey);
    const res = await this.doc
      .send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }))
      .catch((err: unknown) => {
        throw toTrailStoreError(err, 'GetItem(mapping usage)');
      });
    const item = res.Item;
    if (item?.['firstUsedAt'] === t && item['firstChainId'] === opts.chainId) return { ...result, firstUse: true };
    return result;
  }

  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: DynamoDbMappingUsageOptions) {
    this.doc =
      client instanceof DynamoDBDocumentClient
        ? client
        : DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
  }

  /** Conditional write; false when the condition did not hold (nothing written). */
  private async conditional(operation: string, send: () => Promise<unknown>): Promise<unknown | false> {
    try {
      return await send();
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw toTrailStoreError(err, operation);
    }
  }

  private async recordUseOnce(
    cluster: string,
    mappingKey: string,
    at: string,
    opts: { accountId?: string; chainId?: string } = {},
  ): Promise<RecordUseResult> {
    const t = sortableTime(at);
    // An instant that is not a timestamp cannot be ordered: record nothing rather than corrupt min/max.
    if (!t) return { firstUse: false };
    const ref: ClusterRef = { accountId: opts.accountId ?? UNKNOWN_ACCOUNT, cluster };
    const key = mappingUsageKey(ref, mappingKey);
    const chainId = opts.chainId ?? '';
    const created = await this.conditional('PutItem(mapping usage)', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...key,
            t: 'usage',
            cluster,
            accountId: ref.accountId,
            mappingKey,
            firstUsedAt: t,
            firstChainId: chainId,
            lastUsedAt: t,
            lastChainId: chainId,
            gsi1pk: mappingUsageByClusterPk(ref),
            gsi1sk: mappingKey,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (created !== false) return { firstUse: true };
    const earlier = await this.conditional('UpdateItem(mapping usage first)', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET firstUsedAt = :t, firstChainId = :c',
          ConditionExpression: 'firstUsedAt > :t OR (firstUsedAt = :t AND firstChainId > :c)',
          ExpressionAttributeValues: { ':t': t, ':c': chainId },
        }),
      ),
    );
    const later = await this.conditional('UpdateItem(mapping usage last)', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET lastUsedAt = :t, lastChainId = :c',
          ConditionExpression: 'lastUsedAt < :t OR (lastUsedAt = :t AND lastChainId < :c)',
          ExpressionAttributeValues: { ':t': t, ':c': chainId },
          ReturnValues: 'UPDATED_OLD',
        }),
      ),
    );
    const result: RecordUseResult = { firstUse: earlier !== false };
    const old = later === false ? undefined : (later as { Attributes?: Item }).Attributes?.['lastUsedAt'];
    if (typeof old === 'string' && old !== t) result.lastUsedBefore = old;
    return result;
  }

  /** Usage of every mapping of a cluster, by mapping key. */
  async list(cluster: string, accountId?: string): Promise<MappingUsage[]> {
    const ref: ClusterRef = { accountId: accountId ?? UNKNOWN_ACCOUNT, cluster };
    const keys: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc
        .send(
          new QueryCommand({
            TableName: this.table,
            IndexName: INDEX.gsi1,
            KeyConditionExpression: 'gsi1pk = :p',
            ExpressionAttributeValues: { ':p': mappingUsageByClusterPk(ref) },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        )
        .catch((err: unknown) => {
          throw toTrailStoreError(err, 'Query(mapping usage)');
        });
      keys.push(...(res.Items ?? []).map((i) => ({ pk: i['pk'], sk: i['sk'] })));
      start = res.LastEvaluatedKey;
    } while (start);
    const items: Item[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Item[] = keys.slice(i, i + 100);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= 8)
          throw toTrailStoreError(new Error('BatchGetItem keys left unprocessed'), 'BatchGetItem(mapping usage)');
        const res = await this.doc
          .send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending } } }))
          .catch((err: unknown) => {
            throw toTrailStoreError(err, 'BatchGetItem(mapping usage)');
          });
        items.push(...(res.Responses?.[this.table] ?? []));
        pending = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as Item[];
        if (pending.length > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
      }
    }
    return items.map(usageOf).sort((a, b) => (a.mappingKey < b.mappingKey ? -1 : a.mappingKey > b.mappingKey ? 1 : 0));
  }
}

const usageOf = (item: Item): MappingUsage => {
  const u: MappingUsage = {
    cluster: String(item['cluster']),
    mappingKey: String(item['mappingKey']),
    firstUsedAt: String(item['firstUsedAt']),
    lastUsedAt: String(item['lastUsedAt']),
  };
  if (typeof item['accountId'] === 'string' && item['accountId'] !== UNKNOWN_ACCOUNT) u.accountId = item['accountId'];
  if (typeof item['firstChainId'] === 'string' && item['firstChainId'] !== '') u.firstChainId = item['firstChainId'];
  if (typeof item['lastChainId'] === 'string' && item['lastChainId'] !== '') u.lastChainId = item['lastChainId'];
  return u;
};
