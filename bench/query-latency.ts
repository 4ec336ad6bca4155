import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable, localClient } from '../lib/local/engine.js';
import { parseQuestionParams, type QuestionName } from '../lib/query/params.js';
import { runQuestion } from '../lib/query/run.js';
import { type CommandCounter, countCommands, FULL_TABLE_READS } from '../lib/store/command-counter.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { rowIndexOf } from '../lib/store/dynamodb/row-index.js';
import type { IngestPort, LogBatchWrite } from '../lib/store/trail-store.js';
import type { Delivery, FleetOptions } from '../sim/index.js';
import { type CpuProfileSummary, profileCpu } from './cpu-profile.js';
import { startDynaliteProcess } from './dynalite-process.js';
import type { Handlers } from './handlers.js';
import { meterReads, type ReadTotals } from './read-meter.js';
import { elapsedMs, percentile } from './stats.js';
import { SIM_START, streamWorkload, windowMs } from './workload.js';
import { type CapacityTotals, meterCapacity } from './write-units.js';

/**
 * Latency of every CLI question (lib/query: parseQuestionParams + runQuestion over DynamoDbTrailStore,
 * the code the CLI and the query API run) on a table of at least a million requests of the realistic
 * mix, in dynalite running in its own process with LevelDB on disk, with proof that none of them scans
 * (the query client is wrapped with countCommands).
 *
 * Loading goes through the real handlers into DynamoDbTrailStore, nothing bypassed: every delivery of
 * the simulated scenario, batched as the deployed log function's event source mapping batches, with
 * `concurrency` deliveries in flight the way Kinesis shards are processed in parallel (one store
 * instance per shard, as one Lambda instance per shard). A second, small scenario adds a cluster whose
 * traffic is spread over `longWindowDays` days, for the long-window questions.
 *
 * The values the questions are asked about are the most frequent ones seen while loading (the rows
 * handed to the store, indexed as the store indexes them: lib/store/dynamodb/row-index.ts).
 */

export const TARGET_QUERY_P95_MS = 200;
export const TARGET_EXPLAIN_P95_MS = 50;
export const TARGET_LONG_WINDOW_MS = 1_000;

export interface QueryLatencyOptions {
  /** Requests of the realistic scenario the table is loaded with. */
  requests: number;
  /** Requests of the long-window cluster (human-heavy mix, spread over longWindowDays). */
  longWindowRequests: number;
  longWindowDays: number;
  repetitions: number;
  seed: number;
  /** Deliveries in flight while loading (Kinesis shards processed in parallel). */
  concurrency: number;
  lateFraction: number;
  duplicateFraction: number;
  /** Repository root (dynalite's CLI is started from its node_modules). */
  root: string;
  /** CPU-profile the slowest question (a few extra runs). Default true. */
  profile?: boolean;
}

/** The questions, one JSON key each (BENCHMARKS.json `queryP95Ms`). */
export const QUESTION_KEYS = [
  'whoDidCluster',
  'whoDidPrincipal',
  'whoDidHuman',
  'whoDidK8sUser',
  'explain',
  'explainAt',
  'denied',
  'accessAt',
  'mappingsHistory',
  'touchedObject',
  'touchedKind',
  'touchedNamespace',
] as const;
export type QuestionKey = (typeof QUESTION_KEYS)[number];

export interface QuestionLatency {
  key: string;
  label: string;
  question: QuestionName;
  /** The CLI invocation of the first value asked, for the report. */
  example: string;
  /** Distinct parameter values rotated over. */
  values: number;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  avgRows: number;
  /** DynamoDB commands per question, averaged, by command name. */
  commandsPerQuestion: Record<string, number>;
  /** Read units per question as the engine reports them (an untimed pass over the same values). */
  readUnitsPerQuestion: number;
  /** What the same untimed pass read, per question, by item class (bench/read-meter.ts). */
  readsByClass: ReadTotals['byClass'];
  /** Scan / ExecuteStatement / BatchExecuteStatement commands over all samples: must be 0. */
  scans: number;
  errors: string[];
}

