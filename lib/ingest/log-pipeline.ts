import { createHash } from 'node:crypto';
import { correlateAuditEvent, correlateAuthnFailure, generatedNameOf } from '../chain/correlate.js';
import { inMemoryEvidence } from '../chain/evidence.js';
import type { CorrelationEvidence, DecisionChain } from '../chain/types.js';
import { changesFromAuditEvent } from '../identity/mapping-timeline.js';
import type { MappingChange } from '../identity/types.js';
import { issue, type NonEmptyIssues, type ParseResult } from '../result.js';
import { clusterMetricKey, regionOfSubscriptionFilters } from '../runtime-env.js';
import { auditStageKey, parseAuditEvent } from '../sources/audit-event.js';
import { parseAuthenticatorLine } from '../sources/authenticator-line.js';
import { isControlMessage, logEventOrigins } from '../sources/cloudwatch-logs.js';
import type {
  AccessDeniedLine,
  AuditEvent,
  AuthenticatorLine,
  CloudWatchLogsPayload,
  LogEventOrigin,
} from '../sources/types.js';
import type {
  AuditRowWrite,
  AuthenticatorRowWrite,
  DeliveryUnit,
  IngestPort,
  QuarantineRecord,
  QuarantineSource,
  StoredAuditFacts,
} from '../store/trail-store.js';
import { type StructuredLogger, silentLogger } from '../structured-logger.js';
import { classifyFault, describeError } from './faults.js';
import { notifyMappingChanges, storeMappingChanges } from './mapping-change-stage.js';
import { writeQuarantine } from './quarantine-writer.js';
import { type IngestOptions, type ItemOutcome, type QuarantineCounts, quarantineEntry } from './types.js';

/**
 * The log side of ingestion: CloudWatch Logs subscription payloads of the EKS authenticator and audit
 * streams, from Kinesis, a direct subscription, or files replayed locally. The stages, in the order
 * `ingestLogPayloads` runs them, and why that order:
 *
 *   1. parse           every event on its own; a bad one is quarantined with its raw text
 *   2. mapping changes aws-auth edits and principal-id observations, stored (and alerted) first, so that
 *   3. evidence        read once per cluster, already contains them when
 *   4. correlate       builds each request's chain (what the store indexes it under)
 *   5. store           one putLogBatch for the delivery (docs/data-model.md, "Writes")
 *   6. stored hook     first-use alerts and mapping usage, over the chains just stored
 *   7. quarantine      the records refused along the way
 *
 * Never throws for bad input; a transient store fault fails the items that must come again.
 */

/** One unit the transport can redeliver on its own: a Kinesis record, an awslogs payload, a file chunk. */
export interface LogBatchItem {
  /** Kinesis sequence number, Lambda request id, `file:line`…: the id reported back on failure. */
  itemId: string;
  /** Stable identity of the unit for storage keys, unique across shards (Kinesis eventID); default itemId. */
  unitId?: string;
  source: QuarantineSource;
  /** Decoded payload, or the decode failure (bad base64 / gzip / JSON) to quarantine. */
  payload: ParseResult<CloudWatchLogsPayload> | CloudWatchLogsPayload;
  /**
   * Epoch ms the transport received the item (Kinesis approximateArrivalTimestamp): used as the
   * quarantine time of an undecodable item, so a redelivery writes the same bytes.
   */
  receivedAt?: number;
}

/**
 * Delivery units for payloads that no transport names (a replayed file, a backfilled page): a digest
 * of every payload of the batch (log stream and event ids), and the position in it. The store keys a
 * segment by the first unit that contributed to it (docs/data-model.md, "Writes"), so a unit id must
 * never stand for other content: replaying the same batch again rewrites the same items, and a batch
 * that differs in any event (another file with some of the same events, say) gets ids of its own and
 * overwrites nothing.
 */
