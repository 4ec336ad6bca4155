import { recorrelateChain } from '../ingest/recorrelate.js';
import { withRoleChains } from '../ingest/role-chain-evidence.js';
import type { DynamoDbTrailStore, StoredChain } from '../store/dynamodb-trail-store.js';
import type { RunOptions } from './run.js';
import type { QueryStore } from './store-port.js';

/**
 * Binds the query port to the DynamoDB store (deployed table or local mode), and query-time
 * re-derivation to lib/ingest/recorrelate.ts, the same code the ingest tests prove order-independent.
 */
export const queryStoreOf = (store: DynamoDbTrailStore): QueryStore => ({
  clusters: () => store.clusters(),
  chainsByCluster: (ref, range, page) => store.chainsByCluster(ref, range, page),
  chainsByPrincipal: (matchKey, range, page, ref) => store.chainsByPrincipal(matchKey, range, page, ref),
  chainsByHuman: (identity, range, page, ref) => store.chainsByHuman(identity, range, page, ref),
  chainsByK8sUser: (ref, username, range, page) => store.chainsByK8sUser(ref, username, range, page),
  chainsByResource: (ref, sel, range, page) => store.chainsByResource(ref, sel, range, page),
  denials: (ref, range, page) => store.denials(ref, range, page),
  chainByAuditId: (ref, auditId) => store.chainByAuditId(ref, auditId),
  mappingChanges: (ref) => store.mappingChanges(ref.cluster, ref.accountId),
  credential: (key) => store.credential(key),
  chainsUsingAccessKey: (key) => store.chainsUsingAccessKey(key),
  // Role chains (AssumeRole* hops back to the SSO / OIDC human), exactly as finalChains loads them.
  evidenceFor: async (ref, keys) =>
    withRoleChains(await store.evidenceFor(ref.cluster, ref.accountId, keys), keys ?? [], {
      credential: (key) => store.credential(key),
    }),
  authenticatorRecords: (ref, range, page) => store.authenticatorRecords(ref, range, page),
});

export const storeRunOptions: RunOptions = {
  // Records handed to rederive come from the store above, so they are StoredChains.
  rederive: (record, evidence, authn) => recorrelateChain(record as StoredChain, evidence, authn),
};
