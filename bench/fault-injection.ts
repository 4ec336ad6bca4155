import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { type AttributeValue, DynamoDBClient, type DynamoDBClientConfig, paginateScan } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadLogIngestConfig } from '../functions/config/log-ingest-config.js';
import { alertWiringFor, mappingChangeHookFor, requestsStoredHookFor } from '../functions/shared/alert-wiring.js';
import { startLocalEngine } from '../lib/local/engine.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { DecodedPart, decodeRefs } from '../lib/store/dynamodb/segment-codec.js';
import { silentLogger } from '../lib/structured-logger.js';
import type { KinesisRecordLike, SqsRecordLike, TrafficMixName } from '../sim/index.js';
import { Rng } from '../sim/random.js';
import { noopMetrics, setHandlerEnv } from './handlers.js';
import { elapsedMs, fmt } from './stats.js';
import { buildWorkload, SIM_START, windowMs } from './workload.js';

/**
 * Fault injection (issue 16, "measured, not asserted"): simulated traffic with mapping changes that
 * raise alerts goes through the handlers' entry points (functions/log-ingest.ts, cloudtrail-ingest.ts,
 * with the alert hooks the deployed functions wire) into the embedded engine, through a DynamoDB
 * client whose HTTP handler fails a share of calls on their way to the engine:
 *
 *  - throttling (ProvisionedThroughputExceededException, ThrottlingException) and 5xx
 *    (InternalServerError 500, ServiceUnavailable 503): refused before the engine saw them;
 *  - timeouts AFTER the engine executed the request (the write happened, the caller never learns it);
 *  - a crash right after a BatchWriteItem went through: the invocation dies between two batch writes,
 *    every later call of it (DynamoDB and SNS) fails and its response is lost, as when Lambda's
 *    sandbox is torn down.
 *
 * The faults sit below the SDK's own retries (3 attempts, as the deployed functions' clients), so
 * what reaches the store is what production would see. SNS is faked (aws-sdk-client-mock) and refuses
 * a share of Publish calls. The transports are modelled as the stack configures them
 * (cdk/stacks/central-stack.ts): Kinesis redelivers from the first reported record, bisects a batch
 * whose invocation failed (splits do not count as retries), and after 5 retries sends it to the
 * on-failure destination; SQS returns failed messages to the queue (visible again a few invocations
 * later) and moves a message to its DLQ on the 5th receive. The table is then compared with a fault-free ingestion of the same deliveries.
 */

export interface FaultMix {
  /** Share of DynamoDB calls refused as throttled. */
  throttle: number;
  /** Share refused with 500 or 503. */
  serverError: number;
  /** Share executed by the engine, then failed as a timeout. */
  timeoutAfterWrite: number;
  /** Share of BatchWriteItem calls after which the invocation crashes. */
  crashAfterBatchWrite: number;
  /** Share of SNS Publish calls refused. */
  snsFailure: number;
}

export const DEFAULT_FAULT_MIX: FaultMix = {
  throttle: 0.03,
  serverError: 0.015,
  timeoutAfterWrite: 0.012,
  crashAfterBatchWrite: 0.005,
  snsFailure: 0.1,
};

/** cdk/stacks/central-stack.ts: the log stream's event source mapping and the CloudTrail queue's redrive policy. */
export const TRANSPORT = { kinesisRetryAttempts: 5, sqsMaxReceiveCount: 5, sqsSettleInvocations: 3 };

export interface FaultInjectionOptions {
  requests: number;
  seed: number;
  mix: TrafficMixName;
  faults?: FaultMix;
  lateFraction?: number;
}

export type FaultKind =
  | 'throttle'
  | 'throttling-exception'
  | 'internal-server-error-500'
  | 'service-unavailable-503'
  | 'timeout-after-write'
  | 'crash-after-batch-write'
  | 'sns-failure';

export interface FaultInjectionResult {
  mix: TrafficMixName;
  requests: number;
  kinesisRecords: number;
  sqsMessages: number;
  mappingChangesExpected: number;
  credentialsExpected: number;
  alertsExpected: number;
  /** Handler invocations, first deliveries and redeliveries together. */
  invocations: { kinesis: number; sqs: number };
  redeliveries: { kinesis: number; sqs: number; bisections: number };
  dynamoCalls: number;
  /** Calls the fault layer failed (crash counted once; calls of a crashed invocation not counted). */
  injected: Record<FaultKind, number>;
  faultRate: number;
  /** Calls refused because their invocation had crashed. */
  callsAfterCrash: number;
  snsCalls: number;
  snsFaultRate: number;
  /** Records given up by the transport (replayable: the stream keeps 7 days, the DLQ 14). */
  dlq: { kinesisRecords: number; sqsMessages: number; requests: number };
  quarantined: number;
  lost: { requests: number; mappingChanges: number; credentials: number; examples: string[] };
  doubled: { requests: number; segmentRows: number; postingRefs: number; examples: string[] };
  alerts: { sent: number; sentMoreThanOnce: number; missing: number; claimedNeverSent: number; examples: string[] };
  /** The same checks on the fault-free ingestion (what the comparison stands on). */
  baseline: { requestsStored: number; doubledRows: number; alertsSent: number };
  wallMs: number;
  baselineMs: number;
}

