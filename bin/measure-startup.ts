import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from './build.js';

/**
 * `npm run cli:measure`: how long the built CLI takes, as a user runs it (a new process each time):
 * `--help`, and questions on local data (the samples replayed into a temporary data dir). Node's own
 * start (`node -e 0`) is measured alongside, and so is the machine's load: on a busy machine every
 * figure grows, Node's start included. CPU time is read from /proc (Linux) and is less sensitive to
 * load than wall time. A measurement, not a benchmark: the bench is `npm run bench`.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/eks-trail.mjs');
const RUNS = Number(process.env.RUNS ?? 11);

/** CPU time (user + system, ms) of the children this process has waited for, from /proc/self/stat. */
const childCpuMs = (): number | undefined => {
  if (!existsSync('/proc/self/stat')) return undefined;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After the command name: state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
  const ticks = Number(fields[13]) + Number(fields[14]);
  return Number.isFinite(ticks) ? ticks * 10 : undefined;
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};

const measure = (label: string, args: string[], cwd: string): string => {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const before = childCpuMs();
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
    wall.push(performance.now() - t0);
    const after = childCpuMs();
    if (before !== undefined && after !== undefined) cpu.push(after - before);
    if (r.status !== 0) throw new Error(`${label}: exit ${r.status}\n${r.stderr}`);
  }
  const c = cpu.length ? `, cpu ${median(cpu).toFixed(0)} ms` : '';
  return `${label.padEnd(34)} wall ${median(wall).toFixed(0).padStart(5)} ms (min ${Math.min(...wall).toFixed(0)})${c}`;
};

const sizes = await buildCli();
const dir = mkdtempSync(join(tmpdir(), 'eks-trail-measure-'));
try {
  const replay = spawnSync(
    process.execPath,
    [BIN, 'replay', ...['cloudtrail', 'aws-auth', 'logs'].map((d) => join(ROOT, 'samples', d)), '--data-dir', 'data'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  if (replay.status !== 0) throw new Error(`replay failed: ${replay.stderr}`);
  const data = ['--data-dir', 'data', '--cluster', 'payments-prod'];
  const window = ['--from', '2025-06-02T08:00:00Z', '--to', '2025-06-02T16:00:00Z'];
  const lines = [
    `node ${process.version}, ${cpus().length} CPU(s), load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; median of ${RUNS} runs`,
    `dist/: ${Object.keys(sizes).length} files, ${Object.values(sizes).reduce((a, b) => a + b, 0)} bytes`,
    measure('node -e 0 (Node itself)', ['-e', '0'], dir),
    measure('eks-trail --help', [BIN, '--help'], dir),
    measure(
      'eks-trail who-did --human',
      [BIN, 'who-did', ...data, '--human', 'dmitri.smith@example.com', ...window],
      dir,
    ),
    measure('eks-trail who-did (cluster, 50 rows)', [BIN, 'who-did', ...data, ...window], dir),
    measure('eks-trail explain', [BIN, 'explain', '05a4951e-5adf-43c2-8e34-28b591f7704d', ...data], dir),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
