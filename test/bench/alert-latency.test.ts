import { beforeAll, describe, expect, it } from 'vitest';
import { type AlertLatencyResult, measureAlertLatency } from '../../bench/alert-latency.js';
import { parseBenchArgs } from '../../bench/config.js';
import { machineInfo } from '../../bench/machine.js';
import { type BenchResults, benchJson, renderMarkdown, summaryRows } from '../../bench/report.js';

/**
 * The alert latency and cost measurement on a small simulated fleet: its shape, and the properties of
 * the delivery model it measures (the figures themselves are the bench's, never asserted here).
 */

let configured: AlertLatencyResult;
let noWindow: AlertLatencyResult;

beforeAll(async () => {
  configured = await measureAlertLatency({ seed: 3, requests: 300, clusters: 2 });
  noWindow = await measureAlertLatency({ seed: 3, requests: 300, clusters: 2, logBatchingWindowSeconds: 0 });
}, 240_000);

describe('measureAlertLatency', () => {
  it('reports p50, p95, the alerts measured, the cost per thousand alerts and its assumptions', () => {
    expect(configured.alerts).toBeGreaterThan(0);
    expect(configured.p50Ms).toBeGreaterThan(0);
    expect(configured.p95Ms).toBeGreaterThanOrEqual(configured.p50Ms);
    expect(configured.costPerThousandAlertsUsd).toBeGreaterThan(0);
    const parts = Object.entries(configured.costBreakdownPerThousandUsd)
      .filter(([k]) => !k.startsWith('optional'))
      .reduce((n, [, v]) => n + v, 0);
    expect(parts).toBeCloseTo(configured.costPerThousandAlertsUsd, 12);
    expect(configured.assumptions.join('\n')).toMatch(/300 s batching window/);
  });

  it('measures both delivery paths: the audit log through Kinesis and CloudTrail through SQS', () => {
    expect(configured.paths.log.alerts).toBeGreaterThan(0);
    expect(configured.paths.cloudtrail.alerts).toBeGreaterThan(0);
    expect(configured.paths.log.alerts + configured.paths.cloudtrail.alerts).toBe(configured.alerts);
    expect(configured.invocations.log).toBeGreaterThan(0);
  });

  it('waits out the SQS batching window on the CloudTrail path', () => {
    expect(configured.paths.cloudtrail.p50Ms).toBeGreaterThanOrEqual(5_000);
  });

  it('lets a quiet fleet wait for the log batching window, and not without one', () => {
    // On this quiet fleet no batch fills, so every log batch closes on its window.
    expect(configured.paths.logFromStream.p50Ms).toBeGreaterThan(noWindow.paths.logFromStream.p95Ms);
    expect(noWindow.invocations.log).toBeGreaterThan(configured.invocations.log);
  });

  it('raises the same mapping-change alerts whatever the batching', () => {
    // First uses are judged on the chain correlated at ingest, so which batch carries the change and
    // which the request can move them; `alerts --rerun` gives the answer over the stored history.
    const changes = (r: AlertLatencyResult) =>
      r.alertIds.filter((id) => !id.startsWith('new-mapping-first-use#')).sort();
    expect(changes(noWindow)).toEqual(changes(configured));
    expect(changes(configured).length).toBeGreaterThan(0);
  });
});

describe('the alerts section of the bench report', () => {
  const results = (alerts?: AlertLatencyResult): BenchResults => ({
    config: parseBenchArgs(['--quick', '--only=alerts']),
    machine: machineInfo(process.cwd(), new Date('2026-12-04T10:00:00Z')),
    wallMs: 1,
    ...(alerts ? { alerts } : {}),
    failures: [],
  });

  it('puts p50, p95 and the cost per thousand alerts in BENCHMARKS.json, BENCHMARKS.md and the summary', () => {
    const json = JSON.parse(JSON.stringify(benchJson(results(configured)))) as Record<string, unknown>;
    expect(json['alertLatencyMs']).toEqual({ p50: configured.p50Ms, p95: configured.p95Ms });
    expect(json['alertCostPerThousandUsd']).toBe(configured.costPerThousandAlertsUsd);
    expect((json['detail'] as Record<string, unknown>)['alerts']).toMatchObject({ alerts: configured.alerts });
    const md = renderMarkdown(results(configured));
    expect(md).toContain('## 8. Event-to-alert latency and cost per thousand alerts');
    expect(md).toContain('300 s batching window');
    expect(summaryRows(results(configured)).map((r) => r.metric)).toEqual([
      expect.stringMatching(/^event-to-alert latency p50 \/ p95/),
      'cost per 1,000 alerts',
    ]);
  });

  it('leaves the alert figures null when the section did not run', () => {
    const json = benchJson(results());
    expect(json['alertLatencyMs']).toEqual({ p50: null, p95: null });
    expect(json['alertCostPerThousandUsd']).toBeNull();
    expect(renderMarkdown(results())).not.toContain('## 8.');
  });
});
