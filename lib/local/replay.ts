import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { type AlertTally, type RecordedAlerts, tallyOf } from '../alerts/recorded-alerts.js';
import { SEVERITIES } from '../alerts/types.js';
import { awsAuthRawData, parseAwsAuth } from '../identity/aws-auth.js';
import type { MappingChange } from '../identity/types.js';
import { type CloudTrailBatchItem, ingestCloudTrailEvents } from '../ingest/cloudtrail-pipeline.js';
import { batchUnitIds, ingestLogPayloads, type LogBatchItem } from '../ingest/log-pipeline.js';
import { notifyMappingChanges } from '../ingest/mapping-change-stage.js';
import { countCodes, type QuarantineCounts, quarantineEntry } from '../ingest/types.js';
import { type IssueCode, rawText } from '../result.js';
import { parseLogExport } from '../sources/cloudwatch-logs.js';
import { redactText } from '../sources/redact.js';
import type { CloudWatchLogsPayload } from '../sources/types.js';
import type { IngestPort } from '../store/trail-store.js';
import { type Progress, silentProgress } from './progress.js';

/**
 * `replay`: feed local files through the same pipelines the Lambdas run. Each file's format is
 * detected from its content (never trusted from its extension alone):
 *  - CloudWatch Logs exports (`aws logs filter-log-events` / `get-log-events` JSON), raw log lines,
 *    captured Lambda `awslogs` or Kinesis events  -> log pipeline;
 *  - CloudTrail log files (`{"Records":[…]}`, gzip or not), `aws cloudtrail lookup-events` output,
 *    arrays / JSON lines of records, EventBridge events, SQS events wrapping them -> CloudTrail pipeline;
 *  - aws-auth ConfigMap YAML/JSON (`kubectl get cm aws-auth -o yaml`) -> a backfill `aws-auth-put`.
 */

export class ReplayError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReplayError';
  }
}

export type DetectedKind = 'log-export' | 'log-delivery-event' | 'cloudtrail' | 'aws-auth';

export interface ReplayOptions {
  /** Overrides the log group of every log export (else from the file name or path). */
  logGroup?: string;
  /** Workload account owning the clusters (payload `owner`, MappingChange accountId). */
  accountId?: string;
  /**
   * Account of a cluster known to the trail (e.g. DynamoDbTrailStore.resolveCluster), used when
   * `accountId` is not given: exports and aws-auth YAML never name their account, while CloudTrail
   * (replayed first) registers it. Without either, the store files the cluster under an unknown account.
   */
  accountFor?: (cluster: string) => Promise<string | undefined>;
  /** Cluster of aws-auth files (else from the file name `<cluster>.yaml`). */
  cluster?: string;
  /** ISO time of aws-auth snapshots (else metadata.creationTimestamp, else the file's mtime). */
  at?: string;
  /** Log events per ingested payload chunk. */
  eventsPerPayload?: number;
  /**
   * Payload chunks per pipeline call (default 20: 10,000 events). A call is one delivery: its rows are
   * stored per cluster and five-minute cell, so fuller calls write fewer, fuller segments, as the
   * deployed function's batching does (docs/data-model.md, "Writes").
   */
  payloadsPerBatch?: number;
  /** CloudTrail records per pipeline call. */
  recordsPerBatch?: number;
  now: () => number;
  progress?: Progress;
  /** The alert stage (lib/alerts/recorded-alerts.ts): the pipelines' hooks, as the deployed functions run them. */
  alerts?: Pick<RecordedAlerts, 'hooks' | 'raised' | 'alreadyRecorded'>;
}

export interface ReplaySummary {
  files: { path: string; kind: DetectedKind; records: number }[];
  logEvents: number;
  cloudTrailRecords: number;
  requestsStored: number;
  authnFailureChains: number;
  mappingChanges: number;
  newMappingChanges: number;
  credentials: number;
  skipped: number;
  duplicates: number;
  quarantined: QuarantineCounts;
  /** Log records read from bytes that were not valid UTF-8 (stored flagged, or quarantined). */
  invalidUtf8: number;
  /** Items the store failed transiently even after retries (local mode: should stay 0). */
  failedItems: number;
  /** Time span of the replayed log events (epoch ms), to ask questions over exactly that window. */
  firstEventAt?: number;
  lastEventAt?: number;
  /** Alerts the replay recorded, by severity (present when the alert stage ran). */
  alerts?: AlertTally;
}

