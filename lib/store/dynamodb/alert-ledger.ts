import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../../alerts/types.js';
import { toTrailStoreError } from '../errors.js';
import { type FanOutQuery, readFanOutPage } from '../fan-out.js';
import { canonicalJson, ITEM_BUDGET, itemSize } from '../item-codec.js';
import { type ClusterRef, clusterRefKey, epochMsOf, sortableTime, UNKNOWN_ACCOUNT } from '../keys.js';
import { INDEX } from '../table-schema.js';
import {
  type AlertLedger,
  type AlertLedgerEntry,
  type AlertListing,
  type PageRequest,
  type StorePage,
  TrailStoreError,
} from '../trail-store.js';
import { TableClient } from './table-client.js';

/**
 * The alert ledger (docs/data-model.md, `ALERT#` items): one item per alert id, claimed with a
 * conditional PutItem, so an alert raised again by a redelivered change, a retried batch or a
 * concurrent invocation is sent once. Items carry no wall-clock value and their TTL comes from the
 * alert's own time; besides the alert, a claim holds only the random token of the call that made it.
 *
 *  - base:  pk `ALERT#<alertId>`, sk `ALERT`
 *  - gsi1:  `ALERT#C#<acct>#<cluster>` / `<sortable at>#<alertId>` (alerts of a cluster by time)
 *  - gsi2:  `ALERTM#<yyyy-mm>` / `<sortable at>#<alertId>` (alerts of every cluster by month, then time;
 *           alerts are rare, so one partition per month takes them all)
 *
 * `state` is `claimed` while the alert is (being) sent and `released` when its publication failed:
 * a released id can be claimed again. Release is an UpdateItem because the ingest functions are
 * not allowed DeleteItem.
 */

const CLAIMED = 'claimed';
const RELEASED = 'released';

export const alertLedgerKey = (alertId: string) => ({ pk: `ALERT#${alertId}`, sk: 'ALERT' });
export const alertsByClusterPk = (ref: ClusterRef) => `ALERT#${clusterRefKey(ref)}`;
export const alertsByMonthPk = (month: string) => `ALERTM#${month}`;

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

export interface DynamoDbAlertLedgerOptions {
  tableName: string;
  /** Days the ledger remembers an alert id (0 = forever). Default 400, as chains. */
  retentionDays?: number;
}

type Item = Record<string, unknown>;

export class DynamoDbAlertLedger implements AlertLedger, AlertListing {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly retentionDays: number;
  private readonly client: TableClient;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: DynamoDbAlertLedgerOptions) {
    this.doc =
      client instanceof DynamoDBDocumentClient
        ? client
        : DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
    this.retentionDays = options.retentionDays ?? 400;
    this.client = new TableClient(this.doc, { tableName: options.tableName });
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
      gsi2pk: alertsByMonthPk((sortable ?? alert.at).slice(0, 7)),
      gsi2sk: `${sortable ?? alert.at}#${alert.alertId}`,
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

  /** Every alert recorded for a cluster, oldest first. */
  async alertsByCluster(ref: ClusterRef): Promise<AlertLedgerEntry[]> {
    const keys = await this.client.queryAll(
      {
        IndexName: INDEX.gsi1,
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': alertsByClusterPk(ref) },
      },
      'Query(alerts by cluster)',
    );
    return this.entries(keys);
  }

  /**
   * Alerts in a window: one cluster's gsi1 partition, or every cluster's through the month partitions
   * of gsi2. Index entries are keys only, so the page's items are read with BatchGetItem.
   */
  async listAlerts(
    ref: ClusterRef | undefined,
    range: { from: string; to: string },
    page: PageRequest,
  ): Promise<StorePage<AlertLedgerEntry>> {
    const from = sortableTime(range.from);
    const to = sortableTime(range.to, 'end');
    if (from === undefined || to === undefined) {
      throw new TrailStoreError(`alerts: window ${range.from}..${range.to} is not two ISO times`, 'VALIDATION', false);
    }
    const limit = Math.min(MAX_LIMIT, Math.max(1, page.limit ?? DEFAULT_LIMIT));
    const forward = page.order === 'oldest-first';
    const between: [string, string] = [from, `${to}~`];
    let q: FanOutQuery;
    if (ref) {
      q = {
        index: INDEX.gsi1,
        pkAttr: 'gsi1pk',
        skAttr: 'gsi1sk',
        buckets: ['all'],
        forward,
        streams: () => [{ pk: alertsByClusterPk(ref), between }],
      };
    } else {
      const months: string[] = [];
      for (let m = from.slice(0, 7); m <= to.slice(0, 7) && months.length <= 1200; m = nextMonth(m)) months.push(m);
      q = {
        index: INDEX.gsi2,
        pkAttr: 'gsi2pk',
        skAttr: 'gsi2sk',
        buckets: forward ? months : months.reverse(),
        forward,
        streams: (month) => [{ pk: alertsByMonthPk(month), between }],
      };
    }
    const res = await readFanOutPage(
      q,
      (input) =>
        this.client
          .queryPage(input, 'Query(alerts)')
          .then((p) => ({ Items: p.items, ...(p.last ? { LastEvaluatedKey: p.last } : {}) })),
      limit,
      page.cursor,
    );
    const items = await this.entries(res.items);
    return res.cursor ? { items, cursor: res.cursor } : { items };
  }

  /** The ledger items behind index entries, in the entries' order. */
  private async entries(keys: readonly Record<string, unknown>[]): Promise<AlertLedgerEntry[]> {
    const got = await this.client.batchGet(keys.map((k) => ({ pk: String(k['pk']), sk: String(k['sk']) })));
    return keys.flatMap((k) => {
      const item = got.get(`${k['pk']}\u0000${k['sk']}`);
      return item ? [entryOf(item)] : [];
    });
  }
}

const nextMonth = (month: string): string => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
};

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
  if (item['trimmed'] === true) entry.trimmed = true;
  if (typeof item['data'] === 'string') {
    try {
      entry.alert = JSON.parse(item['data']) as Alert;
    } catch {
      // A damaged item still lists its key facts.
    }
  }
  return entry;
};
