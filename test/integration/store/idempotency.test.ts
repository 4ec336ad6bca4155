import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MappingChange } from '../../../lib/identity/types.js';
import { type CommandCounter, countCommands, FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import { type ClusterRef, cellEndMs } from '../../../lib/store/keys.js';
import type { LogBatchWrite, StoredAuthenticatorRecord, StoredRequest } from '../../../lib/store/trail-store.js';
import {
  ACCOUNT_A,
  accessEntryChange,
  awsAuthChange,
  chainFromEvent,
  credentialIssuance,
  kiempossibleEvent,
  logBatchOf,
  pantherEvents,
  quarantineRecord,
  variant,
} from '../../support/factories.js';
import { type StoreHarness, startStoreHarness } from '../../support/store-harness.js';

/**
 * Nothing lost, nothing doubled (docs/design.md, principle 3): every write is idempotent on its natural key,
 * redelivering a batch leaves the table byte-for-byte the same, and the stages of one request come
 * out as one request whatever order they arrive in.
 */
let h: StoreHarness;
/** Counters never reset, on every client of the file, so the last test can prove no Scan was sent. */
const watched: CommandCounter[] = [];
const prodA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const [started] = pantherEvents();
const complete = variant(started!, { auditID: started!.auditID, stage: 'ResponseComplete', code: 200 });
const PANTHER_DAY = { from: '2022-11-29T00:00:00Z', to: '2022-11-29T23:59:59Z' };
const DAY = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' };

beforeAll(async () => {
  h = await startStoreHarness();
  watched.push(countCommands(h.client));
});
afterAll(async () => h.engine.stop());

const fresh = async () => {
  const local = await startStoreHarness(h.engine);
  watched.push(countCommands(local.client));
  return local;
};

const stagesOf = (r: StoredRequest | undefined) => (r?.kind === 'request' ? r.stages.map((s) => s.event.stage) : []);

/** One delivery of audit stages, one unit per stage (a unit id is never reused for other content). */
const deliveryOf = (id: string, events: (typeof started)[], human?: string): LogBatchWrite =>
  logBatchOf(
    events.map((e) => chainFromEvent(e!, { cluster: 'prod', accountId: ACCOUNT_A, ...(human ? { human } : {}) })),
    events.map((e, i) => `${id}-${e!.stage}-${i}`),
  );

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
  logs: {
    ...logBatchOf(
      [
        chainFromEvent(kiempossibleEvent(), { cluster: 'prod', accountId: ACCOUNT_A }),
        chainFromEvent(started!, { cluster: 'prod', accountId: ACCOUNT_A }),
      ],
      ['kinesis-1', 'kinesis-2'],
    ),
    authenticator: [
      {
        unit: { id: 'kinesis-3', index: 2 },
        record: authnRecord('37516444617216000000000000000000000000000000000000000042'),
      },
    ],
  },
  changes: [awsAuthChange(), accessEntryChange()],
  credentials: [credentialIssuance()],
  quarantine: [quarantineRecord()],
});

