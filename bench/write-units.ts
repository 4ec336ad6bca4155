import { TABLE_SCHEMA } from '../lib/store/table-schema.js';
import { type ItemClass, itemClassOf } from './item-classes.js';

/**
 * Counts DynamoDB write request units from what the store actually sends, the way on-demand billing
 * counts them (AWS DynamoDB developer guide, "Read/write capacity mode" and "Global secondary indexes:
 * provisioned throughput considerations"):
 *  - a table write costs 1 unit per started KB of the item; a PutItem that replaces an item costs
 *    the larger of the old and new sizes;
 *  - each GSI the write touches costs 1 unit per started KB of the index entry (KEYS_ONLY entries are
 *    table key + index key + 100 bytes of overhead): an entry that appears or disappears is one
 *    write, an index key that changes value is two (delete + put), an unchanged KEYS_ONLY entry none;
 *  - a conditional write whose condition fails is still charged for the item size.
 * Measured on the wire (the serialised request body), so it sees every item exactly as sent.
 *
 * dynalite 4 returns ConsumedCapacity when asked (ReturnConsumedCapacity TOTAL/INDEXES) but only for
 * the table, never for indexes (checked in node_modules/dynalite/db/index.js addConsumedCapacity), so
 * the meter asks for TOTAL and keeps the engine's figure beside its own as a cross-check of the table
 * part, and as the source of read units.
 */

type AttributeValue = Record<string, unknown>;
type WireItem = Record<string, AttributeValue>;

export interface CapacityTotals {
  /** Items put (PutItem + BatchWriteItem PutRequest). */
  itemsWritten: number;
  tableWriteUnits: number;
  indexWriteUnits: number;
  /** Conditional puts refused by their condition (charged, nothing written). */
  failedConditionalWrites: number;
  failedConditionWriteUnits: number;
  /** Table write units as dynalite reports them (same rule, table only). */
  engineTableWriteUnits: number;
  /** Read units as dynalite reports them (strongly consistent reads count 1 per 4 KB, eventual 0.5). */
  engineReadUnits: number;
  /** Requests by DynamoDB operation. */
  operations: Record<string, number>;
  /** The same write figures by item class (bench/item-classes.ts). */
  byClass: Partial<Record<ItemClass, ClassWriteTotals>>;
}

export interface ClassWriteTotals {
  itemsWritten: number;
  tableWriteUnits: number;
  indexWriteUnits: number;
  failedConditionWriteUnits: number;
}

export interface CapacityMeter {
  totals(): CapacityTotals;
  reset(): void;
  detach(): void;
}

/** The parts of an SDK client's middleware stack and HTTP request the meters use. */
export interface MiddlewareStack {
  add(
    mw: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
    opts: { step: 'build'; name: string; override?: boolean },
  ): void;
  remove(name: string): boolean;
}

export interface HttpRequestLike {
  headers: Record<string, string>;
  body?: unknown;
}

/** Binary: base64 text on the wire, bytes once the SDK has decoded a response. */
const binarySize = (b: unknown): number =>
  b instanceof Uint8Array ? b.byteLength : Buffer.from(String(b), 'base64').length;

/**
 * A number's size: its significant digits (leading and trailing zeros trimmed) stored two to a byte,
 * in pairs aligned on the decimal point, plus one byte (and one for a negative sign), as DynamoDB
 * stores them and as dynalite sizes them.
 */
const numberSize = (text: string): number => {
  const negative = text.startsWith('-');
  const [mantissa = '', expText] = text.replace(/^[-+]/, '').toLowerCase().split('e');
  const [int = '', frac = ''] = mantissa.split('.');
  const all = `${int}${frac}`;
  const lead = all.length - all.replace(/^0+/, '').length;
  const digits = all.replace(/^0+/, '').replace(/0+$/, '');
  if (digits === '') return 1;
  // Exponent of the first significant digit (its power of ten).
  const e = int.length - 1 - lead + Number(expText ?? 0);
  return 1 + Math.ceil(digits.length / 2) + (digits.length % 2 || e % 2 ? 0 : 1) + (negative ? 1 : 0);
};

