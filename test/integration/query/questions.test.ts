import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayFiles } from '../../../lib/local/replay.js';
import { QueryNotFoundError, QueryParamError } from '../../../lib/query/errors.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { type QueryAnswer, runQuestion } from '../../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';

/**
 * Every question against a real engine seeded through the real pipelines (replay of the kiem
 * fixture: the KIEMPossible SSO audit event, constructed CloudTrail records, aws-auth YAML).
 */
const FIXTURE = resolve(__dirname, '../../fixtures/query/kiem');
const ACCOUNT = '211125685544';
const NOW = Date.parse('2024-09-01T00:00:00Z');
// Hour-sharded listings fan out 16 ways per hour: keep request windows to the hour the fixture covers.
const WINDOW = { from: '2024-08-24T14:00:00Z', to: '2024-08-24T14:59:59Z' };

let engine: Engine;
let store: DynamoDbTrailStore;

// biome-ignore lint/suspicious/noExplicitAny: rows of several questions, read field by field
type Answer = Omit<QueryAnswer, 'rows'> & { rows: Record<string, any>[] };

const ask = async (question: string, params: Record<string, string>, now = NOW): Promise<Answer> => {
  const p = parseQuestionParams(question, params, now);
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  const a = await runQuestion(store, p.value);
  return { ...a, rows: a.rows as Answer['rows'] };
};

beforeAll(async () => {
  engine = await startEngine();
  const table = await createTestTable(engine.client, 'query');
  const ddb = new DynamoDbTrailStore(engine.client, { tableName: table });
  await replayFiles([FIXTURE], ddb, { now: () => NOW, accountId: ACCOUNT, at: '2024-08-05T00:00:00.000Z' });
  store = ddb;
});

afterAll(async () => {
  await engine?.stop();
});

describe('who-did', () => {
  it('lists every request of the cluster newest first with its chain summary', async () => {
    const a = await ask('who-did', { cluster: 'kiem', ...WINDOW });
    expect(a.cluster).toBe(`${ACCOUNT}/kiem`);
    expect(
      a.rows.map((r) => [r.time, r.principal.arn, r.mapping?.source, r.verb, r.target, r.status, r.decision.outcome]),
    ).toEqual([
      [
        '2024-08-24T14:30:00.000Z',
        `arn:aws:iam::${ACCOUNT}:role/admin-test-role`,
        'unmapped',
        undefined,
        undefined,
        undefined,
        'authn-failed',
      ],
      [
        '2024-08-24T14:28:10.100000Z',
        `arn:aws:iam::${ACCOUNT}:role/dev`,
        'aws-auth-role',
        'list',
        'kube-system/secrets',
        403,
        'forbid',
      ],
      [
        '2024-08-24T14:28:05.000000Z',
        `arn:aws:iam::${ACCOUNT}:role/dev`,
        'aws-auth-role',
        'get',
        'dev/pods/web-0',
        200,
        'allow',
      ],
      [
        '2024-08-24T14:27:07.461683Z',
        `arn:aws:iam::${ACCOUNT}:role/sso_admin`,
        'access-entry',
        'list',
        '/namespaces',
        200,
        'allow',
      ],
    ]);
    expect(a.nextCursor).toBeUndefined();
  });

  it('finds the SSO human behind the shared role through the AssumeRoleWithSAML issuance of its access key', async () => {
    const a = await ask('who-did', { cluster: 'kiem', human: 'gomyers@paloaltonetworks.com', ...WINDOW });
    expect(a.rows).toHaveLength(1);
    expect(a.rows[0]).toMatchObject({
      auditID: 'fb5dba68-6262-4718-b45e-d293b03e434d',
      human: { identity: 'gomyers@paloaltonetworks.com', via: 'saml' },
      principal: {
        arn: `arn:aws:iam::${ACCOUNT}:role/sso_admin`,
        sessionName: 'gomyers@paloaltonetworks.com',
        accessKeyId: 'ASIATCKASJUUD7MPDOZN',
      },
      mapping: { source: 'access-entry', key: `arn:aws:iam::${ACCOUNT}:role/sso_admin` },
      k8s: { user: `arn:aws:sts::${ACCOUNT}:assumed-role/sso_admin/gomyers-paloaltonetworks.com` },
      decision: {
        outcome: 'allow',
        authorizer: 'eks-access-policy',
        policy: {
          arn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
          name: 'AmazonEKSClusterAdminPolicy',
          scope: 'cluster',
        },
      },
      links: { principal: 'observed', human: 'derived', mapping: 'derived', decision: 'observed' },
    });
  });

  it('canonicalises an assumed-role ARN to its role and keeps only that session', async () => {
    const a = await ask('who-did', { principal: `arn:aws:sts::${ACCOUNT}:assumed-role/dev/alice`, ...WINDOW });
    expect(a.rows.map((r) => r.auditID)).toEqual([
      '7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f601',
      '7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f602',
    ]);
    expect(a.notes).toContain(`principal canonicalised to arn:aws:iam::${ACCOUNT}:role/dev`);
    const other = await ask('who-did', { principal: `arn:aws:sts::${ACCOUNT}:assumed-role/dev/mallory`, ...WINDOW });
    expect(other.rows).toEqual([]);
  });

  it.each([
    [{ verb: 'get' }, ['7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f602']],
    [{ outcome: 'forbid' }, ['7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f601']],
    [{ namespace: 'dev' }, ['7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f602']],
    [{ resource: 'namespaces' }, ['fb5dba68-6262-4718-b45e-d293b03e434d']],
    [{ 'k8s-user': 'dev:alice', verb: 'list,watch' }, ['7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f601']],
  ])('filters by %j', async (filter, ids) => {
    const a = await ask('who-did', { cluster: 'kiem', ...WINDOW, ...filter });
    expect(a.rows.map((r) => r.auditID)).toEqual(ids);
  });

  it('pages with a cursor without losing or repeating rows', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const a = await ask('who-did', { cluster: 'kiem', ...WINDOW, limit: '1', ...(cursor ? { cursor } : {}) });
      seen.push(...a.rows.map((r) => (r as { chainId: string }).chainId));
      cursor = a.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([
      'kiem#authn#38000000000000000000000000000000000000000000000000000005',
      'kiem#7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f601',
      'kiem#7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f602',
      'kiem#fb5dba68-6262-4718-b45e-d293b03e434d',
    ]);
  });
});

