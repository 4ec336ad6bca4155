import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { fileWriter } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalChains } from '../../../lib/chain/rederive.js';
import { OCSF_VERSION } from '../../../lib/export/ocsf.js';
import {
  API_ACTIVITY_SHAPE,
  ENTITY_MANAGEMENT_SHAPE,
  PartitionedParquetWriter,
  partitionPath,
  type Shape,
} from '../../../lib/export/parquet.js';
import { exportWindow } from '../../../lib/export/run.js';
import { exportToLake } from '../../../lib/export/security-lake.js';
import { replayFiles } from '../../../lib/local/replay.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { ClusterRef } from '../../../lib/store/trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';
import { ocsfErrors } from '../../support/ocsf-schema.js';

/**
 * The export end to end: the bundled sample scenario (samples/, two clusters in two accounts)
 * replayed through the real pipelines into a real engine, then exported in each format and read
 * back. Every OCSF record validates against the vendored OCSF JSON Schema; the Parquet objects,
 * read by hyparquet, hold exactly the records of the JSON-lines export.
 */
const SAMPLES = resolve(__dirname, '../../../samples');
// The scenario's whole history: CreateCluster months before, the traffic on 2025-06-02.
const RANGE = { from: '2025-03-01T00:00:00.000Z', to: '2025-06-02T23:59:59.999Z' };
const ctx = { productVersion: '0.1.0', region: 'eu-west-1' };

type Rec = Record<string, unknown>;

let engine: Engine;
let store: DynamoDbTrailStore;
let refs: ClusterRef[];
const out = mkdtempSync(join(tmpdir(), 'eks-trail-export-'));

const collect = async (ref: ClusterRef, ocsf: boolean, pageSize = 500) => {
  const requests: Rec[] = [];
  const changes: Rec[] = [];
  const counts = await exportWindow({
    store,
    ref,
    range: RANGE,
    ocsf,
    ctx,
    pageSize,
    sinks: ocsf
      ? { request: (r) => void requests.push(r), mappingChange: (r) => void changes.push(r) }
      : { request: (r) => void requests.push(r) },
  });
  return { requests, changes, counts };
};

beforeAll(async () => {
  engine = await startEngine();
  const table = await createTestTable(engine.client, 'export');
  store = new DynamoDbTrailStore(engine.client, { tableName: table });
  await replayFiles([SAMPLES], store, {
    now: () => Date.parse('2025-06-03T00:00:00Z'),
    accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
  });
  refs = (await store.clusters()).sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  rmSync(out, { recursive: true, force: true });
});

describe('OCSF JSON-lines export of the sample scenario', () => {
  it('exports every request the questions derive, each a valid OCSF 1.8.0 API Activity record', async () => {
    expect(refs.length).toBe(2);
    for (const ref of refs) {
      const { requests, counts } = await collect(ref, true);
      const chains = await finalChains(store, ref, RANGE);
      expect(counts.requests).toBe(chains.length);
      expect(new Set(requests.map((r) => (r.metadata as Rec).uid))).toEqual(
        new Set(chains.map((c) => `${ref.accountId}/${c.chainId}`)),
      );
      for (const r of requests) expect(ocsfErrors(OCSF_VERSION, 'api_activity', r)).toBe('');
    }
  });

  it('exports the mapping changes of the window as valid Entity Management records', async () => {
    for (const ref of refs) {
      const { changes } = await collect(ref, true);
      const stored = (await store.mappingChanges(ref)).filter((c) => c.at >= RANGE.from && c.at <= RANGE.to);
      expect(changes.length).toBe(stored.length);
      expect(changes.length).toBeGreaterThan(0);
      for (const r of changes) expect(ocsfErrors(OCSF_VERSION, 'entity_management', r)).toBe('');
    }
  });

  it('gives the same records however small the store pages are (the export never needs the whole window)', async () => {
    const ref = refs[0] as ClusterRef;
    const big = await collect(ref, true, 1_000);
    const small = await collect(ref, true, 25);
    expect(small.counts.pages).toBeGreaterThan(big.counts.pages);
    expect(small.requests).toEqual(big.requests);
  });

  it('names humans, mappings and policies where the scenario has them', async () => {
    const { requests } = await collect(refs[0] as ClusterRef, true);
    const withHuman = requests.filter((r) => ((r.actor as Rec).session as Rec | undefined)?.issuer);
    const withPolicy = requests.filter((r) => (r.actor as Rec).authorizations);
    expect(withHuman.length).toBeGreaterThan(0);
    expect(withPolicy.length).toBeGreaterThan(0);
  });
});

describe('against OCSF 1.1.0, the version Security Lake cites for custom sources', () => {
  it('differs only in the attributes docs/ocsf.md lists as added after 1.1', async () => {
    const found = new Set<string>();
    for (const ref of refs) {
      const { requests, changes } = await collect(ref, true);
      const lines = [
        ...requests.flatMap((r) => ocsfErrors('1.1.0', 'api_activity', r).split('\n')),
        ...changes.flatMap((r) => ocsfErrors('1.1.0', 'entity_management', r).split('\n')),
      ];
      for (const l of lines.filter(Boolean)) {
        const m = /^(\S+) .*"(?:additionalProperty)":"([^"]+)"/.exec(l);
        const path = m ? `${m[1] === '/' ? '' : m[1]}/${m[2]}` : l.split(' ')[0];
        found.add((path ?? l).replace(/\/\d+\//g, '/[]/'));
      }
    }
    expect([...found].sort()).toEqual(
      [
        '/actor',
        '/actor/authorizations/[]/policy/data',
        '/actor/authorizations/[]/policy/is_applied',
        '/actor/authorizations/[]/policy/type',
        '/actor/idp/protocol_name',
        '/actor/user/type_id',
        '/entity/policy',
        '/entity/type_id',
      ].sort(),
    );
  });
});