export const batchUnitIds = (payloads: readonly CloudWatchLogsPayload[]): string[] => {
  const h = createHash('sha256');
  for (const p of payloads) {
    h.update(p.logGroup).update('\u0000').update(p.logStream);
    for (const e of p.logEvents) h.update('\u0001').update(e.id);
    h.update('\u0002');
  }
  const digest = h.digest('base64url').slice(0, 32);
  return payloads.map((_, i) => `batch:${digest}:${i}`);
};

export interface LogIngestOptions extends IngestOptions {
  /**
   * Kinesis checkpoint semantics: after the first failed record every later record of the shard batch
   * is redelivered anyway, so working on them is wasted (and would only add throttling pressure).
   */
  stopAtFirstFailure?: boolean;
}

export interface LogIngestSummary {
  items: number;
  /** CloudWatch log events in DATA_MESSAGE payloads. */
  recordsIn: number;
  auditEvents: number;
  authenticatorLines: number;
  /** Distinct requests (auditIDs) whose stages were stored. */
  requestsStored: number;
  /** Audit stages stored (a watch logs two stages of one request). */
  stagesStored: number;
  authnFailureChains: number;
  authenticatorRecords: number;
  /** Segments written (one cluster-minute of this delivery each). */
  segments: number;
  mappingChanges: number;
  newMappingChanges: number;
  /** Same auditID+stage or same CloudWatch event id seen twice in this batch. */
  duplicates: number;
  skippedControlMessages: number;
  /** Events of control-plane streams this product does not read (scheduler, kube-apiserver…). */
  skippedOtherStreams: number;
  /** Authenticator lines of no interest (watch notices, latency metrics). */
  skippedUnrecognised: number;
  /**
   * Records read from bytes that were not valid UTF-8 and showing U+FFFD (stored with
   * `origin.invalidUtf8`, or quarantined with an INPUT_INVALID_UTF8 issue).
   */
  invalidUtf8: number;
  quarantined: QuarantineCounts;
  /** Quarantine writes the store refused for good (logged; the raw text is then only in the logs). */
  quarantineRejected: number;
  /** Clusters whose evidence could not be read for good: requests stored, their links derived at query time. */
  evidenceFallbacks: number;
  /**
   * Log events received per cluster, keyed clusterMetricKey(owner, region, cluster), the region read
   * from the subscription filter name (`-` when none is ours): what the per-cluster silence alarms
   * watch. Every event of a cluster's payload counts, whatever becomes of it; control messages do not.
   */
  logEventsByCluster: Record<string, number>;
  oldestEventAt?: number;
  /** now - oldest event timestamp of the batch (CloudWatch ms clock). */
  lagMs?: number;
  outcomes: ItemOutcome[];
  failedItemIds: string[];
}

interface AuditWork {
  origin: LogEventOrigin;
  /** clusterKey of the origin, built once per payload: every later stage looks the cluster up by it. */
  clusterKey: string;
  event: AuditEvent;
  raw: string;
}

interface AuthnWork {
  origin: LogEventOrigin;
  clusterKey: string;
  line: AuthenticatorLine;
  raw: string;
}

interface ItemWork {
  item: LogBatchItem;
  unit: DeliveryUnit;
  outcome: ItemOutcome;
  audits: AuditWork[];
  authn: AuthnWork[];
  quarantine: QuarantineRecord[];
  changes: MappingChange[];
}

const clusterKey = (cluster: string, accountId: string | undefined) => `${accountId ?? ''}\u0000${cluster}`;

const AUTHN_KINDS_KEPT = new Set<AuthenticatorLine['kind']>([
  'sts-response',
  'access-granted',
  'access-denied',
  'static-mapping',
]);

const isPayload = (p: LogBatchItem['payload']): p is CloudWatchLogsPayload => !('ok' in p);

/**
 * Request and response bodies are evidence only for aws-auth and RBAC object changes (docs/formats.md,
 * "audit levels"); everywhere else they are bulk the trail does not need.
 */
