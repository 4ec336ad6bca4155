import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runColdStart } from './cold-start.js';
import { type BenchConfig, BenchConfigError, parseBenchArgs, type Section } from './config.js';
import { runHandlerMemory } from './handler-memory.js';
import { loadHandlers } from './handlers.js';
import { runIngestCpuIsolated } from './ingest-cpu.js';
import { runEngineIngest } from './ingest-e2e.js';
import { functionNodeArgs } from './lambda-runtime.js';
import { machineInfo } from './machine.js';
import { runQueryLatency } from './query-latency.js';
import { type BenchResults, renderMarkdown, summaryRows, textTable } from './report.js';
import { elapsedMs } from './stats.js';

/** `npm run bench [-- --quick] [--only=cpu,engine,query,memory,cold]`: measures, prints, writes BENCHMARKS.md. */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const progress = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

export const runBench = async (config: BenchConfig): Promise<BenchResults> => {
  const started = process.hrtime.bigint();
  const results: BenchResults = { config, machine: machineInfo(ROOT), wallMs: 0, failures: [] };
  const handlers = await loadHandlers();
  const step = async (section: Section, label: string, fn: () => Promise<void>) => {
    if (!config.sections.includes(section)) return;
    progress(`${label}…`);
    const t = process.hrtime.bigint();
    try {
      await fn();
      progress(`${label} done in ${(elapsedMs(t) / 1000).toFixed(1)} s`);
    } catch (err) {
      const message = String((err as Error).stack ?? err)
        .split('\n')
        .slice(0, 3)
        .join(' ');
      results.failures.push({ section, message });
      progress(`${label} FAILED: ${message}`);
    }
  };
  await step('cold', 'cold start (bundles, import time)', async () => {
    results.cold = await runColdStart({ root: ROOT, samples: config.coldSamples });
  });
  await step('memory', 'handler memory on a 6 MB Kinesis batch', async () => {
    results.memory = await runHandlerMemory({ root: ROOT, seed: config.seed });
  });
  await step('cpu', 'log handler CPU path vs floor', async () => {
    const opts = { requests: config.cpuRequests, rounds: config.cpuRounds, seed: config.seed };
    // As Lambda starts the log function; then, for comparison, with this machine's Node defaults.
    results.cpu = await runIngestCpuIsolated(opts, { root: ROOT, nodeArgs: functionNodeArgs('log-ingest') });
    results.cpuNodeDefaults = await runIngestCpuIsolated(opts, { root: ROOT, nodeArgs: [] });
  });
  await step('engine', 'end-to-end ingestion + correctness', async () => {
    results.engine = await runEngineIngest(
      {
        requests: config.engineRequests,
        seed: config.seed + 1,
        lateFraction: config.lateFraction,
        duplicateFraction: config.duplicateFraction,
      },
      handlers,
    );
  });
  await step('query', 'query latency on the large table', async () => {
    results.query = await runQueryLatency(
      {
        chains: config.queryChains,
        probeChains: config.queryProbe,
        maxFullPathMinutes: config.maxFullPathMinutes,
        repetitions: config.queryReps,
        seed: config.seed + 2,
        concurrency: config.queryConcurrency,
        root: ROOT,
      },
      handlers,
    );
  });
  results.wallMs = elapsedMs(started);
  return results;
};

const main = async () => {
  let config: BenchConfig;
  try {
    config = parseBenchArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof BenchConfigError) {
      process.stderr.write(`bench: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const results = await runBench(config);
  const path = join(ROOT, config.out);
  writeFileSync(path, renderMarkdown(results));
  process.stdout.write(`\n${textTable(summaryRows(results))}\n\nwritten: ${path}\n`);
  if (results.failures.length) process.exitCode = 1;
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
