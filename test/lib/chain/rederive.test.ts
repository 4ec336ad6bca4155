import { describe, expect, it } from 'vitest';
import { correlateAuditEvent, correlateAuthnFailure } from '../../../lib/chain/correlate.js';
import { credentialFromCloudTrail, inMemoryEvidence } from '../../../lib/chain/evidence.js';
import {
  accessKeysOf,
  authenticatorContext,
  DENIAL_JOIN_SLACK_MS,
  finalChains,
  isUnauthenticated,
  matchUnauthenticatedRequests,
  rederive,
} from '../../../lib/chain/rederive.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { changesFromCloudTrail } from '../../../lib/identity/mapping-timeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { parseAuditEvent } from '../../../lib/sources/audit-event.js';
import { parseAuthenticatorLine } from '../../../lib/sources/authenticator-line.js';
import { parseEventBridgeEvent } from '../../../lib/sources/cloudtrail.js';
import type { AccessDeniedLine, AuditEvent, CloudTrailEvent, LogEventOrigin } from '../../../lib/sources/types.js';
import type {
  ClusterRef,
  StoredAuditFacts,
  StoredAuthenticatorRecord,
  StoredRequest,
} from '../../../lib/store/trail-store.js';
import { authnLines, cloudTrail, KIEM, KIEM_AUDIT_ID, KIEM_TS, kiemLine, logPayload } from '../ingest/fixtures.js';
import { MemoryTrailStore } from '../ingest/memory-store.js';

const ct = (name: string): CloudTrailEvent => {
  const r = parseEventBridgeEvent(cloudTrail(name));
  if (!r.ok) throw new Error(`fixture ${name} does not parse`);
  return r.value;
};
const event = (() => {
  const r = parseAuditEvent(kiemLine());
  if (!r.ok) throw new Error('fixture does not parse');
  return r.value;
})();
const ref: ClusterRef = { cluster: KIEM.cluster, accountId: KIEM.accountId };
const origin = { cluster: KIEM.cluster, accountId: KIEM.accountId, eventId: 'e1', timestamp: KIEM_TS };
const empty = inMemoryEvidence({ cluster: KIEM.cluster, mappingChanges: [], credentials: [] });
const full = inMemoryEvidence({
  cluster: KIEM.cluster,
  mappingChanges: [
    ...changesFromCloudTrail(ct('createAccessEntry')),
    ...changesFromCloudTrail(ct('associateAccessPolicy')),
  ],
  credentials: [credentialFromCloudTrail(ct('assumeRole'))!],
});

/** A stored request as listings hand it out: its stages' facts, oldest stage first. */
const stored = (...stages: StoredAuditFacts[]): Extract<StoredRequest, { kind: 'request' }> => ({
  kind: 'request',
  ref,
  at: '2024-08-24T14:27:07.461683Z',
  auditID: stages[0]!.event.auditID,
  stages,
});
const facts = (e: AuditEvent = event, o: StoredAuditFacts['origin'] = origin): StoredAuditFacts => ({
  origin: o,
  event: e,
});

