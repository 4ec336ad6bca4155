import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type AlertTally, type RecordedAlerts, tallyOf } from '../alerts/recorded-alerts.js';
import type { DecisionChain } from '../chain/types.js';
import { awsAuthRawData, parseAwsAuth } from '../identity/aws-auth.js';
import type { MappingChange } from '../identity/types.js';
import { type CloudTrailBatchItem, ingestCloudTrailEvents } from '../ingest/cloudtrail-pipeline.js';
import { batchUnitIds, ingestLogPayloads, type LogBatchItem } from '../ingest/log-pipeline.js';
import { notifyMappingChanges } from '../ingest/mapping-change-stage.js';
import { countCodes, type QuarantineCounts, quarantineEntry } from '../ingest/types.js';
import { type Issue, type IssueCode, issue, type NonEmptyIssues, rawText } from '../result.js';
import { clusterFromLogGroup, syntheticEventId } from '../sources/cloudwatch-logs.js';
import {
  detectExportShape,
  type ExportShape,
  isEksStreamName,
  isLogShape,
  logGroupHint,
  type ShapeDetection,
  streamOf,
} from '../sources/log-exports.js';
import { redactText } from '../sources/redact.js';
import type { CloudWatchLogEvent, CloudWatchLogsPayload } from '../sources/types.js';
import type { IngestPort, QuarantineRecord } from '../store/trail-store.js';
import { type ReplayItem, readExport } from './export-reader.js';
import { FileTextError, fileDigest, fileTextChunks, readHead, Utf8Check } from './file-text.js';
import { type Progress, silentProgress } from './progress.js';

/**
 * `replay`: feed local files through the same pipelines the Lambdas run. Each file's shape is
 * recognised from its content (lib/sources/log-exports.ts; never from its extension alone), and each
 * file is streamed record by record, so memory stays bounded whatever its size:
 *  - log exports (filter-log-events / get-log-events pages, Logs Insights results, export-to-S3 lines,
 *    plain audit or authenticator lines, subscription payloads and delivery events) -> log pipeline;
 *  - CloudTrail log files, lookup-events output, EventBridge / SQS events of records -> CloudTrail pipeline;
 *  - aws-auth ConfigMap YAML/JSON (`kubectl get cm aws-auth -o yaml`) -> a backfill `aws-auth-put`.
 * A file that cannot be used is refused with a stable code and what to do about it; the others land.
 * A record that cannot be used is quarantined with its index and raw text (redacted), keyed by the
 * file's content (fileRecordId); its file lands. A record nested too deep to read is one of those
 * (INPUT_TOO_DEEP). Bytes that are not valid UTF-8 are read as U+FFFD and flagged, never silently.
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

export interface ReplayOptions {
  /** Overrides the log group of every log export that does not name its own. */
  logGroup?: string;
  /** Workload account owning the clusters (payload `owner`, MappingChange accountId). */
  accountId?: string;
  /**
   * Account of a cluster known to the trail (e.g. DynamoDbTrailStore.resolveCluster), used when
   * `accountId` is not given: exports and aws-auth YAML never name their account, while CloudTrail
   * (replayed first) registers it. Without either, the store files the cluster under an unknown account.
   */
  accountFor?: (cluster: string) => Promise<string | undefined>;
  /** Cluster of aws-auth files and of plain audit events (else from the file name or path). */
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

/** A file that was not replayed (or not to its end), why, and how to fix it. */
export interface RefusedFile {
  path: string;
  code: IssueCode;
  message: string;
  /** Set when the records before a break in the file were read. */
  recordsRead?: number;
}

export interface ReplayedFile {
  path: string;
  shape: ExportShape;
  records: number;
  quarantined: number;
}

/** What a replay could not tie, counted over the requests as they were correlated at ingest. */
export interface Untied {
  /** Requests whose cluster has no known account. */
  noAccount: number;
  clustersWithoutAccount: string[];
  /** Requests made with temporary keys whose AssumeRole* issuance was not in what was replayed. */
  noIssuance: number;
  /** Up to 20 of those keys, for the message. */
  accessKeys: string[];
  accessKeyCount: number;
  /** Requests of IAM principals with no aws-auth / access-entry history to map them, by cluster. */
  noMappingHistory: Record<string, number>;
}

