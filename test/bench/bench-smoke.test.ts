import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runColdStart } from '../../bench/cold-start.js';
import { BenchConfigError, parseBenchArgs } from '../../bench/config.js';
import { type HandlerMemoryResult, runHandlerMemory } from '../../bench/handler-memory.js';
import { type Handlers, loadHandlers } from '../../bench/handlers.js';
import { type IngestCpuResult, runIngestCpu, runIngestCpuIsolated } from '../../bench/ingest-cpu.js';
import { type EngineIngestResult, runEngineIngest } from '../../bench/ingest-e2e.js';
import { itemClassOf } from '../../bench/item-classes.js';
import { functionNodeArgs, lambdaRuntimeNodeArgs } from '../../bench/lambda-runtime.js';
import { machineInfo } from '../../bench/machine.js';
import { BenchTrailStore } from '../../bench/memory-store.js';
import { QUESTION_KEYS, type QueryLatencyResult, runQueryLatency } from '../../bench/query-latency.js';
import { type ReplayBenchResult, runReplayBench } from '../../bench/replay.js';
import { type BenchResults, benchJson, renderMarkdown, summaryRows } from '../../bench/report.js';
import { measureStorage } from '../../bench/storage.js';
import { DELIVERY_SETTINGS } from '../../bench/workload.js';
import { meterCapacity } from '../../bench/write-units.js';
import { LOG_STREAM_BATCHING } from '../../cdk/function-settings.js';
import type { MappingChange } from '../../lib/identity/types.js';
import { type LocalEngine, startLocalEngine } from '../../lib/local/engine.js';

/**
 * Proves each bench measurement runs end to end at tiny sizes and produces coherent figures. No
 * timing is asserted: timings belong to BENCHMARKS.md, not to a test on a shared machine.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const SEED = 424_242;
let handlers: Handlers;
/** What the measurements below produced, for the report checks at the end. */
const measured: {
  engine: EngineIngestResult[];
  replay?: ReplayBenchResult;
  query?: QueryLatencyResult;
  memory?: HandlerMemoryResult;
  cpu?: IngestCpuResult;
} = { engine: [] };

beforeAll(async () => {
  handlers = await loadHandlers();
});

describe('bench configuration', () => {
  it('defaults to the full sizes and shrinks them with --quick', () => {
    const full = parseBenchArgs([]);
    const quick = parseBenchArgs(['--quick']);
    expect(full.queryRequests).toBeGreaterThanOrEqual(1_000_000);
    expect(full.engineRequests).toBeGreaterThanOrEqual(100_000);
    expect(full.replayRequests).toBeGreaterThanOrEqual(100_000);
    expect(full.longWindowDays).toBe(90);
    expect(quick.queryRequests).toBeLessThan(full.queryRequests);
    expect(quick.engineRequests).toBeLessThan(full.engineRequests);
    expect(quick.replayRequests).toBeLessThan(full.replayRequests);
    expect(full.sections).toEqual(['cpu', 'engine', 'replay', 'query', 'memory', 'cold', 'alerts', 'faults']);
  });

  it('takes sizes from flags over environment variables', () => {
    const c = parseBenchArgs(['--engine-requests=1234', '--only=cpu,cold'], {
      BENCH_ENGINE_REQUESTS: '99',
      BENCH_QUERY_REQUESTS: '5000',
    });
    expect(c.engineRequests).toBe(1234);
    expect(c.queryRequests).toBe(5000);
    expect(c.sections).toEqual(['cpu', 'cold']);
  });

  it("delivers with the deployed log function's Kinesis batching", () => {
    expect(DELIVERY_SETTINGS).toEqual({
      kinesisBatchSize: LOG_STREAM_BATCHING.batchSize,
      kinesisBatchWindowMs: LOG_STREAM_BATCHING.maxBatchingWindowSeconds * 1000,
    });
  });

  it.each([
    ['an unknown flag', ['--engine-reqs=5']],
    ['a negative size', ['--query-requests=-1']],
    ['a size that is not a number', ['--cpu-rounds=many']],
    ['an unknown section', ['--only=cpu,disk']],
    ['a positional argument', ['quick']],
  ])('refuses %s', (_kind, argv) => {
    expect(() => parseBenchArgs(argv)).toThrow(BenchConfigError);
  });
});

