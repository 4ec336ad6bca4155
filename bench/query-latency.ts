import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DecisionChain } from '../lib/chain/types.js';
import type { MappingChange } from '../lib/identity/types.js';
import { ensureTable, localClient } from '../lib/local/engine.js';
import { parseQuestionParams, type QuestionName } from '../lib/query/params.js';
import { runQuestion } from '../lib/query/run.js';
import { queryStoreOf, storeRunOptions } from '../lib/query/store-adapter.js';
import { fromRecord } from '../lib/store/chain-merge.js';
import { countCommands, FULL_TABLE_READS } from '../lib/store/command-counter.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { UNKNOWN_ACCOUNT } from '../lib/store/keys.js';
import type { StoredAuditFacts, TrailStore } from '../lib/store/trail-store.js';
import type { Delivery } from '../sim/index.js';
import { startDynaliteProcess } from './dynalite-process.js';
import type { Handlers } from './handlers.js';
import { BenchTrailStore } from './memory-store.js';
import { elapsedMs, percentile } from './stats.js';
import { SIM_START, streamWorkload, windowMs } from './workload.js';

/**
 * Latency of every CLI question (lib/query, the code the CLI and the query API run) on a table of at
 * least a million chains, with proof that none of them scans: the query client is wrapped with
 * countCommands and the Scan / PartiQL counts are reported per question.
 *
 * Loading: the first `probeChains` chains go through the full store path (the log handler's entry
 * point with DynamoDbTrailStore: consistent read of the stored chain, merge, conditional or batch
 * write). The load rate measured there is extrapolated to the target; when the full path would take
 * longer than `maxFullPathMinutes`, the rest is loaded in bulk: the same pipeline (parse, correlate
 * with evidence read from the table) produces the chains, and the store's own item codec
 * (DynamoDbTrailStore.chainItem, the exact item putChains writes) is written with BatchWriteItem at
 * high concurrency, skipping the read-merge-conditional-write protocol. A request seen at several
 * audit stages keeps its highest-ranked stage (what the merge keeps, minus per-link mixing of stages).
 * In bulk mode the evidence (mapping history, AssumeRole* issuances) is read from an in-memory mirror
 * of what was written, and only new mapping changes and issuances are forwarded to the table.
 */

export interface QueryLatencyOptions {
  /** Chains the table must hold (the simulator is asked for this many requests). */
  chains: number;
  probeChains: number;
  maxFullPathMinutes: number;
  repetitions: number;
  seed: number;
  /** Deliveries in flight while loading (like Kinesis shards processed in parallel). */
  concurrency: number;
  /** Repository root (dynalite's CLI is started from its node_modules). */
  root: string;
}

export interface QuestionLatency {
  name: string;
  question: QuestionName;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  avgRows: number;
  /** DynamoDB commands per question, averaged, by command name. */
  commandsPerQuestion: Record<string, number>;
  /** Scan / ExecuteStatement / BatchExecuteStatement commands over all samples: must be 0. */
  scans: number;
  errors: string[];
}

export interface LoadStats {
  probeChains: number;
  probeMs: number;
  probeChainsPerS: number;
  extrapolatedFullPathMinutes: number;
  mode: 'full path' | 'full path + bulk';
  bulkChains: number;
  bulkMs: number;
  bulkChainsPerS: number;
  totalMs: number;
  requestsSimulated: number;
  /** DynamoDB commands sent while loading, by name. */
  commands: Record<string, number>;
}

export interface QueryLatencyResult {
  chainsInTable: number;
  load: LoadStats;
  questions: QuestionLatency[];
}

type Item = Record<string, unknown>;

const BULK_FLUSH_ITEMS = 500;

/** Frequency counters of the values the questions are asked about, filled while loading. */
class Samples {
  principals = new Map<string, number>();
  humans = new Map<string, number>();
  k8sUsers = new Map<string, number>();
  clusters = new Map<string, number>();
  resources = new Map<string, number>();
  auditIds: { cluster: string; auditID: string }[] = [];
  private seen = 0;
  private rand = 2_463_534_242;

