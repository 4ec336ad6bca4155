import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsoleAssets } from '../lib/console/server.js';

/**
 * The console's web assets: one esbuild bundle of console/src (React, React Flow, wouter, the app) and
 * its CSS, plus the page. Built from source at start when esbuild is installed (a checkout after
 * `npm ci`, about a third of a second); a packed copy of the package carries console/dist, written by
 * `npm run console:build` (prepack). Nothing is fetched at run time.
 */

/**
 * This folder. Bundled into the CLI (dist/), this module no longer sits in it: the package's own folder
 * is then the nearest one above whose package.json names the package.
 */
const consoleDir = (): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && /"name":\s*"eks-access-trail"/.test(readFileSync(manifest, 'utf8'))) {
      return join(dir, 'console');
    }
  }
  return here;
};

export const CONSOLE_DIR = consoleDir();
export const DIST_DIR = join(CONSOLE_DIR, 'dist');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>eks-trail console</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<noscript>The eks-trail console needs JavaScript; the CLI answers the same questions (eks-trail help).</noscript>
<div id="root"></div>
</body>
</html>
`;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json',
};

const typeOf = (path: string): string => TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';

export interface BuildResult {
  assets: ConsoleAssets;
  /** Bytes per output file, for the size report. */
  sizes: Record<string, number>;
}

/** Bundle console/src in memory. */
export const buildConsoleAssets = async (opts: { minify?: boolean } = {}): Promise<BuildResult> => {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: { app: join(CONSOLE_DIR, 'src/main.tsx') },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    outdir: join(CONSOLE_DIR, 'dist/assets'),
    jsx: 'automatic',
    minify: opts.minify ?? true,
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const assets: ConsoleAssets = new Map();
  const sizes: Record<string, number> = {};
  for (const f of out.outputFiles) {
    const path = `/assets/${relative(join(CONSOLE_DIR, 'dist/assets'), f.path)}`;
    assets.set(path, { contentType: typeOf(path), body: f.contents });
    sizes[path] = f.contents.byteLength;
  }
  assets.set('/index.html', { contentType: typeOf('.html'), body: PAGE });
  sizes['/index.html'] = Buffer.byteLength(PAGE);
  return { assets, sizes };
};

/** Assets from console/dist (a packed copy). */
export const readDistAssets = (dir = DIST_DIR): ConsoleAssets | undefined => {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const assets: ConsoleAssets = new Map();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else assets.set(`/${relative(dir, p).split('\\').join('/')}`, { contentType: typeOf(p), body: readFileSync(p) });
    }
  };
  walk(dir);
  return assets;
};

/** Source build when esbuild and console/src are present, else console/dist. */
export const loadConsoleAssets = async (): Promise<ConsoleAssets> => {
  if (existsSync(join(CONSOLE_DIR, 'src/main.tsx'))) {
    try {
      return (await buildConsoleAssets()).assets;
    } catch (e) {
      const dist = readDistAssets();
      if (dist) return dist;
      throw new Error(`console assets: cannot build console/src (${(e as Error).message}) and console/dist is absent`, {
        cause: e,
      });
    }
  }
  const dist = readDistAssets();
  if (!dist) throw new Error('console assets: console/dist is absent (run npm run console:build)');
  return dist;
};

/** `npm run console:build`: write console/dist. */
export const writeDist = async (): Promise<Record<string, number>> => {
  const { assets, sizes } = await buildConsoleAssets();
  rmSync(DIST_DIR, { recursive: true, force: true });
  for (const [path, a] of assets) {
    const file = join(DIST_DIR, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, a.body);
  }
  return sizes;
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sizes = await writeDist();
  for (const [p, n] of Object.entries(sizes)) process.stdout.write(`${p}  ${n} bytes\n`);
}