// ---------------------------------------------------------------------------------------------
// The fault layer: an HTTP handler between the DynamoDB client and the engine
// ---------------------------------------------------------------------------------------------

class InvocationCrashedError extends Error {
  constructor() {
    super('the invocation crashed (simulated sandbox teardown)');
    this.name = 'InvocationCrashedError';
  }
}

interface Invocation {
  crashed: boolean;
}

type HttpRequestLike = { headers: Record<string, string> };
type HandleResult = Awaited<ReturnType<NodeHttpHandler['handle']>>;

const errorResponse = (status: number, type: string | undefined, message: string): HandleResult =>
  ({
    response: {
      statusCode: status,
      reason: undefined,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault-injected' },
      body: Readable.from([
        Buffer.from(
          type === undefined ? '' : JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
        ),
      ]),
    },
  }) as unknown as HandleResult;

const timeoutError = (): Error =>
  Object.assign(new Error('socket timed out after the request was sent'), { name: 'TimeoutError' });

class FaultyHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  calls = 0;
  callsAfterCrash = 0;
  readonly injected: Record<FaultKind, number> = {
    throttle: 0,
    'throttling-exception': 0,
    'internal-server-error-500': 0,
    'service-unavailable-503': 0,
    'timeout-after-write': 0,
    'crash-after-batch-write': 0,
    'sns-failure': 0,
  };
  invocation: Invocation = { crashed: false };
  enabled = true;

  constructor(
    private readonly inner: NodeHttpHandler,
    private readonly mix: FaultMix,
    private readonly rng: Rng,
  ) {}

  async handle(request: HttpRequestLike, options?: unknown): Promise<HandleResult> {
    const inv = this.invocation;
    if (inv.crashed) {
      this.callsAfterCrash++;
      throw new InvocationCrashedError();
    }
    if (!this.enabled) return this.inner.handle(request as never, options as never);
    this.calls++;
    const op = (request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '').split('.')[1] ?? '';
    const m = this.mix;
    const x = this.rng.next();
    if (x < m.throttle) {
      const pt = this.rng.next() < 0.5;
      this.injected[pt ? 'throttle' : 'throttling-exception']++;
      return errorResponse(
        400,
        pt ? 'ProvisionedThroughputExceededException' : 'ThrottlingException',
        'Rate of requests exceeds the allowed throughput.',
      );
    }
    if (x < m.throttle + m.serverError) {
      const five = this.rng.next() < 0.5;
      this.injected[five ? 'internal-server-error-500' : 'service-unavailable-503']++;
      return five
        ? errorResponse(500, 'InternalServerError', 'Internal server error')
        : errorResponse(503, undefined, '');
    }
    const res = await this.inner.handle(request as never, options as never);
    if (x < m.throttle + m.serverError + m.timeoutAfterWrite) {
      this.injected['timeout-after-write']++;
      // The engine executed the request; its answer is dropped unread.
      (res.response.body as Readable | undefined)?.resume?.();
      throw timeoutError();
    }
    if (op === 'BatchWriteItem' && this.rng.next() < m.crashAfterBatchWrite) {
      this.injected['crash-after-batch-write']++;
      inv.crashed = true;
      (res.response.body as Readable | undefined)?.resume?.();
      throw new InvocationCrashedError();
    }
    return res;
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {
    this.inner.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The handlers with the deployed functions' alert wiring, and the transports
// ---------------------------------------------------------------------------------------------

type Hooks = {
  kinesis(records: KinesisRecordLike[]): Promise<{ batchItemFailures?: { itemIdentifier: string }[] }>;
  sqs(records: SqsRecordLike[]): Promise<{ batchItemFailures?: { itemIdentifier: string }[] }>;
};

interface Sent {
  /** Successful Publish calls per alert id. */
  publishes: Map<string, number>;
  calls: number;
  refused: number;
}

const ALERT_ID = /^Alert id: (.+)$/m;

const wire = async (
  client: DynamoDBClient,
  tableName: string,
  now: () => number,
  sns: { fail: () => boolean; crashed: () => boolean },
): Promise<{ hooks: Hooks; sent: Sent; store: DynamoDbTrailStore; restore: () => void }> => {
  setHandlerEnv();
  const log = await import('../functions/log-ingest.js');
  const ct = await import('../functions/cloudtrail-ingest.js');
  // The store's own backoff is compressed to nothing too (same attempts, no waiting).
  const store = new DynamoDbTrailStore(client, { tableName, now, retry: { sleep: async () => {} } });
  const snsClient = new SNSClient({ region: 'us-east-1' });
  const mock = mockClient(snsClient);
  const sent: Sent = { publishes: new Map(), calls: 0, refused: 0 };
  mock.on(PublishCommand).callsFake((input: { Message?: string }) => {
    if (sns.crashed()) throw new InvocationCrashedError();
    sent.calls++;
    if (sns.fail()) {
      sent.refused++;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException', $fault: 'client' });
    }
    const id = ALERT_ID.exec(input.Message ?? '')?.[1] ?? '(no alert id)';
    sent.publishes.set(id, (sent.publishes.get(id) ?? 0) + 1);
    return { MessageId: `m-${sent.calls}` };
  });
  const config = loadLogIngestConfig({
    TABLE_NAME: tableName,
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111111111111:eks-trail-faults',
  });
  const wiring = alertWiringFor(store, snsClient, { alertTopicArn: config.alertTopicArn, config: config.alerts });
  const common = { store, logger: silentLogger, metrics: noopMetrics, now };
  const logDeps = {
    ...common,
    onNewMappingChanges: mappingChangeHookFor(wiring, store),
    onRequestsStored: requestsStoredHookFor(wiring),
  };
  const ctDeps = { ...common, onNewMappingChanges: mappingChangeHookFor(wiring, store) };
  return {
    store,
    sent,
    restore: () => mock.restore(),
    hooks: {
      kinesis: (records) => log.ingestKinesisEvent({ Records: records } as unknown as KinesisStreamEvent, logDeps),
      sqs: (records) => ct.ingestSqsEvent({ Records: records } as unknown as SQSEvent, ctDeps),
    },
  };
};

interface TransportStats {
  invocations: { kinesis: number; sqs: number };
  redeliveries: { kinesis: number; sqs: number; bisections: number };
  dlqKinesis: KinesisRecordLike[];
  dlqSqs: SqsRecordLike[];
}

/**
 * One invocation: a crashed one ends as a function error whatever its promise later yields (its
 * calls all fail once crashed, so it cannot write after the crash).
 */
const invoke = async <T>(
  layer: FaultyHandler | undefined,
  run: () => Promise<T>,
): Promise<{ crashed: true } | { crashed: false; value: T }> => {
  const inv: Invocation = { crashed: false };
  if (layer) layer.invocation = inv;
  try {
    const value = await run();
    return inv.crashed ? { crashed: true } : { crashed: false, value };
  } catch (err) {
    if (inv.crashed) return { crashed: true };
    throw err;
  } finally {
    if (layer) layer.invocation = { crashed: false };
  }
};

/** A shard's batch until it succeeds or is given up: redelivery from the first failed record, bisection on a function error. */
const deliverKinesis = async (
  hooks: Hooks,
  layer: FaultyHandler | undefined,
  records: KinesisRecordLike[],
  stats: TransportStats,
): Promise<void> => {
  const queue: { records: KinesisRecordLike[]; retries: number }[] = [{ records, retries: 0 }];
  let first = true;
  while (queue.length > 0) {
    const b = queue.shift() as { records: KinesisRecordLike[]; retries: number };
    stats.invocations.kinesis++;
    if (!first) stats.redeliveries.kinesis++;
    first = false;
    const res = await invoke(layer, () => hooks.kinesis(b.records));
    if (!res.crashed) {
      const failed = res.value.batchItemFailures?.[0]?.itemIdentifier;
      if (failed === undefined) continue;
      const at = Math.max(
        0,
        b.records.findIndex((r) => r.kinesis.sequenceNumber === failed),
      );
      const rest = b.records.slice(at);
      if (b.retries + 1 > TRANSPORT.kinesisRetryAttempts) stats.dlqKinesis.push(...rest);
      else queue.unshift({ records: rest, retries: b.retries + 1 });
      continue;
    }
    if (b.records.length > 1) {
      const half = Math.ceil(b.records.length / 2);
      stats.redeliveries.bisections++;
      // Lambda does not count a split against the retry quota; only a failure of an unsplittable batch does.
      queue.unshift(
        { records: b.records.slice(0, half), retries: b.retries },
        { records: b.records.slice(half), retries: b.retries },
      );
    } else if (b.retries + 1 > TRANSPORT.kinesisRetryAttempts) stats.dlqKinesis.push(...b.records);
    else queue.unshift({ records: b.records, retries: b.retries + 1 });
  }
};

// ---------------------------------------------------------------------------------------------
// The table against the fault-free ingestion
// ---------------------------------------------------------------------------------------------

interface TableFacts {
  /** `S#acct#cluster|auditID` of every request row. */
  requests: Set<string>;
  /** Request rows stored more than once (same cluster and row key, in live parts). */
  doubledRows: number;
  doubledRequests: Set<string>;
  doubledPostingRefs: number;
  mappingChanges: Set<string>;
  credentials: Set<string>;
  quarantined: number;
  claimedAlerts: Set<string>;
}

const s = (v: AttributeValue | undefined): string | undefined => v?.S;

const readTable = async (endpoint: string, tableName: string): Promise<TableFacts> => {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const chunks = new Map<string, { n: number; z: Uint8Array }[]>();
  const nc = new Map<string, number>();
  const refItems: { pk: string; sk: string; r: string; cl?: string }[] = [];
  const facts: TableFacts = {
    requests: new Set(),
    doubledRows: 0,
    doubledRequests: new Set(),
    doubledPostingRefs: 0,
    mappingChanges: new Set(),
    credentials: new Set(),
    quarantined: 0,
    claimedAlerts: new Set(),
  };
  try {
    for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
      for (const item of page.Items ?? []) {
        const pk = s(item['pk']) ?? '';
        const sk = s(item['sk']) ?? '';
        const z = item['z']?.B;
        if (z && (pk.startsWith('S#') || pk.startsWith('N#'))) {
          const m = /^(.*?)(?:\.(\d+))?$/.exec(sk) as RegExpExecArray;
          const key = `${pk}|${m[1]}`;
          const list = chunks.get(key) ?? [];
          list.push({ n: Number(m[2] ?? 0), z });
          if (m[2] === undefined) nc.set(key, Number(item['nc']?.N ?? 1));
          chunks.set(key, list);
        } else if ((pk.startsWith('I') || pk.startsWith('R#')) && s(item['r']) !== undefined) {
          const cl = s(item['cl']);
          refItems.push({ pk, sk, r: s(item['r']) as string, ...(cl ? { cl } : {}) });
        } else if (pk.startsWith('MC#')) facts.mappingChanges.add(`${pk}|${sk}`);
        else if (pk.startsWith('CRED#')) facts.credentials.add(pk);
        else if (pk.startsWith('Q#')) facts.quarantined++;
        else if (pk.startsWith('ALERT#') && sk === 'ALERT' && s(item['state']) === 'claimed')
          facts.claimedAlerts.add(pk.slice('ALERT#'.length));
      }
    }
  } finally {
    client.destroy();
  }
  const parts = new Map<string, DecodedPart>();
  const rowCount = new Map<string, number>();
  for (const [key, list] of chunks) {
    // Chunk 0 says how many chunks the part has now; a longer earlier version's trailing chunks are not read.
    const count = nc.get(key) ?? list.length;
    const part = new DecodedPart(
      list
        .filter((c) => c.n < count)
        .sort((a, b) => a.n - b.n)
        .map((c) => c.z),
      key,
    );
    parts.set(key, part);
    if (!key.startsWith('S#')) continue;
    const clusterPk = key.slice(0, key.indexOf('|'));
    for (const k of part.keys) {
      facts.requests.add(`${clusterPk}|${k[1]}`);
      const row = `${clusterPk}|${JSON.stringify(k)}`;
      rowCount.set(row, (rowCount.get(row) ?? 0) + 1);
    }
  }
  for (const [row, n] of rowCount) {
    if (n < 2) continue;
    facts.doubledRows += n - 1;
    const [clusterPk, keyText] = [row.slice(0, row.indexOf('|')), row.slice(row.indexOf('|') + 1)];
    facts.doubledRequests.add(`${clusterPk}|${(JSON.parse(keyText) as string[])[1]}`);
  }
  // Postings and notable pointers: a live reference (its digest matches the part it names) to the same
  // row twice in one partition would hand the row out twice (readers drop repeats, but it is doubling).
  const refCount = new Map<string, number>();
  for (const it of refItems) {
    const p = it.pk.split('#');
    const skParts = it.sk.split('#');
    const cluster = it.cl ?? `C#${p[2]}#${p[3]}`;
    const [, acct, name] = cluster.split('#');
    const cell = skParts[0];
    const anchor = it.cl ? skParts[4] : skParts[1];
    for (const ref of decodeRefs(it.r)) {
      const key =
        ref.part === 'l' ? `N#${acct}#${name}|${cell}#${anchor}` : `S#${acct}#${name}|${cell}#${anchor}#${ref.part}`;
      const part = parts.get(key);
      if (!part || (ref.digest !== undefined && ref.digest !== part.digest)) continue;
      for (const i of ref.rows) {
        const k = part.keys[i];
        if (!k) continue;
        const id = `${it.pk}|${cluster}|${JSON.stringify(k)}`;
        refCount.set(id, (refCount.get(id) ?? 0) + 1);
      }
    }
  }
  for (const n of refCount.values()) if (n > 1) facts.doubledPostingRefs += n - 1;
  return facts;
};

/** auditIDs and CloudTrail ids carried by records the transport gave up on. */
const dlqIds = (kinesis: KinesisRecordLike[], sqs: SqsRecordLike[]): { ids: Set<string>; requests: Set<string> } => {
  const ids = new Set<string>();
  const requests = new Set<string>();
  for (const r of kinesis) {
    const payload = JSON.parse(gunzipSync(Buffer.from(r.kinesis.data, 'base64')).toString('utf8')) as {
      logEvents: { message: string }[];
    };
    for (const e of payload.logEvents) {
      const m = /"auditID":"([^"]+)"/.exec(e.message);
      if (m?.[1]) {
        ids.add(m[1]);
        requests.add(m[1]);
      }
    }
  }
  for (const r of sqs) {
    for (const m of r.body.matchAll(/"(?:eventID|accessKeyId)":"([^"]+)"/g)) if (m[1]) ids.add(m[1]);
  }
  return { ids, requests };
};

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/**
 * The SDK's standard retry policy (retry throttling, transient and 5xx errors, 3 attempts in all)
 * without its backoff delays: the run counts outcomes, not time, and real delays would make a 100k run
 * take hours. Attempts and their order are the standard policy's.
 */
