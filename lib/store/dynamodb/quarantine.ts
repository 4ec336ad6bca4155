import { canonicalJson } from '../../canonical-json.js';
import { redactText } from '../../sources/redact.js';
import { type FanOutQuery, readFanOutPage } from '../fan-out.js';
import { ITEM_BUDGET, itemSize, truncateUtf8 } from '../item-codec.js';
import { dayBucket, gsiPrefix, keys, sortableFromEpochMs, stableHash } from '../keys.js';
import { INDEX } from '../table-schema.js';
import type { PageRequest, QuarantineRecord, StorePage } from '../trail-store.js';
import { type Item, mapLimit, type TableClient } from './table-client.js';

/**
 * Quarantined records (docs/data-model.md, `Q#` items): the raw text of what could not be read or
 * stored, with its issues. Listed by day on gsi1 and by code and day on gsi2, each sharded four ways
 * so a poison storm cannot throttle the index (and through it the writes of good records).
 */

/** Largest raw text kept on a quarantine item (the port's contract: truncated only above 350 KB). */
const RAW_MAX = 350 * 1024;

const SHARDS = 4;

const shardedPk = (prefix: string, day: string, shard: number) => `${prefix}#${day}#${String(shard).padStart(2, '0')}`;

const DAY_MS = 86_400_000;

export class QuarantineStore {
  constructor(
    private readonly table: TableClient,
    private readonly retentionDays: number,
  ) {}

  /** First delivery wins (conditional put), so a redelivered poison record keeps its first `at`. */
  async put(items: readonly QuarantineRecord[]): Promise<void> {
    await mapLimit(items, this.table.concurrency, (q) => {
      const at = sortableFromEpochMs(q.at);
      const day = dayBucket(at);
      const shard = stableHash(`${q.source}#${q.sourceId}`) % SHARDS;
      // Redacted again at the door (idempotent): whatever built the entry, no secret reaches the table.
      const { raw: given, ...meta } = q;
      const raw = redactText(given);
      const item: Item = {
        ...keys.quarantine(q.source, q.sourceId),
        at,
        code: q.code,
        data: canonicalJson(meta),
        raw,
        gsi1pk: shardedPk(gsiPrefix.quarantineDay, day, shard),
        gsi1sk: `${at}#${q.source}#${q.sourceId}`,
        gsi2pk: shardedPk(gsiPrefix.quarantineCode(q.code), day, shard),
        gsi2sk: `${at}#${q.source}#${q.sourceId}`,
      };
      if (this.retentionDays > 0 && Number.isFinite(q.at)) {
        item['expiresAt'] = Math.floor(q.at / 1000) + this.retentionDays * 86_400;
      }
      if (itemSize(item) > ITEM_BUDGET || Buffer.byteLength(raw, 'utf8') > RAW_MAX) {
        const room = Math.min(RAW_MAX, ITEM_BUDGET - (itemSize(item) - Buffer.byteLength(raw, 'utf8')));
        item['raw'] = truncateUtf8(raw, Math.max(0, room));
        item['rawTruncated'] = true;
        item['rawBytes'] = Buffer.byteLength(raw, 'utf8');
      }
      return this.table.conditionalPut(item, 'attribute_not_exists(pk)');
    });
  }

  /** Quarantined records by day (gsi1) or by code and day (gsi2), over the window `from..to` (sortable). */
  async list(
    code: QuarantineRecord['code'] | undefined,
    window: { from: string; to: string },
    page: PageRequest,
    limit: number,
  ): Promise<StorePage<QuarantineRecord & { rawTruncated?: boolean; rawBytes?: number }>> {
    const forward = page.order === 'oldest-first';
    const buckets: string[] = [];
    for (let t = Date.parse(`${dayBucket(window.from)}T00:00:00Z`); ; t += DAY_MS) {
      const d = dayBucket(sortableFromEpochMs(t));
      if (d > dayBucket(window.to) || buckets.length > 800) break;
      buckets.push(d);
    }
    if (!forward) buckets.reverse();
    const index = code ? INDEX.gsi2 : INDEX.gsi1;
    const prefix = code ? gsiPrefix.quarantineCode(code) : gsiPrefix.quarantineDay;
    const n = index.replace('gsi', '');
    const q: FanOutQuery = {
      index,
      pkAttr: `gsi${n}pk`,
      skAttr: `gsi${n}sk`,
      buckets,
      forward,
      streams: (bucket) =>
        Array.from({ length: SHARDS }, (_, s) => ({
          pk: shardedPk(prefix, bucket, s),
          between: [window.from, `${window.to}~`] as [string, string],
        })),
    };
    const res = await readFanOutPage(
      q,
      (input) =>
        this.table
          .queryPage(input, 'Query(quarantine)')
          .then((p) => ({ Items: p.items, ...(p.last ? { LastEvaluatedKey: p.last } : {}) })),
      limit,
      page.cursor,
    );
    const got = await this.table.batchGet(res.items.map((e) => ({ pk: String(e['pk']), sk: String(e['sk']) })));
    const items = res.items.flatMap((e) => {
      const item = got.get(`${e['pk']}\u0000${e['sk']}`);
      if (!item) return [];
      const rec = { ...(JSON.parse(String(item['data'])) as Omit<QuarantineRecord, 'raw'>), raw: String(item['raw']) };
      return [
        item['rawTruncated']
          ? { ...rec, rawTruncated: true, rawBytes: Number(item['rawBytes']) }
          : (rec as QuarantineRecord & { rawTruncated?: boolean; rawBytes?: number }),
      ];
    });
    return res.cursor ? { items, cursor: res.cursor } : { items };
  }
}
