import { correlateAuditEvent, correlateAuthnFailure } from '../chain/correlate.js';
import { inMemoryEvidence } from '../chain/evidence.js';
import type { CorrelationEvidence, DecisionChain } from '../chain/types.js';
import { changesFromAuditEvent } from '../identity/mapping-timeline.js';
import type { MappingChange } from '../identity/types.js';
import { issue, type ParseResult } from '../result.js';
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
  QuarantineRecord,
  QuarantineSource,
  StoredAuditFacts,
  StoredAuthenticatorRecord,
  TrailStore,
} from '../store/trail-store.js';
import { classifyFault, describeError } from './faults.js';
import { notifyMappingChanges, storeMappingChanges } from './mapping-changes.js';
import { withRoleChains } from './role-chain-evidence.js';
import {
  countCodes,
  type IngestLogger,
  type IngestOptions,
  type ItemOutcome,
  type PendingQuarantine,
  type QuarantineCounts,
  silentLogger,
  toQuarantineRecord,
} from './types.js';
import { writeWithFallback } from './write.js';

/** One unit the transport can redeliver on its own: a Kinesis record, an awslogs payload, a file chunk. */
export interface LogBatchItem {
  /** Kinesis sequence number, Lambda request id, `file:line`…: the id reported back on failure. */
  itemId: string;
  source: QuarantineSource;
  /** Decoded payload, or the decode failure (bad base64 / gzip / JSON) to quarantine. */
  payload: ParseResult<CloudWatchLogsPayload> | CloudWatchLogsPayload;
  /**
   * Epoch ms the transport received the item (Kinesis approximateArrivalTimestamp): used as the
   * quarantine time of an undecodable item, so a redelivery writes the same bytes.
   */
  receivedAt?: number;
}

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
  chainsWritten: number;
  authnFailureChains: number;
  authenticatorRecords: number;
  mappingChanges: number;
  newMappingChanges: number;
  /** Same auditID+stage or same CloudWatch event id seen twice in this batch. */
  duplicates: number;
  skippedControlMessages: number;
  /** Events of control-plane streams this product does not read (scheduler, kube-apiserver…). */
  skippedOtherStreams: number;
  /** Authenticator lines of no interest (watch notices, latency metrics). */
  skippedUnrecognised: number;
  quarantined: QuarantineCounts;
  /** Quarantine writes the store refused for good (logged; the raw text is then only in the logs). */
  quarantineRejected: number;
  /** Clusters whose evidence could not be read for good: chains stored as pending, re-derived at query time. */
  evidenceFallbacks: number;
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
  outcome: ItemOutcome;
  audits: AuditWork[];
  authn: AuthnWork[];
  quarantine: PendingQuarantine[];
  changes: MappingChange[];
}

const clusterKey = (cluster: string, accountId: string | undefined) => `${accountId ?? ''}\u0000${cluster}`;

const AUTHN_KINDS_KEPT = new Set<AuthenticatorLine['kind']>([
  'sts-response',
  'access-granted',
  'access-denied',
  'static-mapping',
  'mapper-started',
]);

const isPayload = (p: LogBatchItem['payload']): p is CloudWatchLogsPayload => !('ok' in p);

/**
 * Request and response bodies are evidence only for aws-auth and RBAC object changes (FORMATS §2.6);
 * everywhere else they are bulk that would push items towards the 400 KB limit.
 */
const factsEvent = (event: AuditEvent): AuditEvent => {
  const ref = event.objectRef;
  const keepBodies =
    ref !== undefined &&
    (ref.apiGroup === 'rbac.authorization.k8s.io' ||
      (ref.resource === 'configmaps' && ref.namespace === 'kube-system' && ref.name === 'aws-auth'));
  if (keepBodies || (event.requestObject === undefined && event.responseObject === undefined)) return event;
  const { requestObject: _req, responseObject: _res, ...rest } = event;
  return rest;
};

const auditOrigin = (o: LogEventOrigin): StoredAuditFacts['origin'] => ({
  cluster: o.cluster,
  accountId: o.accountId,
  eventId: o.eventId,
  timestamp: o.timestamp,
});

const auditFacts = (w: AuditWork): StoredAuditFacts => ({ origin: auditOrigin(w.origin), event: factsEvent(w.event) });

/** The Set of `map` under `key`, created on first use. */
const setIn = (map: Map<string, Set<string>>, key: string): Set<string> => {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
};