/** Expand directories (recursively, sorted for a deterministic order); skip hidden files and READMEs. */
export const expandPaths = (paths: readonly string[]): string[] => {
  const out: string[] = [];
  const walk = (p: string): void => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch (cause) {
      throw new ReplayError(`no such file or directory: ${p}`, p, { cause });
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (name.startsWith('.') || /^readme/i.test(name) || /\.(md|jsonl)$/i.test(name)) continue;
        walk(join(p, name));
      }
    } else {
      out.push(p);
    }
  };
  for (const p of paths) walk(p);
  return out;
};

/** The file's text, and whether its bytes were valid UTF-8 (invalid sequences read as U+FFFD are flagged). */
const readText = (path: string): { text: string; invalidUtf8: boolean } => {
  let buf = readFileSync(path);
  // gzip magic: CloudTrail delivers .json.gz; exports may be compressed too.
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (cause) {
      throw new ReplayError(`${path}: looks gzip-compressed but does not decompress`, path, { cause });
    }
  }
  return { text: buf.toString('utf8'), invalidUtf8: !isUtf8(buf) };
};

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Quarantine identity of a record of a replayed file: the file's content digest (its identity
 * wherever it lies), the record's position in it and a digest of its redacted raw text. Two different
 * records never share a key, whatever their files are called; the same file replayed again keeps
 * one entry per record.
 */
export const fileRecordId = (fileDigest: string, position: number, raw: string): string =>
  `file:${fileDigest.slice(0, 24)}:${position}:${sha256(redactText(raw)).slice(0, 24)}`;

const tryJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const looksLikeCloudTrailRecord = (v: unknown): boolean =>
  isObj(v) && typeof v.eventSource === 'string' && typeof v.eventName === 'string';

const looksLikeEventBridge = (v: unknown): boolean =>
  isObj(v) && isObj(v.detail) && typeof v['detail-type'] === 'string';

/**
 * CloudTrail bodies of a parsed document, or undefined when it is not CloudTrail: `{"Records":[…]}`
 * (log file, or an SQS event whose bodies are EventBridge events), lookup-events `{"Events":[…]}`,
 * arrays of records / EventBridge events, a single record or event.
 */
const cloudTrailBodies = (doc: unknown): unknown[] | undefined => {
  if (Array.isArray(doc)) {
    return doc.length > 0 && doc.every((d) => looksLikeCloudTrailRecord(d) || looksLikeEventBridge(d))
      ? doc
      : undefined;
  }
  if (!isObj(doc)) return undefined;
  if (Array.isArray(doc.Records)) {
    const recs = doc.Records as unknown[];
    if (recs.every(looksLikeCloudTrailRecord)) return recs;
    // SQS event: the bodies are EventBridge events as text.
    if (
      recs.length > 0 &&
      recs.every((r) => isObj(r) && typeof r.body === 'string' && typeof r.messageId === 'string')
    ) {
      const bodies = recs.map((r) => (r as { body: string }).body);
      return bodies.every((b) => looksLikeEventBridge(tryJson(b)) || looksLikeCloudTrailRecord(tryJson(b)))
        ? bodies
        : undefined;
    }
    return undefined;
  }
  if (Array.isArray(doc.Events)) {
    const evs = doc.Events as unknown[];
    // lookup-events: each event carries the full record as a JSON string.
    if (evs.every((e) => isObj(e) && typeof e.CloudTrailEvent === 'string')) {
      return evs.map((e) => (e as { CloudTrailEvent: string }).CloudTrailEvent);
    }
    return undefined;
  }
  if (looksLikeCloudTrailRecord(doc) || looksLikeEventBridge(doc)) return [doc];
  return undefined;
};

/** JSON lines of CloudTrail records / EventBridge events. */
const cloudTrailLines = (text: string): unknown[] | undefined => {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return undefined;
  const docs = lines.map(tryJson);
  return docs.every((d) => looksLikeCloudTrailRecord(d) || looksLikeEventBridge(d)) ? docs : undefined;
};

const looksLikeAwsAuth = (text: string, path: string): boolean =>
  /\b(mapRoles|mapUsers|mapAccounts)\b/.test(text) &&
  (/\.(ya?ml)$/i.test(path) || /kind:\s*ConfigMap/.test(text) || /"kind"\s*:\s*"ConfigMap"/.test(text));