describe('rederive', () => {
  it('completes a request stored before its mapping history and issuance arrived', () => {
    expect(correlateAuditEvent(event, origin, empty).pendingEnrichment).toBe(true);
    const chain = rederive(stored(facts()), full);
    expect(chain).toEqual(correlateAuditEvent(event, origin, full));
    expect(chain.mapping.value?.source).toBe('access-entry');
    expect(chain.human.value?.credentialEventId).toBe('c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03');
    expect(chain.pendingEnrichment).toBe(false);
  });

  it('gives the answer the evidence supports now: the same facts with no evidence stay pending', () => {
    const chain = rederive(stored(facts()), empty);
    expect(chain).toEqual(correlateAuditEvent(event, origin, empty));
    expect(chain.human.status).toBe('unknown');
  });

  it('takes the account from the cluster ref when the stored facts do not name it, but never the placeholder', () => {
    const { accountId: _a, ...noAccount } = origin;
    expect(rederive(stored(facts(event, noAccount)), full).accountId).toBe(KIEM.accountId);
    const unknownRef = { ...stored(facts(event, noAccount)), ref: { cluster: KIEM.cluster, accountId: '_' } };
    expect(rederive(unknownRef, full).accountId).toBeUndefined();
  });

  it('joins the stages of a request: facts of the latest stage, a link an earlier stage supports kept', () => {
    // ResponseStarted carries user.extra (the access key); the final stage lost it, as a cut event can.
    const started: AuditEvent = { ...event, stage: 'ResponseStarted', stageTimestamp: '2024-08-24T14:27:07.480000Z' };
    const complete: AuditEvent = { ...event, user: { ...event.user, extra: {} } };
    expect(rederive(stored(facts(complete)), full).human.status).toBe('unknown');
    const chain = rederive(stored(facts(started), facts(complete)), full);
    expect(chain.request.value?.stage).toBe('ResponseComplete');
    expect(chain.principal).toMatchObject({ status: 'observed', value: { accessKeyId: 'ASIATCKASJUUD7MPDOZN' } });
    expect(chain.human.value?.credentialEventId).toBe('c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03');
    // Any stage order gives the same chain.
    expect(rederive(stored(facts(complete), facts(started)), full)).toEqual(chain);
  });

  it('derives an authenticator denial from its stored line, with its STS line when the context has it', () => {
    const parsed = parseAuthenticatorLine(authnLines('aws-knowledge-center-eks-api-server-unauthorized.log')[2]!);
    if (!parsed.ok || parsed.value.kind !== 'access-denied') throw new Error('fixture is not a denial');
    const line = parsed.value as AccessDeniedLine;
    const o: LogEventOrigin = {
      ...origin,
      logGroup: `/aws/eks/${KIEM.cluster}/cluster`,
      logStream: 'authenticator-1111222272c52cc05e3177863bdcc12d',
      streamKind: 'authenticator',
      eventId: 'denial-1',
    };
    const request: StoredRequest = {
      kind: 'authn-failure',
      ref,
      at: '2024-08-24T14:27:07.500000Z',
      denial: { origin: o, line },
    };
    const chain: DecisionChain = rederive(request, full);
    expect(chain.chainId).toBe(`${KIEM.cluster}#authn#denial-1`);
    expect(chain).toEqual(correlateAuthnFailure(line, o, full));
  });
});

describe('accessKeysOf', () => {
  it('collects the access keys the stored stages name, once, sorted; denials name none', () => {
    const other: AuditEvent = {
      ...event,
      auditID: 'other',
      user: { ...event.user, extra: { ...event.user.extra, accessKeyId: ['ASIAAAAAAAAAAAAAAAAA', ''] } },
    };
    expect(accessKeysOf([stored(facts()), stored(facts()), stored(facts(other))])).toEqual([
      'ASIAAAAAAAAAAAAAAAAA',
      'ASIATCKASJUUD7MPDOZN',
    ]);
  });
});