const undelayedStandardRetry = (maxAttempts: number) => ({
  mode: 'standard',
  acquireInitialRetryToken: async () => ({ count: 0, getRetryCount: () => 0 }),
  refreshRetryTokenForRetry: async (token: { count: number }, info: { errorType: string }) => {
    if (info.errorType === 'CLIENT_ERROR' || token.count + 1 >= maxAttempts) throw new Error('no retry');
    const count = token.count + 1;
    return { count, getRetryCount: () => count, getRetryDelay: () => 0 };
  },
  recordSuccess: () => {},
});

const ingest = async (
  w: ReturnType<typeof buildWorkload>,
  opts: { endpoint: string; tableName: string; now: () => number; layer?: FaultyHandler; snsFail: () => boolean },
): Promise<{ sent: Sent; stats: TransportStats }> => {
  const requestHandler = opts.layer ?? new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 });
  const client = new DynamoDBClient({
    endpoint: opts.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: requestHandler as unknown as NodeHttpHandler,
    retryStrategy: undelayedStandardRetry(3) as unknown as DynamoDBClientConfig['retryStrategy'],
  });
  const layer = opts.layer;
  const { hooks, sent, store, restore } = await wire(client, opts.tableName, opts.now, {
    fail: opts.snsFail,
    crashed: () => layer?.invocation.crashed ?? false,
  });
  const stats: TransportStats = {
    invocations: { kinesis: 0, sqs: 0 },
    redeliveries: { kinesis: 0, sqs: 0, bisections: 0 },
    dlqKinesis: [],
    dlqSqs: [],
  };
  try {
    if (layer) layer.enabled = false;
    await store.putMappingChanges(w.initialMappings);
    if (layer) layer.enabled = true;
    // SQS: messages back in the queue, visible again after a few more invocations (visibility timeout).
    let pending: { record: SqsRecordLike; receives: number; dueAt: number }[] = [];
    let tick = 0;
    const runSqs = async (batch: { record: SqsRecordLike; receives: number }[], retry: boolean) => {
      stats.invocations.sqs++;
      if (retry) stats.redeliveries.sqs++;
      const res = await invoke(layer, () => hooks.sqs(batch.map((b) => b.record)));
      const failed = res.crashed
        ? new Set(batch.map((b) => b.record.messageId))
        : new Set((res.value.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      for (const b of batch) {
        if (!failed.has(b.record.messageId)) continue;
        if (b.receives >= TRANSPORT.sqsMaxReceiveCount) stats.dlqSqs.push(b.record);
        else pending.push({ record: b.record, receives: b.receives + 1, dueAt: tick + TRANSPORT.sqsSettleInvocations });
      }
    };
    const flushDue = async (all: boolean) => {
      for (;;) {
        const due = pending.filter((p) => all || p.dueAt <= tick);
        if (due.length === 0) return;
        pending = pending.filter((p) => !due.includes(p));
        for (let i = 0; i < due.length; i += 10) await runSqs(due.slice(i, i + 10), true);
        if (!all) return;
        tick += TRANSPORT.sqsSettleInvocations;
      }
    };
    for (const d of w.deliveries) {
      tick++;
      if (d.kind === 'kinesis') await deliverKinesis(hooks, layer, d.event.Records, stats);
      else
        await runSqs(
          d.event.Records.map((record) => ({ record, receives: 1 })),
          false,
        );
      await flushDue(false);
    }
    await flushDue(true);
  } finally {
    restore();
    client.destroy();
  }
  return { sent, stats };
};

export const runFaultInjection = async (opts: FaultInjectionOptions): Promise<FaultInjectionResult> => {
  const mix = opts.faults ?? DEFAULT_FAULT_MIX;
  // No duplicated deliveries: a record the producer sent twice is stored twice by design
  // (docs/data-model.md, "Writes"), and would be counted as doubling that no fault caused.
  const w = buildWorkload({
    seed: opts.seed,
    requests: opts.requests,
    mix: opts.mix,
    mappingChanges: true,
    lateFraction: opts.lateFraction ?? 0.05,
    duplicateFraction: 0,
  });
  const endMs = Date.parse(SIM_START) + windowMs(opts.requests, opts.mix);
  const now = () => endMs + 3_600_000;
  const rng = new Rng(opts.seed).fork('faults');

  const baseEngine = await startLocalEngine({ inMemory: true, tableName: 'eks-trail-faults-baseline' });
  let baseline: { sent: Sent; facts: TableFacts };
  const tb = process.hrtime.bigint();
  try {
    const r = await ingest(w, {
      endpoint: baseEngine.endpoint,
      tableName: baseEngine.tableName,
      now,
      snsFail: () => false,
    });
    baseline = { sent: r.sent, facts: await readTable(baseEngine.endpoint, baseEngine.tableName) };
  } finally {
    await baseEngine.stop();
  }
  const baselineMs = elapsedMs(tb);

  const engine = await startLocalEngine({ inMemory: true, tableName: 'eks-trail-faults' });
  try {
    const layer = new FaultyHandler(
      new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 }),
      mix,
      rng.fork('dynamodb'),
    );
    const snsRng = rng.fork('sns');
    const t = process.hrtime.bigint();
    const { sent, stats } = await ingest(w, {
      endpoint: engine.endpoint,
      tableName: engine.tableName,
      now,
      layer,
      snsFail: () => {
        const fail = snsRng.next() < mix.snsFailure;
        if (fail) layer.injected['sns-failure']++;
        return fail;
      },
    });
    const wallMs = elapsedMs(t);
    const facts = await readTable(engine.endpoint, engine.tableName);
    const dlq = dlqIds(stats.dlqKinesis, stats.dlqSqs);

    const examples: string[] = [];
    const missing = (expected: Set<string>, got: Set<string>, excused: (k: string) => boolean) => {
      let n = 0;
      for (const k of expected) {
        if (got.has(k) || excused(k)) continue;
        n++;
        if (examples.length < 5) examples.push(k);
      }
      return n;
    };
    const lostRequests = missing(baseline.facts.requests, facts.requests, (k) =>
      dlq.requests.has(k.slice(k.indexOf('|') + 1)),
    );
    const lostChanges = missing(baseline.facts.mappingChanges, facts.mappingChanges, (k) =>
      k
        .split('|')[1]!
        .split('#')
        .some((x) => dlq.ids.has(x)),
    );
    const lostCredentials = missing(baseline.facts.credentials, facts.credentials, (k) =>
      dlq.ids.has(k.slice('CRED#'.length)),
    );

    const sentTwice = [...sent.publishes].filter(([, n]) => n > 1);
    const expectedAlerts = [...baseline.sent.publishes.keys()];
    const alertExamples = sentTwice.slice(0, 5).map(([id, n]) => `${id} x${n}`);
    const missingAlerts = expectedAlerts.filter((id) => !sent.publishes.has(id));
    for (const id of missingAlerts.slice(0, 5 - alertExamples.length)) alertExamples.push(`${id} never sent`);
    const claimedNeverSent = [...facts.claimedAlerts].filter((id) => !sent.publishes.has(id)).length;

    const injectedDb = Object.entries(layer.injected)
      .filter(([k]) => k !== 'sns-failure')
      .reduce((n, [, v]) => n + v, 0);
    const doubledExamples = [...facts.doubledRequests].slice(0, 5);
    return {
      mix: opts.mix,
      requests: w.truths.length,
      kinesisRecords: w.kinesisRecords,
      sqsMessages: w.sqsRecords,
      mappingChangesExpected: baseline.facts.mappingChanges.size,
      credentialsExpected: baseline.facts.credentials.size,
      alertsExpected: expectedAlerts.length,
      invocations: stats.invocations,
      redeliveries: stats.redeliveries,
      dynamoCalls: layer.calls,
      injected: { ...layer.injected },
      faultRate: injectedDb / Math.max(1, layer.calls),
      callsAfterCrash: layer.callsAfterCrash,
      snsCalls: sent.calls,
      snsFaultRate: sent.refused / Math.max(1, sent.calls),
      dlq: { kinesisRecords: stats.dlqKinesis.length, sqsMessages: stats.dlqSqs.length, requests: dlq.requests.size },
      quarantined: facts.quarantined,
      lost: { requests: lostRequests, mappingChanges: lostChanges, credentials: lostCredentials, examples },
      doubled: {
        requests: facts.doubledRequests.size,
        segmentRows: facts.doubledRows,
        postingRefs: facts.doubledPostingRefs,
        examples: doubledExamples,
      },
      alerts: {
        sent: sent.publishes.size,
        sentMoreThanOnce: sentTwice.length,
        missing: missingAlerts.length,
        claimedNeverSent,
        examples: alertExamples,
      },
      baseline: {
        requestsStored: baseline.facts.requests.size,
        doubledRows: baseline.facts.doubledRows,
        alertsSent: baseline.sent.publishes.size,
      },
      wallMs,
      baselineMs,
    };
  } finally {
    await engine.stop();
  }
};

