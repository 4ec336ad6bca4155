import { canonicalJson } from '../../canonical-json.js';
import type { CredentialIssuance } from '../../chain/types.js';
import { epochMsOf, gsiPrefix, keys, sortableFromEpochMs, sortableTime } from '../keys.js';
import { INDEX } from '../table-schema.js';
import { type Item, mapLimit, type TableClient } from './table-client.js';

/**
 * AssumeRole* issuances (docs/data-model.md, `CRED#` items): which caller received which temporary
 * access key. One item per key, kept as long as the requests (the human link is derived from it at
 * query time), listed on gsi2 by the caller's own access key so a late issuance can be followed down
 * a role chain.
 */
export class CredentialStore {
  constructor(
    private readonly table: TableClient,
    private readonly retentionDays: number,
  ) {}

  private item(c: CredentialIssuance): Item {
    const at = sortableTime(c.issuedAt) ?? sortableFromEpochMs(0);
    const item: Item = { ...keys.credential(c.accessKeyId), at, eventId: c.sourceEventId, data: canonicalJson(c) };
    if (this.retentionDays > 0) item['expiresAt'] = Math.floor(epochMsOf(at) / 1000) + this.retentionDays * 86_400;
    const caller = c.caller.accessKeyId;
    if (caller) {
      item['gsi2pk'] = gsiPrefix.credentialCaller(caller);
      item['gsi2sk'] = `${at}#${c.accessKeyId}`;
    }
    return item;
  }

  /** Idempotent on the access key; returns the issuances that were new. */
  async put(items: readonly CredentialIssuance[]): Promise<CredentialIssuance[]> {
    const isNew = await mapLimit(items, this.table.concurrency, (c) =>
      this.table.conditionalPut(this.item(c), 'attribute_not_exists(pk)'),
    );
    return items.filter((_, i) => isNew[i]);
  }

  async get(accessKeyId: string): Promise<CredentialIssuance | undefined> {
    const item = await this.table.get(keys.credential(accessKeyId), 'GetItem(credential)');
    return item ? (JSON.parse(String(item['data'])) as CredentialIssuance) : undefined;
  }

  async many(accessKeyIds: readonly string[]): Promise<Map<string, CredentialIssuance>> {
    const got = await this.table.batchGet(accessKeyIds.map((k) => keys.credential(k)));
    const out = new Map<string, CredentialIssuance>();
    for (const item of got.values()) {
      const c = JSON.parse(String(item['data'])) as CredentialIssuance;
      out.set(c.accessKeyId, c);
    }
    return out;
  }

  /** Issuances requested by a session of this access key, oldest first. */
  async issuedTo(callerAccessKeyId: string): Promise<CredentialIssuance[]> {
    const entries = await this.table.queryAll(
      {
        IndexName: INDEX.gsi2,
        KeyConditionExpression: 'gsi2pk = :p',
        ExpressionAttributeValues: { ':p': gsiPrefix.credentialCaller(callerAccessKeyId) },
      },
      'Query(credentials by caller)',
    );
    const keyList = entries.map((e) => ({ pk: String(e['pk']), sk: String(e['sk']) }));
    const got = await this.table.batchGet(keyList);
    return keyList.flatMap((k) => {
      const item = got.get(`${k.pk}\u0000${k.sk}`);
      return item ? [JSON.parse(String(item['data'])) as CredentialIssuance] : [];
    });
  }
}