export interface ReplaySummary {
  files: ReplayedFile[];
  refused: RefusedFile[];
  /** Hidden files and folders in the directories given (names starting with '.'). */
  ignored: string[];
  logEvents: number;
  cloudTrailRecords: number;
  /** Distinct Kubernetes requests (auditIDs per cluster) stored. */
  requests: number;
  /** Requests stored per delivery, summed: a request whose stages came in two deliveries counts twice. */
  requestsStored: number;
  authnFailureChains: number;
  mappingChanges: number;
  newMappingChanges: number;
  credentials: number;
  skipped: {
    /** Events of control-plane streams this product does not read (kube-scheduler…). */
    otherStreams: number;
    /** Authenticator lines of no interest (watch notices, latency metrics). */
    uninterestingAuthenticatorLines: number;
    controlMessages: number;
    /** CloudTrail events of APIs the trail does not track, and calls that failed at AWS. */
    cloudTrailNotTracked: number;
  };
  /** Records seen twice: the same CloudWatch event id, audit stage or CloudTrail event. */
  duplicates: number;
  /**
   * Set when the replay was too big to count duplicates and distinct requests exactly (more than
   * 500,000 of either): they are then counted against the first 500,000 only.
   */
  countsBounded?: boolean;
  quarantined: QuarantineCounts;
  /** Time span of the quarantined records' `at` (epoch ms), to list them with `eks-trail quarantine`. */
  quarantinedFrom?: number;
  quarantinedTo?: number;
  /**
   * Log records read from bytes that were not valid UTF-8 and showing U+FFFD (stored with
   * `origin.invalidUtf8`, or quarantined); CloudTrail records showing it are quarantined
   * (INPUT_INVALID_UTF8, counted in `quarantined`).
   */
  invalidUtf8: number;
  /** Items the store failed transiently even after retries (local mode: should stay 0). */
  failedItems: number;
  /** Time span of the replayed events (epoch ms), from the events themselves. */
  firstEventAt?: number;
  lastEventAt?: number;
  untied: Untied;
  /** Alerts the replay recorded, by severity (present when the alert stage ran). */
  alerts?: AlertTally;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Quarantine identity of a record of a replayed file: the file's content digest (its identity
 * wherever it lies), the record's position in it and a digest of its redacted raw text. Two different
 * records never share a key, whatever their files are called; the same file replayed again keeps one
 * entry per record. The position comes last, after '#', where `eks-trail quarantine` reads it.
 */
export const fileRecordId = (fileDigest: string, position: number | string, raw: string): string =>
  `file:${fileDigest.slice(0, 24)}:${sha256(redactText(raw)).slice(0, 24)}#${position}`;

/** Expand directories (recursively, sorted for a deterministic order); hidden entries are listed as ignored. */
export const expandPaths = (paths: readonly string[]): { files: string[]; ignored: string[]; missing: string[] } => {
  const files: string[] = [];
  const ignored: string[] = [];
  const missing: string[] = [];
  const walk = (p: string, top: boolean): void => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      missing.push(p);
      return;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(p).sort();
      } catch {
        missing.push(p);
        return;
      }
      for (const name of names) {
        if (name.startsWith('.')) ignored.push(join(p, name));
        else walk(join(p, name), false);
      }
    } else if (top || st.isFile()) {
      files.push(p);
    }
  };
  for (const p of paths) walk(p, true);
  return { files, ignored, missing };
};

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

// -------------------------------------------------------------------------------------------------
// Planning: what each file is, and whether it can be replayed with the options given
// -------------------------------------------------------------------------------------------------

interface PlannedFile {
  path: string;
  detection: ShapeDetection;
  gzip: boolean;
  /** Log group of a log export whose records do not name one. */
  logGroup?: string;
  /** Stream of an export-to-S3 object: the folder it was written under (docs/formats.md §4.5). */
  fileStream?: string;
}

const rankOf = (s: ExportShape): number => (s === 'cloudtrail' ? 0 : s === 'aws-auth' ? 1 : 2);

// Printed in the summary: a message may quote the file (lib/sources/redact.ts).
const refusal = (path: string, first: Issue): RefusedFile => ({
  path,
  code: first.code,
  message: redactText(first.message),
});

