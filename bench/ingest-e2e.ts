import { gunzipSync } from 'node:zlib';
import { finalChains } from '../lib/chain/rederive.js';
import type { DecisionChain } from '../lib/chain/types.js';
import { startLocalEngine } from '../lib/local/engine.js';
import { countCommands, FULL_TABLE_READS } from '../lib/store/command-counter.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import type { GroundTruth, TrafficMixName } from '../sim/index.js';
import { type AgreementReport, agreementReport } from '../sim/truth-compare.js';
import type { Handlers } from './handlers.js';
import { elapsedMs } from './stats.js';
import { measureStorage, type StorageReport } from './storage.js';
import { buildWorkload, SIM_START, windowMs } from './workload.js';
import { type CapacityTotals, meterCapacity } from './write-units.js';

/**
 * End-to-end ingestion into the embedded engine (dynalite in process, as the CLI's local mode runs
 * it), once per traffic mix: the handlers' entry points with the real DynamoDbTrailStore, every
 * delivery of a simulated scenario with mapping changes, late and duplicated records, in arrival
 * order, batched as the deployed log function's event source mapping batches (bench/workload.ts
 * DELIVERY_SETTINGS). Measured: write units on the wire (bench/write-units.ts), the table's final
 * state (bench/storage.ts), and correctness: every request against the simulator's ground truth as
 * the questions answer it (derived from the stored facts with the evidence as it now stands).
 */

/** On-demand prices, us-east-1, standard table class, since the 2024-11-01 price cut (see BENCHMARKS.md). */
export const PRICES = {
  writeRequestUnitPerMillion: 0.625,
  readRequestUnitPerMillion: 0.125,
  region: 'us-east-1',
  asOf: '2024-11-01',
} as const;

export interface EngineIngestOptions {
  requests: number;
  seed: number;
  lateFraction: number;
  duplicateFraction: number;
  /** Traffic mix (sim/traffic-mix.ts). */
  mix: TrafficMixName;
}

export interface AgreementSummary {
  requests: number;
  agreeing: number;
  agreement: number;
  /** Field -> share of requests whose field agreed. */
  fields: Record<string, number>;
  /** Largest mismatch classes. */
  topMismatches: { field: string; shape: string; count: number; example?: string }[];
  /** Requests that agree only because a written UNKNOWABLE rule excused a field, by rule. */
  excused: Record<string, number>;
}

export interface EngineIngestResult {
  mix: TrafficMixName;
  requests: number;
  /** Simulated time the scenario spans. */
  simulatedMs: number;
  logEvents: number;
  cloudTrailEvents: number;
  kinesisRecords: number;
  kinesisInvocations: number;
  sqsMessages: number;
  sqsInvocations: number;
  failedBatchItems: number;
  wallMs: number;
  eventsPerS: number;
  requestsPerS: number;
  capacity: CapacityTotals;
  writeUnitsPer1000Requests: number;
  readUnitsPer1000Requests: number;
  writeCostPerMillionRequests: number;
  readCostPerMillionRequests: number;
  /** The table once ingestion is over (bench/storage.ts). */
  storage: StorageReport;
  storedBytesPerRequest: number;
  scans: number;
  storedChains: number;
  correctnessMs: number;
  answered: AgreementSummary;
}

const summarise = (r: AgreementReport): AgreementSummary => {
  const fields: Record<string, number> = {};
  for (const [f, v] of Object.entries(r.fieldAgreement)) fields[f] = v.requests === 0 ? 1 : v.agreeing / v.requests;
  return {
    requests: r.requests,
    agreeing: r.agreeing,
    agreement: r.agreement,
    fields,
    topMismatches: r.classes.slice(0, 8).map((c) => {
      const m: AgreementSummary['topMismatches'][number] = { field: c.field, shape: c.shape, count: c.count };
      if (c.examples[0] !== undefined) m.example = c.examples[0];
      return m;
    }),
    excused: { ...r.excused },
  };
};

const truthKey = (accountId: string | undefined, cluster: string, auditID: string | undefined) =>
  `${accountId ?? ''}\u0000${cluster}\u0000${auditID ?? ''}`;