describe('redelivery', () => {
  it('leaves every item byte-for-byte the same and reports nothing new the second time', async () => {
    const first = batch();
    const written = await h.store.putLogBatch(first.logs);
    expect(written.segments).toBe(3);
    expect(await h.store.putMappingChanges(first.changes)).toHaveLength(2);
    expect(await h.store.putCredentials(first.credentials)).toHaveLength(1);
    await h.store.quarantine(first.quarantine);
    const before = await h.dump();

    // A redelivery comes later in wall time, and quarantine `at` is the caller's clock: still identical.
    const again = batch();
    again.quarantine = [quarantineRecord({ at: Date.parse('2024-09-01T00:00:00Z') })];
    expect(await h.store.putLogBatch(again.logs)).toEqual(written);
    expect(await h.store.putMappingChanges(again.changes)).toEqual([]);
    expect(await h.store.putCredentials(again.credentials)).toEqual([]);
    await h.store.quarantine(again.quarantine);
    expect(await h.dump()).toEqual(before);
    expect((await h.store.quarantined(undefined, DAY)).items.map((q) => q.at)).toEqual([quarantineRecord().at]);
  });

  it('duplicates inside one call count once', async () => {
    const change: MappingChange = accessEntryChange({ sourceEventId: 'ct-dup' });
    expect(await h.store.putMappingChanges([change, { ...change }])).toHaveLength(1);
    const issuance = credentialIssuance({ accessKeyId: 'ASIADUP0000000000001' });
    expect(await h.store.putCredentials([issuance, { ...issuance }])).toHaveLength(1);
  });

  it('computes TTL from the event time (the cell), not the wall clock', async () => {
    const rows = (await h.dump()).map((r) => JSON.parse(r) as Record<string, { S?: string; N?: string }>);
    const item = (pk: string, sk?: string) =>
      rows.find((r) => r['pk']?.S === pk && (sk === undefined || r['sk']?.S?.startsWith(sk)));
    // kiempossible: 14:27:07 on 2024-08-24, in the cell 14:25-14:30; an SSO human, so a notable part.
    const cellEnd = Math.floor(cellEndMs('2024-08-24T14:25') / 1000);
    expect(Number(item(`S#${ACCOUNT_A}#prod`, '2024-08-24T14:25#')?.['expiresAt']?.N)).toBe(cellEnd + 400 * 86_400);
    expect(Number(item(`N#${ACCOUNT_A}#prod`, '2024-08-24T14:25#')?.['expiresAt']?.N)).toBe(cellEnd + 90 * 86_400);
    // panther: 2022-11-29 00:09:04.38, in the cell 00:05-00:10.
    expect(Number(item(`S#${ACCOUNT_A}#prod`, '2022-11-29T00:05#')?.['expiresAt']?.N)).toBe(
      Math.floor(cellEndMs('2022-11-29T00:05') / 1000) + 400 * 86_400,
    );
    expect(Number(item('CRED#ASIATCKASJUUD7MPDOZN')?.['expiresAt']?.N)).toBe(
      Math.floor(Date.parse('2024-08-24T14:00:00Z') / 1000) + 400 * 86_400,
    );
    expect(Number(item(`Q#cloudwatch-log-event#${quarantineRecord().sourceId}`)?.['expiresAt']?.N)).toBe(
      Math.floor(quarantineRecord().at / 1000) + 30 * 86_400,
    );
    const mapping = rows.filter((r) => r['pk']?.S === `MC#C#${ACCOUNT_A}#prod`);
    expect(mapping.length).toBeGreaterThan(0);
    for (const m of mapping) expect(m['expiresAt']).toBeUndefined();
  });
});