export interface ScenarioLoad {
  name: string;
  mix: string;
  clusters: number;
  requests: number;
  simulatedMs: number;
  kinesisInvocations: number;
  kinesisRecords: number;
  sqsInvocations: number;
  sqsMessages: number;
  failedBatchItems: number;
  wallMs: number;
  /** Of wallMs: time the bench thread spent simulating and packing deliveries (not the product). */
  generateMs: number;
  requestsPerS: number;
}

export interface LoadStats {
  concurrency: number;
  scenarios: ScenarioLoad[];
  totalMs: number;
  /** DynamoDB commands sent while loading, by name. */
  commands: Record<string, number>;
  capacity: CapacityTotals;
  writeUnitsPer1000Requests: number;
}

export interface QueryLatencyResult {
  requestsInTable: number;
  load: LoadStats;
  questions: QuestionLatency[];
  /** cluster90d.* and empty4y.* (who-did, denied, touched; first page). */
  longWindow: QuestionLatency[];
  /** The slowest question, profiled. */
  profile?: { key: string; runs: number; summary: CpuProfileSummary };
}

const LONG_WINDOW_FLEET: Omit<FleetOptions, 'seed'> = {
  clusters: 1,
  accountsPerOrg: 2,
  ssoUsers: 8,
  iamUsers: 4,
  roles: 2,
  nodesPerCluster: 3,
  serviceAccounts: 2,
};

const DAY_MS = 86_400_000;
const TOP = 10;

/** Frequency counters of the values the questions are asked about, filled while loading. */
class Samples {
  readonly clusters = new Map<string, number>();
  readonly denials = new Map<string, number>();
  readonly principals = new Map<string, number>();
  readonly humans = new Map<string, number>();
  readonly k8sUsers = new Map<string, number>();
  readonly objects = new Map<string, number>();
  readonly kinds = new Map<string, number>();
  readonly namespaces = new Map<string, number>();
  readonly notable = new Reservoir<{ cluster: string; auditID: string }>(200, 2_463_534_242);
  readonly bulk = new Reservoir<{ cluster: string; auditID: string; at: string }>(200, 88_675_123);

  observe(batch: LogBatchWrite): void {
    for (const row of batch.audit) {
      const accountId = row.chain.accountId ?? row.facts.origin.accountId;
      if (!accountId) continue;
      const cluster = `${accountId}/${row.facts.origin.cluster}`;
      const ix = rowIndexOf(row.chain, row.facts);
      bump(this.clusters, cluster);
      if (ix.denied) bump(this.denials, cluster);
      const arn = row.chain.principal.value?.canonicalArn;
      if (arn) bump(this.principals, arn);
      const human = row.chain.human.status !== 'unknown' ? row.chain.human.value?.identity : undefined;
      if (human) bump(this.humans, human);
      if (ix.username) bump(this.k8sUsers, `${cluster}\u0000${ix.username}`);
      if (ix.resource) {
        bump(this.kinds, `${cluster}\u0000${ix.resource}`);
        if (ix.name) bump(this.objects, `${cluster}\u0000${ix.namespace ?? '-'}/${ix.resource}/${ix.name}`);
      }
      if (ix.namespace) bump(this.namespaces, `${cluster}\u0000namespace/${ix.namespace}`);
      const { auditID, requestReceivedTimestamp: at } = row.facts.event;
      if (row.chain.kind !== 'request' || !auditID) continue;
      if (ix.notable) this.notable.add({ cluster, auditID });
      else if (at) this.bulk.add({ cluster, auditID, at });
    }
  }
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** Deterministic reservoir sample (xorshift32), so a rerun asks about the same requests. */
class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;
  constructor(
    private readonly size: number,
    private rand: number,
  ) {}
  add(x: T): void {
    this.seen++;
    if (this.items.length < this.size) {
      this.items.push(x);
      return;
    }
    this.rand ^= this.rand << 13;
    this.rand ^= this.rand >>> 17;
    this.rand ^= this.rand << 5;
    const j = (this.rand >>> 0) % this.seen;
    if (j < this.size) this.items[j] = x;
  }
}

const top = (m: Map<string, number>, n = TOP): string[] =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([k]) => k);

const pairs = (m: Map<string, number>, n = TOP): [string, string][] =>
  top(m, n).map((k) => k.split('\u0000') as [string, string]);

