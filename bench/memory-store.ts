import { inMemoryEvidence, timelineEvidence } from '../lib/chain/evidence.js';
import type { CorrelationEvidence, CredentialIssuance } from '../lib/chain/types.js';
import { MappingTimeline } from '../lib/identity/mapping-timeline.js';
import type { MappingChange } from '../lib/identity/types.js';
import { changeKey } from '../lib/ingest/mapping-change-stage.js';
import type {
  AuditRowWrite,
  ClusterRef,
  IngestPort,
  LogBatchWrite,
  LogBatchWriteResult,
  QuarantineRecord,
  StoredRequest,
  StorePage,
} from '../lib/store/trail-store.js';

/**
 * The store's natural key of a change. Principal-id observations are keyed by what they observe, not
 * by the request that carried them (every IAM request carries one): keyed per request, the history
 * would grow with the traffic and every evidence read would rebuild a timeline of all requests.
 */
const naturalKey = (c: MappingChange): string =>
  c.op.kind === 'principal-id-observed'
    ? `${c.accountId ?? ''}\u0000${c.cluster}\u0000pid\u0000${c.op.matchKey}\u0000${c.op.principalId}`
    : changeKey(c);

export type ChainWrite = Pick<AuditRowWrite, 'chain' | 'facts'>;

export interface BenchStoreOptions {
  /**
   * Called with every delivery's audit rows instead of storing them. Absent: they are counted and dropped, which
   * is what the CPU benchmarks want (storage cost is measured separately, against the engine).
   */
  onChains?: (items: ChainWrite[], batch: LogBatchWrite) => Promise<void> | void;
  /**
   * Reuse a cluster's mapping timeline until its history changes, as DynamoDbTrailStore does (it
   * re-reads the history every batch but keeps the fold while the items are the same). On by default;
   * `false` rebuilds it on every evidence read.
   */
  cacheTimelines?: boolean;
}

/**
 * A benchmark stub of the ingest half of the storage port, held in memory. Mapping changes and
 * AssumeRole* issuances are kept and served back as evidence (so correlation does the same attribution
 * work it does in production); requests, authenticator records and quarantine entries are only
 * counted. It implements the port the pipeline is written against; it is not a DynamoDB client mock,
 * and no storage test uses it.
 */
export class BenchTrailStore implements IngestPort {
  readonly counts = { chains: 0, authenticatorRecords: 0, quarantined: 0, evidenceReads: 0 };
  private readonly changes = new Map<string, MappingChange>();
  private readonly byCluster = new Map<string, MappingChange[]>();
  private readonly creds = new Map<string, CredentialIssuance>();
  private readonly credIds = new Set<string>();
  private readonly timelines = new Map<string, MappingTimeline>();

  constructor(private readonly options: BenchStoreOptions = {}) {}

  async putLogBatch(batch: LogBatchWrite): Promise<LogBatchWriteResult> {
    this.counts.chains += batch.audit.length + batch.authenticator.filter((r) => r.chain).length;
    this.counts.authenticatorRecords += batch.authenticator.length;
    if (this.options.onChains) await this.options.onChains(batch.audit, batch);
    return { segments: 0, items: 0 };
  }

  async putMappingChanges(changes: MappingChange[]): Promise<MappingChange[]> {
    const fresh: MappingChange[] = [];
    for (const c of changes) {
      const k = naturalKey(c);
      const seen = this.changes.get(k);
      const list = this.byCluster.get(c.cluster) ?? [];
      this.byCluster.set(c.cluster, list);
      if (seen) {
        // As the table does: one observation per (principal, id), the earliest one kept.
        if (c.op.kind === 'principal-id-observed' && c.at < seen.at) {
          list[list.indexOf(seen)] = c;
          this.changes.set(k, c);
          this.timelines.delete(c.cluster);
        }
        continue;
      }
      this.changes.set(k, c);
      list.push(c);
      fresh.push(c);
      this.timelines.delete(c.cluster);
    }
    return fresh;
  }

  async mappingChanges(ref: ClusterRef | string): Promise<MappingChange[]> {
    const cluster = typeof ref === 'string' ? ref : ref.cluster;
    const accountId = typeof ref === 'string' ? undefined : ref.accountId;
    const all = this.byCluster.get(cluster) ?? [];
    return accountId === undefined
      ? [...all]
      : all.filter((c) => c.accountId === undefined || c.accountId === accountId);
  }

  async putCredentials(items: CredentialIssuance[]): Promise<CredentialIssuance[]> {
    const fresh: CredentialIssuance[] = [];
    for (const c of items) {
      if (this.credIds.has(c.sourceEventId)) continue;
      this.credIds.add(c.sourceEventId);
      const seen = this.creds.get(c.accessKeyId);
      if (!seen || c.issuedAt < seen.issuedAt) this.creds.set(c.accessKeyId, c);
      fresh.push(c);
    }
    return fresh;
  }

  async credential(accessKeyId: string): Promise<CredentialIssuance | undefined> {
    return this.creds.get(accessKeyId);
  }

  async credentialsIssuedTo(_callerAccessKeyId: string): Promise<CredentialIssuance[]> {
    return [];
  }

  async quarantine(items: QuarantineRecord[]): Promise<void> {
    this.counts.quarantined += items.length;
  }

  async evidenceFor(ref: ClusterRef | string, accessKeys: string[] = []): Promise<CorrelationEvidence> {
    const cluster = typeof ref === 'string' ? ref : ref.cluster;
    const accountId = typeof ref === 'string' ? undefined : ref.accountId;
    this.counts.evidenceReads++;
    const credentials: CredentialIssuance[] = [];
    for (const k of accessKeys) {
      const c = this.creds.get(k);
      if (c) credentials.push(c);
    }
    if (this.options.cacheTimelines === false || accountId === undefined)
      return inMemoryEvidence({ cluster, mappingChanges: await this.mappingChanges(ref), credentials });
    let timeline = this.timelines.get(cluster);
    if (!timeline) {
      timeline = new MappingTimeline(cluster, await this.mappingChanges(ref));
      this.timelines.set(cluster, timeline);
    }
    const byKey = new Map(credentials.map((c) => [c.accessKeyId, c]));
    return timelineEvidence(timeline, (k) => byKey.get(k));
  }

  async requestsByAccessKey(): Promise<StorePage<StoredRequest>> {
    // Requests are not kept, so there is nothing to re-enrich: the CPU path ends at the write.
    return { items: [] };
  }

  async putLateLinks(): Promise<void> {}
}