describe('401 requests joined to authenticator denials by time (docs/formats.md §2.4)', () => {
  const stream = 'authenticator-1111222272c52cc05e3177863bdcc12d';
  const at = Date.parse('2024-08-24T14:27:07.461Z');
  const denied = (() => {
    const p = parseAuthenticatorLine(authnLines('aws-knowledge-center-eks-api-server-unauthorized.log')[2]!);
    if (!p.ok || p.value.kind !== 'access-denied') throw new Error('fixture is not a denial');
    return p.value;
  })();
  const record = (eventId: string, timestamp: number, cluster: string = KIEM.cluster): StoredAuthenticatorRecord => ({
    origin: {
      cluster,
      accountId: KIEM.accountId,
      logGroup: `/aws/eks/${cluster}/cluster`,
      logStream: stream,
      streamKind: 'authenticator',
      eventId,
      timestamp,
    },
    line: denied,
  });
  const unauthenticated = (auditID: string, receivedMs: number): Extract<StoredRequest, { kind: 'request' }> => {
    const ev = {
      ...event,
      auditID,
      stage: 'ResponseStarted',
      user: { groups: [], extra: {} },
      annotations: {},
      responseStatus: { code: 401, message: 'Authentication failed, attempted: bearer' },
      requestReceivedTimestamp: new Date(receivedMs).toISOString(),
      stageTimestamp: new Date(receivedMs + 30).toISOString(),
    } as typeof event;
    delete (ev.user as { username?: string }).username;
    return { ...stored(facts(ev, { ...origin, eventId: auditID })), at: new Date(receivedMs).toISOString() };
  };

  it('joins a 401 to the only denial in its window and names the failed stage', () => {
    const r = unauthenticated('a-401', at);
    expect(isUnauthenticated(r)).toBe(true);
    const ctx = authenticatorContext([r], [record('d1', at + 12)]);
    expect(ctx.unauthenticated.get(`${KIEM.cluster}#a-401`)?.origin.eventId).toBe('d1');
    const chain = rederive(r, empty, ctx);
    expect(chain.decision.value?.denial).toMatchObject({ stage: 'unmapped', failureClass: 'identity-not-mapped' });
    expect(chain.principal.value?.canonicalArn).toBe(denied.canonicalArn);
    expect(chain.mapping.value?.source).toBe('unmapped');
  });

  it.each([
    ['two denials in its window', [unauthenticated('a', at)], [record('d1', at + 5), record('d2', at + 20)]],
    [
      'one denial in the window of two 401s',
      [unauthenticated('a', at), unauthenticated('b', at + 10)],
      [record('d1', at + 15)],
    ],
    ['a denial outside the window', [unauthenticated('a', at)], [record('d1', at + 30 + DENIAL_JOIN_SLACK_MS + 1)]],
    ['a denial of another cluster', [unauthenticated('a', at)], [record('d1', at + 5, 'other-cluster')]],
  ])('joins nothing when there is %s', (_kind, requests, records) => {
    expect(matchUnauthenticatedRequests(requests, records).size).toBe(0);
    const chain = rederive(requests[0]!, empty, authenticatorContext(requests, records));
    expect(chain.decision.value?.denial?.stage).toBe('authentication');
    expect(chain.principal.value?.canonicalArn).toBeUndefined();
  });

  it('never joins a request that authenticated', () => {
    const r = stored(facts());
    expect(isUnauthenticated(r)).toBe(false);
    expect(matchUnauthenticatedRequests([r], [record('d1', KIEM_TS)]).size).toBe(0);
  });
});

describe('finalChains', () => {
  const range = { from: '2024-08-24T14:00:00Z', to: '2024-08-24T14:59:59Z' };
  const opts = { now: () => KIEM_TS + 60_000 };

  it('derives every request of the window with the evidence as it stands, paging through the store', async () => {
    const store = new MemoryTrailStore();
    // 1,001 requests: more than one page of the listing.
    const lines = Array.from({ length: 1_001 }, (_, i) =>
      JSON.stringify({ ...JSON.parse(kiemLine()), auditID: `req-${String(i).padStart(4, '0')}` }),
    );
    await ingestLogPayloads([logPayload('audit', lines)], store, opts);
    const before = await finalChains(store, ref, range);
    expect(before).toHaveLength(1_001);
    expect(before.every((c) => c.human.status === 'unknown')).toBe(true);
    expect(store.calls.filter((c) => c === 'requestsByCluster')).toHaveLength(2);
    // Requests without a 401 or denial need no authenticator records.
    expect(store.calls).not.toContain('authenticatorRecords');
    // Sorted by chainId.
    expect(before.map((c) => c.chainId)).toEqual([...before.map((c) => c.chainId)].sort());

    await store.putCredentials([credentialFromCloudTrail(ct('assumeRole'))!]);
    const after = await finalChains(store, ref, range);
    expect(after.every((c) => c.human.value?.credentialEventId === 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03')).toBe(true);
  });

  it('reads the authenticator records when the window holds denials, and names the principal of each', async () => {
    const store = new MemoryTrailStore();
    await ingestLogPayloads(
      [
        logPayload('audit', [kiemLine()]),
        logPayload('authenticator', authnLines('aws-knowledge-center-eks-api-server-unauthorized.log')),
      ],
      store,
      opts,
    );
    const chains = await finalChains(store, ref, range);
    expect(store.calls).toContain('authenticatorRecords');
    expect(chains.map((c) => c.kind).sort()).toEqual(['authn-failure', 'authn-failure', 'request']);
    expect(chains.find((c) => c.kind === 'request')?.auditID).toBe(KIEM_AUDIT_ID);
  });

  it('reads nothing else for an empty window', async () => {
    const store = new MemoryTrailStore();
    expect(await finalChains(store, ref, range)).toEqual([]);
    expect(store.calls).toEqual(['requestsByCluster']);
  });
});