  add(chain: DecisionChain, accountId: string): void {
    const ref = `${accountId}/${chain.cluster}`;
    const bump = (m: Map<string, number>, k: string | undefined) => {
      if (k) m.set(k, (m.get(k) ?? 0) + 1);
    };
    bump(this.clusters, ref);
    bump(this.principals, chain.principal.value?.canonicalArn);
    if (chain.human.status !== 'unknown') bump(this.humans, chain.human.value?.identity);
    const u = chain.k8sIdentity.value?.username;
    if (u) bump(this.k8sUsers, `${ref}\u0000${u}`);
    const r = chain.request.value;
    if (r?.resource && r.namespace) bump(this.resources, `${ref}\u0000${r.namespace}/${r.resource}`);
    if (chain.kind === 'request' && chain.auditID) {
      // Reservoir sample, deterministic: every chain has the same chance to be explained.
      this.seen++;
      if (this.auditIds.length < 200) this.auditIds.push({ cluster: ref, auditID: chain.auditID });
      else {
        // xorshift32: a fixed sequence, so a rerun explains the same requests.
        this.rand ^= this.rand << 13;
        this.rand ^= this.rand >>> 17;
        this.rand ^= this.rand << 5;
        const j = (this.rand >>> 0) % this.seen;
        if (j < 200) this.auditIds[j] = { cluster: ref, auditID: chain.auditID };
      }
    }
  }
}

const top = (m: Map<string, number>, n: number): string[] =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([k]) => k);

const mapLimit = async <T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> => {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};

/**
 * TrailStore for loading: everything goes to the real store, except that in bulk mode chains are
 * written as the store's own items by BatchWriteItem (see the module comment).
 */
class LoadingStore implements TrailStore {
  bulk = false;
  /** `<account>#<chainId>` -> highest stage rank written. */
  readonly ranks = new Map<string, number>();
  bulkChains = 0;
  private readonly mirror = new BenchTrailStore({ cacheTimelines: true });
  private readonly observed = new Map<string, string>();
  /** Keyed by item key: a later, higher stage of a chain replaces the buffered one (one put per key per batch). */
  private readonly chainBuffer = new Map<string, Item>();
  private readonly authnBuffer: Parameters<TrailStore['putAuthenticatorRecords']>[0] = [];

  constructor(
    private readonly real: DynamoDbTrailStore,
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly samples: Samples,
  ) {}

  async putChains(items: { chain: DecisionChain; facts: StoredAuditFacts }[]): Promise<void> {
    const fresh: Item[] = [];
    for (const it of items) {
      const accountId = it.chain.accountId ?? it.facts?.origin?.accountId ?? UNKNOWN_ACCOUNT;
      const merged = fromRecord(it);
      const k = `${accountId}#${it.chain.chainId}`;
      const prev = this.ranks.get(k);
      if (prev === undefined) this.samples.add(it.chain, accountId);
      if (prev !== undefined && prev >= merged.rank) continue;
      this.ranks.set(k, merged.rank);
      if (this.bulk) fresh.push(this.real.chainItem(accountId, merged));
    }
    // Full path: the real protocol, every item (it merges stages and ignores what it already has).
    if (!this.bulk) return this.real.putChains(items);
    this.bulkChains += fresh.length;
    // Buffered across deliveries: a Kinesis record holds a handful of events, and full 25-item
    // batches cost far fewer round trips (and SDK overhead) than one small batch per record.
    for (const item of fresh) this.chainBuffer.set(`${item['pk']}\u0000${item['sk']}`, item);
    if (this.chainBuffer.size >= BULK_FLUSH_ITEMS) await this.flushChains();
  }

  private async flushChains(): Promise<void> {
    const all = [...this.chainBuffer.values()];
    this.chainBuffer.clear();
    const chunks: Item[][] = [];
    for (let i = 0; i < all.length; i += 25) chunks.push(all.slice(i, i + 25));
    await mapLimit(chunks, 8, async (chunk) => {
      let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (res.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        if (attempt > 20) throw new Error(`bulk load: ${pending.length} items still unprocessed`);
      }
    });
  }

  /** Writes what bulk mode still buffers. */
  async flush(): Promise<void> {
    await this.flushChains();
    const records = this.authnBuffer.splice(0);
    if (records.length > 0) await this.real.putAuthenticatorRecords(records);
  }

