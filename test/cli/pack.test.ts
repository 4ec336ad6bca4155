import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it: `npm pack` (prepack bundles the CLI), installed into an empty folder
 * without dev dependencies, then run from there: `--help`, and a question on the bundled samples
 * replayed into a data dir. Nothing of the checkout is used at run time.
 */

const ROOT = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'eks-trail-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sh = (cmd: string, args: string[], cwd: string) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, CI: 'true' } });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
};

describe('npm pack', () => {
  it('gives a package that installs without dev dependencies and answers from its own samples', {
    timeout: 240_000,
  }, () => {
    const pack = sh('npm', ['pack', '--silent', '--pack-destination', work], ROOT);
    expect(pack.code, pack.err).toBe(0);
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tgz).toBeDefined();

    const app = join(work, 'app');
    sh('mkdir', ['-p', app], work);
    writeFileSync(join(app, 'package.json'), '{"name":"pack-test","version":"1.0.0","private":true}\n');
    const install = sh(
      'npm',
      ['install', join(work, tgz as string), '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'],
      app,
    );
    expect(install.code, install.err).toBe(0);
    // Dev dependencies are not there, and the CLI needs none of them.
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest']) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    }

    const bin = join(app, 'node_modules/.bin/eks-trail');
    const help = sh(bin, ['--help'], app);
    expect(help.code, help.err).toBe(0);
    expect(help.out).toContain('usage: eks-trail <command> [options]');

    const samples = join(app, 'node_modules/eks-access-trail/samples');
    // The scenario's data folders: its README and ground truth are no export shape, and replay refuses them.
    const data = ['cloudtrail', 'aws-auth', 'logs'].map((d) => join(samples, d));
    const replay = sh(bin, ['replay', ...data, '--data-dir', 'trail'], app);
    expect(replay.code, replay.err).toBe(0);
    expect(replay.out).toContain('quarantined: 0');

    const who = sh(
      bin,
      [
        'who-did',
        '--data-dir',
        'trail',
        '--cluster',
        'payments-prod',
        '--human',
        'dmitri.smith@example.com',
        '--from',
        '2025-06-02T08:00:00Z',
        '--to',
        '2025-06-02T16:00:00Z',
        '--format',
        'json',
      ],
      app,
    );
    expect(who.code, who.err).toBe(0);
    const rows = (JSON.parse(who.out) as { rows: { human?: { identity: string } }[] }).rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.human?.identity))).toEqual(new Set(['dmitri.smith@example.com']));
  });
});
