import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalChains } from '../../../lib/chain/rederive.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { type QueryAnswer, runQuestion } from '../../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';
import { authenticatorLines, KIEM, kiemEvent, payload } from '../ingest/scenario.js';

/**
 * 401s shown by the questions joined to their authenticator `access denied` line (docs/formats.md §2.4), the
 * join finalChains makes, seeded through the real log pipeline into a real engine. The audit events
 * are the real KIEMPossible event turned into a 401 the way docs/formats.md §2.4 describes it (empty user,
 * no authorization annotations); the denial is the re:Post Knowledge Center `ARN is not mapped` line
 * with the scenario's account in place of the redacted one (test/fixtures/SOURCES.md).
 */

const NOW = Date.parse('2024-09-01T00:00:00Z');
const WINDOW = { from: '2024-08-24T14:00:00Z', to: '2024-08-24T14:59:59Z' };
const ROLE = `arn:aws:iam::${KIEM.accountId}:role/admin-test-role`;

// Three separate scenes, minutes apart so their join windows never touch.
const SINGLE = Date.parse('2024-08-24T14:10:00.000Z');
const AMBIGUOUS = Date.parse('2024-08-24T14:20:00.000Z');
const SHARED = Date.parse('2024-08-24T14:30:00.000Z');

const notMappedLine = (at: number): string => {
  const line = authenticatorLines('aws-knowledge-center-eks-api-server-unauthorized.log').find((l) =>
    l.includes('ARN is not mapped'),
  );
  if (!line) throw new Error('fixture has no "ARN is not mapped" line');
  return line
    .replace(/time="[^"]*"/, `time="${new Date(at).toISOString().replace(/\.\d+Z$/, 'Z')}"`)
    .replace('XXXXXXXXXX', KIEM.accountId);
};

const unauthenticatedLine = (auditID: string, receivedMs: number): string => {
  const e = kiemEvent();
  e['auditID'] = auditID;
  e['stage'] = 'ResponseStarted';
  e['user'] = {};
  e['responseStatus'] = { metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };
  e['requestReceivedTimestamp'] = new Date(receivedMs).toISOString().replace('Z', '000Z');
  e['stageTimestamp'] = new Date(receivedMs + 30).toISOString().replace('Z', '000Z');
  delete e['annotations'];
  return JSON.stringify(e);
};

const denial = (at: number) => ({ message: notMappedLine(at), timestamp: at });
const request = (auditID: string, at: number) => ({ message: unauthenticatedLine(auditID, at), timestamp: at + 30 });

let engine: Engine;
let ddb: DynamoDbTrailStore;
let store: DynamoDbTrailStore;

// biome-ignore lint/suspicious/noExplicitAny: rows of several questions, read field by field
type Answer = Omit<QueryAnswer, 'rows'> & { rows: Record<string, any>[] };

const ask = async (question: string, params: Record<string, string>): Promise<Answer> => {
  const p = parseQuestionParams(question, params, NOW);
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  const a = await runQuestion(store, p.value);
  return { ...a, rows: a.rows as Answer['rows'] };
};

const deniedRows = async (from: number, params: Record<string, string> = {}) =>
  (
    await ask('denied', {
      cluster: KIEM.cluster,
      from: new Date(from - 5_000).toISOString(),
      to: new Date(from + 5_000).toISOString(),
      ...params,
    })
  ).rows;

const explain = async (auditID: string) =>
  Object.fromEntries(
    (await ask('explain', { cluster: KIEM.cluster, 'audit-id': auditID })).rows.map((r) => [r.link, r]),
  ) as Record<string, Answer['rows'][number]>;

beforeAll(async () => {
  engine = await startEngine();
  const table = await createTestTable(engine.client, 'authnjoin');
  ddb = new DynamoDbTrailStore(engine.client, { tableName: table, now: () => NOW });
  const summary = await ingestLogPayloads(
    [
      payload({ ...KIEM, kind: 'authenticator' }, [
        denial(SINGLE + 12),
        denial(AMBIGUOUS + 5),
        denial(AMBIGUOUS + 20),
        denial(SHARED + 15),
      ]),
      payload({ ...KIEM, kind: 'audit' }, [
        request('401-single', SINGLE),
        request('401-ambiguous-a', AMBIGUOUS),
        request('401-ambiguous-b', AMBIGUOUS + 10),
        request('401-shared-a', SHARED),
        request('401-shared-b', SHARED + 10),
      ]),
    ],
    ddb,
    { now: () => NOW },
  );
  expect(summary.failedItemIds).toEqual([]);
  expect(summary.quarantined).toEqual({});
  store = ddb;
});

