import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleApi } from './api.js';
import type { ConsoleBackend } from './backend.js';
import { checkRequest } from './guard.js';

/**
 * The console's HTTP server: loopback only, every request through the guard (lib/console/guard.ts),
 * the app's static assets and the JSON API. The views are client-side routes, so any view path serves
 * the same page and a pasted URL opens that view.
 */

export interface ConsoleAsset {
  contentType: string;
  body: Uint8Array | string;
}

/** Asset path (`/assets/app.js`) -> content; `/index.html` is the page every view path serves. */
export type ConsoleAssets = Map<string, ConsoleAsset>;

export const VIEW_PATHS = ['/', '/search', '/request', '/mappings', '/access', '/alerts'];

export interface ConsoleServerOptions {
  backend: ConsoleBackend;
  assets: ConsoleAssets;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Fixed token for tests; a fresh random one otherwise. */
  token?: string;
  now?: () => number;
  /** One line per API failure that is not the caller's fault (500). */
  log?: (line: string) => void;
}

export interface ConsoleServer {
  port: number;
  token: string;
  /** The URL to open: carries the token once. */
  url: string;
  close(): Promise<void>;
}

/** The address the console listens on; never a wildcard or another interface. */
export const CONSOLE_HOST = '127.0.0.1';

const SECURITY_HEADERS: Record<string, string> = {
  // The bundle is served from here and nothing else is loaded; styles set through the DOM by the
  // graph library are style properties, which 'self' does not restrict.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const send = (
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Uint8Array,
  head: boolean,
): void => {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(head ? undefined : body);
};

const refusalPage = (status: number, code: string, message: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>eks-trail console: ${status}</title></head>` +
  `<body><main><h1>eks-trail console: access refused</h1><p id="refusal" data-code="${code}">${message
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')}</p></main></body></html>`;

export const startConsoleServer = async (o: ConsoleServerOptions): Promise<ConsoleServer> => {
  const token = o.token ?? randomBytes(32).toString('base64url');
  const now = o.now ?? Date.now;
  let port = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    const d = checkRequest({ method: req.method ?? '', url: req.url ?? '/', headers: req.headers }, { token, port });
    if (d.kind === 'refuse') {
      const isApi = (req.url ?? '').startsWith('/api');
      if (isApi) {
        send(
          res,
          d.status,
          { 'content-type': 'application/json', 'cache-control': 'no-store' },
          JSON.stringify({ error: { code: d.code, message: d.message } }),
          head,
        );
      } else {
        send(
          res,
          d.status,
          { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
          refusalPage(d.status, d.code, d.message),
          head,
        );
      }
      return;
    }
    if (d.kind === 'redirect') {
      send(res, 303, { location: d.location, 'set-cookie': d.setCookie, 'cache-control': 'no-store' }, '', head);
      return;
    }
    if (d.path.startsWith('/api/') || d.path === '/api') {
      const r = await handleApi(d.path, d.query, o.backend, now());
      if (r.status >= 500) o.log?.(`console API ${d.path}: ${JSON.stringify(r.body)}`);
      send(
        res,
        r.status,
        { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
        JSON.stringify(r.body),
        head,
      );
      return;
    }
    if (d.path === '/favicon.ico') {
      send(res, 204, {}, '', head);
      return;
    }
    const asset = VIEW_PATHS.includes(d.path) ? o.assets.get('/index.html') : o.assets.get(d.path);
    if (!asset) {
      send(res, 404, { 'content-type': 'text/plain; charset=utf-8' }, `no such page: ${d.path}\n`, head);
      return;
    }
    send(res, 200, { 'content-type': asset.contentType, 'cache-control': 'no-store' }, asset.body, head);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      o.log?.(`console: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain' }, 'internal error\n', false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, CONSOLE_HOST, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    port,
    token,
    url: `http://${CONSOLE_HOST}:${port}/?token=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