/** The ingest port the handlers get: the real store; every batch is looked at first (sampling only). */
const sampling = (store: DynamoDbTrailStore, samples: Samples): IngestPort => ({
  putLogBatch: (batch) => {
    samples.observe(batch);
    return store.putLogBatch(batch);
  },
  putMappingChanges: (c) => store.putMappingChanges(c),
  mappingChanges: (ref) => store.mappingChanges(ref),
  putCredentials: (c) => store.putCredentials(c),
  credential: (k) => store.credential(k),
  credentialsIssuedTo: (k) => store.credentialsIssuedTo(k),
  quarantine: (q) => store.quarantine(q),
  evidenceFor: (ref, keys) => store.evidenceFor(ref, keys),
  requestsByAccessKey: (k, range, page) => store.requestsByAccessKey(k, range, page),
  putLateLinks: (items) => store.putLateLinks(items),
});

interface LoadScenario {
  name: string;
  mix: 'realistic' | 'human-heavy';
  seed: number;
  requests: number;
  start: string;
  durationMs: number;
  fleet?: Omit<FleetOptions, 'seed'>;
}

const loadScenario = async (
  sc: LoadScenario,
  opts: QueryLatencyOptions,
  client: DynamoDBClient,
  tableName: string,
  now: () => number,
  handlers: Handlers,
  samples: Samples,
  progress: (text: string) => void,
): Promise<ScenarioLoad & { clusterRefs: string[] }> => {
  const w = streamWorkload(
    {
      seed: sc.seed,
      requests: sc.requests,
      mix: sc.mix,
      start: sc.start,
      durationMs: sc.durationMs,
      lateFraction: opts.lateFraction,
      duplicateFraction: opts.duplicateFraction,
      ...(sc.fleet ? { fleet: sc.fleet } : {}),
    },
    false,
  );
  // One store per shard, as each shard is processed by its own Lambda instance.
  const stores = Array.from({ length: Math.max(1, opts.concurrency) }, () =>
    sampling(new DynamoDbTrailStore(client, { tableName, now }), samples),
  );
  await (stores[0] as IngestPort).putMappingChanges(w.initialMappings);
  const stats = { kinesisInvocations: 0, kinesisRecords: 0, sqsInvocations: 0, sqsMessages: 0, failed: 0 };
  const t = process.hrtime.bigint();
  let lastReport = Date.now();
  const iterator = w.deliveries[Symbol.iterator]();
  let firstError: unknown;
  const run = async (d: Delivery, store: IngestPort) => {
    if (d.kind === 'kinesis') {
      stats.kinesisInvocations++;
      stats.kinesisRecords += d.event.Records.length;
    } else {
      stats.sqsInvocations++;
      stats.sqsMessages += d.event.Records.length;
    }
    const res = (await (d.kind === 'kinesis'
      ? handlers.kinesis(d.event, store, now)
      : handlers.sqs(d.event, store, now))) as { batchItemFailures?: unknown[] } | undefined;
    stats.failed += res?.batchItemFailures?.length ?? 0;
  };
  const shard = async (store: IngestPort) => {
    while (firstError === undefined) {
      const next = iterator.next();
      if (next.done) return;
      try {
        await run(next.value, store);
      } catch (err) {
        firstError ??= err;
      }
      if (Date.now() - lastReport > 60_000) {
        lastReport = Date.now();
        const s = elapsedMs(t) / 1000;
        progress(`${sc.name}: ${w.progress.requests.toLocaleString('en-US')} requests in ${s.toFixed(0)} s`);
      }
    }
  };
  await Promise.all(stores.map(shard));
  if (firstError !== undefined) throw firstError;
  const wallMs = elapsedMs(t);
  return {
    name: sc.name,
    mix: sc.mix,
    clusters: w.clusters.length,
    clusterRefs: w.clusters.map((c) => `${c.accountId}/${c.cluster}`),
    requests: w.progress.requests,
    simulatedMs: sc.durationMs,
    kinesisInvocations: stats.kinesisInvocations,
    kinesisRecords: stats.kinesisRecords,
    sqsInvocations: stats.sqsInvocations,
    sqsMessages: stats.sqsMessages,
    failedBatchItems: stats.failed,
    wallMs,
    generateMs: w.progress.generateMs,
    requestsPerS: w.progress.requests / (wallMs / 1000),
  };
};

