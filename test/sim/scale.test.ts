import { describe, expect, it } from 'vitest';
import { toDeliveries } from '../../sim/delivery.js';
import { buildFleet } from '../../sim/fleet.js';
import { realisticDurationMs, simulate } from '../../sim/scenario.js';
import { REALISTIC_FLEET } from '../../sim/traffic-mix.js';

// Throughput and memory at scale are measured by `npm run bench`, not asserted here. What a test can
// prove is the property that makes scale possible: generation and delivery are lazy, so the first
// deliveries of a ten-million-request scenario arrive without the scenario ever being materialised.
describe('simulator laziness', () => {
  it('yields the first deliveries of a 10M-request scenario without generating the rest', () => {
    const fleet = buildFleet({
      seed: 1,
      clusters: 6,
      accountsPerOrg: 3,
      ssoUsers: 20,
      iamUsers: 10,
      roles: 3,
      nodesPerCluster: 10,
      serviceAccounts: 3,
    });
    let emitted = 0;
    const scenario = simulate(fleet, {
      seed: 1,
      requests: 10_000_000,
      start: '2025-06-02T00:00:00Z',
      durationMs: 30 * 24 * 3600_000,
      mappingChanges: true,
    });
    const counted = (function* () {
      for (const e of scenario) {
        emitted++;
        yield e;
      }
    })();
    const first = [];
    for (const d of toDeliveries(counted, { seed: 1, lateFraction: 0.02, duplicateFraction: 0.01 })) {
      first.push(d);
      if (first.length === 3) break;
    }
    expect(first).toHaveLength(3);
    // A Kinesis record holds at most 1 MB of events; three deliveries need a few thousand emissions at most.
    expect(emitted).toBeLessThan(200_000);
  });

  it('yields the first deliveries of a 10M-request realistic scenario without generating the rest', () => {
    const fleet = buildFleet({ seed: 2, ...REALISTIC_FLEET });
    let emitted = 0;
    const scenario = simulate(fleet, {
      seed: 2,
      requests: 10_000_000,
      start: '2025-06-02T00:00:00Z',
      durationMs: realisticDurationMs(fleet, 10_000_000),
      mappingChanges: true,
      mix: 'realistic',
    });
    const counted = (function* () {
      for (const e of scenario) {
        emitted++;
        yield e;
      }
    })();
    const first = [];
    for (const d of toDeliveries(counted, { seed: 2, kinesisBatchWindowMs: 1_000 })) {
      first.push(d);
      if (first.length === 3) break;
    }
    expect(first).toHaveLength(3);
    expect(emitted).toBeLessThan(200_000);
  });
});
