import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import type { KinesisStreamEvent, SQSEvent } from 'aws-lambda';
import { LOG_STREAM_BATCHING } from '../cdk/function-settings.js';
import { alertEventEntry } from '../lib/alerts/alert-event.js';
import { mappingChangeAlertHook, mappingUseAlertHook } from '../lib/alerts/dispatch.js';
import { renderAlertText } from '../lib/alerts/render.js';
import { type Alert, type AlertSink, DEFAULT_ALERT_CONFIG } from '../lib/alerts/types.js';
import type { MappingChangeHook, RequestsStoredHook } from '../lib/ingest/types.js';
import { startLocalEngine } from '../lib/local/engine.js';
import { awsAuthSnapshotChange } from '../lib/local/replay.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { writeUnits } from '../lib/store/item-codec.js';
import { silentLogger } from '../lib/structured-logger.js';
import {
  buildFleet,
  type Delivery,
  type KinesisRecordLike,
  renderAwsAuthYaml,
  type SqsRecordLike,
  simulate,
  toDeliveries,
} from '../sim/index.js';
import { percentile } from './stats.js';

/**
 * Event-to-alert latency in the simulated delivery (sim/delivery.ts), and what an alert costs.
 *
 * A simulated fleet with identity-mapping changes (aws-auth edits in the audit log, access entries in
 * CloudTrail) is packed into Lambda events the way AWS delivers them: CloudWatch Logs subscription
 * payloads batched into Kinesis invocations with the log function's batch size and batching window
 * (cdk/function-settings.ts LOG_STREAM_BATCHING), CloudTrail events through EventBridge into SQS and
 * the CloudTrail function's batches. Each invocation runs the real handler entry points
 * (functions/log-ingest.ts, functions/cloudtrail-ingest.ts) over the real store on the embedded
 * engine, with the real alert rules, ledger and dispatch; the sink notes the simulated clock when an
 * alert is published: the invocation's start plus the processing time measured on this machine.
 *
 * Latency of an alert = publish - receipt of the newest event it rests on, where receipt is the log
 * event's CloudWatch timestamp (log path) or the SQS send time (CloudTrail path, EventBridge having
 * delivered it). The log function reads one shard at a time (parallelization factor 1): an invocation
 * starts when its batch closes or when the previous one ends, whichever is later.
 */

export interface AlertLatencyOptions {
  seed?: number;
  /** Kubernetes requests simulated (the mapping changes come with the scenario's set pieces). */
  requests?: number;
  /** Clusters of the simulated fleet (default 6, in every authentication mode). */
  clusters?: number;
  /** The log function's MaximumBatchingWindowInSeconds. Default LOG_STREAM_BATCHING (300 s). */
  logBatchingWindowSeconds?: number;
  /** Kinesis records per log invocation. Default LOG_STREAM_BATCHING.batchSize. */
  kinesisBatchSize?: number;
  /** The CloudTrail function's SQS batching (cdk/stacks/central-stack.ts: 10 messages, 5 s). */
  sqsBatchSize?: number;
  sqsBatchingWindowSeconds?: number;
}

export interface PathLatency {
  alerts: number;
  p50Ms: number;
  p95Ms: number;
}

export interface AlertLatencyResult {
  p50Ms: number;
  p95Ms: number;
  alerts: number;
  costPerThousandAlertsUsd: number;
  assumptions: string[];
  /**
   * Per delivery path: audit log (Kinesis) and CloudTrail (SQS); `logFromStream` is the log path from the
   * record's arrival in Kinesis, which isolates the batching window from the subscription's own delay.
   */
  paths: { log: PathLatency; cloudtrail: PathLatency; logFromStream: PathLatency };
  /** From the change's own time (event time) to publish, which adds CloudTrail's and CloudWatch's own delay. */
  fromEventTime: { p50Ms: number; p95Ms: number };
  costBreakdownPerThousandUsd: Record<string, number>;
  /** Log invocations and CloudTrail invocations run. */
  invocations: { log: number; cloudtrail: number };
  /** Ids of the alerts published, in publication order. */
  alertIds: string[];
}

/**
 * List prices used, us-east-1. DynamoDB on-demand as in bench/ingest-e2e.ts (after the 2024-11-01 cut);
 * SNS, EventBridge, Security Hub and Lambda arm64 from their pricing pages as known in 2025.
 */
export const ALERT_PRICES = {
  dynamoDbWriteUnitPerMillion: 0.625,
  snsPublishPerMillion: 0.5,
  snsEmailPer100k: 2,
  eventBridgeCustomEventPerMillion: 1,
  securityHubFindingIngestion: 0.00003,
  lambdaArmGbSecond: 0.0000133334,
} as const;

