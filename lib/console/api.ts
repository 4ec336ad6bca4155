import { type ExplainRow, explainValueText } from '../query/chain-rows.js';
import { parseQuestionParams, QUESTIONS, type QuestionName } from '../query/params.js';
import type { ConsoleBackend } from './backend.js';
import { chainPivots } from './pivots.js';

/**
 * The console's JSON API: the questions exactly as the CLI and the query API answer them (same
 * parameter names, same validation, same rows), plus what the views need around them. GET only: the
 * console never writes.
 */

export interface ApiResponse {
  status: number;
  body: unknown;
}

export type ApiErrorCode = 'QUERY_PARAM' | 'NOT_FOUND' | 'NOT_AVAILABLE' | 'INTERNAL';

const error = (status: number, code: ApiErrorCode, message: string, param?: string): ApiResponse => ({
  status,
  body: { error: param === undefined ? { code, message } : { code, message, param } },
});

const ok = (body: unknown): ApiResponse => ({ status: 200, body });

const notAvailable = (backend: ConsoleBackend, what: string): ApiResponse =>
  error(
    501,
    'NOT_AVAILABLE',
    `${what} needs the trail table (local mode or --table); the ${backend.mode === 'api' ? 'query API answers questions only' : 'target cannot list it'}`,
  );

/** Errors of the question layer and of the CLI's API client, by name (bin/ errors are not importable here). */
const fromError = (e: unknown): ApiResponse => {
  const err = e as { name?: string; message?: string; param?: string };
  switch (err?.name) {
    case 'QueryParamError':
    case 'UsageError':
      return error(400, 'QUERY_PARAM', err.message ?? 'invalid parameter', err.param);
    case 'QueryNotFoundError':
    case 'NotFoundError':
      return error(404, 'NOT_FOUND', err.message ?? 'not found');
    default:
      return error(500, 'INTERNAL', err?.message ?? String(e));
  }
};

const params = (query: URLSearchParams): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of query) if (!(k in out)) out[k] = v;
  return out;
};

export const handleApi = async (
  path: string,
  query: URLSearchParams,
  backend: ConsoleBackend,
  now: number,
): Promise<ApiResponse> => {
  try {
    const raw = params(query);
    if (path === '/api/info') {
      return ok({
        mode: backend.mode,
        source: backend.source,
        ...(backend.defaultWindow ? { defaultWindow: backend.defaultWindow } : {}),
        can: {
          clusters: backend.clusters !== undefined,
          storedRequest: backend.storedRequest !== undefined,
          posture: backend.posture !== undefined,
          alerts: backend.alerts !== undefined,
        },
      });
    }
    if (path === '/api/clusters') {
      if (!backend.clusters) return ok({ clusters: [], note: 'the query API does not list clusters: type one' });
      return ok({ clusters: await backend.clusters() });
    }
    if (path.startsWith('/api/ask/')) {
      const question = decodeURIComponent(path.slice('/api/ask/'.length));
      const parsed = parseQuestionParams(question, raw, now);
      if (!parsed.ok) {
        const first = parsed.issues[0];
        return error(400, 'QUERY_PARAM', parsed.issues.map((i) => i.message).join('; '), first.path);
      }
      return ok(await backend.ask(parsed.value, raw));
    }
    if (path === '/api/request') {
      const parsed = parseQuestionParams('explain', raw, now);
      if (!parsed.ok)
        return error(400, 'QUERY_PARAM', parsed.issues.map((i) => i.message).join('; '), parsed.issues[0].path);
      const q = parsed.value as Extract<typeof parsed.value, { question: 'explain' }>;
      const answer = await backend.ask(q, raw);
      const stored =
        backend.storedRequest && answer.cluster
          ? ((await backend.storedRequest(answer.cluster, q.auditId, q.at)) ?? null)
          : null;
      const rows = answer.rows as ExplainRow[];
      return ok({
        // The page shows each link's value in a line; the bundle does not carry the renderer.
        answer: { ...answer, rows: rows.map((r) => ({ ...r, text: explainValueText(r) })) },
        pivots: chainPivots(rows),
        stored,
        ...(backend.storedRequest ? {} : { storedNote: 'the query API does not return stored audit events' }),
      });
    }
    if (path === '/api/posture') {
      if (!backend.posture) return notAvailable(backend, 'posture');
      const at = new Date(now).toISOString();
      return ok({ at, findings: await backend.posture(raw.cluster || undefined, at) });
    }
    if (path === '/api/alerts') {
      if (!backend.alerts) return notAvailable(backend, 'alerts');
      return ok(await backend.alerts(raw.cluster || undefined));
    }
    return error(
      404,
      'NOT_FOUND',
      `no API ${path} (questions: ${QUESTIONS.map((q: QuestionName) => `/api/ask/${q}`).join(', ')})`,
    );
  } catch (e) {
    return fromError(e);
  }
};
