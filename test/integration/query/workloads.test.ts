import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudTrailBatchItem, ingestCloudTrailEvents } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { type ExplainRow, explainValueText } from '../../../lib/query/chain-rows.js';
import { QueryNotFoundError } from '../../../lib/query/errors.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { type QuestionScope, runQuestion, SCOPED_NOTE } from '../../../lib/query/run.js';
import { parseLogExport } from '../../../lib/sources/cloudwatch-logs.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { GroundTruth } from '../../../sim/index.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';
import { awsAuthBackfill } from '../e2e/harness.js';

/**
 * The workload questions against the bundled samples (synthetic, samples/README.md) stored through the
 * real pipelines: pods of payments-prod call checkout-stg with EKS Pod Identity sessions, a pod of
 * checkout-stg reads payments-prod with IRSA, checkout-stg trusts an OIDC provider and admits nodes of
 * every type. Every answer is checked against the simulator's ground truth.
 */
const samplesDir = new URL('../../../samples/', import.meta.url).pathname;
const truths = readFileSync(join(samplesDir, 'ground-truth.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as GroundTruth);
const NOW = Date.parse('2025-06-02T16:30:00Z');
const WINDOW = { from: '2025-06-02T08:00:00Z', to: '2025-06-02T16:59:59Z' };

let engine: Engine;
let store: DynamoDbTrailStore;

const ask = async (question: string, params: Record<string, string>) => {
  const p = parseQuestionParams(question, params, NOW);
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  const a = await runQuestion(store, p.value);
  return { ...a, rows: a.rows as Record<string, unknown>[] };
};

/** Every page of a listing. */
const all = async (question: string, params: Record<string, string>) => {
  const rows: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const a = await ask(question, { ...params, limit: '200', ...(cursor ? { cursor } : {}) });
    rows.push(...a.rows);
    cursor = a.nextCursor;
  } while (cursor);
  return rows;
};

const podTruths = truths.filter((t) => t.human?.via === 'pod-identity');
const irsaTruths = truths.filter((t) => t.human?.via === 'irsa');
const pod = podTruths[0]?.human?.workload;
const irsa = irsaTruths[0]?.human?.workload;

beforeAll(async () => {
  engine = await startEngine();
  const tableName = await createTestTable(engine.client, 'workloads');
  store = new DynamoDbTrailStore(engine.newClient(), { tableName });
  const opts = { now: () => NOW };
  const accountOf = new Map(truths.map((t) => [t.cluster, t.accountId]));
  const ctDir = join(samplesDir, 'cloudtrail');
  for (const f of readdirSync(ctDir).sort()) {
    const { Records } = JSON.parse(gunzipSync(readFileSync(join(ctDir, f))).toString('utf8')) as { Records: unknown[] };
    const items: CloudTrailBatchItem[] = Records.map((body, i) => ({
      itemId: `${f}:${i}`,
      source: 'replay-file',
      body,
    }));
    await ingestCloudTrailEvents(items, store, opts);
  }
  for (const f of readdirSync(join(samplesDir, 'aws-auth'))) {
    const cluster = f.replace(/\.yaml$/, '');
    await store.putMappingChanges([
      awsAuthBackfill(
        readFileSync(join(samplesDir, 'aws-auth', f), 'utf8'),
        cluster,
        accountOf.get(cluster) as string,
        '2025-06-02T08:00:00.000Z',
      ),
    ]);
  }
  for (const f of readdirSync(join(samplesDir, 'logs'))) {
    const cluster = f.replace(/\.filter-log-events\.json$/, '');
    const parsed = parseLogExport(readFileSync(join(samplesDir, 'logs', f), 'utf8'), {
      logGroup: `/aws/eks/${cluster}/cluster`,
      accountId: accountOf.get(cluster) as string,
    });
    if (!parsed.ok) throw new Error(`${f}: ${parsed.issues[0]?.message}`);
    await ingestLogPayloads(
      parsed.value.map((payload, i) => ({ itemId: `${f}:${i}`, source: 'replay-file' as const, payload })),
      store,
      opts,
    );
  }
}, 120_000);

afterAll(async () => {
  await engine?.stop();
});

describe('who-did --service-account and --pod', () => {
  it('the samples hold sessions of a pod and of an IRSA service account', () => {
    expect(pod?.pod).toBeDefined();
    expect(irsa).toBeDefined();
  });

  it('lists every request the service account made on any cluster with its Pod Identity sessions', async () => {
    const w = pod as NonNullable<typeof pod>;
    const rows = await all('who-did', {
      'service-account': `${w.namespace}/${w.serviceAccount}`,
      cluster: w.cluster,
      ...WINDOW,
    });
    expect(rows.map((r) => r.auditID).sort()).toEqual(podTruths.map((t) => t.auditID).sort());
    for (const r of rows) {
      expect(r.cluster).not.toBe(w.cluster);
      const human = r.human as { identity: string; workload?: { namespace: string; pod?: string } };
      expect(human.identity).toBe(`serviceaccount:${w.accountId}/${w.cluster}/${w.namespace}/${w.serviceAccount}`);
      expect(human.workload?.namespace).toBe(w.namespace);
      expect(human.workload?.pod).toBeDefined();
    }
  });

  it('narrows to one pod, found through its Pod Identity sessions', async () => {
    const w = pod as NonNullable<typeof pod>;
    const rows = await all('who-did', { pod: `${w.namespace}/${w.pod}`, cluster: w.cluster, ...WINDOW });
    expect(rows.map((r) => r.auditID).sort()).toEqual(
      podTruths
        .filter((t) => t.human?.workload?.pod === w.pod)
        .map((t) => t.auditID)
        .sort(),
    );
  });

  it('lists the IRSA service account, whose cluster its issuer names', async () => {
    const w = irsa as NonNullable<typeof irsa>;
    const rows = await all('who-did', {
      'service-account': `${w.namespace}/${w.serviceAccount}`,
      cluster: w.cluster,
      ...WINDOW,
    });
    expect(rows.map((r) => r.auditID).sort()).toEqual(irsaTruths.map((t) => t.auditID).sort());
  });

  it.each([
    ['a pod with no Pod Identity session', { pod: 'payments/nobody-0', cluster: 'payments-prod' }, QueryNotFoundError],
  ])('answers %s with a not-found error', async (_kind, params, error) => {
    const p = parseQuestionParams('who-did', { ...params, ...WINDOW }, NOW);
    if (!p.ok) throw new Error('params');
    await expect(runQuestion(store, p.value)).rejects.toBeInstanceOf(error);
  });

  it.each([
    ['no cluster', { 'service-account': 'payments/payments-deployer' }],
    ['a service account that is not ns/name', { 'service-account': 'payments-deployer', cluster: 'payments-prod' }],
    [
      'a principal too',
      { 'service-account': 'a/b', cluster: 'payments-prod', principal: 'arn:aws:iam::111122223333:role/x' },
    ],
  ])('refuses %s', (_kind, params) => {
    const p = parseQuestionParams('who-did', params, NOW);
    expect(p.ok).toBe(false);
  });
});

describe('workloads', () => {
  it('names the association and the sessions each pod received, for the Pod Identity role', async () => {
    const role = podTruths[0]?.canonicalArn as string;
    const a = await ask('workloads', { role, at: '2025-06-02T16:00:00Z', since: '1d' });
    const w = pod as NonNullable<typeof pod>;
    expect(a.rows).toHaveLength(1);
    const sessions = new Set(
      podTruths.filter((t) => Date.parse(t.at) <= Date.parse('2025-06-02T16:00:00Z')).map((t) => t.accessKeyId),
    );
    expect(a.rows[0]).toMatchObject({
      cluster: `${w.accountId}/${w.cluster}`,
      namespace: w.namespace,
      serviceAccount: w.serviceAccount,
      via: 'pod-identity-association',
      association: w.association,
    });
    expect(a.rows[0]?.sessions).toBeGreaterThanOrEqual(sessions.size);
    expect(a.rows[0]?.pods as string[]).toContain(w.pod);
  });

  it('names the IRSA service account by the sessions its token got', async () => {
    const role = irsaTruths[0]?.canonicalArn as string;
    const a = await ask('workloads', { role, since: '1d' });
    const w = irsa as NonNullable<typeof irsa>;
    expect(a.rows.map((r) => [r.cluster, r.namespace, r.serviceAccount, r.via])).toEqual([
      [`${w.accountId}/${w.cluster}`, w.namespace, w.serviceAccount, 'irsa'],
    ]);
  });

  it('refuses a question without a role', () => {
    const p = parseQuestionParams('workloads', {}, NOW);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.issues.map((i) => i.path)).toContain('role');
  });
});