describe('cursors', () => {
  const ALL = [
    'kiem#authn#38000000000000000000000000000000000000000000000000000005',
    'kiem#7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f601',
    'kiem#7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f602',
    'kiem#fb5dba68-6262-4718-b45e-d293b03e434d',
  ];

  it('pages a `since` window over the window of the first page, though the clock moved between calls', async () => {
    // 75 minutes before 15:10 covers the fixture's requests (14:27-14:30); 40 minutes later the same
    // `since` would start at 14:35 and hold none of them.
    const first = Date.parse('2024-08-24T15:10:00Z');
    const seen: string[] = [];
    const notes: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const a = await ask(
        'who-did',
        { cluster: 'kiem', since: '75m', limit: '1', ...(cursor ? { cursor } : {}) },
        first + i * 40 * 60_000,
      );
      seen.push(...a.rows.map((r) => (r as { chainId: string }).chainId));
      notes.push(...a.notes);
      if (i > 0) expect(a.window).toEqual({ from: '2024-08-24T13:55:00.000Z', to: '2024-08-24T15:10:00.000Z' });
      cursor = a.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(ALL);
    expect(notes).toContain(
      "continues the listing over 2024-08-24T13:55:00.000Z to 2024-08-24T15:10:00.000Z (the window of its first page, not the clock's now)",
    );
  });

  it.each([
    ['other filters', { verb: 'get' }],
    ['another question', undefined],
    ['another fixed window', { from: '2024-08-24T14:10:00Z', to: '2024-08-24T14:59:59Z' }],
  ])('refuses to resume a listing with %s, which would skip or repeat rows', async (_kind, change) => {
    const a = await ask('who-did', { cluster: 'kiem', ...WINDOW, limit: '1' });
    expect(a.nextCursor).toBeDefined();
    const cursor = a.nextCursor as string;
    const resumed =
      change === undefined
        ? ask('denied', { cluster: 'kiem', ...WINDOW, limit: '1', cursor })
        : ask('who-did', { cluster: 'kiem', ...WINDOW, limit: '1', ...change, cursor });
    await expect(resumed).rejects.toThrow(QueryParamError);
    await expect(resumed).rejects.toMatchObject({ param: 'cursor' });
  });
});

