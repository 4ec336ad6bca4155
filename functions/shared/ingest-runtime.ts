import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import type { AlertConfig, AlertSink } from '../../lib/alerts/types.js';
import { DynamoDbTrailStore, type RetentionDays } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import type { StructuredLogger } from '../../lib/structured-logger.js';
import type { AlertRoutingConfig } from '../config/alert-routing-config.js';
import type { Env } from '../config/env-reader.js';
import type { RoutingRejection } from './alert-routing-errors.js';
import { type AlertWiring, alertWiringFor } from './alert-wiring.js';
import { EventBridgeAlertSink } from './eventbridge-alert-sink.js';
import { METRICS_NAMESPACE } from './ingest-metrics.js';
import { SecurityHubAlertSink } from './securityhub-alert-sink.js';

/** What both ingest functions' config loaders yield (each may add more). */
export interface IngestRuntimeConfig {
  tableName: string;
  retentionDays: RetentionDays;
  alertTopicArn: string;
  alerts: AlertConfig;
  alertRouting: AlertRoutingConfig;
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
  const routes = alertRoutes(config.alertRouting, logger, {
    eventBridge: () => new EventBridgeClient({}),
    securityHub: () => new SecurityHubClient({}),
  });
  const alerts = alertWiringFor(store, snsClient, {
    alertTopicArn: config.alertTopicArn,
    config: config.alerts,
    routes,
  });
  return { logger, metrics, config, dynamoDbClient, snsClient, store, alerts };
};

/**
 * The alert destinations besides SNS, from the function's configuration, in the order FanOutSink needs
 * (Security Hub, then EventBridge). A destination that refuses an alert for good is logged, not retried.
 */
export const alertRoutes = (
  routing: AlertRoutingConfig,
  logger: StructuredLogger,
  clients: {
    eventBridge: () => Pick<EventBridgeClient, 'send'>;
    securityHub: () => Pick<SecurityHubClient, 'send'>;
  },
  now: () => number = Date.now,
): AlertSink[] => {
  const onRejected = (r: RoutingRejection) => logger.error('alert refused by a destination (not retried)', { ...r });
  const regionOf = (ref: string) => routing.clusterRegions[ref];
  const routes: AlertSink[] = [];
  if (routing.securityHubProductArn) {
    routes.push(
      new SecurityHubAlertSink(clients.securityHub(), {
        productArn: routing.securityHubProductArn,
        regionOf,
        now,
        onRejected,
      }),
    );
  }
  if (routing.eventBusName) {
    routes.push(
      new EventBridgeAlertSink(clients.eventBridge(), {
        eventBusName: routing.eventBusName,
        regionOf,
        partition: routing.partition,
        onRejected,
      }),
    );
  }
  return routes;
};