/** Log group of an export: option, `<cluster>.filter-log-events.json`, or `/aws/eks/<cluster>/cluster` in the path. */
export const logGroupFor = (path: string, explicit?: string): string | undefined => {
  if (explicit) return explicit;
  const m =
    /^([A-Za-z0-9][A-Za-z0-9_-]*)\.(filter-log-events|get-log-events|log-events|logs)\.(json|jsonl|txt|log)(\.gz)?$/.exec(
      basename(path),
    );
  if (m) return `/aws/eks/${m[1]}/cluster`;
  const norm = resolve(path).split(sep).join('/');
  const inPath = /\/aws\/eks\/([A-Za-z0-9][A-Za-z0-9_-]*)\/cluster(\/|$)/.exec(norm);
  if (inPath) return `/aws/eks/${inPath[1]}/cluster`;
  return undefined;
};

const clusterForAwsAuth = (path: string, explicit?: string): string | undefined => {
  if (explicit) return explicit;
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]*?)(\.aws-auth)?\.(ya?ml|json)$/.exec(basename(path));
  if (m && m[1] !== 'aws-auth') return m[1];
  return /\/aws\/eks\/([A-Za-z0-9][A-Za-z0-9_-]*)\//.exec(resolve(path).split(sep).join('/'))?.[1];
};

/** Split a payload into chunks of at most n events (subscription payloads are bounded the same way). */
const chunkPayload = (p: CloudWatchLogsPayload, n: number): CloudWatchLogsPayload[] => {
  if (p.logEvents.length <= n) return [p];
  const out: CloudWatchLogsPayload[] = [];
  for (let i = 0; i < p.logEvents.length; i += n) out.push({ ...p, logEvents: p.logEvents.slice(i, i + n) });
  return out;
};

const addCounts = (into: QuarantineCounts, from: QuarantineCounts): void => {
  for (const [k, v] of Object.entries(from)) into[k as IssueCode] = (into[k as IssueCode] ?? 0) + (v ?? 0);
};

interface PlannedFile {
  path: string;
  kind: DetectedKind;
  text: string;
  bodies?: unknown[];
  logGroup?: string;
  /** The file's bytes were not valid UTF-8. */
  invalidUtf8?: boolean;
}

/** Read and classify one file. Throws ReplayError with a clear message when it cannot be used. */
export const detectFile = (path: string, opts: Pick<ReplayOptions, 'logGroup'> = {}): PlannedFile => {
  const read = readText(path);
  const planned = classify(path, read.text, opts);
  if (read.invalidUtf8) planned.invalidUtf8 = true;
  return planned;
};

const classify = (path: string, text: string, opts: Pick<ReplayOptions, 'logGroup'>): PlannedFile => {
  if (text.trim() === '') throw new ReplayError(`${path}: empty file`, path);
  if (looksLikeAwsAuth(text, path)) return { path, kind: 'aws-auth', text };
  const doc = tryJson(text);
  const bodies = doc === undefined ? cloudTrailLines(text) : cloudTrailBodies(doc);
  if (bodies) return { path, kind: 'cloudtrail', text, bodies };
  // Subscription deliveries carry their own log group.
  if (isObj(doc) && (isObj(doc.awslogs) || typeof doc.logGroup === 'string'))
    return { path, kind: 'log-delivery-event', text };
  if (
    isObj(doc) &&
    Array.isArray(doc.Records) &&
    (doc.Records as unknown[]).some((r) => isObj(r) && isObj(r.kinesis))
  ) {
    return { path, kind: 'log-delivery-event', text };
  }
  const logGroup = logGroupFor(path, opts.logGroup);
  if (!logGroup) {
    throw new ReplayError(
      `${path}: cannot tell which cluster this log export belongs to (the export does not name its log group): ` +
        'pass --log-group /aws/eks/<cluster>/cluster, or name the file <cluster>.filter-log-events.json',
      path,
    );
  }
  return { path, kind: 'log-export', text, logGroup };
};

const emptySummary = (): ReplaySummary => ({
  files: [],
  logEvents: 0,
  cloudTrailRecords: 0,
  requestsStored: 0,
  authnFailureChains: 0,
  mappingChanges: 0,
  newMappingChanges: 0,
  credentials: 0,
  skipped: 0,
  duplicates: 0,
  quarantined: {},
  invalidUtf8: 0,
  failedItems: 0,
});

