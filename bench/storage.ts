import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { localClient } from '../lib/local/engine.js';
import { TABLE_SCHEMA } from '../lib/store/table-schema.js';
import { type ItemClass, itemClassOf } from './item-classes.js';
import { attributeValueSize } from './write-units.js';

/**
 * What the table holds once ingestion is over, sized as DynamoDB bills storage: each item's size
 * (attribute names + values, the rule bench/write-units.ts applies to writes) plus 100 bytes of
 * overhead per item, and per entry of each KEYS_ONLY global secondary index the table keys + the index
 * keys + 100 bytes.
 *
 * Read with a Scan through a client of its own, opened on the engine's endpoint: a measurement of the
 * final state, not a product read (the product's clients are the ones whose commands are counted).
 */

/** Storage overhead DynamoDB adds per item and per index entry. */
export const ITEM_OVERHEAD_BYTES = 100;

export interface ClassStorage {
  items: number;
  /** Item bytes, without overhead. */
  itemBytes: number;
  indexEntries: number;
  /** Index entry bytes (keys + 100 each). */
  indexBytes: number;
  /** itemBytes + 100 per item + indexBytes. */
  totalBytes: number;
}

export interface StorageReport extends ClassStorage {
  byClass: Partial<Record<ItemClass, ClassStorage>>;
}

const emptyClass = (): ClassStorage => ({ items: 0, itemBytes: 0, indexEntries: 0, indexBytes: 0, totalBytes: 0 });

const stringOf = (v: AttributeValue | undefined): string | undefined => (v && 'S' in v ? v.S : undefined);

const nameBytes = (name: string) => Buffer.byteLength(name, 'utf8');

/** Sizes one item (as the low-level client returns it) into `into`. */
export const addItem = (into: StorageReport, item: Record<string, AttributeValue>): void => {
  const cls = itemClassOf(stringOf(item[TABLE_SCHEMA.partitionKey.name]), stringOf(item[TABLE_SCHEMA.sortKey.name]));
  let size = 0;
  for (const [name, v] of Object.entries(item))
    size += nameBytes(name) + attributeValueSize(v as unknown as Record<string, unknown>);
  const keyNames = [TABLE_SCHEMA.partitionKey.name, TABLE_SCHEMA.sortKey.name];
  const keySize = (names: string[]) =>
    names.reduce((n, k) => {
      const v = item[k];
      return v ? n + nameBytes(k) + attributeValueSize(v as unknown as Record<string, unknown>) : n;
    }, 0);
  let entries = 0;
  let entryBytes = 0;
  for (const g of TABLE_SCHEMA.globalSecondaryIndexes) {
    if (!item[g.partitionKey.name] || !item[g.sortKey.name]) continue;
    entries++;
    entryBytes += keySize(keyNames) + keySize([g.partitionKey.name, g.sortKey.name]) + ITEM_OVERHEAD_BYTES;
  }
  let c = into.byClass[cls];
  if (!c) {
    c = emptyClass();
    into.byClass[cls] = c;
  }
  for (const x of [into, c]) {
    x.items++;
    x.itemBytes += size;
    x.indexEntries += entries;
    x.indexBytes += entryBytes;
    x.totalBytes += size + ITEM_OVERHEAD_BYTES + entryBytes;
  }
};

/** Scans the whole table at `endpoint` (parallel segments) and sizes every item. */
export const measureStorage = async (endpoint: string, tableName: string, segments = 4): Promise<StorageReport> => {
  const client = localClient(endpoint);
  const report: StorageReport = { ...emptyClass(), byClass: {} };
  try {
    await Promise.all(
      Array.from({ length: segments }, async (_, segment) => {
        let start: Record<string, AttributeValue> | undefined;
        do {
          const res = await client.send(
            new ScanCommand({
              TableName: tableName,
              Segment: segment,
              TotalSegments: segments,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          for (const item of res.Items ?? []) addItem(report, item);
          start = res.LastEvaluatedKey;
        } while (start);
      }),
    );
  } finally {
    client.destroy();
  }
  return report;
};
