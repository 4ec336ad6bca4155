import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The one table of the product (single-table design, docs/data-model.md). The CDK stack builds the
 * real table from TABLE_SCHEMA, tests and local mode from createTableInput(); both read the same
 * constant so the deployed table and the test table cannot drift.
 *
 * Both GSIs are overloaded (several item classes write different key prefixes into the same
 * gsiNpk/gsiNsk pair) and KEYS_ONLY: readers resolve the keys with BatchGetItem.
 */
export type KeyType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  name: string;
  type: KeyType;
}

export type Projection = 'ALL' | 'KEYS_ONLY' | { include: string[] };

export interface GlobalSecondaryIndexSchema {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
  projection: Projection;
}

export interface TableSchema {
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
  globalSecondaryIndexes: GlobalSecondaryIndexSchema[];
  timeToLiveAttribute: string;
}

const gsi = (n: number): GlobalSecondaryIndexSchema => ({
  indexName: `gsi${n}`,
  partitionKey: { name: `gsi${n}pk`, type: 'S' },
  sortKey: { name: `gsi${n}sk`, type: 'S' },
  projection: 'KEYS_ONLY',
});

/**
 * Index roles (docs/data-model.md lists every access pattern). Requests are not in any index: their
 * segments and postings are base-table items keyed for the questions (lib/store/keys.ts). The two
 * indexes serve the low-volume item classes only:
 *  - gsi1: cluster registry (`REG`), quarantine by day (`QD#…`), alerts by cluster, mapping usage by cluster,
 *    issuances to pods by role (`WLR#…`)
 *  - gsi2: quarantine by code (`QC#…`), issuances by the caller's access key (`CALLER#…`), Pod Identity
 *    issuances by pod (`WLP#…`)
 */
export const TABLE_SCHEMA: TableSchema = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [gsi(1), gsi(2)],
  timeToLiveAttribute: 'expiresAt',
};

/** Index names as constants, so code never spells them twice. */
export const INDEX = {
  gsi1: 'gsi1',
  gsi2: 'gsi2',
} as const;

export type IndexName = (typeof INDEX)[keyof typeof INDEX];

const projectionOf = (p: Projection) =>
  p === 'ALL' || p === 'KEYS_ONLY'
    ? { ProjectionType: p }
    : { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...p.include] };

/** CreateTable input (on-demand) for tests and local mode; the CDK stack builds the same shape itself. */
export const createTableInput = (tableName: string): CreateTableCommandInput => {
  const attrs = new Map<string, KeyType>();
  const add = (a: KeyAttribute) => attrs.set(a.name, a.type);
  add(TABLE_SCHEMA.partitionKey);
  add(TABLE_SCHEMA.sortKey);
  for (const g of TABLE_SCHEMA.globalSecondaryIndexes) {
    add(g.partitionKey);
    add(g.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: [
      { AttributeName: TABLE_SCHEMA.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: TABLE_SCHEMA.sortKey.name, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_SCHEMA.globalSecondaryIndexes.map((g) => ({
      IndexName: g.indexName,
      KeySchema: [
        { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: projectionOf(g.projection),
    })),
  };
};
