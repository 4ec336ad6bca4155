import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryHandler } from '../../../functions/query-api.js';
import { recordedAlerts } from '../../../lib/alerts/recorded-alerts.js';
import { DEFAULT_ALERT_CONFIG } from '../../../lib/alerts/types.js';
import { replayFiles } from '../../../lib/local/replay.js';
import { parseQueryAccessPolicy } from '../../../lib/query/access-policy.js';
import { SCOPED_NOTE } from '../../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';

/**
 * The `alerts` question through the query API handler (function URL events, the envelope of the real
 * request sample), over ledgers that replays of real samples filled: the kiem fixture in its account,
 * and the aws-cli example CloudTrail records in theirs. A caller sees the alerts of its grants only.
 */
const NOW = Date.parse('2025-07-01T00:00:00Z');
const KIEM_ACCOUNT = '211125685544';
const CLI_ACCOUNT = '111122223333';
const SECURITY = '111111111111';
const FIXTURES = resolve(__dirname, '../../fixtures');

const policy = (() => {
  const r = parseQueryAccessPolicy([
    { name: 'kiem-auditors', roleArn: `arn:aws:iam::${SECURITY}:role/KiemAudit`, accounts: [KIEM_ACCOUNT] },
    { name: 'secops', roleArn: `arn:aws:iam::${SECURITY}:role/SecOps`, accounts: ['*'] },
  ]);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
})();

type FunctionUrlEvent = Parameters<ReturnType<typeof createQueryHandler>>[0];
const SAMPLE = JSON.parse(
  readFileSync(resolve(FIXTURES, 'query-api/function-url-request-sso-role.json'), 'utf8'),
) as FunctionUrlEvent & { requestContext: { authorizer: { iam: Record<string, unknown> } } };

const asked = (role: string, params: object): FunctionUrlEvent => {
  const event = structuredClone(SAMPLE);
  event.body = JSON.stringify({ question: 'alerts', params });
  event.requestContext.authorizer.iam = {
    ...event.requestContext.authorizer.iam,
    accountId: SECURITY,
    userArn: `arn:aws:sts::${SECURITY}:assumed-role/${role}/analyst@example.com`,
    callerId: 'AROAEXAMPLEROLEID0001:analyst@example.com',
  };
  return event;
};

let engine: Engine;
let handle: ReturnType<typeof createQueryHandler>;

beforeAll(async () => {
  engine = await startEngine();
  const table = await createTestTable(engine.client, 'alerts-api');
  const store = new DynamoDbTrailStore(engine.client, { tableName: table });
  const alerts = recordedAlerts(store, DEFAULT_ALERT_CONFIG);
  await replayFiles([resolve(FIXTURES, 'alerts/eks-records-from-aws-cli-examples.json')], store, {
    now: () => NOW,
    alerts,
  });
  await replayFiles([resolve(FIXTURES, 'query/kiem')], store, {
    now: () => NOW,
    accountId: KIEM_ACCOUNT,
    at: '2024-08-05T00:00:00.000Z',
    alerts,
  });
  handle = createQueryHandler({ store, access: policy, now: () => NOW });
});

afterAll(async () => engine?.stop());

const body = (r: Awaited<ReturnType<typeof handle>>) => JSON.parse(r.body as string);
const WIDE = { from: '2019-01-01T00:00:00Z', to: '2025-07-01T00:00:00Z' };

describe('query API: alerts', () => {
  it('lists a cluster’s recorded alerts newest first, with their evidence', async () => {
    const r = await handle(asked('KiemAudit', { cluster: 'kiem', ...WIDE }));
    expect(r.statusCode).toBe(200);
    expect(body(r)).toMatchObject({ question: 'alerts', cluster: `${KIEM_ACCOUNT}/kiem` });
    expect(body(r).rows.map((x: { ruleId: string }) => x.ruleId)).toEqual([
      'access-policy-associated',
      'access-entry-created',
      'cluster-created-creator-admin',
    ]);
    expect(body(r).rows[0].evidence.params).toMatchObject({ cluster: `${KIEM_ACCOUNT}/kiem` });
  });

  it('lists every cluster the caller may read, and says the grants cut the fleet', async () => {
    const scoped = body(await handle(asked('KiemAudit', WIDE)));
    expect(new Set(scoped.rows.map((x: { cluster: string }) => x.cluster))).toEqual(new Set([`${KIEM_ACCOUNT}/kiem`]));
    expect(scoped.notes).toContain(SCOPED_NOTE);
    const all = body(await handle(asked('SecOps', WIDE)));
    const clusters = new Set(all.rows.map((x: { cluster: string }) => x.cluster));
    expect(clusters.has(`${CLI_ACCOUNT}/eks-customer`)).toBe(true);
    expect(clusters.has(`${KIEM_ACCOUNT}/kiem`)).toBe(true);
  });

  it('filters by severity and rule', async () => {
    const r = body(await handle(asked('SecOps', { ...WIDE, severity: 'low', rule: 'access-entry-created' })));
    expect(r.rows.map((x: { ruleId: string; severity: string }) => `${x.ruleId} ${x.severity}`)).toEqual([
      'access-entry-created low',
    ]);
  });

  it.each([
    ['another account’s cluster', 'KiemAudit', { cluster: `${CLI_ACCOUNT}/eks-customer` }, 403, /covers cluster/],
    [
      '--rerun',
      'SecOps',
      { rerun: 'true' },
      400,
      /rerun: evaluating the rules over history needs the alert configuration/,
    ],
    ['an unknown severity', 'SecOps', { severity: 'urgent' }, 400, /severity/],
  ])('refuses %s', async (_name, role, params, status, message) => {
    const r = await handle(asked(role, params));
    expect(r.statusCode).toBe(status);
    expect(body(r).error.message).toMatch(message);
  });
});
