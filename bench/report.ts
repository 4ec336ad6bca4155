import { TRAFFIC_MIXES, type TrafficMixName } from '../sim/index.js';
import type { AlertLatencyResult } from './alert-latency.js';
import { type ColdStartResult, TARGET_BUNDLE_BYTES, TARGET_IMPORT_MS } from './cold-start.js';
import type { BenchConfig } from './config.js';
import {
  type FaultInjectionResult,
  faultInjectionJson,
  faultInjectionMarkdown,
  faultInjectionSummaryRows,
} from './fault-injection.js';
import { type HandlerMemoryResult, TARGET_MAX_RSS_MB } from './handler-memory.js';
import { type IngestCpuResult, TARGET_RATIO_TO_FLOOR } from './ingest-cpu.js';
import { type EngineIngestResult, PRICES } from './ingest-e2e.js';
import { ITEM_CLASS_LABELS, ITEM_CLASSES, type ItemClass } from './item-classes.js';
import type { MachineInfo } from './machine.js';
import {
  QUESTION_KEYS,
  type QueryLatencyResult,
  type QuestionLatency,
  TARGET_EXPLAIN_P95_MS,
  TARGET_LONG_WINDOW_MS,
  TARGET_QUERY_P95_MS,
} from './query-latency.js';
import { type ReplayBenchResult, TARGET_REPLAY_REQUESTS_PER_S } from './replay.js';
import { fmt, mb, median } from './stats.js';
import { ITEM_OVERHEAD_BYTES } from './storage.js';
import { DELIVERY_SETTINGS } from './workload.js';

export interface SectionRun {
  section: string;
  label: string;
  ms: number;
  /** 1-minute load average when the section started and when it ended. */
  loadAtStart: number;
  loadAtEnd: number;
}

export interface BenchResults {
  config: BenchConfig;
  machine: MachineInfo;
  wallMs: number;
  /** Each section's duration and the machine's load around it (a shared machine skews latencies). */
  sections?: SectionRun[];
  /** The CPU section as Lambda starts the log function (its heap flags and NODE_OPTIONS). */
  cpu?: IngestCpuResult;
  /** The same measurement under this machine's Node defaults, for comparison. */
  cpuNodeDefaults?: IngestCpuResult;
  /** One per traffic mix. */
  engine?: EngineIngestResult[];
  replay?: ReplayBenchResult;
  query?: QueryLatencyResult;
  memory?: HandlerMemoryResult;
  cold?: ColdStartResult[];
  /** Event-to-alert latency in the simulated delivery, and the cost per thousand alerts. */
  alerts?: AlertLatencyResult;
  faults?: FaultInjectionResult;
  /** Sections that threw, with the message. */
  failures: { section: string; message: string }[];
}

export interface SummaryRow {
  metric: string;
  value: string;
  target: string;
  status: 'ok' | 'MISS' | '-';
}

const pct = (x: number, d = 2) => `${fmt(x * 100, d)} %`;
const status = (ok: boolean): SummaryRow['status'] => (ok ? 'ok' : 'MISS');
const MIX_ORDER: TrafficMixName[] = ['realistic', 'human-heavy'];

const nodeArgsText = (args: readonly string[] | undefined): string =>
  args && args.length > 0 ? `\`node ${args.join(' ')}\`` : "`node` with this machine's defaults";

/** What a ratio of TARGET_RATIO_TO_FLOOR leaves for correlation once the parsers have run. */
const budgetSentence = (leftMs: number, chains: number): string =>
  leftMs > 0
    ? `At a ratio of ${TARGET_RATIO_TO_FLOOR}, A would have ${fmt(leftMs, 0)} ms left after parsing for the ${fmt(chains, 0)} chains of this workload (${fmt((leftMs * 1000) / chains, 1)} µs a chain).`
    : `The parsers alone take ${fmt(-leftMs, 0)} ms longer than a ratio of ${TARGET_RATIO_TO_FLOOR} allows for the whole path, before any of the ${fmt(chains, 0)} chains is correlated.`;

const engineOf = (r: BenchResults, mix: TrafficMixName): EngineIngestResult | undefined =>
  r.engine?.find((e) => e.mix === mix);

const queryTarget = (key: string): number => (key === 'explain' ? TARGET_EXPLAIN_P95_MS : TARGET_QUERY_P95_MS);

/** The slowest of a long-window group (cluster90d.*, empty4y.*): p95 over its repetitions. */
const longWindowMs = (q: QueryLatencyResult, group: string): number | undefined => {
  const xs = q.longWindow.filter((x) => x.key.startsWith(`${group}.`));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x.p95Ms))) return undefined;
  return Math.max(...xs.map((x) => x.p95Ms));
};

const scansOf = (q: QueryLatencyResult): number => [...q.questions, ...q.longWindow].reduce((n, x) => n + x.scans, 0);

