import { describe, expect, it } from 'vitest';
import { correlateAuditEvent, correlateAuthnFailure } from '../../../lib/chain/correlate.js';
import { credentialFromCloudTrail, inMemoryEvidence } from '../../../lib/chain/evidence.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { changesFromCloudTrail } from '../../../lib/identity/mapping-timeline.js';
import {
  accessKeysOf,
  authenticatorContext,
  DENIAL_JOIN_SLACK_MS,
  matchUnauthenticatedRequests,
  recorrelateChain,
} from '../../../lib/ingest/recorrelate.js';
import { parseAuditEvent } from '../../../lib/sources/audit-event.js';
import { parseAuthenticatorLine } from '../../../lib/sources/authenticator-line.js';
import { parseEventBridgeEvent } from '../../../lib/sources/cloudtrail.js';
import type { AccessDeniedLine, CloudTrailEvent, LogEventOrigin } from '../../../lib/sources/types.js';
import type { StoredChain } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { StoredAuthenticatorRecord } from '../../../lib/store/trail-store.js';
import { authnLines, cloudTrail, KIEM, KIEM_TS, kiemLine } from './fixtures.js';

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
const storedAtWriteTime = (): StoredChain => ({
  chain: correlateAuditEvent(event, origin, empty),
  facts: { origin, event },
  stageRank: 4,
});

describe('recorrelateChain', () => {
  it('completes a chain stored before its mapping history and issuance arrived', () => {
    const stored = storedAtWriteTime();
    expect(stored.chain.pendingEnrichment).toBe(true);
    const chain = recorrelateChain(stored, full);
    expect(chain).toEqual(correlateAuditEvent(event, origin, full));
    expect(chain.mapping.value?.source).toBe('access-entry');
    expect(chain.human.value?.credentialEventId).toBe('c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03');
    expect(chain.pendingEnrichment).toBe(false);
  });

  it('keeps the stored chain when its facts were trimmed to fit the item limit', () => {
    const stored = { ...storedAtWriteTime(), trimmed: ['requestObject', 'facts'] };
    expect(recorrelateChain(stored, full)).toBe(stored.chain);
  });

  it('keeps a link an earlier stage knew when the winning facts cannot derive it', () => {
    const stored = storedAtWriteTime();
    const human = {
      status: 'observed' as const,
      value: { identity: 'someone', via: 'iam-user' as const },
      why: 'test',
      evidence: [],
    };
    const chain = recorrelateChain({ ...stored, chain: { ...stored.chain, human } }, empty);
    expect(chain.human).toEqual(human);
  });

  it('re-derives an authenticator denial from its stored line, and leaves it alone without the line', () => {
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
    const chain: DecisionChain = correlateAuthnFailure(line, o, empty);
    expect(chain.chainId).toBe(`${KIEM.cluster}#authn#denial-1`);
    const stored: StoredChain = { chain, stageRank: 4 };
    expect(recorrelateChain(stored, full)).toBe(chain);
    const denials = new Map([['denial-1', { origin: o, line }]]);
    expect(recorrelateChain(stored, full, denials)).toEqual(correlateAuthnFailure(line, o, full));
  });
});

describe('accessKeysOf', () => {
  it('collects the access keys named by facts and principals, once, sorted', () => {
    const a = storedAtWriteTime();
    expect(accessKeysOf([a, a])).toEqual(['ASIATCKASJUUD7MPDOZN']);
  });
});

describe('401 requests joined to authenticator denials by time (FORMATS §2.4)', () => {
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
  const unauthenticated = (auditID: string, receivedMs: number): StoredChain => {
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
    const o = { ...origin, eventId: auditID };
    return { chain: correlateAuditEvent(ev, o, empty), facts: { origin: o, event: ev }, stageRank: 2 };
  };

  it('joins a 401 to the only denial in its window and names the failed stage', () => {
    const r = unauthenticated('a-401', at);
    const ctx = authenticatorContext([r], [record('d1', at + 12)]);
    expect(ctx.unauthenticated.get(r.chain.chainId)?.origin.eventId).toBe('d1');
    const chain = recorrelateChain(r, empty, ctx);
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
  ])('joins nothing when there is %s', (_kind, stored, records) => {
    expect(matchUnauthenticatedRequests(stored, records).size).toBe(0);
    const chain = recorrelateChain(stored[0]!, empty, authenticatorContext(stored, records));
    expect(chain.decision.value?.denial?.stage).toBe('authentication');
    expect(chain.principal.value?.canonicalArn).toBeUndefined();
  });

  it('never joins a request that authenticated', () => {
    const stored = storedAtWriteTime();
    expect(matchUnauthenticatedRequests([stored], [record('d1', KIEM_TS)]).size).toBe(0);
  });
});
