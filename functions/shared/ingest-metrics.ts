import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CloudTrailIngestSummary } from '../../lib/ingest/cloudtrail-pipeline.js';
import type { LogIngestSummary } from '../../lib/ingest/log-pipeline.js';
import type { QuarantineCounts } from '../../lib/ingest/types.js';
import { CLUSTER_DIMENSION, METRICS } from '../../lib/runtime-env.js';

/**
 * EMF namespace of every ingest metric; the CDK alarms (quarantine count, cluster silence, errors,
 * lag) read the same names from lib/runtime-env.ts, so an alarm can never watch a name nobody emits.
 */
export const METRICS_NAMESPACE = METRICS.namespace;

export const METRIC = {
  recordsIn: METRICS.recordsIn,
  requestsStored: 'RequestsStored',
  quarantined: METRICS.quarantined,
  clusterLogEvents: METRICS.clusterLogEvents,
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

/**
 * One EMF document per cluster heard from. Nothing is published for a silent cluster: the alarm
 * counts a missing datapoint as breaching, which is exactly "this cluster sent nothing".
 */
const publishClusterActivity = (metrics: MetricsLike, byCluster: Record<string, number>): void => {
  for (const [cluster, n] of Object.entries(byCluster)) {
    const single = metrics.singleMetric();
    single.addDimension(CLUSTER_DIMENSION, cluster);
    single.addMetric(METRIC.clusterLogEvents, MetricUnit.Count, n);
  }
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
  publishClusterActivity(metrics, summary.logEventsByCluster);
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
