import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsoleAssets } from '../../console/build.js';
import { type ConsoleBackend, storeBackend } from '../../lib/console/backend.js';
import { API_HEADER, cookieName } from '../../lib/console/guard.js';
import { type ConsoleServer, startConsoleServer } from '../../lib/console/server.js';
import { parseQuestionParams } from '../../lib/query/params.js';
import { runQuestion } from '../../lib/query/run.js';
import { type ReplayedSamples, replaySamples } from './support.js';

/** The console server over the replayed sample scenario, spoken to over HTTP as a browser or a script would. */

const NOW = Date.parse('2025-06-03T00:00:00Z');
let samples: ReplayedSamples;
let server: ConsoleServer;
let apiOnly: ConsoleServer;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, so the Host header can be set to anything (fetch would not let a test forge it). */
const get = (s: ConsoleServer, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const r = request(
      { host: '127.0.0.1', port: s.port, path, method, headers: { host: `127.0.0.1:${s.port}`, ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    r.on('error', reject);
    r.end();
  });

const authed = (s: ConsoleServer) => ({ cookie: `${cookieName(s.port)}=${s.token}`, [API_HEADER]: '1' });

beforeAll(async () => {
  samples = await replaySamples();
  const { assets } = await buildConsoleAssets();
  server = await startConsoleServer({
    backend: storeBackend({
      mode: 'local',
      source: 'samples',
      store: samples.store,
      usage: samples.usage,
      defaultWindow: samples.window,
    }),
    assets,
    now: () => NOW,
  });
  const askOnly: ConsoleBackend = {
    mode: 'api',
    source: 'https://example.invalid/',
    ask: (q) => runQuestion(samples.store, q),
  };
  apiOnly = await startConsoleServer({ backend: askOnly, assets, now: () => NOW });
});

afterAll(async () => {
  await server?.close();
  await apiOnly?.close();
  await samples?.close();
});

describe('the token and host guard, over HTTP', () => {
  it('listens on 127.0.0.1 and prints a URL that carries the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(43);
  });

  it('refuses a page and the API without the token, and shows no data', async () => {
    const page = await get(server, '/search?q=who-did');
    expect(page.status).toBe(401);
    expect(page.body).toContain('data-code="TOKEN_MISSING"');
    expect(page.body).not.toContain('app.js');
    const api = await get(server, '/api/ask/denied?cluster=checkout-stg', { [API_HEADER]: '1' });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body).error.code).toBe('TOKEN_MISSING');
  });

  it('refuses a request naming another host even with the right cookie (DNS rebinding)', async () => {
    const r = await get(server, '/api/clusters', { ...authed(server), host: `rebind.attacker.example:${server.port}` });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error.code).toBe('HOST_REFUSED');
  });

  it('is read-only: writes are refused', async () => {
    const r = await get(server, '/api/info', authed(server), 'POST');
    expect(r.status).toBe(405);
  });

  it('trades the printed URL for a cookie and a clean URL, then serves the app with a strict CSP', async () => {
    const first = await get(server, `/request?cluster=checkout-stg&token=${server.token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/request?cluster=checkout-stg');
    expect(String(first.headers['set-cookie'])).toContain('HttpOnly');
    const page = await get(server, '/request?cluster=checkout-stg', {
      cookie: `${cookieName(server.port)}=${server.token}`,
    });
    expect(page.status).toBe(200);
    expect(page.body).toContain('/assets/app.js');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    const js = await get(server, '/assets/app.js', { cookie: `${cookieName(server.port)}=${server.token}` });
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toContain('javascript');
  });
});

describe('the API answers with the question layer the CLI uses', () => {
  it.each([
    [
      'who-did',
      {
        cluster: 'checkout-stg',
        human: 'ines.tanaka@example.com',
        from: '2025-06-02T08:00:00Z',
        to: '2025-06-02T16:00:00Z',
      },
    ],
    ['denied', { cluster: 'checkout-stg', from: '2025-06-02T08:00:00Z', to: '2025-06-02T16:00:00Z', limit: '5' }],
    ['access-at', { cluster: 'payments-prod', at: '2025-06-02T12:00:00Z' }],
    ['mappings-history', { cluster: 'payments-prod' }],
    ['touched', { cluster: 'payments-prod', target: 'kube-system/configmaps/aws-auth' }],
  ])('%s gives the rows runQuestion gives', async (question, params) => {
    const r = await get(server, `/api/ask/${question}?${new URLSearchParams(params)}`, authed(server));
    expect(r.status).toBe(200);
    const parsed = parseQuestionParams(question, params, NOW);
    if (!parsed.ok) throw new Error('bad test params');
    const direct = await runQuestion(samples.store, parsed.value);
    expect(JSON.parse(r.body)).toEqual(JSON.parse(JSON.stringify(direct)));
    expect(direct.rows.length).toBeGreaterThan(0);
  });

  it('refuses a parameter the question does not take, naming it (400)', async () => {
    const r = await get(server, '/api/ask/who-did?cluster=checkout-stg&namspace=x', authed(server));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'QUERY_PARAM', param: 'namspace' });
  });

  it('answers an unknown auditID with 404', async () => {
    const r = await get(
      server,
      '/api/request?cluster=checkout-stg&audit-id=00000000-0000-0000-0000-000000000000',
      authed(server),
    );
    expect(r.status).toBe(404);
  });

  it('gives a request its chain, its pivots and its stored audit event', async () => {
    const r = await get(
      server,
      '/api/request?cluster=checkout-stg&audit-id=e2aedda2-efa2-43e6-a855-0cf30f222464',
      authed(server),
    );
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body);
    expect(body.answer.rows.map((x: { link: string }) => x.link)).toEqual([
      'principal',
      'human',
      'mapping',
      'k8sIdentity',
      'decision',
      'request',
    ]);
    expect(body.pivots).toEqual({
      principal: 'arn:aws:iam::813088197977:role/AWSReservedSSO_AdministratorAccess_8a8e18daf3feb240',
      human: 'dmitri.smith@example.com',
      mappingSource: 'access-entry',
      mappingKey:
        'arn:aws:iam::813088197977:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_8a8e18daf3feb240',
      k8sUser:
        'arn:aws:sts::813088197977:assumed-role/AWSReservedSSO_AdministratorAccess_8a8e18daf3feb240/dmitri.smith-example.com',
      verb: 'list',
      // A kind listed at cluster scope has the target `touched` accepts for it.
      target: '/pods',
    });
    expect(body.stored.stages[0].event.auditID).toBe('e2aedda2-efa2-43e6-a855-0cf30f222464');
  });

  it('lists posture findings and the alerts the replay recorded in the ledger', async () => {
    const posture = JSON.parse((await get(server, '/api/posture?cluster=payments-prod', authed(server))).body);
    expect(posture.at).toBe(new Date(NOW).toISOString());
    expect(
      posture.findings.map((f: { ruleId: string; principalArn?: string }) => `${f.ruleId} ${f.principalArn}`),
    ).toContain('system-masters-mapping arn:aws:iam::888636335083:role/break-glass');
    const alerts = JSON.parse((await get(server, '/api/alerts?cluster=payments-prod', authed(server))).body);
    expect(alerts.source).toContain('recorded: the alert ledger');
    const rules = alerts.alerts.map((a: { ruleId: string }) => a.ruleId);
    expect(rules).toContain('system-masters-mapping');
    // First uses are in the ledger too, each pointing at the request it made.
    const firstUse = alerts.alerts.find((a: { ruleId: string }) => a.ruleId === 'new-mapping-first-use');
    expect(firstUse?.evidence?.question).toBe('explain');
  });

  it('says what a question-only target (--api) cannot list instead of guessing', async () => {
    const info = JSON.parse((await get(apiOnly, '/api/info', authed(apiOnly))).body);
    expect(info.can).toEqual({ clusters: false, storedRequest: false, posture: false, alerts: false });
    const posture = await get(apiOnly, '/api/posture', authed(apiOnly));
    expect(posture.status).toBe(501);
    expect(JSON.parse(posture.body).error.code).toBe('NOT_AVAILABLE');
    const req = JSON.parse(
      (
        await get(
          apiOnly,
          '/api/request?cluster=checkout-stg&audit-id=e2aedda2-efa2-43e6-a855-0cf30f222464',
          authed(apiOnly),
        )
      ).body,
    );
    expect(req.pivots.human).toBe('dmitri.smith@example.com');
    expect(req.stored).toBeNull();
  });
});