const plan = async (path: string, opts: ReplayOptions): Promise<PlannedFile | RefusedFile> => {
  let head: Awaited<ReturnType<typeof readHead>>;
  try {
    head = await readHead(path);
  } catch (e) {
    if (e instanceof FileTextError) return refusal(path, e.issue);
    return refusal(path, issue('FILE_UNREADABLE', `cannot be read: ${(e as Error)?.message ?? String(e)}`));
  }
  const detected = detectExportShape({ text: head.text, complete: head.complete, name: basename(path) });
  if (!detected.ok) return refusal(path, detected.issues[0]);
  const detection = detected.value;
  const planned: PlannedFile = { path, detection, gzip: head.gzip };
  if (!isLogShape(detection.shape)) return planned;
  const folder = basename(dirname(resolve(path)));
  if (isEksStreamName(folder)) planned.fileStream = folder;
  const explicit = opts.logGroup ?? (opts.cluster ? `/aws/eks/${opts.cluster}/cluster` : undefined);
  const group = logGroupFor(path, explicit);
  if (group) planned.logGroup = group;
  else if (!detection.namesLogGroup) {
    const need = logGroupHint(detection.shape);
    return refusal(path, issue(need.code, `${detection.shape}: ${need.hint}`));
  }
  return planned;
};

// -------------------------------------------------------------------------------------------------
// Bookkeeping shared by the file readers
// -------------------------------------------------------------------------------------------------

/** 52-bit FNV-1a pair: a compact key for "seen before" counts, so that a set of them stays small. */
const hash52 = (s: string): number => {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
};

const MAX_KEYS_LISTED = 20;
/**
 * Entries of each "seen before" set (about 40 bytes each): past this, duplicates and distinct requests
 * are counted against the first ones only, so memory stays bounded whatever the replay's size.
 */
const MAX_SEEN = 500_000;
const MAX_KEYS_TRACKED = 100_000;
const QUARANTINE_BATCH = 100;

class ReplayState {
  readonly summary: ReplaySummary = {
    files: [],
    refused: [],
    ignored: [],
    logEvents: 0,
    cloudTrailRecords: 0,
    requests: 0,
    requestsStored: 0,
    authnFailureChains: 0,
    mappingChanges: 0,
    newMappingChanges: 0,
    credentials: 0,
    skipped: { otherStreams: 0, uninterestingAuthenticatorLines: 0, controlMessages: 0, cloudTrailNotTracked: 0 },
    duplicates: 0,
    quarantined: {},
    invalidUtf8: 0,
    failedItems: 0,
    untied: {
      noAccount: 0,
      clustersWithoutAccount: [],
      noIssuance: 0,
      accessKeys: [],
      accessKeyCount: 0,
      noMappingHistory: {},
    },
  };
  /** Requests already counted (hash of the chain id), so a request split over batches counts once. */
  private readonly requestsSeen = new Set<number>();
  /** CloudWatch event ids already replayed (hash), for the duplicates count across files and batches. */
  private readonly eventsSeen = new Set<number>();
  private readonly keysWithoutIssuance = new Set<string>();
  private readonly clustersWithoutAccount = new Set<string>();
  private pendingQuarantine: QuarantineRecord[] = [];

  constructor(
    private readonly store: IngestPort,
    private readonly opts: ReplayOptions,
  ) {}

  seeTime(t: number): void {
    const s = this.summary;
    if (s.firstEventAt === undefined || t < s.firstEventAt) s.firstEventAt = t;
    if (s.lastEventAt === undefined || t > s.lastEventAt) s.lastEventAt = t;
  }

  /** True the first time an event id is seen in this replay (the store's writes are idempotent anyway). */
  firstSight(logGroup: string, id: string): boolean {
    const h = hash52(`${logGroup}\u0000${id}`);
    if (this.eventsSeen.has(h)) return false;
    if (this.eventsSeen.size < MAX_SEEN) this.eventsSeen.add(h);
    else this.summary.countsBounded = true;
    return true;
  }

