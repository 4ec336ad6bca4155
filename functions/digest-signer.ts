import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { kmsDigestSigner } from '../lib/integrity/kms-key.js';
import { DigestSignerError, type SignRunResult, signAll } from '../lib/integrity/signer.js';
import { DIGEST_METRICS, METRICS } from '../lib/runtime-env.js';
import type { DigestStore } from '../lib/store/digest-store.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import type { StructuredLogger } from '../lib/structured-logger.js';
import { type DigestSignerConfig, loadDigestSignerConfig } from './config/digest-signer-config.js';

/**
 * The digest signer (EventBridge schedule, hourly): signs what was stored since its last run
 * (docs/tamper-evidence.md, "Signing"). The work is lib/integrity/signer.ts. A signed item it finds
 * changed or gone is logged with its key and counted in DigestMismatches, which is alarmed; a run
 * that fails is retried by EventBridge and alarmed on its errors.
 */

export interface DigestSignerDeps {
  digests: DigestStore;
  kms: KMSClient;
  config: DigestSignerConfig;
  logger: StructuredLogger;
  metrics: Pick<Metrics, 'addMetric'>;
  now: () => number;
}

export interface DigestSignerSummary {
  signedAt: string;
  scopes: number;
  buckets: number;
  itemsSigned: number;
  mismatches: number;
}

const report = (deps: DigestSignerDeps, r: SignRunResult): DigestSignerSummary => {
  let buckets = 0;
  let items = 0;
  let mismatches = 0;
  for (const s of r.scopes) {
    buckets += s.buckets.length;
    for (const b of s.buckets) items += b.entries;
    for (const m of s.mismatches) {
      mismatches++;
      deps.logger.error('signed item differs from its digest', { ...m });
    }
  }
  deps.metrics.addMetric(DIGEST_METRICS.itemsSigned, MetricUnit.Count, items);
  deps.metrics.addMetric(DIGEST_METRICS.mismatches, MetricUnit.Count, mismatches);
  return { signedAt: r.signedAt, scopes: r.scopes.length, buckets, itemsSigned: items, mismatches };
};

export const runDigestSigner = async (deps: DigestSignerDeps): Promise<DigestSignerSummary> => {
  try {
    const result = await signAll(deps.digests, {
      signer: kmsDigestSigner(deps.kms, deps.config.keyArn),
      now: deps.now(),
      settleMs: deps.config.settleMs,
      retryWindowMs: deps.config.retryWindowMs,
    });
    const summary = report(deps, result);
    deps.logger.info('digests signed', { ...summary });
    return summary;
  } catch (err) {
    if (err instanceof DigestSignerError && err.partial) report(deps, err.partial);
    deps.logger.error('digest signing failed', { error: err as Error });
    throw err;
  }
};

// ---------------------------------------------------------------------------------------------
// Lambda wiring: everything below runs once per container (cold start).
// ---------------------------------------------------------------------------------------------

export const logger = new Logger({ serviceName: 'digest-signer' });
const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'digest-signer' });

const config = (() => {
  try {
    return loadDigestSignerConfig(process.env);
  } catch (err) {
    logger.error('invalid configuration', { error: err as Error });
    throw err;
  }
})();

/** One client each per container; AWS_ENDPOINT_URL_DYNAMODB redirects DynamoDB in tests, KMS is mocked there. */
export const dynamoDbClient = new DynamoDBClient({});
export const kmsClient = new KMSClient({});

const store = new DynamoDbTrailStore(dynamoDbClient, { tableName: config.tableName });

export const handler = middy(
  async (_event: unknown, _context: Context): Promise<DigestSignerSummary> =>
    runDigestSigner({ digests: store.digests, kms: kmsClient, config, logger, metrics, now: () => Date.now() }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