/**
 * DynamoDB's item-size rule on an AttributeValue, as sent on the wire (JSON) or as the low-level
 * client returns it (binary as bytes). Numbers: about one byte per two digits, plus one.
 */
export const attributeValueSize = (v: AttributeValue): number => {
  if ('S' in v) return Buffer.byteLength(String(v['S']), 'utf8');
  if ('N' in v) return numberSize(String(v['N']));
  if ('B' in v) return binarySize(v['B']);
  if ('BOOL' in v || 'NULL' in v) return 1;
  if ('SS' in v) return (v['SS'] as string[]).reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  if ('NS' in v) return (v['NS'] as string[]).reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
  if ('BS' in v) return (v['BS'] as unknown[]).reduce<number>((n, s) => n + binarySize(s), 0);
  if ('L' in v) return 3 + (v['L'] as AttributeValue[]).reduce((n, e) => n + 1 + attributeValueSize(e), 0);
  if ('M' in v) return 3 + wireItemSize(v['M'] as WireItem) + Object.keys(v['M'] as object).length;
  return 0;
};

export const wireItemSize = (item: WireItem): number => {
  let n = 0;
  for (const [name, v] of Object.entries(item)) n += Buffer.byteLength(name, 'utf8') + attributeValueSize(v);
  return n;
};

const KB = 1024;
const units = (bytes: number): number => Math.max(1, Math.ceil(bytes / KB));
/** Per-entry overhead DynamoDB adds to an index entry for sizing. */
const INDEX_ENTRY_OVERHEAD = 100;

const sv = (v: AttributeValue | undefined): string | undefined =>
  v === undefined ? undefined : typeof v['S'] === 'string' ? (v['S'] as string) : JSON.stringify(v);

let seq = 0;

/**
 * Attach to a DynamoDBClient (a DynamoDBDocumentClient built from it shares the stack). With
 * `trackState` the meter remembers every key's size and index entries, so replacements are charged
 * as DynamoDB charges them; memory grows with the number of distinct items written.
 */
