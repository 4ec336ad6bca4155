import type { Alert } from '../../../lib/alerts/types.js';
import { canonicalJson } from '../../../lib/canonical-json.js';
import { inMemoryEvidence } from '../../../lib/chain/evidence.js';
import { withRoleChains } from '../../../lib/chain/role-chain-evidence.js';
import { STAGE_RANK } from '../../../lib/chain/stage-merge.js';
import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../../../lib/chain/types.js';
import { mappingOpTarget } from '../../../lib/identity/mapping-op-target.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { isNotable, type RowIndex, rowIndexOf } from '../../../lib/store/dynamodb/row-index.js';
import { cellOf, clusterRefKey, sortableFromEpochMs, sortableTime, UNKNOWN_ACCOUNT } from '../../../lib/store/keys.js';
import {
  type AlertLedgerEntry,
  type ClusterRef,
  type LateLinkWrite,
  type LogBatchWrite,
  type LogBatchWriteResult,
  type MappingUsage,
  type PageRequest,
  type QuarantineRecord,
  type RecordUseResult,
  type ResourceSelector,
  type StoredAuditFacts,
  type StoredAuthenticatorRecord,
  type StoredRequest,
  type StorePage,
  type TimeRange,
  type TrailStore,
  TrailStoreError,
} from '../../../lib/store/trail-store.js';

/**
 * An in-memory TrailStore for the pipelines' pure unit tests (property tests run thousands of
 * batches; the storage layout itself is tested against real engines under test/integration). It keeps
 * the port's contract, not the table layout:
 *  - rows are the audit stages, authenticator denials and authenticator lines of putLogBatch, stored
 *    as their JSON (what comes back is what a real store would parse), one row per natural key
 *    [time, auditID or event id, stage rank, kind], with the index of every copy written (rowIndexOf,
 *    the very function the DynamoDB store indexes with);
 *  - listings group a request's stages per auditID (oldest stage first) and page in time order;
 *  - `requestsByAccessKey` answers only rows written while their human was pending (`pendingAccessKey`),
 *    `requestsByHuman` rows whose human was known at write time or given later by putLateLinks;
 *  - `requestByAuditId` finds a request with a notable stage by id alone, any request with `at`, and
 *    returns every stage of it (the port's contract; the DynamoDB store returns only the notable
 *    stages today, see the `it.fails` case in test/integration/ingest/log-pipeline.test.ts);
 *  - evidence holds the issuances of the keys asked for and follows role chains (withRoleChains), as
 *    the DynamoDB store does, so a pipeline that forgets to pass a key sees no issuance.
 * Not modelled: segments and anchors (group-free), default windows (a missing bound is open), TTLs.
 *
 * Every port method is recorded in `calls`, in order, and can be made to fail through `failures`: a
 * function of the call's arguments returning the error to throw, or undefined to let the call through.
 */

type Failure<K extends keyof TrailStore> = TrailStore[K] extends (...args: infer A) => unknown
  ? (...args: A) => Error | undefined
  : never;

export type StoreFailures = { [K in keyof TrailStore]?: Failure<K> };

/** [sortable time, auditID (requests) or CloudWatch event id (denials), stage rank, kind]. */
type RowKey = [string, string, number, 'a' | 'd'];

interface RowEntry {
  id: string;
  ref: ClusterRef;
  key: RowKey;
  /** The stored JSON of the first copy written (StoredAuditFacts, or the denial's authenticator record). */
  json: string;
  /** Index of every copy written (a redelivery made after an issuance arrived may know the human). */
  indexes: RowIndex[];
  /** Humans given by putLateLinks, lower-cased. */
  lateHumans: Set<string>;
}

interface AuthnEntry {
  ref: ClusterRef;
  at: string;
  record: StoredAuthenticatorRecord;
}

const compareKeys = (a: readonly (string | number)[], b: readonly (string | number)[]): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
};

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

const limitOf = (page: PageRequest) => Math.min(Math.max(1, page.limit ?? DEFAULT_LIMIT), MAX_LIMIT);

const bounds = (range: TimeRange): { from: string; to: string } => {
  const from = range.from === undefined ? '' : sortableTime(range.from);
  const to = range.to === undefined ? '\uffff' : sortableTime(range.to, 'end');
  if (from === undefined || to === undefined) {
    throw new TrailStoreError(`time range ${JSON.stringify(range)} is not ISO 8601`, 'VALIDATION', false);
  }
  return { from, to };
};

