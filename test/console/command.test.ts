import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `eks-trail console --demo` as an analyst starts it: a separate process that prints the URL to open. */
const ROOT = resolve(import.meta.dirname, '../..');
let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
});

const printedUrl = (p: ChildProcess): Promise<string> =>
  new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no URL printed; stdout so far: ${out}`)), 50_000);
    p.stdout?.on('data', (c) => {
      out += String(c);
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[0]);
      }
    });
    p.once('exit', (code) => reject(new Error(`exited ${code} before printing a URL: ${out}`)));
  });

describe('eks-trail console', () => {
  it('replays the samples, listens on 127.0.0.1 only, answers with the printed token and stops on SIGTERM', async () => {
    // Node with tsx as a loader, not the tsx CLI: the CLI relays SIGTERM to its child and, when the
    // child does not acknowledge within 30 ms (a loaded machine), kills it and exits 143 itself.
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/eks-trail.ts'), 'console', '--demo'], {
      cwd: ROOT,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'none',
        AWS_SECRET_ACCESS_KEY: 'none',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = new URL(await printedUrl(child));
    expect(url.hostname).toBe('127.0.0.1');
    const token = url.searchParams.get('token') as string;
    const api = `http://127.0.0.1:${url.port}/api/clusters`;
    expect((await fetch(api)).status).toBe(401);
    const res = await fetch(api, { headers: { authorization: `Bearer ${token}` } });
    expect(await res.json()).toEqual({ clusters: ['813088197977/checkout-stg', '888636335083/payments-prod'] });
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);

  it('refuses a port that is not a number, as a usage error', async () => {
    const p = spawn(
      join(ROOT, 'node_modules/.bin/tsx'),
      [join(ROOT, 'bin/eks-trail.ts'), 'console', '--port', 'http'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    p.stderr?.on('data', (c) => {
      err += String(c);
    });
    const code = await new Promise<number | null>((r) => p.once('exit', r));
    expect(code).toBe(2);
    expect(err).toContain('--port: "http" is not a port number');
  }, 60_000);
});