export const summaryRows = (r: BenchResults): SummaryRow[] => {
  const rows: SummaryRow[] = [];
  if (r.cpu) {
    rows.push({
      metric: 'log handler CPU path',
      value: `${fmt(r.cpu.handlerEventsPerS, 0)} events/s, ${fmt(r.cpu.handlerJsonMBps)} MB/s`,
      target: '-',
      status: '-',
    });
    rows.push({
      metric: 'ratio to floor (gunzip + JSON.parse)',
      value: fmt(r.cpu.ratioToFloor, 3),
      target: `>= ${TARGET_RATIO_TO_FLOOR}`,
      status: status(r.cpu.ratioToFloor >= TARGET_RATIO_TO_FLOOR),
    });
    rows.push({
      metric: 'ratio to floor + audit JSON.parse',
      value: fmt(r.cpu.ratioToFloorWithAuditJson, 3),
      target: '-',
      status: '-',
    });
  }
  if (r.cpuNodeDefaults) {
    rows.push({
      metric: "ratio to floor, Node's default heap flags",
      value: fmt(r.cpuNodeDefaults.ratioToFloor, 3),
      target: '-',
      status: '-',
    });
  }
  for (const mix of MIX_ORDER) {
    const e = engineOf(r, mix);
    if (!e) continue;
    rows.push({
      metric: `${mix}: write units per 1,000 requests`,
      value: `${fmt(e.writeUnitsPer1000Requests, 0)} ($${fmt(e.writeCostPerMillionRequests, 2)} per million requests)`,
      target: '-',
      status: '-',
    });
    rows.push({
      metric: `${mix}: stored bytes per request`,
      value: fmt(e.storedBytesPerRequest, 0),
      target: '-',
      status: '-',
    });
    rows.push({
      metric: `${mix}: correctness as answered (${fmt(e.requests, 0)} requests)`,
      value: pct(e.answered.agreement),
      target: '-',
      status: '-',
    });
  }
  if (r.replay) {
    rows.push({
      metric: `local replay, ${r.replay.mix} (${fmt(r.replay.requests, 0)} requests)`,
      value: `${fmt(r.replay.requestsPerS, 0)} requests/s`,
      target: `>= ${fmt(TARGET_REPLAY_REQUESTS_PER_S, 0)}`,
      status: status(r.replay.requestsPerS >= TARGET_REPLAY_REQUESTS_PER_S),
    });
  }
  if (r.query) {
    const q = r.query;
    for (const x of q.questions) {
      const target = queryTarget(x.key);
      rows.push({
        metric: `query p95: ${x.label} (${fmt(q.requestsInTable, 0)} requests)`,
        value: x.errors.length ? `error: ${x.errors[0]}` : `${fmt(x.p95Ms)} ms`,
        target: `< ${target} ms`,
        status: status(x.errors.length === 0 && x.p95Ms < target),
      });
    }
    for (const [group, label] of [
      ['cluster90d', `first page over ${r.config.longWindowDays} days (who-did, denied, touched; slowest)`],
      ['empty4y', 'first page over 4 years without data (slowest)'],
    ] as const) {
      const ms = longWindowMs(q, group);
      rows.push({
        metric: label,
        value: ms === undefined ? 'n/a' : `${fmt(ms)} ms`,
        target: `< ${fmt(TARGET_LONG_WINDOW_MS, 0)} ms`,
        status: status(ms !== undefined && ms < TARGET_LONG_WINDOW_MS),
      });
    }
    const scans = scansOf(q);
    rows.push({
      metric: 'Scan commands, all questions',
      value: String(scans),
      target: '0',
      status: status(scans === 0),
    });
  }
  if (r.memory) {
    rows.push({
      metric: `log handler peak RSS, ${fmt(mb(r.memory.eventBytes))} MB Kinesis batch`,
      value: `${fmt(r.memory.maxRssMB)} MB`,
      target: `< ${TARGET_MAX_RSS_MB} MB`,
      status: status(r.memory.maxRssMB < TARGET_MAX_RSS_MB),
    });
  }
  for (const c of r.cold ?? []) {
    rows.push({
      metric: `${c.fn} bundle / import`,
      value: c.error ? `error: ${c.error}` : `${fmt(c.bundleBytes / 1024, 0)} KB / ${fmt(c.importMsMedian)} ms`,
      target: `< ${TARGET_BUNDLE_BYTES / 1_000_000} MB / < ${TARGET_IMPORT_MS} ms`,
      status: status(!c.error && c.bundleBytes < TARGET_BUNDLE_BYTES && c.importMsMedian < TARGET_IMPORT_MS),
    });
  }
  if (r.alerts) {
    const a = r.alerts;
    rows.push({
      metric: `event-to-alert latency p50 / p95 (${fmt(a.alerts, 0)} alerts, simulated delivery)`,
      value: `${fmt(a.p50Ms / 1000, 1)} s / ${fmt(a.p95Ms / 1000, 1)} s`,
      target: '-',
      status: '-',
    });
    rows.push({
      metric: 'cost per 1,000 alerts',
      value: `$${fmt(a.costPerThousandAlertsUsd, 4)}`,
      target: '-',
      status: '-',
    });
  }
  if (r.faults) rows.push(...faultInjectionSummaryRows(r.faults));
  return rows;
};

export const textTable = (rows: SummaryRow[]): string => {
  const head: SummaryRow = { metric: 'metric', value: 'value', target: 'target', status: '-' };
  const all = [head, ...rows];
  const w = (k: keyof SummaryRow) => Math.max(...all.map((r) => String(r[k]).length));
  const line = (r: SummaryRow) =>
    `${r.metric.padEnd(w('metric'))}  ${r.value.padEnd(w('value'))}  ${r.target.padEnd(w('target'))}  ${r === head ? 'status' : r.status}`;
  return [line(head), '-'.repeat(w('metric') + w('value') + w('target') + 12), ...rows.map(line)].join('\n');
};

const mdTable = (header: string[], rows: (string | number)[][]): string =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');

// -------------------------------------------------------------------------------------------------
// BENCHMARKS.json
// -------------------------------------------------------------------------------------------------

const num = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);

const byMix = <T>(r: BenchResults, f: (e: EngineIngestResult) => T): Record<'realistic' | 'humanHeavy', T | null> => ({
  realistic: (() => {
    const e = engineOf(r, 'realistic');
    return e ? f(e) : null;
  })(),
  humanHeavy: (() => {
    const e = engineOf(r, 'human-heavy');
    return e ? f(e) : null;
  })(),
});

