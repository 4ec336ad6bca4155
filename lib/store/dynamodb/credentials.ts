import { canonicalJson } from '../../canonical-json.js';
import type { CredentialIssuance } from '../../chain/types.js';
import { type ClusterRef, epochMsOf, gsiPrefix, keys, sortableFromEpochMs, sortableTime } from '../keys.js';
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
    const w = c.workload;
    if (w) {
      item['gsi1pk'] = gsiPrefix.workloadRole(c.roleMatchKey);
      item['gsi1sk'] = `${at}#${c.accessKeyId}`;
      // EKS assumes pod roles as a service: such an issuance has no caller key, so gsi2 is free for the pod.
      if (!caller && w.pod && w.namespace && w.cluster && w.accountId) {
        item['gsi2pk'] = gsiPrefix.workloadPod({ accountId: w.accountId, cluster: w.cluster }, w.namespace, w.pod);
        item['gsi2sk'] = `${at}#${c.accessKeyId}`;
      }
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

  /** Issuances of one index partition, oldest first, optionally inside [from, to]. */
  private async byIndex(
    index: string,
    pk: string,
    range: { from?: string; to?: string },
    operation: string,
  ): Promise<CredentialIssuance[]> {
    const from = range.from ? sortableTime(range.from) : undefined;
    const to = range.to ? sortableTime(range.to, 'end') : undefined;
    const pkName = index === INDEX.gsi1 ? 'gsi1pk' : 'gsi2pk';
    const skName = index === INDEX.gsi1 ? 'gsi1sk' : 'gsi2sk';
    const values: Record<string, string> = { ':p': pk };
    let cond = `${pkName} = :p`;
    if (from !== undefined && to !== undefined) {
      cond += ` AND ${skName} BETWEEN :f AND :t`;
      values[':f'] = from;
      values[':t'] = `${to}~`;
    } else if (from !== undefined) {
      cond += ` AND ${skName} >= :f`;
      values[':f'] = from;
    } else if (to !== undefined) {
      cond += ` AND ${skName} <= :t`;
      values[':t'] = `${to}~`;
    }
    const entries = await this.table.queryAll(
      { IndexName: index, KeyConditionExpression: cond, ExpressionAttributeValues: values },
      operation,
    );
    const keyList = entries.map((e) => ({ pk: String(e['pk']), sk: String(e['sk']) }));
    const got = await this.table.batchGet(keyList);
    return keyList.flatMap((k) => {
      const item = got.get(`${k.pk}\u0000${k.sk}`);
      return item ? [JSON.parse(String(item['data'])) as CredentialIssuance] : [];
    });
  }

  /** Issuances to pods of this role (path-less, lower-cased role ARN), oldest first. */
  forRole(roleMatchKey: string, range: { from?: string; to?: string } = {}): Promise<CredentialIssuance[]> {
    return this.byIndex(INDEX.gsi1, gsiPrefix.workloadRole(roleMatchKey), range, 'Query(issuances by workload role)');
  }

  /** Pod Identity issuances to one pod, oldest first. */
  forPod(ref: ClusterRef, namespace: string, pod: string): Promise<CredentialIssuance[]> {
    return this.byIndex(INDEX.gsi2, gsiPrefix.workloadPod(ref, namespace, pod), {}, 'Query(issuances by pod)');
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
