import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Lock files: `eks-trail.lock.<generation>`, each holding the pid of its holder. */
const LOCK_PREFIX = 'eks-trail.lock.';
/** The single lock file of earlier versions, read as generation 0 so an old leftover is still honoured. */
const LEGACY_LOCK_FILE = 'eks-trail.pid';

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

interface LockFile {
  name: string;
  generation: number;
}

const lockFiles = (dataDir: string): LockFile[] =>
  readdirSync(dataDir)
    .flatMap((name): LockFile[] => {
      if (name === LEGACY_LOCK_FILE) return [{ name, generation: 0 }];
      const m = /^eks-trail\.lock\.(\d{1,15})$/.exec(name);
      return m ? [{ name, generation: Number(m[1]) }] : [];
    })
    .sort((a, b) => a.generation - b.generation);

/** The pid of a lock's holder when that process still runs (and is not this one), else undefined. */
const liveHolder = (dataDir: string, f: LockFile): number | undefined => {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, f.name), 'utf8').trim());
  } catch {
    return undefined; // released meanwhile
  }
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid) ? pid : undefined;
};

const inUse = (dataDir: string, pid: number) =>
  new LocalEngineError(`data dir ${dataDir} is in use by another eks-trail process (pid ${pid})`);

/**
 * LevelDB allows one process per folder, and dynalite reports a second opener with an uncaught error
 * from deep inside its callbacks; take our own pid lock first so the user gets a clear message.
 */
const openedHere = new Set<string>();

/**
 * Lock a data dir for this process; returns the release function. Throws LocalEngineError when
 * another live process holds it.
 *
 * A lock left by a crashed run must be taken over, and two runs may find the same stale lock at
 * once. Deleting it and creating a new one is a race: the slower run deletes the lock the faster one
 * just took, and both open LevelDB. So a takeover never deletes the lock it judges stale: it creates
 * the next generation, `eks-trail.lock.<n+1>`, by hard-linking a file that already holds its pid
 * (atomic: the name appears with its content, and only one run can create it). The run that created a
 * generation then checks that no later generation has a live holder (a run that judged an older state
 * backs off), and only then removes the generations below its own, whose holders are all gone.
 */
export const lockDataDir = (dataDir: string): (() => void) => {
  if (openedHere.has(dataDir)) throw new LocalEngineError(`data dir ${dataDir} is already open in this process`);
  const draft = join(dataDir, `${LOCK_PREFIX}draft.${process.pid}.${randomUUID()}`);
  try {
    writeFileSync(draft, String(process.pid), { flag: 'wx' });
  } catch (cause) {
    throw new LocalEngineError(`cannot lock data dir ${dataDir}`, { cause });
  }
  try {
    for (let attempt = 0; attempt < 16; attempt++) {
      const files = lockFiles(dataDir);
      for (const f of files) {
        const pid = liveHolder(dataDir, f);
        if (pid !== undefined) throw inUse(dataDir, pid);
      }
      const generation = (files.at(-1)?.generation ?? 0) + 1;
      const path = join(dataDir, `${LOCK_PREFIX}${generation}`);
      try {
        linkSync(draft, path);
      } catch (err) {
        // Another run created this generation first: look again.
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new LocalEngineError(`cannot lock data dir ${dataDir}`, { cause: err });
      }
      const after = lockFiles(dataDir);
      for (const f of after) {
        const pid = f.generation > generation ? liveHolder(dataDir, f) : undefined;
        if (pid !== undefined) {
          rmSync(path, { force: true });
          throw inUse(dataDir, pid);
        }
      }
      for (const f of after) if (f.generation < generation) rmSync(join(dataDir, f.name), { force: true });
      openedHere.add(dataDir);
      return () => {
        openedHere.delete(dataDir);
        rmSync(path, { force: true });
      };
    }
    throw new LocalEngineError(`cannot lock data dir ${dataDir}: other runs keep taking it`);
  } finally {
    rmSync(draft, { force: true });
  }
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
  const release = dataDir ? lockDataDir(dataDir) : () => {};
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