/** The machine-readable report: the headline figures first (null when not measured), then the detail. */
export const benchJson = (r: BenchResults): Record<string, unknown> => {
  const q = r.query;
  const p95 = (key: string): number | null => {
    const x = q?.questions.find((y) => y.key === key);
    return x && x.errors.length === 0 ? num(x.p95Ms) : null;
  };
  const correctness = (r.engine ?? []).map((e) => e.answered.agreement);
  return {
    generatedBy: 'npm run bench',
    quick: r.config.quick,
    date: r.machine.date,
    wallMs: r.wallMs,
    writeUnitsPer1kRequests: byMix(r, (e) => e.writeUnitsPer1000Requests),
    storedBytesPerRequest: byMix(r, (e) => e.storedBytesPerRequest),
    replayRequestsPerSecond: { realistic: r.replay?.mix === 'realistic' ? r.replay.requestsPerS : null },
    queryP95Ms: Object.fromEntries(QUESTION_KEYS.map((k) => [k, p95(k)])),
    longWindowFirstPageMs: {
      cluster90d: q ? num(longWindowMs(q, 'cluster90d')) : null,
      empty4y: q ? num(longWindowMs(q, 'empty4y')) : null,
    },
    queryScans: q ? scansOf(q) : null,
    correctnessAsAnswered: correctness.length ? Math.min(...correctness) : null,
    cpuPathRatioToFloor: num(r.cpu?.ratioToFloor),
    handlerPeakRssMb: num(r.memory?.maxRssMB),
    alertLatencyMs: { p50: num(r.alerts?.p50Ms), p95: num(r.alerts?.p95Ms) },
    alertCostPerThousandUsd: num(r.alerts?.costPerThousandAlertsUsd),
    targets: {
      replayRequestsPerSecond: { min: TARGET_REPLAY_REQUESTS_PER_S },
      queryP95Ms: { max: TARGET_QUERY_P95_MS, explainMax: TARGET_EXPLAIN_P95_MS, scans: 0 },
      longWindowFirstPageMs: { max: TARGET_LONG_WINDOW_MS },
      cpuPathRatioToFloor: { min: TARGET_RATIO_TO_FLOOR },
      handlerPeakRssMb: { max: TARGET_MAX_RSS_MB },
    },
    summary: summaryRows(r),
    deliverySettings: {
      ...DELIVERY_SETTINGS,
      source: 'cdk/function-settings.ts LOG_STREAM_BATCHING',
      lateFraction: r.config.lateFraction,
      duplicateFraction: r.config.duplicateFraction,
    },
    machine: r.machine,
    config: r.config,
    sections: r.sections ?? [],
    faultInjection: r.faults ? faultInjectionJson(r.faults) : null,
    failures: r.failures,
    detail: {
      engine: byMix(r, (e) => e),
      correctnessByMix: byMix(r, (e) => ({ agreement: e.answered.agreement, fields: e.answered.fields })),
      replay: r.replay ?? null,
      query: q ?? null,
      cpu: r.cpu ?? null,
      cpuNodeDefaults: r.cpuNodeDefaults ?? null,
      memory: r.memory ?? null,
      cold: r.cold ?? null,
      alerts: r.alerts ? (({ alertIds: _ids, ...a }) => a)(r.alerts) : null,
    },
  };
};

// -------------------------------------------------------------------------------------------------
// BENCHMARKS.md
// -------------------------------------------------------------------------------------------------

const trafficMixSection = (out: string[]): void => {
  out.push('## Traffic mixes');
  out.push('');
  out.push(
    'Every figure given per mix is measured on both presets of the simulator (sim/traffic-mix.ts `TRAFFIC_MIXES`). Shares are of logged requests, as stated by the preset; the bench fleets are the ones the shares are stated for.',
  );
  out.push('');
  for (const mix of MIX_ORDER) {
    const m = TRAFFIC_MIXES[mix];
    const f = m.fleet;
    out.push(
      `**${mix}**: ${m.description}. Fleet: ${f.clusters} clusters (${(f.nodeCounts ?? Array.from({ length: f.clusters }, () => f.nodesPerCluster)).join(', ')} nodes), ${f.ssoUsers} SSO users, ${f.iamUsers} IAM users; ${fmt(m.requestsPerSecond)} logged requests/s across the fleet (per cluster: ${m.clusterRequestsPerSecond.map((x) => fmt(x)).join(', ')}).`,
    );
    out.push('');
    out.push(
      mdTable(
        ['class', 'share', 'source'],
        m.shares.map((s) => [s.class, pct(s.share), s.source]),
      ),
    );
    out.push('');
  }
};

const deliverySection = (out: string[], c: BenchConfig): void => {
  out.push('## Delivery settings');
  out.push('');
  out.push(
    mdTable(
      ['setting', 'value'],
      [
        [
          'Kinesis records per log-function invocation',
          `${fmt(DELIVERY_SETTINGS.kinesisBatchSize, 0)} (cdk/function-settings.ts LOG_STREAM_BATCHING.batchSize)`,
        ],
        [
          "Lambda's batching window",
          `${fmt(DELIVERY_SETTINGS.kinesisBatchWindowMs / 1000, 0)} s (LOG_STREAM_BATCHING.maxBatchingWindowSeconds)`,
        ],
        ['invocation payload cap', "5 MB of records (under Lambda's 6 MB limit; sim/delivery.ts)"],
        [
          'CloudWatch Logs subscription payloads',
          'per log stream, up to 100 events or 1 MB, flushed after 3 s (sim/delivery.ts defaults)',
        ],
        ['CloudTrail events', 'EventBridge -> SQS, 10 messages per invocation, 30-300 s after the call'],
        ['late records', `${pct(c.lateFraction, 0)} held back 5-30 min`],
        ['duplicated records', `${pct(c.duplicateFraction, 0)} delivered twice`],
      ],
    ),
  );
  out.push('');
  out.push(
    "The batch size and the window set how many requests share a segment (one cluster, five-minute cell, delivery), hence the write and storage cost: the engine and query sections deliver with exactly the deployed function's settings.",
  );
  out.push('');
};

const mixHeader = (engines: EngineIngestResult[]): string[] => engines.map((e) => e.mix);

