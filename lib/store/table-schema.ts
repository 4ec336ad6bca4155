import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The one table of the product (single-table design, docs/data-model.md). The CDK stack builds the
 * real table from TABLE_SCHEMA, tests and local mode from createTableInput(); both read the same
 * constant so the deployed table and the test table cannot drift.
 *
 * Every GSI is overloaded (several item classes write different key prefixes into the same
 * gsiNpk/gsiNsk pair) and KEYS_ONLY: a KEYS_ONLY index entry stays far under 1 KB, so each index a
 * chain appears in costs exactly one write unit; readers resolve the keys with BatchGetItem, which is
 * cheap because compliance queries are rare next to the ingest write rate.
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
 * Index roles (see docs/data-model.md for every access pattern):
 *  - gsi1 time:      chains by cluster+hour (sharded), mapping changes by cluster+time, quarantine by day, cluster registry
 *  - gsi2 principal: chains by canonical principal (fleet-wide), mapping changes by cluster+principal, quarantine by code
 *  - gsi3 human:     chains by human, mapping changes by actor
 *  - gsi4 k8s user:  chains by cluster+Kubernetes username
 *  - gsi5 namespace: chains by cluster+namespace
 *  - gsi6 object:    chains by cluster+resource kind (then namespace/name in the sort key)
 *  - gsi7 denials:   sparse: denied / failed-authentication chains by cluster+day
 *  - gsi8 pending:   sparse: chains by access key while their human link still awaits the AssumeRole* event
 */
export const TABLE_SCHEMA: TableSchema = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [gsi(1), gsi(2), gsi(3), gsi(4), gsi(5), gsi(6), gsi(7), gsi(8)],
  timeToLiveAttribute: 'expiresAt',
};

/** Index names as constants, so code never spells them twice. */
export const INDEX = {
  time: 'gsi1',
  principal: 'gsi2',
  human: 'gsi3',
  k8sUser: 'gsi4',
  namespace: 'gsi5',
  object: 'gsi6',
  denials: 'gsi7',
  pending: 'gsi8',
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