// ---------------------------------------------------------------------------------------------
// Report (BENCHMARKS.md section, summary rows, BENCHMARKS.json fields)
// ---------------------------------------------------------------------------------------------

const FAULT_LABELS: Record<FaultKind, string> = {
  throttle: 'ProvisionedThroughputExceededException (400)',
  'throttling-exception': 'ThrottlingException (400)',
  'internal-server-error-500': 'InternalServerError (500)',
  'service-unavailable-503': 'ServiceUnavailable (503)',
  'timeout-after-write': 'timeout after the engine executed the call',
  'crash-after-batch-write': 'crash right after a BatchWriteItem (invocation dies)',
  'sns-failure': 'SNS Publish refused (throttled)',
};

const n0 = (x: number) => fmt(x, 0);
const pc = (x: number) => `${fmt(x * 100, 2)} %`;

export const faultInjectionSummaryRows = (
  x: FaultInjectionResult,
): { metric: string; value: string; target: string; status: 'ok' | 'MISS' | '-' }[] => {
  const row = (metric: string, value: number) => ({
    metric: `fault injection (${n0(x.requests)} requests, ${pc(x.faultRate)} of DynamoDB calls failed): ${metric}`,
    value: n0(value),
    target: '0',
    status: value === 0 ? ('ok' as const) : ('MISS' as const),
  });
  return [
    row('records lost', x.lost.requests + x.lost.mappingChanges + x.lost.credentials),
    row('records doubled', x.doubled.requests + x.doubled.postingRefs),
    row('alerts sent more than once', x.alerts.sentMoreThanOnce),
  ];
};