const factsEvent = (event: AuditEvent): AuditEvent => {
  const ref = event.objectRef;
  const keepBodies =
    ref !== undefined &&
    (ref.apiGroup === 'rbac.authorization.k8s.io' ||
      (ref.resource === 'configmaps' && ref.namespace === 'kube-system' && ref.name === 'aws-auth'));
  if (keepBodies || (event.requestObject === undefined && event.responseObject === undefined)) return event;
  const { requestObject: _req, responseObject: _res, ...rest } = event;
  // A name the API server generated (generateName) is in the response body only: keep that one
  // field, so the request derived again from the facts still names its object (lib/chain/correlate.ts).
  const generated = generatedNameOf(event);
  return generated === undefined ? rest : { ...rest, responseObject: { metadata: { name: generated } } };
};

const auditOrigin = (o: LogEventOrigin): StoredAuditFacts['origin'] => {
  const origin: StoredAuditFacts['origin'] = {
    cluster: o.cluster,
    accountId: o.accountId,
    eventId: o.eventId,
    timestamp: o.timestamp,
  };
  if (o.invalidUtf8) origin.invalidUtf8 = true;
  return origin;
};

/** The Set of `map` under `key`, created on first use. */
const setIn = (map: Map<string, Set<string>>, key: string): Set<string> => {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
};

const INVALID_UTF8_ISSUE = issue(
  'INPUT_INVALID_UTF8',
  'the delivery was not valid UTF-8: this record shows U+FFFD where the invalid bytes were',
);

const eventQuarantine = (origin: LogEventOrigin, issues: NonEmptyIssues, raw: string): QuarantineRecord =>
  quarantineEntry(
    { source: 'cloudwatch-log-event', sourceId: origin.eventId, cluster: origin.cluster, accountId: origin.accountId },
    origin.invalidUtf8 ? [...issues, INVALID_UTF8_ISSUE] : issues,
    raw,
    origin.timestamp,
  );

const emptySummary = (items: number): LogIngestSummary => ({
  items,
  recordsIn: 0,
  auditEvents: 0,
  authenticatorLines: 0,
  requestsStored: 0,
  stagesStored: 0,
  authnFailureChains: 0,
  authenticatorRecords: 0,
  segments: 0,
  mappingChanges: 0,
  newMappingChanges: 0,
  duplicates: 0,
  skippedControlMessages: 0,
  skippedOtherStreams: 0,
  skippedUnrecognised: 0,
  invalidUtf8: 0,
  quarantined: {},
  quarantineRejected: 0,
  evidenceFallbacks: 0,
  logEventsByCluster: {},
  outcomes: [],
  failedItemIds: [],
});

// -------------------------------------------------------------------------------------------------
// Stage 1: parse
// -------------------------------------------------------------------------------------------------