describe('plain JSON-lines export', () => {
  it('writes one flat record per request with the structured fields', async () => {
    const ref = refs[0] as ClusterRef;
    const { requests, changes } = await collect(ref, false);
    expect(changes).toEqual([]);
    expect(requests.length).toBe((await finalChains(store, ref, RANGE)).length);
    for (const r of requests) {
      expect(r).toHaveProperty('time');
      expect(r).toHaveProperty('decision.outcome');
      expect(r.cluster).toBe(ref.cluster);
    }
  });
});

/** A Parquet row as the JSON record it came from: nulls dropped, BigInts as numbers, JSON text parsed. */
const fromRow = (v: unknown, shape: Shape): unknown => {
  if (v === null || v === undefined) return undefined;
  if (typeof shape === 'string') {
    if (shape === 'json') return JSON.parse(v as string);
    return typeof v === 'bigint' ? Number(v) : v;
  }
  if (Array.isArray(shape)) return (v as unknown[]).map((x) => fromRow(x, shape[0] as Shape));
  const o: Rec = {};
  for (const [k, sub] of Object.entries(shape as Record<string, Shape>)) {
    const x = fromRow((v as Rec)[k], sub);
    if (x !== undefined) o[k] = x;
  }
  return o;
};

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });

describe('OCSF Parquet export, laid out as Security Lake custom sources', () => {
  it('partitions by region, account and day, and reads back as exactly the JSON records', async () => {
    const ref = refs[0] as ClusterRef;
    const make = (source: string, shape: Shape) =>
      new PartitionedParquetWriter({
        shape,
        region: ctx.region,
        createdBy: 'test',
        rowGroupSize: 100,
        open: (key) => {
          const dir = join(out, source, partitionPath(key));
          mkdirSync(dir, { recursive: true });
          return { writer: fileWriter(join(dir, 'window.parquet')), close: async () => {} };
        },
      });
    const api = make('api', API_ACTIVITY_SHAPE);
    const em = make('em', ENTITY_MANAGEMENT_SHAPE);
    await exportWindow({
      store,
      ref,
      range: RANGE,
      ocsf: true,
      ctx,
      sinks: { request: (r) => api.write(r), mappingChange: (r) => em.write(r) },
    });
    await api.close();
    await em.close();
    const { requests, changes } = await collect(ref, true);

    for (const [source, shape, expected] of [
      ['api', API_ACTIVITY_SHAPE, requests],
      ['em', ENTITY_MANAGEMENT_SHAPE, changes],
    ] as const) {
      const files = filesUnder(join(out, source)).sort();
      for (const f of files) {
        expect(relative(join(out, source), f)).toMatch(
          new RegExp(`^region=eu-west-1/accountId=${ref.accountId}/eventDay=\\d{8}/window\\.parquet$`),
        );
      }
      const rows: unknown[] = [];
      for (const f of files) {
        for (const row of await parquetReadObjects({ file: await asyncBufferFromFile(f) }))
          rows.push(fromRow(row, shape));
      }
      const byUid = (rs: readonly unknown[]) =>
        [...rs].sort((a, b) => {
          const x = `${((a as Rec).metadata as Rec).uid}`;
          const y = `${((b as Rec).metadata as Rec).uid}`;
          return x < y ? -1 : x > y ? 1 : 0;
        });
      expect(rows.length).toBe(expected.length);
      expect(byUid(rows)).toEqual(byUid(expected));
    }
  });

  it('the scheduled export writes one object per cluster, partition and window under each source prefix', async () => {
    const objects = new Map<string, Uint8Array>();
    const result = await exportToLake({
      store,
      window: RANGE,
      regionOf: () => 'eu-west-1',
      productVersion: '0.1.0',
      apiActivity: { bucket: 'lake', prefix: 'ext/eks-trail-api-activity/1.0' },
      entityManagement: { bucket: 'lake', prefix: 'ext/eks-trail-entity-management/1.0' },
      put: async (loc, key, body) => void objects.set(`${loc.bucket}/${key}`, body),
    });
    expect(result.clusters).toBe(2);
    expect(result.objects.length).toBe(objects.size);
    for (const key of objects.keys()) {
      expect(key).toMatch(
        /^lake\/ext\/eks-trail-(api-activity|entity-management)\/1\.0\/region=eu-west-1\/accountId=\d{12}\/eventDay=\d{8}\/\d{12}-[a-z-]+-\d{8}T\d{6}Z\.parquet$/,
      );
    }
    let rows = 0;
    for (const [key, body] of objects) {
      if (!key.includes('api-activity')) continue;
      const buf = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
      rows += (await parquetReadObjects({ file: buf })).length;
    }
    expect(rows).toBe(result.requests);
  });
});
