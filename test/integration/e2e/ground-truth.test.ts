import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { KinesisStreamBatchResponse, SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOG_STREAM_BATCHING } from '../../../cdk/function-settings.js';
import { type CloudTrailBatchItem, ingestCloudTrailEvents } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { ingestLogPayloads } from '../../../lib/ingest/log-pipeline.js';
import { parseLogExport } from '../../../lib/sources/cloudwatch-logs.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { US_PER_MS } from '../../../sim/formats.js';
import {
  buildFleet,
  type Emission,
  type GroundTruth,
  REALISTIC_FLEET,
  realisticDurationMs,
  renderAwsAuthYaml,
  simulate,
  toDeliveries,
} from '../../../sim/index.js';
import { createTestTable, type Engine, engineName, startEngine, stubHandlerEnv } from '../../support/engine.js';
import { awsAuthBackfill, compareAll, describeReport, lambdaContext, requestChainsByAuditId } from './harness.js';

/**
 * End to end against the simulator's ground truth: every request of a scenario goes through the
 * product (parsers, pipelines, store, query-time re-derivation) and every field of its chain is
 * compared with what the simulator knows happened (sim/truth-compare.ts).
 */

type Handler<R> = (event: unknown, context: unknown) => Promise<R>;

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await engine?.stop();
});

const samplesDir = new URL('../../../samples/', import.meta.url).pathname;