/** Pure: decode, split by stream kind, parse each event on its own, dedupe within the delivery. */
export const parseStage = (items: readonly LogBatchItem[], summary: LogIngestSummary, now: number): ItemWork[] => {
  // Seen CloudWatch event ids per log group, and audit stage keys per cluster. A payload is one log
  // group of one cluster, so its sets are looked up once and each event adds only its own id.
  const seenEvents = new Map<string, Set<string>>();
  const seenStages = new Map<string, Set<string>>();
  return items.map((item, index): ItemWork => {
    const work: ItemWork = {
      item,
      unit: { id: item.unitId ?? item.itemId, index },
      outcome: { itemId: item.itemId, failed: false },
      audits: [],
      authn: [],
      quarantine: [],
      changes: [],
    };
    const decoded: ParseResult<CloudWatchLogsPayload> = isPayload(item.payload)
      ? { ok: true, value: item.payload }
      : item.payload;
    if (!decoded.ok) {
      work.quarantine.push(
        quarantineEntry(
          { source: item.source, sourceId: item.itemId },
          decoded.issues,
          decoded.raw,
          item.receivedAt ?? now,
        ),
      );
      return work;
    }
    const payload = decoded.value;
    if (isControlMessage(payload)) {
      summary.skippedControlMessages++;
      return work;
    }
    const origins = logEventOrigins(payload);
    if (!origins.ok) {
      // A payload from a log group that is not /aws/eks/<cluster>/cluster: a subscription filter
      // pointed at the wrong group. Keep it whole so an operator can see what was sent.
      work.quarantine.push(
        quarantineEntry(
          { source: item.source, sourceId: item.itemId, accountId: payload.owner },
          origins.issues,
          JSON.stringify(payload),
          payload.logEvents[0]?.timestamp ?? item.receivedAt ?? now,
        ),
      );
      summary.recordsIn += payload.logEvents.length;
      return work;
    }
    const first = origins.value[0];
    if (first) {
      const key = clusterMetricKey(
        first.accountId,
        regionOfSubscriptionFilters(payload.subscriptionFilters) ?? '-',
        first.cluster,
      );
      summary.logEventsByCluster[key] = (summary.logEventsByCluster[key] ?? 0) + payload.logEvents.length;
    }
    const payloadCluster = first ? clusterKey(first.cluster, first.accountId) : '';
    const eventIds = first ? setIn(seenEvents, first.logGroup) : new Set<string>();
    const stageKeys = setIn(seenStages, payloadCluster);
    payload.logEvents.forEach((logEvent, i) => {
      const origin = origins.value[i];
      summary.recordsIn++;
      if (summary.oldestEventAt === undefined || logEvent.timestamp < summary.oldestEventAt) {
        summary.oldestEventAt = logEvent.timestamp;
      }
      if (origin === undefined) return;
      if (eventIds.has(logEvent.id)) {
        summary.duplicates++;
        return;
      }
      eventIds.add(logEvent.id);
      if (origin.streamKind === 'other') {
        summary.skippedOtherStreams++;
        return;
      }
      if (origin.invalidUtf8) summary.invalidUtf8++;
      if (origin.streamKind === 'audit') {
        const parsed = parseAuditEvent(logEvent.message);
        if (!parsed.ok) {
          work.quarantine.push(eventQuarantine(origin, parsed.issues, logEvent.message));
          return;
        }
        // The same request stage can come back under a new CloudWatch event id (re-sent by the
        // control plane); auditID+stage is the natural key (docs/formats.md, "audit events").
        const stageKey = auditStageKey(parsed.value);
        if (stageKeys.has(stageKey)) {
          summary.duplicates++;
          return;
        }
        stageKeys.add(stageKey);
        summary.auditEvents++;
        work.audits.push({ origin, clusterKey: payloadCluster, event: parsed.value, raw: logEvent.message });
        return;
      }
      const parsed = parseAuthenticatorLine(logEvent.message);
      if (!parsed.ok) {
        work.quarantine.push(eventQuarantine(origin, parsed.issues, logEvent.message));
        return;
      }
      summary.authenticatorLines++;
      if (!AUTHN_KINDS_KEPT.has(parsed.value.kind)) {
        summary.skippedUnrecognised++;
        return;
      }
      work.authn.push({ origin, clusterKey: payloadCluster, line: parsed.value, raw: logEvent.message });
    });
    return work;
  });
};

// -------------------------------------------------------------------------------------------------
// The batch as the later stages see it
// -------------------------------------------------------------------------------------------------

class LogBatch {
  /** Items at or after `stop` are not worked on: with Kinesis semantics they are redelivered anyway. */
  private stop: number;

  constructor(
    readonly works: ItemWork[],
    private readonly log: StructuredLogger,
    private readonly stopAtFirstFailure: boolean,
  ) {
    this.stop = works.length;
  }

  fail(index: number, err: unknown): void {
    const w = this.works[index];
    if (!w || w.outcome.failed) return;
    w.outcome.failed = true;
    w.outcome.error = err;
    this.log.warn('batch item failed; it will be redelivered', { itemId: w.item.itemId, error: describeError(err) });
    if (this.stopAtFirstFailure && index < this.stop) this.stop = index;
  }

  active(i: number): boolean {
    return i < this.stop && !this.works[i]!.outcome.failed;
  }

  /** Indexes of the items still worked on. */
  activeIndexes(): number[] {
    return this.works.flatMap((_, i) => (this.active(i) ? [i] : []));
  }

