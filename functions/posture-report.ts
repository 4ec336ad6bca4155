import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { postureFindings } from '../lib/alerts/posture.js';
import { buildPostureInput, type PostureSources } from '../lib/alerts/posture-input.js';
import { countBySeverity, renderFindingsSummary } from '../lib/alerts/render.js';
import type { AlertConfig, Finding, Severity } from '../lib/alerts/types.js';
import { SEVERITIES } from '../lib/alerts/types.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import type { StructuredLogger } from '../lib/structured-logger.js';
import { loadPostureReportConfig } from './config/posture-report-config.js';
import { SnsAlertSink } from './shared/sns-alert-sink.js';

/**
 * Daily posture report (EventBridge schedule): the mapping state of every registered cluster now,
 * its usage, the findings, and one summary message on the alert topic. Read-only on the table.
 */

export interface PostureReportDeps {
  store: PostureSources['trail'];
  usage: PostureSources['usage'];
  sink: Pick<SnsAlertSink, 'publishText'>;
  config: AlertConfig;
  logger: StructuredLogger;
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
  const input = await buildPostureInput({ trail: deps.store, usage: deps.usage }, now, deps.config);
  const refs = input.clusters;
  const findings: Finding[] = postureFindings(input);
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

const trail = new DynamoDbTrailStore(dynamoDbClient, { tableName: config.tableName });
const deps: PostureReportDeps = {
  store: trail,
  usage: trail.usage,
  sink: new SnsAlertSink(snsClient, config.alertTopicArn),
  config: config.alerts,
  logger,
  now: () => Date.now(),
};

export const handler = middy(
  async (_event: unknown, _context: Context): Promise<PostureReportSummary> => runPostureReport(deps),
).use(injectLambdaContext(logger));
