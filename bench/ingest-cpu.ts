import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Handlers } from './handlers.js';
import { BenchTrailStore } from './memory-store.js';
import { elapsedMs, mb, median } from './stats.js';
import { buildWorkload, kinesisEvents, SIM_START, sqsEvents, windowMs } from './workload.js';

/**
 * Throughput of the log handler's CPU path: base64 + gunzip + JSON of each Kinesis record, parsing of
 * every authenticator line and audit event, mapping-change extraction, evidence lookup and
 * correlation, with the store replaced by the in-memory port stub. The floor is the least any
 * consumer must do with the same bytes (base64 + gunzip + JSON.parse); two more paths show where the
 * handler's time goes: the product's parsers alone, and the floor plus JSON.parse of each audit
 * message. Runs alternate between the paths so all see the same machine load; medians are reported.
 */

export interface IngestCpuOptions {
  requests: number;
  rounds: number;
  seed: number;
}

export interface IngestCpuResult {
  requests: number;
  kinesisRecords: number;
  logEvents: number;
  /** gzip'd payload bytes (base64-decoded Kinesis data). */
  gzipBytes: number;
  /** Decompressed JSON bytes. */
  jsonBytes: number;
  rounds: number;
  handlerMs: number[];
  floorMs: number[];
  /** The product's parsers alone (decode + every line and event parsed), no correlation. */
  parseMs: number[];
  /** The floor plus JSON.parse of every audit event's message (itself a JSON document). */
  floorWithAuditJsonMs: number[];
  auditEvents: number;
  chainsPerRun: number;
  handlerEventsPerS: number;
  handlerJsonMBps: number;
  floorEventsPerS: number;
  floorJsonMBps: number;
  /** median handler throughput / median floor throughput. */
  ratioToFloor: number;
  ratioToFloorWithAuditJson: number;
  /** median parse-only time / median handler time: the share of the handler that is parsing. */
  parseShare: number;
  parseRatioToFloor: number;
  /** The node flags of the process that measured (runIngestCpuIsolated); empty: Node's defaults. */
  nodeArgs?: string[];
}

export const TARGET_RATIO_TO_FLOOR = 0.5;

