import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  LambdaFunctionURLEventWithIAMAuthorizer,
} from 'aws-lambda';
import {
  authorizeQuestion,
  type Caller,
  callerFromAuthorizer,
  type QueryAccessPolicy,
} from '../lib/query/access-policy.js';
import { QueryNotFoundError, QueryParamError } from '../lib/query/errors.js';
import { parseQuestionParams } from '../lib/query/params.js';
import { auditCaller, auditFilters, type QueryAuditRecord, type QueryOutcome } from '../lib/query/query-audit.js';
import { runQuestion, SCOPED_NOTE } from '../lib/query/run.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { type QuestionPort, TrailStoreError } from '../lib/store/trail-store.js';
import { loadQueryApiConfig } from './config/query-api-config.js';

/**
 * The query API: a Lambda function URL with AuthType AWS_IAM (AWS checks the SigV4 signature and
 * lambda:InvokeFunctionUrl before the handler runs, and reports the caller in
 * requestContext.authorizer.iam). Same questions as the CLI:
 *   POST {"question":"who-did","params":{"cluster":"prod","human":"alice@example.com","since":"24h"}}
 *   GET  ?question=denied&cluster=prod&since=7d
 * The caller reads only the clusters its grants cover (lib/query/access-policy.ts). Answers are the
 * query layer's QueryAnswer; errors are {"error":{"code","message"}} with 400 (bad question or
 * parameter), 403 (ACCESS_DENIED), 404 (unknown cluster / auditID) or 500. Every request is logged as
 * one structured `query audit` line.
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

type Request =
  | { ok: true; question: string; params: Record<string, unknown> }
  | { ok: false; response: Response; code: string };

const reject = (statusCode: number, code: string, message: string): Request => ({
  ok: false,
  response: error(statusCode, code, message),
  code,
});

/** The question and its parameters from a GET query string or a POST JSON body. */
export const readRequest = (event: Partial<APIGatewayProxyEventV2>): Request => {
  const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
  if (method === 'GET') {
    const { question, ...params } = event.queryStringParameters ?? {};
    if (!question) return reject(400, 'BAD_REQUEST', 'question: required (query parameter)');
    return { ok: true, question, params };
  }
  if (method !== 'POST') return reject(405, 'METHOD_NOT_ALLOWED', `${method}: use GET or POST`);
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    return reject(400, 'BAD_REQUEST', `body: larger than ${MAX_BODY_BYTES} bytes`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return reject(400, 'BAD_REQUEST', 'body: not JSON (expected {"question":…,"params":{…}})');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return reject(400, 'BAD_REQUEST', 'body: expected a JSON object {"question":…,"params":{…}}');
  }
  const { question, params } = body as { question?: unknown; params?: unknown };
  if (typeof question !== 'string') return reject(400, 'BAD_REQUEST', 'question: required string');
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    return reject(400, 'BAD_REQUEST', 'params: expected an object');
  }
  return { ok: true, question, params: (params ?? {}) as Record<string, unknown> };
};

export interface QueryApiDeps {
  store: QuestionPort;
  /** Who may read which clusters (QUERY_ACCESS_POLICY); no grant, no answer. */
  access: QueryAccessPolicy;
  now?: () => number;
  /** Every request ends in one `query audit` line here (lib/query/query-audit.ts). */
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

type Event = Partial<LambdaFunctionURLEventWithIAMAuthorizer>;

/**
 * The handler logic, independent of Lambda wiring; tests call it with a store over a real engine.
 * Order: the caller (403 without an IAM caller or any grant naming it), the request and its
 * parameters (400), the cluster asked about (403), then the answer, filtered to the caller's clusters.
 */
export const createQueryHandler =
  (deps: QueryApiDeps) =>
  async (event: Event): Promise<Response> => {
    const ctx = event.requestContext;
    const reported = ctx?.authorizer?.iam as Record<string, unknown> | undefined;
    const identified = callerFromAuthorizer(reported);
    const caller = identified.ok ? identified.value : undefined;
    const req = readRequest(event as Partial<APIGatewayProxyEventV2>);
    const record: QueryAuditRecord = {
      audit: 'eks-trail-query',
      caller: auditCaller(caller, reported),
      filters: req.ok ? auditFilters(req.params) : {},
      outcome: 'failed',
      status: 500,
      rows: 0,
      grants: [],
    };
    if (req.ok) record.question = req.question;
    if (ctx?.requestId) record.requestId = ctx.requestId;
    if (ctx?.http?.sourceIp) record.sourceIp = ctx.http.sourceIp;
    const done = (response: Response, outcome: QueryOutcome, code?: string): Response => {
      record.outcome = outcome;
      record.status = response.statusCode ?? 200;
      if (code !== undefined) record.code = code;
      deps.logger?.info('query audit', { ...record });
      return response;
    };
    const refuse = (status: number, outcome: QueryOutcome, code: string, message: string) =>
      done(error(status, code, message), outcome, code);

    if (!identified.ok) return refuse(403, 'denied', 'ACCESS_DENIED', identified.issues[0].message);
    const who = authorizeQuestion(deps.access, caller as Caller, undefined);
    if (!who.allowed) return refuse(403, 'denied', who.code, who.message);
    record.grants = [...who.scope.grants];
    if (!req.ok) return done(req.response, 'bad-request', req.code);

    const parsed = parseQuestionParams(req.question, req.params, (deps.now ?? Date.now)());
    if (!parsed.ok) {
      return refuse(400, 'bad-request', 'BAD_PARAMETER', parsed.issues.map((i) => i.message).join('; '));
    }
    const decision = authorizeQuestion(deps.access, caller as Caller, parsed.value.cluster);
    if (!decision.allowed) return refuse(403, 'denied', decision.code, decision.message);
    try {
      const answer = await runQuestion(deps.store, parsed.value, decision.scope);
      record.rows = answer.rows.length;
      if (answer.cluster !== undefined) record.cluster = answer.cluster;
      if (answer.notes.includes(SCOPED_NOTE)) record.scoped = true;
      return done(json(200, answer), 'answered');
    } catch (e) {
      if (e instanceof QueryParamError) return refuse(400, 'bad-request', 'BAD_PARAMETER', e.message);
      if (e instanceof QueryNotFoundError) return refuse(404, 'not-found', 'NOT_FOUND', e.message);
      deps.logger?.error('query failed', { error: e as Error });
      // Storage details stay in the logs; the caller gets a stable code.
      const code = e instanceof TrailStoreError && e.retryable ? 'UNAVAILABLE' : 'INTERNAL';
      return refuse(code === 'UNAVAILABLE' ? 503 : 500, 'failed', code, 'the query failed; see the function logs');
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
    return { handle: createQueryHandler({ store, access: config.access, logger }) };
  } catch (e) {
    logger.error('configuration invalid', { error: e as Error });
    return { configError: e as Error };
  }
})();

export const handler = middy(async (event: LambdaFunctionURLEventWithIAMAuthorizer): Promise<Response> => {
  if ('configError' in coldStart) {
    return error(500, 'CONFIG', coldStart.configError?.message ?? 'invalid configuration');
  }
  return coldStart.handle(event);
}).use(injectLambdaContext(logger));
