import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type CommandCounter, countCommands } from '../../lib/store/command-counter.js';
import { DynamoDbTrailStore, type DynamoDbTrailStoreOptions } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from './engine.js';
import { dumpTable } from './table-dump.js';

/**
 * One engine per test file, a fresh table per harness: the store under test runs on its own client
 * (with a command counter), and table dumps use another client so their Scan is never counted.
 */
export interface StoreHarness {
  engine: Engine;
  tableName: string;
  client: DynamoDBClient;
  store: DynamoDbTrailStore;
  counter: CommandCounter;
  dump(): Promise<string[]>;
  /** Another store on the same table with its own client (for fault injection). */
  storeWith(client: DynamoDBClient, options?: Partial<DynamoDbTrailStoreOptions>): DynamoDbTrailStore;
}

export const NOW = Date.parse('2024-08-25T00:00:00Z');

export const noSleep = async () => {};

export const startStoreHarness = async (
  engine?: Engine,
  options: Partial<DynamoDbTrailStoreOptions> = {},
): Promise<StoreHarness> => {
  const e = engine ?? (await startEngine());
  const tableName = await createTestTable(e.client);
  const client = e.newClient();
  const counter = countCommands(client);
  const make = (c: DynamoDBClient, o: Partial<DynamoDbTrailStoreOptions> = {}) =>
    new DynamoDbTrailStore(c, { tableName, now: () => NOW, retry: { sleep: noSleep }, ...options, ...o });
  return {
    engine: e,
    tableName,
    client,
    store: make(client),
    counter,
    dump: () => dumpTable(e.client, tableName),
    storeWith: make,
  };
};