const SIM_START = '2025-06-02T08:00:00Z';
/** One alert's publications are billed per 64 KB chunk (SNS and EventBridge alike). */
const CHUNK = 64 * 1024;
/** The log function's memory (cdk/function-settings.ts FUNCTION_MEMORY_MB), for the alert stage's GB-s. */
const LOG_MEMORY_GB = 1;
const CLOUDTRAIL_MEMORY_GB = 0.5;

const noopMetrics = {
  addMetric: () => {},
  singleMetric: () => ({ addDimension: () => {}, addMetric: () => {} }),
} as never;

interface Invocation {
  kind: 'log' | 'cloudtrail';
  /** Simulated ms when the batch closed (Lambda may invoke). */
  readyMs: number;
  records: KinesisRecordLike[] | SqsRecordLike[];
}

/**
 * Lambda's SQS poller: a batch closes at `size` messages or when its first message has waited the
 * window. The simulator hands SQS batches out full or at the end (sim/delivery.ts), so the CloudTrail
 * path is batched again here from each message's SentTimestamp.
 */
const sqsInvocations = (records: SqsRecordLike[], size: number, windowMs: number): Invocation[] => {
  const sorted = [...records].sort((a, b) => Number(a.attributes.SentTimestamp) - Number(b.attributes.SentTimestamp));
  const out: Invocation[] = [];
  let open: SqsRecordLike[] = [];
  for (const r of sorted) {
    const t = Number(r.attributes.SentTimestamp);
    const first = open[0];
    if (first && t - Number(first.attributes.SentTimestamp) > windowMs) {
      out.push({ kind: 'cloudtrail', readyMs: Number(first.attributes.SentTimestamp) + windowMs, records: open });
      open = [];
    }
    open.push(r);
    if (open.length >= size) {
      out.push({ kind: 'cloudtrail', readyMs: t, records: open });
      open = [];
    }
  }
  if (open[0])
    out.push({ kind: 'cloudtrail', readyMs: Number(open[0].attributes.SentTimestamp) + windowMs, records: open });
  return out;
};

/**
 * CloudWatch receipt of each audit event (auditID -> earliest log-event timestamp) in a Kinesis record,
 * and the record's arrival in the stream.
 */
const noteAuditReceipts = (
  records: KinesisRecordLike[],
  into: Map<string, number>,
  arrivals: Map<string, number>,
): void => {
  for (const r of records) {
    const arrived = Math.round(r.kinesis.approximateArrivalTimestamp * 1000);
    const payload = JSON.parse(gunzipSync(Buffer.from(r.kinesis.data, 'base64')).toString('utf8')) as {
      logEvents: { timestamp: number; message: string }[];
    };
    for (const e of payload.logEvents) {
      const id = /"auditID":"([^"]+)"/.exec(e.message)?.[1];
      if (!id) continue;
      if (!(into.get(id)! <= e.timestamp)) into.set(id, e.timestamp);
      if (!(arrivals.get(id)! <= arrived)) arrivals.set(id, arrived);
    }
  }
};

const eventTimeMs = (alert: Alert): number => Date.parse(alert.at);

