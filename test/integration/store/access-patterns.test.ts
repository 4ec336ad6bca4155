import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { type CommandCounter, countCommands, FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import type { ClusterRef } from '../../../lib/store/keys.js';
import {
  type StoredAuthenticatorRecord,
  type StoredRequest,
  type StorePage,
  TrailStoreError,
} from '../../../lib/store/trail-store.js';
import {
  ACCOUNT_A,
  ACCOUNT_B,
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
 * Every access pattern of docs/data-model.md against a real engine: each returns exactly the seeded
 * requests it should (and none of the look-alikes: same cluster name in another account, other
 * principals, other namespaces in the same segment), and the whole file never sends a Scan.
 */
let h: StoreHarness;
/** Every command the store sent after seeding (never reset, unlike h.counter). */
let reads: CommandCounter;
const prodA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const prodB: ClusterRef = { accountId: ACCOUNT_B, cluster: 'prod' };
const stagingA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'staging' };
const DAY = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59.999Z' };
const SSO = 'arn:aws:iam::211125685544:role/sso_admin';
const DEV = 'arn:aws:iam::111122223333:role/Dev';
const NODE_ROLE = 'arn:aws:iam::111122223333:role/NodeRole';

const base = kiempossibleEvent();
const mk = (
  id: string,
  ref: ClusterRef,
  patch: Parameters<typeof variant>[1] extends infer P ? Omit<P & object, 'auditID'> : never,
  opts: { human?: string; pending?: boolean } = {},
) =>
  chainFromEvent(variant(base, { auditID: id, ...patch }), {
    cluster: ref.cluster,
    accountId: ref.accountId,
    ...(opts.human ? { human: opts.human } : {}),
    ...(opts.pending !== undefined ? { pendingEnrichment: opts.pending } : {}),
  });

const seeded = {
  c1: mk(
    'a1',
    prodA,
    { at: '2024-08-24T10:00:00.000001Z', namespace: 'default', resource: 'pods', name: 'web-1', username: 'alice' },
    { human: 'gomyers@paloaltonetworks.com' },
  ),
  c2: mk('a2', prodA, {
    at: '2024-08-24T11:00:00.5Z',
    namespace: 'default',
    resource: 'secrets',
    name: 'db',
    code: 403,
    username: 'alice',
  }),
  c3: mk(
    'a3',
    prodB,
    { at: '2024-08-24T10:30:00Z', namespace: 'default', resource: 'pods', name: 'web-1', username: 'alice' },
    { human: 'gomyers@paloaltonetworks.com' },
  ),
  c4: mk('a4', stagingA, {
    at: '2024-08-24T12:00:00Z',
    resource: 'nodes',
    name: 'ip-10-0-0-1',
    canonicalArn: DEV,
    username: 'dev',
  }),
  c5: mk(
    'a5',
    prodA,
    {
      at: '2024-08-24T13:00:00Z',
      namespace: 'kube-system',
      resource: 'pods',
      name: 'web-1',
      canonicalArn: DEV,
      accessKeyId: 'ASIAPENDING0000000001',
      username: 'dev',
      stage: 'ResponseStarted',
    },
    { pending: true },
  ),
  c6: mk(
    'a6',
    prodA,
    { at: '2024-08-24T23:59:59.999999Z', namespace: 'default', resource: 'pods', name: 'web-2', username: 'alice' },
    { human: 'gomyers@paloaltonetworks.com' },
  ),
  // Same cell as c1 (10:00-10:05), another namespace: the kind posting of that segment lists both.
  c7: mk('a7', prodA, {
    at: '2024-08-24T10:02:00Z',
    namespace: 'kube-system',
    resource: 'pods',
    name: 'dns-1',
    canonicalArn: DEV,
    username: 'bob',
  }),
  // A kubelet: bulk, so found by auditID only with its time.
  c8: (() => {
    const r = mk('a8', prodA, {
      at: '2024-08-24T14:00:00Z',
      resource: 'nodes',
      name: 'ip-10-0-0-9',
      canonicalArn: NODE_ROLE,
      username: 'system:node:ip-10-0-0-9',
    });
    r.facts.event.user.groups = ['system:nodes', 'system:authenticated'];
    if (r.chain.k8sIdentity.value) r.chain.k8sIdentity.value.groups = r.facts.event.user.groups;
    return r;
  })(),
};

const authnRecord = (
  eventId: string,
  at: string,
  line: StoredAuthenticatorRecord['line'],
): StoredAuthenticatorRecord => ({
  origin: {
    cluster: 'prod',
    accountId: ACCOUNT_A,
    logGroup: '/aws/eks/prod/cluster',
    logStream: 'authenticator-0123456789abcdef',
    streamKind: 'authenticator',
    eventId,
    timestamp: Date.parse(at),
  },
  line,
});

/** An authenticator `access denied` line and the authn-failure chain the ingest built from it. */
const authnFailure = (): { record: StoredAuthenticatorRecord; chain: DecisionChain } => {
  const at = '2024-08-24T09:15:00.123Z';
  const eventId = '37516444617216000000000000000000000000000000000000000001';
  const record = authnRecord(eventId, at, {
    kind: 'access-denied',
    time: '2024-08-24T09:15:00Z',
    fields: { arn: DEV },
    canonicalArn: DEV,
    error: 'ARN is not mapped',
    errorClass: 'identity-not-mapped',
  });
  const chain: DecisionChain = {
    chainId: `prod#authn#${eventId}`,
    kind: 'authn-failure',
    cluster: 'prod',
    accountId: ACCOUNT_A,
    at,
    principal: {
      status: 'observed',
      value: { type: 'role', canonicalArn: DEV },
      why: 'authenticator',
      evidence: ['authenticator'],
    },
    human: { status: 'unknown', why: 'no credential', evidence: [] },
    mapping: { status: 'derived', value: { source: 'unmapped' }, why: 'no mapping', evidence: [] },
    k8sIdentity: { status: 'unknown', why: 'not mapped', evidence: [] },
    decision: {
      status: 'observed',
      value: {
        outcome: 'authn-failed',
        authorizer: 'none',
        denial: { stage: 'unmapped', failureClass: 'identity-not-mapped' },
      },
      why: 'access denied',
      evidence: ['authenticator'],
    },
    request: { status: 'unknown', why: 'no request for a failed authentication', evidence: [] },
    pendingEnrichment: false,
  };
  return { record, chain };
};
const authn = authnFailure();
const granted = authnRecord('37516444617216000000000000000000000000000000000000000002', '2024-08-24T09:20:00.000Z', {
  kind: 'access-granted',
  time: '2024-08-24T09:20:00Z',
  fields: { arn: SSO },
  canonicalArn: SSO,
  groups: [],
  username: 'alice',
});
const [pantherStarted, pantherForbidden] = pantherEvents();

/** What identifies a listed request: its auditID, or `authn:<event id>` for an authenticator denial. */
const idOf = (r: StoredRequest) => (r.kind === 'request' ? r.auditID : `authn:${r.denial.origin.eventId}`);
const ids = (p: StorePage<StoredRequest>) => p.items.map(idOf);
const sorted = (xs: string[]) => [...xs].sort();
type Seeded = keyof typeof seeded;
const idsOf = (...keys: (Seeded | 'authn')[]) =>
  keys.map((k) => (k === 'authn' ? `authn:${authn.record.origin.eventId}` : (seeded[k].chain.auditID as string)));

beforeAll(async () => {
  h = await startStoreHarness();
  await h.store.putLogBatch({
    ...logBatchOf(Object.values(seeded)),
    authenticator: [
      { unit: { id: 'unit-0', index: 0 }, record: authn.record, chain: authn.chain },
      { unit: { id: 'unit-0', index: 0 }, record: granted },
    ],
  });
  await h.store.putLogBatch(
    logBatchOf(
      [
        chainFromEvent(pantherStarted!, { cluster: 'prod', accountId: ACCOUNT_A }),
        chainFromEvent(pantherForbidden!, { cluster: 'prod', accountId: ACCOUNT_A }),
      ],
      ['panther-0', 'panther-1'],
    ),
  );
  await h.store.putMappingChanges([
    awsAuthChange(),
    accessEntryChange(),
    accessEntryChange({
      sourceEventId: 'ct-0002',
      at: '2024-08-24T15:00:00Z',
      op: {
        kind: 'access-entry-delete',
        principalArn: 'arn:aws:iam::111122223333:role/Admins',
        matchKey: 'arn:aws:iam::111122223333:role/admins',
      },
    }),
    awsAuthChange({ sourceEventId: 'audit-0002', at: '2024-08-24T16:00:00Z', roles: [] }),
    accessEntryChange({ cluster: 'prod', accountId: ACCOUNT_B, sourceEventId: 'ct-b-1' }),
    accessEntryChange({ cluster: 'staging', accountId: ACCOUNT_A, sourceEventId: 'ct-s-1', principalArn: DEV }),
  ]);
  await h.store.putCredentials([
    credentialIssuance(),
    // Role chaining: a session of the first key assumed another role.
    credentialIssuance({
      accessKeyId: 'ASIACHAINED000000001',
      issuedAt: '2024-08-24T14:05:00Z',
      roleArn: 'arn:aws:iam::211125685544:role/deployer',
      roleMatchKey: 'arn:aws:iam::211125685544:role/deployer',
      caller: {
        type: 'AssumedRole',
        arn: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers@paloaltonetworks.com',
        accessKeyId: 'ASIATCKASJUUD7MPDOZN',
      },
      sourceEventId: 'sts-evt-2',
    }),
  ]);
  await h.store.quarantine([
    quarantineRecord(),
    quarantineRecord({
      sourceId: 'kinesis-seq-2',
      source: 'kinesis-record',
      code: 'ENVELOPE_NOT_GZIP',
      at: Date.parse('2024-08-24T13:00:00Z'),
    }),
    quarantineRecord({ sourceId: 'old', at: Date.parse('2024-07-01T00:00:00Z') }),
  ]);
  h.counter.reset();
  reads = countCommands(h.client);
});

afterAll(async () => {
  await h.engine.stop();
});

describe('requests by cluster and time', () => {
  it('returns exactly the requests of that account+cluster in the range, newest first', async () => {
    const page = await h.store.requestsByCluster(prodA, DAY, { limit: 100 });
    expect(ids(page)).toEqual(idsOf('c6', 'c8', 'c5', 'c2', 'c7', 'c1', 'authn'));
    expect(page.cursor).toBeUndefined();
    const denial = page.items.at(-1);
    expect(denial?.kind === 'authn-failure' && denial.denial).toEqual(authn.record);
    const c1 = page.items.find((r) => idOf(r) === 'a1');
    expect(c1?.kind === 'request' && c1.stages).toEqual([seeded.c1.facts]);
    expect(c1?.at).toBe('2024-08-24T10:00:00.000001Z');
    expect(c1?.ref).toEqual(prodA);
  });

  it('keeps the same cluster name in another account apart', async () => {
    expect(ids(await h.store.requestsByCluster(prodB, DAY))).toEqual(idsOf('c3'));
  });

  it('treats both ends of the range as inclusive and orders oldest first on request', async () => {
    const page = await h.store.requestsByCluster(
      prodA,
      { from: '2024-08-24T10:00:00.000001Z', to: '2024-08-24T23:59:59.999999Z' },
      { order: 'oldest-first' },
    );
    expect(ids(page)).toEqual(idsOf('c1', 'c7', 'c2', 'c5', 'c8', 'c6'));
    const narrow = await h.store.requestsByCluster(prodA, {
      from: '2024-08-24T10:00:00.000002Z',
      to: '2024-08-24T23:59:59.999998Z',
    });
    expect(ids(narrow)).toEqual(idsOf('c8', 'c5', 'c2', 'c7'));
  });

  it('finds real 2022 panther events by their own (space-separated, zone-less) timestamps', async () => {
    const page = await h.store.requestsByCluster(prodA, { from: '2022-11-29T00:00:00Z', to: '2022-11-29T23:59:59Z' });
    expect(sorted(ids(page))).toEqual(sorted([pantherStarted!.auditID, pantherForbidden!.auditID]));
  });

  it('answers a window with no data with one Query on the requests, however long the window', async () => {
    h.counter.reset();
    const page = await h.store.requestsByCluster(prodA, { from: '2023-01-01T00:00:00Z', to: '2023-12-31T23:59:59Z' });
    expect(page).toEqual({ items: [] });
    // One on the cell listing, and one on the registry (is there placeholder data to join to this
    // cluster?) unless this store asked it in the last NAMED_CACHE_MS.
    const counts = h.counter.counts();
    expect(Object.keys(counts)).toEqual(['QueryCommand']);
    expect(counts['QueryCommand']).toBeLessThanOrEqual(2);
  });

  it.each([
    ['a from that is not ISO 8601', { from: 'yesterday' }],
    ['a to that is not ISO 8601', { to: '1724509627' }],
  ])('refuses %s with VALIDATION', async (_label, range) => {
    await expect(h.store.requestsByCluster(prodA, range)).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});

describe('requests by identity', () => {
  it('by canonical principal across the fleet, and narrowed to one cluster', async () => {
    expect(sorted(ids(await h.store.requestsByPrincipal(SSO, DAY)))).toEqual(sorted(idsOf('c1', 'c2', 'c3', 'c6')));
    expect(
      sorted(ids(await h.store.requestsByPrincipal(SSO.replace('sso_admin', 'SSO_Admin'), DAY, {}, prodA))),
    ).toEqual(sorted(idsOf('c1', 'c2', 'c6')));
    expect(sorted(ids(await h.store.requestsByPrincipal(DEV, DAY)))).toEqual(sorted(idsOf('c4', 'c5', 'c7', 'authn')));
    expect(ids(await h.store.requestsByPrincipal(DEV, DAY, {}, stagingA))).toEqual(idsOf('c4'));
    expect(ids(await h.store.requestsByPrincipal(NODE_ROLE, DAY))).toEqual(idsOf('c8'));
    expect(ids(await h.store.requestsByPrincipal('arn:aws:iam::111122223333:role/Nobody', DAY))).toEqual([]);
  });

  it('by human, whatever the case, fleet-wide or on one cluster', async () => {
    expect(sorted(ids(await h.store.requestsByHuman('GoMyers@PaloAltoNetworks.com', DAY)))).toEqual(
      sorted(idsOf('c1', 'c3', 'c6')),
    );
    expect(ids(await h.store.requestsByHuman('gomyers@paloaltonetworks.com', DAY, {}, prodB))).toEqual(idsOf('c3'));
  });

  it('by Kubernetes username on one cluster', async () => {
    expect(sorted(ids(await h.store.requestsByK8sUser(prodA, 'alice', DAY)))).toEqual(sorted(idsOf('c1', 'c2', 'c6')));
    expect(ids(await h.store.requestsByK8sUser(prodB, 'alice', DAY))).toEqual(idsOf('c3'));
    expect(ids(await h.store.requestsByK8sUser(stagingA, 'dev', DAY))).toEqual(idsOf('c4'));
    expect(ids(await h.store.requestsByK8sUser(prodA, 'system:node:ip-10-0-0-9', DAY))).toEqual(idsOf('c8'));
  });
});

describe('requests by resource', () => {
  it.each([
    ['namespace', { namespace: 'default' }, ['c1', 'c2', 'c6']],
    ['kind across namespaces', { resource: 'pods' }, ['c1', 'c5', 'c6', 'c7']],
    [
      'kind within a namespace (another namespace shares the segment)',
      { resource: 'pods', namespace: 'default' },
      ['c1', 'c6'],
    ],
    ['kind within the other namespace', { resource: 'pods', namespace: 'kube-system' }, ['c5', 'c7']],
    ['one object', { resource: 'pods', namespace: 'default', name: 'web-1' }, ['c1']],
    ['one secret', { resource: 'secrets', namespace: 'default', name: 'db' }, ['c2']],
    ['a cluster-scoped object', { resource: 'nodes', name: 'ip-10-0-0-9' }, ['c8']],
  ] as const)('by %s', async (_label, query, expected) => {
    const page = await h.store.requestsByResource(prodA, query, DAY);
    expect(sorted(ids(page))).toEqual(sorted(idsOf(...expected)));
  });

  it('by a cluster-scoped object on another cluster', async () => {
    const page = await h.store.requestsByResource(stagingA, { resource: 'nodes', name: 'ip-10-0-0-1' }, DAY);
    expect(ids(page)).toEqual(idsOf('c4'));
  });

  it('refuses a query with neither resource nor namespace', async () => {
    await expect(h.store.requestsByResource(prodA, {}, DAY)).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});

describe('denials, single requests, pending keys', () => {
  it('lists 403s and failed authentications of the cluster only', async () => {
    expect(sorted(ids(await h.store.denials(prodA, DAY)))).toEqual(sorted(idsOf('c2', 'authn')));
    expect(ids(await h.store.denials(prodB, DAY))).toEqual([]);
    expect(ids(await h.store.denials(prodA, { from: '2022-11-29T00:00:00Z', to: '2022-11-30T00:00:00Z' }))).toEqual([
      pantherForbidden!.auditID,
    ]);
  });

  it('gets a notable request by auditID alone, on its own cluster only', async () => {
    const got = await h.store.requestByAuditId(prodA, 'a1');
    expect(got?.kind === 'request' && got.stages).toEqual([seeded.c1.facts]);
    expect(await h.store.requestByAuditId(prodB, 'a1')).toBeUndefined();
    expect((await h.store.requestByAuditId(stagingA, 'a4'))?.at).toBe('2024-08-24T12:00:00.000000Z');
    expect(await h.store.requestByAuditId(prodA, 'no-such-id')).toBeUndefined();
  });

  it.each([
    ['without its time', undefined, false],
    ['with its exact time', '2024-08-24T14:00:00.000000Z', true],
    ['with its time to the second', '2024-08-24T14:00:00Z', true],
    ['with a time in the same five-minute cell', '2024-08-24T14:04:59Z', true],
    ['with a time in another cell', '2024-08-24T14:05:00Z', false],
  ])('finds a bulk request (a kubelet) %s: %s', async (_label, at, found) => {
    const got = await h.store.requestByAuditId(prodA, 'a8', at);
    expect(got?.kind === 'request' ? got.auditID : undefined).toBe(found ? 'a8' : undefined);
  });

  it('refuses an `at` that is not a time', async () => {
    await expect(h.store.requestByAuditId(prodA, 'a8', 'noon')).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('lists the requests still waiting for the issuance of their access key', async () => {
    const page = await h.store.requestsByAccessKey('ASIAPENDING0000000001', DAY);
    expect(ids(page)).toEqual(idsOf('c5'));
    expect(page.items[0]?.handle).toEqual(expect.any(String));
    expect((await h.store.requestsByAccessKey('ASIANOTUSED000000000', DAY)).items).toEqual([]);
  });

  it('lists the authenticator lines of a cluster in time order', async () => {
    const page = await h.store.authenticatorRecords(prodA, DAY, { order: 'oldest-first' });
    expect(page.items).toEqual([authn.record, granted]);
    expect((await h.store.authenticatorRecords(prodA, DAY, { limit: 1 })).items).toEqual([granted]);
    expect((await h.store.authenticatorRecords(prodB, DAY)).items).toEqual([]);
  });
});

describe('mapping changes, credentials, registry, quarantine', () => {
  it('whole history of one cluster, oldest first, per account', async () => {
    expect((await h.store.mappingChanges(prodA)).map((c) => c.sourceEventId)).toEqual([
      'audit-0001',
      'ct-0001',
      'ct-0002',
      'audit-0002',
    ]);
    expect((await h.store.mappingChanges(prodB)).map((c) => c.sourceEventId)).toEqual(['ct-b-1']);
  });

  it('whole history by name when the name is unique', async () => {
    expect((await h.store.mappingChanges('staging')).map((c) => c.sourceEventId)).toEqual(['ct-s-1']);
  });

  it('by a name two accounts share: the placeholder account, where account-less sources wrote, never a real one', async () => {
    expect(await h.store.mappingChanges('prod')).toEqual([]);
    const local = await startStoreHarness(h.engine);
    const { accountId: _a, ...accountless } = accessEntryChange({ sourceEventId: 'ct-no-account' });
    await local.store.putMappingChanges([accessEntryChange(), accessEntryChange({ accountId: ACCOUNT_B })]);
    await local.store.putMappingChanges([accountless]);
    expect((await local.store.mappingChanges('prod')).map((c) => c.sourceEventId)).toEqual(['ct-no-account']);
    expect((await local.store.mappingChanges(prodA)).map((c) => c.sourceEventId)).toEqual(['ct-0001']);
    expect(local.counter.count('ScanCommand')).toBe(0);
  });

  it('credential by access key id', async () => {
    expect(await h.store.credential('ASIATCKASJUUD7MPDOZN')).toEqual(credentialIssuance());
    expect(await h.store.credential('ASIAUNKNOWN')).toBeUndefined();
  });

  it('issuances made by a session of a key (role chaining)', async () => {
    expect((await h.store.credentialsIssuedTo('ASIATCKASJUUD7MPDOZN')).map((c) => c.accessKeyId)).toEqual([
      'ASIACHAINED000000001',
    ]);
    expect(await h.store.credentialsIssuedTo('ASIACHAINED000000001')).toEqual([]);
  });

  it('evidence folds the history and answers credentials fetched up front', async () => {
    const ev = await h.store.evidenceFor(prodA, ['ASIATCKASJUUD7MPDOZN', 'ASIAUNKNOWN']);
    expect([...ev.mappingStateAt('2024-08-24T12:00:00Z').accessEntries.keys()]).toEqual([
      'arn:aws:iam::111122223333:role/admins',
    ]);
    expect(ev.mappingStateAt('2024-08-24T15:30:00Z').accessEntries.size).toBe(0);
    expect(ev.mappingStateAt('2024-08-24T12:00:00Z').awsAuth?.config.roles.map((r) => r.arn)).toEqual([
      'arn:aws:iam::111122223333:role/NodeRole',
    ]);
    expect(ev.credentialFor('ASIATCKASJUUD7MPDOZN')?.sourceEventId).toBe('sts-evt-1');
    expect(ev.credentialFor('ASIAUNKNOWN')).toBeUndefined();
    // By name: staging is in one account only.
    const staging = await h.store.evidenceFor('staging');
    expect([...staging.mappingStateAt('2024-08-24T12:00:00Z').accessEntries.keys()]).toEqual([DEV.toLowerCase()]);
  });

  it('lists registered clusters and resolves names', async () => {
    expect(await h.store.clusters()).toEqual(
      [prodA, prodB, stagingA].map((r) => ({ cluster: r.cluster, accountId: r.accountId })),
    );
    expect(await h.store.resolveCluster('staging')).toEqual({ cluster: 'staging', accountId: ACCOUNT_A });
    expect(await h.store.resolveCluster(`${ACCOUNT_B}/prod`)).toEqual({ cluster: 'prod', accountId: ACCOUNT_B });
    expect(await h.store.resolveCluster('nope')).toBeUndefined();
    const err = await h.store.resolveCluster('prod').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrailStoreError);
    expect((err as TrailStoreError).message).toContain(`${ACCOUNT_B}/prod`);
  });

  it('quarantine by day and by code', async () => {
    const all = await h.store.quarantined(undefined, DAY);
    expect(all.items.map((q) => q.sourceId)).toEqual(['kinesis-seq-2', quarantineRecord().sourceId]);
    const byCode = await h.store.quarantined('ENVELOPE_NOT_GZIP', DAY);
    expect(byCode.items.map((q) => q.sourceId)).toEqual(['kinesis-seq-2']);
    expect(byCode.items[0]?.raw).toBe('not json at all');
  });
});

describe('reads', () => {
  it('never used a Scan or PartiQL: only Query, GetItem and BatchGetItem', async () => {
    const counts = reads.counts();
    for (const name of FULL_TABLE_READS) expect(counts[name] ?? 0).toBe(0);
    expect(Object.keys(counts).sort()).toEqual(['BatchGetItemCommand', 'GetItemCommand', 'QueryCommand']);
  });
});
