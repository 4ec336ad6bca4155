import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CloudTrailIngestSummary } from '../../lib/ingest/cloudtrail-pipeline.js';
import type { LogIngestSummary } from '../../lib/ingest/log-pipeline.js';
import type { QuarantineCounts } from '../../lib/ingest/types.js';

/**
 * EMF namespace of every ingest metric; the CDK alarms (quarantine count, ingestion errors, lag)
 * read the same names, so keep them stable.
 */
export const METRICS_NAMESPACE = 'EksAccessTrail';

export const METRIC = {
  recordsIn: 'RecordsIn',
  requestsStored: 'RequestsStored',
  quarantined: 'Quarantined',
  failedItems: 'FailedBatchItems',
  duplicates: 'Duplicates',
  lag: 'IngestLagMs',
  iteratorAge: 'IteratorAgeMs',
  mappingChanges: 'NewMappingChanges',
  credentials: 'NewCredentials',
  reenriched: 'ChainsReenriched',
  failedCalls: 'FailedAwsCalls',
  invalidUtf8: 'InvalidUtf8Records',
} as const;

type MetricsLike = Pick<Metrics, 'addMetric' | 'singleMetric'>;

/** One EMF document per code, with the code as a dimension, so an alarm can watch a single code. */
const publishQuarantine = (metrics: MetricsLike, counts: QuarantineCounts): void => {
  let total = 0;
  for (const [code, n] of Object.entries(counts)) {
    if (!n) continue;
    total += n;
    const single = metrics.singleMetric();
    single.addDimension('Code', code);
    single.addMetric(METRIC.quarantined, MetricUnit.Count, n);
  }
  metrics.addMetric(METRIC.quarantined, MetricUnit.Count, total);
};

export const publishLogSummary = (
  metrics: MetricsLike,
  summary: LogIngestSummary,
  extra: { iteratorAgeMs?: number } = {},
): void => {
  metrics.addMetric(METRIC.recordsIn, MetricUnit.Count, summary.recordsIn);
  metrics.addMetric(METRIC.requestsStored, MetricUnit.Count, summary.requestsStored);
  metrics.addMetric(METRIC.failedItems, MetricUnit.Count, summary.failedItemIds.length);
  metrics.addMetric(METRIC.duplicates, MetricUnit.Count, summary.duplicates);
  metrics.addMetric(METRIC.mappingChanges, MetricUnit.Count, summary.newMappingChanges);
  metrics.addMetric(METRIC.invalidUtf8, MetricUnit.Count, summary.invalidUtf8);
  publishQuarantine(metrics, summary.quarantined);
  if (summary.lagMs !== undefined) metrics.addMetric(METRIC.lag, MetricUnit.Milliseconds, summary.lagMs);
  if (extra.iteratorAgeMs !== undefined) {
    metrics.addMetric(METRIC.iteratorAge, MetricUnit.Milliseconds, extra.iteratorAgeMs);
  }
};

export const publishCloudTrailSummary = (metrics: MetricsLike, summary: CloudTrailIngestSummary): void => {
  metrics.addMetric(METRIC.recordsIn, MetricUnit.Count, summary.events);
  metrics.addMetric(METRIC.failedItems, MetricUnit.Count, summary.failedItemIds.length);
  metrics.addMetric(METRIC.duplicates, MetricUnit.Count, summary.duplicates);
  metrics.addMetric(METRIC.mappingChanges, MetricUnit.Count, summary.newMappingChanges);
  metrics.addMetric(METRIC.credentials, MetricUnit.Count, summary.newCredentials);
  metrics.addMetric(METRIC.reenriched, MetricUnit.Count, summary.requestsReenriched);
  metrics.addMetric(METRIC.failedCalls, MetricUnit.Count, summary.failedCalls);
  publishQuarantine(metrics, summary.quarantined);
};