export const measureAlertLatency = async (opts: AlertLatencyOptions = {}): Promise<AlertLatencyResult> => {
  const seed = opts.seed ?? 7;
  const requests = opts.requests ?? 20_000;
  const windowS = opts.logBatchingWindowSeconds ?? LOG_STREAM_BATCHING.maxBatchingWindowSeconds;
  const kinesisBatchSize = opts.kinesisBatchSize ?? LOG_STREAM_BATCHING.batchSize;
  const sqsBatchSize = opts.sqsBatchSize ?? 10;
  const sqsWindowMs = (opts.sqsBatchingWindowSeconds ?? 5) * 1000;

  // The handler modules read their configuration at import (cold start); the store is passed in.
  process.env['TABLE_NAME'] ??= 'eks-trail-bench';
  process.env['ALERT_TOPIC_ARN'] ??= 'arn:aws:sns:us-east-1:111111111111:eks-trail-bench-alerts';
  process.env['AWS_REGION'] ??= 'us-east-1';
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'SILENT';
  const log = await import('../functions/log-ingest.js');
  const ct = await import('../functions/cloudtrail-ingest.js');

  const fleet = buildFleet({
    seed,
    clusters: opts.clusters ?? 6,
    accountsPerOrg: 3,
    ssoUsers: 40,
    iamUsers: 12,
    roles: 4,
    nodesPerCluster: 10,
    serviceAccounts: 4,
  });
  const durationMs = Math.max(3_600_000, Math.round(requests * 166));
  const emissions = simulate(fleet, { seed, requests, start: SIM_START, durationMs, mappingChanges: true });
  const deliveries: Delivery[] = [
    ...toDeliveries(emissions, {
      seed,
      lateFraction: 0,
      duplicateFraction: 0,
      kinesisBatchSize,
      kinesisBatchWindowMs: windowS * 1000,
      sqsBatchSize,
    }),
  ];
  const invocations: Invocation[] = [
    ...deliveries.flatMap((d): Invocation[] =>
      d.kind === 'kinesis' ? [{ kind: 'log', readyMs: d.deliveredAtUs / 1000, records: d.event.Records }] : [],
    ),
    ...sqsInvocations(
      deliveries.flatMap((d) => (d.kind === 'sqs' ? d.event.Records : [])),
      sqsBatchSize,
      sqsWindowMs,
    ),
  ].sort((a, b) => a.readyMs - b.readyMs);

  const receipts = new Map<string, number>();
  const streamArrivals = new Map<string, number>();
  const engine = await startLocalEngine({ inMemory: true, tableName: 'eks-trail-alert-latency' });
  try {
    const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
    const backfillAt = new Date(Date.parse(SIM_START) - 3_600_000).toISOString();
    await store.putMappingChanges(
      fleet.clusters.flatMap((c) =>
        c.awsAuth
          ? [awsAuthSnapshotChange(renderAwsAuthYaml(c.awsAuth), c.name, backfillAt, c.accountId, 'bench')]
          : [],
      ),
    );

    // The clock of the invocation being run: its simulated start, plus the wall time spent in it so far.
    let invocationStartMs = 0;
    let wallAtStart = 0;
    let currentKind: Invocation['kind'] = 'log';
    const simNow = () => invocationStartMs + (performance.now() - wallAtStart);
    const published: { alert: Alert; atMs: number; kind: Invocation['kind'] }[] = [];
    const sink: AlertSink = {
      publish: async (alert) => {
        published.push({ alert, atMs: simNow(), kind: currentKind });
      },
    };
    let hookMs = { log: 0, cloudtrail: 0 };
    const timed =
      <A extends unknown[]>(fn: (...a: A) => Promise<void>) =>
      async (...a: A) => {
        const t = performance.now();
        try {
          await fn(...a);
        } finally {
          hookMs[currentKind] += performance.now() - t;
        }
      };
    const config = DEFAULT_ALERT_CONFIG;
    const onNewMappingChanges: MappingChangeHook = timed(
      mappingChangeAlertHook({ ledger: store.alerts, sink, config, lookupCredential: (k) => store.credential(k) }),
    );
    const onRequestsStored: RequestsStoredHook = mappingUseAlertHook(
      { usage: store.usage, config, ledger: store.alerts, sink },
      () => {},
    );

    let logBusyUntil = 0;
    let counts = { log: 0, cloudtrail: 0 };
    for (const inv of invocations) {
      currentKind = inv.kind;
      counts[inv.kind] += 1;
      // One shard, one batch at a time; SQS invocations run concurrently.
      invocationStartMs = inv.kind === 'log' ? Math.max(inv.readyMs, logBusyUntil) : inv.readyMs;
      if (inv.kind === 'log') noteAuditReceipts(inv.records as KinesisRecordLike[], receipts, streamArrivals);
      else
        for (const r of inv.records as SqsRecordLike[]) {
          const id = (JSON.parse(r.body) as { detail?: { eventID?: string } }).detail?.eventID;
          if (id) receipts.set(id, Number(r.attributes.SentTimestamp));
        }
      wallAtStart = performance.now();
      const deps = { store, logger: silentLogger, metrics: noopMetrics, now: simNow, onNewMappingChanges };
      if (inv.kind === 'log') {
        await log.ingestKinesisEvent({ Records: inv.records } as unknown as KinesisStreamEvent, {
          ...deps,
          onRequestsStored,
        });
        logBusyUntil = simNow();
      } else {
        await ct.ingestSqsEvent({ Records: inv.records } as unknown as SQSEvent, deps);
      }
    }
    counts = { ...counts };
    hookMs = { ...hookMs };

    const latency = (ps: typeof published, from: Map<string, number> = receipts) =>
      ps.flatMap((p) => {
        const known = p.alert.sourceEventIds.map((id) => from.get(id)).filter((t): t is number => t !== undefined);
        return known.length > 0 ? [p.atMs - Math.max(...known)] : [];
      });
    const all = latency(published);
    const byPath = (kind: Invocation['kind'], from: Map<string, number> = receipts): PathLatency => {
      const xs = latency(
        published.filter((p) => p.kind === kind),
        from,
      );
      return { alerts: xs.length, p50Ms: percentile(xs, 50), p95Ms: percentile(xs, 95) };
    };
    const fromEvent = published.map((p) => p.atMs - eventTimeMs(p.alert)).filter((x) => Number.isFinite(x));

    // Cost per alert: its ledger claim (item + gsi1 and gsi2 entries), the SNS publication and the
    // EventBridge event (per 64 KB chunk), and the Lambda time of the mapping-change hook.
    const n = Math.max(1, published.length);
    let ledgerUnits = 0;
    let snsChunks = 0;
    let eventChunks = 0;
    for (const { alert } of published) {
      ledgerUnits += writeUnits(store.alerts.itemFor(alert)) + 2;
      const text = renderAlertText(alert);
      snsChunks += Math.ceil(Buffer.byteLength(text.subject + text.body, 'utf8') / CHUNK);
      eventChunks += Math.ceil(Buffer.byteLength(alertEventEntry(alert).Detail, 'utf8') / CHUNK);
    }
    const perThousand = (x: number) => (x / n) * 1000;
    const breakdown: Record<string, number> = {
      dynamoDbLedger: perThousand((ledgerUnits * ALERT_PRICES.dynamoDbWriteUnitPerMillion) / 1e6),
      snsPublish: perThousand((snsChunks * ALERT_PRICES.snsPublishPerMillion) / 1e6),
      eventBridge: perThousand((eventChunks * ALERT_PRICES.eventBridgeCustomEventPerMillion) / 1e6),
      lambdaMappingChangeHook: perThousand(
        ((hookMs.log / 1000) * LOG_MEMORY_GB + (hookMs.cloudtrail / 1000) * CLOUDTRAIL_MEMORY_GB) *
          ALERT_PRICES.lambdaArmGbSecond,
      ),
    };
    const costPerThousandAlertsUsd = Object.values(breakdown).reduce((a, b) => a + b, 0);
    breakdown['optional: securityHubImport'] = 1000 * ALERT_PRICES.securityHubFindingIngestion;
    breakdown['optional: snsEmailPerSubscriber'] = (1000 * ALERT_PRICES.snsEmailPer100k) / 100_000;

    return {
      p50Ms: percentile(all, 50),
      p95Ms: percentile(all, 95),
      alerts: published.length,
      costPerThousandAlertsUsd,
      assumptions: [
        `simulated fleet (sim/) of ${opts.clusters ?? 6} clusters, seed ${seed}, ${requests} requests over ${Math.round(durationMs / 60_000)} min with the scenario's mapping changes; no late or duplicated records`,
        "sim/delivery.ts flushes a quiet log stream's open payload only when later records arrive, so a quiet fleet adds seconds to minutes before Kinesis; a busy one fills payloads first",
        `log function: Kinesis batches of ${kinesisBatchSize} records or a ${windowS} s batching window (LOG_STREAM_BATCHING), one shard, one batch at a time`,
        `CloudTrail function: SQS batches of ${sqsBatchSize} messages or a ${sqsWindowMs / 1000} s window (cdk/stacks/central-stack.ts), each batch its own invocation`,
        'receipt: the log event CloudWatch timestamp (log path), the SQS send time after EventBridge (CloudTrail path); CloudTrail own delay to EventBridge comes before it (see fromEventTime)',
        'processing time measured on this machine against the embedded engine (dynalite), not DynamoDB; publication calls are in-process (no SNS or EventBridge round trip)',
        `prices us-east-1: DynamoDB on-demand $${ALERT_PRICES.dynamoDbWriteUnitPerMillion}/M write units, SNS $${ALERT_PRICES.snsPublishPerMillion}/M publishes, EventBridge $${ALERT_PRICES.eventBridgeCustomEventPerMillion}/M custom events, Lambda arm64 $${ALERT_PRICES.lambdaArmGbSecond}/GB-s; optional: Security Hub $${ALERT_PRICES.securityHubFindingIngestion}/finding after the free tier, SNS e-mail $${ALERT_PRICES.snsEmailPer100k}/100k per subscriber`,
        'cost counts what each alert adds (ledger claim, SNS publish, EventBridge event, mapping-change hook time); first-use tracking runs for every batch and is part of the ingest cost, not here',
      ],
      paths: { log: byPath('log'), cloudtrail: byPath('cloudtrail'), logFromStream: byPath('log', streamArrivals) },
      fromEventTime: { p50Ms: percentile(fromEvent, 50), p95Ms: percentile(fromEvent, 95) },
      costBreakdownPerThousandUsd: breakdown,
      invocations: counts,
      alertIds: published.map((p) => p.alert.alertId),
    };
  } finally {
    await engine.stop();
  }
};
