import { readFileSync } from 'node:fs';
import { silentLogger } from '../lib/structured-logger.js';
import { BenchTrailStore } from './memory-store.js';

/**
 * Runs in its own process (bundled by esbuild like the Lambda function): loads the real log-ingest
 * handler module, primes the in-memory store with the CloudTrail side, then hands the handler one
 * Kinesis batch read from a file, and reports peak RSS. Output: one JSON line on stdout.
 */

const noopMetrics = {
  addMetric: () => {},
  singleMetric: () => ({ addDimension: () => {}, addMetric: () => {} }),
};

const main = async (): Promise<void> => {
  const [eventFile, sqsFile] = process.argv.slice(2);
  if (!eventFile || !sqsFile) throw new Error('usage: memory-child <kinesis-event.json> <sqs-events.json>');
  process.env['TABLE_NAME'] ??= 'eks-trail-bench';
  process.env['ALERT_TOPIC_ARN'] ??= 'arn:aws:sns:us-east-1:111111111111:eks-trail-bench-alerts';
  process.env['AWS_REGION'] ??= 'us-east-1';
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'SILENT';
  const log = await import('../functions/log-ingest.js');
  const ct = await import('../functions/cloudtrail-ingest.js');
  const store = new BenchTrailStore();
  const now = () => Date.now();
  const deps = { store, logger: silentLogger, metrics: noopMetrics as never, now };
  for (const e of JSON.parse(readFileSync(sqsFile, 'utf8')) as unknown[]) await ct.ingestSqsEvent(e as never, deps);
  const baselineRss = process.memoryUsage().rss;
  // As the Lambda runtime does: the invocation payload arrives as text and is parsed into the event.
  const event = JSON.parse(readFileSync(eventFile, 'utf8')) as unknown;
  const t = performance.now();
  const res = (await log.ingestLogEvent(event, deps)) as { batchItemFailures?: unknown[] } | undefined;
  const ms = performance.now() - t;
  process.stdout.write(
    `${JSON.stringify({
      baselineRssBytes: baselineRss,
      // resourceUsage().maxRSS is in kilobytes.
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      chains: store.counts.chains,
      failures: res?.batchItemFailures?.length ?? 0,
      handlerMs: ms,
    })}\n`,
  );
};

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
