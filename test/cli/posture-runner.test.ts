import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPosture } from '../../bin/commands/posture-runner.js';
import { accessEntryMappingKey } from '../../lib/alerts/mapping-keys.js';
import { postureFindings } from '../../lib/alerts/posture.js';
import { buildPostureInput } from '../../lib/alerts/posture-input.js';
import type { Finding } from '../../lib/alerts/types.js';
import { ingestCloudTrailEvents } from '../../lib/ingest/cloudtrail-pipeline.js';
import { startLocalEngine } from '../../lib/local/engine.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { DynamoDbMappingUsageStore } from '../../lib/store/dynamodb/mapping-usage.js';
import { createTestTable, type Engine, startEngine } from '../support/engine.js';

/**
 * The `posture` runner reads the recorded use of each mapping (USAGE# items) with the account of
 * each cluster, so the unused-mapping finding reflects real traffic. Seeded through the real
 * CloudTrail pipeline (the scenario's CreateAccessEntry, test/fixtures/SOURCES.md, plus a copy for a
 * second principal) and the real mapping-usage store.
 */

const ACCOUNT = '211125685544';
const OTHER_ACCOUNT = '999999999999';
const CLUSTER = 'kiem-demo';
const USED = `arn:aws:iam::${ACCOUNT}:role/sso_admin`;
const UNUSED = `arn:aws:iam::${ACCOUNT}:role/ci-deployer`;
// Both entries were created on 2024-08-20, long before the 90-day window.
const NOW = Date.parse('2025-03-01T00:00:00Z');
const DAY = 86_400_000;

const scenario = JSON.parse(
  readFileSync(resolve(__dirname, '../fixtures/ingest/cloudtrail-scenario.json'), 'utf8'),
) as Record<string, Record<string, unknown>>;

const createEntry = (principalArn: string, n: number): Record<string, unknown> => {
  const e = structuredClone(scenario['createAccessEntry']) as {
    id: string;
    detail: {
      eventID: string;
      requestID: string;
      requestParameters: { principalArn: string };
      responseElements: { accessEntry: { principalArn: string; username: string } };
    };
  };
  e.id = `${e.id.slice(0, -2)}9${n}`;
  e.detail.eventID = `${e.detail.eventID.slice(0, -2)}9${n}`;
  e.detail.requestID = `${e.detail.requestID.slice(0, -2)}9${n}`;
  e.detail.requestParameters.principalArn = principalArn;
  e.detail.responseElements.accessEntry.principalArn = principalArn;
  e.detail.responseElements.accessEntry.username = `${principalArn}-user`;
  return e as unknown as Record<string, unknown>;
};

const seed = async (client: DynamoDBClient, tableName: string) => {
  const trail = new DynamoDbTrailStore(client, { tableName, now: () => NOW });
  const summary = await ingestCloudTrailEvents(
    [createEntry(USED, 1), createEntry(UNUSED, 2)].map((e, i) => ({
      itemId: `ct-${i}`,
      source: 'sqs-message' as const,
      body: JSON.stringify(e),
    })),
    trail,
    { now: () => NOW },
  );
  expect(summary.failedItemIds).toEqual([]);
  const usage = new DynamoDbMappingUsageStore(client, { tableName });
  await usage.recordUse(CLUSTER, accessEntryMappingKey(USED), new Date(NOW - 2 * DAY).toISOString(), {
    accountId: ACCOUNT,
    chainId: 'chain-recent',
  });
  // Same cluster name in another account: this use must not count for ACCOUNT's mapping.
  await usage.recordUse(CLUSTER, accessEntryMappingKey(UNUSED), new Date(NOW - DAY).toISOString(), {
    accountId: OTHER_ACCOUNT,
    chainId: 'chain-elsewhere',
  });
  return { trail, usage };
};

const unusedArns = (findings: Finding[]) =>
  findings
    .filter((f) => f.ruleId === 'mapping-unused')
    .map((f) => (f as Finding & { principalArn?: string }).principalArn)
    .sort();

describe('posture input against the real engine', () => {
  let engine: Engine;
  let sources: Awaited<ReturnType<typeof seed>>;

  beforeAll(async () => {
    engine = await startEngine();
    const table = await createTestTable(engine.client, 'posture');
    sources = await seed(engine.client, table);
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('carries the account on each state and the usage of that account only', async () => {
    const input = await buildPostureInput(sources, new Date(NOW).toISOString(), {});
    expect(input.states.map((s) => [s.accountId, s.cluster])).toEqual([[ACCOUNT, CLUSTER]]);
    expect(input.usage.map((u) => [u.accountId, u.cluster, u.mappingKey])).toEqual([
      [ACCOUNT, CLUSTER, accessEntryMappingKey(USED)],
    ]);
  });

  it('reports the old unused mapping and not the one used two days ago', async () => {
    const now = new Date(NOW).toISOString();
    const findings = postureFindings(await buildPostureInput(sources, now, {}));
    expect(unusedArns(findings)).toEqual([UNUSED]);
  });

  it('keeps only the cluster asked for', async () => {
    const now = new Date(NOW).toISOString();
    expect((await buildPostureInput(sources, now, {}, `${ACCOUNT}/${CLUSTER}`)).states).toHaveLength(1);
    expect(await buildPostureInput(sources, now, {}, 'other')).toMatchObject({ states: [], usage: [], clusters: [] });
  });
});

describe('posture command over a local data dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eks-trail-posture-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the unused-mapping finding for the old mapping only', async () => {
    const local = await startLocalEngine({ dataDir: dir });
    try {
      await seed(local.client, local.tableName);
    } finally {
      await local.stop();
    }
    let out = '';
    let err = '';
    const code = await runPosture({
      values: { 'data-dir': dir },
      format: 'json',
      io: {
        stdout: { write: (s: string) => (out += s) },
        stderr: { write: (s: string) => (err += s) },
        env: {},
        cwd: dir,
        now: () => NOW,
        readStdin: async () => '',
      },
    });
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(unusedArns(JSON.parse(out) as Finding[])).toEqual([UNUSED]);
  });
});