interface QuestionSpec {
  key: string;
  label: string;
  question: QuestionName;
  values: Record<string, string>[];
}

const cliText = (question: QuestionName, raw: Record<string, string>): string =>
  `eks-trail ${question === 'mappings-history' ? 'mappings history' : question} ${Object.entries(raw)
    .map(([k, v]) =>
      k === 'auditId' || k === 'target' ? v : `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${v}`,
    )
    .join(' ')}`;

const runSpec = async (
  spec: QuestionSpec,
  reps: number,
  client: DynamoDBClient,
  counter: CommandCounter,
  tableName: string,
  now: () => number,
): Promise<QuestionLatency> => {
  const lat: number[] = [];
  const errors: string[] = [];
  const commands: Record<string, number> = {};
  let rows = 0;
  let scans = 0;
  const ask = async (raw: Record<string, string>): Promise<number> => {
    const q = parseQuestionParams(spec.question, raw, now());
    if (!q.ok) throw new Error(q.issues.map((x) => x.message).join('; '));
    // A fresh store per question, as each CLI invocation opens its own (no warm caches); the HTTP
    // connection to the engine is reused, as within one CLI process.
    const store = new DynamoDbTrailStore(client, { tableName, now });
    const answer = await runQuestion(store, q.value);
    return answer.rows.length;
  };
  if (spec.values.length === 0) errors.push('no parameter value found in the loaded data');
  for (let i = -1; i < reps && spec.values.length > 0; i++) {
    const raw = spec.values[Math.max(0, i) % spec.values.length] as Record<string, string>;
    counter.reset();
    const t = process.hrtime.bigint();
    try {
      const n = await ask(raw);
      const ms = elapsedMs(t);
      if (i < 0) continue; // warm-up
      lat.push(ms);
      rows += n;
    } catch (err) {
      errors.push(String((err as Error).message ?? err));
      if (errors.length > 3) break;
      continue;
    }
    for (const [k, v] of Object.entries(counter.counts())) commands[k] = (commands[k] ?? 0) + v;
    scans += FULL_TABLE_READS.reduce((n, c) => n + counter.count(c), 0);
  }
  // What is read: an untimed pass over the values with the engine asked for ConsumedCapacity.
  let reads: ReadTotals = { readUnits: 0, byClass: {} };
  let profiled = 0;
  if (errors.length === 0 && spec.values.length > 0) {
    const meter = meterReads(client);
    try {
      for (const raw of spec.values.slice(0, Math.min(reps, 5))) {
        await ask(raw);
        profiled++;
      }
      reads = meter.totals();
    } finally {
      meter.detach();
    }
  }
  const per = (x: number) => x / Math.max(1, profiled);
  const n = Math.max(1, lat.length);
  return {
    key: spec.key,
    label: spec.label,
    question: spec.question,
    example: spec.values[0] ? cliText(spec.question, spec.values[0]) : '-',
    values: spec.values.length,
    samples: lat.length,
    p50Ms: percentile(lat, 50),
    p95Ms: percentile(lat, 95),
    maxMs: lat.length ? Math.max(...lat) : Number.NaN,
    avgRows: rows / n,
    commandsPerQuestion: Object.fromEntries(Object.entries(commands).map(([k, v]) => [k, v / n])),
    readUnitsPerQuestion: profiled > 0 ? per(reads.readUnits) : Number.NaN,
    readsByClass: Object.fromEntries(
      Object.entries(reads.byClass).map(([k, v]) => [
        k,
        { queries: per(v.queries), keys: per(v.keys), items: per(v.items), bytes: per(v.bytes) },
      ]),
    ),
    scans,
    errors: [...new Set(errors)],
  };
};