  outcomes(summary: LogIngestSummary): void {
    this.works.forEach((w, i) => {
      if (i >= this.stop && !w.outcome.failed) {
        w.outcome.failed = true;
        w.outcome.error = new Error('not processed: an earlier record of the shard batch failed');
      }
      summary.outcomes.push(w.outcome);
      if (w.outcome.failed) summary.failedItemIds.push(w.item.itemId);
    });
  }
}

// -------------------------------------------------------------------------------------------------
// Stage 2: mapping changes
// -------------------------------------------------------------------------------------------------

/** aws-auth edits and principal-id observations, stored and handed to the alert hook before any evidence read. */
const mappingChangeStage = async (
  batch: LogBatch,
  store: IngestPort,
  opts: LogIngestOptions,
  summary: LogIngestSummary,
): Promise<void> => {
  const log = opts.logger ?? silentLogger;
  for (const w of batch.works) {
    for (const a of w.audits) {
      try {
        for (const c of changesFromAuditEvent(a.event, a.origin)) w.changes.push(c);
      } catch (err) {
        log.error('changesFromAuditEvent threw', { error: describeError(err), auditID: a.event.auditID });
      }
    }
  }
  for (const i of batch.activeIndexes()) {
    const w = batch.works[i]!;
    if (w.changes.length === 0) continue;
    const stored = await storeMappingChanges(store, w.changes);
    if (stored.error !== undefined) {
      if (classifyFault(stored.error) === 'retry') batch.fail(i, stored.error);
      else
        log.error('mapping changes rejected by the store', {
          itemId: w.item.itemId,
          error: describeError(stored.error),
        });
      continue;
    }
    summary.mappingChanges += w.changes.length;
    summary.newMappingChanges += stored.fresh.length;
    if (opts.onNewMappingChanges) {
      const hookError = await notifyMappingChanges(store, w.changes, stored.fresh, opts.onNewMappingChanges);
      if (hookError !== undefined) batch.fail(i, hookError);
    }
  }
};

// -------------------------------------------------------------------------------------------------
// Stage 3: evidence
// -------------------------------------------------------------------------------------------------

/** Evidence once per cluster, with every access key the batch's requests used. */
const evidenceStage = async (
  batch: LogBatch,
  store: IngestPort,
  log: StructuredLogger,
  summary: LogIngestSummary,
): Promise<Map<string, CorrelationEvidence>> => {
  const needs = new Map<string, { cluster: string; accountId?: string; keys: Set<string>; items: Set<number> }>();
  const need = (o: LogEventOrigin, k: string, i: number) => {
    let n = needs.get(k);
    if (!n) {
      n = { cluster: o.cluster, keys: new Set(), items: new Set() };
      if (o.accountId !== undefined) n.accountId = o.accountId;
      needs.set(k, n);
    }
    n.items.add(i);
    return n;
  };
  for (const i of batch.activeIndexes()) {
    for (const a of batch.works[i]!.audits) {
      const n = need(a.origin, a.clusterKey, i);
      for (const key of a.event.user.extra['accessKeyId'] ?? []) if (key !== '') n.keys.add(key);
    }
    for (const a of batch.works[i]!.authn) if (a.line.kind === 'access-denied') need(a.origin, a.clusterKey, i);
  }
  const evidence = new Map<string, CorrelationEvidence>();
  for (const [k, n] of needs) {
    try {
      const ref = n.accountId !== undefined ? { cluster: n.cluster, accountId: n.accountId } : n.cluster;
      evidence.set(k, await store.evidenceFor(ref, [...n.keys].sort()));
    } catch (err) {
      if (classifyFault(err) === 'retry') {
        for (const i of n.items) batch.fail(i, err);
      } else {
        // Facts are still worth storing: their links are derived again when a question is answered.
        log.error('evidence unreadable; storing requests without it', {
          cluster: n.cluster,
          error: describeError(err),
        });
        summary.evidenceFallbacks++;
        evidence.set(k, inMemoryEvidence({ cluster: n.cluster, mappingChanges: [], credentials: [] }));
      }
    }
  }
  return evidence;
};