export const meterCapacity = (client: unknown, opts: { trackState?: boolean } = {}): CapacityMeter => {
  const stack = (client as { middlewareStack: MiddlewareStack }).middlewareStack;
  const name = `eksTrailBenchCapacity${++seq}`;
  const indexes = TABLE_SCHEMA.globalSecondaryIndexes.map((g) => ({ pk: g.partitionKey.name, sk: g.sortKey.name }));
  const tablePk = TABLE_SCHEMA.partitionKey.name;
  const tableSk = TABLE_SCHEMA.sortKey.name;
  const state = new Map<string, { size: number; entries: (string | undefined)[] }>();
  let t: CapacityTotals;
  const reset = () => {
    t = {
      itemsWritten: 0,
      tableWriteUnits: 0,
      indexWriteUnits: 0,
      failedConditionalWrites: 0,
      failedConditionWriteUnits: 0,
      engineTableWriteUnits: 0,
      engineReadUnits: 0,
      operations: {},
      byClass: {},
    };
  };
  reset();
  const classOf = (item: WireItem): ClassWriteTotals => {
    const c = itemClassOf(sv(item[tablePk]), sv(item[tableSk]));
    let x = t.byClass[c];
    if (!x) {
      x = { itemsWritten: 0, tableWriteUnits: 0, indexWriteUnits: 0, failedConditionWriteUnits: 0 };
      t.byClass[c] = x;
    }
    return x;
  };

  const chargePut = (item: WireItem) => {
    const size = wireItemSize(item);
    const keyText = `${sv(item[tablePk])}\u0000${sv(item[tableSk])}`;
    const keyBytes = Buffer.byteLength(keyText, 'utf8') + tablePk.length + tableSk.length;
    const entries = indexes.map((ix) => {
      const pk = sv(item[ix.pk]);
      const sk = sv(item[ix.sk]);
      return pk === undefined || sk === undefined ? undefined : `${pk}\u0000${sk}`;
    });
    const prev = opts.trackState ? state.get(keyText) : undefined;
    const c = classOf(item);
    const tableUnits = units(Math.max(size, prev?.size ?? 0));
    t.itemsWritten++;
    t.tableWriteUnits += tableUnits;
    c.itemsWritten++;
    c.tableWriteUnits += tableUnits;
    entries.forEach((e, i) => {
      const before = prev?.entries[i];
      const ix = indexes[i]!;
      const entryUnits = (text: string) =>
        units(Buffer.byteLength(text, 'utf8') + keyBytes + ix.pk.length + ix.sk.length + INDEX_ENTRY_OVERHEAD);
      if (e === before) return; // both absent, or the same KEYS_ONLY entry: the index is not written
      const n =
        e !== undefined && before !== undefined
          ? entryUnits(before) + entryUnits(e)
          : entryUnits((e ?? before) as string);
      t.indexWriteUnits += n;
      c.indexWriteUnits += n;
    });
    if (opts.trackState) state.set(keyText, { size, entries });
  };

  stack.add(
    (next) => async (args) => {
      const req = (args as { request?: HttpRequestLike }).request;
      const target = req?.headers['x-amz-target'] ?? req?.headers['X-Amz-Target'];
      const op = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : undefined;
      const text =
        typeof req?.body === 'string'
          ? req.body
          : req?.body instanceof Uint8Array
            ? new TextDecoder().decode(req.body)
            : undefined;
      if (!req || !op || text === undefined) return next(args);
      t.operations[op] = (t.operations[op] ?? 0) + 1;
      const body = JSON.parse(text) as Record<string, unknown>;
      if (body['ReturnConsumedCapacity'] === undefined && op !== 'DescribeTable' && op !== 'CreateTable') {
        body['ReturnConsumedCapacity'] = 'TOTAL';
        const patched = JSON.stringify(body);
        // Keep the body's type: the SDK's JSON codec serialises to bytes and warns on string use of them.
        req.body = typeof req.body === 'string' ? patched : new TextEncoder().encode(patched);
        for (const h of Object.keys(req.headers))
          if (h.toLowerCase() === 'content-length') req.headers[h] = String(Buffer.byteLength(patched));
      }
      let out: unknown;
      try {
        out = await next(args);
      } catch (err) {
        if (op === 'PutItem' && (err as { name?: string }).name === 'ConditionalCheckFailedException') {
          const refused = units(wireItemSize(body['Item'] as WireItem));
          t.failedConditionalWrites++;
          t.failedConditionWriteUnits += refused;
          classOf(body['Item'] as WireItem).failedConditionWriteUnits += refused;
        }
        throw err;
      }
      if (op === 'PutItem') chargePut(body['Item'] as WireItem);
      if (op === 'BatchWriteItem') {
        const unprocessed = (out as { output?: { UnprocessedItems?: Record<string, unknown[]> } }).output
          ?.UnprocessedItems;
        const skipped = new Set<string>();
        for (const list of Object.values(unprocessed ?? {}))
          for (const r of list as { PutRequest?: { Item: WireItem } }[])
            if (r.PutRequest) skipped.add(JSON.stringify(r.PutRequest.Item));
        for (const list of Object.values(body['RequestItems'] as Record<string, unknown[]>))
          for (const r of list as { PutRequest?: { Item: WireItem } }[])
            if (r.PutRequest && !skipped.has(JSON.stringify(r.PutRequest.Item))) chargePut(r.PutRequest.Item);
      }
      const cc = (out as { output?: { ConsumedCapacity?: unknown } }).output?.ConsumedCapacity;
      const reported = (Array.isArray(cc) ? cc : cc ? [cc] : []) as { CapacityUnits?: number }[];
      const sum = reported.reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
      if (op === 'PutItem' || op === 'BatchWriteItem' || op === 'UpdateItem' || op === 'DeleteItem')
        t.engineTableWriteUnits += sum;
      else t.engineReadUnits += sum;
      return out;
    },
    { step: 'build', name, override: true },
  );
  return {
    totals: () => ({
      ...t,
      operations: { ...t.operations },
      byClass: Object.fromEntries(Object.entries(t.byClass).map(([k, v]) => [k, { ...v }])),
    }),
    reset,
    detach: () => {
      stack.remove(name);
    },
  };
};
