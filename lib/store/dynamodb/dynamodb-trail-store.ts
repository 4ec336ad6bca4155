import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { timelineEvidence } from '../../chain/evidence.js';
import { withRoleChains } from '../../chain/role-chain-evidence.js';
import type { CorrelationEvidence, CredentialIssuance } from '../../chain/types.js';
import { withWorkloads } from '../../chain/workload-evidence.js';
import type { MappingChange } from '../../identity/types.js';
import { eksIssuerKey } from '../../identity/workload.js';
import { type ClusterRef, epochMsOf, keys, sortableFromEpochMs, sortableTime, UNKNOWN_ACCOUNT } from '../keys.js';
import {
  type LateLinkWrite,
  type LogBatchWrite,
  type LogBatchWriteResult,
  type PageRequest,
  type QuarantineRecord,
  type ResourceSelector,
  type StoredAuthenticatorRecord,
  type StoredRequest,
  type StorePage,
  type TimeRange,
  type TrailStore,
  TrailStoreError,
} from '../trail-store.js';
import { DynamoDbAlertLedger } from './alert-ledger.js';
import { ClusterRegistry } from './cluster-registry.js';
import { CredentialStore } from './credentials.js';
import { DynamoDbDigestStore, pendingMarksFor } from './digests.js';
import { DEFAULT_PRINCIPAL_ID_CACHE_SIZE, MappingHistory } from './mapping-history.js';
import { DynamoDbMappingUsageStore } from './mapping-usage.js';
import { QuarantineStore } from './quarantine.js';
import { RequestSegments } from './request-segments.js';
import { type RetryOptions, TableClient } from './table-client.js';

/** Item classes with their own retention (days; 0 = kept until deleted). */
export interface RetentionDays {
  /** Notable requests (docs/data-model.md, "Notable and bulk"): their segment parts, postings and pointers. */
  request?: number;
  /** Bulk requests (kubelets, controllers, service-account polling). */
  bulkRequest?: number;
  mappingChange?: number;
  credential?: number;
  authenticator?: number;
  quarantine?: number;
  /** Alert ledger entries, from the alert's own time. */
  alert?: number;
}

export const DEFAULT_RETENTION_DAYS: Required<RetentionDays> = {
  request: 400,
  bulkRequest: 400,
  // Versioned mapping history is what "who could reach cluster X at time T" is answered from: keep it.
  mappingChange: 0,
  // Kept as long as the requests: the human link is derived from it when a question is answered.
  credential: 400,
  authenticator: 90,
  quarantine: 30,
  alert: 400,
};

export type { RetryOptions };

