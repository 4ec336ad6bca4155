import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runColdStart } from '../../bench/cold-start.js';
import { BenchConfigError, parseBenchArgs } from '../../bench/config.js';
import { runHandlerMemory } from '../../bench/handler-memory.js';
import { type Handlers, loadHandlers } from '../../bench/handlers.js';
import { type IngestCpuResult, runIngestCpu, runIngestCpuIsolated } from '../../bench/ingest-cpu.js';
import { runEngineIngest } from '../../bench/ingest-e2e.js';
import { functionNodeArgs, lambdaRuntimeNodeArgs } from '../../bench/lambda-runtime.js';
import { machineInfo } from '../../bench/machine.js';
import { BenchTrailStore } from '../../bench/memory-store.js';
import { runQueryLatency } from '../../bench/query-latency.js';
import { type BenchResults, renderMarkdown, summaryRows } from '../../bench/report.js';
import { meterCapacity } from '../../bench/write-units.js';
import type { MappingChange } from '../../lib/identity/types.js';
import { type LocalEngine, startLocalEngine } from '../../lib/local/engine.js';

/**
 * Proves each bench measurement runs end to end at tiny sizes and produces coherent figures. No
 * timing is asserted: timings belong to BENCHMARKS.md, not to a test on a shared machine.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const SEED = 424_242;
let handlers: Handlers;

beforeAll(async () => {
  handlers = await loadHandlers();
});

describe('bench configuration', () => {
  it('defaults to the full sizes and shrinks them with --quick', () => {
    const full = parseBenchArgs([]);
    const quick = parseBenchArgs(['--quick']);
    expect(full.queryChains).toBeGreaterThanOrEqual(1_000_000);
    expect(full.engineRequests).toBeGreaterThanOrEqual(100_000);
    expect(quick.queryChains).toBeLessThan(full.queryChains);
    expect(full.sections).toEqual(['cpu', 'engine', 'query', 'memory', 'cold']);
  });

  it('takes sizes from flags over environment variables', () => {
    const c = parseBenchArgs(['--engine-requests=1234', '--only=cpu,cold'], {
      BENCH_ENGINE_REQUESTS: '99',
      BENCH_QUERY_CHAINS: '5000',
    });
    expect(c.engineRequests).toBe(1234);
    expect(c.queryChains).toBe(5000);
    expect(c.sections).toEqual(['cpu', 'cold']);
  });

  it.each([
    ['an unknown flag', ['--engine-reqs=5']],
    ['a negative size', ['--query-chains=-1']],
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
    const all = await s.mappingChanges('payments-prod', '111122223333');
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

  it('ingests into the engine, counts write units and compares with the truth', { timeout: 180_000 }, async () => {
    const r = await runEngineIngest(
      { requests: 150, seed: SEED, lateFraction: 0.05, duplicateFraction: 0.05 },
      handlers,
    );
    expect(r.requests).toBeGreaterThan(100);
    expect(r.failedBatchItems).toBe(0);
    expect(r.capacity.itemsWritten).toBeGreaterThan(r.requests);
    // The meter's table part must equal what the engine itself reports for the same writes.
    expect(r.capacity.tableWriteUnits).toBe(r.capacity.engineTableWriteUnits);
    expect(r.capacity.indexWriteUnits).toBeGreaterThan(0);
    expect(r.scans).toBe(0);
    expect(r.answered.requests).toBe(r.requests);
    expect(r.answered.fields['chain']).toBe(1);
    expect(r.answered.agreement).toBeGreaterThan(0);
  });

  it('loads a table through the full and bulk paths and answers every question without a Scan', {
    timeout: 240_000,
  }, async () => {
    const r = await runQueryLatency(
      { chains: 400, probeChains: 100, maxFullPathMinutes: 0, repetitions: 1, seed: SEED, concurrency: 2, root: ROOT },
      handlers,
    );
    expect(r.load.mode).toBe('full path + bulk');
    expect(r.load.bulkChains).toBeGreaterThan(0);
    expect(r.chainsInTable).toBeGreaterThanOrEqual(390);
    expect(r.questions.map((q) => q.name)).toHaveLength(8);
    for (const q of r.questions) {
      expect({ question: q.name, errors: q.errors }).toEqual({ question: q.name, errors: [] });
      expect(q.samples).toBe(1);
      expect(q.scans).toBe(0);
    }
    expect(r.questions.find((q) => q.name === 'explain')?.avgRows).toBeGreaterThan(0);
  });

  it('measures the peak RSS of the bundled handler in a child process', { timeout: 120_000 }, async () => {
    const r = await runHandlerMemory({ root: ROOT, seed: SEED, eventBytes: 200_000 });
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
    expect(md).toContain('## 4. Memory');
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
});