export const runIngestCpu = async (opts: IngestCpuOptions, handlers: Handlers): Promise<IngestCpuResult> => {
  const w = buildWorkload({ seed: opts.seed, requests: opts.requests });
  const kin = kinesisEvents(w);
  const sqs = sqsEvents(w);
  const now = () => Date.parse(SIM_START) + windowMs(opts.requests) + 3_600_000;

  let logEvents = 0;
  let auditEvents = 0;
  let gzipBytes = 0;
  let jsonBytes = 0;
  const datas: string[] = [];
  for (const e of kin) {
    for (const r of e.Records) {
      datas.push(r.kinesis.data);
      const gz = Buffer.from(r.kinesis.data, 'base64');
      const json = gunzipSync(gz);
      gzipBytes += gz.length;
      jsonBytes += json.length;
      const payload = JSON.parse(json.toString('utf8')) as { logStream: string; logEvents: unknown[] };
      logEvents += payload.logEvents.length;
      if (payload.logStream.startsWith('kube-apiserver-audit-')) auditEvents += payload.logEvents.length;
    }
  }

  // Audit messages are JSON documents of their own: any consumer of audit events parses them too.
  const floorWithAuditJson = (): number => {
    const t = process.hrtime.bigint();
    let n = 0;
    for (const data of datas) {
      const payload = JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as {
        logStream: string;
        logEvents: { message: string }[];
      };
      if (!payload.logStream.startsWith('kube-apiserver-audit-')) continue;
      for (const e of payload.logEvents) if (JSON.parse(e.message)) n++;
    }
    if (n !== auditEvents) throw new Error(`floor parsed ${n} audit events, expected ${auditEvents}`);
    return elapsedMs(t);
  };

  const parseOnly = (): number => {
    const t = process.hrtime.bigint();
    const r = handlers.parseRecords(datas);
    if (r.events !== logEvents) throw new Error(`parse path read ${r.events} events, expected ${logEvents}`);
    return elapsedMs(t);
  };

  const floor = (): number => {
    const t = process.hrtime.bigint();
    let n = 0;
    for (const e of kin)
      for (const r of e.Records) {
        const payload = JSON.parse(gunzipSync(Buffer.from(r.kinesis.data, 'base64')).toString('utf8')) as {
          logEvents: unknown[];
        };
        n += payload.logEvents.length;
      }
    if (n !== logEvents) throw new Error(`floor decoded ${n} events, expected ${logEvents}`);
    return elapsedMs(t);
  };

  let chainsPerRun = 0;
  const handlerRun = async (): Promise<number> => {
    // A fresh store per run, primed (untimed) with the CloudTrail side, so every run does the same work.
    const store = new BenchTrailStore();
    await store.putMappingChanges(w.initialMappings);
    for (const e of sqs) await handlers.sqs(e, store, now);
    const t = process.hrtime.bigint();
    for (const e of kin) await handlers.kinesis(e, store, now);
    const ms = elapsedMs(t);
    chainsPerRun = store.counts.chains;
    return ms;
  };

  // Warm-up of every path (JIT, lazy module state), not reported.
  await handlerRun();
  floor();
  parseOnly();
  floorWithAuditJson();
  const handlerMs: number[] = [];
  const floorMs: number[] = [];
  const parseMs: number[] = [];
  const floorWithAuditJsonMs: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    handlerMs.push(await handlerRun());
    floorMs.push(floor());
    parseMs.push(parseOnly());
    floorWithAuditJsonMs.push(floorWithAuditJson());
  }
  const h = median(handlerMs);
  const f = median(floorMs);
  const p = median(parseMs);
  const f2 = median(floorWithAuditJsonMs);
  return {
    requests: opts.requests,
    kinesisRecords: w.kinesisRecords,
    logEvents,
    gzipBytes,
    jsonBytes,
    rounds: opts.rounds,
    handlerMs,
    floorMs,
    parseMs,
    floorWithAuditJsonMs,
    auditEvents,
    chainsPerRun,
    handlerEventsPerS: logEvents / (h / 1000),
    handlerJsonMBps: mb(jsonBytes) / (h / 1000),
    floorEventsPerS: logEvents / (f / 1000),
    floorJsonMBps: mb(jsonBytes) / (f / 1000),
    ratioToFloor: f / h,
    ratioToFloorWithAuditJson: f2 / h,
    parseShare: p / h,
    parseRatioToFloor: f / p,
  };
};

/**
 * runIngestCpu in a child process started with `nodeArgs` (every path, the floor included, runs under
 * the same flags, so the ratios compare like with like). Heap flags cannot be changed inside a running
 * process, and the bench's own process runs with whatever `npm run bench` was started with.
 */
export const runIngestCpuIsolated = (
  opts: IngestCpuOptions,
  where: { root: string; nodeArgs: readonly string[] },
): Promise<IngestCpuResult> =>
  new Promise((resolve, reject) => {
    const env = { ...process.env };
    // Only the flags asked for: an inherited NODE_OPTIONS would add to them.
    delete env['NODE_OPTIONS'];
    const child = spawn(
      process.execPath,
      [...where.nodeArgs, '--import', 'tsx', join(where.root, 'bench/ingest-cpu-child.ts'), JSON.stringify(opts)],
      { cwd: where.root, env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`CPU bench child exited with ${code}`));
        return;
      }
      const last = out.trim().split('\n').pop() ?? '';
      let printed: { result: IngestCpuResult; execArgv: string[] };
      try {
        printed = JSON.parse(last) as typeof printed;
      } catch (err) {
        reject(new Error(`CPU bench child printed no result: ${last.slice(0, 200)}`, { cause: err }));
        return;
      }
      const missing = where.nodeArgs.filter((a) => !printed.execArgv.includes(a));
      if (missing.length > 0) reject(new Error(`CPU bench child did not run with ${missing.join(' ')}`));
      else resolve({ ...printed.result, nodeArgs: [...where.nodeArgs] });
    });
  });
