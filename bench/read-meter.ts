import { type ItemClass, itemClassOf } from './item-classes.js';
import { attributeValueSize, type HttpRequestLike, type MiddlewareStack } from './write-units.js';

/**
 * What a client's reads cost, by item class: commands, items returned and their bytes (DynamoDB's
 * size rule), and the read units the engine reports (ConsumedCapacity, asked for on every read). A
 * diagnosis tool for slow questions: which partitions a question reads, and how much of them. It
 * changes the requests (it asks for ConsumedCapacity), so it is attached to untimed runs only.
 */

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

export interface ClassReads {
  /** Queries whose key condition names a partition of this class. */
  queries: number;
  /** Keys asked for by BatchGetItem / GetItem. */
  keys: number;
  /** Items returned. */
  items: number;
  bytes: number;
}

export interface ReadTotals {
  readUnits: number;
  byClass: Partial<Record<ItemClass | 'S#', ClassReads>>;
}

export interface ReadMeter {
  totals(): ReadTotals;
  reset(): void;
  detach(): void;
}

const READS = new Set(['Query', 'BatchGetItem', 'GetItem']);
let seq = 0;

/** A string attribute, marshalled (`{S: …}`) or as the document client hands it back (plain). */
const sOf = (v: unknown): string | undefined =>
  typeof v === 'string'
    ? v
    : v && typeof (v as AttributeValue)['S'] === 'string'
      ? ((v as AttributeValue)['S'] as string)
      : undefined;

/** The size rule on a value the document client has already unmarshalled. */
const plainSize = (v: unknown): number => {
  if (typeof v === 'string') return attributeValueSize({ S: v });
  if (typeof v === 'number' || typeof v === 'bigint') return attributeValueSize({ N: String(v) });
  if (typeof v === 'boolean' || v === null) return 1;
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce<number>((n, x) => n + plainSize(x), 0);
  if (Array.isArray(v)) return 3 + v.reduce<number>((n, x) => n + 1 + plainSize(x), 0);
  if (typeof v === 'object' && v !== undefined) {
    const entries = Object.entries(v as object);
    return 3 + entries.length + entries.reduce((n, [k, x]) => n + Buffer.byteLength(k, 'utf8') + plainSize(x), 0);
  }
  return 0;
};

/**
 * An item's size, whether the document client above this middleware has already unmarshalled the
 * response (it replaces the output in place) or not.
 */
const itemBytes = (item: Item): number => {
  // A projected Query returns no `pk`; every item carries `sk` or `pk`.
  const plain = typeof item['pk'] === 'string' || typeof item['sk'] === 'string';
  return Object.entries(item).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k, 'utf8') + (plain ? plainSize(v) : attributeValueSize(v)),
    0,
  );
};

export const meterReads = (client: unknown): ReadMeter => {
  const stack = (client as { middlewareStack: MiddlewareStack }).middlewareStack;
  const name = `eksTrailBenchReads${++seq}`;
  let t: ReadTotals = { readUnits: 0, byClass: {} };
  const slot = (c: ItemClass | 'S#'): ClassReads => {
    let x = t.byClass[c];
    if (!x) {
      x = { queries: 0, keys: 0, items: 0, bytes: 0 };
      t.byClass[c] = x;
    }
    return x;
  };
  const addItems = (items: readonly Item[] | undefined) => {
    for (const item of items ?? []) {
      const x = slot(itemClassOf(sOf(item['pk']), sOf(item['sk'])));
      x.items++;
      x.bytes += itemBytes(item);
    }
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
      if (!req || !op || !READS.has(op) || text === undefined) return next(args);
      const body = JSON.parse(text) as Record<string, unknown>;
      if (op === 'Query') {
        // The partition: the key condition's value that names one (an index query names its own pk).
        const values = Object.values((body['ExpressionAttributeValues'] ?? {}) as Record<string, AttributeValue>);
        const named = (v: string | undefined) =>
          v !== undefined && (v.startsWith('S#') || v === 'REG' || itemClassOf(v, undefined) !== 'other');
        const pk = values.map(sOf).find(named);
        // `REG`: the registry's index partition (every cluster, read to resolve a cluster name).
        const cls =
          pk === undefined ? 'other' : pk.startsWith('S#') ? 'S#' : pk === 'REG' ? 'CL#' : itemClassOf(pk, undefined);
        slot(cls).queries++;
      } else if (op === 'GetItem') {
        const key = body['Key'] as Item;
        slot(itemClassOf(sOf(key['pk']), sOf(key['sk']))).keys++;
      } else {
        for (const r of Object.values((body['RequestItems'] ?? {}) as Record<string, { Keys?: Item[] }>))
          for (const key of r.Keys ?? []) slot(itemClassOf(sOf(key['pk']), sOf(key['sk']))).keys++;
      }
      body['ReturnConsumedCapacity'] = 'TOTAL';
      const patched = JSON.stringify(body);
      req.body = typeof req.body === 'string' ? patched : new TextEncoder().encode(patched);
      for (const h of Object.keys(req.headers))
        if (h.toLowerCase() === 'content-length') req.headers[h] = String(Buffer.byteLength(patched));
      const out = (await next(args)) as {
        output?: {
          Items?: Item[];
          Item?: Item;
          Responses?: Record<string, Item[]>;
          ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
        };
      };
      const o = out.output;
      addItems(o?.Items);
      if (o?.Item) addItems([o.Item]);
      for (const list of Object.values(o?.Responses ?? {})) addItems(list);
      const cc = o?.ConsumedCapacity;
      for (const c of Array.isArray(cc) ? cc : cc ? [cc] : []) t.readUnits += c.CapacityUnits ?? 0;
      return out;
    },
    { step: 'build', name, override: true },
  );
  return {
    totals: () => ({
      readUnits: t.readUnits,
      byClass: Object.fromEntries(Object.entries(t.byClass).map(([k, v]) => [k, { ...v }])),
    }),
    reset: () => {
      t = { readUnits: 0, byClass: {} };
    },
    detach: () => {
      stack.remove(name);
    },
  };
};