/**
 * `kubectl get cm aws-auth -o yaml|json` carries metadata.creationTimestamp. The snapshot's content may
 * be a later version than the one created then, but a file's mtime is usually the checkout time, which
 * is later than every request in the export: the creation time is the better default (--at overrides).
 */
export const creationTimestampOf = (text: string): string | undefined => {
  try {
    const doc = parseYaml(text) as { metadata?: { creationTimestamp?: unknown } } | null;
    const ts = doc?.metadata?.creationTimestamp;
    const t = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
    return Number.isNaN(t) ? undefined : new Date(t).toISOString();
  } catch {
    return undefined;
  }
};

/** A backfill MappingChange for an aws-auth snapshot: it is the version in force from `at` on. */
export const awsAuthSnapshotChange = (
  text: string,
  cluster: string,
  at: string,
  accountId: string | undefined,
  origin: string,
): MappingChange => {
  const parsed = parseAwsAuth(text);
  if (!parsed.ok) {
    throw new ReplayError(
      `${origin}: not a usable aws-auth ConfigMap: ${parsed.issues.map((i) => i.message).join('; ')}`,
      origin,
    );
  }
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 24);
  const change: MappingChange = {
    cluster,
    at,
    // Content-addressed: replaying the same snapshot twice is one change.
    sourceEventId: `backfill:aws-auth:${hash}`,
    source: 'backfill',
    actor: {},
    op: { kind: 'aws-auth-put', config: parsed.value },
  };
  const raw = awsAuthRawData(text);
  if (raw && change.op.kind === 'aws-auth-put') change.op.rawData = raw;
  if (accountId) change.accountId = accountId;
  return change;
};

export const replayFiles = async (
  paths: readonly string[],
  store: IngestPort,
  opts: ReplayOptions,
): Promise<ReplaySummary> => {
  const progress = opts.progress ?? silentProgress;
  const files = expandPaths(paths);
  if (files.length === 0) throw new ReplayError('no files to replay');
  const planned = files.map((f) => detectFile(f, opts));
  // CloudTrail first (it registers each cluster's account), then aws-auth snapshots, then requests: chains then resolve at write time. The
  // answers would be the same in any order (query-time re-derivation), only the work differs.
  const rank: Record<DetectedKind, number> = { cloudtrail: 0, 'aws-auth': 1, 'log-export': 2, 'log-delivery-event': 2 };
  planned.sort((a, b) => rank[a.kind] - rank[b.kind]);

  const summary = emptySummary();
  const accountOf = async (cluster: string | undefined): Promise<string | undefined> => {
    if (opts.accountId) return opts.accountId;
    if (!cluster || !opts.accountFor) return undefined;
    try {
      return await opts.accountFor(cluster);
    } catch {
      // ambiguous (several accounts): leave it to the store, the user can pass --account
      return undefined;
    }
  };
  const run: ReplayRun = { store, opts, summary, progress, accountOf };
  const work = planWork(planned, opts);
  progress.addTotal(work.reduce((n, w) => n + w.units, 0));

  for (const w of work) {
    if (w.tooDeep) await replayTooDeep(w, run);
    else if (w.file.kind === 'aws-auth') await replayAwsAuth(w, run);
    else if (w.file.kind === 'cloudtrail') await replayCloudTrail(w, run);
    else await replayLogs(w, run);
  }
  progress.done(`${summary.files.length} files`);
  if (opts.alerts) summary.alerts = tallyOf(opts.alerts);
  return summary;
};

/** A file to replay with its content digest, its log payloads once parsed, and how many units progress counts. */
type ReplayWork = {
  file: PlannedFile;
  digest: string;
  payloads?: CloudWatchLogsPayload[];
  units: number;
  tooDeep?: true;
};

/** What replaying one file needs. */
interface ReplayRun {
  store: IngestPort;
  opts: ReplayOptions;
  summary: ReplaySummary;
  progress: Progress;
  accountOf: (cluster: string | undefined) => Promise<string | undefined>;
}