afterAll(async () => {
  await engine?.stop();
});

describe('a 401 with exactly one denial in its window', () => {
  it('is shown by denied with the denied principal and the unmapped stage', async () => {
    const rows = await deniedRows(SINGLE);
    const req = rows.find((r) => r.auditID === '401-single');
    expect(req).toMatchObject({
      principal: { arn: ROLE },
      decision: { failedStage: 'unmapped', outcome: 'authn-failed' },
      status: 401,
    });
    // The denial's own chain is listed too, with the same principal.
    expect(rows.filter((r) => r.auditID === undefined)).toEqual([
      expect.objectContaining({ principal: expect.objectContaining({ arn: ROLE }), kind: 'authn-failure' }),
    ]);
  });

  it('is explained with the principal, the unmapped mapping and the join as evidence', async () => {
    const links = await explain('401-single');
    expect(links.principal?.value.canonicalArn).toBe(ROLE);
    expect(links.principal?.status).toBe('derived');
    expect(links.principal?.why).toContain('matched by time');
    expect(links.mapping?.value.source).toBe('unmapped');
    expect(links.decision?.value.denial.stage).toBe('unmapped');
    expect(links.decision?.evidence).toEqual(expect.arrayContaining([expect.stringMatching(/^authenticator:/)]));
    expect(links.request?.value.statusCode).toBe(401);
  });

  it('can be asked for by the denied principal', async () => {
    const rows = await deniedRows(SINGLE, { principal: ROLE, stage: 'unmapped' });
    expect(rows.map((r) => r.auditID ?? 'authenticator')).toEqual(expect.arrayContaining(['401-single']));
  });

  it('matches what finalChains derives for the same request', async () => {
    const chains = await finalChains(ddb, KIEM, WINDOW);
    const expected = chains.find((c) => c.auditID === '401-single');
    const rows = await deniedRows(SINGLE);
    const shown = rows.find((r) => r.auditID === '401-single');
    expect(expected?.principal.value?.canonicalArn).toBe(ROLE);
    expect(shown?.principal.arn).toBe(expected?.principal.value?.canonicalArn);
    expect(shown?.decision.failedStage).toBe(expected?.decision.value?.denial?.stage);
  });
});

describe('ambiguous joins stay unjoined', () => {
  it.each([
    ['two denials in the windows of two overlapping 401s', AMBIGUOUS, ['401-ambiguous-a', '401-ambiguous-b']],
    ['one denial in the windows of two 401s', SHARED, ['401-shared-a', '401-shared-b']],
  ])('%s: denied names no principal for either request', async (_kind, at, ids) => {
    const rows = await deniedRows(at);
    for (const id of ids) {
      const r = rows.find((x) => x.auditID === id);
      expect(r).toMatchObject({ decision: { failedStage: 'authentication' }, status: 401 });
      expect(r?.principal.arn).toBeUndefined();
    }
  });

  it.each([['401-ambiguous-a'], ['401-ambiguous-b'], ['401-shared-a'], ['401-shared-b']])(
    'explain %s names no principal',
    async (id) => {
      const links = await explain(id);
      expect(links.principal?.status).toBe('unknown');
      expect(links.decision?.value.denial.stage).toBe('authentication');
    },
  );

  it('stays unjoined when the page holds only one of the two 401s sharing a denial', async () => {
    // limit 1: each page shows one request; the other 401 is loaded as a neighbour, not shown.
    const seen: Answer['rows'] = [];
    let cursor: string | undefined;
    do {
      const a = await ask('denied', {
        cluster: KIEM.cluster,
        from: new Date(SHARED - 5_000).toISOString(),
        to: new Date(SHARED + 5_000).toISOString(),
        limit: '1',
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...a.rows);
      cursor = a.nextCursor;
    } while (cursor !== undefined);
    const requests = seen.filter((r) => typeof r.auditID === 'string');
    expect(requests.map((r) => r.auditID).sort()).toEqual(['401-shared-a', '401-shared-b']);
    for (const r of requests) expect(r.principal.arn).toBeUndefined();
  });
});