  /** Counts what the requests just stored could not be tied to (the chains as correlated at ingest). */
  readonly tally = async (chains: readonly DecisionChain[]): Promise<void> => {
    const u = this.summary.untied;
    for (const c of chains) {
      if (c.kind !== 'request') continue;
      const h = hash52(`${c.accountId ?? ''}\u0000${c.chainId}`);
      if (this.requestsSeen.has(h)) continue;
      if (this.requestsSeen.size < MAX_SEEN) this.requestsSeen.add(h);
      else this.summary.countsBounded = true;
      this.summary.requests++;
      if (!c.accountId) {
        u.noAccount++;
        this.clustersWithoutAccount.add(c.cluster);
      }
      const p = c.principal.value;
      if (
        c.human.status === 'unknown' &&
        p?.accessKeyId &&
        (p.type === 'assumed-role' || p.type === 'federated-user') &&
        !c.human.evidence.some((e) => e.startsWith('cloudtrail:'))
      ) {
        u.noIssuance++;
        if (this.keysWithoutIssuance.size < MAX_KEYS_TRACKED) this.keysWithoutIssuance.add(p.accessKeyId);
      }
      if (c.mapping.status === 'unknown' && p?.canonicalArn) {
        u.noMappingHistory[c.cluster] = (u.noMappingHistory[c.cluster] ?? 0) + 1;
      }
    }
  };

  finishUntied(): void {
    const u = this.summary.untied;
    u.clustersWithoutAccount = [...this.clustersWithoutAccount].sort();
    u.accessKeyCount = this.keysWithoutIssuance.size;
    u.accessKeys = [...this.keysWithoutIssuance].sort().slice(0, MAX_KEYS_LISTED);
  }

  async accountOf(cluster: string | undefined): Promise<string | undefined> {
    if (this.opts.accountId) return this.opts.accountId;
    if (!cluster || !this.opts.accountFor) return undefined;
    try {
      return await this.opts.accountFor(cluster);
    } catch {
      // ambiguous (several accounts): leave it to the store; the summary then says to pass --account
      return undefined;
    }
  }

  /**
   * A record refused by the file reader: quarantined with its index and raw text (both redacted by
   * quarantineEntry), keyed by its file's content. A record showing U+FFFD in a file whose bytes were
   * not valid UTF-8 says so too.
   */
  async refuse(
    file: FileRead,
    index: string,
    issues: NonEmptyIssues,
    raw: string,
    at: number | undefined,
    where: { cluster?: string; accountId?: string } = {},
  ): Promise<void> {
    const all: NonEmptyIssues =
      file.utf8.invalid && raw.includes('\uFFFD') && !issues.some((i) => i.code === 'INPUT_INVALID_UTF8')
        ? [...issues, issue('INPUT_INVALID_UTF8', INVALID_UTF8)]
        : issues;
    const rec = quarantineEntry(
      { source: 'replay-file', sourceId: fileRecordId(file.digest, index, raw), ...where },
      all,
      raw,
      at ?? this.opts.now(),
    );
    this.pendingQuarantine.push(rec);
    if (this.pendingQuarantine.length >= QUARANTINE_BATCH) await this.flushQuarantine();
  }

  async flushQuarantine(): Promise<void> {
    const batch = this.pendingQuarantine;
    this.pendingQuarantine = [];
    if (batch.length === 0) return;
    try {
      await this.store.quarantine(batch);
    } catch {
      this.summary.failedItems += batch.length;
      return;
    }
    countCodes(this.summary.quarantined, batch);
    for (const r of batch) this.seeQuarantineTime(r.at);
  }

  seeQuarantineTime(t: number): void {
    const s = this.summary;
    if (s.quarantinedFrom === undefined || t < s.quarantinedFrom) s.quarantinedFrom = t;
    if (s.quarantinedTo === undefined || t > s.quarantinedTo) s.quarantinedTo = t;
  }

  addCounts(from: QuarantineCounts, firstAt: number | undefined, lastAt: number | undefined): void {
    let any = false;
    for (const [k, v] of Object.entries(from)) {
      if (!v) continue;
      any = true;
      this.summary.quarantined[k as IssueCode] = (this.summary.quarantined[k as IssueCode] ?? 0) + v;
    }
    if (any && firstAt !== undefined) this.seeQuarantineTime(firstAt);
    if (any && lastAt !== undefined) this.seeQuarantineTime(lastAt);
  }
}

const INVALID_UTF8 = 'the file is not valid UTF-8: this record shows U+FFFD where the invalid bytes were';

/** What a file reader keeps of the file it reads: its content digest, and whether its bytes were UTF-8 so far. */
interface FileRead {
  digest: string;
  utf8: Utf8Check;
}