const engineSection = (out: string[], engines: EngineIngestResult[], c: BenchConfig): void => {
  out.push('## 2. Ingestion into the embedded engine: write units and storage');
  out.push('');
  out.push(
    `Per mix, a scenario of about ${fmt(c.engineRequests, 0)} requests with mapping changes, ${pct(c.lateFraction, 0)} of records late (5-30 min), ${pct(c.duplicateFraction, 0)} delivered twice, batched with the delivery settings above, ingested in arrival order through the handlers' entry points into DynamoDbTrailStore on dynalite (in process, in memory, as local mode runs it). Deliveries are pre-generated, so the time is the product's.`,
  );
  out.push('');
  const col = (f: (e: EngineIngestResult) => string) => engines.map(f);
  out.push(
    mdTable(
      ['figure', ...mixHeader(engines)],
      [
        ['requests (ground truth)', ...col((e) => fmt(e.requests, 0))],
        ['simulated time', ...col((e) => `${fmt(e.simulatedMs / 60_000)} min`)],
        [
          'log-function invocations (Kinesis records, log events)',
          ...col((e) => `${fmt(e.kinesisInvocations, 0)} (${fmt(e.kinesisRecords, 0)}, ${fmt(e.logEvents, 0)})`),
        ],
        ['CloudTrail invocations (messages)', ...col((e) => `${fmt(e.sqsInvocations, 0)} (${fmt(e.sqsMessages, 0)})`)],
        ['batch items reported failed', ...col((e) => fmt(e.failedBatchItems, 0))],
        ['wall time', ...col((e) => `${fmt(e.wallMs / 1000)} s`)],
        [
          'requests/s (log + CloudTrail events/s)',
          ...col((e) => `${fmt(e.requestsPerS, 0)} (${fmt(e.eventsPerS, 0)})`),
        ],
        ['items put', ...col((e) => fmt(e.capacity.itemsWritten, 0))],
        [
          "table write units (dynalite's own count, cross-check)",
          ...col((e) => `${fmt(e.capacity.tableWriteUnits, 0)} (${fmt(e.capacity.engineTableWriteUnits, 0)})`),
        ],
        ['GSI write units', ...col((e) => fmt(e.capacity.indexWriteUnits, 0))],
        [
          'refused conditional writes (charged)',
          ...col(
            (e) =>
              `${fmt(e.capacity.failedConditionalWrites, 0)} writes, ${fmt(e.capacity.failedConditionWriteUnits, 0)} units`,
          ),
        ],
        ['**write units per 1,000 requests**', ...col((e) => `**${fmt(e.writeUnitsPer1000Requests, 1)}**`)],
        ['read units per 1,000 requests while ingesting', ...col((e) => fmt(e.readUnitsPer1000Requests, 1))],
        [
          '**on-demand cost per million requests**',
          ...col(
            (e) =>
              `**$${fmt(e.writeCostPerMillionRequests, 3)} writes + $${fmt(e.readCostPerMillionRequests, 3)} reads**`,
          ),
        ],
        [
          'items in the table (index entries)',
          ...col((e) => `${fmt(e.storage.items, 0)} (${fmt(e.storage.indexEntries, 0)})`),
        ],
        ['**stored bytes per request**', ...col((e) => `**${fmt(e.storedBytesPerRequest, 1)}**`)],
        [
          'requests per audit segment-part item (notable and bulk, chunks included)',
          ...col((e) => {
            const parts = (e.storage.byClass['S# n']?.items ?? 0) + (e.storage.byClass['S# b']?.items ?? 0);
            return parts ? fmt(e.requests / parts, 1) : 'n/a';
          }),
        ],
        [
          'DynamoDB operations',
          ...col((e) =>
            Object.entries(e.capacity.operations)
              .map(([k, v]) => `${k} ${fmt(v, 0)}`)
              .join(', '),
          ),
        ],
        ['Scan commands (ingest and correctness reads)', ...col((e) => String(e.scans))],
      ],
    ),
  );
  out.push('');
  out.push(
    `Write units are counted on the wire by bench/write-units.ts: 1 unit per started KB of each item put (the larger of old and new image for a replacement), plus, per GSI, 1 unit per started KB of the KEYS_ONLY index entry (keys + 100 bytes) when it appears or disappears and 2 when its key changes, plus refused conditional puts at the item's size. dynalite returns ConsumedCapacity for the table only (never per index), so its figure is a cross-check of the table part. ` +
      `Stored bytes: the table's final state read with a Scan through a client of its own (bench/storage.ts; a measurement, not a product read): each item's size by DynamoDB's rule + ${ITEM_OVERHEAD_BYTES} bytes per item, and per GSI entry the table keys + the index keys + ${ITEM_OVERHEAD_BYTES} bytes. ` +
      `Prices: on-demand, ${PRICES.region}, standard table class: $${PRICES.writeRequestUnitPerMillion} per million write request units and $${PRICES.readRequestUnitPerMillion} per million read request units, the prices since the on-demand price cut effective ${PRICES.asOf} (storage, PITR, streams and data transfer are not included).`,
  );
  out.push('');
  out.push('### By item class');
  out.push('');
  out.push(
    'Per item class (partition-key prefix; segment parts split by part): items in the final table, stored bytes per request (items + overhead + index entries), and write units per 1,000 requests (table + index + refused conditional writes).',
  );
  out.push('');
  const present = ITEM_CLASSES.filter((k) =>
    engines.some((e) => e.storage.byClass[k] !== undefined || e.capacity.byClass[k] !== undefined),
  );
  const wu = (e: EngineIngestResult, k: ItemClass) => {
    const x = e.capacity.byClass[k];
    return x ? ((x.tableWriteUnits + x.indexWriteUnits + x.failedConditionWriteUnits) * 1000) / e.requests : 0;
  };
  out.push(
    mdTable(
      [
        'class',
        ...engines.flatMap((e) => [`${e.mix}: items`, `${e.mix}: bytes/request`, `${e.mix}: write units/1k requests`]),
      ],
      [
        ...present.map((k) => [
          `\`${k}\` ${ITEM_CLASS_LABELS[k]}`,
          ...engines.flatMap((e) => {
            const s = e.storage.byClass[k];
            return [fmt(s?.items ?? 0, 0), fmt((s?.totalBytes ?? 0) / e.requests, 1), fmt(wu(e, k), 1)];
          }),
        ]),
        [
          '**total**',
          ...engines.flatMap((e) => [
            `**${fmt(e.storage.items, 0)}**`,
            `**${fmt(e.storedBytesPerRequest, 1)}**`,
            `**${fmt(e.writeUnitsPer1000Requests, 1)}**`,
          ]),
        ],
      ],
    ),
  );
  out.push('');
};

