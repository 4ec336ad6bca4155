import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalChains } from '../../../lib/chain/rederive.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { ingestCloudTrailEvents } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import type { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type Engine, engineName, startEngine } from '../../support/engine.js';
import { startStoreHarness } from '../../support/store-harness.js';
import {
  authenticatorLines,
  cloudTrailEvent,
  KIEM,
  KIEM_AUDIT_ID,
  KIEM_TS,
  kiemLine,
  kiemStartedLine,
  payload,
} from './scenario.js';

/**
 * docs/design.md, principle 1: arrival order never changes an answer. The same scenario (access entry and
 * policy association, the AssumeRole that issued the key, authenticator lines, two audit stages of
 * one request and a duplicate) is ingested in every order; the chains read back through the
 * derivation the query layer uses must be identical each time, and who-did by the human finds the
 * request whether its issuance came before its stages (indexed at ingest) or after (late links).
 */

/** Chains as the ingest correlated them at write time (handed to the stored hook). */
let atWriteTime: DecisionChain[] = [];
const opts = {
  now: () => KIEM_TS + 60_000,
  onRequestsStored: async (chains: readonly DecisionChain[]) => void atWriteTime.push(...chains),
};
const range = { from: '2024-08-24T14:00:00Z', to: '2024-08-24T14:59:59Z' };
const GOMYERS = 'arn:aws:iam::211125685544:user/gomyers';

type Unit = { name: string; run: (store: DynamoDbTrailStore) => Promise<unknown> };

const ct = (names: Parameters<typeof cloudTrailEvent>[0][]) => (store: DynamoDbTrailStore) =>
  ingestCloudTrailEvents(
    names.map((n, i) => ({ itemId: `${n}-${i}`, source: 'sqs-message', body: JSON.stringify(cloudTrailEvent(n)) })),
    store,
    opts,
  );

const UNITS: Unit[] = [
  { name: 'access entry + policy', run: ct(['createAccessEntry', 'associateAccessPolicy']) },
  { name: 'AssumeRole', run: ct(['assumeRole']) },
  {
    name: 'authenticator lines',
    run: (store) =>
      ingestLogPayloads(
        [
          payload(
            { ...KIEM, kind: 'authenticator' },
            [
              ...authenticatorLines('rotel-lambda-forwarder-2025.log'),
              ...authenticatorLines('aws-knowledge-center-eks-api-server-unauthorized.log'),
            ].map((message, i) => ({ message, timestamp: KIEM_TS - 30_000 + i, id: `authn-${i}` })),
          ),
        ],
        store,
        opts,
      ),
  },
  {
    name: 'audit ResponseStarted',
    run: (store) =>
      ingestLogPayloads(
        [payload({ ...KIEM, kind: 'audit' }, [{ message: kiemStartedLine(), timestamp: KIEM_TS - 5, id: 'rs' }])],
        store,
        opts,
      ),
  },
  {
    name: 'audit ResponseComplete, twice',
    run: (store) =>
      ingestLogPayloads(
        [
          payload({ ...KIEM, kind: 'audit' }, [
            { message: kiemLine(), timestamp: KIEM_TS, id: 'rc' },
            { message: kiemLine(), timestamp: KIEM_TS, id: 'rc-resent' },
          ]),
        ],
        store,
        opts,
      ),
  },
];

const permutations = <T>(xs: T[]): T[][] =>
  xs.length <= 1
    ? [xs]
    : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.stop();
});

describe('arrival order', () => {
  // DynamoDB Local is several times slower per call than dynalite: it checks every fourth order.
  const all = permutations(UNITS.map((_, i) => i));
  const orders = engineName() === 'dynamodb-local' ? all.filter((_, i) => i % 4 === 0) : all;

  it(`gives the same final chains for ${orders.length} arrival orders`, { timeout: 240_000 }, async () => {
    const results = new Map<string, string[]>();
    let staleAtWriteTime = 0;
    for (const order of orders) {
      const h = await startStoreHarness(engine);
      atWriteTime = [];
      for (const i of order) await UNITS[i]!.run(h.store);
      const chains = await finalChains(h.store, KIEM, range);
      const key = JSON.stringify(chains);
      results.set(key, [...(results.get(key) ?? []), order.map((i) => UNITS[i]!.name).join(' -> ')]);
      const final = chains.find((c) => c.auditID === KIEM_AUDIT_ID);
      const written = atWriteTime.filter((c) => c.auditID === KIEM_AUDIT_ID);
      if (
        written.some(
          (c) => c.mapping.value?.source !== final?.mapping.value?.source || c.human.status !== final?.human.status,
        )
      ) {
        staleAtWriteTime++;
      }
      // The human's own listing has the request, with both stages, in every order.
      const byHuman = await h.store.requestsByHuman(GOMYERS, range);
      const label = order.map((i) => UNITS[i]!.name).join(' -> ');
      expect(
        byHuman.items.map((r) => (r.kind === 'request' ? [r.auditID, r.stages.map((st) => st.event.stage)] : r.kind)),
        label,
      ).toEqual([[KIEM_AUDIT_ID, ['ResponseStarted', 'ResponseComplete']]]);
    }
    expect([...results.values()].map((v) => v.length)).toEqual([orders.length]);
    // Some orders store the request before its mapping history or issuance: derivation at query time repairs them.
    expect(staleAtWriteTime).toBeGreaterThan(0);

    const final = JSON.parse([...results.keys()][0]!) as Awaited<ReturnType<typeof finalChains>>;
    expect(final.map((c) => c.kind).sort()).toEqual(['authn-failure', 'authn-failure', 'request']);
    const request = final.find((c) => c.kind === 'request')!;
    expect(request.chainId).toBe(`${KIEM.cluster}#${KIEM_AUDIT_ID}`);
    expect(request.request.value?.stage).toBe('ResponseComplete');
    expect(request.mapping.value?.source).toBe('access-entry');
    expect(request.mapping.value?.accessEntry?.policies.map((p) => p.policyArn)).toEqual([
      'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
    ]);
    expect(request.human.value?.credentialEventId).toBe('c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3e03');
    expect(request.decision.value?.authorizer).toBe('eks-access-policy');
    expect(request.pendingEnrichment).toBe(false);
  });
});
