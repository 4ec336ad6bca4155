import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { type AttributeValue, type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { PENDING_PK_PREFIX } from '../../lib/store/keys.js';

/**
 * Every item of a table in raw attribute-value form, sorted by key, for byte-for-byte comparisons.
 * A TEST-ONLY Scan: pass a client that is not the one whose commands are being counted.
 *
 * Pending marks (`DP#…`, docs/tamper-evidence.md) are left out: they are the digest signer's
 * bookkeeping, not stored facts, and carry the time and a random nonce of the write that left them on
 * purpose, so a redelivery rewrites them with other bytes.
 */
export const dumpTable = async (client: DynamoDBClient, tableName: string): Promise<string[]> => {
  const out: string[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
    for (const item of page.Items ?? []) {
      if (item['pk']?.S?.startsWith(PENDING_PK_PREFIX)) continue;
      const sorted = Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      out.push(JSON.stringify(sorted, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)));
    }
  }
  return out.sort();
};

/**
 * Everything a table holds, as text a person (or a test looking for a leaked secret) can read: each
 * item as JSON, plus the decompressed content of its compressed attributes. Segment and authenticator
 * parts (`z`) are Brotli-compressed JSON lines cut into chunk items (lib/store/dynamodb/segment-codec.ts):
 * the chunks of one part (sort keys `<…>`, `<…>.1`, `<…>.2`) are joined before decompressing. Mapping
 * changes too large for an item keep their JSON gzip-compressed in `dz`. A TEST-ONLY Scan.
 */
export const dumpTableText = async (client: DynamoDBClient, tableName: string): Promise<string[]> => {
  const out: string[] = [];
  const parts = new Map<string, { chunk: number; z: Uint8Array }[]>();
  for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
    for (const item of page.Items ?? []) {
      if (item['pk']?.S?.startsWith(PENDING_PK_PREFIX)) continue;
      out.push(JSON.stringify(item, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)));
      const pk = item['pk']?.S ?? '';
      const sk = item['sk']?.S ?? '';
      const z: AttributeValue | undefined = item['z'];
      if (z?.B) {
        const m = /^(.*?)(?:\.(\d+))?$/.exec(sk) as RegExpExecArray;
        const key = `${pk}\u0000${m[1]}`;
        parts.set(key, [...(parts.get(key) ?? []), { chunk: Number(m[2] ?? 0), z: z.B }]);
      }
      const dz = item['dz']?.B;
      if (dz) out.push(gunzipSync(dz).toString('utf8'));
    }
  }
  for (const chunks of parts.values()) {
    const joined = Buffer.concat(chunks.sort((a, b) => a.chunk - b.chunk).map((c) => Buffer.from(c.z)));
    out.push(brotliDecompressSync(joined).toString('utf8'));
  }
  return out;
};
