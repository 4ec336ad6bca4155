import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { QueryNotFoundError, QueryParamError } from '../lib/query/errors.js';
import { parseQuestionParams } from '../lib/query/params.js';
import { runQuestion } from '../lib/query/run.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { type QuestionPort, TrailStoreError } from '../lib/store/trail-store.js';
import { loadQueryApiConfig } from './config/query-api-config.js';

/**
 * The query API: a Lambda function URL with AuthType AWS_IAM (AWS checks the SigV4 signature and
 * lambda:InvokeFunctionUrl before the handler runs). Same questions as the CLI:
 *   POST {"question":"who-did","params":{"cluster":"prod","human":"alice@example.com","since":"24h"}}
 *   GET  ?question=denied&cluster=prod&since=7d
 * Answers are the query layer's QueryAnswer; errors are {"error":{"code","message"}} with 400 (bad
 * question or parameter), 404 (unknown cluster / auditID) or 500.
 */

const MAX_BODY_BYTES = 64 * 1024;

type Response = APIGatewayProxyStructuredResultV2;

const json = (statusCode: number, body: unknown): Response => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

const error = (statusCode: number, code: string, message: string): Response =>
  json(statusCode, { error: { code, message } });

type Request = { ok: true; question: string; params: Record<string, unknown> } | { ok: false; response: Response };

/** The question and its parameters from a GET query string or a POST JSON body. */
export const readRequest = (event: Partial<APIGatewayProxyEventV2>): Request => {
  const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
  if (method === 'GET') {
    const { question, ...params } = event.queryStringParameters ?? {};
    if (!question) return { ok: false, response: error(400, 'BAD_REQUEST', 'question: required (query parameter)') };
    return { ok: true, question, params };
  }
  if (method !== 'POST') return { ok: false, response: error(405, 'METHOD_NOT_ALLOWED', `${method}: use GET or POST`) };
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    return { ok: false, response: error(400, 'BAD_REQUEST', `body: larger than ${MAX_BODY_BYTES} bytes`) };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, response: error(400, 'BAD_REQUEST', 'body: not JSON (expected {"question":…,"params":{…}})') };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      response: error(400, 'BAD_REQUEST', 'body: expected a JSON object {"question":…,"params":{…}}'),
    };
  }
  const { question, params } = body as { question?: unknown; params?: unknown };
  if (typeof question !== 'string')
    return { ok: false, response: error(400, 'BAD_REQUEST', 'question: required string') };
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    return { ok: false, response: error(400, 'BAD_REQUEST', 'params: expected an object') };
  }
  return { ok: true, question, params: (params ?? {}) as Record<string, unknown> };
};

export interface QueryApiDeps {
  store: QuestionPort;
  now?: () => number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** The handler logic, independent of Lambda wiring; tests call it with a store over a real engine. */
export const createQueryHandler =
  (deps: QueryApiDeps) =>
  async (event: Partial<APIGatewayProxyEventV2>): Promise<Response> => {
    const req = readRequest(event);
    if (!req.ok) return req.response;
    const parsed = parseQuestionParams(req.question, req.params, (deps.now ?? Date.now)());
    if (!parsed.ok) {
      return error(400, 'BAD_PARAMETER', parsed.issues.map((i) => i.message).join('; '));
    }
    try {
      const answer = await runQuestion(deps.store, parsed.value);
      deps.logger?.info('answered', { question: answer.question, cluster: answer.cluster, rows: answer.rows.length });
      return json(200, answer);
    } catch (e) {
      if (e instanceof QueryParamError) return error(400, 'BAD_PARAMETER', e.message);
      if (e instanceof QueryNotFoundError) return error(404, 'NOT_FOUND', e.message);
      deps.logger?.error('query failed', { error: e as Error });
      // Storage details stay in the logs; the caller gets a stable code.
      const code = e instanceof TrailStoreError && e.retryable ? 'UNAVAILABLE' : 'INTERNAL';
      return error(code === 'UNAVAILABLE' ? 503 : 500, code, 'the query failed; see the function logs');
    }
  };

// ---------------------------------------------------------------------------------------------
// Lambda wiring (cold start)
// ---------------------------------------------------------------------------------------------

const logger = new Logger({ serviceName: 'eks-trail-query-api' });

const coldStart = (() => {
  try {
    const config = loadQueryApiConfig(process.env);
    const store = new DynamoDbTrailStore(new DynamoDBClient({}), { tableName: config.tableName });
    return { handle: createQueryHandler({ store, logger }) };
  } catch (e) {
    logger.error('configuration invalid', { error: e as Error });
    return { configError: e as Error };
  }
})();

export const handler = middy(async (event: APIGatewayProxyEventV2): Promise<Response> => {
  if ('configError' in coldStart) {
    return error(500, 'CONFIG', coldStart.configError?.message ?? 'invalid configuration');
  }
  return coldStart.handle(event);
}).use(injectLambdaContext(logger));
