import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { storeBackend } from '../lib/console/backend.js';
import { startConsoleServer } from '../lib/console/server.js';
import { startLocalEngine } from '../lib/local/engine.js';
import { replayFiles } from '../lib/local/replay.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { buildConsoleAssets } from './build.js';
import { CHROMIUM, launchChromium } from './chromium.js';

/**
 * `npm run console:measure`: the bundle's size (raw and gzip) and the time from navigation to the
 * first render of each view with its data (the `console-ready` mark the views set), in headless
 * Chromium over the replayed sample scenario in local mode. Target: under 1 s.
 */

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

const { assets, sizes } = await buildConsoleAssets();
let total = 0;
let totalGz = 0;
process.stdout.write('bundle\n');
for (const [path, bytes] of Object.entries(sizes)) {
  const body = assets.get(path)?.body ?? '';
  const gz = gzipSync(typeof body === 'string' ? Buffer.from(body) : body).byteLength;
  if (!path.endsWith('.txt')) {
    total += bytes;
    totalGz += gz;
  }
  process.stdout.write(`  ${path.padEnd(28)} ${kb(bytes).padStart(10)}  gzip ${kb(gz).padStart(9)}\n`);
}
process.stdout.write(
  `  ${'total (page, JS, CSS)'.padEnd(28)} ${kb(total).padStart(10)}  gzip ${kb(totalGz).padStart(9)}\n`,
);

if (!existsSync(CHROMIUM)) {
  process.stdout.write(`first render: skipped, ${CHROMIUM} is absent (apt-get install -y chromium)\n`);
  process.exit(0);
}

const engine = await startLocalEngine({ inMemory: true });
const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
const summary = await replayFiles([resolve(import.meta.dirname, '../samples')], store, {
  now: Date.now,
  accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
});
const window = {
  from: new Date(summary.firstEventAt as number).toISOString(),
  to: new Date((summary.lastEventAt as number) + 1).toISOString(),
};
const server = await startConsoleServer({
  backend: storeBackend({
    mode: 'local',
    source: 'samples',
    store,
    usage: store.usage,
    defaultWindow: window,
  }),
  assets,
});
const browser = await launchChromium();
const views: [string, string][] = [
  ['search (first load, cold browser)', `/search?q=who-did&cluster=checkout-stg&from=${window.from}&to=${window.to}`],
  ['search', `/search?q=denied&cluster=checkout-stg&from=${window.from}&to=${window.to}`],
  ['request (chain graph)', '/request?cluster=checkout-stg&audit-id=e2aedda2-efa2-43e6-a855-0cf30f222464'],
  ['mappings (timeline)', '/mappings?cluster=payments-prod'],
  ['access at T', '/access?cluster=payments-prod&at=2025-06-02T12:00:00Z'],
  ['alerts and posture', '/alerts'],
];
process.stdout.write('first render with data (navigation start -> console-ready), local mode, sample scenario\n');
try {
  const page = await browser.context.newPage();
  await page.goto(server.url.replace('/?', `${views[0]?.[1]}&`));
  for (const [i, [name, path]] of views.entries()) {
    if (i > 0) await page.goto(`http://127.0.0.1:${server.port}${path}`);
    await page.waitForSelector('body[data-ready="true"]');
    const ms = await page.evaluate(() => performance.getEntriesByName('console-ready')[0]?.startTime ?? Number.NaN);
    // The answer's own time (the question layer over the store) is part of it: shown beside it.
    const api = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter(
          (e) => e.name.includes('/api/ask/') || e.name.includes('/api/request') || e.name.includes('/api/posture'),
        )
        .reduce((m, e) => Math.max(m, e.duration), 0),
    );
    process.stdout.write(
      `  ${name.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms   (slowest answer from the store: ${api.toFixed(0)} ms)\n`,
    );
  }
} finally {
  await browser.close();
  await server.close();
  await engine.stop();
}
