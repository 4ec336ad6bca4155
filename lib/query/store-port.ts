import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../chain/types.js';
import type { MappingChange } from '../identity/types.js';
import type { StoredAuditFacts, StoredAuthenticatorRecord } from '../store/trail-store.js';
import type { StorePage } from './paging.js';
import type { TimeRange } from './time-range.js';

/**
 * What the query layer reads. lib/query/store-adapter.ts binds it to DynamoDbTrailStore (deployed table
 * or local mode); keeping the port here lets the questions be tested against any implementation and
 * keeps the CLI's `--api` mode free of storage code.
 */

export interface ClusterRef {
  accountId: string;
  cluster: string;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

/** A stored chain with the facts it was built from (absent for authenticator-failure chains). */
export interface ChainRecord {
  chain: DecisionChain;
  facts?: StoredAuditFacts;
}

export interface ResourceSelector {
  namespace?: string;
  resource?: string;
  name?: string;
}

export interface QueryStore {
  /** Every cluster the trail knows, as (account, name). */
  clusters(): Promise<ClusterRef[]>;
  chainsByCluster(ref: ClusterRef, range: TimeRange, page: PageRequest): Promise<StorePage<ChainRecord>>;
  /** Fleet-wide when `ref` is undefined. */
  chainsByPrincipal(
    matchKey: string,
    range: TimeRange,
    page: PageRequest,
    ref?: ClusterRef,
  ): Promise<StorePage<ChainRecord>>;
  chainsByHuman(
    identity: string,
    range: TimeRange,
    page: PageRequest,
    ref?: ClusterRef,
  ): Promise<StorePage<ChainRecord>>;
  chainsByK8sUser(
    ref: ClusterRef,
    username: string,
    range: TimeRange,
    page: PageRequest,
  ): Promise<StorePage<ChainRecord>>;
  chainsByResource(
    ref: ClusterRef,
    sel: ResourceSelector,
    range: TimeRange,
    page: PageRequest,
  ): Promise<StorePage<ChainRecord>>;
  /** 401s, 403s and authenticator denials. */
  denials(ref: ClusterRef, range: TimeRange, page: PageRequest): Promise<StorePage<ChainRecord>>;
  chainByAuditId(ref: ClusterRef, auditId: string): Promise<ChainRecord | undefined>;
  mappingChanges(ref: ClusterRef): Promise<MappingChange[]>;
  credential(accessKeyId: string): Promise<CredentialIssuance | undefined>;
  /** Chains that used an access key (bounded: a temporary key lives at most 12 h). */
  chainsUsingAccessKey(accessKeyId: string): Promise<StoredAuditFacts[]>;
  evidenceFor(ref: ClusterRef, accessKeys?: string[]): Promise<CorrelationEvidence>;
  /** Authenticator log lines of one cluster in a window: what joins a 401 to its `access denied` line. */
  authenticatorRecords(
    ref: ClusterRef,
    range: TimeRange,
    page: PageRequest,
  ): Promise<StorePage<StoredAuthenticatorRecord>>;
}
