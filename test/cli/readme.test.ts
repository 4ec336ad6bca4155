import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../bin/cli/io.js';
import { main } from '../../bin/cli/main.js';

/**
 * After `npm run demo`, the README's example questions work as printed: the demo keeps its trail in
 * .eks-trail-demo/, and each `npx eks-trail …` line of "What it answers" runs against it and answers.
 */

const ROOT = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'eks-trail-readme-'));
const demoDir = join(work, '.eks-trail-demo');

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## What it answers'), readme.indexOf('Deployed, the pipeline'));
const examples = section
  .split('\n')
  .filter((l) => l.startsWith('npx eks-trail '))
  .map((l) => l.replace(/\s+#.*$/, '').trim());

const cli = async (argv: string[]) => {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: work,
    now: () => Date.parse('2025-07-01T00:00:00Z'),
    readStdin: async () => '',
  };
  return { code: await main(argv, io), out, err };
};

beforeAll(async () => {
  const demo = await cli(['demo', '--data-dir', demoDir]);
  expect(demo.code, demo.err).toBe(0);
  expect(demo.out).toContain(`$ eks-trail explain 05a4951e-5adf-43c2-8e34-28b591f7704d --cluster payments-prod`);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the README's examples, after the demo", () => {
  it('are there to run', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const e of examples) expect(e).toContain('--data-dir .eks-trail-demo');
  });

  it.each(examples.map((e) => [e]))('%s', async (line) => {
    const argv = line
      .slice('npx eks-trail '.length)
      .split(/\s+/)
      .map((a) => (a === '.eks-trail-demo' ? demoDir : a));
    const r = await cli(argv);
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toBe('(no rows)\n');
    expect(r.out.trim().length).toBeGreaterThan(0);
  });
});
