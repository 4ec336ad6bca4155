import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBundledHandlers } from './handlers.js';
import { type IngestCpuOptions, runIngestCpu } from './ingest-cpu.js';

/**
 * The CPU section in a process of its own, so that it runs with the node flags the function has in
 * Lambda (see runIngestCpuIsolated). Options as JSON in argv[2]; the result as one JSON line on stdout.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const main = async (): Promise<void> => {
  const opts = JSON.parse(process.argv[2] ?? '') as IngestCpuOptions;
  const result = await runIngestCpu(opts, await loadBundledHandlers(ROOT));
  // The flags node really took, so the parent can check they reached this process.
  process.stdout.write(`${JSON.stringify({ result, execArgv: process.execArgv })}\n`);
};

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
