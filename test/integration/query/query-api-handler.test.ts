import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createQueryHandler } from '../../../functions/query-api.js';
import { replayFiles } from '../../../lib/local/replay.js';
import { parseQueryAccessPolicy, type QueryAccessPolicy } from '../../../lib/query/access-policy.js';
import { SCOPED_NOTE } from '../../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';

/**
 * The query API handler invoked directly with function URL events (the envelope of the real
 * request samples in test/fixtures/query-api), over a real engine seeded through the real pipelines.
 * The recorded cluster is replayed a second time as another cluster of another account, so access
 * grants have a fleet to cut.
 */
const NOW = Date.parse('2024-09-01T00:00:00Z');
const KIEM_ACCOUNT = '211125685544';
const OTHER_ACCOUNT = '999999999999';
const SECURITY = '111111111111';
const WINDOW = { from: '2024-08-24T14:00:00Z', to: '2024-08-24T15:00:00Z' };
const HUMAN = 'gomyers@paloaltonetworks.com';
const PRINCIPAL = `arn:aws:iam::${KIEM_ACCOUNT}:role/sso_admin`;
const KIEM_DIR = resolve(__dirname, '../../fixtures/query/kiem');
const AUDIT_ID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

const access = (grants: unknown[]): QueryAccessPolicy => {
  const r = parseQueryAccessPolicy(grants);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
};
const GRANTS = access([
  { name: 'kiem-auditors', permissionSet: 'KiemAudit', accounts: [KIEM_ACCOUNT] },
  { name: 'secops', roleArn: `arn:aws:iam::${SECURITY}:role/SecOps*`, accounts: ['*'] },
  { name: 'kiem-anywhere', roleArn: `arn:aws:iam::${SECURITY}:role/KiemOnly`, accounts: ['*'], clusters: ['kiem'] },
  { name: 'empty-account', roleArn: `arn:aws:iam::${SECURITY}:role/Elsewhere`, accounts: ['444444444444'] },
]);

type FunctionUrlEvent = Parameters<ReturnType<typeof createQueryHandler>>[0];
const SAMPLE = JSON.parse(
  readFileSync(resolve(__dirname, '../../fixtures/query-api/function-url-request-sso-role.json'), 'utf8'),
) as FunctionUrlEvent & { requestContext: { authorizer: { iam: Record<string, unknown> } } };
const IAM_USER_SAMPLE = JSON.parse(
  readFileSync(resolve(__dirname, '../../fixtures/query-api/function-url-request-iam-user.json'), 'utf8'),
) as FunctionUrlEvent;

/** The recorded request envelope, signed by `role` (session `session`), asking `question`. */
const asked = (
  role: string | undefined,
  question: string,
  params: object,
  session = 'alice@example.com',
): FunctionUrlEvent => {
  const event = structuredClone(SAMPLE);
  event.body = JSON.stringify({ question, params });
  if (role === undefined) {
    (event.requestContext as { authorizer?: unknown }).authorizer = undefined;
  } else {
    event.requestContext.authorizer.iam = {
      ...event.requestContext.authorizer.iam,
      accountId: SECURITY,
      userArn: `arn:aws:sts::${SECURITY}:assumed-role/${role}/${session}`,
      callerId: `AROAEXAMPLEROLEID0001:${session}`,
    };
  }
  return event;
};
const KIEM_AUDITOR = 'AWSReservedSSO_KiemAudit_0123456789abcdef';
const SECOPS = 'SecOpsReader';

let engine: Engine;
let store: DynamoDbTrailStore;
let handle: ReturnType<typeof createQueryHandler>;