const correctnessSection = (out: string[], engines: EngineIngestResult[]): void => {
  out.push('## 3. Correctness at scale (same runs)');
  out.push('');
  out.push(
    `Every request of the engine scenario of each mix compared field by field with the simulator's ground truth (sim/truth-compare.ts), as the questions answer it: the chain derived from the stored facts with the evidence as it now stands (lib/chain/rederive.ts finalChains, every cluster over the whole window). BENCHMARKS.json \`correctnessAsAnswered\` is the lowest of the mixes.`,
  );
  out.push('');
  const fields = [...new Set(engines.flatMap((e) => Object.keys(e.answered.fields)))];
  out.push(
    mdTable(
      ['field', ...mixHeader(engines)],
      [
        [
          '**all fields**',
          ...engines.map(
            (e) => `**${pct(e.answered.agreement)}** (${fmt(e.answered.agreeing, 0)} / ${fmt(e.answered.requests, 0)})`,
          ),
        ],
        ...fields.map((f) => [f, ...engines.map((e) => pct(e.answered.fields[f] ?? 0))]),
        ['requests listed (stored chains)', ...engines.map((e) => fmt(e.storedChains, 0))],
        [
          'agreeing only through a written UNKNOWABLE rule',
          ...engines.map(
            (e) =>
              Object.entries(e.answered.excused)
                .map(([k, v]) => `${k} ${fmt(v, 0)}`)
                .join(', ') || '-',
          ),
        ],
        ['time to list and derive every request', ...engines.map((e) => `${fmt(e.correctnessMs / 1000)} s`)],
      ],
    ),
  );
  out.push('');
  for (const e of engines) {
    if (!e.answered.topMismatches.length) continue;
    out.push(`Largest disagreement classes, ${e.mix}:`);
    out.push('');
    out.push(
      mdTable(
        ['field', 'truth -> product', 'requests', 'example auditID'],
        e.answered.topMismatches.map((x) => [x.field, x.shape, fmt(x.count, 0), x.example ?? '']),
      ),
    );
    out.push('');
  }
};

const replaySection = (out: string[], x: ReplayBenchResult): void => {
  out.push('## 4. Local replay');
  out.push('');
  out.push(
    `The files a user has, generated first (untimed, ${fmt(x.generateMs / 1000)} s) from a ${x.mix} scenario of ${fmt(x.requests, 0)} requests, laid out as tools/generate-samples.ts lays out samples/: ${x.files.logExports} \`aws logs filter-log-events\` JSON exports (one per cluster), ${fmt(x.files.cloudTrail, 0)} gzip'd CloudTrail log files, ${x.files.awsAuth} aws-auth ConfigMap YAML files; ${fmt(mb(x.fileBytes))} MB on disk. ` +
      `Timed: \`replayFiles\` (lib/local/replay.ts) over the folder into the embedded engine in a data dir (LevelDB on disk, dynalite in the same process), with the store and options of \`eks-trail replay\`: detection, parsing, both pipelines, correlation and every write.`,
  );
  out.push('');
  out.push(
    mdTable(
      ['figure', 'value'],
      [
        ['wall time', `${fmt(x.wallMs / 1000)} s`],
        ['**requests/s**', `**${fmt(x.requestsPerS, 0)}** (target >= ${fmt(TARGET_REPLAY_REQUESTS_PER_S, 0)})`],
        ['log events/s', fmt(x.logEventsPerS, 0)],
        ['log events, CloudTrail records', `${fmt(x.logEvents, 0)}, ${fmt(x.cloudTrailRecords, 0)}`],
        [
          'requests stored (stages), quarantined, failed',
          `${fmt(x.requestsStored, 0)}, ${fmt(x.quarantined, 0)}, ${fmt(x.failedItems, 0)}`,
        ],
        ['data dir after replay', `${fmt(mb(x.dataDirBytes))} MB`],
        [
          'DynamoDB commands',
          Object.entries(x.commands)
            .map(([k, v]) => `${k.replace(/Command$/, '')} ${fmt(v, 0)}`)
            .join(', '),
        ],
        ['Scan commands', String(x.scans)],
      ],
    ),
  );
  out.push('');
};

const questionRows = (xs: QuestionLatency[]) =>
  xs.map((x) => [
    x.label,
    fmt(x.p50Ms),
    fmt(x.p95Ms),
    fmt(x.maxMs),
    fmt(x.avgRows),
    Object.entries(x.commandsPerQuestion)
      .map(([k, v]) => `${k.replace(/Command$/, '')} ${fmt(v)}`)
      .join(', '),
    fmt(x.readUnitsPerQuestion),
    String(x.scans),
    x.errors.join('; ') || '-',
  ]);

const readsText = (x: QuestionLatency): string =>
  Object.entries(x.readsByClass ?? {})
    .sort((a, b) => (b[1]?.bytes ?? 0) - (a[1]?.bytes ?? 0))
    .map(([k, v]) => {
      const parts = [
        v.queries ? `${fmt(v.queries)} Query` : '',
        v.keys ? `${fmt(v.keys)} keys` : '',
        `${fmt(v.items)} items, ${v.bytes >= 100_000 ? `${fmt(mb(v.bytes), 2)} MB` : `${fmt(v.bytes / 1000)} KB`}`,
      ].filter(Boolean);
      return `\`${k}\` ${parts.join(', ')}`;
    })
    .join('; ') || '-';

