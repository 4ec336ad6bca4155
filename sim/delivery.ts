/**
 * How the simulated records reach the product: CloudWatch Logs subscription payloads in Kinesis
 * records (gzip, grouped per log stream), CloudTrail records wrapped by EventBridge and delivered
 * through SQS, and the files local mode reads (`aws logs filter-log-events` output, CloudTrail log
 * files). Delivery is at least once and unordered across streams: a configurable share of records
 * arrives late and some arrive twice with the same natural ids.
 */

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsPayload } from '../lib/sources/types.js';
import { US_PER_MS, US_PER_S } from './formats.js';
import { KinesisSequence, Rng } from './random.js';
import { eventBridgeEnvelope } from './records.js';
import type { CloudTrailEmission, Emission, LogEmission } from './scenario.js';
import { type Timed, TimedQueue } from './timed-queue.js';

// -----------------------------------------------------------------------------------------------
// Lambda event shapes (plain data; lib/ stays free of @types/aws-lambda)
// -----------------------------------------------------------------------------------------------

export interface KinesisRecordLike {
  kinesis: {
    kinesisSchemaVersion: '1.0';
    partitionKey: string;
    sequenceNumber: string;
    data: string;
    approximateArrivalTimestamp: number;
  };
  eventSource: 'aws:kinesis';
  eventVersion: '1.0';
  eventID: string;
  eventName: 'aws:kinesis:record';
  invokeIdentityArn: string;
  awsRegion: string;
  eventSourceARN: string;
}

