import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CorrelationEvidence } from '../../../lib/chain/types.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import type { ClusterRef } from '../../../lib/store/keys.js';
import { ACCOUNT_A, accessEntryChange, awsAuthChange } from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

/**
 * evidenceFor reads a cluster's whole mapping history on every batch, but folds it again only when the
 * stored mapping items differ from the last read: the timeline (the history object the correlator's
 * identity cache is keyed on) is reused while nothing changed and replaced as soon as anything did.
 */
let h: StoreHarness;
/** Every harness of the file, so the last test can prove none of their stores sent a Scan. */
const harnesses: StoreHarness[] = [];

beforeAll(async () => {
  h = await startStoreHarness();
  harnesses.push(h);
});
afterAll(async () => h.engine.stop());

const PROD: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const STAGING: ClusterRef = { accountId: ACCOUNT_A, cluster: 'staging' };

const ADMINS = 'arn:aws:iam::111122223333:role/Admins';
const DEV = 'arn:aws:iam::111122223333:role/Dev';
const LATER = '2024-08-24T16:00:00.000Z';

const fresh = async () => {
  const local = await startStoreHarness(h.engine);
  harnesses.push(local);
  await local.store.putMappingChanges([awsAuthChange(), accessEntryChange()]);
  return local;
};

const historyOf = (ev: CorrelationEvidence, at = LATER): object => {
  const key = ev.mappingStateKeyAt?.(at);
  if (!key) throw new Error('the store evidence has no mappingStateKeyAt');
  return key.history;
};

const entryAt = (ev: CorrelationEvidence, at: string, arn: string) =>
  ev.mappingStateAt(at).accessEntries.get(arn.toLowerCase());

const observation = (sourceEventId: string, at: string, principalId = 'AROAADMINS0000000001'): MappingChange => ({
  cluster: 'prod',
  accountId: ACCOUNT_A,
  at,
  sourceEventId,
  source: 'audit',
  actor: { k8sUsername: 'admin' },
  op: { kind: 'principal-id-observed', matchKey: ADMINS.toLowerCase(), principalId },
});