describe('stages of one request', () => {
  it.each([
    ['ResponseStarted then ResponseComplete, in two deliveries', [[started!], [complete]]],
    ['ResponseComplete then ResponseStarted, in two deliveries', [[complete], [started!]]],
    ['both in one delivery', [[started!, complete]]],
    ['both in one delivery, newest stage first', [[complete, started!]]],
  ] as const)('%s: one request with both stages, oldest first', async (_label, deliveries) => {
    const local = await fresh();
    let n = 0;
    for (const events of deliveries) await local.store.putLogBatch(deliveryOf(`d${n++}`, [...events]));
    const byId = await local.store.requestByAuditId(prodA, started!.auditID);
    expect(stagesOf(byId)).toEqual(['ResponseStarted', 'ResponseComplete']);
    const page = await local.store.requestsByCluster(prodA, PANTHER_DAY);
    expect(page.items).toHaveLength(1);
    expect(stagesOf(page.items[0])).toEqual(['ResponseStarted', 'ResponseComplete']);
    const byPrincipal = await local.store.requestsByPrincipal(
      'arn:aws:iam::123412341234:role/DevAdministrator',
      PANTHER_DAY,
    );
    expect(byPrincipal.items.map(stagesOf)).toEqual([['ResponseStarted', 'ResponseComplete']]);
  });

  it('end in the same bytes whatever the arrival order, and keep a link only the earlier stage knew', async () => {
    const dumps: string[][] = [];
    for (const order of [
      ['started', 'complete'],
      ['complete', 'started'],
      ['complete', 'started', 'complete', 'started'],
    ]) {
      const local = await fresh();
      for (const stage of order) {
        // The human was known when the ResponseStarted delivery was read, not the ResponseComplete one.
        await local.store.putLogBatch(
          stage === 'started'
            ? deliveryOf('started', [started!], 'alice@example.com')
            : deliveryOf('complete', [complete]),
        );
      }
      const got = await local.store.requestByAuditId(prodA, started!.auditID);
      expect(stagesOf(got)).toEqual(['ResponseStarted', 'ResponseComplete']);
      const byHuman = await local.store.requestsByHuman('alice@example.com', PANTHER_DAY);
      expect(byHuman.items.map((r) => (r.kind === 'request' ? r.auditID : ''))).toEqual([started!.auditID]);
      dumps.push(await local.dump());
    }
    expect(dumps[1]).toEqual(dumps[0]);
    expect(dumps[2]).toEqual(dumps[0]);
  });

  it('a redelivery that now knows the human adds the human posting and keeps the pending one', async () => {
    const local = await fresh();
    const pending = logBatchOf([chainFromEvent(kiempossibleEvent(), { cluster: 'prod', accountId: ACCOUNT_A })], 'k-1');
    await local.store.putLogBatch(pending);
    expect((await local.store.requestsByAccessKey('ASIATCKASJUUD7MPDOZN', DAY)).items).toHaveLength(1);
    expect((await local.store.requestsByHuman('gomyers@paloaltonetworks.com', DAY)).items).toEqual([]);
    const partsBefore = (await local.dump()).filter((r) => r.includes(`"S":"S#${ACCOUNT_A}#prod"`));

    const enriched = logBatchOf(
      [
        chainFromEvent(kiempossibleEvent(), {
          cluster: 'prod',
          accountId: ACCOUNT_A,
          human: 'gomyers@paloaltonetworks.com',
        }),
      ],
      'k-1',
    );
    await local.store.putLogBatch(enriched);
    const byHuman = await local.store.requestsByHuman('gomyers@paloaltonetworks.com', DAY);
    expect(byHuman.items.map((r) => (r.kind === 'request' ? r.auditID : ''))).toEqual([kiempossibleEvent().auditID]);
    // Nothing is read or deleted on write: the pending posting stays, and re-deriving from it is idempotent.
    expect((await local.store.requestsByAccessKey('ASIATCKASJUUD7MPDOZN', DAY)).items).toHaveLength(1);
    // The facts did not change, so neither did the segment.
    expect((await local.dump()).filter((r) => r.includes(`"S":"S#${ACCOUNT_A}#prod"`))).toEqual(partsBefore);
    // A late redelivery of the first, poorer write changes nothing.
    const before = await local.dump();
    await local.store.putLogBatch(pending);
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
      const local = await fresh();
      const news: MappingChange[] = [];
      for (const c of order) news.push(...(await local.store.putMappingChanges([c])));
      expect(news).toHaveLength(1);
      const stored = await local.store.mappingChanges(prodA);
      results.push(stored.map((c) => `${c.sourceEventId}@${c.at}`));
    }
    expect(results[0]).toEqual(['audit-early@2024-08-24T09:00:00Z']);
    expect(results[1]).toEqual(results[0]);
  });
});

describe('reads', () => {
  it('never sent a Scan or PartiQL statement', () => {
    for (const counter of watched) {
      for (const name of FULL_TABLE_READS) expect(counter.count(name)).toBe(0);
    }
    expect(watched.reduce((n, c) => n + c.count('QueryCommand'), 0)).toBeGreaterThan(0);
  });
});