// -------------------------------------------------------------------------------------------------
// Stage 4: correlate
// -------------------------------------------------------------------------------------------------

const internalIssue = (what: string, err: unknown): NonEmptyIssues => [
  issue('INGEST_INTERNAL', `${what} failed: ${describeError(err).message}`),
];

interface Correlated {
  audit: (AuditRowWrite & { raw: string; origin: LogEventOrigin })[];
  authenticator: (AuthenticatorRowWrite & { raw: string })[];
}

/** Each request's chain, which the store indexes it under; a correlator fault quarantines that one record. */
const correlateStage = (batch: LogBatch, evidence: ReadonlyMap<string, CorrelationEvidence>): Correlated => {
  const out: Correlated = { audit: [], authenticator: [] };
  for (const i of batch.activeIndexes()) {
    const w = batch.works[i]!;
    for (const a of w.audits) {
      const ev = evidence.get(a.clusterKey);
      if (!ev) continue;
      try {
        const facts: StoredAuditFacts = { origin: auditOrigin(a.origin), event: factsEvent(a.event) };
        const chain = correlateAuditEvent(a.event, facts.origin, ev);
        out.audit.push({ unit: w.unit, facts, chain, raw: a.raw, origin: a.origin });
      } catch (err) {
        w.quarantine.push(eventQuarantine(a.origin, internalIssue('correlateAuditEvent', err), a.raw));
      }
    }
    for (const a of w.authn) {
      const record = { origin: a.origin, line: a.line };
      if (a.line.kind !== 'access-denied') {
        out.authenticator.push({ unit: w.unit, record, raw: a.raw });
        continue;
      }
      const ev = evidence.get(a.clusterKey);
      if (!ev) continue;
      try {
        const chain = correlateAuthnFailure(a.line as AccessDeniedLine, a.origin, ev);
        out.authenticator.push({ unit: w.unit, record, chain, raw: a.raw });
      } catch (err) {
        w.quarantine.push(eventQuarantine(a.origin, internalIssue('correlateAuthnFailure', err), a.raw));
      }
    }
  }
  return out;
};

// -------------------------------------------------------------------------------------------------
// Stage 5: store
// -------------------------------------------------------------------------------------------------

/**
 * One putLogBatch for the rows of every item still active. The store keys segments by the first unit
 * that contributed (docs/data-model.md, "Writes"), so a transient fault fails every item written here:
 * the transport then redelivers them together and the same items are rewritten byte for byte. A write
 * refused for good falls back to one call per item, so the refusal is pinned on the item that holds it
 * and quarantined with its raw text.
 */
const storeStage = async (
  batch: LogBatch,
  rows: Correlated,
  store: IngestPort,
  summary: LogIngestSummary,
): Promise<{ chains: DecisionChain[]; written: number[] }> => {
  const active = new Set(batch.activeIndexes());
  const audit = rows.audit.filter((r) => active.has(r.unit.index));
  const authenticator = rows.authenticator.filter((r) => active.has(r.unit.index));
  // Only the items that hold rows are written (and failed with the write): an item of poison or
  // control messages alone keeps its outcome, and its quarantine entries are written now.
  const written = [...new Set([...audit, ...authenticator].map((r) => r.unit.index))].sort((a, b) => a - b);
  if (written.length === 0) return { chains: [], written };
  const stored: { audit: typeof audit; authenticator: typeof authenticator } = { audit: [], authenticator: [] };
  try {
    const res = await store.putLogBatch({ audit, authenticator });
    summary.segments += res.segments;
    stored.audit = audit;
    stored.authenticator = authenticator;
  } catch (err) {
    if (classifyFault(err) === 'retry') {
      for (const i of written) batch.fail(i, err);
      return { chains: [], written };
    }
    for (const i of written) {
      const mine = {
        audit: audit.filter((r) => r.unit.index === i),
        authenticator: authenticator.filter((r) => r.unit.index === i),
      };
      if (mine.audit.length + mine.authenticator.length === 0) continue;
      try {
        const res = await store.putLogBatch(mine);
        summary.segments += res.segments;
        stored.audit.push(...mine.audit);
        stored.authenticator.push(...mine.authenticator);
      } catch (itemErr) {
        if (classifyFault(itemErr) === 'retry') {
          batch.fail(i, itemErr);
          continue;
        }
        const issues: NonEmptyIssues = [
          issue('STORE_REJECTED', `store refused the record: ${describeError(itemErr).message}`),
        ];
        const w = batch.works[i]!;
        for (const r of mine.audit) w.quarantine.push(eventQuarantine(r.origin, issues, r.raw));
        for (const r of mine.authenticator) w.quarantine.push(eventQuarantine(r.record.origin, issues, r.raw));
      }
    }
  }
  const auditIds = new Set<string>();
  for (const r of stored.audit)
    auditIds.add(`${r.facts.origin.accountId ?? ''}\u0000${r.facts.origin.cluster}\u0000${r.facts.event.auditID}`);
  summary.requestsStored += auditIds.size;
  summary.stagesStored += stored.audit.length;
  summary.authenticatorRecords += stored.authenticator.length;
  summary.authnFailureChains += stored.authenticator.filter((r) => r.chain).length;
  const chains = [
    ...stored.audit.map((r) => r.chain),
    ...stored.authenticator.flatMap((r) => (r.chain ? [r.chain] : [])),
  ];
  return { chains, written };
};