const QUESTION_HEADER = [
  'question',
  'p50 ms',
  'p95 ms',
  'max ms',
  'rows (avg)',
  'DynamoDB commands per question (avg)',
  'read units per question',
  'Scan',
  'errors',
];

const querySection = (out: string[], q: QueryLatencyResult, c: BenchConfig): void => {
  const l = q.load;
  out.push('## 5. Query latency of the CLI questions');
  out.push('');
  out.push(
    `Table: **${fmt(q.requestsInTable, 0)} requests** in dynalite running in its own process with LevelDB on disk, loaded through the handlers' entry points into DynamoDbTrailStore (nothing bypassed), ${l.concurrency} deliveries in flight the way Kinesis shards are processed in parallel (one store instance per shard), with the delivery settings above. Load: ${fmt(l.totalMs / 60_000)} min in all.`,
  );
  out.push('');
  out.push(
    mdTable(
      [
        'scenario',
        'clusters',
        'requests',
        'simulated time',
        'log invocations (records)',
        'CloudTrail invocations (messages)',
        'failed items',
        'wall time',
        'of which simulating',
        'requests/s',
      ],
      l.scenarios.map((s) => [
        `${s.name} (${s.mix})`,
        s.clusters,
        fmt(s.requests, 0),
        s.simulatedMs >= 2 * 86_400_000
          ? `${fmt(s.simulatedMs / 86_400_000, 0)} d`
          : `${fmt(s.simulatedMs / 3_600_000)} h`,
        `${fmt(s.kinesisInvocations, 0)} (${fmt(s.kinesisRecords, 0)})`,
        `${fmt(s.sqsInvocations, 0)} (${fmt(s.sqsMessages, 0)})`,
        fmt(s.failedBatchItems, 0),
        `${fmt(s.wallMs / 1000)} s`,
        `${fmt(s.generateMs / 1000)} s`,
        fmt(s.requestsPerS, 0),
      ]),
    ),
  );
  out.push('');
  out.push(
    `Commands while loading: ${Object.entries(l.commands)
      .map(([k, v]) => `${k.replace(/Command$/, '')} ${fmt(v, 0)}`)
      .join(
        ', ',
      )}; write units per 1,000 requests over the whole load: ${fmt(l.writeUnitsPer1000Requests, 1)} (table ${fmt(l.capacity.tableWriteUnits, 0)}, GSI ${fmt(l.capacity.indexWriteUnits, 0)}, refused conditional ${fmt(l.capacity.failedConditionWriteUnits, 0)}).`,
  );
  out.push('');
  out.push(
    `Each question runs through lib/query as the CLI runs it (parseQuestionParams, then runQuestion over a fresh DynamoDbTrailStore per question, so no cache carries over between questions; the HTTP connection is reused), ${c.queryReps} times after one warm-up, rotating over the most frequent values seen while loading (clusters, principals, humans, Kubernetes users, objects, kinds and namespaces as the store indexes them; 200 sampled notable requests for explain, 200 sampled bulk requests with their requestReceivedTimestamp for explain --at). Windows are the CLI defaults (who-did and denied: last 24 h; touched: 30 d; mappings history: all), which hold the whole realistic scenario. Page size: the CLI default (50). The query client is wrapped with countCommands (lib/store/command-counter.ts); read units come from an untimed pass over up to 5 of the same values with ConsumedCapacity asked for. Targets: p95 < ${TARGET_QUERY_P95_MS} ms, explain < ${TARGET_EXPLAIN_P95_MS} ms, no Scan.`,
  );
  out.push('');
  out.push(mdTable(QUESTION_HEADER, questionRows(q.questions)));
  out.push('');
  out.push(
    "What each question reads, per question, by item class (the same untimed pass; bytes by DynamoDB's size rule; `S#` queries read segment parts, `n` and `b` together):",
  );
  out.push('');
  out.push(
    mdTable(
      ['question', 'reads by class'],
      [...q.questions, ...q.longWindow].map((x) => [x.label, readsText(x)]),
    ),
  );
  out.push('');
  out.push('Example of each (the first value asked):');
  out.push('');
  for (const x of q.questions) out.push(`- ${x.label}: \`${x.example}\` (${fmt(x.values, 0)} values)`);
  out.push('');
  out.push('### Long windows (first page)');
  out.push('');
  out.push(
    `A small cluster whose traffic (human-heavy mix) is spread over ${c.longWindowDays} days ending where the realistic scenario ends, in the same table: who-did over the whole cluster, denied, and touched of its most frequent kind over the ${c.longWindowDays} days; and the same three questions on the busiest realistic cluster over 4 years that hold no data. First page (50 rows), ${c.queryReps} repetitions after a warm-up. Target: < ${fmt(TARGET_LONG_WINDOW_MS, 0)} ms.`,
  );
  out.push('');
  out.push(mdTable(QUESTION_HEADER, questionRows(q.longWindow)));
  out.push('');
  const p = q.profile;
  if (p) {
    const s = p.summary;
    out.push(`### Where the slowest question's time goes (${p.key})`);
    out.push('');
    out.push(
      `CPU profile of the bench process (V8 sampling profiler) over ${p.runs} runs of \`${p.key}\`: ${fmt(s.wallMs, 0)} ms wall; the thread was idle (waiting for the engine, which runs in its own process) ${pct(s.idleShare, 0)} of the time, in garbage collection ${pct(s.gcShare, 0)}. By area: ${s.byArea.map((a) => `${a.area} ${pct(a.share, 0)}`).join(', ')}.`,
    );
    out.push('');
    out.push(
      mdTable(
        ['function (self time)', 'ms', 'share'],
        s.top.map((f) => [`\`${f.frame}\``, fmt(f.selfMs), pct(f.share, 1)]),
      ),
    );
    out.push('');
  }
};