const encodeCursor = (key: readonly (string | number)[]) => Buffer.from(JSON.stringify(key)).toString('base64url');

const decodeCursor = (cursor: string | undefined): (string | number)[] | undefined => {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v)) return v as (string | number)[];
  } catch {
    // reported below
  }
  throw new TrailStoreError('cursor: not a cursor of this listing', 'VALIDATION', false);
};

/** One page of `items` (sorted oldest first by `keyOf`) in the order asked for, after the cursor. */
const pageOf = <T>(items: readonly T[], keyOf: (t: T) => (string | number)[], page: PageRequest): StorePage<T> => {
  const ordered = page.order === 'oldest-first' ? [...items] : [...items].reverse();
  const after = decodeCursor(page.cursor);
  const forward = page.order === 'oldest-first';
  const rest =
    after === undefined
      ? ordered
      : ordered.filter((t) => (forward ? compareKeys(keyOf(t), after) > 0 : compareKeys(keyOf(t), after) < 0));
  const limit = limitOf(page);
  const slice = rest.slice(0, limit);
  const last = slice[slice.length - 1];
  return rest.length > limit && last !== undefined
    ? { items: slice, cursor: encodeCursor(keyOf(last)) }
    : { items: slice };
};

const changeOrd = (c: MappingChange) => `${sortableTime(c.at) ?? ''}#${c.sourceEventId}`;

const roundTrip = <T>(value: T): T => JSON.parse(canonicalJson(value)) as T;

/** The alert ledger as the port describes it: an alert id claimed once, released when its send failed. */
class MemoryAlertLedger {
  readonly claimed = new Map<string, { alert: Alert; state: 'claimed' | 'released' }>();
  async recordIfNew(alert: Alert): Promise<boolean> {
    const seen = this.claimed.get(alert.alertId);
    if (seen && seen.state === 'claimed') return false;
    this.claimed.set(alert.alertId, { alert, state: 'claimed' });
    return true;
  }
  async release(alert: Alert): Promise<void> {
    const seen = this.claimed.get(alert.alertId);
    if (seen?.state === 'claimed') seen.state = 'released';
  }
  async alertsByCluster(ref: ClusterRef): Promise<AlertLedgerEntry[]> {
    return [...this.claimed.values()].filter((e) => e.alert.cluster === ref.cluster).map(entry);
  }
  /** One page holding the whole window (paging is the DynamoDB ledger's business, tested against the engine). */
  async listAlerts(
    ref: ClusterRef | undefined,
    range: { from: string; to: string },
    page: PageRequest,
  ): Promise<StorePage<AlertLedgerEntry>> {
    const from = Date.parse(range.from);
    const to = Date.parse(range.to);
    const items = [...this.claimed.values()]
      .filter((e) => ref === undefined || e.alert.cluster === ref.cluster)
      .filter((e) => Date.parse(e.alert.at) >= from && Date.parse(e.alert.at) <= to)
      .sort((a, b) => Date.parse(a.alert.at) - Date.parse(b.alert.at))
      .map(entry);
    return { items: page.order === 'oldest-first' ? items : items.reverse() };
  }
}

const entry = (e: { alert: Alert; state: string }): AlertLedgerEntry => ({
  alertId: e.alert.alertId,
  ruleId: e.alert.ruleId,
  severity: e.alert.severity,
  cluster: e.alert.cluster,
  at: e.alert.at,
  state: e.state,
  alert: e.alert,
});

/** First and last use per (cluster, mapping), min and max as the table keeps them. */
class MemoryMappingUsage {
  readonly uses = new Map<string, MappingUsage>();
  async recordUse(
    cluster: string,
    mappingKey: string,
    at: string,
    opts: { accountId?: string; chainId?: string } = {},
  ): Promise<RecordUseResult> {
    const k = `${opts.accountId ?? ''}\u0000${cluster}\u0000${mappingKey}`;
    const u = this.uses.get(k);
    if (!u) {
      this.uses.set(k, {
        cluster,
        mappingKey,
        firstUsedAt: at,
        lastUsedAt: at,
        ...(opts.accountId ? { accountId: opts.accountId } : {}),
      });
      return { firstUse: true };
    }
    const result: RecordUseResult = { firstUse: at < u.firstUsedAt };
    if (at < u.firstUsedAt) u.firstUsedAt = at;
    if (at > u.lastUsedAt) {
      result.lastUsedBefore = u.lastUsedAt;
      u.lastUsedAt = at;
    }
    return result;
  }
  async list(cluster: string, accountId?: string): Promise<MappingUsage[]> {
    return [...this.uses.values()].filter(
      (u) => u.cluster === cluster && (accountId === undefined || u.accountId === accountId),
    );
  }
}

