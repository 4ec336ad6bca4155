import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_HEADER, checkRequest, cookieName, type GuardRequest } from '../../lib/console/guard.js';

const TOKEN = 'tok-3f9a1c';
const PORT = 40123;
const cfg = { token: TOKEN, port: PORT };
const HOST = `127.0.0.1:${PORT}`;
const cookie = `${cookieName(PORT)}=${TOKEN}`;

const req = (url: string, headers: GuardRequest['headers'] = {}, method = 'GET'): GuardRequest => ({
  method,
  url,
  headers: { host: HOST, ...headers },
});

describe('checkRequest refuses, by failure kind', () => {
  it.each([
    [
      'a rebound host name (DNS rebinding)',
      req('/search', { host: `attacker.example:${PORT}`, cookie }),
      403,
      'HOST_REFUSED',
    ],
    ['this address on another port', req('/search', { host: '127.0.0.1:1', cookie }), 403, 'HOST_REFUSED'],
    ['no Host header', { method: 'GET', url: '/', headers: { cookie } }, 403, 'HOST_REFUSED'],
    ['a request target that is no URL', req('http://[', { cookie }), 400, 'BAD_REQUEST'],
    ['a write method', req('/api/info', { cookie, [API_HEADER]: '1' }, 'POST'), 405, 'METHOD_REFUSED'],
    ['a CORS preflight', req('/api/info', { cookie }, 'OPTIONS'), 405, 'METHOD_REFUSED'],
    ['a page without the token', req('/search'), 401, 'TOKEN_MISSING'],
    ['the API without the token', req('/api/info', { [API_HEADER]: '1' }), 401, 'TOKEN_MISSING'],
    ['a wrong token in the URL', req('/?token=guess'), 401, 'TOKEN_INVALID'],
    ['a wrong token in the cookie', req('/search', { cookie: `${cookieName(PORT)}=guess` }), 401, 'TOKEN_INVALID'],
    [
      "another run's cookie (other port)",
      req('/search', { cookie: `${cookieName(PORT + 1)}=${TOKEN}` }),
      401,
      'TOKEN_MISSING',
    ],
    ['a wrong bearer token', req('/api/info', { authorization: 'Bearer guess' }), 401, 'TOKEN_INVALID'],
    ['the API without its header (cross-site form or image)', req('/api/info', { cookie }), 403, 'API_HEADER_MISSING'],
    [
      'the API from another site',
      req('/api/info', { cookie, [API_HEADER]: '1', 'sec-fetch-site': 'cross-site' }),
      403,
      'CROSS_SITE_REFUSED',
    ],
    [
      'the API with a foreign Origin',
      req('/api/info', { cookie, [API_HEADER]: '1', origin: 'http://attacker.example' }),
      403,
      'CROSS_SITE_REFUSED',
    ],
    [
      'a token offered to the API in the URL',
      req(`/api/info?token=${TOKEN}`, { [API_HEADER]: '1' }),
      401,
      'TOKEN_MISSING',
    ],
  ])('%s', (_kind, r, status, code) => {
    const d = checkRequest(r, cfg);
    expect(d).toMatchObject({ kind: 'refuse', status, code });
  });
});

describe('checkRequest lets the console through', () => {
  it('trades the printed token for an HttpOnly cookie and redirects to the same view without it', () => {
    const d = checkRequest(req(`/request?cluster=c&token=${TOKEN}&audit-id=a`), cfg);
    expect(d).toEqual({
      kind: 'redirect',
      location: '/request?cluster=c&audit-id=a',
      setCookie: `${cookieName(PORT)}=${TOKEN}; HttpOnly; SameSite=Lax; Path=/`,
    });
  });

  it.each([
    ['a page with the cookie', req('/mappings?cluster=c', { cookie: `other=1; ${cookie}` })],
    [
      'a page opened from a ticket link (cross-site navigation)',
      req('/search', { cookie, 'sec-fetch-site': 'cross-site' }),
    ],
    ['localhost as the host', req('/search', { cookie, host: `localhost:${PORT}` })],
    [
      'the API from its own page',
      req('/api/info', { cookie, [API_HEADER]: '1', 'sec-fetch-site': 'same-origin', origin: `http://${HOST}` }),
    ],
    ['the API from a script with the bearer token', req('/api/info', { authorization: `Bearer ${TOKEN}` })],
  ])('%s', (_kind, r) => {
    expect(checkRequest(r, cfg).kind).toBe('allow');
  });
});

describe('checkRequest never throws', () => {
  it('on arbitrary URLs, methods and headers', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.dictionary(fc.constantFrom('cookie', 'origin', 'authorization', 'sec-fetch-site', API_HEADER), fc.string()),
        fc.oneof(fc.constant(HOST), fc.string()),
        (url, method, headers, host) => {
          const d = checkRequest(
            { method: method.length % 2 ? 'GET' : method, url, headers: { ...headers, host } },
            cfg,
          );
          expect(['allow', 'redirect', 'refuse']).toContain(d.kind);
        },
      ),
    );
  });
});