// -------------------------------------------------------------------------------------------------
// Stage 6: after storing
// -------------------------------------------------------------------------------------------------

const storedHookStage = async (
  batch: LogBatch,
  chains: readonly DecisionChain[],
  written: readonly number[],
  opts: LogIngestOptions,
): Promise<void> => {
  if (!opts.onRequestsStored || chains.length === 0) return;
  try {
    await opts.onRequestsStored(chains);
  } catch (err) {
    for (const i of written) if (batch.active(i)) batch.fail(i, err);
  }
};

// -------------------------------------------------------------------------------------------------
// Stage 7: quarantine
// -------------------------------------------------------------------------------------------------

/** A failed item is redelivered whole: its quarantine entries are written on that delivery. */
const quarantineStage = async (
  batch: LogBatch,
  store: IngestPort,
  summary: LogIngestSummary,
  log: StructuredLogger,
): Promise<void> => {
  for (const i of batch.activeIndexes()) {
    const err = await writeQuarantine(store, batch.works[i]!.quarantine, summary, log);
    if (err !== undefined) batch.fail(i, err);
  }
};

// -------------------------------------------------------------------------------------------------
// The pipeline
// -------------------------------------------------------------------------------------------------

export const ingestLogPayloads = async (
  items: readonly (LogBatchItem | CloudWatchLogsPayload)[],
  store: IngestPort,
  opts: LogIngestOptions,
): Promise<LogIngestSummary> => {
  const log = opts.logger ?? silentLogger;
  const now = opts.now();
  const summary = emptySummary(items.length);
  // Bare payloads name no delivery unit: their unit ids come from their content (batchUnitIds), never
  // from their position alone, or two calls would key their segments alike and the second overwrite the first.
  const bareIds = batchUnitIds(items.filter((it): it is CloudWatchLogsPayload => 'logEvents' in it));
  let bare = 0;
  const units: LogBatchItem[] = items.map((it, i) =>
    'logEvents' in it
      ? { itemId: `payload-${i}`, unitId: bareIds[bare++], source: 'cloudwatch-logs-subscription', payload: it }
      : it,
  );
  const batch = new LogBatch(parseStage(units, summary, now), log, opts.stopAtFirstFailure ?? false);
  await mappingChangeStage(batch, store, opts, summary);
  const evidence = await evidenceStage(batch, store, log, summary);
  const rows = correlateStage(batch, evidence);
  const { chains, written } = await storeStage(batch, rows, store, summary);
  await storedHookStage(batch, chains, written, opts);
  await quarantineStage(batch, store, summary, log);
  batch.outcomes(summary);
  if (summary.oldestEventAt !== undefined) summary.lagMs = Math.max(0, now - summary.oldestEventAt);
  return summary;
};
