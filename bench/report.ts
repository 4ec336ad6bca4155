import { type ColdStartResult, TARGET_BUNDLE_BYTES, TARGET_IMPORT_MS } from './cold-start.js';
import type { BenchConfig } from './config.js';
import { type HandlerMemoryResult, TARGET_MAX_RSS_MB } from './handler-memory.js';
import { type IngestCpuResult, TARGET_RATIO_TO_FLOOR } from './ingest-cpu.js';
import { type EngineIngestResult, PRICES } from './ingest-e2e.js';
import type { MachineInfo } from './machine.js';
import type { QueryLatencyResult } from './query-latency.js';
import { fmt, mb, median } from './stats.js';

export interface BenchResults {
  config: BenchConfig;
  machine: MachineInfo;
  wallMs: number;
  /** The CPU section as Lambda starts the log function (its heap flags and NODE_OPTIONS). */
  cpu?: IngestCpuResult;
  /** The same measurement under this machine's Node defaults, for comparison. */
  cpuNodeDefaults?: IngestCpuResult;
  engine?: EngineIngestResult;
  query?: QueryLatencyResult;
  memory?: HandlerMemoryResult;
  cold?: ColdStartResult[];
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

const nodeArgsText = (args: readonly string[] | undefined): string =>
  args && args.length > 0 ? `\`node ${args.join(' ')}\`` : "`node` with this machine's defaults";

/** What a ratio of TARGET_RATIO_TO_FLOOR leaves for correlation once the parsers have run. */
const budgetSentence = (leftMs: number, chains: number): string =>
  leftMs > 0
    ? `At a ratio of ${TARGET_RATIO_TO_FLOOR}, A would have ${fmt(leftMs, 0)} ms left after parsing for the ${fmt(chains, 0)} chains of this workload (${fmt((leftMs * 1000) / chains, 1)} µs a chain).`
    : `The parsers alone take ${fmt(-leftMs, 0)} ms longer than a ratio of ${TARGET_RATIO_TO_FLOOR} allows for the whole path, before any of the ${fmt(chains, 0)} chains is correlated.`;

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
  if (r.engine) {
    rows.push({
      metric: 'end-to-end ingestion (dynalite in process)',
      value: `${fmt(r.engine.eventsPerS, 0)} events/s (${fmt(r.engine.requestsPerS, 0)} requests/s)`,
      target: '-',
      status: '-',
    });
    rows.push({
      metric: 'write units per 1,000 requests',
      value: fmt(r.engine.writeUnitsPer1000Requests, 0),
      target: '-',
      status: '-',
    });
    rows.push({
      metric: 'on-demand cost per million requests',
      value: `$${fmt(r.engine.writeCostPerMillionRequests, 2)} writes + $${fmt(r.engine.readCostPerMillionRequests, 2)} reads`,
      target: '-',
      status: '-',
    });
    rows.push({
      metric: `correctness vs ground truth (${fmt(r.engine.requests, 0)} requests, as answered)`,
      value: pct(r.engine.answered.agreement),
      target: '-',
      status: '-',
    });
  }
  if (r.query) {
    const worst = Math.max(...r.query.questions.map((q) => (Number.isFinite(q.p95Ms) ? q.p95Ms : 0)));
    const scans = r.query.questions.reduce((n, q) => n + q.scans, 0);
    rows.push({
      metric: `query p95, slowest question (${fmt(r.query.chainsInTable, 0)} chains)`,
      value: `${fmt(worst)} ms`,
      target: '-',
      status: '-',
    });
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
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

export const renderMarkdown = (r: BenchResults): string => {
  const m = r.machine;
  const c = r.config;
  const out: string[] = [];
  out.push('# BENCHMARKS');
  out.push('');
  out.push(
    'Generated by `npm run bench`' +
      (c.quick ? ' **in --quick mode (small sizes: indicative only)**' : '') +
      `. Do not edit by hand; rerun it. Total wall time ${fmt(r.wallMs / 60_000)} min.`,
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

  if (r.engine) {
    const e = r.engine;
    const cap = e.capacity;
    out.push('## 2. End-to-end ingestion into the embedded engine, write units and cost');
    out.push('');
    out.push(
      `Scenario: ${fmt(e.requests, 0)} requests with mapping changes, ${pct(c.lateFraction, 0)} of records late (5-30 min), ${pct(c.duplicateFraction, 0)} delivered twice: ${fmt(e.kinesisRecords, 0)} Kinesis records (${fmt(e.logEvents, 0)} log events) and ${fmt(e.sqsMessages, 0)} CloudTrail events via SQS, ingested in arrival order through the handlers' entry points into DynamoDbTrailStore on dynalite (in process, in memory, as local mode runs it). Deliveries are pre-generated, so the time is the product's.`,
    );
    out.push('');
    out.push(
      mdTable(
        ['figure', 'value'],
        [
          ['wall time', `${fmt(e.wallMs / 1000)} s`],
          ['events/s (log events + CloudTrail events)', fmt(e.eventsPerS, 0)],
          ['requests/s', fmt(e.requestsPerS, 0)],
          ['batch items reported failed', fmt(e.failedBatchItems, 0)],
          ['items put', fmt(cap.itemsWritten, 0)],
          ['table write units', fmt(cap.tableWriteUnits, 0)],
          ['table write units as dynalite reports them (cross-check)', fmt(cap.engineTableWriteUnits, 0)],
          ['GSI write units', fmt(cap.indexWriteUnits, 0)],
          [
            `refused conditional writes (charged)`,
            `${fmt(cap.failedConditionalWrites, 0)} writes, ${fmt(cap.failedConditionWriteUnits, 0)} units`,
          ],
          ['**write units per 1,000 requests**', `**${fmt(e.writeUnitsPer1000Requests, 0)}**`],
          ['read units per 1,000 requests (dynalite ConsumedCapacity)', fmt(e.readUnitsPer1000Requests, 0)],
          [
            '**cost per million requests, on-demand**',
            `**$${fmt(e.writeCostPerMillionRequests, 2)} writes + $${fmt(e.readCostPerMillionRequests, 2)} reads**`,
          ],
          [
            'DynamoDB operations',
            Object.entries(cap.operations)
              .map(([k, v]) => `${k} ${fmt(v, 0)}`)
              .join(', '),
          ],
          ['Scan commands', String(e.scans)],
        ],
      ),
    );
    out.push('');
    out.push(
      `Write units are counted on the wire by bench/write-units.ts: 1 unit per started KB of each item put (the larger of old and new image for a replacement), plus, per GSI, 1 unit per started KB of the KEYS_ONLY index entry (keys + 100 bytes) when it appears or disappears and 2 when its key changes, plus refused conditional puts at the item's size. dynalite returns ConsumedCapacity for the table only (never per index), so its figure is a cross-check of the table part. ` +
        `Prices: on-demand, ${PRICES.region}, standard table class: $${PRICES.writeRequestUnitPerMillion} per million write request units and $${PRICES.readRequestUnitPerMillion} per million read request units, the prices since the on-demand price cut effective ${PRICES.asOf} (checked 2026-11 against the AWS on-demand pricing page as indexed and a 2025 third-party summary quoting these figures; storage, PITR, streams and data transfer are not included).`,
    );
    out.push('');
    out.push('## 6. Correctness at scale (same run)');
    out.push('');
    out.push(
      `Every request of the scenario above compared field by field with the simulator's ground truth (sim/truth-compare.ts). "As answered": the chain derived from its stored facts with the evidence as it now stands (what the questions return; the trail stores facts, not chains). Requests listed: ${fmt(e.storedChains, 0)}.`,
    );
    out.push('');
    const fields = Object.keys(e.answered.fields);
    out.push(
      mdTable(
        ['field', 'as answered'],
        [
          [
            '**all fields**',

            `**${pct(e.answered.agreement)}** (${fmt(e.answered.agreeing, 0)} / ${fmt(e.answered.requests, 0)})`,
          ],
          ...fields.map((f) => [f, pct(e.answered.fields[f] ?? 0)]),
        ],
      ),
    );
    out.push('');
    if (e.answered.topMismatches.length) {
      out.push('Largest disagreement classes (as answered):');
      out.push('');
      out.push(
        mdTable(
          ['field', 'truth -> product', 'requests', 'example auditID'],
          e.answered.topMismatches.map((x) => [x.field, x.shape, fmt(x.count, 0), x.example ?? '']),
        ),
      );
      out.push('');
    }
  }

  if (r.query) {
    const q = r.query;
    const l = q.load;
    out.push('## 3. Query latency of the CLI questions');
    out.push('');
    out.push(
      `Table: **${fmt(q.chainsInTable, 0)} chains** (${fmt(l.requestsSimulated, 0)} simulated requests plus authenticator-denial chains) with their mapping history, AssumeRole issuances and authenticator records, in dynalite running in its own process with LevelDB on disk. ` +
        `Load: the first ${fmt(l.probeChains, 0)} chains through the full store path at ${fmt(l.probeChainsPerS, 0)} chains/s (${c.queryConcurrency} deliveries in flight), which extrapolates to ${fmt(l.extrapolatedFullPathMinutes)} min for the whole table` +
        (l.mode === 'full path + bulk'
          ? `: over the ${c.maxFullPathMinutes} min limit, so the rest was loaded in bulk (${fmt(l.bulkChains, 0)} chain item writes, a later audit stage of a request replacing the earlier one, at ${fmt(l.bulkChainsPerS, 0)} writes/s): the same handler pipeline produced them, and the store's own item codec (DynamoDbTrailStore.chainItem: the exact item putChains writes, keys and index entries included) was written with BatchWriteItem, without the read-merge-conditional-write protocol; a request seen at several stages keeps its highest stage; new mapping changes and issuances still went through the store. `
          : '. ') +
        `Total load ${fmt(l.totalMs / 60_000)} min; commands while loading: ${Object.entries(l.commands)
          .map(([k, v]) => `${k} ${fmt(v, 0)}`)
          .join(', ')}.`,
    );
    out.push('');
    out.push(
      `Each question runs through lib/query (parseQuestionParams + runQuestion + the store adapter with query-time re-derivation, as the CLI does), ${c.queryReps} times after one warm-up, rotating over the most frequent values found while loading (10 principals, 10 humans, 10 Kubernetes users, 6 clusters, 200 sampled auditIDs, 10 namespace/resource pairs); windows are the CLI defaults (who-did and denied: last 24 h of the data; touched: 30 d; mappings history: all). Page size: the CLI default (50). The query client is wrapped with countCommands (lib/store/command-counter.ts).`,
    );
    out.push('');
    out.push(
      mdTable(
        [
          'question',
          'p50 ms',
          'p95 ms',
          'max ms',
          'rows (avg)',
          'DynamoDB commands per question (avg)',
          'Scan',
          'errors',
        ],
        q.questions.map((x) => [
          x.name,
          fmt(x.p50Ms),
          fmt(x.p95Ms),
          fmt(x.maxMs),
          fmt(x.avgRows),
          Object.entries(x.commandsPerQuestion)
            .map(([k, v]) => `${k.replace(/Command$/, '')} ${fmt(v)}`)
            .join(', '),
          String(x.scans),
          x.errors.join('; ') || '-',
        ]),
      ),
    );
    out.push('');
  }

  if (r.memory) {
    const x = r.memory;
    out.push('## 4. Memory: log handler on a full Kinesis batch');
    out.push('');
    out.push(
      `One Kinesis event of ${fmt(mb(x.eventBytes))} MB (Lambda's invocation payload limit is 6 MB): ${fmt(x.records, 0)} records, ${fmt(x.logEvents, 0)} log events, ${fmt(mb(x.jsonBytes))} MB of JSON once decompressed. A fresh process, started with the log function's Lambda flags (${nodeArgsText(x.nodeArgs)}), runs the log-ingest handler module (bundled with the Lambda esbuild options) with storage stubbed; it reads the event file and parses it as the runtime does. ` +
        `RSS after loading the module and priming: ${fmt(x.baselineRssMB)} MB; **peak RSS (process.resourceUsage().maxRSS): ${fmt(x.maxRssMB)} MB** (target < ${TARGET_MAX_RSS_MB} MB). Handler time ${fmt(x.handlerMs, 0)} ms, ${fmt(x.chains, 0)} chains.`,
    );
    out.push('');
  }

  if (r.cold) {
    out.push('## 5. Cold start: bundle size and module load time');
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

  out.push('## Configuration of this run');
  out.push('');
  const { sections, ...rest } = c;
  out.push(`Sections: ${sections.join(', ')}. Sizes: \`${JSON.stringify(rest)}\`.`);
  out.push('');
  out.push(
    'Rerun: `npm run bench` (full) or `npm run bench -- --quick`; sizes by flag (`--engine-requests=20000`, `--query-chains=200000`, `--only=cpu,cold`) or environment (`BENCH_QUERY_CHAINS=200000`).',
  );
  out.push('');
  return out.join('\n');
};