  /** Mapping changes and issuances are mirrored in memory so bulk mode reads evidence without a round trip. */
  async putMappingChanges(c: MappingChange[]): Promise<MappingChange[]> {
    const fresh = await this.mirror.putMappingChanges(c);
    if (!this.bulk) return this.real.putMappingChanges(c);
    // Bulk mode forwards only what changes the table: every IAM request carries a principal-id
    // observation, and the table keeps one item per (principal, id) with the earliest time.
    const forward = fresh.filter((m) => {
      if (m.op.kind !== 'principal-id-observed') return true;
      const k = `${m.accountId ?? ''}|${m.cluster}|${m.op.matchKey}|${m.op.principalId}`;
      const seen = this.observed.get(k);
      if (seen !== undefined && seen <= m.at) return false;
      this.observed.set(k, m.at);
      return true;
    });
    await this.real.putMappingChanges(forward);
    return fresh;
  }
  mappingChanges(cluster: string, accountId?: string) {
    return this.bulk ? this.mirror.mappingChanges(cluster, accountId) : this.real.mappingChanges(cluster, accountId);
  }
  async putCredentials(items: Parameters<TrailStore['putCredentials']>[0]) {
    const fresh = await this.mirror.putCredentials(items);
    const stored = await this.real.putCredentials(this.bulk ? fresh : items);
    return this.bulk ? fresh : stored;
  }
  credential(k: string) {
    return this.bulk ? this.mirror.credential(k) : this.real.credential(k);
  }
  async putAuthenticatorRecords(items: Parameters<TrailStore['putAuthenticatorRecords']>[0]): Promise<void> {
    if (!this.bulk) return this.real.putAuthenticatorRecords(items);
    this.authnBuffer.push(...items);
    if (this.authnBuffer.length >= BULK_FLUSH_ITEMS)
      await this.real.putAuthenticatorRecords(this.authnBuffer.splice(0));
  }
  quarantine(items: Parameters<TrailStore['quarantine']>[0]) {
    return this.real.quarantine(items);
  }
  evidenceFor(cluster: string, accountId?: string, keys?: string[]) {
    return this.bulk
      ? this.mirror.evidenceFor(cluster, accountId, keys)
      : this.real.evidenceFor(cluster, accountId, keys);
  }
  chainsUsingAccessKey(k: string) {
    // In bulk mode late re-enrichment is left to query time (the query layer re-derives anyway).
    return this.bulk ? Promise.resolve([]) : this.real.chainsUsingAccessKey(k);
  }
}

interface QuestionSpec {
  name: string;
  question: QuestionName;
  params: (i: number) => Record<string, string> | undefined;
}