export const faultInjectionJson = (x: FaultInjectionResult): Record<string, unknown> => ({
  requests: x.requests,
  faultRate: x.faultRate,
  recordsLost: x.lost.requests + x.lost.mappingChanges + x.lost.credentials,
  recordsDoubled: x.doubled.requests + x.doubled.postingRefs,
  alertsSentMoreThanOnce: x.alerts.sentMoreThanOnce,
  alertsClaimedNeverSent: x.alerts.claimedNeverSent,
  dlq: x.dlq,
  targets: { recordsLost: 0, recordsDoubled: 0, alertsSentMoreThanOnce: 0, faultRate: { min: 0.05 } },
  detail: x,
});

export const faultInjectionMarkdown = (x: FaultInjectionResult): string[] => {
  const table = (header: string[], rows: string[][]) => [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  const out: string[] = [];
  out.push('## Fault injection');
  out.push('');
  out.push(
    `The ${x.mix} scenario, ${n0(x.requests)} requests with mapping changes (${n0(x.kinesisRecords)} Kinesis records, ${n0(x.sqsMessages)} CloudTrail messages, 5 % of records late, none sent twice by the producer), delivered through the handlers' entry points with the alert hooks the functions wire, into the embedded engine (bench/fault-injection.ts). ` +
      "A fault layer in the DynamoDB client's HTTP handler (below the SDK's 3 attempts, as deployed) fails calls on their way to the engine; SNS (aws-sdk-client-mock) refuses a share of Publish calls. " +
      `Kinesis redelivers from the reported record, bisects the batch of a failed invocation (a split is not a retry) and gives up after ${TRANSPORT.kinesisRetryAttempts} retries; SQS returns failed messages and dead-letters on the ${TRANSPORT.sqsMaxReceiveCount}th receive (cdk/stacks/central-stack.ts). ` +
      'Backoff delays (SDK and store) are compressed to nothing: the attempts are the same, the wall time is not a latency. ' +
      'The table is then compared with a fault-free ingestion of the same deliveries.',
  );
  out.push('');
  out.push(
    ...table(
      ['result', 'value', 'goal'],
      [
        [
          '**records lost** (requests / mapping changes / credentials)',
          `**${n0(x.lost.requests + x.lost.mappingChanges + x.lost.credentials)}** (${n0(x.lost.requests)} / ${n0(x.lost.mappingChanges)} / ${n0(x.lost.credentials)})`,
          '0',
        ],
        [
          '**records doubled** (requests with a row stored twice; posting references to a row twice)',
          `**${n0(x.doubled.requests + x.doubled.postingRefs)}** (${n0(x.doubled.requests)}; ${n0(x.doubled.postingRefs)})`,
          '0',
        ],
        ['**alerts sent more than once**', `**${n0(x.alerts.sentMoreThanOnce)}** of ${n0(x.alerts.sent)} sent`, '0'],
        ['alerts claimed in the ledger and never sent', n0(x.alerts.claimedNeverSent), '0'],
        [
          'alerts of the fault-free run not sent (first-use alert ids follow the batch a request arrives in)',
          `${n0(x.alerts.missing)} of ${n0(x.alertsExpected)}`,
          '-',
        ],
        [
          'dead-lettered (replayable: the stream keeps 7 days)',
          `${n0(x.dlq.kinesisRecords)} Kinesis records (${n0(x.dlq.requests)} requests), ${n0(x.dlq.sqsMessages)} SQS messages`,
          '-',
        ],
        ['quarantined', n0(x.quarantined), '-'],
        [
          'expected in the table (fault-free run)',
          `${n0(x.baseline.requestsStored)} requests, ${n0(x.mappingChangesExpected)} mapping-change items, ${n0(x.credentialsExpected)} credentials, ${n0(x.baseline.alertsSent)} alerts`,
          '-',
        ],
      ],
    ),
  );
  out.push('');
  out.push(
    `DynamoDB calls that reached the fault layer: ${n0(x.dynamoCalls)}; **failed: ${pc(x.faultRate)}** (goal >= 5 %). Calls refused afterwards because their invocation had crashed: ${n0(x.callsAfterCrash)}. ` +
      `Invocations: ${n0(x.invocations.kinesis)} Kinesis (${n0(x.redeliveries.kinesis)} redeliveries, ${n0(x.redeliveries.bisections)} bisections), ${n0(x.invocations.sqs)} SQS (${n0(x.redeliveries.sqs)} with returned messages). ` +
      `SNS Publish calls: ${n0(x.snsCalls)}, refused ${pc(x.snsFaultRate)}. Wall time ${fmt(x.wallMs / 1000)} s (fault-free run and its comparison: ${fmt(x.baselineMs / 1000)} s).`,
  );
  out.push('');
  out.push(
    ...table(
      ['fault injected', 'count'],
      (Object.keys(FAULT_LABELS) as FaultKind[]).map((k) => [FAULT_LABELS[k], n0(x.injected[k])]),
    ),
  );
  out.push('');
  const examples = [...x.lost.examples, ...x.doubled.examples, ...x.alerts.examples];
  if (examples.length > 0) {
    out.push(`Examples: ${examples.map((e) => `\`${e}\``).join(', ')}.`);
    out.push('');
  }
  out.push(
    'Not injected: an SNS Publish that SNS accepted but whose answer was lost. No sender can tell it from a refusal; the retry sends the alert again (standard SNS topics deliver at least once anyway).',
  );
  out.push('');
  return out;
};