export interface SqsRecordLike {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, never>;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

export type Delivery =
  | { kind: 'kinesis'; deliveredAtUs: number; event: { Records: KinesisRecordLike[] } }
  | { kind: 'sqs'; deliveredAtUs: number; event: { Records: SqsRecordLike[] } };

export interface DeliveryOptions {
  seed: number;
  /** Share of records held back 5-30 minutes, so they arrive after later records of other streams. */
  lateFraction?: number;
  /** Share of records delivered a second time (same CloudWatch id / eventID / auditID+stage). */
  duplicateFraction?: number;
  /** Max log events per CloudWatch Logs payload. Default 100. */
  batchSize?: number;
  /** Max Kinesis records per Lambda invocation. Default 100. */
  kinesisBatchSize?: number;
  /**
   * The event source mapping's MaximumBatchingWindowInSeconds, in ms: an invocation also closes once its
   * first record has waited this long. Default: none (an invocation closes at kinesisBatchSize records or
   * 5 MB only).
   */
  kinesisBatchWindowMs?: number;
  /** Max SQS messages per Lambda invocation. Default 10. */
  sqsBatchSize?: number;
  /** The central (security) account holding the Kinesis stream and the queue. */
  centralAccountId?: string;
  centralRegion?: string;
  subscriptionFilterName?: string;
}

/** A Kinesis record and a CloudWatch Logs payload are both capped at 1 MB. */
const MAX_PAYLOAD_BYTES = 1_000_000;
/** Keep one Lambda invocation well under its 6 MB request limit. */
const MAX_INVOCATION_BYTES = 5_000_000;
/** CloudWatch Logs flushes a subscription batch after a few seconds even when it is not full. */
const PAYLOAD_LINGER_US = 3 * US_PER_S;
const MAX_LATE_US = 30 * 60 * US_PER_S;

export const encodeLogsPayload = (payload: CloudWatchLogsPayload): Buffer =>
  gzipSync(Buffer.from(JSON.stringify(payload)));

/** The event a Lambda subscribed directly to a log group receives. */
export const awslogsLambdaEvent = (payload: CloudWatchLogsPayload): { awslogs: { data: string } } => ({
  awslogs: { data: encodeLogsPayload(payload).toString('base64') },
});

type Pending = Timed<LogEmission | CloudTrailEmission>;

interface StreamBuffer {
  e: LogEmission;
  events: { id: string; timestamp: number; message: string }[];
  bytes: number;
  firstAt: number;
}

/**
 * Packs emissions into Lambda events as the product receives them. Lazy and bounded: memory holds
 * only records still in their delivery delay window and the open per-stream payloads.
 */
export function* toDeliveries(emissions: Iterable<Emission>, opts: DeliveryOptions): Generator<Delivery> {
  const rng = new Rng(opts.seed).fork('delivery');
  const late = opts.lateFraction ?? 0;
  const dup = opts.duplicateFraction ?? 0;
  const batchSize = Math.max(1, opts.batchSize ?? 100);
  const kinesisBatch = Math.max(1, opts.kinesisBatchSize ?? 100);
  const windowUs =
    opts.kinesisBatchWindowMs === undefined ? undefined : Math.max(0, opts.kinesisBatchWindowMs) * US_PER_MS;
  const sqsBatch = Math.max(1, opts.sqsBatchSize ?? 10);
  const central = opts.centralAccountId ?? '999900001111';
  const region = opts.centralRegion ?? 'us-east-1';
  const filterName = opts.subscriptionFilterName ?? 'eks-access-trail';
  const streamArn = `arn:aws:kinesis:${region}:${central}:stream/eks-access-trail-logs`;
  const queueArn = `arn:aws:sqs:${region}:${central}:eks-access-trail-events`;
  const invokeRole = `arn:aws:iam::${central}:role/eks-access-trail-ingest`;
  const shard = new KinesisSequence(rng);

  const queue = new TimedQueue<LogEmission | CloudTrailEmission>();
  const buffers = new Map<string, StreamBuffer>();
  let kinesis: KinesisRecordLike[] = [];
  let kinesisBytes = 0;
  /** Arrival of the open invocation's first record. */
  let kinesisFirstAt = 0;
  let sqs: SqsRecordLike[] = [];
  const out: Delivery[] = [];
  let delivered = 0;

  const emitKinesis = (at: number) => {
    if (!kinesis.length) return;
    out.push({ kind: 'kinesis', deliveredAtUs: at, event: { Records: kinesis } });
    kinesis = [];
    kinesisBytes = 0;
  };
  /** Lambda invokes with what it has once the open batch's first record has waited the batching window. */
  const closeWindow = (at: number) => {
    if (windowUs !== undefined && kinesis.length && at - kinesisFirstAt >= windowUs)
      emitKinesis(kinesisFirstAt + windowUs);
  };
  const emitSqs = (at: number) => {
    if (!sqs.length) return;
    out.push({ kind: 'sqs', deliveredAtUs: at, event: { Records: sqs } });
    sqs = [];
  };
  const flushBuffer = (key: string, at: number) => {
    const b = buffers.get(key);
    if (!b) return;
    buffers.delete(key);
    const payload: CloudWatchLogsPayload = {
      messageType: 'DATA_MESSAGE',
      owner: b.e.accountId,
      logGroup: b.e.logGroup,
      logStream: b.e.logStream,
      subscriptionFilters: [filterName],
      logEvents: b.events,
    };
    const data = encodeLogsPayload(payload).toString('base64');
    const seq = shard.next();
    closeWindow(at);
    if (kinesisBytes + data.length > MAX_INVOCATION_BYTES) emitKinesis(at);
    if (!kinesis.length) kinesisFirstAt = at;
    kinesis.push({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: rng.hex(32),
        sequenceNumber: seq,
        data,
        approximateArrivalTimestamp: Math.floor(at / US_PER_MS) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: invokeRole,
      awsRegion: region,
      eventSourceARN: streamArn,
    });
    kinesisBytes += data.length;
    if (kinesis.length >= kinesisBatch) emitKinesis(at);
  };
  const deliver = (p: Pending) => {
    closeWindow(p.at);
    const e = p.value;
    if (e.kind === 'log') {
      const key = `${e.logGroup}|${e.logStream}`;
      const size = e.message.length + 120;
      const existing = buffers.get(key);
      if (existing && existing.bytes + size > MAX_PAYLOAD_BYTES) flushBuffer(key, p.at);
      const b = buffers.get(key) ?? { e, events: [], bytes: 200, firstAt: p.at };
      buffers.set(key, b);
      b.events.push({ id: e.eventId, timestamp: Math.floor(e.timeUs / US_PER_MS), message: e.message });
      b.bytes += size;
      if (b.events.length >= batchSize) flushBuffer(key, p.at);
    } else {
      const body = JSON.stringify(eventBridgeEnvelope(rng, e.record));
      sqs.push({
        messageId: rng.uuid(),
        receiptHandle: `AQEB${Buffer.from(rng.hex(96), 'hex').toString('base64')}`,
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Math.floor(p.at / US_PER_MS)),
          SenderId: 'AIDAIENQZJOLO23YVJ4VO',
          ApproximateFirstReceiveTimestamp: String(Math.floor(p.at / US_PER_MS) + rng.range(5, 900)),
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: region,
      });
      if (sqs.length >= sqsBatch) emitSqs(p.at);
    }
    // Age out lingering payloads; scanning every few records keeps this O(1) amortised per record.
    if (++delivered % 64 === 0)
      for (const [key, b] of buffers) if (p.at - b.firstAt > PAYLOAD_LINGER_US) flushBuffer(key, p.at);
  };
  const schedule = (e: LogEmission | CloudTrailEmission) => {
    // Log subscriptions deliver within seconds; CloudTrail reaches EventBridge within minutes.
    const base = e.kind === 'log' ? rng.range(300, 5_000) * US_PER_MS : rng.range(30, 300) * US_PER_S;
    const extra = rng.chance(late) ? rng.range(5 * 60, 30 * 60) * US_PER_S : 0;
    queue.push(e.timeUs + base + extra, e);
    if (rng.chance(dup)) queue.push(e.timeUs + base + extra + rng.range(10, 600) * US_PER_S, e);
  };

