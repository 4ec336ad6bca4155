import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ingestLogPayloads, type LogBatchItem } from '../../../lib/ingest/log-pipeline.js';
import { TrailStoreError } from '../../../lib/store/trail-store.js';
import { authnLines, KIEM, KIEM_AUDIT_ID, kiemEvent, kiemLine, logPayload } from './fixtures.js';
import { MemoryTrailStore } from './memory-store.js';

const opts = { now: () => Date.parse('2024-08-24T15:00:00Z') };

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
    expect(store.chains.get(`${KIEM.cluster}#${KIEM_AUDIT_ID}`)?.facts.event.responseObject).toBeUndefined();
    expect(store.chains.get(`${KIEM.cluster}#6f1f0c4e-aws-auth-edit`)?.facts.event.requestObject).toEqual(
      awsAuth.requestObject,
    );
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
  });

  const throttled = () => new TrailStoreError('throttled', 'THROTTLED', true);
  const invalid = () => new TrailStoreError('bad request', 'VALIDATION', false);
  const missingTable = () => new TrailStoreError('no table', 'NOT_FOUND', false);
  const socket = () => new Error('socket hang up');

  it.each([
    ['a throttled chain write fails the item', 'putChains', throttled, { failed: true, quarantined: {} }],
    [
      'a missing table fails the item (never quarantined into it)',
      'putChains',
      missingTable,
      { failed: true, quarantined: {} },
    ],
    ['an unmapped error fails the item', 'putChains', socket, { failed: true, quarantined: {} }],
    ['a refused chain is quarantined', 'putChains', invalid, { failed: false, quarantined: { STORE_REJECTED: 1 } }],
    ['a throttled mapping write fails the item', 'putMappingChanges', throttled, { failed: true, quarantined: {} }],
    ['throttled evidence fails the item', 'evidenceFor', throttled, { failed: true, quarantined: {} }],
  ] as const)('%s', async (_case, op, error, expected) => {
    const store = new MemoryTrailStore();
    store.failures[op] = error;
    const s = await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, opts);
    expect({ failed: s.outcomes[0]!.failed, quarantined: s.quarantined }).toEqual(expected);
  });

  it('stores chains without evidence when evidence is refused for good, to be re-derived at query time', async () => {
    const store = new MemoryTrailStore();
    store.failures.evidenceFor = invalid;
    const s = await ingestLogPayloads([logPayload('audit', [kiemLine()])], store, opts);
    expect(s.evidenceFallbacks).toBe(1);
    expect(s.failedItemIds).toEqual([]);
    expect(store.chains.get(`${KIEM.cluster}#${KIEM_AUDIT_ID}`)?.chain.mapping.status).toBe('unknown');
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
  });

  it('works on every item when it need not stop at the first failure', async () => {
    const store = new MemoryTrailStore();
    let calls = 0;
    store.failures.putAuthenticatorRecords = () => {
      calls++;
      return new TrailStoreError('throttled', 'THROTTLED', true);
    };
    const line = authnLines('rotel-lambda-forwarder-2025.log')[0]!;
    const items: LogBatchItem[] = ['a', 'b', 'c'].map((id) => ({
      itemId: id,
      source: 'replay-file',
      payload: logPayload('authenticator', [line]),
    }));
    const s = await ingestLogPayloads(items, store, opts);
    expect(calls).toBe(3);
    expect(s.failedItemIds).toEqual(['a', 'b', 'c']);
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
        expect(quarantined).toBe(store.quarantined.size);
        expect(s.auditEvents + s.authenticatorLines + s.skippedOtherStreams + s.duplicates).toBeLessThanOrEqual(
          s.recordsIn,
        );
      }),
      { numRuns: 150 },
    );
  });
});
