import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { ingestLogPayloads, type LogBatchItem } from '../../../lib/ingest/log-pipeline.js';
import { type LogBatchWrite, TrailStoreError } from '../../../lib/store/trail-store.js';
import { authnLines, KIEM, KIEM_AUDIT_ID, kiemEvent, kiemLine, logPayload } from './fixtures.js';
import { MemoryTrailStore } from './memory-store.js';

const opts = { now: () => Date.parse('2024-08-24T15:00:00Z') };
const day = { from: '2024-08-24T00:00:00Z', to: '2024-08-24T23:59:59Z' };

const throttled = () => new TrailStoreError('throttled', 'THROTTLED', true);
const invalid = () => new TrailStoreError('bad request', 'VALIDATION', false);
const missingTable = () => new TrailStoreError('no table', 'NOT_FOUND', false);
const socket = () => new Error('socket hang up');

/** The kiem request at its ResponseStarted stage: a watch logs it, then ResponseComplete later. */
const kiemStartedLine = () =>
  JSON.stringify({ ...kiemEvent(), stage: 'ResponseStarted', stageTimestamp: '2024-08-24T14:27:07.480000Z' });

/** Another request of the same principal (own auditID), for batches of several requests. */
const kiemRequestLine = (auditID: string) => JSON.stringify({ ...kiemEvent(), auditID });

/** An aws-auth update mapping the kiem role (sso_admin) to system:masters, just before the request. */
const awsAuthUpdateLine = () =>
  JSON.stringify({
    ...kiemEvent(),
    auditID: '6f1f0c4e-0000-4000-8000-aws0auth0001',
    verb: 'update',
    requestURI: '/api/v1/namespaces/kube-system/configmaps/aws-auth',
    requestReceivedTimestamp: '2024-08-24T14:20:00.000000Z',
    stageTimestamp: '2024-08-24T14:20:00.010000Z',
    objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth', apiVersion: 'v1' },
    requestObject: {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { name: 'aws-auth', namespace: 'kube-system' },
      data: {
        mapRoles:
          '- rolearn: arn:aws:iam::211125685544:role/sso_admin\n  username: sso-admin\n  groups:\n    - system:masters\n',
      },
    },
  });

const items = (...payloads: ReturnType<typeof logPayload>[]): LogBatchItem[] =>
  payloads.map((payload, i) => ({ itemId: `item-${i}`, source: 'kinesis-record', payload }));

const auditIdsOf = (batch: LogBatchWrite) => [...new Set(batch.audit.map((r) => r.facts.event.auditID))].sort();

