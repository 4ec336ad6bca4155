/**
 * Runtime settings of the four functions that something other than the CDK app needs as well: the
 * benchmarks start the log handler the way Lambda does, with its memory size and NODE_OPTIONS. No CDK
 * import here, so reading them does not load aws-cdk-lib.
 */

/** The four handler entries under functions/, bundled by path. */
export type TrailFunctionEntry =
  | 'log-ingest'
  | 'cloudtrail-ingest'
  | 'query-api'
  | 'posture-report'
  | 'ocsf-export'
  | 'digest-signer';

/**
 * Memory per function, MB. Lambda scales CPU with memory, and the managed Node.js runtime sizes the V8
 * heap from it. The log handler gets more: a Kinesis batch is up to 6 MB of gzip'd JSON, decoded,
 * parsed and correlated in one invocation.
 */
export const FUNCTION_MEMORY_MB: Readonly<Record<TrailFunctionEntry, number>> = {
  'log-ingest': 1024,
  'cloudtrail-ingest': 512,
  'query-api': 512,
  'posture-report': 512,
  // Holds one cluster's window of Parquet in memory before the upload (lib/export/security-lake.ts).
  'ocsf-export': 1024,
  // Reads and hashes an hour of every cluster; Lambda gives CPU and network in proportion to memory.
  'digest-signer': 1024,
};

/** Stack traces of the minified bundle point at the TypeScript sources (the bundle ships its map). */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps';

/**
 * How Lambda batches the Kinesis stream for the log function. The trail stores a delivery's requests
 * per cluster and five-minute cell, with one index posting per value and segment (docs/data-model.md),
 * so a longer window writes fewer, fuller segments: on a quiet cluster the window is what sets the
 * cost per request. The price is latency: an aws-auth edit on a quiet cluster is alerted on up to the
 * window later (a busy cluster fills a batch, 6 MB of payload, long before). CloudTrail-sourced
 * changes (access entries) do not wait for it. Lambda caps the window at 300 s and Kinesis batches
 * at 10,000 records; 1,000 records of subscription payloads stay well under the 6 MB invocation limit.
 */
export const LOG_STREAM_BATCHING = {
  batchSize: 1_000,
  /** Default of the `logBatchingWindowSeconds` prop (0-300). */
  maxBatchingWindowSeconds: 300,
} as const;
