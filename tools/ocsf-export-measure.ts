/**
 * Measures the OCSF export (docs/ocsf.md, "Cost"): replays a scenario folder into a throw-away local
 * engine, then for every cluster exports the whole span twice:
 *  - end to end (store pages read from the engine, derived, mapped, encoded as Parquet in memory),
 *  - mapping and Parquet encoding alone, over the chains already derived (the export's own CPU).
 * Prints requests, milliseconds per 1,000 requests, Parquet bytes per request, and the Lambda
 * duration cost of a million requests at the function's size for a given price per GB-second.
 *
 *   npx tsx tools/ocsf-export-measure.ts [scenario dir, default samples/] [USD per GB-s, default arm64 list price]
 *
 * Not a benchmark: one run on whatever machine runs it, against the embedded engine (dynalite), whose
 * reads are slower than DynamoDB's. bench/ is the place for tracked figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ByteWriter } from 'hyparquet-writer';
import { FUNCTION_MEMORY_MB } from '../cdk/function-settings.js';
import type { DecisionChain } from '../lib/chain/types.js';
import { apiActivity } from '../lib/export/ocsf.js';
import { API_ACTIVITY_SHAPE, PartitionedParquetWriter } from '../lib/export/parquet.js';
import { exportWindow } from '../lib/export/run.js';
import { startLocalEngine } from '../lib/local/engine.js';
import { replayFiles } from '../lib/local/replay.js';
import { deriveWithEvidence } from '../lib/query/run.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';

const dir = resolve(process.argv[2] ?? 'samples');
// AWS Lambda list price for arm64 duration (first tier), USD per GB-second.
const pricePerGbSecond = Number(process.argv[3] ?? '0.0000133334');
const ctx = { productVersion: 'measure', region: 'eu-west-1' };

const dataDir = mkdtempSync(join(tmpdir(), 'ocsf-measure-'));
const engine = await startLocalEngine({ dataDir });
try {
  const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
  const summary = await replayFiles([dir], store, {
    now: () => Date.now(),
    accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
  });
  const range = {
    from: new Date((summary.firstEventAt ?? 0) - 1).toISOString(),
    to: new Date((summary.lastEventAt ?? Date.now()) + 1).toISOString(),
  };
  let requests = 0;
  let endToEndMs = 0;
  let encodeMs = 0;
  let bytes = 0;
  const parquet = () => {
    const sinks: ByteWriter[] = [];
    const w = new PartitionedParquetWriter({
      shape: API_ACTIVITY_SHAPE,
      region: ctx.region,
      createdBy: 'measure',
      open: () => {
        const writer = new ByteWriter();
        sinks.push(writer);
        return { writer, close: async () => {} };
      },
    });
    return { w, size: () => sinks.reduce((n, s) => n + s.getBuffer().byteLength, 0) };
  };
  for (const ref of await store.clusters()) {
    const a = parquet();
    let t = performance.now();
    const counts = await exportWindow({ store, ref, range, ocsf: true, ctx, sinks: { request: (r) => a.w.write(r) } });
    await a.w.close();
    endToEndMs += performance.now() - t;
    requests += counts.requests;
    bytes += a.size();

    const chains: { chain: DecisionChain; evidence: Parameters<typeof apiActivity>[1]['credentialFor'] }[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.requestsByCluster(ref, range, {
        limit: 500,
        order: 'oldest-first',
        ...(cursor ? { cursor } : {}),
      });
      for (const d of await deriveWithEvidence(store, page.items)) {
        chains.push({ chain: d.chain, evidence: (k) => d.evidence.credentialFor(k) });
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    const b = parquet();
    t = performance.now();
    for (const c of chains) await b.w.write(apiActivity(c.chain, { ...ctx, credentialFor: c.evidence }));
    await b.w.close();
    encodeMs += performance.now() - t;
  }
  const gb = FUNCTION_MEMORY_MB['ocsf-export'] / 1024;
  const usdPerMillion = (ms: number) => ((ms / requests) * 1e6 * gb * pricePerGbSecond) / 1000;
  const rows = [
    ['scenario', dir],
    ['requests exported', String(requests)],
    ['end to end (embedded engine), ms per 1,000 requests', ((endToEndMs / requests) * 1000).toFixed(1)],
    ['mapping + Parquet encoding, ms per 1,000 requests', ((encodeMs / requests) * 1000).toFixed(1)],
    ['Parquet bytes per request (snappy)', (bytes / requests).toFixed(0)],
    [
      `Lambda duration USD per million requests, end to end (${FUNCTION_MEMORY_MB['ocsf-export']} MB)`,
      usdPerMillion(endToEndMs).toFixed(3),
    ],
    ['Lambda duration USD per million requests, mapping + encoding only', usdPerMillion(encodeMs).toFixed(3)],
  ];
  for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
} finally {
  await engine.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