/** Log exports are parsed (and cut into payloads) before anything is written, so that a bad file stops the replay first. */
const planWork = (planned: readonly PlannedFile[], opts: ReplayOptions): ReplayWork[] => {
  const eventsPerPayload = opts.eventsPerPayload ?? 500;
  return planned.map((file): ReplayWork => {
    const digest = sha256(file.text);
    if (file.kind === 'cloudtrail') return { file, digest, units: file.bodies?.length ?? 0 };
    if (file.kind === 'aws-auth') return { file, digest, units: 1 };
    const lo: { logGroup?: string; accountId?: string } = {};
    if (file.logGroup) lo.logGroup = file.logGroup;
    if (opts.accountId) lo.accountId = opts.accountId;
    const r = parseLogExport(file.text, lo);
    // A document nested too deep to read is quarantined as one record, and the replay goes on.
    if (!r.ok && r.issues.every((i) => i.code === 'INPUT_TOO_DEEP')) return { file, digest, units: 1, tooDeep: true };
    if (!r.ok) {
      throw new ReplayError(
        `${file.path}: not a usable log export: ${r.issues.map((i) => i.message).join('; ')}`,
        file.path,
      );
    }
    const payloads = r.value.flatMap((p) => chunkPayload(p, eventsPerPayload));
    if (file.invalidUtf8) for (const p of payloads) p.invalidUtf8 = true;
    return { file, digest, payloads, units: payloads.reduce((n, p) => n + p.logEvents.length, 0) };
  });
};

/** A document nested too deep to read is quarantined as one record, and the replay goes on. */
const replayTooDeep = async (w: ReplayWork, { store, summary, progress }: ReplayRun): Promise<void> => {
  const { file } = w;
  const entry = quarantineEntry(
    { source: 'replay-file', sourceId: fileRecordId(w.digest, 0, file.text) },
    [{ code: 'INPUT_TOO_DEEP', message: `${basename(file.path)}: JSON nested too deep to read` }],
    file.text,
    0,
  );
  await store.quarantine([entry]);
  countCodes(summary.quarantined, [entry]);
  summary.files.push({ path: file.path, kind: file.kind, records: 1 });
  progress.tick(1, basename(file.path));
};

/** An aws-auth snapshot: one mapping change for its cluster, at its creation time or the file's. */
const replayAwsAuth = async (
  w: ReplayWork,
  { store, opts, summary, progress, accountOf }: ReplayRun,
): Promise<void> => {
  const { file } = w;
  const cluster = clusterForAwsAuth(file.path, opts.cluster);
  if (!cluster) {
    throw new ReplayError(
      `${file.path}: which cluster is this aws-auth for? pass --cluster or name the file <cluster>.yaml`,
      file.path,
    );
  }
  const at = opts.at ?? creationTimestampOf(file.text) ?? statSync(file.path).mtime.toISOString();
  const change = awsAuthSnapshotChange(file.text, cluster, at, await accountOf(cluster), file.path);
  const fresh = await store.putMappingChanges([change]);
  const hook = opts.alerts?.hooks.onNewMappingChanges;
  if (hook && (await notifyMappingChanges(store, [change], fresh, hook)) !== undefined) summary.failedItems += 1;
  summary.mappingChanges += 1;
  summary.newMappingChanges += fresh.length;
  summary.files.push({ path: file.path, kind: file.kind, records: 1 });
  progress.tick(1, basename(file.path));
};

/** CloudTrail records, in batches as the queue would deliver them. */
const replayCloudTrail = async (w: ReplayWork, { store, opts, summary, progress }: ReplayRun): Promise<void> => {
  const { file } = w;
  const recordsPerBatch = opts.recordsPerBatch ?? 200;
  const bodies = file.bodies ?? [];
  for (let i = 0; i < bodies.length; i += recordsPerBatch) {
    const items: CloudTrailBatchItem[] = bodies.slice(i, i + recordsPerBatch).map((body, j) => {
      const item: CloudTrailBatchItem = {
        itemId: fileRecordId(w.digest, i + j, rawText(body)),
        source: 'replay-file',
        body,
        receivedAt: 0,
      };
      if (file.invalidUtf8) item.invalidUtf8 = true;
      return item;
    });
    const s = await ingestCloudTrailEvents(items, store, { now: opts.now, ...opts.alerts?.hooks });
    summary.cloudTrailRecords += items.length;
    summary.mappingChanges += s.mappingChanges;
    summary.newMappingChanges += s.newMappingChanges;
    summary.credentials += s.newCredentials;
    summary.skipped += s.skippedUnsupported + s.failedCalls;
    summary.duplicates += s.duplicates;
    summary.failedItems += s.failedItemIds.length;
    addCounts(summary.quarantined, s.quarantined);
    progress.tick(items.length, basename(file.path));
  }
  summary.files.push({ path: file.path, kind: file.kind, records: bodies.length });
};

