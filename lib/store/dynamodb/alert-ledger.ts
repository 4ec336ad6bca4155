import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../../alerts/types.js';
import { toTrailStoreError } from '../errors.js';
import { canonicalJson, ITEM_BUDGET, itemSize } from '../item-codec.js';
import { type ClusterRef, clusterRefKey, epochMsOf, sortableTime, UNKNOWN_ACCOUNT } from '../keys.js';
import { INDEX } from '../table-schema.js';
import type { AlertLedger, AlertLedgerEntry } from '../trail-store.js';

/**
 * The alert ledger (docs/data-model.md, `ALERT#` items): one item per alert id, claimed with a
 * conditional PutItem, so an alert raised again by a redelivered change, a retried batch or a
 * concurrent invocation is sent once. Items carry no wall-clock value and their TTL comes from the
 * alert's own time; besides the alert, a claim holds only the random token of the call that made it.
 *
 *  - base:  pk `ALERT#<alertId>`, sk `ALERT`
 *  - gsi1:  `ALERT#C#<acct>#<cluster>` / `<sortable at>#<alertId>` (alerts of a cluster by time)
 *
 * `state` is `claimed` while the alert is (being) sent and `released` when its publication failed:
 * a released id can be claimed again. Release is an UpdateItem because the ingest functions are
 * not allowed DeleteItem.
 */

const CLAIMED = 'claimed';
const RELEASED = 'released';

export const alertLedgerKey = (alertId: string) => ({ pk: `ALERT#${alertId}`, sk: 'ALERT' });
export const alertsByClusterPk = (ref: ClusterRef) => `ALERT#${clusterRefKey(ref)}`;

export interface DynamoDbAlertLedgerOptions {
  tableName: string;
  /** Days the ledger remembers an alert id (0 = forever). Default 400, as chains. */
  retentionDays?: number;
}

type Item = Record<string, unknown>;

export class DynamoDbAlertLedger implements AlertLedger {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly retentionDays: number;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: DynamoDbAlertLedgerOptions) {
    this.doc =
      client instanceof DynamoDBDocumentClient
        ? client
        : DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
    this.retentionDays = options.retentionDays ?? 400;
  }

  /** The item a claim writes: a pure function of the alert. */
  itemFor(alert: Alert): Item {
    const sortable = sortableTime(alert.at);
    const ref: ClusterRef = { accountId: alert.accountId ?? UNKNOWN_ACCOUNT, cluster: alert.cluster };
    const item: Item = {
      ...alertLedgerKey(alert.alertId),
      t: 'alert',
      state: CLAIMED,
      alertId: alert.alertId,
      ruleId: alert.ruleId,
      severity: alert.severity,
      cluster: alert.cluster,
      at: alert.at,
      gsi1pk: alertsByClusterPk(ref),
      gsi1sk: `${sortable ?? alert.at}#${alert.alertId}`,
      data: canonicalJson(alert),
    };
    if (alert.accountId !== undefined) item['accountId'] = alert.accountId;
    // aws-auth before/after bodies can be large; the diff lines and the change history keep the facts.
    if (itemSize(item) > ITEM_BUDGET) {
      item['data'] = canonicalJson({ ...alert, diff: { lines: alert.diff.lines.slice(0, 200) } });
      item['trimmed'] = true;
    }
    if (sortable && this.retentionDays > 0) {
      item['expiresAt'] = Math.floor(epochMsOf(sortable) / 1000) + this.retentionDays * 86_400;
    }
    return item;
  }

  /**
   * Claims the alert id; true when this call claimed it. A claim carries a token of its own call: when
   * DynamoDB wrote the claim but its answer was lost (a timeout), the SDK sends the same put again and
   * it fails its condition against the claim it just made. The token tells that claim from another
   * caller's, or the alert would stay claimed and never be sent. When the claim may have been written
   * but the call still fails, it is given back (only if it is still this call's), so the retry of the
   * delivery can claim it again.
   */
  async recordIfNew(alert: Alert): Promise<boolean> {
    const claim = randomUUID();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...this.itemFor(alert), claim },
          ConditionExpression: 'attribute_not_exists(pk) OR #s = :released',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':released': RELEASED },
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string } | undefined)?.name !== 'ConditionalCheckFailedException') {
        await this.releaseClaim(alert, claim).catch(() => undefined);
        throw toTrailStoreError(err, 'PutItem(alert ledger)');
      }
    }
    try {
      const res = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: alertLedgerKey(alert.alertId), ConsistentRead: true }),
      );
      return res.Item?.['claim'] === claim && res.Item?.['state'] === CLAIMED;
    } catch (err) {
      await this.releaseClaim(alert, claim).catch(() => undefined);
      throw toTrailStoreError(err, 'GetItem(alert ledger claim)');
    }
  }

  /** Gives a claim back only while it is still the given call's. */
  private async releaseClaim(alert: Alert, claim: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: alertLedgerKey(alert.alertId),
          UpdateExpression: 'SET #s = :released',
          ConditionExpression: '#s = :claimed AND #c = :claim',
          ExpressionAttributeNames: { '#s': 'state', '#c': 'claim' },
          ExpressionAttributeValues: { ':released': RELEASED, ':claimed': CLAIMED, ':claim': claim },
        }),
      );
    } catch (err) {
      if ((err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException') return;
      throw err;
    }
  }

  async release(alert: Alert): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: alertLedgerKey(alert.alertId),
          UpdateExpression: 'SET #s = :released',
          ConditionExpression: '#s = :claimed',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':released': RELEASED, ':claimed': CLAIMED },
        }),
      );
    } catch (err) {
      if ((err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException') return;
      throw toTrailStoreError(err, 'UpdateItem(alert ledger release)');
    }
  }

  /** Alerts recorded for a cluster, oldest first (keys from the KEYS_ONLY gsi1, then GetItem each). */
  async alertsByCluster(ref: ClusterRef): Promise<AlertLedgerEntry[]> {
    const keys: Item[] = [];
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const res = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: INDEX.gsi1,
            KeyConditionExpression: 'gsi1pk = :p',
            ExpressionAttributeValues: { ':p': alertsByClusterPk(ref) },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        keys.push(...(res.Items ?? []));
        start = res.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw toTrailStoreError(err, 'Query(alerts by cluster)');
    }
    const out: AlertLedgerEntry[] = [];
    for (const k of keys) {
      const res = await this.doc
        .send(new GetCommand({ TableName: this.table, Key: { pk: k['pk'], sk: k['sk'] } }))
        .catch((err: unknown) => {
          throw toTrailStoreError(err, 'GetItem(alert ledger)');
        });
      const item = res.Item;
      if (item) out.push(entryOf(item));
    }
    return out;
  }
}

const entryOf = (item: Item): AlertLedgerEntry => {
  const entry: AlertLedgerEntry = {
    alertId: String(item['alertId']),
    ruleId: String(item['ruleId']),
    severity: String(item['severity']),
    cluster: String(item['cluster']),
    at: String(item['at']),
    state: String(item['state']),
  };
  if (typeof item['accountId'] === 'string') entry.accountId = item['accountId'];
  if (typeof item['data'] === 'string') {
    try {
      entry.alert = JSON.parse(item['data']) as Alert;
    } catch {
      // A damaged item still lists its key facts.
    }
  }
  return entry;
};
