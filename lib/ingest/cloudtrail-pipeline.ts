import { correlateAuditEvent } from '../chain/correlate.js';
import { credentialFromCloudTrail } from '../chain/evidence.js';
import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../chain/types.js';
import { changesFromCloudTrail } from '../identity/mapping-timeline.js';
import type { MappingChange } from '../identity/types.js';
import { type Issue, issue, rawText } from '../result.js';
import { parseCloudTrailRecord, parseEventBridgeEvent } from '../sources/cloudtrail.js';
import type { CloudTrailEvent } from '../sources/types.js';
import type { QuarantineSource, StoredAuditFacts, TrailStore } from '../store/trail-store.js';
import { classifyFault, describeError } from './faults.js';
import { writeQuarantine } from './log-pipeline.js';
import { notifyMappingChanges, storeMappingChanges } from './mapping-changes.js';
import { withRoleChains } from './role-chain-evidence.js';
import {
  type IngestOptions,
  type ItemOutcome,
  type PendingQuarantine,
  type QuarantineCounts,
  silentLogger,
} from './types.js';
import { writeWithFallback } from './write.js';

/** One redeliverable unit: an SQS message body, a direct EventBridge invocation, a record of a file. */
export interface CloudTrailBatchItem {
  itemId: string;
  source: QuarantineSource;
  /**
   * An EventBridge event (`detail` = the CloudTrail record), a raw CloudTrail record, an already
   * parsed CloudTrailEvent, or the JSON text of the first two (an SQS body).
   */
  body: unknown;
  /** Epoch ms the transport received it (SQS SentTimestamp): deterministic quarantine time. */
  receivedAt?: number;
}

export interface CloudTrailIngestSummary {
  items: number;
  /** CloudTrail events parsed. */
  events: number;
  mappingChanges: number;
  newMappingChanges: number;
  credentials: number;
  newCredentials: number;
  /** Stored chains re-correlated because the issuance of their access key arrived after them. */
  chainsReenriched: number;
  /** Calls that failed at AWS (errorCode set): they changed no state. */
  failedCalls: number;
  /** Well-formed events of APIs this product does not track (a broader rule than needed). */
  skippedUnsupported: number;
  duplicates: number;
  quarantined: QuarantineCounts;
  quarantineRejected: number;
  outcomes: ItemOutcome[];
  failedItemIds: string[];
}

const isParsedEvent = (v: unknown): v is CloudTrailEvent =>
  typeof v === 'object' &&
  v !== null &&
  'action' in v &&
  'actor' in v &&
  'eventId' in v &&
  typeof (v as { succeeded?: unknown }).succeeded === 'boolean';

type Parsed = { ok: true; event: CloudTrailEvent } | { ok: false; issues: Issue[]; raw: string };

/** Accepts every shape the transports and local mode hand over; never throws. */
export const parseCloudTrailItem = (body: unknown): Parsed => {
  let value = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = rawText(body);
    try {
      value = JSON.parse(text);
    } catch (err) {
      return {
        ok: false,
        issues: [issue('ENVELOPE_NOT_JSON', `message body is not JSON: ${(err as Error).message}`)],
        raw: text,
      };
    }
  }
  if (isParsedEvent(value)) return { ok: true, event: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      issues: [issue('ENVELOPE_SHAPE', 'expected an EventBridge event or a CloudTrail record')],
      raw: rawText(body),
    };
  }
  // EventBridge wraps the record in `detail`; a raw record (replay, a trail's S3 file) has eventID at the top.
  const res = 'detail' in value ? parseEventBridgeEvent(value) : parseCloudTrailRecord(value);
  return res.ok ? { ok: true, event: res.value } : { ok: false, issues: res.issues, raw: rawText(body) };
};

/**
 * CloudTrail side of ingestion (EventBridge -> SQS -> Lambda, or replayed files):
 *  - EKS access-management calls become versioned mapping changes (new ones go to the alert hook);
 *  - STS AssumeRole* calls become credential issuances; for a new one, chains already stored with
 *    that access key are correlated again, so the human behind a shared role appears even when the
 *    CloudTrail event arrived after the requests (it routinely does: CloudTrail lags minutes).
 * Late mapping changes need no write-time repair: the query layer re-derives the mapping link
 * (lib/ingest/recorrelate.ts).
 */
