import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import type { Page, StoredChain } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { ClusterRef } from '../../../lib/store/keys.js';
import { TrailStoreError } from '../../../lib/store/trail-store.js';
import {
  ACCOUNT_A,
  ACCOUNT_B,
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
 * Every access pattern of docs/data-model.md against a real engine: each returns exactly the seeded
 * items it should (and none of the look-alikes: same cluster name in another account, other
 * principals, other namespaces), and the whole file never sends a Scan.
 */
let h: StoreHarness;
const prodA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const prodB: ClusterRef = { accountId: ACCOUNT_B, cluster: 'prod' };
const stagingA: ClusterRef = { accountId: ACCOUNT_A, cluster: 'staging' };
const DAY = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59.999Z' };
const SSO = 'arn:aws:iam::211125685544:role/sso_admin';
const DEV = 'arn:aws:iam::111122223333:role/Dev';

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
};

const authnFailure = (): { chain: DecisionChain; facts: (typeof seeded)['c1']['facts'] } => {
  const { facts } = seeded.c1;
  const chain: DecisionChain = {
    chainId: 'prod#authn#37516444617216000000000000000000000000000000000000000001',
    kind: 'authn-failure',
    cluster: 'prod',
    accountId: ACCOUNT_A,
    at: '2024-08-24T09:15:00.123Z',
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
  return { chain, facts };
};
const authn = authnFailure();
const [pantherStarted, pantherForbidden] = pantherEvents();

const ids = (p: Page<StoredChain>) => p.items.map((c) => c.chain.chainId);
const sorted = (xs: string[]) => [...xs].sort();

beforeAll(async () => {
  h = await startStoreHarness();
  await h.store.putChains([...Object.values(seeded), authn]);
  await h.store.putChains([
    chainFromEvent(pantherStarted!, { cluster: 'prod', accountId: ACCOUNT_A }),
    chainFromEvent(pantherForbidden!, { cluster: 'prod', accountId: ACCOUNT_A }),
  ]);
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
  await h.store.putCredentials([credentialIssuance()]);
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
});

afterAll(async () => {
  await h.engine.stop();
});

describe('chains by cluster and time', () => {
  it('returns exactly the chains of that account+cluster in the range, newest first', async () => {
    const page = await h.store.chainsByCluster(prodA, DAY, { limit: 100 });
    expect(ids(page)).toEqual([seeded.c6, seeded.c5, seeded.c2, seeded.c1, authn].map((c) => c.chain.chainId));
    expect(page.cursor).toBeUndefined();
  });

  it('keeps the same cluster name in another account apart', async () => {
    expect(ids(await h.store.chainsByCluster(prodB, DAY))).toEqual([seeded.c3.chain.chainId]);
  });

  it('treats both ends of the range as inclusive and orders oldest first on request', async () => {
    const page = await h.store.chainsByCluster(
      prodA,
      { from: '2024-08-24T10:00:00.000001Z', to: '2024-08-24T23:59:59.999999Z' },
      { order: 'oldest-first' },
    );
    expect(ids(page)).toEqual([seeded.c1, seeded.c2, seeded.c5, seeded.c6].map((c) => c.chain.chainId));
  });

  it('finds real 2022 panther events by their own (space-separated, zone-less) timestamps', async () => {
    const page = await h.store.chainsByCluster(prodA, { from: '2022-11-29T00:00:00Z', to: '2022-11-29T23:59:59Z' });
    expect(sorted(page.items.map((c) => c.chain.auditID ?? ''))).toEqual(
      sorted([pantherStarted!.auditID, pantherForbidden!.auditID]),
    );
  });
});

describe('chains by identity', () => {
  it('by canonical principal across the fleet, and narrowed to one cluster', async () => {
    expect(sorted(ids(await h.store.chainsByPrincipal(SSO, DAY)))).toEqual(
      sorted([seeded.c1, seeded.c2, seeded.c3, seeded.c6].map((c) => c.chain.chainId)),
    );
    expect(
      sorted(
        ids(await h.store.chainsByPrincipal(SSO.toUpperCase().replace('ARN:AWS:IAM', 'arn:aws:iam'), DAY, {}, prodA)),
      ),
    ).toEqual(sorted([seeded.c1, seeded.c2, seeded.c6].map((c) => c.chain.chainId)));
    expect(sorted(ids(await h.store.chainsByPrincipal(DEV, DAY)))).toEqual(
      sorted([seeded.c4, seeded.c5, authn].map((c) => c.chain.chainId)),
    );
  });

  it('by human', async () => {
    expect(sorted(ids(await h.store.chainsByHuman('GoMyers@PaloAltoNetworks.com', DAY)))).toEqual(
      sorted([seeded.c1, seeded.c3, seeded.c6].map((c) => c.chain.chainId)),
    );
  });

  it('by Kubernetes username on one cluster', async () => {
    expect(sorted(ids(await h.store.chainsByK8sUser(prodA, 'alice', DAY)))).toEqual(
      sorted([seeded.c1, seeded.c2, seeded.c6].map((c) => c.chain.chainId)),
    );
    expect(ids(await h.store.chainsByK8sUser(stagingA, 'dev', DAY))).toEqual([seeded.c4.chain.chainId]);
  });
});

describe('chains by resource', () => {
  it.each([
    ['namespace', { namespace: 'default' }, ['c1', 'c2', 'c6']],
    ['kind across namespaces', { resource: 'pods' }, ['c1', 'c5', 'c6']],
    ['kind within a namespace', { resource: 'pods', namespace: 'default' }, ['c1', 'c6']],
    ['one object', { resource: 'pods', namespace: 'default', name: 'web-1' }, ['c1']],
    ['one secret', { resource: 'secrets', namespace: 'default', name: 'db' }, ['c2']],
  ] as const)('by %s', async (_label, query, expected) => {
    const page = await h.store.chainsByResource(prodA, query, DAY);
    expect(sorted(ids(page))).toEqual(sorted(expected.map((k) => seeded[k].chain.chainId)));
  });

  it('by a cluster-scoped object (no namespace)', async () => {
    const page = await h.store.chainsByResource(stagingA, { resource: 'nodes', name: 'ip-10-0-0-1' }, DAY);
    expect(ids(page)).toEqual([seeded.c4.chain.chainId]);
  });

  it('rejects a query with neither resource nor namespace', async () => {
    await expect(h.store.chainsByResource(prodA, {}, DAY)).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});

describe('denials, single chains, re-enrichment', () => {
  it('lists 403s and failed authentications of the cluster only', async () => {
    expect(sorted(ids(await h.store.denials(prodA, DAY)))).toEqual(
      sorted([seeded.c2.chain.chainId, authn.chain.chainId]),
    );
    expect(ids(await h.store.denials(prodA, { from: '2022-11-29T00:00:00Z', to: '2022-11-30T00:00:00Z' }))).toEqual([
      `prod#${pantherForbidden!.auditID}`,
    ]);
  });

  it('gets one chain by auditID and by chainId', async () => {
    expect((await h.store.chainByAuditId(prodA, 'a1'))?.chain).toEqual(seeded.c1.chain);
    expect(await h.store.chainByAuditId(prodB, 'a1')).toBeUndefined();
    expect((await h.store.chainById(authn.chain.chainId, ACCOUNT_A))?.chain).toEqual(authn.chain);
    expect((await h.store.chainById('staging#a4'))?.chain).toEqual(seeded.c4.chain);
  });

  it('lists the chains still waiting for an access key', async () => {
    const facts = await h.store.chainsUsingAccessKey('ASIAPENDING0000000001');
    expect(facts.map((f) => f.event.auditID)).toEqual(['a5']);
    expect(await h.store.chainsUsingAccessKey('ASIANOTUSED000000000')).toEqual([]);
  });
});

describe('mapping changes, credentials, registry, quarantine', () => {
  it('by cluster and time, oldest first', async () => {
    const got = await h.store.mappingChangesByCluster(prodA, DAY);
    expect(got.map((c) => c.sourceEventId)).toEqual(['audit-0001', 'ct-0001', 'ct-0002', 'audit-0002']);
    const narrow = await h.store.mappingChangesByCluster(prodA, {
      from: '2024-08-24T09:30:00Z',
      to: '2024-08-24T15:00:00Z',
    });
    expect(narrow.map((c) => c.sourceEventId)).toEqual(['ct-0001', 'ct-0002']);
  });

  it('by cluster and principal: its own entry ops plus the aws-auth versions that named it or dropped it', async () => {
    const admins = await h.store.mappingChangesByPrincipal(prodA, 'arn:aws:iam::111122223333:role/Admins', DAY);
    expect(admins.map((c) => c.sourceEventId)).toEqual(['ct-0001', 'ct-0002']);
    const node = await h.store.mappingChangesByPrincipal(prodA, 'arn:aws:iam::111122223333:role/noderole', DAY);
    expect(node.map((c) => c.sourceEventId)).toEqual(['audit-0001', 'audit-0002']);
  });

  it('by actor across clusters', async () => {
    const got = await h.store.mappingChangesByActor('arn:aws:iam::111122223333:role/Platform', DAY);
    expect(sorted(got.map((c) => `${c.accountId}/${c.cluster}/${c.sourceEventId}`))).toEqual(
      sorted([
        `${ACCOUNT_A}/prod/audit-0001`,
        `${ACCOUNT_A}/prod/ct-0001`,
        `${ACCOUNT_A}/prod/ct-0002`,
        `${ACCOUNT_A}/prod/audit-0002`,
        `${ACCOUNT_B}/prod/ct-b-1`,
        `${ACCOUNT_A}/staging/ct-s-1`,
      ]),
    );
  });

  it('whole history of one cluster, by name when the name is unique', async () => {
    expect((await h.store.mappingChanges('prod', ACCOUNT_B)).map((c) => c.sourceEventId)).toEqual(['ct-b-1']);
    expect((await h.store.mappingChanges('staging')).map((c) => c.sourceEventId)).toEqual(['ct-s-1']);
  });

  it('credential by access key id', async () => {
    expect(await h.store.credential('ASIATCKASJUUD7MPDOZN')).toEqual(credentialIssuance());
    expect(await h.store.credential('ASIAUNKNOWN')).toBeUndefined();
  });

  it('evidence folds the history and answers credentials fetched up front', async () => {
    const ev = await h.store.evidenceFor('prod', ACCOUNT_A, ['ASIATCKASJUUD7MPDOZN', 'ASIAUNKNOWN']);
    expect([...ev.mappingStateAt('2024-08-24T12:00:00Z').accessEntries.keys()]).toEqual([
      'arn:aws:iam::111122223333:role/admins',
    ]);
    expect(ev.mappingStateAt('2024-08-24T15:30:00Z').accessEntries.size).toBe(0);
    expect(ev.mappingStateAt('2024-08-24T12:00:00Z').awsAuth?.config.roles.map((r) => r.arn)).toEqual([
      'arn:aws:iam::111122223333:role/NodeRole',
    ]);
    expect(ev.credentialFor('ASIATCKASJUUD7MPDOZN')?.sourceEventId).toBe('sts-evt-1');
    expect(ev.credentialFor('ASIAUNKNOWN')).toBeUndefined();
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
    const counts = h.counter.counts();
    for (const name of FULL_TABLE_READS) expect(counts[name] ?? 0).toBe(0);
    expect(Object.keys(counts).sort()).toEqual(['BatchGetItemCommand', 'GetItemCommand', 'QueryCommand']);
  });
});
