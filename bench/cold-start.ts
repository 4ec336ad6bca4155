import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { bundleEntry } from './bundle.js';
import { median } from './stats.js';

/**
 * Cold-start cost of each function: the size of its bundle (built with the CDK construct's esbuild
 * options) and the time a fresh Node process takes to import it (module evaluation: the handler's
 * configuration, logger, metrics and SDK client are created at import). Measured with and without
 * --enable-source-maps, which the deployed functions set in NODE_OPTIONS.
 */

export const FUNCTIONS = ['log-ingest', 'cloudtrail-ingest', 'query-api', 'posture-report'] as const;
export const TARGET_BUNDLE_BYTES = 1_000_000;
export const TARGET_IMPORT_MS = 150;

export interface ColdStartResult {
  fn: string;
  bundleBytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  importMsMedian: number;
  importMsWithSourceMapsMedian: number;
  samples: number;
  error?: string;
}

const exec = promisify(execFile);

const importOnce = async (bundle: string, sourceMaps: boolean): Promise<number> => {
  const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(bundle).href)});process.stdout.write(String(performance.now()-t));`;
  const args = [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', script];
  const { stdout } = await exec(process.execPath, args, {
    env: {
      PATH: process.env['PATH'] ?? '',
      TABLE_NAME: 'eks-trail-bench',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      TRUSTED_ACCOUNT_IDS: '111122223333',
      // What the CDK stacks set on the functions that publish alerts.
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:eks-access-trail-alerts',
    },
  });
  return Number(stdout.trim());
};

export const runColdStart = async (opts: {
  root: string;
  samples: number;
  functions?: readonly (typeof FUNCTIONS)[number][];
}): Promise<ColdStartResult[]> => {
  const dir = mkdtempSync(join(tmpdir(), 'eks-trail-cold-'));
  const out: ColdStartResult[] = [];
  try {
    for (const fn of opts.functions ?? FUNCTIONS) {
      const bundle = join(dir, fn, 'index.mjs');
      const r: ColdStartResult = {
        fn,
        bundleBytes: 0,
        gzipBytes: 0,
        sourceMapBytes: 0,
        importMsMedian: Number.NaN,
        importMsWithSourceMapsMedian: Number.NaN,
        samples: opts.samples,
      };
      try {
        await bundleEntry(join(opts.root, 'functions', `${fn}.ts`), bundle);
        r.bundleBytes = statSync(bundle).size;
        r.gzipBytes = gzipSync(readFileSync(bundle)).length;
        r.sourceMapBytes = statSync(`${bundle}.map`).size;
        const plain: number[] = [];
        const mapped: number[] = [];
        // Alternate the two so both see the same machine load.
        for (let i = 0; i < opts.samples; i++) {
          plain.push(await importOnce(bundle, false));
          mapped.push(await importOnce(bundle, true));
        }
        r.importMsMedian = median(plain);
        r.importMsWithSourceMapsMedian = median(mapped);
      } catch (err) {
        const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
        r.error = (stderr.split('\n').find((l) => /Error/.test(l)) ?? String((err as Error).message ?? err)).slice(
          0,
          200,
        );
      }
      out.push(r);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
};