export const ingestCloudTrailEvents = async (
  items: readonly CloudTrailBatchItem[],
  store: TrailStore,
  opts: IngestOptions,
): Promise<CloudTrailIngestSummary> => {
  const log = opts.logger ?? silentLogger;
  const now = opts.now();
  const summary: CloudTrailIngestSummary = {
    items: items.length,
    events: 0,
    mappingChanges: 0,
    newMappingChanges: 0,
    credentials: 0,
    newCredentials: 0,
    chainsReenriched: 0,
    failedCalls: 0,
    skippedUnsupported: 0,
    duplicates: 0,
    quarantined: {},
    quarantineRejected: 0,
    outcomes: [],
    failedItemIds: [],
  };
  const seen = new Set<string>();

  for (const item of items) {
    const outcome: ItemOutcome = { itemId: item.itemId, failed: false };
    summary.outcomes.push(outcome);
    const failItem = (err: unknown) => {
      outcome.failed = true;
      outcome.error = err;
      summary.failedItemIds.push(item.itemId);
      log.warn('batch item failed; it will be redelivered', { itemId: item.itemId, error: describeError(err) });
    };

    const parsed = parseCloudTrailItem(item.body);
    if (!parsed.ok) {
      if (parsed.issues.some((i) => i.code === 'CLOUDTRAIL_UNSUPPORTED_EVENT')) {
        summary.skippedUnsupported++;
        continue;
      }
      const pending: PendingQuarantine = {
        source: item.source,
        sourceId: item.itemId,
        issues: parsed.issues,
        raw: parsed.raw,
        at: item.receivedAt ?? now,
      };
      const err = await writeQuarantine(store, [pending], summary, log);
      if (err !== undefined) failItem(err);
      continue;
    }
    const event = parsed.event;
    // EventBridge delivery is at least once (FORMATS §3.3): dedupe on the CloudTrail eventID.
    if (seen.has(event.eventId)) {
      summary.duplicates++;
      continue;
    }
    seen.add(event.eventId);
    summary.events++;
    if (!event.succeeded) {
      summary.failedCalls++;
      continue;
    }

    const err = await applyEvent(event, store, opts, summary);
    if (err !== undefined) failItem(err);
  }
  return summary;
};

/** Returns a fault that must fail the item, or undefined. */
const applyEvent = async (
  event: CloudTrailEvent,
  store: TrailStore,
  opts: IngestOptions,
  summary: CloudTrailIngestSummary,
): Promise<unknown> => {
  const log = opts.logger ?? silentLogger;
  let changes: MappingChange[] = [];
  try {
    changes = changesFromCloudTrail(event);
  } catch (err) {
    log.error('changesFromCloudTrail threw', { eventId: event.eventId, error: describeError(err) });
  }
  if (changes.length > 0) {
    const stored = await storeMappingChanges(store, changes);
    if (stored.error !== undefined) {
      if (classifyFault(stored.error) === 'retry') return stored.error;
      log.error('mapping changes refused by the store', { eventId: event.eventId, error: describeError(stored.error) });
      return undefined;
    }
    summary.mappingChanges += changes.length;
    summary.newMappingChanges += stored.fresh.length;
    if (opts.onNewMappingChanges) {
      const hookError = await notifyMappingChanges(store, changes, stored.fresh, opts.onNewMappingChanges);
      if (hookError !== undefined) return hookError;
    }
  }

  const credential = credentialFromCloudTrail(event);
  if (credential === undefined) return undefined;
  let fresh: CredentialIssuance[];
  try {
    fresh = await store.putCredentials([credential]);
  } catch (err) {
    if (classifyFault(err) === 'retry') return err;
    log.error('credential refused by the store', { eventId: event.eventId, error: describeError(err) });
    return undefined;
  }
  summary.credentials++;
  summary.newCredentials += fresh.length;
  // Re-enrich even when the issuance was not new: a previous delivery may have stored it and then
  // failed before the re-correlation, and re-correlating is idempotent (the store merges chains).
  return reenrich(credential.accessKeyId, store, summary, log);
};

const reenrich = async (
  accessKeyId: string,
  store: TrailStore,
  summary: CloudTrailIngestSummary,
  log: typeof silentLogger,
): Promise<unknown> => {
  let facts: StoredAuditFacts[];
  try {
    facts = await store.chainsUsingAccessKey(accessKeyId);
  } catch (err) {
    if (classifyFault(err) === 'retry') return err;
    log.error('chains by access key unreadable', { error: describeError(err) });
    return undefined;
  }
  if (facts.length === 0) return undefined;
  const byCluster = new Map<string, StoredAuditFacts[]>();
  for (const f of facts) {
    const k = `${f.origin.accountId ?? ''}\u0000${f.origin.cluster}`;
    byCluster.set(k, [...(byCluster.get(k) ?? []), f]);
  }
  for (const group of byCluster.values()) {
    const first = group[0]!;
    const keys = new Set<string>();
    for (const f of group) for (const k of f.event.user.extra['accessKeyId'] ?? []) if (k !== '') keys.add(k);
    let evidence: CorrelationEvidence;
    try {
      const sorted = [...keys].sort();
      evidence = await withRoleChains(
        await store.evidenceFor(first.origin.cluster, first.origin.accountId, sorted),
        sorted,
        store,
      );
    } catch (err) {
      if (classifyFault(err) === 'retry') return err;
      log.error('re-enrichment skipped: evidence unreadable', { error: describeError(err) });
      continue;
    }
    const writes: { chain: DecisionChain; facts: StoredAuditFacts }[] = [];
    for (const f of group) {
      try {
        writes.push({ chain: correlateAuditEvent(f.event, f.origin, evidence), facts: f });
      } catch (err) {
        // A correlator bug must not stall the queue; the stored chain stays as it was.
        log.error('re-correlation threw', { auditID: f.event.auditID, error: describeError(err) });
      }
    }
    const res = await writeWithFallback(writes, (batch) => store.putChains([...batch]));
    if (res.retryError !== undefined) return res.retryError;
    summary.chainsReenriched += res.written.length;
    for (const r of res.rejected)
      log.error('re-enriched chain refused', { chainId: r.item.chain.chainId, error: describeError(r.error) });
  }
  return undefined;
};