export const runQueryLatency = async (
  opts: QueryLatencyOptions,
  handlers: Handlers,
  progress: (text: string) => void = () => {},
): Promise<QueryLatencyResult> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'eks-trail-bench-query-'));
  const engine = await startDynaliteProcess(opts.root, join(dataDir, 'db'));
  const tableName = 'eks-trail-bench';
  const loadClient = localClient(engine.endpoint);
  const queryClient = localClient(engine.endpoint);
  try {
    await ensureTable(loadClient, tableName);
    const mainMs = windowMs(opts.requests, 'realistic');
    const endMs = Date.parse(SIM_START) + mainMs;
    const now = () => endMs + 60_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const longMs = opts.longWindowDays * DAY_MS;
    const loadCounter = countCommands(loadClient);
    const meter = meterCapacity(loadClient, { trackState: true });
    const main = new Samples();
    const long = new Samples();

    // ---- load -----------------------------------------------------------------------------------
    const t = process.hrtime.bigint();
    const longLoad = await loadScenario(
      {
        name: `long-window cluster (${opts.longWindowDays} d)`,
        mix: 'human-heavy',
        seed: opts.seed + 17,
        requests: opts.longWindowRequests,
        // Ends where the main scenario ends, so "the last N days" holds both.
        start: iso(endMs - longMs),
        durationMs: longMs,
        fleet: LONG_WINDOW_FLEET,
      },
      opts,
      loadClient,
      tableName,
      now,
      handlers,
      long,
      progress,
    );
    const mainLoad = await loadScenario(
      {
        name: 'realistic fleet',
        mix: 'realistic',
        seed: opts.seed,
        requests: opts.requests,
        start: SIM_START,
        durationMs: mainMs,
      },
      opts,
      loadClient,
      tableName,
      now,
      handlers,
      main,
      progress,
    );
    const totalMs = elapsedMs(t);
    const capacity = meter.totals();
    meter.detach();
    const requestsInTable = mainLoad.requests + longLoad.requests;
    const overlap = longLoad.clusterRefs.filter((c) => mainLoad.clusterRefs.includes(c));
    if (overlap.length > 0) throw new Error(`the long-window cluster ${overlap.join(', ')} is also in the main fleet`);
    const load: LoadStats = {
      concurrency: opts.concurrency,
      scenarios: [mainLoad, longLoad].map(({ clusterRefs: _, ...s }) => s),
      totalMs,
      commands: loadCounter.counts(),
      capacity,
      writeUnitsPer1000Requests:
        ((capacity.tableWriteUnits + capacity.indexWriteUnits + capacity.failedConditionWriteUnits) * 1000) /
        Math.max(1, requestsInTable),
    };
    loadCounter.detach();
    progress(`loaded ${requestsInTable.toLocaleString('en-US')} requests in ${(totalMs / 60_000).toFixed(1)} min`);

    // ---- questions --------------------------------------------------------------------------------
    const clusters = top(main.clusters, 4);
    const deniedClusters = top(main.denials, 4);
    const busiest = clusters[0] as string;
    const midWindow = iso(Date.parse(SIM_START) + mainMs / 2);
    const specs: QuestionSpec[] = [
      {
        key: 'whoDidCluster',
        label: 'who-did --cluster',
        question: 'who-did',
        values: clusters.map((c) => ({ cluster: c })),
      },
      {
        key: 'whoDidPrincipal',
        label: 'who-did --principal (fleet-wide)',
        question: 'who-did',
        values: top(main.principals).map((principal) => ({ principal })),
      },
      {
        key: 'whoDidHuman',
        label: 'who-did --human (fleet-wide)',
        question: 'who-did',
        values: top(main.humans).map((human) => ({ human })),
      },
      {
        key: 'whoDidK8sUser',
        label: 'who-did --k8s-user',
        question: 'who-did',
        values: pairs(main.k8sUsers).map(([cluster, k8sUser]) => ({ cluster, k8sUser })),
      },
      {
        key: 'explain',
        label: 'explain <auditID> (notable, by id alone)',
        question: 'explain',
        values: main.notable.items.map((a) => ({ cluster: a.cluster, auditId: a.auditID })),
      },
      {
        key: 'explainAt',
        label: 'explain <auditID> --at (bulk)',
        question: 'explain',
        values: main.bulk.items.map((a) => ({ cluster: a.cluster, auditId: a.auditID, at: a.at })),
      },
      { key: 'denied', label: 'denied', question: 'denied', values: deniedClusters.map((c) => ({ cluster: c })) },
      {
        key: 'accessAt',
        label: 'access-at',
        question: 'access-at',
        values: clusters.map((c) => ({ cluster: c, at: midWindow })),
      },
      {
        key: 'mappingsHistory',
        label: 'mappings history',
        question: 'mappings-history',
        values: clusters.map((c) => ({ cluster: c })),
      },
      {
        key: 'touchedObject',
        label: 'touched <ns>/<resource>/<name>',
        question: 'touched',
        values: pairs(main.objects).map(([cluster, target]) => ({ cluster, target })),
      },
      {
        key: 'touchedKind',
        label: 'touched <resource>',
        question: 'touched',
        values: pairs(main.kinds).map(([cluster, target]) => ({ cluster, target })),
      },
      {
        key: 'touchedNamespace',
        label: 'touched namespace/<ns>',
        question: 'touched',
        values: pairs(main.namespaces).map(([cluster, target]) => ({ cluster, target })),
      },
    ];
    const longCluster = top(long.clusters, 1)[0];
    const longKind = pairs(long.kinds, 1)[0]?.[1];
    const mainKind = pairs(main.kinds, 1)[0];
    const w90 = { from: iso(endMs - longMs), to: iso(endMs) };
    const emptyTo = endMs - longMs - 30 * DAY_MS;
    const w4y = { from: iso(emptyTo - 4 * 365 * DAY_MS - DAY_MS), to: iso(emptyTo) };
    const longSpecs: QuestionSpec[] = [
      ...(
        [
          ['cluster90d', longCluster, longKind, w90, `${opts.longWindowDays} d`],
          ['empty4y', busiest, mainKind?.[1], w4y, '4 years, no data'],
        ] as const
      ).flatMap(([key, cluster, kind, win, text]) =>
        cluster === undefined
          ? []
          : [
              {
                key: `${key}.whoDid`,
                label: `who-did --cluster, ${text}`,
                question: 'who-did' as const,
                values: [{ cluster, ...win }],
              },
              {
                key: `${key}.denied`,
                label: `denied, ${text}`,
                question: 'denied' as const,
                values: [{ cluster, ...win }],
              },
              {
                key: `${key}.touched`,
                label: `touched <resource>, ${text}`,
                question: 'touched' as const,
                values: kind === undefined ? [] : [{ cluster, target: kind, ...win }],
              },
            ],
      ),
    ];
    const counter = countCommands(queryClient);
    const questions: QuestionLatency[] = [];
    for (const spec of specs) {
      questions.push(await runSpec(spec, opts.repetitions, queryClient, counter, tableName, now));
      const q = questions[questions.length - 1] as QuestionLatency;
      progress(`${spec.label}: p95 ${q.p95Ms.toFixed(1)} ms${q.errors.length ? ` (errors: ${q.errors[0]})` : ''}`);
    }
    const longWindow: QuestionLatency[] = [];
    for (const spec of longSpecs)
      longWindow.push(await runSpec(spec, opts.repetitions, queryClient, counter, tableName, now));
    counter.detach();

    // ---- profile of the slowest question ------------------------------------------------------------
    let profile: QueryLatencyResult['profile'];
    const slowest = [...questions].filter((q) => Number.isFinite(q.p95Ms)).sort((a, b) => b.p95Ms - a.p95Ms)[0];
    const slowSpec = specs.find((s) => s.key === slowest?.key);
    if (opts.profile !== false && slowest && slowSpec && slowSpec.values.length > 0) {
      const runs = Math.min(5, Math.max(1, opts.repetitions));
      const summary = await profileCpu(opts.root, async () => {
        for (let i = 0; i < runs; i++) {
          const raw = slowSpec.values[i % slowSpec.values.length] as Record<string, string>;
          const q = parseQuestionParams(slowSpec.question, raw, now());
          if (!q.ok) return;
          await runQuestion(new DynamoDbTrailStore(queryClient, { tableName, now }), q.value);
        }
      });
      profile = { key: slowest.key, runs, summary };
    }
    return { requestsInTable, load, questions, longWindow, ...(profile ? { profile } : {}) };
  } finally {
    loadClient.destroy();
    queryClient.destroy();
    await engine.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};
