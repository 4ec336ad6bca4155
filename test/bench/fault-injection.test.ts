import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FAULT_MIX,
  type FaultInjectionResult,
  faultInjectionMarkdown,
  faultInjectionSummaryRows,
  runFaultInjection,
} from '../../bench/fault-injection.js';

/**
 * The reduced fault-injection run (the full one is in the bench, BENCHMARKS.md "Fault injection"):
 * the same fault mix through the handlers into the embedded engine. A correctness check, not a timing:
 * no record lost or stored twice, no alert sent twice or left claimed and unsent.
 */
describe('fault injection through the handlers (reduced run)', () => {
  let result: FaultInjectionResult;

  it('loses no record, doubles none and sends no alert twice while >= 5 % of DynamoDB calls fail', {
    timeout: 900_000,
  }, async () => {
    // A few thousand requests make few BatchWriteItems: crashes are made likelier so some happen.
    result = await runFaultInjection({
      requests: 2_000,
      seed: 20_251_122,
      mix: 'realistic',
      faults: { ...DEFAULT_FAULT_MIX, crashAfterBatchWrite: 0.03 },
    });
    // The run exercised what it claims to: every fault kind fired, invocations crashed and were retried.
    expect(result.faultRate).toBeGreaterThanOrEqual(0.05);
    for (const [kind, count] of Object.entries(result.injected)) expect(count, kind).toBeGreaterThan(0);
    expect(result.redeliveries.kinesis).toBeGreaterThan(0);
    expect(result.alertsExpected).toBeGreaterThan(0);
    expect(result.baseline.requestsStored).toBeGreaterThan(1_900);
    expect(result.baseline.doubledRows).toBe(0);

    expect(result.lost).toEqual({ requests: 0, mappingChanges: 0, credentials: 0, examples: [] });
    expect(result.doubled).toEqual({ requests: 0, segmentRows: 0, postingRefs: 0, examples: [] });
    expect(result.alerts.sentMoreThanOnce).toBe(0);
    expect(result.alerts.claimedNeverSent).toBe(0);
  });

  it('reports the figures as summary rows and a BENCHMARKS.md section', (ctx) => {
    if (!result) ctx.skip();
    expect(faultInjectionSummaryRows(result).map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    const md = faultInjectionMarkdown(result).join('\n');
    expect(md).toContain('## Fault injection');
    expect(md).toContain('**records lost**');
    expect(md).toContain('crash right after a BatchWriteItem');
  });
});