const pick = <T>(xs: T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

export const runQueryLatency = async (opts: QueryLatencyOptions, handlers: Handlers): Promise<QueryLatencyResult> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'eks-trail-bench-'));
  const engine = await startDynaliteProcess(opts.root, join(dataDir, 'db'));
  const tableName = 'eks-trail-bench';
  const loadClient = localClient(engine.endpoint);
  const queryClient = localClient(engine.endpoint);
  try {
    await ensureTable(loadClient, tableName);
    const endMs = Date.parse(SIM_START) + windowMs(opts.chains);
    const now = () => endMs + 60_000;
    const real = new DynamoDbTrailStore(loadClient, { tableName, now });
    const doc = DynamoDBDocumentClient.from(loadClient, { marshallOptions: { removeUndefinedValues: true } });
    const samples = new Samples();
    const loadCounter = countCommands(loadClient);
    const store = new LoadingStore(real, doc, tableName, samples);

    // ---- load --------------------------------------------------------------------------------
    const { deliveries, initialMappings } = streamWorkload({ seed: opts.seed, requests: opts.chains }, false);
    await store.putMappingChanges(initialMappings);
    const inflight = new Set<Promise<void>>();
    let firstError: unknown;
    const run = (d: Delivery) => {
      const p = (async () => {
        try {
          await (d.kind === 'kinesis' ? handlers.kinesis(d.event, store, now) : handlers.sqs(d.event, store, now));
        } catch (err) {
          firstError ??= err;
        }
      })();
      const tracked = p.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
    };
    const loadStart = process.hrtime.bigint();
    let probeMs = 0;
    let probeChains = 0;
    let bulkStart: bigint | undefined;
    let extrapolated = 0;
    let decided = false;
    for (const d of deliveries) {
      while (inflight.size >= opts.concurrency) await Promise.race(inflight);
      if (firstError) throw firstError;
      run(d);
      if (!decided && store.ranks.size >= opts.probeChains) {
        await Promise.all(inflight);
        decided = true;
        probeMs = elapsedMs(loadStart);
        probeChains = store.ranks.size;
        const rate = probeChains / (probeMs / 60_000);
        extrapolated = opts.chains / rate;
        if (extrapolated > opts.maxFullPathMinutes) {
          store.bulk = true;
          bulkStart = process.hrtime.bigint();
        }
      }
    }
    await Promise.all(inflight);
    if (firstError) throw firstError;
    await store.flush();
    const totalMs = elapsedMs(loadStart);
    if (!decided) {
      probeMs = totalMs;
      probeChains = store.ranks.size;
      extrapolated = opts.chains / (probeChains / (probeMs / 60_000));
    }
    const bulkMs = bulkStart ? elapsedMs(bulkStart) : 0;
    const load: LoadStats = {
      probeChains,
      probeMs,
      probeChainsPerS: probeChains / (probeMs / 1000),
      extrapolatedFullPathMinutes: extrapolated,
      mode: store.bulk ? 'full path + bulk' : 'full path',
      bulkChains: store.bulkChains,
      bulkMs,
      bulkChainsPerS: bulkMs > 0 ? store.bulkChains / (bulkMs / 1000) : 0,
      totalMs,
      requestsSimulated: opts.chains,
      commands: loadCounter.counts(),
    };
    loadCounter.detach();

    // ---- questions ------------------------------------------------------------------------------
    const counter = countCommands(queryClient);
    const qstore = queryStoreOf(new DynamoDbTrailStore(queryClient, { tableName, now }));
    const principals = top(samples.principals, 10);
    const humans = top(samples.humans, 10);
    const k8sUsers = top(samples.k8sUsers, 10).map((k) => k.split('\u0000') as [string, string]);
    const clusters = top(samples.clusters, 6);
    const resources = top(samples.resources, 10).map((k) => k.split('\u0000') as [string, string]);
    const midWindow = new Date(Date.parse(SIM_START) + windowMs(opts.chains) / 2).toISOString();
    const specs: QuestionSpec[] = [
      {
        name: 'who-did --principal',
        question: 'who-did',
        params: (i) => opt({ principal: pick(principals, i), since: '24h' }),
      },
      { name: 'who-did --human', question: 'who-did', params: (i) => opt({ human: pick(humans, i), since: '24h' }) },
      {
        name: 'who-did --k8s-user',
        question: 'who-did',
        params: (i) => {
          const u = pick(k8sUsers, i);
          return u ? { cluster: u[0], k8sUser: u[1], since: '24h' } : undefined;
        },
      },
      {
        name: 'explain',
        question: 'explain',
        params: (i) => {
          const a = pick(samples.auditIds, i);
          return a ? { cluster: a.cluster, auditId: a.auditID } : undefined;
        },
      },
      { name: 'denied', question: 'denied', params: (i) => opt({ cluster: pick(clusters, i), since: '24h' }) },
      { name: 'access-at', question: 'access-at', params: (i) => opt({ cluster: pick(clusters, i), at: midWindow }) },
      { name: 'mappings history', question: 'mappings-history', params: (i) => opt({ cluster: pick(clusters, i) }) },
      {
        name: 'touched <ns>/<resource>',
        question: 'touched',
        params: (i) => {
          const r = pick(resources, i);
          return r ? { cluster: r[0], target: r[1] } : undefined;
        },
      },
    ];
    const questions: QuestionLatency[] = [];
    for (const spec of specs) {
      const lat: number[] = [];
      const errors: string[] = [];
      let rows = 0;
      const commands: Record<string, number> = {};
      let scans = 0;
      for (let i = -1; i < opts.repetitions; i++) {
        const raw = spec.params(Math.max(0, i));
        if (!raw) {
          errors.push('no parameter value found in the loaded data');
          break;
        }
        const q = parseQuestionParams(spec.question, raw, now());
        if (!q.ok) {
          errors.push(q.issues.map((x) => x.message).join('; '));
          break;
        }
        counter.reset();
        const t = process.hrtime.bigint();
        try {
          const answer = await runQuestion(qstore, q.value, storeRunOptions);
          const ms = elapsedMs(t);
          if (i < 0) continue; // warm-up
          lat.push(ms);
          rows += answer.rows.length;
        } catch (err) {
          errors.push(String((err as Error).message ?? err));
          if (errors.length > 3) break;
          continue;
        }
        for (const [k, v] of Object.entries(counter.counts())) commands[k] = (commands[k] ?? 0) + v;
        scans += FULL_TABLE_READS.reduce((n, c) => n + counter.count(c), 0);
      }
      const n = Math.max(1, lat.length);
      questions.push({
        name: spec.name,
        question: spec.question,
        samples: lat.length,
        p50Ms: percentile(lat, 50),
        p95Ms: percentile(lat, 95),
        maxMs: lat.length ? Math.max(...lat) : Number.NaN,
        avgRows: rows / n,
        commandsPerQuestion: Object.fromEntries(Object.entries(commands).map(([k, v]) => [k, v / n])),
        scans,
        errors: [...new Set(errors)],
      });
    }
    counter.detach();
    return { chainsInTable: store.ranks.size, load, questions };
  } finally {
    loadClient.destroy();
    queryClient.destroy();
    await engine.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

const opt = (o: Record<string, string | undefined>): Record<string, string> | undefined => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) return undefined;
    out[k] = v;
  }
  return out;
};