describe('ingestLogPayloads (pipeline logic over an in-memory port)', () => {
  it('keeps request and response bodies only where they are evidence (aws-auth, RBAC objects)', async () => {
    const store = new MemoryTrailStore();
    const withBody = { ...kiemEvent(), responseObject: { kind: 'NamespaceList', items: [] } };
    const awsAuth = {
      ...kiemEvent(),
      auditID: '6f1f0c4e-aws-auth-edit',
      verb: 'update',
      objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth', apiVersion: 'v1' },
      requestObject: {
        kind: 'ConfigMap',
        data: { mapRoles: '- rolearn: arn:aws:iam::211125685544:role/x\n  username: x\n' },
      },
    };
    await ingestLogPayloads([logPayload('audit', [JSON.stringify(withBody), JSON.stringify(awsAuth)])], store, opts);
    const request = await store.requestByAuditId(KIEM, KIEM_AUDIT_ID);
    const edit = await store.requestByAuditId(KIEM, '6f1f0c4e-aws-auth-edit');
    expect(request?.kind === 'request' && request.stages[0]?.event.responseObject).toBeUndefined();
    expect(edit?.kind === 'request' && edit.stages[0]?.event.requestObject).toEqual(awsAuth.requestObject);
  });

  it('skips streams it does not read and authenticator lines of no interest, and counts them', async () => {
    const store = new MemoryTrailStore();
    const s = await ingestLogPayloads(
      [
        logPayload('other', ['I1122 10:00:00.000000 1 scheduler.go:100] some scheduler line']),
        logPayload('authenticator', ['time="2024-08-24T14:00:00Z" level=info msg="Received aws-auth watch event"']),
      ],
      store,
      opts,
    );
    expect(s).toMatchObject({ recordsIn: 2, skippedOtherStreams: 1, skippedUnrecognised: 1, authenticatorRecords: 0 });
    // Nothing to store: no write at all.
    expect(store.calls).not.toContain('putLogBatch');
  });

  it('counts every log event each cluster sent, keyed account/region/name, the region from the subscription filter', async () => {
    const store = new MemoryTrailStore();
    const other = { owner: '333333333333', logGroup: '/aws/eks/staging/cluster' };
    const s = await ingestLogPayloads(
      [
        logPayload('audit', [kiemLine(), 'not JSON at all']),
        logPayload('other', ['I1122 10:00:00.000000 1 scheduler.go:100] some scheduler line']),
        logPayload('authenticator', ['time="2024-08-24T14:00:00Z" level=info msg="x"'], {
          ...other,
          subscriptionFilters: ['eks-access-trail-eu-west-1'],
        }),
        logPayload('authenticator', ['time="2024-08-24T14:00:00Z" level=info msg="y"'], {
          ...other,
          subscriptionFilters: ['owner-tooling'],
        }),
        logPayload('audit', [], { messageType: 'CONTROL_MESSAGE' }),
      ],
      store,
      opts,
    );
    // Poison and streams the trail does not read still prove the cluster is sending.
    expect(s.logEventsByCluster).toEqual({
      [`${KIEM.accountId}/us-east-1/${KIEM.cluster}`]: 3,
      '333333333333/eu-west-1/staging': 1,
      '333333333333/-/staging': 1,
    });
  });

  it.each([
    ['a throttled log batch write fails the item', 'putLogBatch', throttled, { failed: true, quarantined: {} }],
    [
      'a missing table fails the item (never quarantined into it)',
      'putLogBatch',
      missingTable,
      { failed: true, quarantined: {} },
    ],
    ['an unmapped error fails the item', 'putLogBatch', socket, { failed: true, quarantined: {} }],
    [
      'a log batch refused for good is quarantined',
      'putLogBatch',
      invalid,
      { failed: false, quarantined: { STORE_REJECTED: 1 } },
    ],
    ['a throttled mapping write fails the item', 'putMappingChanges', throttled, { failed: true, quarantined: {} }],
    ['throttled evidence fails the item', 'evidenceFor', throttled, { failed: true, quarantined: {} }],
  ] as const)('%s', async (_case, op, error, expected) => {
    const store = new MemoryTrailStore();
    store.failures[op] = error;
    const s = await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, opts);
    expect({ failed: s.outcomes[0]!.failed, quarantined: s.quarantined }).toEqual(expected);
    if (expected.failed) expect(store.allRequests()).toEqual([]);
  });

  it('a refused log batch is quarantined with the raw text of each of its records', async () => {
    const store = new MemoryTrailStore();
    store.failures.putLogBatch = invalid;
    const p = logPayload('audit', [kiemLine()]);
    await ingestLogPayloads([p], store, opts);
    expect(store.quarantineEntries.get(`cloudwatch-log-event#${p.logEvents[0]!.id}`)).toMatchObject({
      code: 'STORE_REJECTED',
      raw: kiemLine(),
      cluster: KIEM.cluster,
      accountId: KIEM.accountId,
    });
  });

  it('stores requests without evidence when evidence is refused for good; their links are derived at query time', async () => {
    const store = new MemoryTrailStore();
    store.failures.evidenceFor = invalid;
    const s = await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, opts);
    expect(s.evidenceFallbacks).toBe(1);
    expect(s.failedItemIds).toEqual([]);
    expect(store.writtenChains(KIEM_AUDIT_ID).map((c) => c.mapping.status)).toEqual(['unknown']);
    const listed = await store.requestsByCluster(KIEM, day);
    expect(listed.items.map((r) => r.kind === 'request' && r.auditID)).toEqual([KIEM_AUDIT_ID]);
  });

  it('logs the raw text when even the quarantine write is refused', async () => {
    const store = new MemoryTrailStore();
    store.failures.quarantine = invalid;
    const errors: Record<string, unknown>[] = [];
    const logger = {
      info() {},
      warn() {},
      error: (_m: string, ...x: Record<string, unknown>[]) => void errors.push(...x),
    };
    const s = await ingestLogPayloads([logPayload('audit', ['{not json'])], store, { ...opts, logger });
    expect(s.quarantineRejected).toBe(1);
    expect(errors[0]).toMatchObject({ code: 'AUDIT_NOT_JSON', raw: '{not json' });
  });

  it('fails the item when the quarantine write meets a transient fault, so the poison comes again', async () => {
    const store = new MemoryTrailStore();
    store.failures.quarantine = throttled;
    const s = await ingestLogPayloads(items(logPayload('audit', ['{not json'])), store, opts);
    expect(s.failedItemIds).toEqual(['item-0']);
    expect(s.quarantined).toEqual({});
  });

  it('counts a duplicate only within one log group (event id) and one cluster of one account (auditID+stage)', async () => {
    const store = new MemoryTrailStore();
    const one = (id: string, over: { logGroup?: string; owner?: string } = {}) =>
      logPayload('audit', [], {
        ...over,
        logEvents: [{ id, timestamp: Date.parse('2024-08-24T14:27:07Z'), message: kiemLine() }],
      });
    const s = await ingestLogPayloads(
      [
        one('ev-1'),
        // Same event id and request in another cluster's log group: neither is a duplicate.
        one('ev-1', { logGroup: '/aws/eks/other-cluster/cluster' }),
        // The same cluster name in another account: not the same request.
        one('ev-2', { owner: '999988887777' }),
        // Redelivered event, then the same request stage under a new event id.
        one('ev-1'),
        one('ev-3'),
      ],
      store,
      opts,
    );
    expect({ auditEvents: s.auditEvents, duplicates: s.duplicates }).toEqual({ auditEvents: 3, duplicates: 2 });
    expect(s.requestsStored).toBe(3);
  });

  it('counts distinct requests: the two stages of a watch are one request stored, two stages', async () => {
    const store = new MemoryTrailStore();
    const s = await ingestLogPayloads(
      items(
        logPayload('audit', [kiemStartedLine(), kiemRequestLine('0b7d9a11-0000-4000-8000-000000000002')]),
        // The final stage in another record of the same delivery.
        logPayload('audit', [kiemLine()]),
      ),
      store,
      opts,
    );
    expect({ requestsStored: s.requestsStored, stagesStored: s.stagesStored }).toEqual({
      requestsStored: 2,
      stagesStored: 3,
    });
    const watch = await store.requestByAuditId(KIEM, KIEM_AUDIT_ID);
    expect(watch?.kind === 'request' && watch.stages.map((f) => f.event.stage)).toEqual([
      'ResponseStarted',
      'ResponseComplete',
    ]);
    expect((await store.requestsByCluster(KIEM, day)).items).toHaveLength(2);
  });

  it('runs the stages in order: mapping changes stored (and alerted) before evidence is read, the stored hook after the store', async () => {
    const store = new MemoryTrailStore();
    const at: Record<string, number> = {};
    const s = await ingestLogPayloads(items(logPayload('audit', [awsAuthUpdateLine(), kiemLine(), '{poison'])), store, {
      ...opts,
      onNewMappingChanges: async () => {
        at['onNewMappingChanges'] ??= store.calls.length;
      },
      onRequestsStored: async () => {
        at['onRequestsStored'] ??= store.calls.length;
      },
    });
    expect(s.failedItemIds).toEqual([]);
    const first = (op: string) => store.calls.indexOf(op as (typeof store.calls)[number]);
    expect(first('putMappingChanges')).toBeGreaterThanOrEqual(0);
    expect(first('putMappingChanges')).toBeLessThan(first('evidenceFor'));
    // The alert hook is told (it reads the cluster's history) before evidence is read.
    expect(at['onNewMappingChanges']).toBeLessThanOrEqual(first('evidenceFor'));
    expect(first('evidenceFor')).toBeLessThan(first('putLogBatch'));
    // The stored hook runs once the rows are stored, before the quarantine entries are written.
    expect(at['onRequestsStored']).toBe(first('putLogBatch') + 1);
    expect(first('quarantine')).toBe(at['onRequestsStored']);
    // Because the aws-auth edit was stored first, the request of the same delivery is correlated with it.
    expect(store.writtenChains(KIEM_AUDIT_ID)[0]?.mapping.value).toMatchObject({
      source: 'aws-auth-role',
      username: 'sso-admin',
    });
  });

  it('hands the stored hook the chains of exactly the rows stored', async () => {
    const store = new MemoryTrailStore();
    const seen: DecisionChain[][] = [];
    // item-1's cluster has unreadable evidence (transient): it fails before the store and is not handed over.
    store.failures.evidenceFor = (ref) =>
      (typeof ref === 'string' ? ref : ref.cluster) === 'other-cluster' ? throttled() : undefined;
    const s = await ingestLogPayloads(
      items(
        logPayload('audit', [kiemStartedLine(), kiemLine()]),
        logPayload('audit', [kiemLine()], { logGroup: '/aws/eks/other-cluster/cluster' }),
      ),
      store,
      { ...opts, onRequestsStored: async (chains) => void seen.push([...chains]) },
    );
    expect(s.failedItemIds).toEqual(['item-1']);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.map((c) => [c.chainId, c.request.value?.stage])).toEqual([
      [`${KIEM.cluster}#${KIEM_AUDIT_ID}`, 'ResponseStarted'],
      [`${KIEM.cluster}#${KIEM_AUDIT_ID}`, 'ResponseComplete'],
    ]);
  });

  it('fails every item written when the stored hook fails, and hands the same chains over on the redelivery', async () => {
    const store = new MemoryTrailStore();
    const delivery = items(
      logPayload('audit', [kiemLine(), '{poison']),
      logPayload('authenticator', [authnLines('rotel-lambda-forwarder-2025.log')[0]!]),
      logPayload('audit', ['{only poison']),
    );
    const failing = await ingestLogPayloads(delivery, store, {
      ...opts,
      onRequestsStored: async () => {
        throw new Error('SNS unavailable');
      },
    });
    // Both items holding rows come again; the one holding only poison is done (and quarantined).
    expect(failing.failedItemIds).toEqual(['item-0', 'item-1']);
    expect(failing.quarantined).toEqual({ AUDIT_NOT_JSON: 1 });
    expect([...store.quarantineEntries.values()].map((q) => q.raw)).toEqual(['{only poison']);

    const seen: string[][] = [];
    const retried = await ingestLogPayloads(delivery.slice(0, 2), store, {
      ...opts,
      onRequestsStored: async (chains) => void seen.push(chains.map((c) => c.chainId)),
    });
    expect(retried.failedItemIds).toEqual([]);
    expect(seen).toEqual([[`${KIEM.cluster}#${KIEM_AUDIT_ID}`]]);
    expect(retried.quarantined).toEqual({ AUDIT_NOT_JSON: 1 });
    // The redelivery rewrote the same rows: still one request.
    expect(store.allRequests()).toHaveLength(1);
  });

  it('fails every item written in one putLogBatch on a transient fault, and no other', async () => {
    const store = new MemoryTrailStore();
    store.failures.putLogBatch = throttled;
    const line = authnLines('rotel-lambda-forwarder-2025.log')[0]!;
    const delivery: LogBatchItem[] = [
      { itemId: 'poison', source: 'kinesis-record', payload: logPayload('audit', ['{not json']) },
      ...['a', 'b', 'c'].map(
        (id): LogBatchItem => ({ itemId: id, source: 'kinesis-record', payload: logPayload('authenticator', [line]) }),
      ),
    ];
    for (const stopAtFirstFailure of [false, true]) {
      store.calls.length = 0;
      const s = await ingestLogPayloads(delivery, store, { ...opts, stopAtFirstFailure });
      // One call for the delivery: the rows of a, b and c together (the store keys segments by their first unit).
      expect(store.calls.filter((c) => c === 'putLogBatch')).toHaveLength(1);
      expect(s.failedItemIds).toEqual(['a', 'b', 'c']);
      // The item holding only poison is not failed with them: its quarantine entry is written now.
      expect(s.quarantined).toEqual({ AUDIT_NOT_JSON: 1 });
    }
  });

  it('quarantines only the item that holds a record the store refuses for good, and stores the others', async () => {
    const store = new MemoryTrailStore();
    const refused = '0b7d9a11-0000-4000-8000-0000000000bb';
    const sent: string[][] = [];
    store.failures.putLogBatch = (batch) => {
      sent.push(auditIdsOf(batch));
      return auditIdsOf(batch).includes(refused) ? invalid() : undefined;
    };
    const a = logPayload('audit', [kiemRequestLine('0b7d9a11-0000-4000-8000-0000000000aa')]);
    const b = logPayload('audit', [kiemRequestLine(refused), kiemRequestLine('0b7d9a11-0000-4000-8000-0000000000b2')]);
    const c = logPayload('audit', [kiemRequestLine('0b7d9a11-0000-4000-8000-0000000000cc')]);
    const s = await ingestLogPayloads(items(a, b, c), store, opts);
    // The delivery in one call, then one call per item to find the one holding the refusal.
    expect(sent.map((ids) => ids.length)).toEqual([4, 1, 2, 1]);
    expect(s.failedItemIds).toEqual([]);
    expect(s.quarantined).toEqual({ STORE_REJECTED: 2 });
    expect([...store.quarantineEntries.values()].map((q) => q.sourceId).sort()).toEqual(
      b.logEvents.map((e) => e.id).sort(),
    );
    expect(store.allRequests().map((r) => r.kind === 'request' && r.auditID)).toEqual([
      '0b7d9a11-0000-4000-8000-0000000000aa',
      '0b7d9a11-0000-4000-8000-0000000000cc',
    ]);
    expect({ requestsStored: s.requestsStored, stagesStored: s.stagesStored }).toEqual({
      requestsStored: 2,
      stagesStored: 2,
    });
  });

  it('fails only the item whose own write meets a transient fault after the delivery was refused', async () => {
    const store = new MemoryTrailStore();
    let n = 0;
    store.failures.putLogBatch = () => (++n === 1 ? invalid() : n === 3 ? throttled() : undefined);
    const s = await ingestLogPayloads(
      items(
        logPayload('audit', [kiemRequestLine('0b7d9a11-0000-4000-8000-0000000000aa')]),
        logPayload('audit', [kiemRequestLine('0b7d9a11-0000-4000-8000-0000000000bb')]),
        logPayload('audit', [kiemRequestLine('0b7d9a11-0000-4000-8000-0000000000cc')]),
      ),
      store,
      opts,
    );
    expect(s.failedItemIds).toEqual(['item-1']);
    expect(s.quarantined).toEqual({});
    expect(s.requestsStored).toBe(2);
  });

  it('tags every row with its delivery unit, in delivery order', async () => {
    const store = new MemoryTrailStore();
    const delivery: LogBatchItem[] = [
      { itemId: '1', unitId: 'shardId-0:1', source: 'kinesis-record', payload: logPayload('audit', [kiemLine()]) },
      {
        itemId: '2',
        source: 'kinesis-record',
        payload: logPayload('authenticator', [authnLines('rotel-lambda-forwarder-2025.log')[0]!]),
      },
    ];
    await ingestLogPayloads(delivery, store, opts);
    const [batch] = store.batches;
    expect(batch?.audit.map((r) => r.unit)).toEqual([{ id: 'shardId-0:1', index: 0 }]);
    // Without a unitId the item id names the unit.
    expect(batch?.authenticator.map((r) => r.unit)).toEqual([{ id: '2', index: 1 }]);
  });

  const message = fc.oneof(
    fc.string(),
    fc.constant(kiemLine()),
    fc.constant(`${kiemLine().slice(0, 300)}[Truncated...]`),
    fc.constantFrom(...authnLines('aws-knowledge-center-eks-api-server-unauthorized.log')),
    fc.json(),
  );
  const payloadArb = fc.record({
    kind: fc.constantFrom('audit' as const, 'authenticator' as const, 'other' as const),
    messages: fc.array(message, { maxLength: 6 }),
    logGroup: fc.oneof(fc.constant(`/aws/eks/${KIEM.cluster}/cluster`), fc.string()),
    control: fc.boolean(),
  });

  it('never throws and accounts for every log event, whatever the payloads hold', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(payloadArb, { maxLength: 4 }), async (specs) => {
        const store = new MemoryTrailStore();
        const payloads = specs.map((p) =>
          logPayload(p.kind, p.messages, {
            logGroup: p.logGroup,
            ...(p.control ? { messageType: 'CONTROL_MESSAGE' as const } : {}),
          }),
        );
        const s = await ingestLogPayloads(payloads, store, opts);
        expect(s.failedItemIds).toEqual([]);
        const dataEvents = payloads
          .filter((p) => p.messageType === 'DATA_MESSAGE')
          .reduce((n, p) => n + p.logEvents.length, 0);
        expect(s.recordsIn).toBe(dataEvents);
        const quarantined = Object.values(s.quarantined).reduce((a, b) => a + (b ?? 0), 0);
        expect(quarantined).toBe(store.quarantineEntries.size);
        expect(s.auditEvents + s.authenticatorLines + s.skippedOtherStreams + s.duplicates).toBeLessThanOrEqual(
          s.recordsIn,
        );
        // Every request counted as stored can be listed back.
        expect(store.allRequests().filter((r) => r.kind === 'request')).toHaveLength(s.requestsStored);
      }),
      { numRuns: 150 },
    );
  });
});
