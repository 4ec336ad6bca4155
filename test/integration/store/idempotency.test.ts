import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MappingChange } from '../../../lib/identity/types.js';
import type { ClusterRef } from '../../../lib/store/keys.js';
import type { StoredAuthenticatorRecord } from '../../../lib/store/trail-store.js';
import {
  ACCOUNT_A,
  accessEntryChange,
  awsAuthChange,
  chainFromEvent,
  credentialIssuance,
  kiempossibleEvent,
  pantherEvents,
  quarantineRecord,
  variant,
} from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

/**
 * Nothing lost, nothing doubled (DESIGN principle 3): every write is idempotent on its natural key,
 * redelivering a batch leaves the table byte-for-byte the same, and the stages of one request end as
 * one chain whatever order they arrive in.
 */
let h: StoreHarness;
const prodA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const [started] = pantherEvents();
const complete = variant(started!, { auditID: started!.auditID, stage: 'ResponseComplete', code: 200 });

beforeAll(async () => {
  h = await startStoreHarness();
});
afterAll(async () => h.engine.stop());

const authnRecord = (eventId: string): StoredAuthenticatorRecord => ({
  origin: {
    cluster: 'prod',
    accountId: ACCOUNT_A,
    logGroup: '/aws/eks/prod/cluster',
    logStream: 'authenticator-0123456789abcdef',
    streamKind: 'authenticator',
    eventId,
    timestamp: Date.parse('2024-08-24T14:27:07.000Z'),
  },
  line: {
    kind: 'access-granted',
    time: '2024-08-24T14:27:07Z',
    level: 'info',
    msg: 'access granted',
    fields: { arn: 'arn:aws:iam::211125685544:role/sso_admin' },
    canonicalArn: 'arn:aws:iam::211125685544:role/sso_admin',
    groups: [],
    username: 'admin',
  },
});

const batch = () => ({
  chains: [
    chainFromEvent(kiempossibleEvent(), { cluster: 'prod', accountId: ACCOUNT_A }),
    chainFromEvent(started!, { cluster: 'prod', accountId: ACCOUNT_A }),
  ],
  changes: [awsAuthChange(), accessEntryChange()],
  credentials: [credentialIssuance()],
  authn: [authnRecord('37516444617216000000000000000000000000000000000000000042')],
  quarantine: [quarantineRecord()],
});

describe('redelivery', () => {
  it('leaves every item byte-for-byte the same and reports nothing new the second time', async () => {
    const first = batch();
    await h.store.putChains(first.chains);
    expect(await h.store.putMappingChanges(first.changes)).toHaveLength(2);
    expect(await h.store.putCredentials(first.credentials)).toHaveLength(1);
    await h.store.putAuthenticatorRecords(first.authn);
    await h.store.quarantine(first.quarantine);
    const before = await h.dump();

    // A redelivery comes later in wall time, and quarantine `at` is the caller's clock: still identical.
    const again = batch();
    again.quarantine = [quarantineRecord({ at: Date.parse('2024-09-01T00:00:00Z') })];
    await h.store.putChains(again.chains);
    expect(await h.store.putMappingChanges(again.changes)).toEqual([]);
    expect(await h.store.putCredentials(again.credentials)).toEqual([]);
    await h.store.putAuthenticatorRecords(again.authn);
    await h.store.quarantine(again.quarantine);
    expect(await h.dump()).toEqual(before);
  });

  it('duplicates inside one call count once', async () => {
    const change: MappingChange = accessEntryChange({ sourceEventId: 'ct-dup' });
    expect(await h.store.putMappingChanges([change, { ...change }])).toHaveLength(1);
  });

  it('computes TTL from the event time, not the wall clock', async () => {
    const rows = (await h.dump()).map((r) => JSON.parse(r) as Record<string, { S?: string; N?: string }>);
    const chain = rows.find((r) => r['pk']?.S === `CH#${ACCOUNT_A}#prod#${kiempossibleEvent().auditID}`);
    expect(Number(chain?.['expiresAt']?.N)).toBe(
      Math.floor(Date.parse('2024-08-24T14:27:07.461Z') / 1000) + 400 * 86_400,
    );
    const change = rows.find((r) => r['t']?.S === 'mapping');
    expect(change?.['expiresAt']).toBeUndefined();
  });
});

