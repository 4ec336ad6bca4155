import { type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';

/**
 * Every item of a table in raw attribute-value form, sorted by key, for byte-for-byte comparisons.
 * A TEST-ONLY Scan: pass a client that is not the one whose commands are being counted.
 */
export const dumpTable = async (client: DynamoDBClient, tableName: string): Promise<string[]> => {
  const out: string[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
    for (const item of page.Items ?? []) {
      const sorted = Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      out.push(JSON.stringify(sorted, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)));
    }
  }
  return out.sort();
};