export interface DynamoDbTrailStoreOptions {
  tableName: string;
  retentionDays?: RetentionDays;
  /**
   * Wall clock, used only for default query ranges and for the time on pending marks (tamper
   * evidence; marks are not evidence themselves). TTLs are computed from the EVENT time so that a
   * redelivered record is written byte-identical whenever it arrives.
   */
  now?: () => number;
  retry?: RetryOptions;
  /** Parallel requests per call. */
  concurrency?: number;
  /**
   * Principal-id bindings whose stored earliest observation this instance remembers, so a repeat
   * observation costs no write (default 50,000; 0 turns the cache off).
   */
  principalIdCacheSize?: number;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
const DAY_MS = 86_400_000;
/** Default look-back when a listing gives no `from`: a day for a cluster's own listing, 30 days otherwise. */
const DEFAULT_WINDOW_MS = { cluster: DAY_MS, entity: 30 * DAY_MS } as const;

/**
 * TrailStore over one DynamoDB table (docs/data-model.md): a thin facade over one module per item
 * class. Requests are stored as segments of rows with postings (segment-writer, cell-listing); mapping
 * history, issuances, quarantine and the cluster registry are items of their own. Writes are
 * deterministic (no wall-clock values, canonical JSON), so redelivering any batch leaves every item
 * byte-for-byte as it was. Every read is a Query, GetItem or BatchGetItem.
 */
export class DynamoDbTrailStore implements TrailStore {
  readonly table: TableClient;
  readonly registry: ClusterRegistry;
  readonly alerts: DynamoDbAlertLedger;
  readonly usage: DynamoDbMappingUsageStore;
  /** Tamper evidence: signed digests of what is stored (docs/tamper-evidence.md). */
  readonly digests: DynamoDbDigestStore;
  private readonly history: MappingHistory;
  private readonly issuances: CredentialStore;
  private readonly quarantineStore: QuarantineStore;
  private readonly requests: RequestSegments;
  private readonly retention: Required<RetentionDays>;
  private readonly now: () => number;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: DynamoDbTrailStoreOptions) {
    this.now = options.now ?? Date.now;
    this.table = new TableClient(client, {
      tableName: options.tableName,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      // Every covered item is announced to the digest signer before it is written, so a write made
      // after its hour was signed is signed as a late addition, not reported as an insertion.
      writeAhead: (items) => pendingMarksFor(items, this.now(), randomUUID()),
    });
    this.retention = { ...DEFAULT_RETENTION_DAYS, ...options.retentionDays };
    this.registry = new ClusterRegistry(this.table);
    this.history = new MappingHistory(this.table, this.registry, {
      retentionDays: this.retention.mappingChange,
      principalIdCacheSize: options.principalIdCacheSize ?? DEFAULT_PRINCIPAL_ID_CACHE_SIZE,
    });
    this.issuances = new CredentialStore(this.table, this.retention.credential);
    this.quarantineStore = new QuarantineStore(this.table, this.retention.quarantine);
    this.alerts = new DynamoDbAlertLedger(this.table.doc, {
      tableName: options.tableName,
      retentionDays: this.retention.alert,
    });
    this.usage = new DynamoDbMappingUsageStore(this.table.doc, { tableName: options.tableName });
    this.digests = new DynamoDbDigestStore(this.table, this.registry);
    this.requests = new RequestSegments(this.table, this.registry, this.retention, (range, kind) =>
      this.window(range, kind),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Clusters
  // -------------------------------------------------------------------------------------------

  clusters(): Promise<ClusterRef[]> {
    return this.registry.all();
  }

  resolveCluster(nameOrAccountSlashName: string): Promise<ClusterRef | undefined> {
    return this.registry.resolve(nameOrAccountSlashName);
  }

  private refOf(ref: ClusterRef | string): Promise<ClusterRef> {
    return typeof ref === 'string' ? this.registry.refFor(ref) : Promise.resolve(ref);
  }

  // -------------------------------------------------------------------------------------------
  // Ingest
  // -------------------------------------------------------------------------------------------

  async putMappingChanges(changes: MappingChange[]): Promise<MappingChange[]> {
    const fresh = await this.history.put(changes);
    await this.putIssuers(changes);
    return fresh;
  }

  /**
   * The issuer registry (docs/data-model.md, `OIDC#` items): the cluster that owns each EKS OIDC
   * issuer, so a later IRSA session can be traced to it. Rewritten on every delivery of the fact
   * (same content, same bytes); only clusters whose account is known are registered.
   */
  private async putIssuers(changes: readonly MappingChange[]): Promise<void> {
    const items = changes.flatMap((c) => {
      if (c.op.kind !== 'cluster-oidc-issuer' || !c.accountId || c.accountId === UNKNOWN_ACCOUNT) return [];
      const key = eksIssuerKey(c.op.issuer);
      if (!key) return [];
      return [
        { ...keys.oidcIssuer(key), accountId: c.accountId, cluster: c.cluster, at: c.at, eventId: c.sourceEventId },
      ];
    });
    if (items.length > 0) await this.table.batchPut(items);
  }

  async issuerCluster(issuerKey: string): Promise<ClusterRef | undefined> {
    const item = await this.table.get(keys.oidcIssuer(issuerKey), 'GetItem(oidc issuer)');
    return item ? { accountId: String(item['accountId']), cluster: String(item['cluster']) } : undefined;
  }

  workloadIssuances(roleMatchKey: string, range: TimeRange = {}): Promise<CredentialIssuance[]> {
    return this.issuances.forRole(roleMatchKey, range);
  }

  podIssuances(ref: ClusterRef, namespace: string, pod: string): Promise<CredentialIssuance[]> {
    return this.issuances.forPod(ref, namespace, pod);
  }

  async mappingChanges(ref: ClusterRef | string): Promise<MappingChange[]> {
    return this.history.changes(await this.registry.joined(await this.refOf(ref)));
  }

  putCredentials(items: CredentialIssuance[]): Promise<CredentialIssuance[]> {
    return this.issuances.put(items);
  }

  credential(accessKeyId: string): Promise<CredentialIssuance | undefined> {
    return this.issuances.get(accessKeyId);
  }

  credentialsIssuedTo(callerAccessKeyId: string): Promise<CredentialIssuance[]> {
    return this.issuances.issuedTo(callerAccessKeyId);
  }

  quarantine(items: QuarantineRecord[]): Promise<void> {
    return this.quarantineStore.put(items);
  }

  // -------------------------------------------------------------------------------------------
  // Requests (request-segments.ts)
  // -------------------------------------------------------------------------------------------

  putLogBatch(batch: LogBatchWrite): Promise<LogBatchWriteResult> {
    return this.requests.putLogBatch(batch);
  }

  putLateLinks(items: LateLinkWrite[]): Promise<void> {
    return this.requests.putLateLinks(items);
  }

  requestsByCluster(ref: ClusterRef, range: TimeRange = {}, page: PageRequest = {}): Promise<StorePage<StoredRequest>> {
    return this.requests.requestsByCluster(ref, range, page);
  }

  requestsByPrincipal(
    matchKey: string,
    range: TimeRange = {},
    page: PageRequest = {},
    ref?: ClusterRef,
  ): Promise<StorePage<StoredRequest>> {
    return this.requests.requestsByPrincipal(matchKey, range, page, ref);
  }

  requestsByHuman(
    identity: string,
    range: TimeRange = {},
    page: PageRequest = {},
    ref?: ClusterRef,
  ): Promise<StorePage<StoredRequest>> {
    return this.requests.requestsByHuman(identity, range, page, ref);
  }

  requestsByAccessKey(
    accessKeyId: string,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<StoredRequest>> {
    return this.requests.requestsByAccessKey(accessKeyId, range, page);
  }

  requestsByK8sUser(
    ref: ClusterRef,
    username: string,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<StoredRequest>> {
    return this.requests.requestsByK8sUser(ref, username, range, page);
  }

  requestsByResource(
    ref: ClusterRef,
    sel: ResourceSelector,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<StoredRequest>> {
    return this.requests.requestsByResource(ref, sel, range, page);
  }

  denials(ref: ClusterRef, range: TimeRange = {}, page: PageRequest = {}): Promise<StorePage<StoredRequest>> {
    return this.requests.denials(ref, range, page);
  }

  requestByAuditId(ref: ClusterRef, auditID: string, at?: string): Promise<StoredRequest | undefined> {
    return this.requests.requestByAuditId(ref, auditID, at);
  }

  authenticatorRecords(
    ref: ClusterRef,
    range: TimeRange = {},
    page: PageRequest = {},
    within?: readonly TimeRange[],
  ): Promise<StorePage<StoredAuthenticatorRecord>> {
    return this.requests.authenticatorRecords(ref, range, page, within);
  }

  /**
   * Evidence for one cluster: its whole mapping history folded by MappingTimeline (reused while the
   * history is unchanged), the issuances of `accessKeys` fetched up front (CorrelationEvidence is
   * synchronous), and the issuances up their role chains.
   */
  async evidenceFor(refOrName: ClusterRef | string, accessKeys: string[] = []): Promise<CorrelationEvidence> {
    const ref = await this.refOf(refOrName);
    const [timeline, creds] = await Promise.all([
      this.history.timeline(await this.registry.joined(ref)),
      accessKeys.length > 0 ? this.issuances.many(accessKeys) : Promise.resolve(new Map<string, CredentialIssuance>()),
    ]);
    const evidence = timelineEvidence(timeline, (accessKeyId) => creds.get(accessKeyId));
    const chained = await withRoleChains(evidence, accessKeys, { credential: (k) => this.issuances.get(k) });
    return withWorkloads(chained, accessKeys, {
      issuerCluster: (k) => this.issuerCluster(k),
      clusters: () => this.registry.all(),
      timeline: async (r) => this.history.timeline(await this.registry.joined(r)),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Listings
  // -------------------------------------------------------------------------------------------

  private window(range: TimeRange, kind: keyof typeof DEFAULT_WINDOW_MS): { from: string; to: string } {
    if (
      (range.from !== undefined && !sortableTime(range.from)) ||
      (range.to !== undefined && !sortableTime(range.to))
    ) {
      throw new TrailStoreError(`time range ${JSON.stringify(range)} is not ISO 8601`, 'VALIDATION', false);
    }
    const to =
      (range.to !== undefined ? sortableTime(range.to, 'end') : undefined) ?? sortableFromEpochMs(this.now() + 60_000);
    const from =
      (range.from !== undefined ? sortableTime(range.from) : undefined) ??
      sortableFromEpochMs(epochMsOf(to) - DEFAULT_WINDOW_MS[kind]);
    return { from, to };
  }

  quarantined(
    code: QuarantineRecord['code'] | undefined,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<QuarantineRecord & { rawTruncated?: boolean; rawBytes?: number }>> {
    return this.quarantineStore.list(
      code,
      this.window(range, 'entity'),
      page,
      Math.min(Math.max(1, page.limit ?? DEFAULT_LIMIT), MAX_LIMIT),
    );
  }
}
