import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryHandler } from '../../../functions/query-api.js';
import { replayFiles } from '../../../lib/local/replay.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';

/** The query API handler invoked directly, over a real engine seeded through the real pipelines. */
const NOW = Date.parse('2024-09-01T00:00:00Z');
let engine: Engine;
let handle: ReturnType<typeof createQueryHandler>;

beforeAll(async () => {
  engine = await startEngine();
  const table = await createTestTable(engine.client, 'api');
  const store = new DynamoDbTrailStore(engine.client, { tableName: table });
  await replayFiles([resolve(__dirname, '../../fixtures/query/kiem')], store, {
    now: () => NOW,
    accountId: '211125685544',
    at: '2024-08-05T00:00:00.000Z',
  });
  handle = createQueryHandler({ store, now: () => NOW });
});

afterAll(async () => engine?.stop());

const post = (question: string, params: object) =>
  handle({ requestContext: { http: { method: 'POST' } } as never, body: JSON.stringify({ question, params }) });

describe('query API', () => {
  it('answers a POSTed question with the same rows as the CLI', async () => {
    const r = await post('who-did', {
      cluster: 'kiem',
      human: 'gomyers@paloaltonetworks.com',
      from: '2024-08-24T14:00:00Z',
      to: '2024-08-24T15:00:00Z',
    });
    expect(r.statusCode).toBe(200);
    const body = JSON.parse(r.body as string);
    expect(body.cluster).toBe('211125685544/kiem');
    expect(body.rows.map((x: { auditID: string }) => x.auditID)).toEqual(['fb5dba68-6262-4718-b45e-d293b03e434d']);
  });

  it('answers GET with query parameters', async () => {
    const r = await handle({
      requestContext: { http: { method: 'GET' } } as never,
      queryStringParameters: { question: 'access-at', cluster: 'kiem', at: '2024-08-24T14:27:07Z' },
    });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body as string).rows).toHaveLength(4);
  });

  it.each([
    [
      'who-did',
      { outcome: 'maybe' },
      400,
      'BAD_PARAMETER',
      'outcome: "maybe" is not one of allow, forbid, authn-failed',
    ],
    ['nonsense', {}, 400, 'BAD_PARAMETER', 'question: "nonsense" is not one of'],
    ['explain', { cluster: 'kiem', auditId: 'missing' }, 404, 'NOT_FOUND', 'no request missing'],
    ['denied', { cluster: 'prod' }, 404, 'NOT_FOUND', '"prod" is not in the trail'],
  ])('%s %j -> %i %s', async (question, params, status, code, message) => {
    const r = await post(question, params);
    expect(r.statusCode).toBe(status);
    const e = JSON.parse(r.body as string).error;
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });
});
