import { gunzipSync } from 'node:zlib';
import { finalChains } from '../lib/chain/rederive.js';
import type { DecisionChain } from '../lib/chain/types.js';
import { startLocalEngine } from '../lib/local/engine.js';
import { countCommands, FULL_TABLE_READS } from '../lib/store/command-counter.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import type { GroundTruth } from '../sim/index.js';
import { type AgreementReport, agreementReport } from '../sim/truth-compare.js';
import type { Handlers } from './handlers.js';
import { elapsedMs } from './stats.js';
import { buildWorkload, SIM_START, windowMs } from './workload.js';
import { type CapacityTotals, meterCapacity } from './write-units.js';

/**
 * End-to-end ingestion into the embedded engine (dynalite in process, as the CLI's local mode runs
 * it): the handlers' entry points with the real DynamoDbTrailStore, every delivery of a simulated
 * scenario with mapping changes, late and duplicated records, in arrival order. Then the correctness
 * check: every stored chain against the simulator's ground truth, both as stored at write time and as
 * the query layer answers it (re-derived from stored facts and the evidence as it now stands).
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
  /** Kinesis records per Lambda invocation (the event source mapping's batch size). */
  kinesisBatchSize?: number;
}

export interface AgreementSummary {
  requests: number;
  agreeing: number;
  agreement: number;
  /** Field -> share of requests whose field agreed. */
  fields: Record<string, number>;
  /** Largest mismatch classes. */
  topMismatches: { field: string; shape: string; count: number; example?: string }[];
}

export interface EngineIngestResult {
  requests: number;
  logEvents: number;
  cloudTrailEvents: number;
  kinesisRecords: number;
  sqsMessages: number;
  failedBatchItems: number;
  wallMs: number;
  eventsPerS: number;
  requestsPerS: number;
  capacity: CapacityTotals;
  writeUnitsPer1000Requests: number;
  readUnitsPer1000Requests: number;
  writeCostPerMillionRequests: number;
  readCostPerMillionRequests: number;
  scans: number;
  storedChains: number;
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
  };
};

const truthKey = (accountId: string | undefined, cluster: string, auditID: string | undefined) =>
  `${accountId ?? ''}\u0000${cluster}\u0000${auditID ?? ''}`;

export const runEngineIngest = async (opts: EngineIngestOptions, handlers: Handlers): Promise<EngineIngestResult> => {
  const w = buildWorkload({
    seed: opts.seed,
    requests: opts.requests,
    mappingChanges: true,
    lateFraction: opts.lateFraction,
    duplicateFraction: opts.duplicateFraction,
    ...(opts.kinesisBatchSize !== undefined ? { kinesisBatchSize: opts.kinesisBatchSize } : {}),
  });
  let logEvents = 0;
  for (const d of w.deliveries)
    if (d.kind === 'kinesis')
      for (const r of d.event.Records)
        logEvents += (
          JSON.parse(gunzipSync(Buffer.from(r.kinesis.data, 'base64')).toString('utf8')) as { logEvents: unknown[] }
        ).logEvents.length;
  const truths: GroundTruth[] = w.truths;
  const endMs = Date.parse(SIM_START) + windowMs(opts.requests);
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
    const scans = FULL_TABLE_READS.reduce((n, c) => n + counter.count(c), 0);
    meter.detach();

    // Correctness: every chain of every cluster over the window (plus margin for clock skew).
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
    const pairs = (m: Map<string, DecisionChain>) =>
      truths.map((truth) => ({ truth, chain: m.get(truthKey(truth.accountId, truth.cluster, truth.auditID)) }));

    const requests = truths.length;
    const writeUnits = capacity.tableWriteUnits + capacity.indexWriteUnits + capacity.failedConditionWriteUnits;
    const perRequestWrite = writeUnits / Math.max(1, requests);
    const perRequestRead = capacity.engineReadUnits / Math.max(1, requests);
    return {
      requests,
      logEvents,
      cloudTrailEvents: w.sqsRecords,
      kinesisRecords: w.kinesisRecords,
      sqsMessages: w.sqsRecords,
      failedBatchItems: failed,
      wallMs,
      eventsPerS: (logEvents + w.sqsRecords) / (wallMs / 1000),
      requestsPerS: requests / (wallMs / 1000),
      capacity,
      writeUnitsPer1000Requests: perRequestWrite * 1000,
      readUnitsPer1000Requests: perRequestRead * 1000,
      writeCostPerMillionRequests: perRequestWrite * PRICES.writeRequestUnitPerMillion,
      readCostPerMillionRequests: perRequestRead * PRICES.readRequestUnitPerMillion,
      scans,
      storedChains,
      answered: summarise(agreementReport(pairs(answered))),
    };
  } finally {
    await engine.stop();
  }
};
