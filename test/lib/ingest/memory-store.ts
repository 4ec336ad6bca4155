import { inMemoryEvidence } from '../../../lib/chain/evidence.js';
import type { CorrelationEvidence, CredentialIssuance, DecisionChain } from '../../../lib/chain/types.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import type {
  QuarantineRecord,
  StoredAuditFacts,
  StoredAuthenticatorRecord,
  TrailStore,
} from '../../../lib/store/trail-store.js';

/**
 * A plain in-memory TrailStore for the pipelines' pure unit tests (property tests run thousands of
 * batches; storage semantics are tested against real engines under test/integration). Methods can be
 * made to fail to exercise the pipeline's fault policy.
 */
export class MemoryTrailStore implements TrailStore {
  chains = new Map<string, { chain: DecisionChain; facts: StoredAuditFacts }>();
  changes = new Map<string, MappingChange>();
  creds = new Map<string, CredentialIssuance>();
  authn = new Map<string, StoredAuthenticatorRecord>();
  quarantined = new Map<string, QuarantineRecord>();
  failures: Partial<Record<keyof TrailStore, () => Error>> = {};

  private check(op: keyof TrailStore) {
    const f = this.failures[op];
    if (f) throw f();
  }

  async putChains(items: { chain: DecisionChain; facts: StoredAuditFacts }[]) {
    this.check('putChains');
    for (const i of items) this.chains.set(i.chain.chainId, i);
  }
  async putMappingChanges(changes: MappingChange[]) {
    this.check('putMappingChanges');
    const fresh: MappingChange[] = [];
    for (const c of changes) {
      const k = `${c.cluster}#${c.sourceEventId}#${c.op.kind}`;
      if (!this.changes.has(k)) {
        this.changes.set(k, c);
        fresh.push(c);
      }
    }
    return fresh;
  }
  async mappingChanges(cluster: string) {
    this.check('mappingChanges');
    return [...this.changes.values()].filter((c) => c.cluster === cluster);
  }
  async putCredentials(items: CredentialIssuance[]) {
    this.check('putCredentials');
    const fresh = items.filter((c) => !this.creds.has(c.accessKeyId));
    for (const c of fresh) this.creds.set(c.accessKeyId, c);
    return fresh;
  }
  async credential(accessKeyId: string) {
    return this.creds.get(accessKeyId);
  }
  async putAuthenticatorRecords(items: StoredAuthenticatorRecord[]) {
    this.check('putAuthenticatorRecords');
    for (const r of items) this.authn.set(r.origin.eventId, r);
  }
  async quarantine(items: QuarantineRecord[]) {
    this.check('quarantine');
    for (const q of items)
      if (!this.quarantined.has(`${q.source}#${q.sourceId}`)) this.quarantined.set(`${q.source}#${q.sourceId}`, q);
  }
  async evidenceFor(cluster: string): Promise<CorrelationEvidence> {
    this.check('evidenceFor');
    return inMemoryEvidence({
      cluster,
      mappingChanges: [...this.changes.values()].filter((c) => c.cluster === cluster),
      credentials: [...this.creds.values()],
    });
  }
  async chainsUsingAccessKey(accessKeyId: string) {
    this.check('chainsUsingAccessKey');
    return [...this.chains.values()]
      .filter((c) => c.chain.principal.value?.accessKeyId === accessKeyId)
      .map((c) => c.facts);
  }
}
