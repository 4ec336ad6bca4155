import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocalEngineError, lockDataDir } from '../../lib/local/engine.js';

/**
 * One contender of the data-dir lock race (test/lib/local/engine-lock.test.ts): a separate process,
 * because the lock is per process id. For each round it waits for the parent's `go.<round>` file,
 * tries to take the lock at once, holds it for a while and releases it, and prints what happened as
 * one JSON line. Polling the go file every 0.2 ms keeps the contenders within a millisecond of each other.
 */
const [dir, roundsText, holdText] = process.argv.slice(2) as [string, string, string];
const rounds = Number(roundsText);
const holdMs = Number(holdText);

// Synchronous sleeps of a fraction of a millisecond: a timer would spread the contenders over
// milliseconds, a bare busy loop would starve them of CPU on a small machine.
const pause = new Int32Array(new SharedArrayBuffer(4));
const spin = (until: () => boolean): void => {
  while (!until()) Atomics.wait(pause, 0, 0, 0.2);
};

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for (let round = 0; round < rounds; round++) {
  spin(() => existsSync(join(dir, `go.${round}`)));
  let line: Record<string, unknown>;
  try {
    const release = lockDataDir(join(dir, 'data'));
    const at = Date.now();
    const end = at + holdMs;
    spin(() => Date.now() >= end);
    const releasedAt = Date.now();
    release();
    line = { round, result: 'acquired', at, releasedAt };
  } catch (err) {
    line =
      err instanceof LocalEngineError
        ? { round, result: 'busy', message: err.message }
        : { round, result: 'error', message: String((err as Error)?.stack ?? err) };
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