  for (const e of emissions) {
    if (e.kind === 'truth') continue;
    schedule(e);
    // Everything due before (now - the longest possible delay) can no longer be overtaken.
    const horizon = e.timeUs - MAX_LATE_US - 10 * 60 * US_PER_S;
    while (queue.size && (queue.peekAt() as number) <= horizon) {
      deliver(queue.pop() as Pending);
      if (out.length) yield* out.splice(0);
    }
  }
  let last = 0;
  while (queue.size) {
    const p = queue.pop() as Pending;
    last = p.at;
    deliver(p);
    if (out.length) yield* out.splice(0);
  }
  for (const key of [...buffers.keys()]) flushBuffer(key, last);
  emitKinesis(last);
  emitSqs(last);
  yield* out.splice(0);
}

// -----------------------------------------------------------------------------------------------
// Local-mode files
// -----------------------------------------------------------------------------------------------

/**
 * `aws logs filter-log-events --log-group-name /aws/eks/<c>/cluster --output json`: the CLI merges
 * all pages into one document, events sorted by timestamp across streams, indented 4 spaces.
 * Yields text chunks so millions of events can be streamed to a file.
 */
export function* filterLogEventsJson(events: Iterable<LogEmission>, seed: number): Generator<string> {
  const rng = new Rng(seed).fork('filter-log-events');
  yield '{\n    "events": [';
  let first = true;
  for (const e of events) {
    const ts = Math.floor(e.timeUs / US_PER_MS);
    const obj = {
      logStreamName: e.logStream,
      timestamp: ts,
      message: e.message,
      ingestionTime: ts + rng.range(200, 4_000),
      eventId: e.eventId,
    };
    const body = JSON.stringify(obj, null, 4)
      .split('\n')
      .map((l) => `        ${l}`)
      .join('\n');
    yield `${first ? '\n' : ',\n'}${body}`;
    first = false;
  }
  yield `${first ? '' : '\n    '}],\n    "searchedLogStreams": []\n}\n`;
}

export interface CloudTrailLogFile {
  /** S3 key as CloudTrail writes it. */
  key: string;
  fileName: string;
  accountId: string;
  region: string;
  records: CloudTrailEmission['record'][];
}

const stamp = (us: number): string => {
  const iso = new Date(Math.floor(us / US_PER_MS)).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
};

/**
 * Groups CloudTrail records into log files per (account, region, delivery interval), named as
 * CloudTrail names them. Streaming: a file is yielded once time moves past its interval.
 */
export function* cloudTrailLogFiles(
  emissions: Iterable<CloudTrailEmission>,
  opts: { seed: number; intervalMinutes?: number },
): Generator<CloudTrailLogFile> {
  const rng = new Rng(opts.seed).fork('cloudtrail-files');
  const interval = (opts.intervalMinutes ?? 5) * 60 * US_PER_S;
  const open = new Map<string, { start: number; file: CloudTrailLogFile }>();
  const close = (key: string) => {
    const f = open.get(key);
    open.delete(key);
    return f?.file;
  };
  for (const e of emissions) {
    const start = Math.floor(e.timeUs / interval) * interval;
    for (const [key, f] of open) {
      if (f.start < start) {
        const file = close(key);
        if (file) yield file;
      }
    }
    const key = `${e.accountId}|${e.region}`;
    let f = open.get(key);
    if (!f) {
      const end = start + interval;
      const fileName = `${e.accountId}_CloudTrail_${e.region}_${stamp(end)}_${rng.fromAlphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 16)}.json.gz`;
      const d = new Date(Math.floor(end / US_PER_MS)).toISOString();
      f = {
        start,
        file: {
          key: `AWSLogs/${e.accountId}/CloudTrail/${e.region}/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${fileName}`,
          fileName,
          accountId: e.accountId,
          region: e.region,
          records: [],
        },
      };
      open.set(key, f);
    }
    f.file.records.push(e.record);
  }
  for (const key of [...open.keys()]) {
    const file = close(key);
    if (file) yield file;
  }
}

/** A CloudTrail log file's bytes: gzip of `{"Records":[…]}`. */
export const encodeCloudTrailLogFile = (file: CloudTrailLogFile): Buffer =>
  gzipSync(Buffer.from(JSON.stringify({ Records: file.records })));
