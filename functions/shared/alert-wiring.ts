import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mappingChangeAlertHook, publishAlerts, trackMappingUse } from '../../lib/alerts/dispatch.js';
import type { AlertConfig, AlertLedger, AlertSink, MappingUsagePort, RecordUseResult } from '../../lib/alerts/types.js';
import type { DecisionChain } from '../../lib/chain/types.js';
import { classifyFault, describeError } from '../../lib/ingest/faults.js';
import { type IngestLogger, type MappingChangeHook, silentLogger } from '../../lib/ingest/types.js';
import { DynamoDbAlertLedger } from '../../lib/store/alert-ledger.js';
import { sortableTime, UNKNOWN_ACCOUNT } from '../../lib/store/keys.js';
import { DynamoDbMappingUsageStore, mappingUsageKey } from '../../lib/store/mapping-usage.js';
import type { TrailStore } from '../../lib/store/trail-store.js';
import { SnsAlertSink } from './sns-alert-sink.js';

/**
 * Wiring of lib/alerts into the ingest functions. Ingestion never calls SNS itself: mapping changes
 * reach the alert rules through the pipelines' `onNewMappingChanges` hook, and first uses of new
 * mappings through a TrailStore whose putChains records mapping use once the chains are stored.
 * Every failure to record or publish is raised from the hook / putChains, so the pipeline fails the
 * batch item that carried it and the transport redelivers it; the ledger makes that retry send each
 * alert once.
 */

export interface AlertWiring {
  ledger: AlertLedger;
  sink: AlertSink;
  usage: MappingUsagePort;
  config: AlertConfig;
}

/** The DynamoDB ledger and usage store (same table as the trail) and the SNS sink of a function. */
export const dynamoDbAlertWiring = (
  dynamoDb: DynamoDBClient,
  sns: Pick<SNSClient, 'send'>,
  opts: { tableName: string; alertTopicArn: string; config: AlertConfig; alertRetentionDays?: number },
): AlertWiring => ({
  ledger: new DynamoDbAlertLedger(dynamoDb, {
    tableName: opts.tableName,
    ...(opts.alertRetentionDays !== undefined ? { retentionDays: opts.alertRetentionDays } : {}),
  }),
  sink: new SnsAlertSink(sns, opts.alertTopicArn),
  usage: new RedeliveryAwareUsage(dynamoDb, opts.tableName),
  config: opts.config,
});

/** The `onNewMappingChanges` hook; credentials come from the trail so alerts name the human. */
export const mappingChangeHookFor = (wiring: AlertWiring, store: Pick<TrailStore, 'credential'>): MappingChangeHook =>
  mappingChangeAlertHook({
    ledger: wiring.ledger,
    sink: wiring.sink,
    config: wiring.config,
    lookupCredential: (accessKeyId) => store.credential(accessKeyId),
  });

/**
 * The usage store reports a redelivered use as "not first" (its writes are idempotent by design). If
 * the delivery that recorded a first use then failed to publish its alert, the retry would never
 * raise it again. So when the store says "not first", one consistent read tells whether the stored
 * first use IS this very use (same instant, same chain id): then it is reported as first again and
 * the ledger drops the alert if it already went out.
 */
export class RedeliveryAwareUsage implements MappingUsagePort {
  private readonly inner: DynamoDbMappingUsageStore;
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.inner = new DynamoDbMappingUsageStore(this.doc, { tableName });
  }

  async recordUse(
    cluster: string,
    mappingKey: string,
    at: string,
    opts: { accountId?: string; chainId?: string } = {},
  ): Promise<RecordUseResult> {
    const result = await this.inner.recordUse(cluster, mappingKey, at, opts);
    if (result.firstUse || opts.chainId === undefined) return result;
    const t = sortableTime(at);
    if (!t) return result;
    const key = mappingUsageKey({ accountId: opts.accountId ?? UNKNOWN_ACCOUNT, cluster }, mappingKey);
    const res = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    const item = res.Item;
    if (item?.['firstUsedAt'] === t && item['firstChainId'] === opts.chainId) return { ...result, firstUse: true };
    return result;
  }

  list(cluster: string, accountId?: string) {
    return this.inner.list(cluster, accountId);
  }
}

/**
 * A TrailStore whose putChains, after the chains are stored, records which mapping each used and
 * publishes first-use alerts. A transient fault propagates (putChains failed -> the pipeline retries
 * the item; chain writes are idempotent). A permanent store refusal of the usage item is logged and
 * dropped: failing the item would quarantine chains that were stored fine.
 */
export const withMappingUseAlerts = (store: TrailStore, wiring: AlertWiring, logger: IngestLogger = silentLogger) => {
  const putChains: TrailStore['putChains'] = async (items) => {
    await store.putChains(items);
    const chains: DecisionChain[] = items.map((i) => i.chain);
    let alerts: Awaited<ReturnType<typeof trackMappingUse>>;
    try {
      alerts = await trackMappingUse(chains, { usage: wiring.usage, config: wiring.config });
    } catch (err) {
      if (classifyFault(err) === 'retry') throw err;
      logger.error('mapping use not recorded (store refused it)', { error: describeError(err) });
      return;
    }
    if (alerts.length > 0) await publishAlerts(alerts, { ledger: wiring.ledger, sink: wiring.sink });
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'putChains') return putChains;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
};
