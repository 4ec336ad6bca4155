/**
 * What tamper evidence costs (docs/tamper-evidence.md, "Cost"): the realistic traffic mix of the bench
 * (sim/, bench/workload.ts) ingested through the real handlers into the embedded engine, once, then
 * the signer run over it, then one verify. Write units are counted with the bench's meter
 * (bench/write-units.ts, DynamoDB's billing rules on what the client sends); read units are the
 * engine's ConsumedCapacity.
 *
 *   npx tsx tools/digest-cost.ts [requests]     (default 200,000: about one hour of the realistic fleet)
 *
 * Pending marks and digests fall in the bench's `other` class; nothing else in this run does.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { loadHandlers } from '../bench/handlers.js';
import { buildWorkload, SIM_START, windowMs } from '../bench/workload.js';
import { meterCapacity } from '../bench/write-units.js';
import { type SignRunResult, signAll } from '../lib/integrity/signer.js';
import { verifyCluster } from '../lib/integrity/verify.js';
import { startLocalEngine } from '../lib/local/engine.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { itemSize } from '../lib/store/item-codec.js';
import { digestKeys } from '../lib/store/keys.js';

const requests = Number(process.argv[2] ?? 200_000);
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signer = {
  keyId: 'arn:aws:kms:us-east-1:111111111111:key/measure',
  algorithm: 'RSASSA_PKCS1_V1_5_SHA_256' as const,
  sign: async (body: string) => sign('sha256', Buffer.from(body), privateKey),
};

const main = async () => {
  const w = buildWorkload({ seed: 20250602, requests, mix: 'realistic', mappingChanges: true });
  const endMs = Date.parse(SIM_START) + windowMs(requests, 'realistic');
  const ingestNow = () => endMs + 60_000;
  const handlers = await loadHandlers();
  const engine = await startLocalEngine({ inMemory: true, tableName: 'eks-trail-digest-cost' });
  try {
    const meter = meterCapacity(engine.client, { trackState: true });
    const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName, now: ingestNow });
    await store.putMappingChanges(w.initialMappings);
    for (const d of w.deliveries) {
      await (d.kind === 'kinesis'
        ? handlers.kinesis(d.event, store, ingestNow)
        : handlers.sqs(d.event, store, ingestNow));
    }
    const ingest = meter.totals();
    const units = (c: { tableWriteUnits: number; indexWriteUnits: number; failedConditionWriteUnits: number }) =>
      c.tableWriteUnits + c.indexWriteUnits + c.failedConditionWriteUnits;
    const marks = ingest.byClass.other;
    const all = units(ingest);

    meter.reset();
    const signNow = endMs + 2 * 3_600_000;
    const t0 = process.hrtime.bigint();
    const run: SignRunResult = await signAll(store.digests, {
      signer,
      now: signNow,
      settleMs: 15 * 60_000,
      retryWindowMs: 6 * 3_600_000,
    });
    const signMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const signing = meter.totals();
    const marksCleared = run.scopes.length; // upper bound on DeleteItem calls is counted below
    const deletes = signing.operations['DeleteItem'] ?? 0;

    const hours = new Set(
      run.scopes.flatMap((s) => s.buckets.filter((b) => b.bucket !== 'history').map((b) => `${s.scope}|${b.bucket}`)),
    );
    const clusterHours = [...hours].filter((h) => h.startsWith('C#')).length;
    const items = run.scopes.reduce((n, s) => n + s.buckets.reduce((m, b) => m + b.entries, 0), 0);

    // What the digests occupy: manifests and links of every scope.
    const doc = DynamoDBDocumentClient.from(engine.client);
    const stored = { manifests: 0, manifestBytes: 0, links: 0, linkBytes: 0 };
    for (const s of run.scopes) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: engine.tableName,
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': digestKeys.pk(s.scope) },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const i of page.Items ?? []) {
          if (String(i['sk']).startsWith('L#')) {
            stored.links++;
            stored.linkBytes += itemSize(i);
          } else {
            stored.manifests++;
            stored.manifestBytes += itemSize(i);
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }

    meter.reset();
    const ref = (await store.clusters()).sort((a, b) => (a.cluster < b.cluster ? -1 : 1))[0];
    const fromHour = SIM_START.slice(0, 13);
    const toHour = new Date(endMs).toISOString().slice(0, 13);
    const t1 = process.hrtime.bigint();
    const report = await verifyCluster(store.digests, ref ? [ref] : [], {
      trusted: { keyId: signer.keyId, publicKey },
      now: signNow,
      fromHour,
      toHour,
    });
    const verifyMs = Number(process.hrtime.bigint() - t1) / 1e6;
    const verifying = meter.totals();

    const out = {
      requests: w.truths.length,
      simulatedMinutes: Math.round((endMs - Date.parse(SIM_START)) / 60_000),
      clusters: (await store.clusters()).length,
      ingest: {
        writeUnits: all,
        pendingMarks: marks ? { items: marks.itemsWritten, writeUnits: units(marks) } : { items: 0, writeUnits: 0 },
        markShare: marks ? units(marks) / all : 0,
      },
      signer: {
        scopes: marksCleared,
        clusterHours,
        itemsSigned: items,
        writeUnits: units(signing) + deletes,
        putWriteUnits: units(signing),
        markDeletes: deletes,
        readUnits: signing.engineReadUnits,
        ms: Math.round(signMs),
        operations: signing.operations,
        stored,
      },
      verify: {
        cluster: ref,
        ok: report.ok,
        readUnits: verifying.engineReadUnits,
        ms: Math.round(verifyMs),
        operations: verifying.operations,
      },
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await engine.stop();
  }
};

await main();
