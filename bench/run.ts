import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureAlertLatency } from './alert-latency.js';
import { runColdStart } from './cold-start.js';
import { type BenchConfig, BenchConfigError, parseBenchArgs, type Section } from './config.js';
import { runFaultInjection } from './fault-injection.js';
import { runHandlerMemory } from './handler-memory.js';
import { loadHandlers } from './handlers.js';
import { runIngestCpuIsolated } from './ingest-cpu.js';
import { runEngineIngest } from './ingest-e2e.js';
import { functionNodeArgs } from './lambda-runtime.js';
import { machineInfo } from './machine.js';
import { runQueryLatency } from './query-latency.js';
import { runReplayBench } from './replay.js';
import { type BenchResults, benchJson, renderMarkdown, summaryRows, textTable } from './report.js';
import { elapsedMs } from './stats.js';

/**
 * `npm run bench [-- --quick] [--only=cpu,engine,replay,query,memory,cold,alerts,faults]`: measures, prints, and
 * writes BENCHMARKS.md and BENCHMARKS.json (the same name as --out, with .json).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const progress = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

export const runBench = async (config: BenchConfig): Promise<BenchResults> => {
  const started = process.hrtime.bigint();
  const sections: NonNullable<BenchResults['sections']> = [];
  const results: BenchResults = { config, machine: machineInfo(ROOT), wallMs: 0, sections, failures: [] };
  const handlers = await loadHandlers();
  const step = async (section: Section, label: string, fn: () => Promise<void>) => {
    if (!config.sections.includes(section)) return;
    progress(`${label}…`);
    const t = process.hrtime.bigint();
    const loadAtStart = loadavg()[0] ?? 0;
    const record = () => sections.push({ section, label, ms: elapsedMs(t), loadAtStart, loadAtEnd: loadavg()[0] ?? 0 });
    try {
      await fn();
      record();
      progress(`${label} done in ${(elapsedMs(t) / 1000).toFixed(1)} s`);
    } catch (err) {
      record();
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
  for (const mix of ['realistic', 'human-heavy'] as const) {
    await step('engine', `${mix}: ingestion into the engine, write units, storage, correctness`, async () => {
      const r = await runEngineIngest(
        {
          mix,
          requests: config.engineRequests,
          seed: config.seed + 1,
          lateFraction: config.lateFraction,
          duplicateFraction: config.duplicateFraction,
        },
        handlers,
      );
      results.engine = [...(results.engine ?? []), r];
    });
  }
  await step('replay', 'local replay of generated files', async () => {
    results.replay = await runReplayBench({ requests: config.replayRequests, seed: config.seed + 3, mix: 'realistic' });
  });
  await step('query', 'query latency on the large table', async () => {
    results.query = await runQueryLatency(
      {
        requests: config.queryRequests,
        longWindowRequests: config.longWindowRequests,
        longWindowDays: config.longWindowDays,
        repetitions: config.queryReps,
        seed: config.seed + 2,
        concurrency: config.loadConcurrency,
        lateFraction: config.lateFraction,
        duplicateFraction: config.duplicateFraction,
        root: ROOT,
      },
      handlers,
      (text) => progress(`  ${text}`),
    );
  });
  await step('alerts', 'event-to-alert latency and cost per thousand alerts', async () => {
    results.alerts = await measureAlertLatency({ requests: config.alertRequests, seed: config.seed + 4 });
  });
  await step('faults', 'fault injection through the handlers', async () => {
    results.faults = await runFaultInjection({
      requests: config.faultRequests,
      seed: config.seed + 5,
      mix: 'realistic',
    });
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
  const path = resolve(ROOT, config.out);
  const jsonPath = path.replace(/(\.md)?$/i, '.json');
  writeFileSync(path, renderMarkdown(results));
  writeFileSync(jsonPath, `${JSON.stringify(benchJson(results), null, 2)}\n`);
  process.stdout.write(`\n${textTable(summaryRows(results))}\n\nwritten: ${path}, ${jsonPath}\n`);
  if (results.failures.length) process.exitCode = 1;
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