describe('explain', () => {
  it('shows the six links with their status for the access-policy request', async () => {
    const a = await ask('explain', { cluster: 'kiem', 'audit-id': 'fb5dba68-6262-4718-b45e-d293b03e434d' });
    expect(a.rows.map((r) => [r.link, r.status])).toEqual([
      ['principal', 'observed'],
      ['human', 'derived'],
      ['mapping', 'derived'],
      ['k8sIdentity', 'observed'],
      ['decision', 'observed'],
      ['request', 'observed'],
    ]);
    const byLink = Object.fromEntries(a.rows.map((r) => [r.link, r.value]));
    expect(byLink.human).toMatchObject({
      identity: 'gomyers@paloaltonetworks.com',
      via: 'saml',
      credentialEventId: 'e0000000-0000-4000-8000-000000000004',
    });
    expect(byLink.mapping.accessEntry.policies).toEqual([
      {
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
        scope: { type: 'cluster', namespaces: [] },
      },
    ]);
    expect(byLink.decision).toMatchObject({ outcome: 'allow', authorizer: 'eks-access-policy' });
    expect(byLink.request).toMatchObject({ verb: 'list', resource: 'namespaces', target: '/namespaces' });
  });

  it('reports an unknown auditID as not found', async () => {
    await expect(ask('explain', { cluster: 'kiem', 'audit-id': 'no-such-id' })).rejects.toBeInstanceOf(
      QueryNotFoundError,
    );
  });

  it('reports an unknown cluster as not found', async () => {
    await expect(ask('explain', { cluster: 'prod', 'audit-id': 'x' })).rejects.toBeInstanceOf(QueryNotFoundError);
  });
});

describe('denied', () => {
  it('lists the 401 (unmapped) and the 403 with the missing permission', async () => {
    const a = await ask('denied', { cluster: 'kiem', ...WINDOW });
    expect(
      a.rows.map((r) => [r.decision.failedStage, r.principal.arn, r.decision.missing ?? null, r.decision.message]),
    ).toEqual([
      ['unmapped', `arn:aws:iam::${ACCOUNT}:role/admin-test-role`, null, 'ARN is not mapped'],
      [
        'authorization',
        `arn:aws:iam::${ACCOUNT}:role/dev`,
        {
          username: 'dev:alice',
          verb: 'list',
          resource: 'secrets',
          apiGroup: '',
          namespace: 'kube-system',
          scope: 'namespace',
        },
        expect.stringContaining('secrets is forbidden'),
      ],
    ]);
  });

  it('filters by failed stage', async () => {
    const a = await ask('denied', { cluster: 'kiem', ...WINDOW, stage: 'unmapped' });
    expect(a.rows).toHaveLength(1);
  });
});