beforeAll(async () => {
  engine = await startEngine();
  const table = await createTestTable(engine.client, 'api');
  store = new DynamoDbTrailStore(engine.client, { tableName: table });
  const replay = (path: string, accountId: string, logGroup?: string) =>
    replayFiles([path], store, {
      now: () => NOW,
      accountId,
      at: '2024-08-05T00:00:00.000Z',
      ...(logGroup ? { logGroup } : {}),
    });
  await replay(KIEM_DIR, KIEM_ACCOUNT);
  // The same recording as a second cluster of another account. auditIDs are unique per request, so
  // the copy gets its own (a real fleet never shows one auditID on two clusters).
  const copy = join(mkdtempSync(join(tmpdir(), 'query-api-')), 'kiem-dr.filter-log-events.json');
  writeFileSync(
    copy,
    readFileSync(join(KIEM_DIR, 'kiem.filter-log-events.json'), 'utf8').replace(
      AUDIT_ID_RE,
      (id) => `${id.slice(0, -4)}d0d0`,
    ),
  );
  await replay(copy, OTHER_ACCOUNT, '/aws/eks/kiem-dr/cluster');
  handle = createQueryHandler({ store, access: GRANTS, now: () => NOW });
});

afterAll(async () => engine?.stop());

const body = (r: Awaited<ReturnType<typeof handle>>) => JSON.parse(r.body as string);

describe('query API: answers within the caller’s grants', () => {
  it('answers a POSTed question with the same rows as the CLI', async () => {
    const r = await handle(asked(KIEM_AUDITOR, 'who-did', { cluster: 'kiem', human: HUMAN, ...WINDOW }));
    expect(r.statusCode).toBe(200);
    expect(body(r).cluster).toBe(`${KIEM_ACCOUNT}/kiem`);
    expect(body(r).rows.map((x: { auditID: string }) => x.auditID)).toEqual(['fb5dba68-6262-4718-b45e-d293b03e434d']);
  });

  it('answers GET with query parameters', async () => {
    const event = asked(KIEM_AUDITOR, 'x', {});
    const ctx = event.requestContext as NonNullable<FunctionUrlEvent['requestContext']>;
    ctx.http = { ...ctx.http, method: 'GET' };
    event.queryStringParameters = { question: 'access-at', cluster: 'kiem', at: '2024-08-24T14:27:07Z' };
    const r = await handle(event);
    expect(r.statusCode).toBe(200);
    expect(body(r).rows).toHaveLength(4);
  });

  it('limits a fleet-wide who-did (by principal) to the clusters the caller may read, and says so', async () => {
    const where = (r: Awaited<ReturnType<typeof handle>>): string[] =>
      body(r).rows.map((x: { accountId: string; cluster: string }) => `${x.accountId}/${x.cluster}`);
    const scoped = await handle(asked(KIEM_AUDITOR, 'who-did', { principal: PRINCIPAL, ...WINDOW }));
    expect(scoped.statusCode).toBe(200);
    expect(where(scoped)).toEqual([`${KIEM_ACCOUNT}/kiem`]);
    expect(body(scoped).notes).toContain(SCOPED_NOTE);

    const everything = await handle(asked(SECOPS, 'who-did', { principal: PRINCIPAL, ...WINDOW }));
    expect(where(everything).sort()).toEqual([`${KIEM_ACCOUNT}/kiem`, `${OTHER_ACCOUNT}/kiem-dr`]);
    expect(body(everything).notes).toContain(SCOPED_NOTE);
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
  ])('%s %j -> %i %s', async (question, params, status, code, message) => {
    const r = await handle(asked(KIEM_AUDITOR, question, params));
    expect(r.statusCode).toBe(status);
    expect(body(r).error.code).toBe(code);
    expect(body(r).error.message).toContain(message);
  });
});

