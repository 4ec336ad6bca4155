import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { localClient } from '../lib/local/engine.js';

/**
 * dynalite in its own process with LevelDB on disk: a million chains with their index entries do not
 * fit comfortably in the bench process's heap, and a separate process lets the engine use the second
 * core while the bench process simulates and correlates. Started as `node .../dynalite/cli.js` so the
 * pid held is the engine's own (`npx dynalite` leaves its child running when killed).
 */

export interface DynaliteProcess {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? ok(addr.port) : fail(new Error('no port'))));
    });
  });

export const startDynaliteProcess = async (root: string, dataDir: string): Promise<DynaliteProcess> => {
  // The dynalite CLI cannot pick a port itself (`--port 0` falls back to 4567), so pick one first.
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, 'node_modules/dynalite/cli.js'),
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--createTableMs',
      '0',
      '--deleteTableMs',
      '0',
      '--updateTableMs',
      '0',
      '--path',
      dataDir,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const probe = localClient(endpoint);
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`dynalite exited with ${child.exitCode}: ${stderr}`);
      try {
        await probe.send(new ListTablesCommand({}));
        break;
      } catch (err) {
        if (i > 100) throw new Error(`dynalite did not answer on ${endpoint}`, { cause: err });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    probe.destroy();
  }
  const pid = child.pid as number;
  return {
    endpoint,
    pid,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
};
