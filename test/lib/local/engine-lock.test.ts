import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEngineError, lockDataDir } from '../../../lib/local/engine.js';

const ROOT = resolve(__dirname, '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CHILD = join(ROOT, 'test/support/lock-child.ts');
const base = mkdtempSync(join(tmpdir(), 'eks-trail-lock-'));
let n = 0;
const freshDir = (): string => {
  const d = join(base, `d${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** The pid of a process that has exited: what a crashed run leaves in its lock file. */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid as number;
};

const lockNames = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('eks-trail.'))
    .sort();

describe('data-dir lock', () => {
  it('creates a lock file naming this process and removes it on release', () => {
    const dir = freshDir();
    const release = lockDataDir(dir);
    expect(lockNames(dir)).toEqual(['eks-trail.lock.1']);
    release();
    expect(lockNames(dir)).toEqual([]);
  });

  it.each([
    ['a lock generation', 'eks-trail.lock.3', 'eks-trail.lock.4'],
    ['the single lock file of earlier versions', 'eks-trail.pid', 'eks-trail.lock.1'],
  ])('takes over %s left by a crashed run, as the next generation', (_what, stale, taken) => {
    const dir = freshDir();
    writeFileSync(join(dir, stale), String(deadPid()));
    const release = lockDataDir(dir);
    expect(lockNames(dir)).toEqual([taken]);
    release();
  });

  it.each([
    ['a lock generation', 'eks-trail.lock.1'],
    ['the single lock file of earlier versions', 'eks-trail.pid'],
  ])('refuses a data dir whose %s names a live process', (_what, name) => {
    const dir = freshDir();
    const other: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(join(dir, name), String(other.pid));
      expect(() => lockDataDir(dir)).toThrow(LocalEngineError);
      expect(() => lockDataDir(dir)).toThrow(`in use by another eks-trail process (pid ${other.pid})`);
      expect(lockNames(dir)).toEqual([name]);
    } finally {
      other.kill();
    }
  });

  it('refuses to open one data dir twice in one process', () => {
    const dir = freshDir();
    const release = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow('already open in this process');
    release();
  });
});

interface RoundLine {
  round: number;
  result: 'acquired' | 'busy' | 'error';
  at?: number;
  releasedAt?: number;
  message?: string;
}

describe('concurrent takeovers of a stale lock', () => {
  // Separate processes (the lock is per pid), released at the same instant on every round: several
  // find the same stale lock at once. The property: never two holders at the same time, and no
  // contender fails with anything but a clear LocalEngineError.
  it('lets exactly one contender hold the lock at a time, round after round', async () => {
    const CONTENDERS = 5;
    const ROUNDS = 6;
    const HOLD_MS = 200;
    const dir = freshDir();
    const data = join(dir, 'data');
    mkdirSync(data);
    const lines: RoundLine[][] = Array.from({ length: CONTENDERS }, () => []);
    const waiters: (() => void)[] = [];
    const notify = () => {
      for (const w of waiters.splice(0)) w();
    };
    let ready = 0;
    const children = Array.from({ length: CONTENDERS }, (_, i) => {
      const child = spawn(TSX, [CHILD, dir, String(ROUNDS), String(HOLD_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const v = JSON.parse(line) as RoundLine & { ready?: boolean };
        if (v.ready) ready++;
        else lines[i]?.push(v);
        notify();
      });
      return child;
    });
    const exits = children.map((c) => new Promise<number | null>((ok) => c.on('exit', (code) => ok(code))));
    const until = async (cond: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error('contenders did not answer in time');
        await new Promise<void>((ok) => {
          waiters.push(ok);
          setTimeout(ok, 50);
        });
      }
    };
    try {
      await until(() => ready === CONTENDERS);
      for (let round = 0; round < ROUNDS; round++) {
        for (const f of lockNames(data)) rmSync(join(data, f), { force: true });
        // Odd rounds leave the lock file of an earlier version, even rounds a lock generation.
        writeFileSync(join(data, round % 2 ? 'eks-trail.pid' : `eks-trail.lock.${round + 1}`), String(deadPid()));
        writeFileSync(join(dir, `go.${round}`), '');
        await until(() => lines.every((l) => l.length > round));
        const results = lines.map((l) => l[round] as RoundLine);
        expect(results.filter((r) => r.result === 'error')).toEqual([]);
        const held = results.filter((r) => r.result === 'acquired').sort((a, b) => (a.at as number) - (b.at as number));
        expect(held.length).toBeGreaterThanOrEqual(1);
        for (let k = 1; k < held.length; k++) {
          expect(held[k]?.at as number).toBeGreaterThanOrEqual(held[k - 1]?.releasedAt as number);
        }
        for (const r of results.filter((x) => x.result === 'busy')) expect(r.message).toMatch(/in use|keep taking/);
      }
      expect(await Promise.all(exits)).toEqual(Array(CONTENDERS).fill(0));
      expect(lockNames(data)).toEqual([]);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill();
    }
  }, 120_000);
});