describe('query API: denies what no grant covers', () => {
  it.each([
    ['a role no grant names', asked('Developer', 'denied', { cluster: 'kiem' }), 'no query access grant names'],
    ['the IAM user of the AWS sample', IAM_USER_SAMPLE, 'only roles'],
    [
      'a request without an IAM caller (direct Invoke)',
      asked(undefined, 'denied', { cluster: 'kiem' }),
      'no IAM caller',
    ],
    [
      'a cluster of an account outside the grant',
      asked(KIEM_AUDITOR, 'denied', { cluster: `${OTHER_ACCOUNT}/kiem-dr` }),
      `covers cluster ${OTHER_ACCOUNT}/kiem-dr`,
    ],
    [
      'a cluster name no grant of the caller could cover, whether it exists or not',
      asked('KiemOnly', 'denied', { cluster: 'kiem-dr' }),
      'covers cluster kiem-dr',
    ],
  ])('refuses %s with 403 ACCESS_DENIED', async (_kind, event, message) => {
    const r = await handle(event);
    expect(r.statusCode).toBe(403);
    expect(r.headers).toMatchObject({ 'content-type': 'application/json' });
    expect(body(r).error.code).toBe('ACCESS_DENIED');
    expect(body(r).error.message).toContain(message);
  });

  it('lists only readable clusters when a name is unknown to the caller, never the others', async () => {
    const r = await handle(asked(KIEM_AUDITOR, 'denied', { cluster: 'kiem-dr' }));
    // The grant covers every name of its account, so the name is looked up: among readable clusters
    // only, and kiem-dr (of another account) is as unknown as a name that exists nowhere.
    expect(r.statusCode).toBe(404);
    expect(body(r).error.message).toContain(`(known: ${KIEM_ACCOUNT}/kiem)`);
    expect(body(r).error.message).not.toContain(OTHER_ACCOUNT);
    // A caller whose grants cover no cluster of the trail is told so, and shown none.
    const none = await handle(asked('Elsewhere', 'denied', {}));
    expect(none.statusCode).toBe(404);
    expect(body(none).error.message).toBe('cluster: the trail holds no cluster this caller may read');
  });
});

describe('query API: audit log', () => {
  let lines: string[] = [];
  afterEach(() => vi.restoreAllMocks());

  /** A real Powertools logger, as the deployed function writes it, captured at stdout. */
  const audited = async (event: FunctionUrlEvent) => {
    lines = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const logger = new Logger({ serviceName: 'eks-trail-query-api' });
    const r = await createQueryHandler({ store, access: GRANTS, now: () => NOW, logger })(event);
    vi.restoreAllMocks();
    const audit = lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'query audit');
    expect(audit).toHaveLength(1);
    return { r, line: audit[0] };
  };

  it('logs an answered query as one JSON line: caller ARN, question, filters and rows returned', async () => {
    const { r, line } = await audited(
      asked(KIEM_AUDITOR, 'who-did', { human: HUMAN, ...WINDOW, limit: 10 }, 'gkan@example.com'),
    );
    expect(r.statusCode).toBe(200);
    expect(line).toMatchObject({
      level: 'INFO',
      service: 'eks-trail-query-api',
      audit: 'eks-trail-query',
      caller: {
        arn: `arn:aws:sts::${SECURITY}:assumed-role/${KIEM_AUDITOR}/gkan@example.com`,
        accountId: SECURITY,
        callerId: 'AROAEXAMPLEROLEID0001:gkan@example.com',
        role: `arn:aws:iam::${SECURITY}:role/${KIEM_AUDITOR}`,
        permissionSet: 'KiemAudit',
      },
      question: 'who-did',
      filters: { human: HUMAN, from: WINDOW.from, to: WINDOW.to, limit: '10' },
      outcome: 'answered',
      status: 200,
      rows: 1,
      grants: ['kiem-auditors'],
      scoped: true,
      requestId: 'id',
      sourceIp: '123.123.123.123',
    });
    expect(typeof line.timestamp).toBe('string');
  });

  it('logs a denied query with its code and no rows', async () => {
    const { r, line } = await audited(
      asked(KIEM_AUDITOR, 'denied', { cluster: `${OTHER_ACCOUNT}/kiem-dr`, since: '7d' }),
    );
    expect(r.statusCode).toBe(403);
    expect(line).toMatchObject({
      caller: { arn: `arn:aws:sts::${SECURITY}:assumed-role/${KIEM_AUDITOR}/alice@example.com` },
      question: 'denied',
      filters: { cluster: `${OTHER_ACCOUNT}/kiem-dr`, since: '7d' },
      outcome: 'denied',
      status: 403,
      code: 'ACCESS_DENIED',
      rows: 0,
    });
  });

  it('logs a request that carries no IAM caller at all', async () => {
    const { line } = await audited(asked(undefined, 'who-did', { human: HUMAN }));
    expect(line).toMatchObject({
      caller: {},
      question: 'who-did',
      outcome: 'denied',
      status: 403,
      code: 'ACCESS_DENIED',
    });
  });
});
