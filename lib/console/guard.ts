import { timingSafeEqual } from 'node:crypto';

/**
 * Who may talk to the local console. It binds to 127.0.0.1 only, but that alone does not keep other
 * web pages out: any site the analyst visits can make the browser send requests to 127.0.0.1, and a
 * DNS-rebinding site can even read the answers (its own host name then resolves to 127.0.0.1, so the
 * browser treats the console as same-origin with the attacker). Three checks close that:
 *
 *  - Host: the Host header must name the console itself (`127.0.0.1:<port>` or `localhost:<port>`).
 *    A rebound request carries the attacker's host name, so it is refused before anything else.
 *  - Token: a random per-run secret. The URL printed at start carries it once (`?token=`); the console
 *    trades it for an HttpOnly cookie and redirects to the same URL without it, so the links an analyst
 *    copies from the address bar into a ticket hold no secret. Every other request needs that cookie
 *    (or `Authorization: Bearer <token>` for scripts).
 *  - Cross-site: the JSON API also needs the header `X-Eks-Trail-Console`. A page of another origin
 *    cannot send a custom header without a CORS preflight, which the console never approves, and a
 *    request the browser marks as cross-site (`Sec-Fetch-Site`, `Origin`) is refused outright.
 *
 * Page navigations from another site (a link in a ticket) are let through when the cookie is present
 * (SameSite=Lax sends it on top-level GETs): the console is read-only, and the linking site cannot
 * read what the page shows.
 */

export const API_HEADER = 'x-eks-trail-console';

export interface GuardConfig {
  token: string;
  port: number;
}

export interface GuardRequest {
  method: string;
  /** Path and query as received (`req.url`). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export type GuardDecision =
  | { kind: 'allow'; path: string; query: URLSearchParams }
  | { kind: 'redirect'; location: string; setCookie: string }
  | { kind: 'refuse'; status: number; code: GuardRefusal; message: string };

export type GuardRefusal =
  | 'BAD_REQUEST'
  | 'HOST_REFUSED'
  | 'METHOD_REFUSED'
  | 'TOKEN_MISSING'
  | 'TOKEN_INVALID'
  | 'CROSS_SITE_REFUSED'
  | 'API_HEADER_MISSING';

/** Cookie names carry the port: browsers scope cookies by host name only, not by port. */
export const cookieName = (port: number): string => `eks_trail_console_${port}`;

const header = (h: GuardRequest['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

const sameSecret = (given: string, token: string): boolean => {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(token, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
};

const cookieValue = (cookieHeader: string | undefined, name: string): string | undefined => {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
};

/** The Host values that name this console; anything else is another site's name for this address. */
export const allowedHosts = (port: number): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];

const refuse = (status: number, code: GuardRefusal, message: string): GuardDecision => ({
  kind: 'refuse',
  status,
  code,
  message,
});

export const checkRequest = (req: GuardRequest, cfg: GuardConfig): GuardDecision => {
  const host = header(req.headers, 'host')?.toLowerCase();
  if (!host || !allowedHosts(cfg.port).includes(host)) {
    return refuse(403, 'HOST_REFUSED', `host "${host ?? ''}" is not this console (use http://127.0.0.1:${cfg.port}/)`);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return refuse(405, 'METHOD_REFUSED', `${req.method}: the console is read-only (GET only)`);
  }
  let url: URL;
  try {
    url = new URL(req.url, `http://${host}`);
  } catch {
    return refuse(400, 'BAD_REQUEST', 'the request target is not a URL');
  }
  const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/');
  const site = header(req.headers, 'sec-fetch-site');
  const origin = header(req.headers, 'origin');
  if (isApi) {
    if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && origin !== `http://${host}`)) {
      return refuse(403, 'CROSS_SITE_REFUSED', 'the console API answers its own pages only');
    }
  }
  const offered = url.searchParams.get('token');
  if (offered !== null && !isApi) {
    if (!sameSecret(offered, cfg.token)) {
      return refuse(401, 'TOKEN_INVALID', 'this token is not the one eks-trail console printed for this run');
    }
    url.searchParams.delete('token');
    const rest = url.searchParams.toString();
    return {
      kind: 'redirect',
      location: `${url.pathname}${rest ? `?${rest}` : ''}`,
      setCookie: `${cookieName(cfg.port)}=${cfg.token}; HttpOnly; SameSite=Lax; Path=/`,
    };
  }
  const auth = header(req.headers, 'authorization');
  const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
  const presented = bearer ?? cookieValue(header(req.headers, 'cookie'), cookieName(cfg.port));
  if (presented === undefined) {
    return refuse(401, 'TOKEN_MISSING', 'open the URL that eks-trail console printed (it carries the token)');
  }
  if (!sameSecret(presented, cfg.token)) {
    return refuse(401, 'TOKEN_INVALID', 'this token is not the one eks-trail console printed for this run');
  }
  if (isApi && bearer === undefined && header(req.headers, API_HEADER) === undefined) {
    return refuse(403, 'API_HEADER_MISSING', `the console API needs the ${API_HEADER} header`);
  }
  return { kind: 'allow', path: url.pathname, query: url.searchParams };
};