/** Stage 1, pure: decode, split by stream kind, parse each event on its own, dedupe. */
const parseItems = (items: readonly LogBatchItem[], summary: LogIngestSummary, now: number): ItemWork[] => {
  // Seen CloudWatch event ids per log group, and audit stage keys per cluster. A payload is one log
  // group of one cluster, so its sets are looked up once and each event adds only its own id.
  const seenEvents = new Map<string, Set<string>>();
  const seenStages = new Map<string, Set<string>>();
  return items.map((item): ItemWork => {
    const work: ItemWork = {
      item,
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
      work.quarantine.push({
        source: item.source,
        sourceId: item.itemId,
        issues: decoded.issues,
        raw: decoded.raw,
        at: item.receivedAt ?? now,
      });
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
      work.quarantine.push({
        source: item.source,
        sourceId: item.itemId,
        issues: origins.issues,
        raw: JSON.stringify(payload),
        at: payload.logEvents[0]?.timestamp ?? item.receivedAt ?? now,
        accountId: payload.owner,
      });
      summary.recordsIn += payload.logEvents.length;
      return work;
    }
    const first = origins.value[0];
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
      if (origin.streamKind === 'audit') {
        const parsed = parseAuditEvent(logEvent.message);
        if (!parsed.ok) {
          work.quarantine.push({
            source: 'cloudwatch-log-event',
            sourceId: logEvent.id,
            issues: parsed.issues,
            raw: logEvent.message,
            at: logEvent.timestamp,
            cluster: origin.cluster,
            accountId: origin.accountId,
          });
          return;
        }
        // The same request stage can come back under a new CloudWatch event id (re-sent by the
        // control plane); auditID+stage is the natural key (FORMATS §2.7).
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
        work.quarantine.push({
          source: 'cloudwatch-log-event',
          sourceId: logEvent.id,
          issues: parsed.issues,
          raw: logEvent.message,
          at: logEvent.timestamp,
          cluster: origin.cluster,
          accountId: origin.accountId,
        });
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

const internalIssue = (what: string, err: unknown) =>
  issue('INGEST_INTERNAL', `${what} failed: ${describeError(err).message}`);

/**
 * Ingests decoded CloudWatch Logs subscription payloads (authenticator and audit streams of EKS
 * clusters). Order of work, and why:
 *  1. parse every event on its own (a bad one is quarantined with its raw text, the rest go on);
 *  2. store mapping changes from aws-auth edits first, so that
 *  3. evidence, loaded once per cluster per batch, already contains them when
 *  4. requests are correlated and their chains written.
 * Never throws for bad input; transient store faults mark the containing item failed.
 */
export const ingestLogPayloads = async (
  items: readonly (LogBatchItem | CloudWatchLogsPayload)[],
  store: TrailStore,
  opts: LogIngestOptions,
): Promise<LogIngestSummary> => {
  const log = opts.logger ?? silentLogger;
  const now = opts.now();
  const summary: LogIngestSummary = {
    items: items.length,
    recordsIn: 0,
    auditEvents: 0,
    authenticatorLines: 0,
    chainsWritten: 0,
    authnFailureChains: 0,
    authenticatorRecords: 0,
    mappingChanges: 0,
    newMappingChanges: 0,
    duplicates: 0,
    skippedControlMessages: 0,
    skippedOtherStreams: 0,
    skippedUnrecognised: 0,
    quarantined: {},
    quarantineRejected: 0,
    evidenceFallbacks: 0,
    outcomes: [],
    failedItemIds: [],
  };
  const batch: LogBatchItem[] = items.map((it, i) =>
    'logEvents' in it ? { itemId: `payload-${i}`, source: 'cloudwatch-logs-subscription', payload: it } : it,
  );
  const works = parseItems(batch, summary, now);

  // Items at or after `stop` are not worked on: with Kinesis semantics they are redelivered anyway.
  let stop = works.length;
  const fail = (index: number, err: unknown) => {
    const w = works[index];
    if (!w || w.outcome.failed) return;
    w.outcome.failed = true;
    w.outcome.error = err;
    log.warn('batch item failed; it will be redelivered', { itemId: w.item.itemId, error: describeError(err) });
    if (opts.stopAtFirstFailure && index < stop) stop = index;
  };
  const active = (i: number) => i < stop && !works[i]!.outcome.failed;

  // 2. Mapping changes from aws-auth edits (and principal-id observations), before any evidence read.
  for (let i = 0; i < works.length; i++) {
    const w = works[i]!;
    for (const a of w.audits) {
      try {
        for (const c of changesFromAuditEvent(a.event, a.origin)) w.changes.push(c);
      } catch (err) {
        log.error('changesFromAuditEvent threw', { error: describeError(err), auditID: a.event.auditID });
      }
    }
  }
  for (let i = 0; i < works.length; i++) {
    if (!active(i)) continue;
    const w = works[i]!;
    if (w.changes.length === 0) continue;
    const stored = await storeMappingChanges(store, w.changes);
    if (stored.error !== undefined) {
      if (classifyFault(stored.error) === 'retry') fail(i, stored.error);
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
      if (hookError !== undefined) fail(i, hookError);
    }
  }

  // 3. Evidence once per cluster, with every access key the batch's requests used.
  const needs = new Map<string, { cluster: string; accountId?: string; keys: Set<string>; items: Set<number> }>();
  for (let i = 0; i < works.length; i++) {
    if (!active(i)) continue;
    for (const a of works[i]!.audits) {
      const k = a.clusterKey;
      let n = needs.get(k);
      if (!n) {
        n = { cluster: a.origin.cluster, accountId: a.origin.accountId, keys: new Set(), items: new Set() };
        needs.set(k, n);
      }
      n.items.add(i);
      for (const key of a.event.user.extra['accessKeyId'] ?? []) if (key !== '') n.keys.add(key);
    }
    for (const a of works[i]!.authn) {
      if (a.line.kind !== 'access-denied') continue;
      const k = a.clusterKey;
      let n = needs.get(k);
      if (!n) {
        n = { cluster: a.origin.cluster, accountId: a.origin.accountId, keys: new Set(), items: new Set() };
        needs.set(k, n);
      }
      n.items.add(i);
    }
  }
  const evidence = new Map<string, CorrelationEvidence>();
  for (const [k, n] of needs) {
    try {
      const keys = [...n.keys].sort();
      evidence.set(k, await withRoleChains(await store.evidenceFor(n.cluster, n.accountId, keys), keys, store));
    } catch (err) {
      if (classifyFault(err) === 'retry') {
        for (const i of n.items) fail(i, err);
      } else {
        // Facts are still worth storing: chains are written with unknown links and re-derived at query time.
        log.error('evidence unreadable; storing chains without it', { cluster: n.cluster, error: describeError(err) });
        summary.evidenceFallbacks++;
        evidence.set(k, inMemoryEvidence({ cluster: n.cluster, mappingChanges: [], credentials: [] }));
      }
    }
  }

  // 4. Correlate and write, item by item, so a fault is charged to the item that holds the record.
  for (let i = 0; i < works.length; i++) {
    if (!active(i)) continue;
    const w = works[i]!;
    const chainWrites: { write: { chain: DecisionChain; facts: StoredAuditFacts }; raw: string; sourceId: string }[] =
      [];
    for (const a of w.audits) {
      const ev = evidence.get(a.clusterKey);
      if (!ev) continue;
      try {
        const chain = correlateAuditEvent(a.event, auditOrigin(a.origin), ev);
        chainWrites.push({ write: { chain, facts: auditFacts(a) }, raw: a.raw, sourceId: a.origin.eventId });
      } catch (err) {
        w.quarantine.push({
          source: 'cloudwatch-log-event',
          sourceId: a.origin.eventId,
          issues: [internalIssue('correlateAuditEvent', err)],
          raw: a.raw,
          at: a.origin.timestamp,
          cluster: a.origin.cluster,
          accountId: a.origin.accountId,
        });
      }
    }
    const authnWrites: { write: { chain: DecisionChain; facts: StoredAuditFacts }; raw: string; sourceId: string }[] =
      [];
    const records: { write: StoredAuthenticatorRecord; raw: string; sourceId: string }[] = [];
    for (const a of w.authn) {
      records.push({ write: { origin: a.origin, line: a.line }, raw: a.raw, sourceId: a.origin.eventId });
      if (a.line.kind !== 'access-denied') continue;
      const ev = evidence.get(a.clusterKey);
      if (!ev) continue;
      try {
        const chain = correlateAuthnFailure(a.line as AccessDeniedLine, a.origin, ev);
        authnWrites.push({ write: { chain, facts: authnFacts(a) }, raw: a.raw, sourceId: a.origin.eventId });
      } catch (err) {
        w.quarantine.push({
          source: 'cloudwatch-log-event',
          sourceId: a.origin.eventId,
          issues: [internalIssue('correlateAuthnFailure', err)],
          raw: a.raw,
          at: a.origin.timestamp,
          cluster: a.origin.cluster,
          accountId: a.origin.accountId,
        });
      }
    }

    const rejectedToQuarantine = (
      rejected: { raw: string; sourceId: string; error: unknown; cluster?: string; accountId?: string; at: number }[],
    ) => {
      for (const r of rejected) {
        w.quarantine.push({
          source: 'cloudwatch-log-event',
          sourceId: r.sourceId,
          issues: [issue('STORE_REJECTED', `store refused the record: ${describeError(r.error).message}`)],
          raw: r.raw,
          at: r.at,
          ...(r.cluster !== undefined ? { cluster: r.cluster } : {}),
          ...(r.accountId !== undefined ? { accountId: r.accountId } : {}),
        });
      }
    };

    const chains = await writeWithFallback([...chainWrites, ...authnWrites], (batch) =>
      store.putChains(batch.map((b) => b.write)),
    );
    if (chains.retryError !== undefined) {
      fail(i, chains.retryError);
      continue;
    }
    summary.chainsWritten += chains.written.length;
    summary.authnFailureChains += chains.written.filter((c) => c.write.chain.kind === 'authn-failure').length;
    rejectedToQuarantine(
      chains.rejected.map((r) => ({
        raw: r.item.raw,
        sourceId: r.item.sourceId,
        error: r.error,
        cluster: r.item.write.chain.cluster,
        accountId: r.item.write.chain.accountId,
        at: r.item.write.facts.origin.timestamp ?? now,
      })),
    );

    const recs = await writeWithFallback(records, (batch) => store.putAuthenticatorRecords(batch.map((b) => b.write)));
    if (recs.retryError !== undefined) {
      fail(i, recs.retryError);
      continue;
    }
    summary.authenticatorRecords += recs.written.length;
    rejectedToQuarantine(
      recs.rejected.map((r) => ({
        raw: r.item.raw,
        sourceId: r.item.sourceId,
        error: r.error,
        cluster: r.item.write.origin.cluster,
        accountId: r.item.write.origin.accountId,
        at: r.item.write.origin.timestamp,
      })),
    );

    const q = await writeQuarantine(store, w.quarantine, summary, log);
    if (q !== undefined) fail(i, q);
  }

  // A failed item is redelivered whole: its quarantine entries are written on that delivery.
  for (let i = 0; i < works.length; i++) {
    const w = works[i]!;
    if (i >= stop && !w.outcome.failed) {
      w.outcome.failed = true;
      w.outcome.error = new Error('not processed: an earlier record of the shard batch failed');
    }
    summary.outcomes.push(w.outcome);
    if (w.outcome.failed) summary.failedItemIds.push(w.item.itemId);
  }
  if (summary.oldestEventAt !== undefined) summary.lagMs = Math.max(0, now - summary.oldestEventAt);
  return summary;
};

/**
 * The port stores chains with audit-shaped facts. An authenticator denial has no audit event, so its
 * chain carries a placeholder event marked by this stage; the denial line itself is stored with
 * putAuthenticatorRecords and is what lib/ingest/recorrelate.ts re-derives the chain from.
 */
export const AUTHN_FACTS_STAGE = 'authenticator-denial';

const authnFacts = (a: AuthnWork): StoredAuditFacts => ({
  origin: auditOrigin(a.origin),
  event: {
    auditID: `authn#${a.origin.eventId}`,
    stage: AUTHN_FACTS_STAGE,
    user: { groups: [], extra: {} },
    sourceIPs: [],
    annotations: {},
    truncated: false,
  },
});

/** Returns the fault when the quarantine write must be retried; counts codes otherwise. */
export const writeQuarantine = async (
  store: TrailStore,
  pending: readonly PendingQuarantine[],
  summary: { quarantined: QuarantineCounts; quarantineRejected: number },
  log: Pick<IngestLogger, 'error'>,
): Promise<unknown> => {
  if (pending.length === 0) return undefined;
  const records: QuarantineRecord[] = pending.map(toQuarantineRecord);
  const res = await writeWithFallback(records, (batch) => store.quarantine([...batch]));
  if (res.retryError !== undefined) return res.retryError;
  countCodes(summary.quarantined, res.written);
  for (const r of res.rejected) {
    summary.quarantineRejected++;
    // Last resort: the raw text goes to the function's log so it is not silently lost.
    log.error('quarantine write refused by the store', {
      source: r.item.source,
      sourceId: r.item.sourceId,
      code: r.item.code,
      raw: r.item.raw.slice(0, 8_192),
      error: describeError(r.error),
    });
  }
  return undefined;
};
