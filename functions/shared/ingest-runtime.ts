import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { AlertConfig } from '../../lib/alerts/types.js';
import { DynamoDbTrailStore, type RetentionDays } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { Env } from '../config/env-reader.js';
import { type AlertWiring, alertWiringFor } from './alert-wiring.js';
import { METRICS_NAMESPACE } from './ingest-metrics.js';

/** What both ingest functions' config loaders yield (each may add more). */
export interface IngestRuntimeConfig {
  tableName: string;
  retentionDays: RetentionDays;
  alertTopicArn: string;
  alerts: AlertConfig;
}

export interface IngestRuntime<C extends IngestRuntimeConfig> {
  logger: Logger;
  metrics: Metrics;
  config: C;
  dynamoDbClient: DynamoDBClient;
  snsClient: SNSClient;
  store: DynamoDbTrailStore;
  alerts: AlertWiring;
}

/**
 * Cold-start wiring shared by the ingest functions: run once per container at module load.
 * A bad configuration fails the init phase, so a misconfigured function never consumes (and
 * checkpoints past) records. The DynamoDB client honours AWS_ENDPOINT_URL_DYNAMODB, which is how
 * tests and local runs point the real handler at dynalite or DynamoDB Local; tests replace the SNS
 * client's transport (aws-sdk-client-mock), SNS having no local engine.
 */
export const createIngestRuntime = <C extends IngestRuntimeConfig>(
  serviceName: string,
  loadConfig: (env: Env) => C,
  env: Env = process.env,
): IngestRuntime<C> => {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  let config: C;
  try {
    config = loadConfig(env);
  } catch (err) {
    logger.error('invalid configuration', { error: err as Error });
    throw err;
  }
  const dynamoDbClient = new DynamoDBClient({});
  const snsClient = new SNSClient({});
  const store = new DynamoDbTrailStore(dynamoDbClient, {
    tableName: config.tableName,
    retentionDays: config.retentionDays,
  });
  const alerts = alertWiringFor(store, snsClient, { alertTopicArn: config.alertTopicArn, config: config.alerts });
  return { logger, metrics, config, dynamoDbClient, snsClient, store, alerts };
};
