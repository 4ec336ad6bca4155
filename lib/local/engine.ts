import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import dynalite from 'dynalite';
import { createTableInput } from '../store/table-schema.js';

/**
 * Local mode: the embedded DynamoDB engine (dynalite, LevelDB on disk) that the CLI runs the product
 * against. Same table schema, same store and ingest code as the Lambdas (docs/design.md, principle 5): only
 * the endpoint differs.
 */

export const DEFAULT_DATA_DIR = '.eks-trail';
export const LOCAL_TABLE_NAME = 'eks-trail';

export class LocalEngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalEngineError';
  }
}

export interface LocalEngine {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  client: DynamoDBClient;
  tableName: string;
  /** Absolute path of the LevelDB folder, or undefined when in memory. */
  dataDir?: string;
  stop(): Promise<void>;
}

export interface LocalEngineOptions {
  /** Folder holding the LevelDB files; created if missing. Omit with `inMemory` for throwaway runs. */
  dataDir?: string;
  inMemory?: boolean;
  tableName?: string;
}

interface DynaliteServer {
  listen(port: number, host: string, cb: (err?: Error) => void): void;
  address(): AddressInfo | string | null;
  close(cb: (err?: Error) => void): void;
  once(event: 'error', cb: (err: Error) => void): void;
}

/** A client for an engine on loopback: dummy credentials (dynalite checks none), HTTP/1.1. */
export const localClient = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 }),
    maxAttempts: 3,
  });

/** Create the trail table when it does not exist yet (first run in a data dir). */
export const ensureTable = async (client: DynamoDBClient, tableName: string): Promise<'created' | 'existing'> => {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return 'existing';
  } catch (err) {
    if (
      !(err instanceof ResourceNotFoundException) &&
      (err as { name?: string }).name !== 'ResourceNotFoundException'
    ) {
      throw err;
    }
  }
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  // dynalite is started with createTableMs 0, so the table is ACTIVE at once; poll briefly anyway.
  for (let i = 0; i < 50; i++) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === 'ACTIVE') return 'created';
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new LocalEngineError(`table ${tableName} did not become ACTIVE`);
};

const LOCK_FILE = 'eks-trail.pid';

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * LevelDB allows one process per folder, and dynalite reports a second opener with an uncaught error
 * from deep inside its callbacks; take our own pid lock first so the user gets a clear message.
 */
const openedHere = new Set<string>();

const acquireLock = (dataDir: string): (() => void) => {
  const path = join(dataDir, LOCK_FILE);
  if (openedHere.has(dataDir)) throw new LocalEngineError(`data dir ${dataDir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      openedHere.add(dataDir);
      return () => {
        openedHere.delete(dataDir);
        rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LocalEngineError(`cannot lock data dir ${dataDir}`, { cause: err });
      }
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new LocalEngineError(`data dir ${dataDir} is in use by another eks-trail process (pid ${pid})`);
      }
      // Stale lock from a crashed run: take it over.
      rmSync(path, { force: true });
    }
  }
  throw new LocalEngineError(`cannot lock data dir ${dataDir}`);
};

export const startLocalEngine = async (opts: LocalEngineOptions = {}): Promise<LocalEngine> => {
  const tableName = opts.tableName ?? LOCAL_TABLE_NAME;
  let dataDir: string | undefined;
  if (!opts.inMemory) {
    dataDir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (cause) {
      throw new LocalEngineError(`cannot create data dir ${dataDir}`, { cause });
    }
  }
  const release = dataDir ? acquireLock(dataDir) : () => {};
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(dataDir ? { path: dataDir } : {}),
  }) as DynaliteServer;
  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    // Port 0: the OS picks a free port (the dynalite CLI cannot do this, the library can).
    server.listen(0, '127.0.0.1', (err?: Error) => (err ? ko(err) : ok()));
  }).catch((cause) => {
    release();
    throw new LocalEngineError('cannot start the embedded DynamoDB engine', { cause });
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new LocalEngineError('embedded engine has no TCP address');
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const client = localClient(endpoint);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    client.destroy();
    // Closing the server also closes LevelDB, releasing its LOCK file for the next run.
    await new Promise<void>((ok) => server.close(() => ok()));
    release();
  };
  try {
    await ensureTable(client, tableName);
  } catch (cause) {
    await stop();
    const msg = String((cause as Error)?.message ?? cause);
    throw new LocalEngineError(`cannot open the trail table in ${dataDir ?? 'memory'}: ${msg}`, { cause });
  }
  const engine: LocalEngine = { endpoint, client, tableName, stop };
  if (dataDir) engine.dataDir = dataDir;
  return engine;
};
