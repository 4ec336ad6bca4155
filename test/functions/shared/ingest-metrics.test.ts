import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRIC, publishCloudTrailSummary, publishLogSummary } from '../../../functions/shared/ingest-metrics.js';
import type { CloudTrailIngestSummary } from '../../../lib/ingest/cloudtrail-pipeline.js';
import type { LogIngestSummary } from '../../../lib/ingest/log-pipeline.js';
import { CLUSTER_DIMENSION, METRICS } from '../../../lib/runtime-env.js';

/** Records what the handlers hand to Powertools Metrics (EMF output itself is Powertools' job). */
const recorder = () => {
  const calls: { metric: string; value: number; unit: string; dimensions: Record<string, string> }[] = [];
  const metrics = {
    addMetric: (metric: string, unit: string, value: number) =>
      void calls.push({ metric, unit, value, dimensions: {} }),
    singleMetric: () => {
      const dimensions: Record<string, string> = {};
      return {
        addDimension: (k: string, v: string) => {
          dimensions[k] = v;
        },
        addMetric: (metric: string, unit: string, value: number) =>
          void calls.push({ metric, unit, value, dimensions }),
      };
    },
  };
  return { calls, metrics: metrics as unknown as Parameters<typeof publishLogSummary>[0] };
};

const logSummary: LogIngestSummary = {
  items: 3,
  recordsIn: 120,
  auditEvents: 90,
  authenticatorLines: 25,
  // A watch logs two stages of one request: stages outnumber requests.
  requestsStored: 88,
  stagesStored: 90,
  authnFailureChains: 2,
  authenticatorRecords: 25,
  segments: 4,
  mappingChanges: 4,
  newMappingChanges: 1,
  duplicates: 3,
  skippedControlMessages: 0,
  skippedOtherStreams: 0,
  skippedUnrecognised: 0,
  invalidUtf8: 1,
  quarantined: { AUDIT_NOT_JSON: 2, ENVELOPE_NOT_GZIP: 1 },
  quarantineRejected: 0,
  evidenceFallbacks: 0,
  logEventsByCluster: { '222222222222/eu-west-1/prod': 100, '333333333333/eu-west-1/staging': 20 },
  lagMs: 4_500,
  outcomes: [],
  failedItemIds: ['49635052289529725553291405521504870233219489715332317186'],
};

describe('ingest metrics', () => {
  it('publishes records, requests stored, failures, invalid UTF-8 records, lag, iterator age and one quarantine metric per code', () => {
    const { calls, metrics } = recorder();
    publishLogSummary(metrics, logSummary, { iteratorAgeMs: 61_000 });
    const plain = Object.fromEntries(
      calls.filter((c) => Object.keys(c.dimensions).length === 0).map((c) => [c.metric, c.value]),
    );
    expect(plain).toEqual({
      [METRIC.recordsIn]: 120,
      [METRIC.requestsStored]: 88,
      [METRIC.failedItems]: 1,
      [METRIC.duplicates]: 3,
      [METRIC.mappingChanges]: 1,
      [METRIC.invalidUtf8]: 1,
      [METRIC.quarantined]: 3,
      [METRIC.lag]: 4_500,
      [METRIC.iteratorAge]: 61_000,
    });
    expect(calls.filter((c) => c.dimensions['Code']).map((c) => [c.dimensions['Code'], c.value])).toEqual([
      ['AUDIT_NOT_JSON', 2],
      ['ENVELOPE_NOT_GZIP', 1],
    ]);
    expect(calls.find((c) => c.metric === METRIC.lag)?.unit).toBe('Milliseconds');
  });

  it('omits lag when the batch held no log event', () => {
    const { calls, metrics } = recorder();
    const { lagMs: _lag, ...noLag } = logSummary;
    publishLogSummary(metrics, noLag);
    expect(calls.some((c) => c.metric === METRIC.lag || c.metric === METRIC.iteratorAge)).toBe(false);
  });

  it('publishes the CloudTrail counters', () => {
    const { calls, metrics } = recorder();
    const summary: CloudTrailIngestSummary = {
      items: 4,
      events: 3,
      mappingChanges: 2,
      newMappingChanges: 2,
      credentials: 1,
      newCredentials: 1,
      requestsReenriched: 5,
      failedCalls: 1,
      skippedUnsupported: 0,
      duplicates: 0,
      quarantined: { ENVELOPE_NOT_JSON: 1 },
      quarantineRejected: 0,
      outcomes: [],
      failedItemIds: [],
    };
    publishCloudTrailSummary(metrics, summary);
    const plain = Object.fromEntries(
      calls.filter((c) => Object.keys(c.dimensions).length === 0).map((c) => [c.metric, c.value]),
    );
    expect(plain).toMatchObject({
      [METRIC.recordsIn]: 3,
      [METRIC.reenriched]: 5,
      [METRIC.credentials]: 1,
      [METRIC.failedCalls]: 1,
      [METRIC.quarantined]: 1,
    });
  });
});

describe('ingest metrics as CloudWatch receives them (EMF)', () => {
  afterEach(() => vi.restoreAllMocks());

  /** The EMF documents a real Powertools Metrics writes for one log summary, as the function would. */
  const emf = (): { name: string; dimensions: string[][]; values: Record<string, unknown> }[] => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'log-ingest' });
    publishLogSummary(metrics, logSummary);
    metrics.publishStoredMetrics();
    vi.restoreAllMocks();
    return out
      .map(
        (l) =>
          JSON.parse(l) as {
            _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
          } & Record<string, unknown>,
      )
      .flatMap((doc) =>
        doc._aws.CloudWatchMetrics.flatMap((d) => {
          expect(d.Namespace).toBe(METRICS.namespace);
          return d.Metrics.map((m) => ({ name: m.Name, dimensions: d.Dimensions, values: doc }));
        }),
      );
  };

  it('emits RecordsIn under {service}, which the log path silence alarm reads', () => {
    expect(emf().filter((m) => m.name === METRICS.recordsIn)).toMatchObject([
      { dimensions: [['service']], values: { service: 'log-ingest', [METRICS.recordsIn]: 120 } },
    ]);
  });

  it('emits the quarantine total under exactly the name and the {service} dimension the CDK alarm reads', () => {
    const total = emf().filter((m) => m.name === METRICS.quarantined && m.dimensions[0]?.length === 1);
    expect(total).toHaveLength(1);
    expect(total[0]).toMatchObject({
      dimensions: [['service']],
      values: { service: 'log-ingest', [METRICS.quarantined]: 3 },
    });
  });

  it('emits one ClusterLogEvents datapoint per cluster heard from, under {service, cluster}', () => {
    const perCluster = emf().filter((m) => m.name === METRICS.clusterLogEvents);
    expect(
      perCluster.map((m) => [m.dimensions, m.values[CLUSTER_DIMENSION], m.values[METRICS.clusterLogEvents]]),
    ).toEqual([
      [[['service', CLUSTER_DIMENSION]], '222222222222/eu-west-1/prod', 100],
      [[['service', CLUSTER_DIMENSION]], '333333333333/eu-west-1/staging', 20],
    ]);
  });
});