describe('explain, access-at and mappings history', () => {
  it('explain names the pod, its association and who last changed the Deployment it belongs to', async () => {
    const t = podTruths[0] as GroundTruth;
    const a = await ask('explain', { cluster: t.cluster, 'audit-id': t.auditID });
    const human = a.rows.find((r) => r.link === 'human') as Record<string, unknown>;
    expect(human.status).toBe('derived');
    expect(explainValueText(human as unknown as ExplainRow)).toContain(`pod ${t.human?.workload?.pod}`);
    expect(explainValueText(human as unknown as ExplainRow)).toContain(`association ${t.human?.workload?.association}`);
    expect(explainValueText(human as unknown as ExplainRow)).toMatch(
      /deployed by \[derived\]: .* (patch|update|create) deployments\.apps\/payments\/payments-api/,
    );
  });

  it('access-at lists the OIDC provider and says what the node entries admit', async () => {
    const oidc = truths.find((t) => t.mappingSource === 'oidc-provider') as GroundTruth;
    const a = await ask('access-at', { cluster: oidc.cluster, at: '2025-06-02T12:00:00Z' });
    expect(a.rows.find((r) => r.source === 'oidc-provider')).toMatchObject({
      principal: 'https://example.okta.com/oauth2/default',
      username: 'okta:<email claim>',
      groups: ['okta:<groups claim>'],
    });
    const nodeNotes = a.rows.filter((r) => String(r.note ?? '').startsWith('node entry')).map((r) => r.entryType);
    expect(nodeNotes.sort()).toEqual(['EC2', 'EC2_LINUX', 'EC2_WINDOWS', 'FARGATE_LINUX', 'HYBRID_LINUX']);
  });

  it('who-did --human finds an OIDC user by their claim', async () => {
    const oidc = truths.filter((t) => t.mappingSource === 'oidc-provider');
    const email = oidc[0]?.human?.identity as string;
    const rows = await all('who-did', { human: email, ...WINDOW });
    expect(rows.map((r) => r.auditID).sort()).toEqual(
      oidc
        .filter((t) => t.human?.identity === email)
        .map((t) => t.auditID)
        .sort(),
    );
    expect(rows[0]?.mapping).toMatchObject({ source: 'oidc-provider' });
  });

  it('mappings history shows the association with its actor and diff', async () => {
    const w = pod as NonNullable<typeof pod>;
    const a = await ask('mappings-history', { cluster: w.cluster });
    const row = a.rows.find((r) => r.change === 'pod-identity-association-put') as Record<string, unknown>;
    expect(row.target).toBe(`serviceaccount ${w.namespace}/${w.serviceAccount} (${w.association})`);
    expect(row.diff).toEqual(expect.arrayContaining([`+ serviceAccount=${w.namespace}/${w.serviceAccount}`]));
    expect(row.actor).toBeDefined();
  });
});

