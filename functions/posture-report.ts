import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { postureFindings } from '../lib/alerts/posture.js';
import { countBySeverity, renderFindingsSummary } from '../lib/alerts/render.js';
import type { AlertConfig, Finding, MappingUsage, Severity } from '../lib/alerts/types.js';
import { SEVERITIES } from '../lib/alerts/types.js';
import { MappingTimeline } from '../lib/identity/mapping-timeline.js';
import type { ClusterMappingState, MappingChange } from '../lib/identity/types.js';
import type { IngestLogger } from '../lib/ingest/types.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import type { ClusterRef } from '../lib/store/keys.js';
import { DynamoDbMappingUsageStore } from '../lib/store/mapping-usage.js';
import { loadPostureReportConfig } from './config/posture-report-config.js';
import { SnsAlertSink } from './shared/sns-alert-sink.js';

/**
 * Daily posture report (EventBridge schedule): the mapping state of every registered cluster now,
 * its usage, the findings, and one summary message on the alert topic. Read-only on the table.
 */

export interface PostureReportDeps {
  store: {
    clusters(): Promise<ClusterRef[]>;
    mappingChanges(cluster: string, accountId?: string): Promise<MappingChange[]>;
  };
  usage: { list(cluster: string, accountId?: string): Promise<MappingUsage[]> };
  sink: Pick<SnsAlertSink, 'publishText'>;
  config: AlertConfig;
  logger: IngestLogger;
  now: () => number;
}

export interface PostureReportSummary {
  clusters: number;
  findings: number;
  bySeverity: Record<Severity, number>;
  published: boolean;
}

export const runPostureReport = async (deps: PostureReportDeps): Promise<PostureReportSummary> => {
  const now = new Date(deps.now()).toISOString();
  const refs = await deps.store.clusters();
  const states: (ClusterMappingState & { accountId?: string })[] = [];
  const usage: MappingUsage[] = [];
  for (const ref of refs) {
    const changes = await deps.store.mappingChanges(ref.cluster, ref.accountId);
    states.push({ ...new MappingTimeline(ref.cluster, changes).stateAt(now), accountId: ref.accountId });
    for (const u of await deps.usage.list(ref.cluster, ref.accountId)) usage.push({ ...u, accountId: ref.accountId });
  }
  const findings: Finding[] = postureFindings({ states, usage, now, config: deps.config });
  const bySeverity = countBySeverity(findings);
  const summary: PostureReportSummary = {
    clusters: refs.length,
    findings: findings.length,
    bySeverity,
    published: false,
  };
  if (findings.length > 0) {
    const { subject, body } = renderFindingsSummary(findings, refs.length);
    const worst = SEVERITIES.find((s) => bySeverity[s] > 0) ?? 'info';
    await deps.sink.publishText(subject, body, { severity: worst, ruleId: 'posture-report' });
    summary.published = true;
  }
  deps.logger.info('posture report', { ...summary });
  return summary;
};

// ---------------------------------------------------------------------------------------------
// Lambda wiring: everything below runs once per container (cold start).
// ---------------------------------------------------------------------------------------------

export const logger = new Logger({ serviceName: 'posture-report' });

const config = (() => {
  try {
    return loadPostureReportConfig(process.env);
  } catch (err) {
    logger.error('invalid configuration', { error: err as Error });
    throw err;
  }
})();

/** One client per container; AWS_ENDPOINT_URL_DYNAMODB / _SNS (read by the SDK) redirect them in tests. */
export const dynamoDbClient = new DynamoDBClient({});
export const snsClient = new SNSClient({});

const deps: PostureReportDeps = {
  store: new DynamoDbTrailStore(dynamoDbClient, { tableName: config.tableName }),
  usage: new DynamoDbMappingUsageStore(dynamoDbClient, { tableName: config.tableName }),
  sink: new SnsAlertSink(snsClient, config.alertTopicArn),
  config: config.alerts,
  logger,
  now: () => Date.now(),
};

export const handler = middy(
  async (_event: unknown, _context: Context): Promise<PostureReportSummary> => runPostureReport(deps),
).use(injectLambdaContext(logger));
