import { createHash } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { coverageOf, HISTORY_BUCKET, ISSUANCE_SCOPE } from '../../integrity/coverage.js';
import { itemHash } from '../../integrity/item-hash.js';
import type {
  BucketContent,
  CoveredItem,
  DigestStore,
  ItemKey,
  PendingMark,
  StoredLink,
  StoredManifest,
} from '../digest-store.js';
import { clusterRefKey, digestKeys } from '../keys.js';
import type { StoredAuditFacts } from '../trail-store.js';
import type { ClusterRegistry } from './cluster-registry.js';
import { CHUNK_BYTES, DecodedPart } from './segment-codec.js';
import { type Item, itemKey, mapLimit, type TableClient } from './table-client.js';

/**
 * Tamper evidence on the trail table (docs/tamper-evidence.md, docs/data-model.md "Digests"):
 *
 * | item | pk | sk |
 * |---|---|---|
 * | pending mark | `DP#<scope>` | `<bucket>` |
 * | pending note (an item outside the scope's partitions) | `DP#<scope>` | `<bucket>#k#<key digest>` |
 * | manifest | `DG#<scope>` | `M#<bucket>#<signedAt>[.<chunk>]` |
 * | link | `DG#<scope>` | `L#<signedAt>` |
 *
 * Ingest writes pending marks (through TableClient's writeAhead) and nothing under `DG#`; the
 * deployment denies that prefix to the ingest roles.
 */

const keyDigest = (pk: string, sk: string): string =>
  createHash('sha256').update(`${pk}\u0000${sk}`).digest('base64url').slice(0, 16);

/**
 * The marks to store before `items`: one per (scope, bucket) of the covered items among them, plus a
 * note per covered item stored outside its scope's partitions. `at` and `nonce` vary per write, which
 * is fine: marks are not covered, and a redelivery that writes one again only asks the signer to look
 * once more.
 */
export const pendingMarksFor = (items: readonly Item[], now: number, nonce: string): Item[] => {
  const out = new Map<string, Item>();
  for (const item of items) {
    const c = coverageOf(item);
    if (!c) continue;
    const pk = digestKeys.pendingPk(c.scope);
    if (c.external) {
      const ipk = String(item['pk']);
      const isk = String(item['sk']);
      const sk = `${c.bucket}#k#${keyDigest(ipk, isk)}`;
      out.set(`${pk}\u0000${sk}`, { pk, sk, ipk, isk, at: now, n: nonce });
    } else {
      out.set(`${pk}\u0000${c.bucket}`, { pk, sk: c.bucket, at: now, n: nonce });
    }
  }
  return [...out.values()];
};

const MANIFEST_SK = /^M#([^#]+)#([^#.]+\.\d{6}Z)(?:\.([1-9]\d*))?$/;

const toCovered = (item: Item): CoveredItem => {
  const out: CoveredItem = { pk: String(item['pk']), sk: String(item['sk']), h: itemHash(item) };
  if (typeof item['expiresAt'] === 'number') out.x = item['expiresAt'];
  if (typeof item['ord'] === 'string') out.o = item['ord'];
  const c = coverageOf(item);
  if (c) out.b = c.bucket;
  return out;
};

/** The access keys of a part's audit rows (the issuances verify checks were not planted). */
const accessKeysOfPart = (chunks: Uint8Array[], into: Set<string>): void => {
  let part: DecodedPart;
  try {
    part = new DecodedPart(chunks, 'digest');
  } catch {
    // A part that does not decode is reported by its hash; it names no keys.
    return;
  }
  for (let i = 0; i < part.size; i++) {
    if (part.keys[i]?.[3] !== 'a') continue;
    try {
      const facts = part.row<StoredAuditFacts>(i);
      for (const k of facts.event.user.extra['accessKeyId'] ?? []) if (k) into.add(k);
    } catch {
      // An unparseable row is the part's damage, already visible in its hash.
    }
  }
};