export const runEngineIngest = async (opts: EngineIngestOptions, handlers: Handlers): Promise<EngineIngestResult> => {
  const w = buildWorkload({
    seed: opts.seed,
    requests: opts.requests,
    mix: opts.mix,
    mappingChanges: true,
    lateFraction: opts.lateFraction,
    duplicateFraction: opts.duplicateFraction,
  });
  let logEvents = 0;
  let kinesisInvocations = 0;
  for (const d of w.deliveries)
    if (d.kind === 'kinesis') {
      kinesisInvocations++;
      for (const r of d.event.Records)
        logEvents += (
          JSON.parse(gunzipSync(Buffer.from(r.kinesis.data, 'base64')).toString('utf8')) as { logEvents: unknown[] }
        ).logEvents.length;
    }
  const truths: GroundTruth[] = w.truths;
  const simulatedMs = windowMs(opts.requests, opts.mix);
  const endMs = Date.parse(SIM_START) + simulatedMs;
  const now = () => endMs + 3_600_000;

  const engine = await startLocalEngine({ inMemory: true, tableName: 'eks-trail-bench' });
  try {
    const meter = meterCapacity(engine.client, { trackState: true });
    const counter = countCommands(engine.client);
    const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName, now });
    await store.putMappingChanges(w.initialMappings);
    let failed = 0;
    const t = process.hrtime.bigint();
    for (const d of w.deliveries) {
      const res = (await (d.kind === 'kinesis'
        ? handlers.kinesis(d.event, store, now)
        : handlers.sqs(d.event, store, now))) as { batchItemFailures?: unknown[] } | undefined;
      failed += res?.batchItemFailures?.length ?? 0;
    }
    const wallMs = elapsedMs(t);
    const capacity = meter.totals();
    meter.detach();
    const storage = await measureStorage(engine.endpoint, engine.tableName);

    // Correctness: every request of every cluster over the window (plus margin for clock skew), as the
    // questions derive it from the stored facts with the evidence as it now stands.
    const tc = process.hrtime.bigint();
    const range = {
      from: new Date(Date.parse(SIM_START) - 3_600_000).toISOString(),
      to: new Date(endMs + 3_600_000).toISOString(),
    };
    const answered = new Map<string, DecisionChain>();
    let storedChains = 0;
    for (const ref of await store.clusters()) {
      for (const c of await finalChains(store, ref, range)) {
        storedChains++;
        if (c.kind === 'request') answered.set(truthKey(ref.accountId, ref.cluster, c.auditID), c);
      }
    }
    const scans = FULL_TABLE_READS.reduce((n, c) => n + counter.count(c), 0);
    counter.detach();
    const report = agreementReport(
      truths.map((truth) => ({ truth, chain: answered.get(truthKey(truth.accountId, truth.cluster, truth.auditID)) })),
    );
    const correctnessMs = elapsedMs(tc);

    const requests = truths.length;
    const writeUnits = capacity.tableWriteUnits + capacity.indexWriteUnits + capacity.failedConditionWriteUnits;
    const perRequestWrite = writeUnits / Math.max(1, requests);
    const perRequestRead = capacity.engineReadUnits / Math.max(1, requests);
    return {
      mix: opts.mix,
      requests,
      simulatedMs,
      logEvents,
      cloudTrailEvents: w.sqsRecords,
      kinesisRecords: w.kinesisRecords,
      kinesisInvocations,
      sqsMessages: w.sqsRecords,
      sqsInvocations: w.deliveries.length - kinesisInvocations,
      failedBatchItems: failed,
      wallMs,
      eventsPerS: (logEvents + w.sqsRecords) / (wallMs / 1000),
      requestsPerS: requests / (wallMs / 1000),
      capacity,
      writeUnitsPer1000Requests: perRequestWrite * 1000,
      readUnitsPer1000Requests: perRequestRead * 1000,
      writeCostPerMillionRequests: perRequestWrite * PRICES.writeRequestUnitPerMillion,
      readCostPerMillionRequests: perRequestRead * PRICES.readRequestUnitPerMillion,
      storage,
      storedBytesPerRequest: storage.totalBytes / Math.max(1, requests),
      scans,
      storedChains,
      correctnessMs,
      answered: summarise(report),
    };
  } finally {
    await engine.stop();
  }
};