describe('bundled samples replayed through lib/ingest', () => {
  it('agree with samples/ground-truth.jsonl on every field of every request', { timeout: 120_000 }, async () => {
    const tableName = await createTestTable(engine.client, 'e2e-samples');
    const store = new DynamoDbTrailStore(engine.newClient(), { tableName });
    const opts = { now: () => Date.parse('2025-06-02T16:30:00Z') };
    const truths = readFileSync(join(samplesDir, 'ground-truth.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as GroundTruth);
    const accountOf = new Map(truths.map((t) => [t.cluster, t.accountId]));

    // CloudTrail log files: {"Records":[…]} gzip, one pipeline call per file.
    const ctDir = join(samplesDir, 'cloudtrail');
    for (const f of readdirSync(ctDir).sort()) {
      const { Records } = JSON.parse(gunzipSync(readFileSync(join(ctDir, f))).toString('utf8')) as {
        Records: unknown[];
      };
      const items: CloudTrailBatchItem[] = Records.map((body, i) => ({
        itemId: `${f}:${i}`,
        source: 'replay-file',
        body,
      }));
      const s = await ingestCloudTrailEvents(items, store, opts);
      expect(s.failedItemIds).toEqual([]);
    }
    // aws-auth as it stood when the window opened (later edits are in the audit log).
    for (const f of readdirSync(join(samplesDir, 'aws-auth'))) {
      const cluster = f.replace(/\.yaml$/, '');
      const text = readFileSync(join(samplesDir, 'aws-auth', f), 'utf8');
      await store.putMappingChanges([
        awsAuthBackfill(text, cluster, accountOf.get(cluster)!, '2025-06-02T08:00:00.000Z'),
      ]);
    }
    // filter-log-events exports, one payload per stream, in chunks.
    for (const f of readdirSync(join(samplesDir, 'logs'))) {
      const cluster = f.replace(/\.filter-log-events\.json$/, '');
      const parsed = parseLogExport(readFileSync(join(samplesDir, 'logs', f), 'utf8'), {
        logGroup: `/aws/eks/${cluster}/cluster`,
        accountId: accountOf.get(cluster)!,
      });
      if (!parsed.ok) throw new Error(`${f}: ${parsed.issues[0]?.message}`);
      const items = parsed.value.flatMap((p, pi) => {
        const chunks = [];
        for (let i = 0; i < p.logEvents.length; i += 200)
          chunks.push({
            itemId: `${f}:${pi}:${i}`,
            source: 'replay-file' as const,
            payload: { ...p, logEvents: p.logEvents.slice(i, i + 200) },
          });
        return chunks;
      });
      for (let i = 0; i < items.length; i += 10) {
        const s = await ingestLogPayloads(items.slice(i, i + 10), store, opts);
        expect(s.failedItemIds).toEqual([]);
      }
    }

    const chains = await requestChainsByAuditId(store, truths, {
      from: '2025-06-02T08:00:00Z',
      to: '2025-06-02T16:59:59Z',
    });
    const report = compareAll(truths, chains);
    expect(report.requests).toBe(truths.length);
    expect(report.agreement, describeReport(report)).toBe(1);
    // Sparse enough that every 401 joins its denial unambiguously: nothing needs the unknowable excuse.
    expect(report.excused).toEqual({});
  });
});

describe('a simulated fleet delivered through the real Lambda handlers', () => {
  // Three clusters, one per auth mode (CONFIG_MAP, API_AND_CONFIG_MAP, API), with mapping changes,
  // late delivery and duplicates. DynamoDB Local is slower per call: it gets a smaller scenario.
  const requests = engineName() === 'dynamodb-local' ? 1_200 : 3_000;
  const start = '2025-06-02T08:00:00Z';
  const durationMs = 6 * 3600_000;

  it(`agree with the ground truth on every field of ${requests} requests`, { timeout: 180_000 }, async () => {
    const fleet = buildFleet({
      seed: 4242,
      clusters: 3,
      accountsPerOrg: 2,
      ssoUsers: 8,
      iamUsers: 5,
      roles: 2,
      nodesPerCluster: 3,
      serviceAccounts: 2,
      start,
    });
    expect(new Set(fleet.clusters.map((c) => c.createdMode))).toEqual(
      new Set(['CONFIG_MAP', 'API_AND_CONFIG_MAP', 'API']),
    );
    const emissions: Emission[] = [
      ...simulate(fleet, { seed: 4242, requests, start, durationMs, mappingChanges: true }),
    ];
    const truths = emissions.flatMap((e) => (e.kind === 'truth' ? [e.truth] : []));
    // The situations the comparison must cover, so 100% means something.
    const sources = new Set(truths.map((t) => t.mappingSource));
    for (const s of ['access-entry', 'aws-auth-role', 'aws-auth-user', 'aws-auth-account', 'cluster-creator'] as const)
      expect(sources).toContain(s);
    expect(truths.filter((t) => t.outcome === 'authn-failed' && t.canonicalArn).length).toBeGreaterThan(0);
    expect(truths.filter((t) => t.outcome === 'forbid').length).toBeGreaterThan(0);
    expect(truths.filter((t) => t.human?.chain).length).toBeGreaterThan(0);
    expect(truths.filter((t) => t.impersonated).length).toBeGreaterThan(0);
    // Ways in besides a person's IAM principal: pods calling another cluster with Pod Identity and IRSA
    // sessions, an OIDC provider's users, a control-plane certificate, nodes of every node entry type.
    for (const s of ['oidc-provider', 'certificate'] as const) expect(sources).toContain(s);
    expect(truths.filter((t) => t.human?.via === 'pod-identity' && t.human.workload?.pod).length).toBeGreaterThan(0);
    expect(truths.filter((t) => t.human?.via === 'irsa' && t.human.workload).length).toBeGreaterThan(0);
    const cases = new Set(truths.flatMap((t) => t.cases ?? []));
    for (const c of ['node-ec2-windows-entry', 'node-fargate-entry', 'node-hybrid-entry', 'node-auto-mode-entry'])
      expect(cases).toContain(c);

    const tableName = await createTestTable(engine.client, 'e2e-handlers');
    stubHandlerEnv(engine, tableName);
    vi.resetModules();
    const logModule = await import('../../../functions/log-ingest.js');
    const ctModule = await import('../../../functions/cloudtrail-ingest.js');
    // SNS has no local engine: the handlers publish alerts to a fake (test/integration/ingest/alert-wiring.test.ts checks them).
    mockClient(logModule.snsClient).on(PublishCommand).resolves({ MessageId: 'm' });
    mockClient(ctModule.snsClient).on(PublishCommand).resolves({ MessageId: 'm' });
    const logIngest = logModule.handler as unknown as Handler<KinesisStreamBatchResponse | undefined>;
    const ctIngest = ctModule.handler as unknown as Handler<SQSBatchResponse | undefined>;
    const reader = new DynamoDbTrailStore(engine.newClient(), { tableName });

    // The initial aws-auth of the clusters that have one: the operator's backfill at deployment.
    const backfillAt = new Date(fleet.startUs / US_PER_MS - 1).toISOString();
    for (const c of fleet.clusters) {
      if (!c.awsAuth) continue;
      await reader.putMappingChanges([awsAuthBackfill(renderAwsAuthYaml(c.awsAuth), c.name, c.accountId, backfillAt)]);
    }

    let kinesis = 0;
    let sqs = 0;
    for (const d of toDeliveries(emissions, { seed: 4242, lateFraction: 0.05, duplicateFraction: 0.03 })) {
      if (d.kind === 'kinesis') {
        kinesis++;
        expect(await logIngest(d.event, lambdaContext('log-ingest'))).toEqual({ batchItemFailures: [] });
      } else {
        sqs++;
        expect(await ctIngest(d.event, lambdaContext('cloudtrail-ingest'))).toEqual({ batchItemFailures: [] });
      }
    }
    expect(kinesis).toBeGreaterThan(0);
    expect(sqs).toBeGreaterThan(0);

    const chains = await requestChainsByAuditId(reader, truths, {
      from: start,
      to: new Date(Date.parse(start) + durationMs + 3600_000).toISOString(),
    });
    const report = compareAll(truths, chains);
    expect(report.requests).toBe(truths.length);
    expect(report.agreement, describeReport(report)).toBe(1);
    // Sparse enough that every 401 joins its denial unambiguously: nothing needs the unknowable excuse.
    expect(report.excused).toEqual({});
  });
});

describe('the realistic traffic mix delivered as the deployment batches it', () => {
  // Kubelets, controllers, certificate users and service accounts nearly all of it, IAM humans 1.5 %,
  // packed into Lambda invocations with the log function's own batch size and window.
  const requests = engineName() === 'dynamodb-local' ? 1_200 : 4_000;
  const start = '2025-06-02T08:00:00Z';

  it(`agree with the ground truth on every field of ${requests} requests`, { timeout: 240_000 }, async () => {
    const fleet = buildFleet({ seed: 5151, ...REALISTIC_FLEET });
    const durationMs = realisticDurationMs(fleet, requests);
    const emissions: Emission[] = [
      ...simulate(fleet, { seed: 5151, requests, start, durationMs, mappingChanges: true, mix: 'realistic' }),
    ];
    const truths = emissions.flatMap((e) => (e.kind === 'truth' ? [e.truth] : []));
    const sources = new Set(truths.map((t) => t.mappingSource));
    for (const s of ['certificate', 'service-account', 'aws-auth-role'] as const) expect(sources).toContain(s);

    const tableName = await createTestTable(engine.client, 'e2e-realistic');
    stubHandlerEnv(engine, tableName);
    vi.resetModules();
    const logModule = await import('../../../functions/log-ingest.js');
    const ctModule = await import('../../../functions/cloudtrail-ingest.js');
    mockClient(logModule.snsClient).on(PublishCommand).resolves({ MessageId: 'm' });
    mockClient(ctModule.snsClient).on(PublishCommand).resolves({ MessageId: 'm' });
    const logIngest = logModule.handler as unknown as Handler<KinesisStreamBatchResponse | undefined>;
    const ctIngest = ctModule.handler as unknown as Handler<SQSBatchResponse | undefined>;
    const reader = new DynamoDbTrailStore(engine.newClient(), { tableName });
    const backfillAt = new Date(fleet.startUs / US_PER_MS - 1).toISOString();
    for (const c of fleet.clusters) {
      if (!c.awsAuth) continue;
      await reader.putMappingChanges([awsAuthBackfill(renderAwsAuthYaml(c.awsAuth), c.name, c.accountId, backfillAt)]);
    }
    const deliveries = toDeliveries(emissions, {
      seed: 5151,
      lateFraction: 0.05,
      duplicateFraction: 0.02,
      kinesisBatchSize: LOG_STREAM_BATCHING.batchSize,
      kinesisBatchWindowMs: LOG_STREAM_BATCHING.maxBatchingWindowSeconds * 1000,
    });
    for (const d of deliveries) {
      const res =
        d.kind === 'kinesis'
          ? await logIngest(d.event, lambdaContext('log-ingest'))
          : await ctIngest(d.event, lambdaContext('cloudtrail-ingest'));
      expect(res).toEqual({ batchItemFailures: [] });
    }

    const chains = await requestChainsByAuditId(reader, truths, {
      from: start,
      to: new Date(Date.parse(start) + durationMs + 3600_000).toISOString(),
    });
    const report = compareAll(truths, chains);
    expect(report.requests).toBe(truths.length);
    expect(report.agreement, describeReport(report)).toBe(1);
  });
});