describe('bench store stub', () => {
  const observation = (at: string, auditID: string): MappingChange => ({
    cluster: 'payments-prod',
    accountId: '111122223333',
    at,
    sourceEventId: auditID,
    source: 'audit',
    actor: {},
    op: { kind: 'principal-id-observed', matchKey: 'arn:aws:iam::111122223333:role/dev', principalId: 'AROAEXAMPLE' },
  });

  it('keeps one principal-id observation per principal and id, the earliest, as the table does', async () => {
    const s = new BenchTrailStore();
    expect(await s.putMappingChanges([observation('2025-06-02T10:00:00.000Z', 'a')])).toHaveLength(1);
    expect(await s.putMappingChanges([observation('2025-06-02T11:00:00.000Z', 'b')])).toHaveLength(0);
    await s.putMappingChanges([observation('2025-06-02T09:00:00.000Z', 'c')]);
    const all = await s.mappingChanges({ cluster: 'payments-prod', accountId: '111122223333' });
    expect(all.map((c) => c.sourceEventId)).toEqual(['c']);
  });
});

describe('write-unit meter against a real engine', () => {
  let engine: LocalEngine;
  beforeAll(async () => {
    engine = await startLocalEngine({ inMemory: true, tableName: 'bench-meter' });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  const put = (sk: string, gsi1sk: string | undefined, pad: number, condition?: string) =>
    engine.client.send(
      new PutItemCommand({
        TableName: 'bench-meter',
        Item: {
          pk: { S: 'P#1' },
          sk: { S: sk },
          data: { S: 'x'.repeat(pad) },
          ...(gsi1sk ? { gsi1pk: { S: 'G#1' }, gsi1sk: { S: gsi1sk } } : {}),
        },
        ...(condition ? { ConditionExpression: condition } : {}),
      }),
    );

  it('charges item size per KB, index entries by change, and refused conditions', async () => {
    const meter = meterCapacity(engine.client, { trackState: true });
    await put('A', 'k1', 1500); // new item, 2 KB, one index entry appears
    await put('A', 'k1', 100); // replacement: charged the larger (old) size; same KEYS_ONLY entry: no index write
    await put('A', 'k2', 100); // index key changes: delete + put
    await put('A', undefined, 100); // index entry disappears
    await expect(put('A', undefined, 100, 'attribute_not_exists(pk)')).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    const t = meter.totals();
    meter.detach();
    expect(t.itemsWritten).toBe(4);
    expect(t.tableWriteUnits).toBe(2 + 2 + 1 + 1);
    expect(t.indexWriteUnits).toBe(1 + 0 + 2 + 1);
    expect(t.failedConditionalWrites).toBe(1);
    expect(t.failedConditionWriteUnits).toBe(1);
    expect(t.operations['PutItem']).toBe(5);
    expect(t.byClass.other).toEqual({
      itemsWritten: 4,
      tableWriteUnits: 6,
      indexWriteUnits: 4,
      failedConditionWriteUnits: 1,
    });
  });

  it("sizes the table's final state: items, 100 bytes of overhead each, and KEYS_ONLY index entries", async () => {
    await put('B', 'k9', 10);
    const s = await measureStorage(engine.endpoint, 'bench-meter');
    // A: pk(2+3) sk(2+1) data(4+100); B: pk(2+3) sk(2+1) data(4+10) gsi1pk(6+3) gsi1sk(6+2).
    expect(s.items).toBe(2);
    expect(s.itemBytes).toBe(112 + 39);
    expect(s.indexEntries).toBe(1);
    // Index entry: table keys (8) + index keys (17) + 100.
    expect(s.indexBytes).toBe(8 + 17 + 100);
    expect(s.totalBytes).toBe(112 + 39 + 2 * 100 + 125);
    expect(s.byClass.other?.items).toBe(2);
  });
});

describe('item classes', () => {
  it.each([
    ['S#1#c', '2025-06-02T08:05#AbCdEfGhIjKl#n', 'S# n'],
    ['S#1#c', '2025-06-02T08:05#AbCdEfGhIjKl#b.2', 'S# b'],
    ['N#1#c', '2025-06-02T08:05#AbCdEfGhIjKl', 'N#'],
    ['IP#arn:aws:iam::1:role/x', '2025-06-02T08:05#C#1#c#AbCdEfGhIjKl', 'IP#'],
    ['IO#C#1#c#leases#ns#n', '2025-06-02T08:05#AbCdEfGhIjKl', 'IO#'],
    ['R#C#1#c#id', '2025-06-02T08:05#AbCdEfGhIjKl', 'R#'],
    ['MC#C#1#c', 'x', 'MC#'],
    ['CRED#ASIA', 'CRED', 'CRED#'],
    ['CL#1#c', 'CLUSTER', 'CL#'],
    ['USAGE#C#1#c#k', 'USAGE', 'USAGE#'],
    ['P#1', 'A', 'other'],
  ])('%s / %s is %s', (pk, sk, cls) => {
    expect(itemClassOf(pk, sk)).toBe(cls);
  });
});

describe('Lambda node flags', () => {
  it('sizes the heap as the managed runtime bootstrap does: a tenth of memory young, half of it per semi-space, the rest old', () => {
    expect(lambdaRuntimeNodeArgs(1024)).toEqual(['--max-semi-space-size=51', '--max-old-space-size=922']);
    expect(lambdaRuntimeNodeArgs(512)).toEqual(['--max-semi-space-size=25', '--max-old-space-size=461']);
  });

  it("starts the log function's process with its memory size's heap flags, then the function's NODE_OPTIONS", () => {
    expect(functionNodeArgs('log-ingest')).toEqual([
      '--max-semi-space-size=51',
      '--max-old-space-size=922',
      '--enable-source-maps',
    ]);
  });
});

describe('bench measurements at tiny sizes', () => {
  it('measures the CPU path in a child process that really runs with the given node flags', {
    timeout: 120_000,
  }, async () => {
    const nodeArgs = functionNodeArgs('log-ingest');
    const r = await runIngestCpuIsolated({ requests: 150, rounds: 1, seed: SEED }, { root: ROOT, nodeArgs });
    measured.cpu = r;
    expect(r.nodeArgs).toEqual(nodeArgs);
    expect(r.chainsPerRun).toBeGreaterThan(0);
    expect(r.handlerMs).toHaveLength(1);
    expect(r.ratioToFloor).toBeGreaterThan(0);
  });

  it('measures the log handler CPU path against the floor', { timeout: 120_000 }, async () => {
    const r = await runIngestCpu({ requests: 150, rounds: 1, seed: SEED }, handlers);
    expect(r.logEvents).toBeGreaterThan(0);
    expect(r.jsonBytes).toBeGreaterThan(r.gzipBytes);
    expect(r.handlerMs).toHaveLength(1);
    expect(r.floorMs).toHaveLength(1);
    expect(r.chainsPerRun).toBeGreaterThan(0);
    expect(r.ratioToFloor).toBeGreaterThan(0);
    expect(r.parseMs).toHaveLength(1);
    expect(r.floorWithAuditJsonMs).toHaveLength(1);
    expect(r.auditEvents).toBeGreaterThan(0);
    expect(r.parseShare).toBeGreaterThan(0);
  });

  it.each(['realistic', 'human-heavy'] as const)(
    'ingests the %s mix into the engine, counts write units and storage, and compares with the truth',
    {
      timeout: 180_000,
    },
    async (mix) => {
      const r = await runEngineIngest(
        { mix, requests: 300, seed: SEED, lateFraction: 0.05, duplicateFraction: 0.05 },
        handlers,
      );
      measured.engine.push(r);
      expect(r.mix).toBe(mix);
      expect(r.requests).toBeGreaterThan(250);
      expect(r.failedBatchItems).toBe(0);
      expect(r.kinesisInvocations).toBeGreaterThan(0);
      // The meter's table part must equal what the engine itself reports for the same writes.
      expect(r.capacity.tableWriteUnits).toBe(r.capacity.engineTableWriteUnits);
      const byClass = Object.values(r.capacity.byClass);
      expect(byClass.reduce((n, c) => n + c.tableWriteUnits, 0)).toBe(r.capacity.tableWriteUnits);
      expect(byClass.reduce((n, c) => n + c.indexWriteUnits, 0)).toBe(r.capacity.indexWriteUnits);
      expect(r.capacity.byClass['S# b']?.itemsWritten).toBeGreaterThan(0);
      expect(r.storage.byClass['S# b']?.items).toBeGreaterThan(0);
      expect(r.storage.indexEntries).toBeGreaterThan(0);
      expect(r.storedBytesPerRequest).toBeGreaterThan(0);
      expect(r.scans).toBe(0);
      expect(r.answered.requests).toBe(r.requests);
      expect(r.answered.fields['chain']).toBe(1);
      expect(r.answered.agreement).toBeGreaterThan(0);
    },
  );

  it('generates the files a user has and replays them into the embedded engine', { timeout: 120_000 }, async () => {
    const r = await runReplayBench({ requests: 300, seed: SEED, mix: 'realistic' });
    measured.replay = r;
    expect(r.files.logExports).toBeGreaterThan(1);
    expect(r.files.cloudTrail).toBeGreaterThan(0);
    expect(r.files.awsAuth).toBeGreaterThan(0);
    expect(r.requests).toBeGreaterThan(250);
    expect(r.requestsStored).toBeGreaterThanOrEqual(r.requests);
    expect(r.failedItems).toBe(0);
    expect(r.quarantined).toBe(0);
    expect(r.scans).toBe(0);
    expect(r.requestsPerS).toBeGreaterThan(0);
  });

  it('loads a table through the handlers and answers every question, long windows included, without a Scan', {
    timeout: 240_000,
  }, async () => {
    const r = await runQueryLatency(
      {
        requests: 1_500,
        longWindowRequests: 80,
        longWindowDays: 90,
        repetitions: 1,
        seed: SEED,
        concurrency: 2,
        lateFraction: 0.05,
        duplicateFraction: 0.02,
        root: ROOT,
      },
      handlers,
    );
    measured.query = r;
    expect(r.load.scenarios.map((s) => s.mix)).toEqual(['realistic', 'human-heavy']);
    expect(r.load.scenarios.every((s) => s.failedBatchItems === 0)).toBe(true);
    expect(r.requestsInTable).toBeGreaterThanOrEqual(1_500);
    expect(r.questions.map((q) => q.key)).toEqual([...QUESTION_KEYS]);
    expect(r.longWindow.map((q) => q.key)).toEqual([
      'cluster90d.whoDid',
      'cluster90d.denied',
      'cluster90d.touched',
      'empty4y.whoDid',
      'empty4y.denied',
      'empty4y.touched',
    ]);
    for (const q of [...r.questions, ...r.longWindow]) {
      expect({ question: q.key, errors: q.errors }).toEqual({ question: q.key, errors: [] });
      expect(q.samples).toBe(1);
      expect(q.scans).toBe(0);
    }
    expect(r.questions.find((q) => q.key === 'explain')?.avgRows).toBeGreaterThan(0);
    expect(r.questions.find((q) => q.key === 'explainAt')?.avgRows).toBeGreaterThan(0);
    expect(r.longWindow.find((q) => q.key === 'cluster90d.whoDid')?.avgRows).toBeGreaterThan(0);
    expect(r.longWindow.find((q) => q.key === 'empty4y.whoDid')?.avgRows).toBe(0);
    expect(r.profile?.summary.sampledMs).toBeGreaterThan(0);
  });

  it('measures the peak RSS of the bundled handler in a child process', { timeout: 120_000 }, async () => {
    const r = await runHandlerMemory({ root: ROOT, seed: SEED, eventBytes: 200_000 });
    measured.memory = r;
    expect(r.eventBytes).toBeLessThanOrEqual(200_000);
    expect(r.records).toBeGreaterThan(0);
    expect(r.chains).toBeGreaterThan(0);
    expect(r.maxRssMB).toBeGreaterThanOrEqual(r.baselineRssMB);
  });

  it('bundles a function like the CDK construct and times its import', { timeout: 120_000 }, async () => {
    const [r] = await runColdStart({ root: ROOT, samples: 1, functions: ['query-api'] });
    expect(r?.error).toBeUndefined();
    expect(r?.bundleBytes).toBeGreaterThan(10_000);
    expect(r?.sourceMapBytes).toBeGreaterThan(0);
    expect(r?.importMsMedian).toBeGreaterThan(0);
  });
});

describe('report', () => {
  it('renders the machine, every measured section and the summary table', () => {
    const results: BenchResults = {
      config: parseBenchArgs(['--quick']),
      machine: machineInfo(ROOT, new Date('2026-11-22T10:00:00Z')),
      wallMs: 60_000,
      memory: {
        eventBytes: 6_000_000,
        records: 10,
        logEvents: 30,
        jsonBytes: 9_000_000,
        baselineRssMB: 60,
        maxRssMB: 300,
        chains: 20,
        handlerMs: 10,
        nodeArgs: ['--max-semi-space-size=51', '--max-old-space-size=922', '--enable-source-maps'],
      },
      failures: [{ section: 'query', message: 'engine down' }],
    };
    const md = renderMarkdown(results);
    expect(md).toContain('2026-11-22T10:00:00.000Z');
    expect(md).toContain(results.machine.cpuModel);
    expect(md).toContain('## 6. Memory');
    expect(md).toContain('engine down');
    expect(md).toContain('`node --max-semi-space-size=51 --max-old-space-size=922 --enable-source-maps`');
    const rows = summaryRows(results);
    expect(rows).toEqual([expect.objectContaining({ status: 'MISS', value: '300 MB', target: '< 256 MB' })]);
  });

  it('reports the CPU path with the flags it ran under, and the same measurement under Node defaults beside it', () => {
    const cpu = (ms: number, floorMs: number, nodeArgs: string[]): IngestCpuResult => ({
      requests: 100,
      kinesisRecords: 10,
      logEvents: 200,
      gzipBytes: 10_000,
      jsonBytes: 50_000,
      rounds: 1,
      handlerMs: [ms],
      floorMs: [floorMs],
      parseMs: [ms / 2],
      floorWithAuditJsonMs: [floorMs * 1.2],
      auditEvents: 100,
      chainsPerRun: 100,
      handlerEventsPerS: 200 / (ms / 1000),
      handlerJsonMBps: 1,
      floorEventsPerS: 200 / (floorMs / 1000),
      floorJsonMBps: 1,
      ratioToFloor: floorMs / ms,
      ratioToFloorWithAuditJson: (floorMs * 1.2) / ms,
      parseShare: 0.5,
      parseRatioToFloor: floorMs / (ms / 2),
      nodeArgs,
    });
    const results: BenchResults = {
      config: parseBenchArgs(['--quick']),
      machine: machineInfo(ROOT, new Date('2026-11-22T10:00:00Z')),
      wallMs: 60_000,
      cpu: cpu(100, 30, functionNodeArgs('log-ingest')),
      cpuNodeDefaults: cpu(150, 33, []),
      failures: [],
    };
    const md = renderMarkdown(results);
    expect(md).toContain('child process started as Lambda starts the log function: `node --max-semi-space-size=51');
    expect(md).toContain("this machine's Node defaults");
    expect(md).toContain('ratio A / floor 0.220');
    const rows = summaryRows(results);
    expect(rows.find((row) => row.metric.startsWith('ratio to floor (gunzip'))).toMatchObject({
      value: '0.300',
      status: 'MISS',
    });
    expect(rows.find((row) => row.metric.includes('default heap flags'))).toMatchObject({ value: '0.220' });
  });

  it('writes BENCHMARKS.json with every headline figure of the sections measured above, and renders them', (ctx) => {
    // Needs the measurements above (run in file order); skipped when a filter left them out.
    if (measured.engine.length < 2 || !measured.replay || !measured.query || !measured.cpu || !measured.memory)
      ctx.skip();
    const results: BenchResults = {
      config: parseBenchArgs(['--quick']),
      machine: machineInfo(ROOT, new Date('2026-11-22T10:00:00Z')),
      wallMs: 60_000,
      ...(measured.cpu ? { cpu: measured.cpu } : {}),
      engine: measured.engine,
      ...(measured.replay ? { replay: measured.replay } : {}),
      ...(measured.query ? { query: measured.query } : {}),
      ...(measured.memory ? { memory: measured.memory } : {}),
      failures: [],
    };
    const json = JSON.parse(JSON.stringify(benchJson(results))) as Record<string, Record<string, unknown>>;
    const number = expect.any(Number);
    expect(json['writeUnitsPer1kRequests']).toEqual({ realistic: number, humanHeavy: number });
    expect(json['storedBytesPerRequest']).toEqual({ realistic: number, humanHeavy: number });
    expect(json['replayRequestsPerSecond']).toEqual({ realistic: number });
    expect(json['queryP95Ms']).toEqual(Object.fromEntries(QUESTION_KEYS.map((k) => [k, number])));
    expect(json['longWindowFirstPageMs']).toEqual({ cluster90d: number, empty4y: number });
    expect(json['correctnessAsAnswered']).toEqual(number);
    expect(json['cpuPathRatioToFloor']).toEqual(number);
    expect(json['handlerPeakRssMb']).toEqual(number);
    expect(json['queryScans']).toBe(0);
    expect(json['deliverySettings']).toMatchObject({ kinesisBatchSize: 1_000, kinesisBatchWindowMs: 300_000 });
    const md = renderMarkdown(results);
    for (const heading of [
      '## Traffic mixes',
      '## Delivery settings',
      '## Summary',
      '### By item class',
      '## 3. Correctness',
      '## 4. Local replay',
      '## 5. Query latency',
      '### Long windows',
    ])
      expect(md).toContain(heading);
    expect(md).toContain('kubelet lease renewals');
  });

  it('leaves a figure null in BENCHMARKS.json when its section did not run', () => {
    const json = benchJson({
      config: parseBenchArgs(['--quick', '--only=cold']),
      machine: machineInfo(ROOT, new Date('2026-11-22T10:00:00Z')),
      wallMs: 1,
      failures: [],
    });
    expect(json['writeUnitsPer1kRequests']).toEqual({ realistic: null, humanHeavy: null });
    expect(json['correctnessAsAnswered']).toBeNull();
    expect(json['longWindowFirstPageMs']).toEqual({ cluster90d: null, empty4y: null });
  });
});