describe('evidenceFor reuses the folded mapping history', () => {
  it('returns the same history object while the mapping items are unchanged', async () => {
    const local = await fresh();
    const first = await local.store.evidenceFor(PROD);
    const second = await local.store.evidenceFor(PROD, ['ASIAUNKNOWN']);
    expect(historyOf(second)).toBe(historyOf(first));
    // A bare cluster name resolves through the registry to the same cluster, and the same fold.
    expect(historyOf(await local.store.evidenceFor('prod'))).toBe(historyOf(first));
    // A redelivery writes nothing new, so the history stays the same object too.
    expect(await local.store.putMappingChanges([awsAuthChange(), accessEntryChange()])).toEqual([]);
    expect(historyOf(await local.store.evidenceFor(PROD))).toBe(historyOf(first));
    // The key still tells states apart inside the reused history.
    expect(first.mappingStateKeyAt?.('2024-08-24T09:30:00.000Z').version).not.toBe(
      first.mappingStateKeyAt?.(LATER).version,
    );
  });

  it('folds a new history once an access entry is added', async () => {
    const local = await fresh();
    const before = await local.store.evidenceFor(PROD);
    const added = accessEntryChange({ principalArn: DEV, sourceEventId: 'ct-0002', at: '2024-08-24T12:00:00.000Z' });
    expect(await local.store.putMappingChanges([added])).toHaveLength(1);
    const after = await local.store.evidenceFor(PROD);
    expect(historyOf(after)).not.toBe(historyOf(before));
    expect(entryAt(after, '2024-08-24T11:59:59.999Z', DEV)).toBeUndefined();
    expect(entryAt(after, '2024-08-24T12:00:00.000Z', DEV)?.sourceEventId).toBe('ct-0002');
    // Evidence already handed out keeps answering from the history it was built on.
    expect(entryAt(before, LATER, DEV)).toBeUndefined();
  });

  it('folds a new history for a late change dated before every stored one', async () => {
    const local = await fresh();
    const before = await local.store.evidenceFor(PROD);
    expect(entryAt(before, '2024-08-24T09:30:00.000Z', DEV)).toBeUndefined();
    // The stored history starts at 09:00 (aws-auth) and 10:00 (access entry); this one is from 08:00.
    const late = accessEntryChange({ principalArn: DEV, sourceEventId: 'ct-late', at: '2024-08-24T08:00:00.000Z' });
    expect(await local.store.putMappingChanges([late])).toHaveLength(1);
    const after = await local.store.evidenceFor(PROD);
    expect(historyOf(after)).not.toBe(historyOf(before));
    expect(entryAt(after, '2024-08-24T07:59:59.999Z', DEV)).toBeUndefined();
    expect(entryAt(after, '2024-08-24T08:00:00.000Z', DEV)?.sourceEventId).toBe('ct-late');
    expect(entryAt(after, '2024-08-24T09:30:00.000Z', DEV)?.sourceEventId).toBe('ct-late');
    expect(entryAt(after, '2024-08-24T09:30:00.000Z', ADMINS)).toBeUndefined();
    expect(entryAt(after, LATER, ADMINS)?.sourceEventId).toBe('ct-0001');
    // The 08:00 state differs from the initial one: versions moved with the late change.
    expect(after.mappingStateKeyAt?.('2024-08-24T08:00:00.000Z').version).not.toBe(
      after.mappingStateKeyAt?.('2024-08-24T07:59:59.999Z').version,
    );
  });

  it('folds a new history when a principal-id observation is replaced by an earlier one', async () => {
    const local = await fresh();
    expect(await local.store.putMappingChanges([observation('audit-late', '2024-08-24T15:00:00.000Z')])).toHaveLength(
      1,
    );
    const before = await local.store.evidenceFor(PROD);
    expect(entryAt(before, '2024-08-24T12:00:00.000Z', ADMINS)?.principalId).toBeUndefined();
    expect(entryAt(before, LATER, ADMINS)?.principalId).toBe('AROAADMINS0000000001');
    // Same binding (principal, id), observed earlier: the stored item keeps its key and changes in place.
    expect(await local.store.putMappingChanges([observation('audit-early', '2024-08-24T11:00:00.000Z')])).toEqual([]);
    const after = await local.store.evidenceFor(PROD);
    expect((await local.store.mappingChanges(PROD)).map((c) => c.sourceEventId)).toContain('audit-early');
    expect(historyOf(after)).not.toBe(historyOf(before));
    expect(entryAt(after, '2024-08-24T10:59:59.999Z', ADMINS)?.principalId).toBeUndefined();
    expect(entryAt(after, '2024-08-24T12:00:00.000Z', ADMINS)?.principalId).toBe('AROAADMINS0000000001');
    // A later observation of the same binding is refused by the table: nothing to refold.
    expect(await local.store.putMappingChanges([observation('audit-later', '2024-08-24T17:00:00.000Z')])).toEqual([]);
    expect(historyOf(await local.store.evidenceFor(PROD))).toBe(historyOf(after));
  });

  it('keeps a separate history per cluster', async () => {
    const local = await fresh();
    await local.store.putMappingChanges([
      accessEntryChange({ cluster: 'staging', principalArn: DEV, sourceEventId: 'ct-staging-1' }),
    ]);
    const prod1 = await local.store.evidenceFor(PROD);
    const staging1 = await local.store.evidenceFor(STAGING);
    const prod2 = await local.store.evidenceFor(PROD);
    const staging2 = await local.store.evidenceFor(STAGING);
    expect(historyOf(prod2)).toBe(historyOf(prod1));
    expect(historyOf(staging2)).toBe(historyOf(staging1));
    expect(historyOf(staging1)).not.toBe(historyOf(prod1));
    expect(entryAt(prod1, LATER, DEV)).toBeUndefined();
    expect(entryAt(prod1, LATER, ADMINS)?.sourceEventId).toBe('ct-0001');
    expect(entryAt(staging1, LATER, DEV)?.sourceEventId).toBe('ct-staging-1');
    expect(entryAt(staging1, LATER, ADMINS)).toBeUndefined();

    // A change to one cluster refolds only that cluster's history.
    await local.store.putMappingChanges([
      accessEntryChange({ cluster: 'staging', principalArn: ADMINS, sourceEventId: 'ct-staging-2' }),
    ]);
    const staging3 = await local.store.evidenceFor(STAGING);
    expect(historyOf(staging3)).not.toBe(historyOf(staging1));
    expect(entryAt(staging3, LATER, ADMINS)?.sourceEventId).toBe('ct-staging-2');
    expect(historyOf(await local.store.evidenceFor(PROD))).toBe(historyOf(prod1));
  });
});

describe('reads', () => {
  it('never sent a Scan or PartiQL statement: the history is one Query per cluster', () => {
    for (const local of harnesses) {
      const counts = local.counter.counts();
      for (const name of FULL_TABLE_READS) expect(counts[name] ?? 0).toBe(0);
    }
    expect(harnesses.reduce((n, local) => n + local.counter.count('QueryCommand'), 0)).toBeGreaterThan(0);
  });
});
