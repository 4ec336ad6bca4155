import { describe, expect, it } from 'vitest';
import { QueryParamError } from '../../../lib/query/errors.js';
import { decodeCursor, slicePage } from '../../../lib/query/paging.js';
import { parseQuestionParams, type QuestionParams } from '../../../lib/query/params.js';
import { type PagedQuestion, resumeQuestion } from '../../../lib/query/resume.js';

const T0 = Date.parse('2026-11-01T12:00:00Z');
const LATER = T0 + 3_600_000;

const params = (question: string, raw: Record<string, string>, now = T0): PagedQuestion => {
  const r = parseQuestionParams(question, raw, now);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value as Exclude<QuestionParams, { question: 'explain' }>;
};

/** The cursor a first page of `q` hands back (an in-memory listing of ten rows, two a page). */
const firstCursor = (q: PagedQuestion): string => {
  const { binding } = resumeQuestion(q);
  const page = slicePage([...Array(10).keys()], 2, undefined, binding);
  return page.nextCursor as string;
};

describe('resumeQuestion', () => {
  it('stamps the question, its filters and its absolute window on the cursors it binds', () => {
    const q = params('who-did', { cluster: 'prod', since: '2h', verb: 'get' });
    const c = decodeCursor(firstCursor(q));
    expect(c.q).toMatch(/^[\w-]{16}$/);
    expect(c.w).toEqual(['2026-11-01T10:00:00.000Z', '2026-11-01T12:00:00.000Z']);
  });

  it('keeps the first page window when a `since` window moved with the clock, and says so', () => {
    const cursor = firstCursor(params('who-did', { cluster: 'prod', since: '2h' }));
    const r = resumeQuestion(params('who-did', { cluster: 'prod', since: '2h', cursor }, LATER));
    expect(r.q.question === 'who-did' && r.q.range).toEqual({
      from: '2026-11-01T10:00:00.000Z',
      to: '2026-11-01T12:00:00.000Z',
    });
    expect(r.notes).toEqual([
      "continues the listing over 2026-11-01T10:00:00.000Z to 2026-11-01T12:00:00.000Z (the window of its first page, not the clock's now)",
    ]);
  });

  it('keeps the instant of an access-at listing whose `at` defaulted to now', () => {
    const cursor = firstCursor(params('access-at', { cluster: 'prod' }));
    const r = resumeQuestion(params('access-at', { cluster: 'prod', cursor }, LATER));
    expect(r.q.question === 'access-at' && r.q.at).toBe('2026-11-01T12:00:00.000Z');
  });

  it('takes the same question, filters and window as they are, with no note', () => {
    const raw = { cluster: 'prod', from: '2026-11-01T00:00:00Z', to: '2026-11-01T06:00:00Z', outcome: 'forbid' };
    const cursor = firstCursor(params('who-did', raw));
    const r = resumeQuestion(params('who-did', { ...raw, cursor }, LATER));
    expect(r.notes).toEqual([]);
    expect(r.binding).toEqual(resumeQuestion(params('who-did', raw)).binding);
  });

  it('takes cursors issued before cursors were bound', () => {
    const old = Buffer.from(JSON.stringify({ s: 2 })).toString('base64url');
    const r = resumeQuestion(params('mappings-history', { cluster: 'prod', cursor: old }));
    expect(r.notes).toEqual([]);
  });

  const base = { cluster: 'prod', from: '2026-11-01T00:00:00Z', to: '2026-11-01T06:00:00Z' };
  it.each([
    ['another question', 'denied', base],
    ['another filter value', 'who-did', { ...base, verb: 'get' }],
    ['another principal', 'who-did', { ...base, principal: 'arn:aws:iam::111122223333:role/other' }],
    ['another cluster', 'who-did', { ...base, cluster: 'staging' }],
    ['another fixed window', 'who-did', { ...base, from: '2026-11-01T01:00:00Z' }],
    ['another fixed instant', 'access-at', { cluster: 'prod', at: '2026-10-01T00:00:00Z' }],
  ])('refuses a cursor resumed with %s', (_kind, question, raw) => {
    const first =
      question === 'access-at'
        ? params('access-at', { cluster: 'prod', at: '2026-11-01T00:00:00Z' })
        : params('who-did', { ...base, principal: 'arn:aws:iam::111122223333:role/dev' });
    const cursor = firstCursor(first);
    const again = { ...raw, cursor } as Record<string, string>;
    if (question === 'who-did' && !('principal' in raw)) again.principal = 'arn:aws:iam::111122223333:role/dev';
    let thrown: unknown;
    try {
      resumeQuestion(params(question, again));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(QueryParamError);
    expect((thrown as QueryParamError).param).toBe('cursor');
  });
});
