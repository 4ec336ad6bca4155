import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import dynalite from 'dynalite';
import { vi } from 'vitest';
import { createTableInput } from '../../lib/store/table-schema.js';

/**
 * A real DynamoDB engine for storage tests: dynalite in process (default) or AWS's DynamoDB Local
 * (TEST_DDB_ENGINE=dynamodb-local, jar in DDB_LOCAL_DIR, default .local/dynamodb-local). Never a mock.
 */
export type EngineName = 'dynalite' | 'dynamodb-local';

export interface Engine {
  endpoint: string;
  client: DynamoDBClient;
  name: EngineName;
  /** A fresh client on the same engine (e.g. to add middleware without touching the shared one). */
  newClient(config?: { maxAttempts?: number }): DynamoDBClient;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';

export const clientFor = (endpoint: string, config: { maxAttempts?: number } = {}): DynamoDBClient =>
  new DynamoDBClient({
    endpoint,
    region: REGION,
    // Both engines accept any signature, but one must be present.
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    ...config,
  });

const freePort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? ok(addr.port) : fail(new Error('no port'))));
    });
  });

const startDynalite = async (): Promise<Engine> => {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('dynalite did not bind a port');
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const client = clientFor(endpoint);
  return {
    endpoint,
    client,
    name: 'dynalite',
    newClient: (config) => clientFor(endpoint, config),
    stop: async () => {
      client.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
};

const startDynamoDbLocal = async (): Promise<Engine> => {
  const dir = resolve(process.env.DDB_LOCAL_DIR ?? '.local/dynamodb-local');
  if (!existsSync(join(dir, 'DynamoDBLocal.jar'))) {
    throw new Error(`DynamoDB Local not found: ${join(dir, 'DynamoDBLocal.jar')} (set DDB_LOCAL_DIR)`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    [
      '-Djava.library.path=./DynamoDBLocal_lib',
      '-jar',
      'DynamoDBLocal.jar',
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // DDB_LOCAL_TELEMETRY=0 as well: -disableTelemetry alone still made a DNS lookup (TOOLCHAIN §4).
    { cwd: dir, env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4_000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = clientFor(endpoint, { maxAttempts: 1 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${stderr}`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer within 30 s: ${stderr}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.destroy();
  const shared = clientFor(endpoint);
  return {
    endpoint,
    client: shared,
    name: 'dynamodb-local',
    newClient: (config) => clientFor(endpoint, config),
    stop: async () => {
      shared.destroy();
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(
        () => child.pid !== undefined && child.exitCode === null && child.kill('SIGKILL'),
        5_000,
      );
      await exited;
      clearTimeout(timer);
    },
  };
};

export const engineName = (): EngineName =>
  process.env.TEST_DDB_ENGINE === 'dynamodb-local' ? 'dynamodb-local' : 'dynalite';

export const startEngine = async (): Promise<Engine> =>
  engineName() === 'dynamodb-local' ? startDynamoDbLocal() : startDynalite();

/** Creates a uniquely named trail table and waits until it is ACTIVE; returns its name. */
export const createTestTable = async (client: DynamoDBClient, prefix = 'trail'): Promise<string> => {
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  for (let i = 0; i < 100; i++) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (d.Table?.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE');
    if (d.Table?.TableStatus === 'ACTIVE' && indexesActive) return tableName;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
};

export const deleteTestTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
};

/**
 * The environment an ingest handler module reads at import (its cold start), aimed at the test
 * engine's table with dummy credentials; `extra` adds or overrides variables. Undo with
 * vi.unstubAllEnvs().
 */
export const stubHandlerEnv = (engine: Engine, tableName: string, extra: Record<string, string> = {}): void => {
  const env: Record<string, string> = {
    TABLE_NAME: tableName,
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111111111111:eks-access-trail-alerts',
    AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
};
