import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { KinesisStreamEvent, SQSEvent } from 'aws-lambda';
import { silentLogger } from '../lib/ingest/types.js';
import type { TrailStore } from '../lib/store/trail-store.js';

/**
 * The two ingest handlers' exported entry points (the code the Lambda `handler` runs after middy),
 * loaded with a valid configuration. The handler modules read their configuration and build their
 * own DynamoDB client at import time (cold start); the bench passes its own store in the deps, so that
 * client is never used.
 */

type MetricsLike = Pick<Metrics, 'addMetric' | 'singleMetric'>;

/** Metrics are flushed by the logMetrics middleware in Lambda; here they are dropped. */
export const noopMetrics = {
  addMetric: () => {},
  singleMetric: () => ({ addDimension: () => {}, addMetric: () => {} }),
} as unknown as MetricsLike;

export const setHandlerEnv = (): void => {
  process.env['TABLE_NAME'] ??= 'eks-trail-bench';
  process.env['ALERT_TOPIC_ARN'] ??= 'arn:aws:sns:us-east-1:111111111111:eks-trail-bench-alerts';
  process.env['AWS_REGION'] ??= 'us-east-1';
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'SILENT';
  process.env['POWERTOOLS_DEV'] ??= 'false';
};

export interface Handlers {
  kinesis(event: { Records: unknown[] }, store: TrailStore, now: () => number): Promise<unknown>;
  sqs(event: { Records: unknown[] }, store: TrailStore, now: () => number): Promise<unknown>;
}

export const loadHandlers = async (): Promise<Handlers> => {
  setHandlerEnv();
  const log = await import('../functions/log-ingest.js');
  const ct = await import('../functions/cloudtrail-ingest.js');
  return {
    kinesis: (event, store, now) =>
      log.ingestKinesisEvent(event as unknown as KinesisStreamEvent, {
        store,
        logger: silentLogger,
        metrics: noopMetrics,
        now,
      }),
    sqs: (event, store, now) =>
      ct.ingestSqsEvent(event as unknown as SQSEvent, { store, logger: silentLogger, metrics: noopMetrics, now }),
  };
};