const alertSection = (out: string[], a: AlertLatencyResult): void => {
  const s = (ms: number) => `${fmt(ms / 1000, 1)} s`;
  out.push('## 8. Event-to-alert latency and cost per thousand alerts');
  out.push('');
  out.push(
    `bench/alert-latency.ts: a simulated fleet with identity-mapping changes, delivered as sim/delivery.ts delivers it and run through the real ingest handlers, alert rules, ledger and dispatch on the embedded engine (${fmt(a.invocations.log, 0)} log and ${fmt(a.invocations.cloudtrail, 0)} CloudTrail invocations). Latency runs from the receipt of the newest event an alert rests on to its publication; the processing part is measured on this machine.`,
  );
  out.push('');
  const row = (label: string, x: { alerts?: number; p50Ms: number; p95Ms: number }) => [
    label,
    x.alerts === undefined ? '-' : fmt(x.alerts, 0),
    s(x.p50Ms),
    s(x.p95Ms),
  ];
  out.push(
    mdTable(
      ['from -> to publish', 'alerts', 'p50', 'p95'],
      [
        row('**receipt (all alerts)**', { alerts: a.alerts, p50Ms: a.p50Ms, p95Ms: a.p95Ms }),
        row('audit log: CloudWatch receipt', a.paths.log),
        row('audit log: arrival in Kinesis', a.paths.logFromStream),
        row('CloudTrail: SQS send', a.paths.cloudtrail),
        row("the change's own event time", a.fromEventTime),
      ],
    ),
  );
  out.push('');
  out.push(
    `Cost per 1,000 alerts: **$${fmt(a.costPerThousandAlertsUsd, 4)}** (${Object.entries(a.costBreakdownPerThousandUsd)
      .map(([k, v]) => `${k} $${fmt(v, 4)}`)
      .join(', ')}; the optional items are not in the total).`,
  );
  out.push('');
  out.push('Assumptions:');
  out.push('');
  for (const x of a.assumptions) out.push(`- ${x}`);
  out.push('');
};