/** The digest of a file about to be read, or its refusal when it cannot be read. */
const startRead = async (file: PlannedFile, s: ReplaySummary): Promise<FileRead | undefined> => {
  try {
    return { digest: await fileDigest(file.path), utf8: new Utf8Check() };
  } catch (e) {
    const first =
      e instanceof FileTextError ? e.issue : issue('FILE_UNREADABLE', `${(e as Error)?.message ?? String(e)}`);
    s.refused.push(refusal(file.path, first));
    return undefined;
  }
};

const quarantinedIn = (c: QuarantineCounts): number => Object.values(c).reduce((n: number, v) => n + (v ?? 0), 0);

// -------------------------------------------------------------------------------------------------
// Log exports
// -------------------------------------------------------------------------------------------------

/**
 * Log events waiting to be ingested, grouped per log group and stream as subscription payloads are.
 * Flushed every `batchEvents` events, so that a file of any size holds at most one delivery's worth.
 */
class PayloadBuffer {
  private readonly streams = new Map<string, CloudWatchLogsPayload>();
  private readonly whole: CloudWatchLogsPayload[] = [];
  size = 0;

  /**
   * `invalidUtf8`: the file showed bytes that were not UTF-8 before this event was read; its payload
   * is then flagged, and the pipeline flags the events of it that show U+FFFD (logEventOrigins).
   */
  addEvent(logGroup: string, stream: string, owner: string, event: CloudWatchLogEvent, invalidUtf8: boolean): void {
    const key = `${logGroup}\n${stream}\n${owner}`;
    let p = this.streams.get(key);
    if (!p) {
      p = { messageType: 'DATA_MESSAGE', owner, logGroup, logStream: stream, subscriptionFilters: [], logEvents: [] };
      this.streams.set(key, p);
    }
    if (invalidUtf8) p.invalidUtf8 = true;
    p.logEvents.push(event);
    this.size++;
  }

  addPayload(p: CloudWatchLogsPayload): void {
    this.whole.push(p);
    this.size += Math.max(1, p.logEvents.length);
  }

  take(eventsPerPayload: number): CloudWatchLogsPayload[] {
    const out: CloudWatchLogsPayload[] = [];
    for (const p of [...this.whole, ...this.streams.values()]) {
      if (p.logEvents.length <= eventsPerPayload) out.push(p);
      else {
        for (let i = 0; i < p.logEvents.length; i += eventsPerPayload) {
          out.push({ ...p, logEvents: p.logEvents.slice(i, i + eventsPerPayload) });
        }
      }
    }
    this.streams.clear();
    this.whole.length = 0;
    this.size = 0;
    return out;
  }
}