describe('access-at', () => {
  it('lists the creator bootstrap entry, the access entry, matching aws-auth rows and mapAccounts', async () => {
    const a = await ask('access-at', { cluster: 'kiem', at: '2024-08-24T14:27:07Z' });
    expect(a.notes).toEqual(['authentication mode API_AND_CONFIG_MAP']);
    expect(
      a.rows.map((r) => [
        r.source,
        r.principal,
        r.username,
        r.groups,
        r.policies.map((p: { name: string }) => p.name),
        r.since,
      ]),
    ).toEqual([
      [
        'cluster-creator',
        `arn:aws:iam::${ACCOUNT}:role/platform-admin`,
        `arn:aws:sts::${ACCOUNT}:assumed-role/platform-admin/{{SessionName}}`,
        [],
        ['AmazonEKSClusterAdminPolicy'],
        '2024-08-01T10:00:00.000Z',
      ],
      [
        'access-entry',
        `arn:aws:iam::${ACCOUNT}:role/sso_admin`,
        `arn:aws:sts::${ACCOUNT}:assumed-role/sso_admin/{{SessionName}}`,
        [],
        ['AmazonEKSClusterAdminPolicy'],
        '2024-08-10T09:01:00.000Z',
      ],
      [
        'aws-auth-role',
        `arn:aws:iam::${ACCOUNT}:role/dev`,
        'dev:{{SessionName}}',
        ['developers'],
        [],
        '2024-08-05T00:00:00.000Z',
      ],
      [
        'aws-auth-account',
        'arn:aws:iam::444455556666:*',
        '<canonical ARN of the caller>',
        [],
        [],
        '2024-08-05T00:00:00.000Z',
      ],
    ]);
  });

  it('knows nothing was mapped before the cluster existed', async () => {
    const a = await ask('access-at', { cluster: 'kiem', at: '2024-07-01T00:00:00Z' });
    expect(a.rows).toEqual([]);
  });

  it('before the access entry existed, only the creator and aws-auth admit principals', async () => {
    const a = await ask('access-at', { cluster: 'kiem', at: '2024-08-06T00:00:00Z' });
    expect(a.rows.map((r) => r.source)).toEqual(['cluster-creator', 'aws-auth-role', 'aws-auth-account']);
  });

  it('narrows to one principal', async () => {
    const a = await ask('access-at', {
      cluster: 'kiem',
      at: '2024-08-24T14:27:07Z',
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/sso_admin/x`,
    });
    expect(a.rows.map((r) => r.source)).toEqual(['access-entry']);
  });
});

describe('mappings history', () => {
  it('shows each change in time order with actor and diff', async () => {
    const a = await ask('mappings-history', { cluster: 'kiem' });
    expect(a.rows.map((r) => [r.at, r.change, r.target])).toEqual([
      ['2024-08-01T10:00:00.000Z', 'cluster-created', '(cluster)'],
      ['2024-08-05T00:00:00.000Z', 'aws-auth-put', '(cluster)'],
      ['2024-08-10T09:00:00.000Z', 'access-entry-put', `arn:aws:iam::${ACCOUNT}:role/sso_admin`],
      ['2024-08-10T09:01:00.000Z', 'access-policy-associate', `arn:aws:iam::${ACCOUNT}:role/sso_admin`],
      ['2024-08-24T14:27:07.491Z', 'principal-id-observed', `arn:aws:iam::${ACCOUNT}:role/sso_admin`],
    ]);
    const assoc = a.rows[3] as { diff: string[]; actor: { arn: string } };
    expect(assoc.diff).toEqual(['- policies=[]', '+ policies=[AmazonEKSClusterAdminPolicy@cluster]']);
    expect(assoc.actor.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/platform-admin/creator@example.com`);
    const awsAuth = a.rows[1] as { diff: string[] };
    expect(awsAuth.diff).toContain(`+ role arn:aws:iam::${ACCOUNT}:role/dev -> dev:{{SessionName}} [developers]`);
    expect(awsAuth.diff).toContain('+ mapAccounts 444455556666');
  });

  it('narrows to the changes of one principal', async () => {
    const a = await ask('mappings-history', { cluster: 'kiem', principal: `arn:aws:iam::${ACCOUNT}:role/dev` });
    expect(a.rows.map((r) => r.change)).toEqual(['aws-auth-put']);
  });
});

describe('touched', () => {
  it.each([
    ['kube-system/secrets', 'any', ['7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f601']],
    ['dev/pods/web-0', 'any', ['7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f602']],
    ['namespace/dev', 'read', ['7d1f3c2a-5b6e-4f70-8a91-b2c3d4e5f602']],
    ['namespace/dev', 'write', []],
    ['namespaces', 'any', ['fb5dba68-6262-4718-b45e-d293b03e434d']],
  ])('%s (%s access)', async (target, access, ids) => {
    const a = await ask('touched', { cluster: 'kiem', target, access, ...WINDOW });
    expect(a.rows.map((r) => r.auditID)).toEqual(ids);
  });
});

describe('cluster resolution', () => {
  it('accepts account/name and defaults to the only cluster', async () => {
    const a = await ask('denied', { cluster: `${ACCOUNT}/kiem`, ...WINDOW });
    const b = await ask('denied', { ...WINDOW });
    expect(b.rows).toEqual(a.rows);
  });

  it('refuses a cluster unknown in that account', async () => {
    await expect(ask('denied', { cluster: '999999999999/kiem', ...WINDOW })).rejects.toBeInstanceOf(QueryNotFoundError);
  });

  it('refuses a malformed cursor as a parameter error', async () => {
    await expect(ask('who-did', { cluster: 'kiem', cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(QueryParamError);
  });
});
