import { isUtf8 } from 'node:buffer';
import { credentialFromCloudTrail } from '../chain/evidence.js';
import { MAX_CHAIN_DEPTH } from '../chain/human.js';
import { accessKeysOf, rederive } from '../chain/rederive.js';
import type { CredentialIssuance } from '../chain/types.js';
import { changesFromCloudTrail } from '../identity/mapping-timeline.js';
import type { MappingChange } from '../identity/types.js';
import { issue, type NonEmptyIssues, rawText } from '../result.js';
import { parseCloudTrailRecord, parseEventBridgeEvent } from '../sources/cloudtrail.js';
import { jsonFailureCode, tryParseJson } from '../sources/json-stream.js';
import { redactText, redactValue } from '../sources/redact.js';
import type { CloudTrailEvent } from '../sources/types.js';
import type { IngestPort, LateLinkWrite, QuarantineSource, StoredRequest } from '../store/trail-store.js';
import { silentLogger } from '../structured-logger.js';
import { classifyFault, describeError } from './faults.js';
import { notifyMappingChanges, storeMappingChanges } from './mapping-change-stage.js';
import { writeQuarantine } from './quarantine-writer.js';
import { type IngestOptions, type ItemOutcome, type QuarantineCounts, quarantineEntry } from './types.js';

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
  /** The body was read from bytes that were not valid UTF-8 (a replayed file): see parseCloudTrailItem. */
  invalidUtf8?: boolean;
}

export interface CloudTrailIngestSummary {
  items: number;
  /** CloudTrail events parsed. */
  events: number;
  mappingChanges: number;
  newMappingChanges: number;
  credentials: number;
  newCredentials: number;
  /** Stored requests whose human was derived again because the issuance of their access key arrived after them. */
  requestsReenriched: number;
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

type Parsed = { ok: true; event: CloudTrailEvent } | { ok: false; issues: NonEmptyIssues; raw: string };

/**
 * Accepts every shape the transports and local mode hand over; never throws. Secrets are redacted
 * by the parsers (lib/sources/redact.ts); an event handed over already parsed is redacted here.
 * A record read from bytes that were not valid UTF-8 (`invalidUtf8`, or a body given as such bytes)
 * and showing U+FFFD is refused with INPUT_INVALID_UTF8: it would change identity state with text
 * that is not what CloudTrail wrote.
 */
export const parseCloudTrailItem = (body: unknown, opts: { invalidUtf8?: boolean } = {}): Parsed => {
  let value = body;
  let invalidUtf8 = opts.invalidUtf8 === true;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    if (body instanceof Uint8Array && !isUtf8(body)) invalidUtf8 = true;
    const text = rawText(body);
    const j = tryParseJson(text);
    if (!j.ok) {
      return {
        ok: false,
        issues: [issue(jsonFailureCode(j, 'ENVELOPE_NOT_JSON'), `message body is not JSON: ${j.error}`)],
        raw: redactText(text),
      };
    }
    value = j.value;
  }
  if (isParsedEvent(value)) return checkUtf8({ ok: true, event: redactValue(value) }, invalidUtf8);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      issues: [issue('ENVELOPE_SHAPE', 'expected an EventBridge event or a CloudTrail record')],
      raw: redactText(rawText(body)),
    };
  }
  // EventBridge wraps the record in `detail`; a raw record (replay, a trail's S3 file) has eventID at the top.
  const res = 'detail' in value ? parseEventBridgeEvent(value) : parseCloudTrailRecord(value);
  return checkUtf8(
    res.ok ? { ok: true, event: res.value } : { ok: false, issues: res.issues, raw: res.raw },
    invalidUtf8,
  );
};

const checkUtf8 = (parsed: Parsed, invalidUtf8: boolean): Parsed => {
  if (!parsed.ok || !invalidUtf8) return parsed;
  const text = rawText(parsed.event);
  if (!text.includes('\uFFFD')) return parsed;
  return {
    ok: false,
    issues: [
      issue('INPUT_INVALID_UTF8', 'the record was read from bytes that are not valid UTF-8 (U+FFFD in its text)'),
    ],
    raw: text,
  };
};