describe('query API scope (clusters a caller may read)', () => {
  const only = (cluster: string): QuestionScope => ({ mayRead: (r) => r.cluster === cluster });
  const askScoped = async (question: string, params: Record<string, string>, scope: QuestionScope) => {
    const p = parseQuestionParams(question, question === 'explain' ? params : { limit: '200', ...params }, NOW);
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    const a = await runQuestion(store, p.value, scope);
    return { ...a, rows: a.rows as Record<string, unknown>[] };
  };

  it('who-did --service-account needs the pod cluster in scope', async () => {
    const w = pod as NonNullable<typeof pod>;
    const called = podTruths[0]?.cluster as string;
    const p = parseQuestionParams(
      'who-did',
      { 'service-account': `${w.namespace}/${w.serviceAccount}`, cluster: w.cluster, ...WINDOW },
      NOW,
    );
    if (!p.ok) throw new Error('params');
    await expect(runQuestion(store, p.value, only(called))).rejects.toBeInstanceOf(QueryNotFoundError);
  });

  it('who-did --service-account shows only requests on clusters in scope', async () => {
    const w = pod as NonNullable<typeof pod>;
    const a = await askScoped(
      'who-did',
      { 'service-account': `${w.namespace}/${w.serviceAccount}`, cluster: w.cluster, ...WINDOW },
      only(w.cluster),
    );
    // The pod's sessions were used on another cluster only.
    expect(podTruths.every((t) => t.cluster !== w.cluster)).toBe(true);
    expect(a.rows).toEqual([]);
    expect(a.notes).toContain(SCOPED_NOTE);
  });

  it('workloads lists pods of clusters in scope only', async () => {
    const role = podTruths[0]?.canonicalArn as string;
    const w = pod as NonNullable<typeof pod>;
    const inScope = await askScoped('workloads', { role, since: '1d' }, only(w.cluster));
    expect(inScope.rows.map((r) => r.cluster)).toEqual([`${w.accountId}/${w.cluster}`]);
    const outOfScope = await askScoped('workloads', { role, since: '1d' }, only(podTruths[0]?.cluster as string));
    expect(outOfScope.rows).toEqual([]);
    expect(outOfScope.notes).toContain(SCOPED_NOTE);
  });

  it('explain leaves out who deployed the pod when the pod cluster is out of scope', async () => {
    const t = podTruths[0] as GroundTruth;
    const a = await askScoped('explain', { cluster: t.cluster, 'audit-id': t.auditID }, only(t.cluster));
    const human = a.rows.find((r) => r.link === 'human') as Record<string, unknown>;
    expect(explainValueText(human as unknown as ExplainRow)).toContain(`pod ${t.human?.workload?.pod}`);
    expect(explainValueText(human as unknown as ExplainRow)).not.toContain('deployed by');
  });
});