export class DynamoDbDigestStore implements DigestStore {
  constructor(
    private readonly table: TableClient,
    private readonly registry: ClusterRegistry,
  ) {}

  async scopes(): Promise<string[]> {
    const refs = await this.registry.registeredRefs();
    return [...new Set(refs.map(clusterRefKey))].sort().concat(ISSUANCE_SCOPE);
  }

  // -----------------------------------------------------------------------------------------------
  // Pending marks
  // -----------------------------------------------------------------------------------------------

  async pending(scope: string): Promise<PendingMark[]> {
    const items = await this.table.queryAll(
      { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': digestKeys.pendingPk(scope) } },
      'Query(pending marks)',
    );
    return items.flatMap((i): PendingMark[] => {
      const sk = String(i['sk']);
      const at = Number(i['at']);
      const nonce = String(i['n'] ?? '');
      const bucket = sk.split('#')[0] ?? '';
      if (!bucket || !Number.isFinite(at)) return [];
      const mark: PendingMark = { scope, bucket, at, nonce, sk };
      if (typeof i['ipk'] === 'string' && typeof i['isk'] === 'string') mark.key = { pk: i['ipk'], sk: i['isk'] };
      return [mark];
    });
  }

  async clearPending(marks: readonly PendingMark[]): Promise<void> {
    await mapLimit(marks, this.table.concurrency, async (m) => {
      try {
        await this.table.doc.send(
          new DeleteCommand({
            TableName: this.table.table,
            Key: { pk: digestKeys.pendingPk(m.scope), sk: m.sk },
            // A writer that marked the bucket again after the signer read it keeps its mark.
            ConditionExpression: '#n = :n',
            ExpressionAttributeNames: { '#n': 'n' },
            ExpressionAttributeValues: { ':n': m.nonce },
          }),
        );
      } catch (err) {
        if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return;
        await this.table.call('DeleteItem(pending mark)', () => Promise.reject(err));
      }
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Links
  // -----------------------------------------------------------------------------------------------

  private readLink(item: Item, scope: string): StoredLink | undefined {
    const sk = String(item['sk']);
    if (!sk.startsWith('L#')) return undefined;
    const sig = item['sig'];
    return {
      scope,
      signedAt: sk.slice(2),
      body: typeof item['body'] === 'string' ? item['body'] : '',
      signature: sig instanceof Uint8Array ? Buffer.from(sig) : Buffer.alloc(0),
    };
  }

  async links(scope: string, from?: string): Promise<StoredLink[]> {
    const items = await this.table.queryAll(
      {
        KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
        ExpressionAttributeValues: { ':p': digestKeys.pk(scope), ':a': `L#${from ?? ''}`, ':b': 'L#~' },
      },
      'Query(digest links)',
    );
    return items.flatMap((i) => this.readLink(i, scope) ?? []);
  }

  async link(scope: string, signedAt: string): Promise<StoredLink | undefined> {
    const item = await this.table.get(
      { pk: digestKeys.pk(scope), sk: digestKeys.linkSk(signedAt) },
      'GetItem(digest link)',
      true,
    );
    return item ? this.readLink(item, scope) : undefined;
  }

  async latestLink(scope: string, before?: string): Promise<StoredLink | undefined> {
    const page = await this.table.queryPage(
      {
        // Only links and manifests live in the partition, and `L#` sorts before `M#`.
        KeyConditionExpression: before === undefined ? 'pk = :p AND begins_with(sk, :b)' : 'pk = :p AND sk < :b',
        ExpressionAttributeValues: { ':p': digestKeys.pk(scope), ':b': `L#${before ?? ''}` },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      },
      'Query(latest digest link)',
    );
    const item = page.items[0];
    return item ? this.readLink(item, scope) : undefined;
  }

  async putLink(link: StoredLink): Promise<boolean> {
    return this.table.conditionalPut(
      {
        pk: digestKeys.pk(link.scope),
        sk: digestKeys.linkSk(link.signedAt),
        body: link.body,
        sig: link.signature,
      },
      'attribute_not_exists(pk)',
    );
  }

  // -----------------------------------------------------------------------------------------------
  // Manifests
  // -----------------------------------------------------------------------------------------------

  async manifests(scope: string, fromBucket: string, toBucket: string): Promise<StoredManifest[]> {
    const items = await this.table.queryAll(
      {
        KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
        ExpressionAttributeValues: { ':p': digestKeys.pk(scope), ':a': `M#${fromBucket}#`, ':b': `M#${toBucket}#~` },
      },
      'Query(digest manifests)',
    );
    const groups = new Map<string, { bucket: string; signedAt: string; chunks: Map<number, Item> }>();
    for (const item of items) {
      const m = MANIFEST_SK.exec(String(item['sk']));
      if (!m) continue;
      const [, bucket = '', signedAt = '', chunk] = m;
      const k = `${bucket}#${signedAt}`;
      let g = groups.get(k);
      if (!g) {
        g = { bucket, signedAt, chunks: new Map() };
        groups.set(k, g);
      }
      g.chunks.set(chunk ? Number(chunk) : 0, item);
    }
    return [...groups.values()].map((g) => {
      const base: StoredManifest = { scope, bucket: g.bucket, signedAt: g.signedAt };
      const first = g.chunks.get(0);
      const nc = Number(first?.['nc']);
      if (!first || !Number.isSafeInteger(nc) || nc < 1) return { ...base, damage: 'its first chunk is missing' };
      const parts: Uint8Array[] = [];
      for (let i = 0; i < nc; i++) {
        const z = g.chunks.get(i)?.['z'];
        if (!(z instanceof Uint8Array)) return { ...base, damage: `chunk ${i} of ${nc} is missing` };
        parts.push(z);
      }
      try {
        return { ...base, text: brotliDecompressSync(Buffer.concat(parts)).toString('utf8') };
      } catch {
        return { ...base, damage: 'its bytes do not decompress' };
      }
    });
  }

  async newestSignedHour(scope: string): Promise<string | undefined> {
    const page = await this.table.queryPage(
      {
        // Hour buckets start with a digit; `history` sorts after them and is left out.
        KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
        ExpressionAttributeValues: { ':p': digestKeys.pk(scope), ':a': 'M#0', ':b': 'M#9~' },
        ScanIndexForward: false,
        Limit: 1,
      },
      'Query(newest digest manifest)',
    );
    const sk = page.items[0]?.['sk'];
    return typeof sk === 'string' ? MANIFEST_SK.exec(sk)?.[1] : undefined;
  }

  async putManifests(
    manifests: readonly { scope: string; bucket: string; signedAt: string; text: string }[],
  ): Promise<void> {
    const items: Item[] = [];
    for (const m of manifests) {
      const input = Buffer.from(m.text, 'utf8');
      const packed = brotliCompressSync(input, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 5,
          [constants.BROTLI_PARAM_SIZE_HINT]: input.length,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        },
      });
      const nc = Math.max(1, Math.ceil(packed.length / CHUNK_BYTES));
      for (let i = 0; i < nc; i++) {
        items.push({
          pk: digestKeys.pk(m.scope),
          sk: digestKeys.manifestSk(m.bucket, m.signedAt, i),
          z: packed.subarray(i * CHUNK_BYTES, Math.min(packed.length, (i + 1) * CHUNK_BYTES)),
          nc,
        });
      }
    }
    await this.table.batchPut(items);
  }

  async deleteManifest(scope: string, bucket: string, signedAt: string): Promise<void> {
    const items = await this.table.queryAll(
      {
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': digestKeys.pk(scope), ':s': digestKeys.manifestSk(bucket, signedAt, 0) },
      },
      'Query(orphan manifest)',
    );
    await mapLimit(items, this.table.concurrency, (i) =>
      this.table.call('DeleteItem(orphan manifest)', () =>
        this.table.doc.send(new DeleteCommand({ TableName: this.table.table, Key: { pk: i['pk'], sk: i['sk'] } })),
      ),
    );
  }

  // -----------------------------------------------------------------------------------------------
  // What is stored now
  // -----------------------------------------------------------------------------------------------

  /** Every page of a Query, each item reduced to its hash as it arrives (a busy hour is hundreds of MB). */
  private async coveredOf(
    input: { pk: string; from?: string; to?: string },
    operation: string,
    onItem?: (item: Item) => void,
  ): Promise<CoveredItem[]> {
    const out: CoveredItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.queryPage(
        {
          KeyConditionExpression: input.from !== undefined ? 'pk = :p AND sk BETWEEN :a AND :b' : 'pk = :p',
          ExpressionAttributeValues:
            input.from !== undefined ? { ':p': input.pk, ':a': input.from, ':b': input.to } : { ':p': input.pk },
          ...(start ? { ExclusiveStartKey: start } : {}),
        },
        operation,
      );
      for (const item of page.items) {
        out.push(toCovered(item));
        onItem?.(item);
      }
      start = page.last;
    } while (start);
    return out;
  }

  async bucketContent(
    scope: string,
    bucket: string,
    externalKeys: readonly ItemKey[],
    options: { accessKeys?: boolean } = {},
  ): Promise<BucketContent> {
    const items: CoveredItem[] = [];
    const accessKeys = new Set<string>();
    if (scope !== ISSUANCE_SCOPE && scope.startsWith('C#')) {
      const tail = scope.slice(1);
      if (bucket === HISTORY_BUCKET) {
        items.push(...(await this.coveredOf({ pk: `MC#${scope}` }, 'Query(mapping history)')));
      } else {
        // Cells of the hour: `<hour>:00` to `<hour>:55`, then `#<anchor>…`.
        const range = { from: `${bucket}:`, to: `${bucket}:~` };
        const pending = new Map<string, { nc: number; chunks: Map<number, Uint8Array> }>();
        const collect = (item: Item) => {
          const sk = String(item['sk']);
          const dot = sk.lastIndexOf('.');
          const hasChunk = dot > sk.lastIndexOf('#');
          const base = hasChunk ? sk.slice(0, dot) : sk;
          const chunk = hasChunk ? Number(sk.slice(dot + 1)) : 0;
          let p = pending.get(base);
          if (!p) {
            p = { nc: 0, chunks: new Map() };
            pending.set(base, p);
          }
          if (chunk === 0) p.nc = Number(item['nc']);
          if (item['z'] instanceof Uint8Array) p.chunks.set(chunk, item['z']);
          if (p.nc > 0 && p.chunks.size === p.nc) {
            accessKeysOfPart(
              Array.from({ length: p.nc }, (_, i) => p.chunks.get(i) as Uint8Array),
              accessKeys,
            );
            pending.delete(base);
          }
        };
        items.push(
          ...(await this.coveredOf(
            { pk: `S${tail}`, ...range },
            'Query(segment parts)',
            options.accessKeys ? collect : undefined,
          )),
          ...(await this.coveredOf({ pk: `N${tail}`, ...range }, 'Query(authenticator parts)')),
        );
      }
    }
    items.push(...(await this.coveredItems(externalKeys)));
    return { items, accessKeys: [...accessKeys].sort() };
  }

  async coveredItems(keys: readonly ItemKey[]): Promise<CoveredItem[]> {
    if (keys.length === 0) return [];
    const got = await this.table.batchGet(keys);
    const out: CoveredItem[] = [];
    const seen = new Set<string>();
    for (const k of keys) {
      const id = itemKey(k);
      const item = got.get(id);
      if (!item || seen.has(id)) continue;
      seen.add(id);
      out.push(toCovered(item));
    }
    return out;
  }
}