export class MemoryTrailStore implements TrailStore {
  readonly alerts = new MemoryAlertLedger();
  readonly usage = new MemoryMappingUsage();
  /** Stored rows by `<cluster ref key>\0<row key>`. */
  readonly rows = new Map<string, RowEntry>();
  /** Authenticator lines by `<cluster ref key>\0<event id>`. */
  readonly authn = new Map<string, AuthnEntry>();
  /** Mapping changes by natural key (`<cluster ref key>\0<kind>#<source event>#<target>`). */
  readonly changes = new Map<string, MappingChange>();
  readonly creds = new Map<string, CredentialIssuance>();
  /** Quarantine entries by `<source>#<sourceId>`. */
  readonly quarantineEntries = new Map<string, QuarantineRecord>();
  readonly registry = new Map<string, ClusterRef>();
  /** Every putLogBatch argument that was stored, in order (the chains the ingest indexed under). */
  readonly batches: LogBatchWrite[] = [];
  /** Every late link stored. */
  readonly lateLinks: LateLinkWrite[] = [];
  /** Port methods in the order they were called (failed calls included). */
  readonly calls: (keyof TrailStore)[] = [];
  failures: StoreFailures = {};

  private check<K extends keyof TrailStore>(op: K, ...args: Parameters<Failure<K>>): void {
    this.calls.push(op);
    const f = this.failures[op] as ((...a: unknown[]) => Error | undefined) | undefined;
    const err = f?.(...args);
    if (err) throw err;
  }

  // --- clusters -----------------------------------------------------------------------------------

  private refFor(cluster: string, accountId: string | undefined): ClusterRef {
    if (accountId) return { cluster, accountId };
    const known = [...this.registry.values()].filter((r) => r.cluster === cluster);
    return known.length === 1 ? known[0]! : { cluster, accountId: UNKNOWN_ACCOUNT };
  }

  private register(ref: ClusterRef): void {
    if (ref.accountId !== UNKNOWN_ACCOUNT) this.registry.set(clusterRefKey(ref), ref);
  }

  /** A bare name is the only account's cluster of that name, else the placeholder account (as the registry's refFor). */
  private resolve(ref: ClusterRef | string): ClusterRef {
    return typeof ref === 'string' ? this.refFor(ref, undefined) : ref;
  }

  async clusters(): Promise<ClusterRef[]> {
    this.check('clusters');
    return [...this.registry.values()].sort((a, b) => compareKeys([a.cluster, a.accountId], [b.cluster, b.accountId]));
  }

  // --- ingest -------------------------------------------------------------------------------------

  async putLogBatch(batch: LogBatchWrite): Promise<LogBatchWriteResult> {
    this.check('putLogBatch', batch);
    const segments = new Set<string>();
    let items = 0;
    const addRow = (ref: ClusterRef, key: RowKey, json: string, index: RowIndex) => {
      const id = `${clusterRefKey(ref)}\u0000${key.join('\u0000')}`;
      let e = this.rows.get(id);
      if (!e) {
        e = { id, ref, key, json, indexes: [], lateHumans: new Set() };
        this.rows.set(id, e);
      }
      e.indexes.push(index);
      segments.add(`a\u0000${clusterRefKey(ref)}\u0000${cellOf(key[0])}`);
      items++;
    };
    for (const row of batch.audit) {
      const ref = this.refFor(row.facts.origin.cluster, row.chain.accountId ?? row.facts.origin.accountId);
      this.register(ref);
      const at = sortableTime(row.chain.at) ?? sortableFromEpochMs(row.facts.origin.timestamp ?? 0);
      const index = rowIndexOf(row.chain, row.facts);
      index.notable ||= isNotable(row.chain, row.facts);
      const key: RowKey = [at, row.facts.event.auditID, STAGE_RANK[row.facts.event.stage] ?? 0, 'a'];
      addRow(ref, key, canonicalJson(row.facts), index);
    }
    for (const row of batch.authenticator) {
      const rec = row.record;
      const ref = this.refFor(rec.origin.cluster, rec.origin.accountId);
      this.register(ref);
      const at = sortableFromEpochMs(rec.origin.timestamp);
      const id = `${clusterRefKey(ref)}\u0000${rec.origin.eventId}`;
      if (!this.authn.has(id)) this.authn.set(id, { ref, at, record: roundTrip(rec) });
      segments.add(`l\u0000${clusterRefKey(ref)}\u0000${cellOf(at)}`);
      items++;
      if (row.chain) {
        const chainAt = sortableTime(row.chain.at) ?? at;
        const index = rowIndexOf(row.chain);
        addRow(ref, [chainAt, rec.origin.eventId, 0, 'd'], canonicalJson(rec), index);
      }
    }
    this.batches.push(batch);
    return { segments: segments.size, items };
  }