export const renderMarkdown = (r: BenchResults): string => {
  const m = r.machine;
  const c = r.config;
  const out: string[] = [];
  out.push('# BENCHMARKS');
  out.push('');
  out.push(
    'Generated by `npm run bench`' +
      (c.quick ? ' **in --quick mode (small sizes: indicative only)**' : '') +
      `, with BENCHMARKS.json beside it. Do not edit by hand; rerun it. Total wall time ${fmt(r.wallMs / 60_000)} min.`,
  );
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push(
    mdTable(
      ['item', 'value'],
      [
        ['date', m.date],
        ['cpu', `${m.cpuModel} (${m.cores} cores)`],
        ['memory', `${m.memoryGB} GB (${m.freeMemoryGB} GB free at start)`],
        ['load average at start (1/5/15 min)', m.loadAverage],
        ['node', `${m.node} (${m.platform})`],
        ...Object.entries(m.packages).map(([k, v]) => [k, v]),
      ],
    ),
  );
  out.push('');
  out.push(
    'The machine is shared (several engineers build and test on its two cores at once), so absolute figures vary from run to run; ratios measured within one run (handler vs floor) hold better.',
  );
  out.push('');
  if (r.sections?.length) {
    out.push(
      'Sections of this run, with the 1-minute load average when each started and ended (above 2, other work was competing for the two cores, and latencies rise with it):',
    );
    out.push('');
    out.push(
      mdTable(
        ['section', 'duration', 'load average at start / end'],
        r.sections.map((x) => [x.label, `${fmt(x.ms / 1000)} s`, `${fmt(x.loadAtStart, 2)} / ${fmt(x.loadAtEnd, 2)}`]),
      ),
    );
    out.push('');
  }
  out.push('## Summary');
  out.push('');
  out.push(
    mdTable(
      ['metric', 'value', 'target', 'status'],
      summaryRows(r).map((x) => [x.metric, x.value, x.target, x.status]),
    ),
  );
  out.push('');
  if (r.failures.length) {
    out.push('Sections that failed:');
    out.push('');
    for (const f of r.failures) out.push(`- **${f.section}**: ${f.message}`);
    out.push('');
  }
  trafficMixSection(out);
  deliverySection(out, c);

  if (r.cpu) {
    const x = r.cpu;
    out.push('## 1. Log handler CPU path vs the floor');
    out.push('');
    out.push(
      `Workload: ${fmt(x.requests, 0)} simulated requests -> ${fmt(x.kinesisRecords, 0)} Kinesis records, ${fmt(x.logEvents, 0)} CloudWatch log events, ${fmt(mb(x.gzipBytes))} MB gzip'd / ${fmt(mb(x.jsonBytes))} MB of JSON. ` +
        "A: the log handler entry point as Lambda runs it (`ingestKinesisEvent` of the esbuild bundle built with the CDK construct's options: base64, gunzip, JSON, parsing of every line and audit event, mapping-change extraction, evidence, correlation) with the store replaced by an in-memory stub of the TrailStore port that keeps mapping changes and AssumeRole issuances (so attribution runs) and drops chains. " +
        `Floor: base64 + gunzip + JSON.parse of the same records. P: the product's parsers alone (bench/parse-path.ts, bundled the same way: strict base64, gunzip, JSON, payload shape, then every audit event and authenticator line parsed; no correlation). Floor + audit JSON: the floor plus JSON.parse of each of the ${fmt(x.auditEvents, 0)} audit messages, which are JSON documents of their own. ${x.rounds} interleaved rounds (A, floor, P, floor + audit JSON, A…) after one warm-up each; medians. ` +
        `All four paths run in one child process started as Lambda starts the log function: ${nodeArgsText(x.nodeArgs)} (the managed Node.js runtime's heap flags for the function's memory size, then its NODE_OPTIONS).`,
    );
    out.push('');
    out.push(
      mdTable(
        ['path', 'median ms', 'events/s', 'MB/s (JSON)', 'runs (ms)'],
        (
          [
            ['A: log handler CPU path', x.handlerMs],
            ['P: parsers alone', x.parseMs],
            ['floor: gunzip + JSON.parse', x.floorMs],
            ['floor + audit JSON.parse', x.floorWithAuditJsonMs],
          ] as const
        ).map(([label, runs]) => {
          const ms = median(runs);
          return [
            label,
            fmt(ms, 0),
            fmt(x.logEvents / (ms / 1000), 0),
            fmt(mb(x.jsonBytes) / (ms / 1000)),
            runs.map((v) => fmt(v, 0)).join(', '),
          ];
        }),
      ),
    );
    out.push('');
    out.push(
      `Ratio A / floor: **${fmt(x.ratioToFloor, 3)}** (target >= ${TARGET_RATIO_TO_FLOOR}); A / (floor + audit JSON.parse): ${fmt(x.ratioToFloorWithAuditJson, 3)}. Chains correlated per run: ${fmt(x.chainsPerRun, 0)}.`,
    );
    out.push('');
    out.push(
      `Where A's time goes: parsing alone (P) is ${pct(x.parseShare, 0)} of A and reaches ${fmt(x.parseRatioToFloor, 3)} of the floor by itself; the rest (${pct(1 - x.parseShare, 0)}) is mapping-change extraction, evidence, correlation and the batch bookkeeping. ` +
        `The floor does not parse the audit messages nor tokenize the authenticator lines, which every consumer of these logs must do. ${budgetSentence(median(x.floorMs) / TARGET_RATIO_TO_FLOOR - median(x.parseMs), x.chainsPerRun)}`,
    );
    out.push('');
    const d = r.cpuNodeDefaults;
    if (d) {
      out.push(
        `The same measurement in a process with this machine's Node defaults (no flags: 16 MB semi-spaces, so a batch's parsed events are copied by many more scavenges): A ${fmt(median(d.handlerMs), 0)} ms, P ${fmt(median(d.parseMs), 0)} ms, floor ${fmt(median(d.floorMs), 0)} ms; ratio A / floor ${fmt(d.ratioToFloor, 3)}, A / (floor + audit JSON.parse) ${fmt(d.ratioToFloorWithAuditJson, 3)}.`,
      );
      out.push('');
    }
  }

  if (r.engine?.length) {
    engineSection(out, r.engine, c);
    correctnessSection(out, r.engine);
  }
  if (r.replay) replaySection(out, r.replay);
  if (r.query) querySection(out, r.query, c);

  if (r.memory) {
    const x = r.memory;
    out.push('## 6. Memory: log handler on a full Kinesis batch');
    out.push('');
    out.push(
      `One Kinesis event of ${fmt(mb(x.eventBytes))} MB (Lambda's invocation payload limit is 6 MB): ${fmt(x.records, 0)} records, ${fmt(x.logEvents, 0)} log events, ${fmt(mb(x.jsonBytes))} MB of JSON once decompressed. A fresh process, started with the log function's Lambda flags (${nodeArgsText(x.nodeArgs)}), runs the log-ingest handler module (bundled with the Lambda esbuild options) with storage stubbed; it reads the event file and parses it as the runtime does. ` +
        `RSS after loading the module and priming: ${fmt(x.baselineRssMB)} MB; **peak RSS (process.resourceUsage().maxRSS): ${fmt(x.maxRssMB)} MB** (target < ${TARGET_MAX_RSS_MB} MB). Handler time ${fmt(x.handlerMs, 0)} ms, ${fmt(x.chains, 0)} chains.`,
    );
    out.push('');
  }

  if (r.cold) {
    out.push('## 7. Cold start: bundle size and module load time');
    out.push('');
    out.push(
      `Each functions/*.ts bundled with the options of cdk/constructs/trail-function.ts (esbuild, ESM, minified, external source map, AWS SDK bundled, target node24). Import time: a fresh \`node\` process imports the bundle (module evaluation included: config, logger, metrics, SDK client), median of ${c.coldSamples}; the deployed functions set NODE_OPTIONS=--enable-source-maps, measured as well. Measured on Node ${m.node}, not the node24 Lambda runtime, and on this machine's CPU, not Lambda's arm64.`,
    );
    out.push('');
    out.push(
      mdTable(
        [
          'function',
          'bundle KB',
          'gzip KB',
          'source map KB',
          'import ms (median)',
          'import ms, --enable-source-maps',
          'targets',
        ],
        r.cold.map((x) => [
          x.fn,
          fmt(x.bundleBytes / 1024, 0),
          fmt(x.gzipBytes / 1024, 0),
          fmt(x.sourceMapBytes / 1024, 0),
          x.error ? `error: ${x.error}` : fmt(x.importMsMedian),
          x.error ? '-' : fmt(x.importMsWithSourceMapsMedian),
          !x.error && x.bundleBytes < TARGET_BUNDLE_BYTES && x.importMsMedian < TARGET_IMPORT_MS ? 'ok' : 'MISS',
        ]),
      ),
    );
    out.push('');
  }

  if (r.alerts) alertSection(out, r.alerts);
  if (r.faults) out.push(...faultInjectionMarkdown(r.faults));

  out.push('## Configuration of this run');
  out.push('');
  const { sections, ...rest } = c;
  out.push(`Sections: ${sections.join(', ')}. Sizes: \`${JSON.stringify(rest)}\`.`);
  out.push('');
  out.push(
    'Rerun: `npm run bench` (full) or `npm run bench -- --quick`; sizes by flag (`--engine-requests=20000`, `--query-requests=200000`, `--only=engine,query`) or environment (`BENCH_QUERY_REQUESTS=200000`).',
  );
  out.push('');
  return out.join('\n');
};