describe('stage merge', () => {
  it.each([
    ['ResponseStarted then ResponseComplete', [started!, complete]],
    ['ResponseComplete then ResponseStarted', [complete, started!]],
    ['both in one call', [[started!, complete]]],
  ] as const)('%s ends as one chain with the final stage', async (_label, order) => {
    const local = await startStoreHarness(h.engine);
    for (const step of order) {
      const events = Array.isArray(step) ? step : [step];
      await local.store.putChains(events.map((e) => chainFromEvent(e, { cluster: 'prod', accountId: ACCOUNT_A })));
    }
    const got = await local.store.chainByAuditId(prodA, started!.auditID);
    expect(got?.facts?.event.stage).toBe('ResponseComplete');
    expect(got?.chain.request.value?.stage).toBe('ResponseComplete');
    const page = await local.store.chainsByCluster(prodA, { from: '2022-11-29T00:00:00Z', to: '2022-11-29T23:59:59Z' });
    expect(page.items).toHaveLength(1);
  });

  it('ends in the same bytes whatever the arrival order, and keeps a link only the earlier stage knew', async () => {
    const enrichedStarted = chainFromEvent(started!, {
      cluster: 'prod',
      accountId: ACCOUNT_A,
      human: 'alice@example.com',
    });
    const plainComplete = chainFromEvent(complete, { cluster: 'prod', accountId: ACCOUNT_A });
    const dumps: string[][] = [];
    for (const order of [
      [enrichedStarted, plainComplete],
      [plainComplete, enrichedStarted],
      [plainComplete, enrichedStarted, plainComplete, enrichedStarted],
    ]) {
      const local = await startStoreHarness(h.engine);
      for (const rec of order) await local.store.putChains([rec]);
      const got = await local.store.chainByAuditId(prodA, started!.auditID);
      expect(got?.chain.human.value?.identity).toBe('alice@example.com');
      expect(got?.facts?.event.stage).toBe('ResponseComplete');
      expect(got?.chain.pendingEnrichment).toBe(false);
      dumps.push((await local.dump()).map((row) => row.replace(local.tableName, '')));
    }
    expect(dumps[1]).toEqual(dumps[0]);
    expect(dumps[2]).toEqual(dumps[0]);
  });

  it('re-enrichment of the same stage replaces the pending chain and leaves the pending index', async () => {
    const local = await startStoreHarness(h.engine);
    const pending = chainFromEvent(kiempossibleEvent(), { cluster: 'prod', accountId: ACCOUNT_A });
    await local.store.putChains([pending]);
    expect(await local.store.chainsUsingAccessKey('ASIATCKASJUUD7MPDOZN')).toHaveLength(1);
    const enriched = chainFromEvent(kiempossibleEvent(), {
      cluster: 'prod',
      accountId: ACCOUNT_A,
      human: 'gomyers@paloaltonetworks.com',
    });
    await local.store.putChains([enriched]);
    expect(await local.store.chainsUsingAccessKey('ASIATCKASJUUD7MPDOZN')).toEqual([]);
    const byHuman = await local.store.chainsByHuman('gomyers@paloaltonetworks.com', {
      from: '2024-08-24T00:00:00Z',
      to: '2024-08-24T23:59:59Z',
    });
    expect(byHuman.items.map((c) => c.chain.chainId)).toEqual([enriched.chain.chainId]);
    // A late redelivery of the first, poorer write changes nothing.
    const before = await local.dump();
    await local.store.putChains([pending]);
    expect(await local.dump()).toEqual(before);
  });
});

describe('principal id observations', () => {
  it('keep the earliest observation whatever the arrival order, and count only the first arrival as new', async () => {
    const obs = (id: string, at: string): MappingChange => ({
      cluster: 'prod',
      accountId: ACCOUNT_A,
      at,
      sourceEventId: id,
      source: 'audit',
      actor: { k8sUsername: 'alice' },
      op: {
        kind: 'principal-id-observed',
        matchKey: 'arn:aws:iam::211125685544:role/sso_admin',
        principalId: 'AROATCKASJUUBCXRRKSFT',
      },
    });
    const late = obs('audit-late', '2024-08-24T15:00:00Z');
    const early = obs('audit-early', '2024-08-24T09:00:00Z');
    const results: string[][] = [];
    for (const order of [
      [late, early],
      [early, late],
    ]) {
      const local = await startStoreHarness(h.engine);
      const news: MappingChange[] = [];
      for (const c of order) news.push(...(await local.store.putMappingChanges([c])));
      expect(news).toHaveLength(1);
      const stored = await local.store.mappingChanges('prod', ACCOUNT_A);
      results.push(stored.map((c) => `${c.sourceEventId}@${c.at}`));
    }
    expect(results[0]).toEqual(['audit-early@2024-08-24T09:00:00Z']);
    expect(results[1]).toEqual(results[0]);
  });
});
