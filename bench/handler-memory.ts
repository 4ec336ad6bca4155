import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { KinesisRecordLike } from '../sim/index.js';
import { bundleEntry } from './bundle.js';
import { functionNodeArgs } from './lambda-runtime.js';
import { buildWorkload, sqsEvents } from './workload.js';

/**
 * Peak RSS of the log handler on one full Kinesis batch (Lambda caps an invocation payload at 6 MB),
 * in a fresh process running the bundled handler code with storage stubbed. Lambda bills and limits
 * memory on the whole process, so maxRSS is the figure to compare with the function's memory size.
 */

export const TARGET_MAX_RSS_MB = 256;
/** Lambda's synchronous invocation payload limit (6 MB), which bounds a Kinesis batch. */
const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;

export interface HandlerMemoryOptions {
  root: string;
  seed: number;
  /** Event size to build, bytes (default: just under Lambda's 6 MB payload limit). */
  eventBytes?: number;
}

export interface HandlerMemoryResult {
  eventBytes: number;
  records: number;
  logEvents: number;
  jsonBytes: number;
  baselineRssMB: number;
  maxRssMB: number;
  chains: number;
  handlerMs: number;
  /** The node flags the child ran with: the log function's, as Lambda starts it. */
  nodeArgs: string[];
}

const exec = promisify(execFile);

export const runHandlerMemory = async (opts: HandlerMemoryOptions): Promise<HandlerMemoryResult> => {
  const limit = opts.eventBytes ?? LAMBDA_PAYLOAD_LIMIT - 64 * 1024;
  // Enough requests that their Kinesis records fill the batch.
  const requests = Math.max(200, Math.ceil(limit / 1_000));
  const w = buildWorkload({ seed: opts.seed, requests });
  const records: KinesisRecordLike[] = [];
  const shell = (rs: KinesisRecordLike[]) => JSON.stringify({ Records: rs });
  let size = shell([]).length;
  for (const d of w.deliveries) {
    if (d.kind !== 'kinesis') continue;
    for (const r of d.event.Records) {
      const add = JSON.stringify(r).length + 1;
      if (size + add > limit) break;
      records.push(r);
      size += add;
    }
  }
  let logEvents = 0;
  let jsonBytes = 0;
  for (const r of records) {
    const json = gunzipSync(Buffer.from(r.kinesis.data, 'base64'));
    jsonBytes += json.length;
    logEvents += (JSON.parse(json.toString('utf8')) as { logEvents: unknown[] }).logEvents.length;
  }
  const dir = mkdtempSync(join(tmpdir(), 'eks-trail-mem-'));
  try {
    const eventFile = join(dir, 'event.json');
    const sqsFile = join(dir, 'sqs.json');
    const text = shell(records);
    writeFileSync(eventFile, text);
    writeFileSync(sqsFile, JSON.stringify(sqsEvents(w)));
    const bundle = join(dir, 'memory-child.mjs');
    // Peak RSS depends on the heap limits, so the child gets the ones Lambda gives the log function.
    const nodeArgs = functionNodeArgs('log-ingest');
    await bundleEntry(join(opts.root, 'bench/memory-child.ts'), bundle);
    const { stdout } = await exec(process.execPath, [...nodeArgs, bundle, eventFile, sqsFile], {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        TABLE_NAME: 'eks-trail-bench',
        ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111111111111:eks-trail-bench-alerts',
        AWS_REGION: 'us-east-1',
      },
      maxBuffer: 1 << 20,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string) as {
      baselineRssBytes: number;
      maxRssBytes: number;
      chains: number;
      handlerMs: number;
    };
    return {
      eventBytes: Buffer.byteLength(text),
      records: records.length,
      logEvents,
      jsonBytes,
      baselineRssMB: out.baselineRssBytes / 2 ** 20,
      maxRssMB: out.maxRssBytes / 2 ** 20,
      chains: out.chains,
      handlerMs: out.handlerMs,
      nodeArgs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