const replayLogFile = async (
  file: PlannedFile,
  state: ReplayState,
  store: IngestPort,
  opts: ReplayOptions,
  progress: Progress,
): Promise<void> => {
  const s = state.summary;
  const started = await startRead(file, s);
  if (!started) return;
  const read: FileRead = started;
  const eventsPerPayload = opts.eventsPerPayload ?? 500;
  const payloadsPerBatch = opts.payloadsPerBatch ?? 20;
  const batchEvents = eventsPerPayload * payloadsPerBatch;
  const buffer = new PayloadBuffer();
  const name = basename(file.path);
  const record: ReplayedFile = { path: file.path, shape: file.detection.shape, records: 0, quarantined: 0 };
  let ordinal = 0;
  let batchNo = 0;
  // The summary's tally runs first, then the alert stage, on the chains of each delivery as stored.
  const alertHooks = opts.alerts?.hooks;
  const onRequestsStored = async (chains: readonly DecisionChain[]): Promise<void> => {
    await state.tally(chains);
    await alertHooks?.onRequestsStored(chains);
  };

  const flush = async (): Promise<void> => {
    const payloads = buffer.take(eventsPerPayload);
    // Exports carry no owner: fill it from the registry once CloudTrail has been replayed.
    for (const p of payloads) {
      if (p.owner) continue;
      const cluster = clusterFromLogGroup(p.logGroup);
      const account = await state.accountOf(cluster.ok ? cluster.value : undefined);
      if (account) p.owner = account;
    }
    for (let i = 0; i < payloads.length; i += payloadsPerBatch) {
      const batch = payloads.slice(i, i + payloadsPerBatch);
      const units = batchUnitIds(batch);
      const items: LogBatchItem[] = batch.map((payload, j) => ({
        // A payload is quarantined whole only when its log group is not an EKS one: keyed by the
        // file's content and the payload's place and content, as the file's own refusals are.
        itemId: fileRecordId(read.digest, `payload ${batchNo}.${j}`, units[j] as string),
        unitId: units[j] as string,
        source: 'replay-file',
        payload,
        receivedAt: payload.logEvents[0]?.timestamp ?? opts.now(),
      }));
      batchNo++;
      const r = await ingestLogPayloads(items, store, { now: opts.now, ...alertHooks, onRequestsStored });
      s.requestsStored += r.requestsStored;
      s.authnFailureChains += r.authnFailureChains;
      s.mappingChanges += r.mappingChanges;
      s.newMappingChanges += r.newMappingChanges;
      s.skipped.controlMessages += r.skippedControlMessages;
      s.skipped.otherStreams += r.skippedOtherStreams;
      s.skipped.uninterestingAuthenticatorLines += r.skippedUnrecognised;
      // Event ids seen twice never reach the pipeline (counted above, across batches and files); what
      // it counts are audit stages re-sent under a new event id.
      s.duplicates += r.duplicates;
      s.invalidUtf8 += r.invalidUtf8;
      s.failedItems += r.failedItemIds.length;
      const first = Math.min(...batch.map((p) => p.logEvents[0]?.timestamp ?? Number.POSITIVE_INFINITY));
      state.addCounts(r.quarantined, Number.isFinite(first) ? first : undefined, s.lastEventAt);
      record.quarantined += quarantinedIn(r.quarantined);
    }
  };

  const groupOf = (own: string | undefined): string | undefined => opts.logGroup ?? own ?? file.logGroup;
  const chunks = fileTextChunks(file.path, file.gzip, (n) => progress.tick(n, name), read.utf8);
  try {
    for await (const item of readExport(
      chunks,
      file.detection,
      file.fileStream ? { fileStream: file.fileStream } : {},
    )) {
      await handleItem(item);
      if (buffer.size >= batchEvents) await flush();
    }
  } catch (e) {
    const first =
      e instanceof FileTextError ? e.issue : issue('FILE_UNREADABLE', `${(e as Error)?.message ?? String(e)}`);
    s.refused.push({ ...refusal(file.path, first), recordsRead: record.records });
  }
  await flush();
  s.files.push(record);

  async function handleItem(item: ReplayItem): Promise<void> {
    switch (item.kind) {
      case 'log': {
        const rec = item.record;
        record.records++;
        const group = groupOf(rec.logGroup);
        if (!group) {
          const need = logGroupHint(file.detection.shape);
          await state.refuse(
            read,
            item.index,
            [issue('EXPORT_RECORD_SHAPE', `the record names no log group (@log): ${need.hint}`, item.index)],
            rec.message,
            rec.timestamp,
          );
          record.quarantined++;
          return;
        }
        const stream = streamOf(rec, file.fileStream);
        const id = rec.id ?? syntheticEventId(stream, rec.timestamp, ordinal, rec.message);
        ordinal++;
        s.logEvents++;
        state.seeTime(rec.timestamp);
        if (!state.firstSight(group, id)) {
          s.duplicates++;
          return;
        }
        buffer.addEvent(
          group,
          stream,
          opts.accountId ?? rec.owner ?? '',
          { id, timestamp: rec.timestamp, message: rec.message },
          read.utf8.invalid,
        );
        return;
      }
      case 'payload': {
        const p = item.payload;
        record.records += p.logEvents.length;
        s.logEvents += p.logEvents.length;
        const fresh = p.logEvents.filter((e) => {
          state.seeTime(e.timestamp);
          if (p.messageType !== 'DATA_MESSAGE' || state.firstSight(p.logGroup, e.id)) return true;
          s.duplicates++;
          return false;
        });
        const payload: CloudWatchLogsPayload = { ...p, logEvents: fresh };
        if (read.utf8.invalid) payload.invalidUtf8 = true;
        buffer.addPayload(payload);
        return;
      }
      case 'other-stream':
        record.records++;
        s.logEvents++;
        s.skipped.otherStreams++;
        return;
      case 'refused': {
        record.records++;
        record.quarantined++;
        const cluster = file.logGroup ? clusterFromLogGroup(file.logGroup) : undefined;
        await state.refuse(
          read,
          item.index,
          item.issues,
          item.raw,
          item.at,
          cluster?.ok ? { cluster: cluster.value } : {},
        );
        return;
      }
      case 'cloudtrail':
        // A CloudTrail record inside a log export (a mixed JSON-lines file): refused alone.
        record.records++;
        record.quarantined++;
        await state.refuse(
          read,
          item.index,
          [issue('EXPORT_RECORD_SHAPE', 'a CloudTrail record inside a log export', item.index)],
          item.text,
          item.at,
        );
        return;
      case 'broken':
        await state.refuse(read, item.index, item.issues, item.raw, undefined);
        record.quarantined++;
        s.refused.push({ ...refusal(file.path, item.issues[0]), recordsRead: record.records });
        return;
      default:
        return;
    }
  }
};