  async putMappingChanges(changes: MappingChange[]): Promise<MappingChange[]> {
    this.check('putMappingChanges', changes);
    const refs = changes.map((c) => this.refFor(c.cluster, c.accountId));
    for (const r of refs) this.register(r);
    const keyOf = (c: MappingChange, i: number) =>
      c.op.kind === 'principal-id-observed'
        ? `${clusterRefKey(refs[i]!)}\u0000${c.op.kind}#${mappingOpTarget(c.op)}`
        : `${clusterRefKey(refs[i]!)}\u0000${c.op.kind}#${c.sourceEventId}#${mappingOpTarget(c.op)}`;
    // Observations of one binding in a call collapse to the earliest; only its creation is new.
    const earliest = new Map<string, number>();
    changes.forEach((c, i) => {
      if (c.op.kind !== 'principal-id-observed') return;
      const k = keyOf(c, i);
      const seen = earliest.get(k);
      if (seen === undefined || changeOrd(c) < changeOrd(changes[seen]!)) earliest.set(k, i);
    });
    const fresh: MappingChange[] = [];
    changes.forEach((c, i) => {
      const k = keyOf(c, i);
      if (c.op.kind === 'principal-id-observed' && earliest.get(k) !== i) return;
      const ref = refs[i]!;
      const stored = roundTrip({ ...c, cluster: ref.cluster });
      if (ref.accountId !== UNKNOWN_ACCOUNT) stored.accountId = ref.accountId;
      const had = this.changes.get(k);
      if (!had) {
        this.changes.set(k, stored);
        fresh.push(c);
      } else if (c.op.kind === 'principal-id-observed' && changeOrd(c) < changeOrd(had)) {
        this.changes.set(k, stored);
      }
    });
    return fresh;
  }

  async putCredentials(items: CredentialIssuance[]): Promise<CredentialIssuance[]> {
    this.check('putCredentials', items);
    const fresh = items.filter((c) => !this.creds.has(c.accessKeyId));
    for (const c of fresh) this.creds.set(c.accessKeyId, roundTrip(c));
    return fresh;
  }

  async quarantine(items: QuarantineRecord[]): Promise<void> {
    this.check('quarantine', items);
    for (const q of items) {
      const k = `${q.source}#${q.sourceId}`;
      if (!this.quarantineEntries.has(k)) this.quarantineEntries.set(k, roundTrip(q));
    }
  }