/**
 * CloudTrail side of ingestion (EventBridge -> SQS -> Lambda, or replayed files):
 *  - EKS access-management calls become versioned mapping changes (new ones go to the alert hook);
 *  - STS AssumeRole* calls become credential issuances; for a new one, chains already stored with
 *    that access key are correlated again, so the human behind a shared role appears even when the
 *    CloudTrail event arrived after the requests (it routinely does: CloudTrail lags minutes).
 * Late mapping changes need no write-time repair: the questions derive the mapping link again from the
 * stored facts (lib/chain/rederive.ts).
 */
export const ingestCloudTrailEvents = async (
  items: readonly CloudTrailBatchItem[],
  store: IngestPort,
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
    requestsReenriched: 0,
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

    const parsed = parseCloudTrailItem(item.body, item.invalidUtf8 ? { invalidUtf8: true } : {});
    if (!parsed.ok) {
      if (parsed.issues.some((i) => i.code === 'CLOUDTRAIL_UNSUPPORTED_EVENT')) {
        summary.skippedUnsupported++;
        continue;
      }
      const entry = quarantineEntry(
        { source: item.source, sourceId: item.itemId },
        parsed.issues,
        parsed.raw,
        item.receivedAt ?? now,
      );
      const err = await writeQuarantine(store, [entry], summary, log);
      if (err !== undefined) failItem(err);
      continue;
    }
    const event = parsed.event;
    // EventBridge delivery is at least once (docs/formats.md §3.3): dedupe on the CloudTrail eventID.
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

    const applied = await applyEvent(event, store, opts, summary);
    if (applied.retry !== undefined) {
      failItem(applied.retry);
      continue;
    }
    if (applied.refused !== undefined) {
      // A record the store will never accept is kept whole, as the log path keeps its refusals: an
      // acknowledged event would otherwise be gone from the queue with nothing stored (docs/design.md,
      // principle 3). The quarantine write itself may still be retried.
      const refused = applied.refused;
      const at = Date.parse(event.eventTime);
      const entry = quarantineEntry(
        { source: item.source, sourceId: item.itemId, cluster: refused.cluster, accountId: refused.accountId },
        [issue('STORE_REJECTED', `store refused the ${refused.what}: ${describeError(refused.error).message}`)],
        rawText(item.body),
        item.receivedAt ?? (Number.isFinite(at) ? at : now),
      );
      log.error('event refused by the store; quarantined', {
        itemId: item.itemId,
        eventId: event.eventId,
        error: describeError(refused.error),
      });
      const err = await writeQuarantine(store, [entry], summary, log);
      if (err !== undefined) failItem(err);
    }
  }
  return summary;
};

/** A write the store refused for good: what it was, and where it belonged. */
interface Refusal {
  what: 'mapping changes' | 'credential issuance';
  error: unknown;
  cluster?: string | undefined;
  accountId?: string | undefined;
}

/** What became of one event: a fault to redeliver it for, a refusal to quarantine it for, or neither. */
type Applied = { retry?: unknown; refused?: Refusal };

const applyEvent = async (
  event: CloudTrailEvent,
  store: IngestPort,
  opts: IngestOptions,
  summary: CloudTrailIngestSummary,
): Promise<Applied> => {
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
      if (classifyFault(stored.error) === 'retry') return { retry: stored.error };
      const first = changes[0] as MappingChange;
      return {
        refused: { what: 'mapping changes', error: stored.error, cluster: first.cluster, accountId: first.accountId },
      };
    }
    summary.mappingChanges += changes.length;
    summary.newMappingChanges += stored.fresh.length;
    if (opts.onNewMappingChanges) {
      const hookError = await notifyMappingChanges(store, changes, stored.fresh, opts.onNewMappingChanges);
      if (hookError !== undefined) return { retry: hookError };
    }
  }

  const credential = credentialFromCloudTrail(event);
  if (credential === undefined) return {};
  let fresh: CredentialIssuance[];
  try {
    fresh = await store.putCredentials([credential]);
  } catch (err) {
    if (classifyFault(err) === 'retry') return { retry: err };
    return { refused: { what: 'credential issuance', error: err, accountId: event.recipientAccountId } };
  }
  summary.credentials++;
  summary.newCredentials += fresh.length;
  // Re-enrich even when the issuance was not new: a previous delivery may have stored it and then
  // failed before the re-derivation, and writing the late links again is idempotent. A refusal there
  // loses nothing: the issuance is stored, and questions derive the human from it again.
  const retry = await reenrich(credential, store, summary, log, 0);
  return retry === undefined ? {} : { retry };
};