// -------------------------------------------------------------------------------------------------
// CloudTrail and aws-auth
// -------------------------------------------------------------------------------------------------

const replayCloudTrailFile = async (
  file: PlannedFile,
  state: ReplayState,
  store: IngestPort,
  opts: ReplayOptions,
  progress: Progress,
): Promise<void> => {
  const s = state.summary;
  const read = await startRead(file, s);
  if (!read) return;
  const recordsPerBatch = opts.recordsPerBatch ?? 200;
  const name = basename(file.path);
  const record: ReplayedFile = { path: file.path, shape: 'cloudtrail', records: 0, quarantined: 0 };
  let pending: CloudTrailBatchItem[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const items = pending;
    pending = [];
    const r = await ingestCloudTrailEvents(items, store, { now: opts.now, ...opts.alerts?.hooks });
    s.cloudTrailRecords += items.length;
    s.mappingChanges += r.mappingChanges;
    s.newMappingChanges += r.newMappingChanges;
    s.credentials += r.newCredentials;
    s.skipped.cloudTrailNotTracked += r.skippedUnsupported + r.failedCalls;
    s.duplicates += r.duplicates;
    s.failedItems += r.failedItemIds.length;
    const times = items.map((i) => i.receivedAt ?? 0);
    state.addCounts(r.quarantined, Math.min(...times), Math.max(...times));
    record.quarantined += quarantinedIn(r.quarantined);
  };
  const chunks = fileTextChunks(file.path, file.gzip, (n) => progress.tick(n, name), read.utf8);
  try {
    for await (const item of readExport(chunks, file.detection)) {
      if (item.kind === 'cloudtrail') {
        record.records++;
        const ct: CloudTrailBatchItem = {
          itemId: fileRecordId(read.digest, item.index, item.text),
          source: 'replay-file',
          body: item.body,
          receivedAt: item.at ?? opts.now(),
        };
        // The pipeline refuses a record of such a file that shows U+FFFD (INPUT_INVALID_UTF8).
        if (read.utf8.invalid) ct.invalidUtf8 = true;
        pending.push(ct);
        if (pending.length >= recordsPerBatch) await flush();
      } else if (item.kind === 'refused' || item.kind === 'broken') {
        record.records++;
        record.quarantined++;
        await state.refuse(read, item.index, item.issues, item.raw, item.kind === 'refused' ? item.at : undefined);
        if (item.kind === 'broken')
          s.refused.push({ ...refusal(file.path, item.issues[0]), recordsRead: record.records });
      } else if (item.kind === 'log' || item.kind === 'payload') {
        // A log record inside a CloudTrail file (a mixed JSON-lines file): refused alone.
        record.records++;
        record.quarantined++;
        await state.refuse(
          read,
          item.index,
          [issue('EXPORT_RECORD_SHAPE', 'a log record inside a CloudTrail file', item.index)],
          item.kind === 'log' ? item.record.message : rawText(item.payload),
          undefined,
        );
      }
    }
  } catch (e) {
    const first =
      e instanceof FileTextError ? e.issue : issue('FILE_UNREADABLE', `${(e as Error)?.message ?? String(e)}`);
    s.refused.push({ ...refusal(file.path, first), recordsRead: record.records });
  }
  await flush();
  s.files.push(record);
};

/** aws-auth ConfigMaps are small (1 MiB is the ConfigMap limit): read whole. */
const AWS_AUTH_MAX_CHARS = 4 * 1024 * 1024;