/** Log payloads, in batches as the stream would deliver them. */
const replayLogs = async (w: ReplayWork, { store, opts, summary, progress, accountOf }: ReplayRun): Promise<void> => {
  const { file } = w;
  const payloadsPerBatch = opts.payloadsPerBatch ?? 20;
  const payloads = w.payloads ?? [];
  // Exports carry no owner: fill it from the registry once CloudTrail has been replayed.
  for (const p of payloads) {
    if (p.owner) continue;
    const account = await accountOf(/^\/aws\/eks\/([^/]+)\/cluster$/.exec(p.logGroup)?.[1]);
    if (account) p.owner = account;
  }
  for (let i = 0; i < payloads.length; i += payloadsPerBatch) {
    const batch = payloads.slice(i, i + payloadsPerBatch);
    const units = batchUnitIds(batch);
    const items: LogBatchItem[] = batch.map((payload, j) => ({
      // A payload is quarantined whole only when its log group is not an EKS one: its events name it.
      itemId: fileRecordId(w.digest, i + j, batchUnitIds([payload])[0] as string),
      unitId: units[j] as string,
      source: 'replay-file',
      payload,
      receivedAt: 0,
    }));
    const s = await ingestLogPayloads(items, store, { now: opts.now, ...opts.alerts?.hooks });
    let events = 0;
    for (const it of items) {
      for (const e of (it.payload as CloudWatchLogsPayload).logEvents) {
        events++;
        if (summary.firstEventAt === undefined || e.timestamp < summary.firstEventAt)
          summary.firstEventAt = e.timestamp;
        if (summary.lastEventAt === undefined || e.timestamp > summary.lastEventAt) summary.lastEventAt = e.timestamp;
      }
    }
    summary.logEvents += events;
    summary.requestsStored += s.requestsStored;
    summary.authnFailureChains += s.authnFailureChains;
    summary.mappingChanges += s.mappingChanges;
    summary.newMappingChanges += s.newMappingChanges;
    summary.skipped += s.skippedControlMessages + s.skippedOtherStreams + s.skippedUnrecognised;
    summary.duplicates += s.duplicates;
    summary.invalidUtf8 += s.invalidUtf8;
    summary.failedItems += s.failedItemIds.length;
    addCounts(summary.quarantined, s.quarantined);
    progress.tick(events, basename(file.path));
  }
  summary.files.push({ path: file.path, kind: file.kind, records: w.units });
};

export const renderReplaySummary = (s: ReplaySummary): string => {
  const q = Object.entries(s.quarantined).sort(([a], [b]) => (a < b ? -1 : 1));
  const qTotal = q.reduce((n, [, v]) => n + (v ?? 0), 0);
  return [
    `files: ${s.files.length} (${Object.entries(
      s.files.reduce<Record<string, number>>((acc, f) => {
        acc[f.kind] = (acc[f.kind] ?? 0) + 1;
        return acc;
      }, {}),
    )
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')})`,
    ...(s.firstEventAt !== undefined && s.lastEventAt !== undefined
      ? [`events from ${new Date(s.firstEventAt).toISOString()} to ${new Date(s.lastEventAt).toISOString()}`]
      : []),
    `records: ${s.logEvents} log events, ${s.cloudTrailRecords} CloudTrail records`,
    `requests: ${s.requestsStored} stored; authentication failures: ${s.authnFailureChains}`,
    `mapping changes: ${s.mappingChanges} (${s.newMappingChanges} new); credentials: ${s.credentials} new`,
    `skipped: ${s.skipped}; duplicates: ${s.duplicates}`,
    `quarantined: ${qTotal}${q.length ? ` (${q.map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`,
    ...(s.invalidUtf8 ? [`invalid UTF-8: ${s.invalidUtf8} records read with U+FFFD (flagged)`] : []),
    ...(s.alerts ? [alertsLine(s.alerts)] : []),
    ...(s.failedItems ? [`FAILED items (store faults): ${s.failedItems}`] : []),
  ].join('\n');
};

const alertsLine = (a: AlertTally): string => {
  const total = SEVERITIES.reduce((n, sev) => n + a.raised[sev], 0);
  const parts = SEVERITIES.filter((sev) => a.raised[sev] > 0).map((sev) => `${a.raised[sev]} ${sev}`);
  return `alerts: ${total} raised${parts.length ? ` (${parts.join(', ')})` : ''}${a.alreadyRecorded ? `; ${a.alreadyRecorded} already recorded` : ''} (eks-trail alerts lists them)`;
};
