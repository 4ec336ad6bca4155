import { createHash } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  type CloudTrailBatchItem,
  type CloudTrailIngestSummary,
  ingestCloudTrailEvents,
} from '../lib/ingest/cloudtrail-pipeline.js';
import { describeError, TransientIngestError } from '../lib/ingest/faults.js';
import type { MappingChangeHook } from '../lib/ingest/types.js';
import { rawText } from '../lib/result.js';
import type { IngestPort } from '../lib/store/trail-store.js';
import type { StructuredLogger } from '../lib/structured-logger.js';
import { loadCloudTrailIngestConfig } from './config/cloudtrail-ingest-config.js';
import { mappingChangeHookFor } from './shared/alert-wiring.js';
import { publishCloudTrailSummary } from './shared/ingest-metrics.js';
import { createIngestRuntime } from './shared/ingest-runtime.js';

/**
 * CloudTrail consumer: EventBridge rule (EKS access management, STS AssumeRole*) -> SQS -> Lambda.
 * Each SQS body is one EventBridge event. Partial batch failure follows SQS semantics: every message
 * that met a transient fault is listed in `batchItemFailures` and only those return to the queue
 * (a standard queue has no order to keep, unlike a Kinesis shard). Poison messages are quarantined
 * and reported as successes, or they would cycle until the DLQ took them without their diagnosis.
 * A direct EventBridge invocation (one event, no batch protocol) throws on a transient fault so the
 * EventBridge retry policy redelivers it; writes are idempotent on the CloudTrail eventID.
 */

export type CloudTrailIngestEvent = SQSEvent | EventBridgeEvent<string, unknown>;

export interface CloudTrailIngestDeps {
  store: IngestPort;
  logger: StructuredLogger;
  metrics: Pick<Metrics, 'addMetric' | 'singleMetric'>;
  now: () => number;
  /** Alert publishing plugs in here (lib/alerts); ingestion never calls SNS itself. */
  onNewMappingChanges?: MappingChangeHook;
}

const isSqsEvent = (e: unknown): e is SQSEvent =>
  typeof e === 'object' &&
  e !== null &&
  Array.isArray((e as { Records?: unknown }).Records) &&
  (e as SQSEvent).Records.every((r) => r?.eventSource === 'aws:sqs' && typeof r.messageId === 'string');

const isEventBridgeEvent = (e: unknown): e is EventBridgeEvent<string, unknown> =>
  typeof e === 'object' && e !== null && 'detail-type' in e && 'detail' in e;

const sentAt = (attrs: SQSEvent['Records'][number]['attributes'] | undefined): number | undefined => {
  const n = Number(attrs?.SentTimestamp);
  return Number.isFinite(n) && n > 0 ? n : undefined;
};

const run = async (items: CloudTrailBatchItem[], deps: CloudTrailIngestDeps, transport: string) => {
  const summary: CloudTrailIngestSummary = await ingestCloudTrailEvents(items, deps.store, deps);
  const { outcomes: _o, ...rest } = summary;
  deps.logger.info('cloudtrail batch ingested', { transport, ...rest });
  publishCloudTrailSummary(deps.metrics, summary);
  return summary;
};

export const ingestSqsEvent = async (event: SQSEvent, deps: CloudTrailIngestDeps): Promise<SQSBatchResponse> => {
  const items: CloudTrailBatchItem[] = event.Records.map((r) => {
    const item: CloudTrailBatchItem = { itemId: r.messageId, source: 'sqs-message', body: r.body };
    const at = sentAt(r.attributes);
    if (at !== undefined) item.receivedAt = at;
    return item;
  });
  try {
    const summary = await run(items, deps, 'sqs');
    return { batchItemFailures: summary.failedItemIds.map((itemIdentifier) => ({ itemIdentifier })) };
  } catch (err) {
    // Not expected (the pipeline does not throw); return every message rather than lose any.
    deps.logger.error('cloudtrail pipeline threw; whole batch returned to the queue', { error: describeError(err) });
    return { batchItemFailures: items.map((i) => ({ itemIdentifier: i.itemId })) };
  }
};

export const ingestEventBridgeEvent = async (
  event: EventBridgeEvent<string, unknown>,
  deps: CloudTrailIngestDeps,
): Promise<void> => {
  const id =
    typeof event.id === 'string' && event.id !== ''
      ? event.id
      : createHash('sha256').update(rawText(event)).digest('hex').slice(0, 32);
  const item: CloudTrailBatchItem = { itemId: id, source: 'eventbridge-event', body: event };
  const t = Date.parse(String(event.time));
  if (Number.isFinite(t)) item.receivedAt = t;
  const summary = await run([item], deps, 'eventbridge');
  const failed = summary.outcomes.find((o) => o.failed);
  if (failed)
    throw new TransientIngestError('transient fault; EventBridge will redeliver the event', { cause: failed.error });
};

/** SQS batch, or a single EventBridge event; anything else is treated as one EventBridge-like item (quarantined if bad). */
export const ingestCloudTrailEvent = async (
  event: unknown,
  deps: CloudTrailIngestDeps,
): Promise<SQSBatchResponse | undefined> => {
  if (isSqsEvent(event)) return ingestSqsEvent(event, deps);
  if (isEventBridgeEvent(event)) {
    await ingestEventBridgeEvent(event, deps);
    return undefined;
  }
  const raw = rawText(event);
  const summary = await run(
    [
      {
        itemId: `unknown-event:${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`,
        source: 'eventbridge-event',
        body: event,
      },
    ],
    deps,
    'unknown',
  );
  const failed = summary.outcomes.find((o) => o.failed);
  if (failed)
    throw new TransientIngestError('transient fault while quarantining an unrecognised event', { cause: failed.error });
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// Lambda wiring: everything below runs once per container (cold start).
// ---------------------------------------------------------------------------------------------

const runtime = createIngestRuntime('cloudtrail-ingest', loadCloudTrailIngestConfig);
export const { logger, metrics, dynamoDbClient, snsClient } = runtime;
const { store, alerts } = runtime;

const deps: CloudTrailIngestDeps = {
  store,
  logger,
  metrics,
  now: () => Date.now(),
  onNewMappingChanges: mappingChangeHookFor(alerts, store),
};

export const handler = middy(
  async (event: CloudTrailIngestEvent, _context: Context): Promise<SQSBatchResponse | undefined> =>
    ingestCloudTrailEvent(event, deps),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
