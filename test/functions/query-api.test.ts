import { describe, expect, it } from 'vitest';
import { loadQueryApiConfig } from '../../functions/config/query-api-config.js';
import { readRequest } from '../../functions/query-api.js';

const post = (body: string, isBase64Encoded = false) => ({
  requestContext: { http: { method: 'POST' } } as never,
  body,
  isBase64Encoded,
});

describe('readRequest', () => {
  it('reads the question and params of a JSON POST, base64 or not', () => {
    const body = JSON.stringify({ question: 'denied', params: { cluster: 'prod', since: '7d' } });
    expect(readRequest(post(body))).toEqual({ ok: true, question: 'denied', params: { cluster: 'prod', since: '7d' } });
    expect(readRequest(post(Buffer.from(body).toString('base64'), true))).toEqual(readRequest(post(body)));
  });

  it('reads GET query parameters', () => {
    const r = readRequest({
      requestContext: { http: { method: 'GET' } } as never,
      queryStringParameters: { question: 'explain', cluster: 'prod', auditId: 'x' },
    });
    expect(r).toEqual({ ok: true, question: 'explain', params: { cluster: 'prod', auditId: 'x' } });
  });

  it.each([
    ['not JSON', post('{'), 400, 'body: not JSON'],
    ['an array body', post('[1]'), 400, 'body: expected a JSON object'],
    ['no question', post('{"params":{}}'), 400, 'question: required string'],
    ['params not an object', post('{"question":"denied","params":[1]}'), 400, 'params: expected an object'],
    ['an oversized body', post(JSON.stringify({ question: 'x', pad: 'a'.repeat(70_000) })), 400, 'larger than'],
    ['GET without question', { requestContext: { http: { method: 'GET' } } as never }, 400, 'question: required'],
    ['DELETE', { requestContext: { http: { method: 'DELETE' } } as never }, 405, 'use GET or POST'],
  ])('answers %s with %i and a structured error', (_n, event, status, message) => {
    const r = readRequest(event);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.response.statusCode).toBe(status);
      expect(JSON.parse(r.response.body as string).error.message).toContain(message);
    }
  });
});

describe('loadQueryApiConfig', () => {
  const GRANTS = '[{"name":"secops","roleArn":"arn:aws:iam::111111111111:role/SecOps","accounts":["*"]}]';

  it('reads the table name and the access grants', () => {
    expect(loadQueryApiConfig({ TABLE_NAME: 'trail-prod', QUERY_ACCESS_POLICY: GRANTS })).toEqual({
      tableName: 'trail-prod',
      access: {
        grants: [
          { name: 'secops', roleArn: 'arn:aws:iam::111111111111:role/SecOps', accounts: ['*'], clusters: ['*'] },
        ],
      },
    });
    expect(loadQueryApiConfig({ TABLE_NAME: 'trail-prod', QUERY_ACCESS_POLICY: '[]' }).access).toEqual({ grants: [] });
  });

  it.each([
    ['no table', { QUERY_ACCESS_POLICY: '[]' }, /TABLE_NAME/],
    ['a short table name', { TABLE_NAME: 'x', QUERY_ACCESS_POLICY: '[]' }, /TABLE_NAME/],
    ['a bad table name', { TABLE_NAME: 'bad name!', QUERY_ACCESS_POLICY: '[]' }, /TABLE_NAME/],
    ['no access grants', { TABLE_NAME: 'trail-prod' }, /QUERY_ACCESS_POLICY: is required/],
    [
      'grants that are not JSON',
      { TABLE_NAME: 'trail-prod', QUERY_ACCESS_POLICY: '[{' },
      /QUERY_ACCESS_POLICY: not JSON/,
    ],
    [
      'a grant without accounts',
      { TABLE_NAME: 'trail-prod', QUERY_ACCESS_POLICY: '[{"name":"a","roleArn":"arn:aws:iam::111111111111:role/A"}]' },
      /QUERY_ACCESS_POLICY: \[0\]\.accounts/,
    ],
  ])('refuses %s at cold start', (_kind, env, message) => {
    expect(() => loadQueryApiConfig(env)).toThrow(message);
  });
});
