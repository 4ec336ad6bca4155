import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { KinesisStreamEvent, SQSEvent } from 'aws-lambda';
import type { IngestPort } from '../lib/store/trail-store.js';
import { silentLogger } from '../lib/structured-logger.js';
import { bundleEntry } from './bundle.js';

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
  kinesis(event: { Records: unknown[] }, store: IngestPort, now: () => number): Promise<unknown>;
  sqs(event: { Records: unknown[] }, store: IngestPort, now: () => number): Promise<unknown>;
  /** The product's parsers alone (bench/parse-path.ts), compiled like the handlers. */
  parseRecords(datas: readonly string[]): { events: number; rejected: number };
}

type ParsePathModule = typeof import('./parse-path.js');

type LogIngestModule = typeof import('../functions/log-ingest.js');
type CloudTrailIngestModule = typeof import('../functions/cloudtrail-ingest.js');

const wrap = (log: LogIngestModule, ct: CloudTrailIngestModule, parse: ParsePathModule): Handlers => ({
  parseRecords: (datas) => parse.parseRecords(datas),
  kinesis: (event, store, now) =>
    log.ingestKinesisEvent(event as unknown as KinesisStreamEvent, {
      store,
      logger: silentLogger,
      metrics: noopMetrics,
      now,
    }),
  sqs: (event, store, now) =>
    ct.ingestSqsEvent(event as unknown as SQSEvent, { store, logger: silentLogger, metrics: noopMetrics, now }),
});

/** The handlers as TypeScript modules of this checkout (run through tsx, like the tests). */
export const loadHandlers = async (): Promise<Handlers> => {
  setHandlerEnv();
  return wrap(
    await import('../functions/log-ingest.js'),
    await import('../functions/cloudtrail-ingest.js'),
    await import('./parse-path.js'),
  );
};

/**
 * The handlers as Lambda runs them: the esbuild bundles built with the CDK construct's options
 * (minified, no tsx transform, whose keep-names wrappers cost several % on closures in hot paths).
 * Only for a store that never throws: errors from the bench's copy of lib/ are not `instanceof` the
 * bundle's own classes, so fault classification would not see them.
 */
export const loadBundledHandlers = async (root: string): Promise<Handlers> => {
  setHandlerEnv();
  const dir = mkdtempSync(join(tmpdir(), 'eks-trail-bench-handlers-'));
  const built = async <T>(entry: string): Promise<T> => {
    const out = join(dir, `${entry.replace(/[/.]/g, '-')}.mjs`);
    await bundleEntry(join(root, entry), out);
    return (await import(pathToFileURL(out).href)) as T;
  };
  try {
    return wrap(
      await built<LogIngestModule>('functions/log-ingest.ts'),
      await built<CloudTrailIngestModule>('functions/cloudtrail-ingest.ts'),
      await built<ParsePathModule>('bench/parse-path.ts'),
    );
  } finally {
    // Imported modules stay loaded; the files are not needed once imported.
    rmSync(dir, { recursive: true, force: true });
  }
};
