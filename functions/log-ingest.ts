import { createHash } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { CloudWatchLogsEvent, Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { describeError, TransientIngestError } from '../lib/ingest/faults.js';
import { ingestLogPayloads, type LogBatchItem, type LogIngestSummary } from '../lib/ingest/log-pipeline.js';
import { writeQuarantine } from '../lib/ingest/quarantine-writer.js';
import { type MappingChangeHook, quarantineEntry, type RequestsStoredHook } from '../lib/ingest/types.js';
import { issue, rawText } from '../lib/result.js';
import { decodeAwsLogsData, decodeKinesisData } from '../lib/sources/cloudwatch-logs.js';
import type { IngestPort } from '../lib/store/trail-store.js';
import type { StructuredLogger } from '../lib/structured-logger.js';
import { loadLogIngestConfig } from './config/log-ingest-config.js';
import { mappingChangeHookFor, requestsStoredHookFor } from './shared/alert-wiring.js';
import { publishLogSummary } from './shared/ingest-metrics.js';
import { createIngestRuntime } from './shared/ingest-runtime.js';

/**
 * CloudWatch Logs subscription consumer for the EKS `authenticator-*` and `kube-apiserver-audit-*`
 * streams. Two deliveries reach it:
 *
 *  - Kinesis (the cross-account Logs destination of the central stack): each record is one gzip'd
 *    subscription payload. Partial failure uses `reportBatchItemFailures`. For a STREAM the response is
 *    a checkpoint, not a list: Lambda resumes the shard from the lowest sequence number reported and
 *    redelivers it and every later record of the batch. So the handler reports only the FIRST record
 *    that met a transient fault, and does not work on later records (they come back anyway). Poison
 *    records are quarantined and count as success, or they would block the shard until they expire.
 *  - A direct Lambda subscription (`{awslogs:{data}}`, asynchronous invoke): there is no
 *    partial-failure protocol. The handler throws only on a transient fault, so Lambda retries the
 *    whole payload; that is safe because every write is idempotent on its natural key.
 */

export type LogIngestEvent = KinesisStreamEvent | CloudWatchLogsEvent;

export interface LogIngestDeps {
  store: IngestPort;
  logger: StructuredLogger;
  metrics: Pick<Metrics, 'addMetric' | 'singleMetric'>;
  now: () => number;
  /** Alert publishing plugs in here (lib/alerts); ingestion never calls SNS itself. */
  onNewMappingChanges?: MappingChangeHook;
  /** First-use alerts and mapping usage, after the requests are stored. */
  onRequestsStored?: RequestsStoredHook;
}

const isKinesisEvent = (e: unknown): e is KinesisStreamEvent =>
  typeof e === 'object' &&
  e !== null &&
  Array.isArray((e as { Records?: unknown }).Records) &&
  (e as KinesisStreamEvent).Records.every((r) => r?.eventSource === 'aws:kinesis' && typeof r.kinesis === 'object');

const isAwsLogsEvent = (e: unknown): e is CloudWatchLogsEvent =>
  typeof e === 'object' && e !== null && typeof (e as { awslogs?: { data?: unknown } }).awslogs?.data === 'string';

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

const logSummary = (deps: LogIngestDeps, summary: LogIngestSummary, transport: string) => {
  const { outcomes: _o, ...rest } = summary;
  deps.logger.info('log batch ingested', { transport, ...rest });
};

/** Kinesis delivery; returns the checkpoint response (empty when the whole batch is done). */
export const ingestKinesisEvent = async (
  event: KinesisStreamEvent,
  deps: LogIngestDeps,
): Promise<KinesisStreamBatchResponse> => {
  const items: LogBatchItem[] = event.Records.map((r) => ({
    itemId: r.kinesis.sequenceNumber,
    // eventID is `shardId-…:<sequence number>`: unique across the stream's shards, stable across retries.
    unitId: r.eventID,
    source: 'kinesis-record',
    payload: decodeKinesisData(r.kinesis.data),
    // approximateArrivalTimestamp is epoch SECONDS with a fraction (docs/formats.md §4.2).
    receivedAt: Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
  }));
  const now = deps.now();
  const arrivals = items.map((i) => i.receivedAt).filter((t): t is number => Number.isFinite(t));
  const iteratorAgeMs = arrivals.length > 0 ? Math.max(0, now - Math.min(...arrivals)) : undefined;
  let summary: LogIngestSummary;
  try {
    summary = await ingestLogPayloads(items, deps.store, { ...deps, stopAtFirstFailure: true });
  } catch (err) {
    // The pipeline does not throw by design; if it does, retry the batch from its first record.
    deps.logger.error('log pipeline threw; whole batch will be retried', { error: describeError(err) });
    const first = items[0];
    return { batchItemFailures: first ? [{ itemIdentifier: first.itemId }] : [] };
  }
  logSummary(deps, summary, 'kinesis');
  publishLogSummary(deps.metrics, summary, iteratorAgeMs !== undefined ? { iteratorAgeMs } : {});
  const firstFailed = summary.outcomes.find((o) => o.failed);
  return { batchItemFailures: firstFailed ? [{ itemIdentifier: firstFailed.itemId }] : [] };
};

/** Direct subscription delivery; throws TransientIngestError when Lambda must retry the payload. */
export const ingestAwsLogsEvent = async (event: CloudWatchLogsEvent, deps: LogIngestDeps): Promise<void> => {
  const data = event.awslogs.data;
  const decoded = decodeAwsLogsData(data);
  const item: LogBatchItem = {
    // The payload itself is the identity: an async retry carries the very same bytes.
    itemId: `awslogs:${digest(data)}`,
    source: 'cloudwatch-logs-subscription',
    payload: decoded,
  };
  if (decoded.ok && decoded.value.logEvents[0]) item.receivedAt = decoded.value.logEvents[0].timestamp;
  const summary = await ingestLogPayloads([item], deps.store, deps);
  logSummary(deps, summary, 'awslogs');
  publishLogSummary(deps.metrics, summary);
  const failed = summary.outcomes.find((o) => o.failed);
  if (failed)
    throw new TransientIngestError('transient fault while storing the payload; Lambda will retry it', {
      cause: failed.error,
    });
};

/** Dispatch on the event shape; anything else is quarantined, never retried. */
export const ingestLogEvent = async (
  event: unknown,
  deps: LogIngestDeps,
): Promise<KinesisStreamBatchResponse | undefined> => {
  if (isKinesisEvent(event)) return ingestKinesisEvent(event, deps);
  if (isAwsLogsEvent(event)) {
    await ingestAwsLogsEvent(event, deps);
    return undefined;
  }
  const raw = rawText(event);
  const counts = { quarantined: {}, quarantineRejected: 0 };
  const err = await writeQuarantine(
    deps.store,
    [
      quarantineEntry(
        { source: 'cloudwatch-logs-subscription', sourceId: `unknown-event:${digest(raw)}` },
        [issue('ENVELOPE_SHAPE', 'neither a Kinesis event nor a CloudWatch Logs subscription event')],
        raw,
        deps.now(),
      ),
    ],
    counts,
    deps.logger,
  );
  deps.logger.error('unrecognised event shape quarantined', { bytes: raw.length });
  if (err !== undefined) throw new TransientIngestError('could not quarantine an unrecognised event', { cause: err });
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// Lambda wiring: everything below runs once per container (cold start).
// ---------------------------------------------------------------------------------------------

const runtime = createIngestRuntime('log-ingest', loadLogIngestConfig);
export const { logger, metrics, dynamoDbClient, snsClient } = runtime;
const { store: trail, alerts } = runtime;

const deps: LogIngestDeps = {
  store: trail,
  logger,
  metrics,
  now: () => Date.now(),
  onNewMappingChanges: mappingChangeHookFor(alerts, trail),
  onRequestsStored: requestsStoredHookFor(alerts, logger),
};

export const handler = middy(
  async (event: LogIngestEvent, _context: Context): Promise<KinesisStreamBatchResponse | undefined> =>
    ingestLogEvent(event, deps),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
