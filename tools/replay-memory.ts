/**
 * Peak memory of `eks-trail replay` on big exports (the replay's memory bound, lib/local/replay.ts).
 *   npx tsx tools/replay-memory.ts [sizeMB…]        default: 50 200
 *
 * For each size, generates one `aws logs filter-log-events` export of at least that many megabytes
 * (the simulator's traffic, sim/delivery.ts filterLogEventsJson: one JSON document with one big
 * `events` array, as the CLI writes all pages into one file), runs `eks-trail replay` on it into a
 * fresh local data dir, and prints the peak resident set size (getrusage ru_maxrss) of the replay
 * process and of the CLI process that hosts the embedded engine, and the wall time. Files and data
 * dirs go to a temporary folder that is removed at the end (KEEP=1 keeps it).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildFleet, type Emission, filterLogEventsJson, type LogEmission, simulate } from '../sim/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1024 * 1024;

/** Log events of one cluster, run after run with new seeds, until `bytes` of export text were produced. */
function* clusterEvents(bytes: number, counter: { bytes: number }): Generator<LogEmission> {
  for (let run = 0; counter.bytes < bytes; run++) {
    const fleet = buildFleet({
      seed: 7000 + run,
      clusters: 1,
      accountsPerOrg: 1,
      ssoUsers: 8,
      iamUsers: 3,
      roles: 2,
      nodesPerCluster: 4,
      serviceAccounts: 3,
      start: '2025-06-02T08:00:00Z',
    });
    const start = new Date(Date.parse('2025-06-02T08:00:00Z') + run * 3_600_000).toISOString();
    const emissions: Iterable<Emission> = simulate(fleet, {
      seed: 7000 + run,
      requests: 5_000,
      start,
      durationMs: 3_600_000,
      mappingChanges: false,
    });
    for (const e of emissions) {
      if (e.kind !== 'log') continue;
      yield { ...e, logStream: e.logStream, cluster: 'memory' } as LogEmission;
      if (counter.bytes >= bytes) return;
    }
  }
}

const writeExport = async (path: string, bytes: number): Promise<number> => {
  const out = createWriteStream(path);
  const counter = { bytes: 0 };
  for (const chunk of filterLogEventsJson(clusterEvents(bytes, counter), 1)) {
    counter.bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return statSync(path).size;
};

const main = async (): Promise<void> => {
  const sizes = (process.argv.slice(2).length ? process.argv.slice(2) : ['50', '200']).map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'replay-memory-'));
  try {
    console.log('| export | file | replay peak RSS | engine peak RSS | wall time | exit |');
    console.log('|---|---|---|---|---|---|');
    for (const size of sizes) {
      const file = join(dir, `memory-${size}.filter-log-events.json`);
      const actual = await writeExport(file, size * MB);
      const t0 = Date.now();
      const r = spawnSync(
        process.execPath,
        [join(ROOT, 'bin/eks-trail.mjs'), 'replay', file, '--data-dir', join(dir, `data-${size}`)],
        { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * MB, env: { ...process.env, EKS_TRAIL_REPLAY_STATS: '1' } },
      );
      const ms = Date.now() - t0;
      const stats = /replay-stats (\{.*\})/.exec(r.stderr)?.[1];
      if (!stats) throw new Error(`replay failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
      const m = JSON.parse(stats) as {
        replayMaxRssKiB: number;
        engineMaxRssKiB: number;
        engineNow?: { anonKiB: number; fileKiB: number };
      };
      const events = /records: (\d+) log events/.exec(r.stdout)?.[1];
      console.log(
        `| ${size} MB filter-log-events | ${(actual / MB).toFixed(1)} MB, ${events} events | ${(m.replayMaxRssKiB / 1024).toFixed(0)} MB | ${(m.engineMaxRssKiB / 1024).toFixed(0)} MB${m.engineNow ? ` (at the end: ${(m.engineNow.anonKiB / 1024).toFixed(0)} MB anonymous, ${(m.engineNow.fileKiB / 1024).toFixed(0)} MB mapped files)` : ''} | ${(ms / 1000).toFixed(1)} s | ${r.status} |`,
      );
    }
  } finally {
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(dir);
  }
};

await main();