  private changesOf(ref: ClusterRef): MappingChange[] {
    const prefix = `${clusterRefKey(ref)}\u0000`;
    return [...this.changes.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, c]) => c)
      .sort((a, b) => compareKeys([changeOrd(a)], [changeOrd(b)]));
  }

  async evidenceFor(ref: ClusterRef | string, accessKeys: string[] = []): Promise<CorrelationEvidence> {
    this.check('evidenceFor', ref, accessKeys);
    const r = this.resolve(ref);
    const credentials = accessKeys.flatMap((k) => {
      const c = this.creds.get(k);
      return c ? [c] : [];
    });
    const evidence = inMemoryEvidence({ cluster: r.cluster, mappingChanges: this.changesOf(r), credentials });
    return withRoleChains(evidence, accessKeys, { credential: async (k) => this.creds.get(k) });
  }

  async credential(accessKeyId: string): Promise<CredentialIssuance | undefined> {
    this.check('credential', accessKeyId);
    return this.creds.get(accessKeyId);
  }

  async credentialsIssuedTo(callerAccessKeyId: string): Promise<CredentialIssuance[]> {
    this.check('credentialsIssuedTo', callerAccessKeyId);
    return [...this.creds.values()]
      .filter((c) => c.caller.accessKeyId === callerAccessKeyId)
      .sort((a, b) => compareKeys([a.issuedAt, a.accessKeyId], [b.issuedAt, b.accessKeyId]));
  }

  async putLateLinks(items: LateLinkWrite[]): Promise<void> {
    this.check('putLateLinks', items);
    for (const { handle, chain } of items) {
      const ids = JSON.parse(handle) as string[];
      const human = chain.human.status !== 'unknown' ? chain.human.value?.identity?.toLowerCase() : undefined;
      for (const id of ids) {
        const row = this.rows.get(id);
        if (!row) throw new TrailStoreError(`handle ${handle} was not issued by this store`, 'VALIDATION', false);
        if (human) row.lateHumans.add(human);
      }
      this.lateLinks.push({ handle, chain });
    }
  }

  // --- questions ----------------------------------------------------------------------------------

  async mappingChanges(ref: ClusterRef | string): Promise<MappingChange[]> {
    this.check('mappingChanges', ref);
    return this.changesOf(this.resolve(ref));
  }

  /** Requests of the rows matching `match` (any copy's index, or a late human) within the range. */
  private listing(
    match: (row: RowEntry) => boolean,
    range: TimeRange,
    page: PageRequest,
  ): Promise<StorePage<StoredRequest>> {
    const { from, to } = bounds(range);
    const rows = [...this.rows.values()].filter((r) => r.key[0] >= from && r.key[0] <= to && match(r));
    const p = pageOf(groupRequests(rows), (g) => g.sortKey, page);
    const out: StorePage<StoredRequest> = { items: p.items.map((g) => g.request) };
    if (p.cursor !== undefined) out.cursor = p.cursor;
    return Promise.resolve(out);
  }

  requestsByCluster(ref: ClusterRef, range: TimeRange = {}, page: PageRequest = {}) {
    this.check('requestsByCluster', ref, range, page);
    const k = clusterRefKey(ref);
    return this.listing((r) => clusterRefKey(r.ref) === k, range, page);
  }

  requestsByPrincipal(matchKey: string, range: TimeRange = {}, page: PageRequest = {}, ref?: ClusterRef) {
    this.check('requestsByPrincipal', matchKey, range, page, ref);
    const m = matchKey.toLowerCase();
    return this.listing((r) => inCluster(r, ref) && r.indexes.some((i) => i.principal === m), range, page);
  }

  requestsByHuman(identity: string, range: TimeRange = {}, page: PageRequest = {}, ref?: ClusterRef) {
    this.check('requestsByHuman', identity, range, page, ref);
    const h = identity.toLowerCase();
    return this.listing(
      (r) => inCluster(r, ref) && (r.lateHumans.has(h) || r.indexes.some((i) => i.human === h)),
      range,
      page,
    );
  }

  requestsByK8sUser(ref: ClusterRef, username: string, range: TimeRange = {}, page: PageRequest = {}) {
    this.check('requestsByK8sUser', ref, username, range, page);
    return this.listing((r) => inCluster(r, ref) && r.indexes.some((i) => i.username === username), range, page);
  }

  requestsByResource(ref: ClusterRef, sel: ResourceSelector, range: TimeRange = {}, page: PageRequest = {}) {
    this.check('requestsByResource', ref, sel, range, page);
    if (!sel.resource && !sel.namespace) {
      return Promise.reject(
        new TrailStoreError('requestsByResource needs a resource or a namespace', 'VALIDATION', false),
      );
    }
    const matches = (i: RowIndex): boolean => {
      if (!sel.resource) return i.namespace === sel.namespace;
      if (i.resource !== sel.resource) return false;
      if (sel.name !== undefined) return i.name === sel.name && (i.namespace ?? '-') === (sel.namespace || '-');
      return sel.namespace === undefined || (i.namespace ?? '-') === sel.namespace;
    };
    return this.listing((r) => inCluster(r, ref) && r.indexes.some(matches), range, page);
  }

  denials(ref: ClusterRef, range: TimeRange = {}, page: PageRequest = {}) {
    this.check('denials', ref, range, page);
    return this.listing((r) => inCluster(r, ref) && r.indexes.some((i) => i.denied), range, page);
  }

  requestsByAccessKey(accessKeyId: string, range: TimeRange = {}, page: PageRequest = {}) {
    this.check('requestsByAccessKey', accessKeyId, range, page);
    return this.listing((r) => r.indexes.some((i) => i.pendingAccessKey === accessKeyId), range, page);
  }

  async requestByAuditId(ref: ClusterRef, auditID: string, at?: string): Promise<StoredRequest | undefined> {
    this.check('requestByAuditId', ref, auditID, at);
    const mine = [...this.rows.values()].filter((r) => inCluster(r, ref) && r.key[3] === 'a' && r.key[1] === auditID);
    // A request with a notable stage is found by id alone (its pointer), any request through the cell
    // of `at`; either way with every stage stored for it, as the port promises.
    let found = mine.some((r) => r.indexes.some((i) => i.notable));
    if (!found && at !== undefined) {
      const start = sortableTime(at);
      if (!start) throw new TrailStoreError(`at ${JSON.stringify(at)} is not ISO 8601`, 'VALIDATION', false);
      found = mine.some((r) => cellOf(r.key[0]) === cellOf(start));
    }
    return found ? groupRequests(mine)[0]?.request : undefined;
  }

  async authenticatorRecords(
    ref: ClusterRef,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<StoredAuthenticatorRecord>> {
    this.check('authenticatorRecords', ref, range, page);
    const { from, to } = bounds(range);
    const k = clusterRefKey(ref);
    const entries = [...this.authn.values()]
      .filter((e) => clusterRefKey(e.ref) === k && e.at >= from && e.at <= to)
      .sort((a, b) => compareKeys([a.at, a.record.origin.eventId], [b.at, b.record.origin.eventId]));
    const p = pageOf(entries, (e) => [e.at, e.record.origin.eventId], page);
    const out: StorePage<StoredAuthenticatorRecord> = { items: p.items.map((e) => e.record) };
    if (p.cursor !== undefined) out.cursor = p.cursor;
    return out;
  }

  async quarantined(
    code: QuarantineRecord['code'] | undefined,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<QuarantineRecord>> {
    this.check('quarantined', code, range, page);
    const { from, to } = bounds(range);
    const entries = [...this.quarantineEntries.values()]
      .filter((q) => code === undefined || q.code === code)
      .map((q) => ({ q, at: sortableFromEpochMs(q.at) }))
      .filter((e) => e.at >= from && e.at <= to)
      .sort((a, b) => compareKeys([a.at, a.q.source, a.q.sourceId], [b.at, b.q.source, b.q.sourceId]));
    // Newest first unless asked otherwise, as every listing.
    const p = pageOf(entries, (e) => [e.at, e.q.source, e.q.sourceId], page);
    const out: StorePage<QuarantineRecord> = { items: p.items.map((e) => e.q) };
    if (p.cursor !== undefined) out.cursor = p.cursor;
    return out;
  }

  // --- test helpers (not part of the port) ----------------------------------------------------------

  /** Every stored request of every cluster, oldest first, without recording a call. */
  allRequests(): StoredRequest[] {
    return groupRequests([...this.rows.values()]).map((g) => g.request);
  }

  /** The chains handed to putLogBatch for one auditID (what the ingest indexed the stages under). */
  writtenChains(auditID: string): DecisionChain[] {
    return this.batches.flatMap((b) => b.audit.filter((r) => r.facts.event.auditID === auditID).map((r) => r.chain));
  }
}

const inCluster = (row: RowEntry, ref: ClusterRef | undefined) =>
  ref === undefined || clusterRefKey(row.ref) === clusterRefKey(ref);

interface Grouped {
  sortKey: (string | number)[];
  request: StoredRequest;
}

/** Rows into requests, oldest first: the stages of one auditID (same cluster and time) together. */
const groupRequests = (rows: readonly RowEntry[]): Grouped[] => {
  const groups = new Map<string, RowEntry[]>();
  for (const r of rows) {
    const k = `${clusterRefKey(r.ref)}\u0000${r.key[0]}\u0000${r.key[1]}\u0000${r.key[3]}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: Grouped[] = [...groups.values()].map((g) => {
    const stages = [...g].sort((a, b) => a.key[2] - b.key[2]);
    const first = stages[0]!;
    const handle = JSON.stringify(stages.map((s) => s.id));
    const sortKey = [first.key[0], first.key[1], clusterRefKey(first.ref)];
    if (first.key[3] === 'd') {
      const denial = JSON.parse(first.json) as StoredAuthenticatorRecord;
      return { sortKey, request: { kind: 'authn-failure', ref: first.ref, at: first.key[0], denial, handle } };
    }
    return {
      sortKey,
      request: {
        kind: 'request',
        ref: first.ref,
        at: first.key[0],
        auditID: first.key[1],
        stages: stages.map((s) => JSON.parse(s.json) as StoredAuditFacts),
        handle,
      },
    };
  });
  return out.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
};
