import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalEngine } from '../lib/local/engine.js';
import { replayFiles } from '../lib/local/replay.js';
import { countCommands, FULL_TABLE_READS } from '../lib/store/command-counter.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import {
  buildFleet,
  type CloudTrailEmission,
  cloudTrailLogFiles,
  encodeCloudTrailLogFile,
  filterLogEventsJson,
  type LogEmission,
  REALISTIC_FLEET,
  renderAwsAuthYaml,
  simulate,
  type TrafficMixName,
} from '../sim/index.js';
import { elapsedMs } from './stats.js';
import { FLEET, SIM_START, windowMs } from './workload.js';

/**
 * Local replay end to end, as a user runs `eks-trail replay <dir>`: the files a user has (one
 * `aws logs filter-log-events` JSON export per cluster, CloudTrail log files as CloudTrail writes them
 * to S3, each cluster's aws-auth ConfigMap as `kubectl get cm aws-auth -o yaml` prints it; laid out as
 * tools/generate-samples.ts lays out samples/) are generated first, untimed; then `replayFiles`
 * (lib/local/replay.ts) is timed into the embedded engine (lib/local/engine.ts, LevelDB in a data dir)
 * with the store and options the CLI's replay command uses.
 */

export const TARGET_REPLAY_REQUESTS_PER_S = 2_000;

export interface ReplayBenchOptions {
  requests: number;
  seed: number;
  mix: TrafficMixName;
}

export interface ReplayBenchResult {
  mix: TrafficMixName;
  requests: number;
  files: { logExports: number; cloudTrail: number; awsAuth: number };
  /** Bytes of the generated files as they lie on disk (exports as JSON text, CloudTrail gzip'd). */
  fileBytes: number;
  generateMs: number;
  wallMs: number;
  requestsPerS: number;
  logEventsPerS: number;
  logEvents: number;
  cloudTrailRecords: number;
  requestsStored: number;
  quarantined: number;
  failedItems: number;
  /** DynamoDB commands the replay sent, by name. */
  commands: Record<string, number>;
  scans: number;
  /** Bytes of the LevelDB data dir once replay is over. */
  dataDirBytes: number;
}

const dirBytes = (dir: string): number => {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    n += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return n;
};

const writeChunks = (path: string, chunks: Iterable<string>): Promise<void> =>
  new Promise((ok, fail) => {
    const out = createWriteStream(path);
    out.on('error', fail);
    out.on('finish', () => ok());
    // Chunks are small; the stream buffers them and the file is closed at the end.
    for (const c of chunks) out.write(c);
    out.end();
  });

/** Writes the scenario's files under `dir`; returns the request count (ground truth) and file counts. */
export const writeReplayFiles = async (
  dir: string,
  opts: ReplayBenchOptions,
): Promise<{ requests: number; files: ReplayBenchResult['files'] }> => {
  const fleet = buildFleet({ seed: opts.seed, ...(opts.mix === 'realistic' ? REALISTIC_FLEET : FLEET) });
  const logs = new Map<string, LogEmission[]>();
  const trail: CloudTrailEmission[] = [];
  let requests = 0;
  for (const e of simulate(fleet, {
    seed: opts.seed,
    requests: opts.requests,
    start: SIM_START,
    durationMs: windowMs(opts.requests, opts.mix),
    mappingChanges: true,
    ...(opts.mix === 'realistic' ? { mix: opts.mix } : {}),
  })) {
    if (e.kind === 'truth') requests++;
    else if (e.kind === 'cloudtrail') trail.push(e);
    else {
      let list = logs.get(e.cluster);
      if (!list) {
        list = [];
        logs.set(e.cluster, list);
      }
      list.push(e);
    }
  }
  for (const sub of ['logs', 'cloudtrail', 'aws-auth']) mkdirSync(join(dir, sub), { recursive: true });
  const files = { logExports: 0, cloudTrail: 0, awsAuth: 0 };
  for (const c of fleet.clusters) {
    const events = logs.get(c.name) ?? [];
    // filter-log-events sorts by timestamp across streams; the simulator emits in time order already.
    await writeChunks(join(dir, 'logs', `${c.name}.filter-log-events.json`), filterLogEventsJson(events, opts.seed));
    logs.delete(c.name);
    files.logExports++;
    if (c.awsAuth) {
      writeFileSync(join(dir, 'aws-auth', `${c.name}.yaml`), renderAwsAuthYaml(c.awsAuth));
      files.awsAuth++;
    }
  }
  for (const f of cloudTrailLogFiles(trail, { seed: opts.seed, intervalMinutes: 5 })) {
    writeFileSync(join(dir, 'cloudtrail', f.fileName), encodeCloudTrailLogFile(f));
    files.cloudTrail++;
  }
  return { requests, files };
};

export const runReplayBench = async (opts: ReplayBenchOptions): Promise<ReplayBenchResult> => {
  const root = mkdtempSync(join(tmpdir(), 'eks-trail-bench-replay-'));
  try {
    const filesDir = join(root, 'files');
    const tg = process.hrtime.bigint();
    const { requests, files } = await writeReplayFiles(filesDir, opts);
    const generateMs = elapsedMs(tg);
    const fileBytes = dirBytes(filesDir);
    const endMs = Date.parse(SIM_START) + windowMs(opts.requests, opts.mix);
    const now = () => endMs + 3_600_000;

    // As `eks-trail replay <dir>` runs: the embedded engine in a data dir, the store with its defaults.
    const engine = await startLocalEngine({ dataDir: join(root, 'data') });
    try {
      const counter = countCommands(engine.client);
      const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
      const t = process.hrtime.bigint();
      const summary = await replayFiles([filesDir], store, {
        now,
        accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
      });
      const wallMs = elapsedMs(t);
      const commands = counter.counts();
      counter.detach();
      return {
        mix: opts.mix,
        requests,
        files,
        fileBytes,
        generateMs,
        wallMs,
        requestsPerS: requests / (wallMs / 1000),
        logEventsPerS: summary.logEvents / (wallMs / 1000),
        logEvents: summary.logEvents,
        cloudTrailRecords: summary.cloudTrailRecords,
        requestsStored: summary.requestsStored,
        quarantined: Object.values(summary.quarantined).reduce<number>((n, v) => n + (v ?? 0), 0),
        failedItems: summary.failedItems,
        commands,
        scans: FULL_TABLE_READS.reduce((n, c) => n + (commands[c] ?? 0), 0),
        dataDirBytes: dirBytes(join(root, 'data')),
      };
    } finally {
      await engine.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
