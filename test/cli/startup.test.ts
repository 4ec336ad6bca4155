import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../bin/build.js';
import { BACKFILL_SOURCE_NAMES } from '../../bin/commands/backfill.js';
import { BACKFILL_SOURCES } from '../../lib/local/backfill.js';

/**
 * What the built CLI loads when it starts: the entry chunk and what it imports statically hold the
 * commands' specs and no AWS SDK, local engine or question code, which load only with the command that
 * needs them. (How long that takes is measured by `npm run cli:measure`, not asserted here.)
 */

const out = mkdtempSync(join(tmpdir(), 'eks-trail-dist-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Files the entry loads before it runs: its static imports, transitively. */
const staticGraph = (entry: string): { files: string[]; packages: string[] } => {
  const files = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  };
  walk(entry);
  return { files: [...files], packages: [...packages].sort() };
};

let graph: { files: string[]; packages: string[] };
beforeAll(async () => {
  await buildCli(out);
  graph = staticGraph(join(out, 'eks-trail.js'));
}, 60_000);

describe('the bundled CLI at start', () => {
  it('imports only Node built-ins statically', () => {
    expect(graph.packages.filter((p) => !p.startsWith('node:'))).toEqual([]);
  });

  it('holds no AWS SDK client, local engine or derivation code', () => {
    const text = graph.files.map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const marker of ['DynamoDBClient', 'startLocalEngine', 'correlateAuditEvent', 'SignatureV4']) {
      expect(text.includes(marker), marker).toBe(false);
    }
  });

  it('lists the backfill sources the backfill module knows, without loading it', () => {
    expect([...BACKFILL_SOURCE_NAMES]).toEqual([...BACKFILL_SOURCES]);
  });
});