const replayAwsAuthFile = async (
  file: PlannedFile,
  state: ReplayState,
  store: IngestPort,
  opts: ReplayOptions,
  progress: Progress,
): Promise<void> => {
  const s = state.summary;
  const cluster = clusterForAwsAuth(file.path, opts.cluster);
  if (!cluster) {
    s.refused.push(
      refusal(
        file.path,
        issue(
          'FILE_NEEDS_CLUSTER',
          'aws-auth: which cluster is it for? pass --cluster <name>, or name the file <cluster>.yaml',
        ),
      ),
    );
    return;
  }
  const parts: string[] = [];
  let length = 0;
  const utf8 = new Utf8Check();
  try {
    for await (const t of fileTextChunks(file.path, file.gzip, (n) => progress.tick(n, basename(file.path)), utf8)) {
      parts.push(t);
      length += t.length;
      if (length > AWS_AUTH_MAX_CHARS) break;
    }
  } catch (e) {
    if (e instanceof FileTextError) {
      s.refused.push(refusal(file.path, e.issue));
      return;
    }
    throw e;
  }
  const text = parts.join('');
  const parsed = parseAwsAuth(text);
  if (!parsed.ok) {
    s.refused.push(refusal(file.path, parsed.issues[0]));
    return;
  }
  // A mapping read with U+FFFD for bytes that were not UTF-8 would map principals that were never
  // written: refused, as CloudTrail records are (lib/ingest/cloudtrail-pipeline.ts).
  if (utf8.invalid && rawText(parsed.value).includes('\uFFFD')) {
    s.refused.push(
      refusal(
        file.path,
        issue(
          'INPUT_INVALID_UTF8',
          'aws-auth: the file is not valid UTF-8, and its mappings show U+FFFD where it is not',
        ),
      ),
    );
    return;
  }
  const at = opts.at ?? creationTimestampOf(text) ?? statSync(file.path).mtime.toISOString();
  const change = awsAuthSnapshotChange(text, cluster, at, await state.accountOf(cluster), file.path);
  const fresh = await store.putMappingChanges([change]);
  const hook = opts.alerts?.hooks.onNewMappingChanges;
  if (hook && (await notifyMappingChanges(store, [change], fresh, hook)) !== undefined) s.failedItems += 1;
  s.mappingChanges += 1;
  s.newMappingChanges += fresh.length;
  s.files.push({ path: file.path, shape: 'aws-auth', records: 1, quarantined: 0 });
};

// -------------------------------------------------------------------------------------------------
// The replay
// -------------------------------------------------------------------------------------------------

export const replayFiles = async (
  paths: readonly string[],
  store: IngestPort,
  opts: ReplayOptions,
): Promise<ReplaySummary> => {
  const progress = opts.progress ?? silentProgress;
  const { files, ignored, missing } = expandPaths(paths);
  if (files.length === 0 && missing.length === 0) throw new ReplayError('no files to replay');
  const state = new ReplayState(store, opts);
  const s = state.summary;
  s.ignored = ignored;
  for (const m of missing) s.refused.push(refusal(m, issue('FILE_UNREADABLE', 'no such file or directory')));
  const planned: PlannedFile[] = [];
  for (const f of files) {
    const p = await plan(f, opts);
    if ('detection' in p) planned.push(p);
    else s.refused.push(p);
  }
  // CloudTrail first (it registers each cluster's account, and the issuances that name the humans),
  // then aws-auth snapshots, then requests: chains then resolve at write time. The answers would be
  // the same in any order (query-time re-derivation); only the summary's "could not tie" counts differ.
  planned.sort((a, b) => rankOf(a.detection.shape) - rankOf(b.detection.shape));
  let bytes = 0;
  for (const f of planned) {
    try {
      bytes += statSync(f.path).size;
    } catch {
      // vanished since planning: its read reports it
    }
  }
  progress.addTotal(bytes);
  for (const f of planned) {
    if (f.detection.shape === 'cloudtrail') await replayCloudTrailFile(f, state, store, opts, progress);
    else if (f.detection.shape === 'aws-auth') await replayAwsAuthFile(f, state, store, opts, progress);
    else await replayLogFile(f, state, store, opts, progress);
    await state.flushQuarantine();
  }
  await state.flushQuarantine();
  state.finishUntied();
  progress.done(`${s.files.length} files`);
  if (opts.alerts) s.alerts = tallyOf(opts.alerts);
  return s;
};

/** Whether anything was refused: a file, part of a file, or a record (the CLI's exit code 4). */
export const anythingRefused = (s: ReplaySummary): boolean => s.refused.length > 0 || quarantinedIn(s.quarantined) > 0;