/**
 * An issuance to an AWS service (an EC2 instance profile, say) has no person behind it to index. A
 * pod's session is issued by a service too (EKS Pod Identity), but it names the workload, which the
 * requests made with it are indexed by.
 */
const issuedToService = (c: CredentialIssuance): boolean =>
  c.workload === undefined && (c.caller.type === 'AWSService' || c.caller.invokedBy !== undefined);

/** Hours a temporary key may be used after its issuance (STS caps sessions at 12 h), plus clock slack. */
const KEY_LIFETIME_MS = 12 * 3_600_000 + 15 * 60_000;

/**
 * The human of requests made with this key before its issuance arrived: derive them again and index
 * the human (putLateLinks). Role chaining: keys issued to sessions of this key get their human from
 * it, so their requests are derived again too.
 */
const reenrich = async (
  credential: CredentialIssuance,
  store: IngestPort,
  summary: CloudTrailIngestSummary,
  log: typeof silentLogger,
  depth: number,
): Promise<unknown> => {
  if (issuedToService(credential)) return undefined;
  const issued = Date.parse(credential.issuedAt);
  const range = Number.isFinite(issued)
    ? {
        from: new Date(issued - 15 * 60_000).toISOString(),
        to: new Date(
          (credential.expiresAt ? Date.parse(credential.expiresAt) : Number.NaN) || issued + KEY_LIFETIME_MS,
        ).toISOString(),
      }
    : {};
  let requests: StoredRequest[];
  try {
    requests = [];
    let cursor: string | undefined;
    do {
      const page = await store.requestsByAccessKey(credential.accessKeyId, range, {
        limit: 1_000,
        order: 'oldest-first',
        ...(cursor ? { cursor } : {}),
      });
      requests.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
  } catch (err) {
    if (classifyFault(err) === 'retry') return err;
    log.error('requests by access key unreadable', { error: describeError(err) });
    return undefined;
  }
  const byCluster = new Map<string, StoredRequest[]>();
  for (const r of requests) {
    const k = `${r.ref.accountId}\u0000${r.ref.cluster}`;
    byCluster.set(k, [...(byCluster.get(k) ?? []), r]);
  }
  for (const group of byCluster.values()) {
    const ref = group[0]!.ref;
    let links: LateLinkWrite[];
    try {
      const evidence = await store.evidenceFor(ref, accessKeysOf(group));
      links = group.flatMap((r) => {
        if (r.handle === undefined) return [];
        try {
          return [{ handle: r.handle, chain: rederive(r, evidence) }];
        } catch (err) {
          // A correlator bug must not stall the queue; the request is derived again when asked about.
          log.error('re-derivation threw', { error: describeError(err) });
          return [];
        }
      });
    } catch (err) {
      if (classifyFault(err) === 'retry') return err;
      log.error('re-enrichment skipped: evidence unreadable', { error: describeError(err) });
      continue;
    }
    try {
      await store.putLateLinks(links);
      summary.requestsReenriched += links.length;
    } catch (err) {
      if (classifyFault(err) === 'retry') return err;
      log.error('late links refused by the store', { error: describeError(err) });
    }
  }
  if (depth + 1 >= MAX_CHAIN_DEPTH) return undefined;
  let children: CredentialIssuance[];
  try {
    children = await store.credentialsIssuedTo(credential.accessKeyId);
  } catch (err) {
    if (classifyFault(err) === 'retry') return err;
    log.error('issuances by caller unreadable', { error: describeError(err) });
    return undefined;
  }
  for (const child of children) {
    const err = await reenrich(child, store, summary, log, depth + 1);
    if (err !== undefined) return err;
  }
  return undefined;
};
