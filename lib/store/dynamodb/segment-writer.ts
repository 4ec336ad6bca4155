import { STAGE_RANK } from '../../chain/stage-merge.js';
import type { DecisionChain } from '../../chain/types.js';
import {
  anchorOf,
  type ClusterRef,
  cellEndMs,
  cellOf,
  clusterRefKey,
  keys,
  type PartKind,
  postingPk,
  sortableFromEpochMs,
  sortableTime,
  timeInCell,
} from '../keys.js';
import type { DeliveryUnit, StoredAuditFacts, StoredAuthenticatorRecord } from '../trail-store.js';
import { type RowIndex, rowIndexOf } from './row-index.js';
import { compareRowKeys, encodePart, encodeRefs, type PartRef, partDigest, type RowKey } from './segment-codec.js';
import type { Item } from './table-client.js';

/**
 * Turns one delivery's rows into items (docs/data-model.md, "Writes"): per cluster and cell, one
 * segment keyed by the first delivery unit that contributed to it, its parts cut into chunks, one
 * posting per indexed value, and a pointer per notable request. Pure: the same rows always give the
 * same items, byte for byte, which is what makes a redelivery a no-op.
 */

export interface SegmentRetention {
  /** Days; 0 keeps forever. */
  request: number;
  bulkRequest: number;
  authenticator: number;
}

export interface PreparedAuditRow {
  ref: ClusterRef;
  unit: DeliveryUnit;
  /** Audit stage facts, or the authenticator denial a chain of kind authn-failure was built from. */
  facts?: StoredAuditFacts;
  denial?: StoredAuthenticatorRecord;
  chain: DecisionChain;
}

export interface PreparedAuthnRow {
  ref: ClusterRef;
  unit: DeliveryUnit;
  record: StoredAuthenticatorRecord;
}

interface Row {
  key: RowKey;
  json: string;
  unitIndex: number;
  position: number;
  index?: RowIndex;
}

/** Where a row sits: its cluster, cell and the part it went into, for postings and pointers. */
interface Placed {
  part: string;
  chunks: number;
  /** partDigest of the part, so that a reference to an older version of it is not followed. */
  digest: string;
  row: number;
}

const sortableOfChain = (chain: DecisionChain, fallbackMs: number | undefined): string =>
  sortableTime(chain.at) ?? sortableFromEpochMs(fallbackMs ?? 0);

/**
 * A row's JSON. Plain JSON.stringify, not a key-sorted form: rows are built by the parsers in a fixed
 * field order from the record's own text, so the same record always gives the same bytes, and sorting
 * every key of every row was a fifth of the write path's CPU.
 */
const rowJson = (value: unknown): string => JSON.stringify(value) ?? 'null';

const ttl = (cell: string, days: number): number | undefined =>
  days > 0 ? Math.floor(cellEndMs(cell) / 1000) + days * 86_400 : undefined;

/** Rows sorted by key; a row whose key repeats an earlier one (a redelivered stage) is dropped. */
const orderRows = (rows: Row[]): Row[] => {
  rows.sort((a, b) => compareRowKeys(a.key, b.key) || a.unitIndex - b.unitIndex || a.position - b.position);
  const out: Row[] = [];
  for (const r of rows) {
    const prev = out[out.length - 1];
    if (prev && compareRowKeys(prev.key, r.key) === 0) continue;
    out.push(r);
  }
  return out;
};

interface Group<T> {
  ref: ClusterRef;
  cell: string;
  anchorUnit: DeliveryUnit;
  rows: T[];
}

const groupByCell = <T extends { ref: ClusterRef; unit: DeliveryUnit }>(
  rows: readonly T[],
  sortableOf: (row: T) => string,
): Map<string, Group<T & { sortable: string; position: number }>> => {
  const groups = new Map<string, Group<T & { sortable: string; position: number }>>();
  rows.forEach((row, position) => {
    const sortable = sortableOf(row);
    const cell = cellOf(sortable);
    const k = `${clusterRefKey(row.ref)}\u0000${cell}`;
    let g = groups.get(k);
    if (!g) {
      g = { ref: row.ref, cell, anchorUnit: row.unit, rows: [] };
      groups.set(k, g);
    }
    // The anchor is the first unit of the delivery that reached this cell: a retried or bisected
    // delivery that starts at or before it, or a later half that holds it, keys the same segment.
    if (row.unit.index < g.anchorUnit.index) g.anchorUnit = row.unit;
    g.rows.push({ ...row, sortable, position });
  });
  return groups;
};

class PostingAccumulator {
  private readonly postings = new Map<
    string,
    {
      pk: string;
      sk: string;
      cluster?: string;
      ns?: Set<string>;
      refs: Map<string, PartRef>;
      /** A posting lives as long as the longest-kept part it points to; undefined = kept forever. */
      forever: boolean;
      latest: number;
      /** Latest row time it names, for cluster-scoped postings (read newest first by bound). */
      hi?: string;
    }
  >();

  add(
    pk: string,
    sk: string,
    placed: Placed,
    expiresAt: number | undefined,
    extra: { cluster?: string; namespace?: string; at?: string } = {},
  ): void {
    const k = `${pk}\u0000${sk}`;
    let p = this.postings.get(k);
    if (!p) {
      p = { pk, sk, refs: new Map(), forever: false, latest: 0 };
      if (extra.cluster !== undefined) p.cluster = extra.cluster;
      this.postings.set(k, p);
    }
    if (extra.namespace !== undefined) {
      p.ns ??= new Set();
      p.ns.add(extra.namespace);
    }
    let ref = p.refs.get(placed.part);
    if (!ref) {
      ref = { part: placed.part, chunks: placed.chunks, digest: placed.digest, rows: [] };
      p.refs.set(placed.part, ref);
    }
    if (ref.rows[ref.rows.length - 1] !== placed.row) ref.rows.push(placed.row);
    if (expiresAt === undefined) p.forever = true;
    else p.latest = Math.max(p.latest, expiresAt);
    if (extra.at !== undefined && (p.hi === undefined || extra.at > p.hi)) p.hi = extra.at;
  }

  items(): Item[] {
    return [...this.postings.values()].map((p) => {
      const item: Item = { pk: p.pk, sk: p.sk, r: encodeRefs(sortRefs([...p.refs.values()])) };
      if (p.cluster !== undefined) item['cl'] = p.cluster;
      if (p.ns) item['ns'] = new Set([...p.ns].sort());
      if (p.hi !== undefined) item['hi'] = timeInCell(p.hi);
      if (!p.forever) item['expiresAt'] = p.latest;
      return item;
    });
  }
}

const sortRefs = (refs: PartRef[]): PartRef[] => refs.sort((a, b) => (a.part < b.part ? -1 : a.part > b.part ? 1 : 0));

/**
 * `nr` and the part's time bounds (`lo`, `hi`, inside the cell), on a part's first chunk: a listing
 * reads them with a projected Query and loads only the parts whose rows it is about to hand out.
 */
const partBounds = (rows: readonly { key: RowKey }[]): Item =>
  rows.length === 0
    ? { nr: 0 }
    : { nr: rows.length, lo: timeInCell(rows[0]!.key[0]), hi: timeInCell(rows[rows.length - 1]!.key[0]) };

/** When a part of this kind in this cell expires (undefined: kept forever). */
export const partExpiry = (cell: string, part: PartKind, retention: SegmentRetention): number | undefined =>
  ttl(cell, part === 'n' ? retention.request : retention.bulkRequest);

export interface BuiltItems {
  /** Segment parts and authenticator parts: written first, so no posting points at a missing part. */
  parts: Item[];
  /** Postings and notable pointers. */
  index: Item[];
  segments: number;
}

export const buildLogBatchItems = (
  audit: readonly PreparedAuditRow[],
  authn: readonly PreparedAuthnRow[],
  retention: SegmentRetention,
): BuiltItems => {
  const parts: Item[] = [];
  const postings = new PostingAccumulator();

  const auditGroups = groupByCell(audit, (r) =>
    sortableOfChain(r.chain, r.facts?.origin.timestamp ?? r.denial?.origin.timestamp),
  );
  for (const g of auditGroups.values()) {
    const anchor = anchorOf(g.anchorUnit.id);
    const refKey = clusterRefKey(g.ref);
    const byPart: Record<PartKind, Row[]> = { n: [], b: [] };
    const rows: Row[] = g.rows.map((r) => {
      const index = rowIndexOf(r.chain, r.facts);
      return r.facts
        ? {
            key: [r.sortable, r.facts.event.auditID, STAGE_RANK[r.facts.event.stage] ?? 0, 'a'],
            json: rowJson(r.facts),
            unitIndex: r.unit.index,
            position: r.position,
            index,
          }
        : {
            key: [r.sortable, r.denial?.origin.eventId ?? r.chain.chainId, 0, 'd'],
            json: rowJson(r.denial),
            unitIndex: r.unit.index,
            position: r.position,
            index,
          };
    });
    // A request is notable as a whole: a watch that ends in a 403 keeps its ResponseStarted stage beside
    // the ResponseComplete one, so one part (and its pointer) holds every stage this delivery carried.
    const notableRequests = new Set(rows.flatMap((r) => (r.index?.notable && r.key[3] === 'a' ? [r.key[1]] : [])));
    for (const row of rows) {
      const notable = row.index?.notable || (row.key[3] === 'a' && notableRequests.has(row.key[1]));
      byPart[notable ? 'n' : 'b'].push(row);
    }
    for (const kind of ['n', 'b'] as const) {
      const part = kind;
      const rows = orderRows(byPart[kind]);
      // An empty part is written too, never skipped: a retry of part of a delivery (a bisected half
      // after a crash) rebuilds this segment under the same anchor with fewer rows, and a row the
      // earlier attempt put in this part now belongs to the other half or to the other part. Skipping
      // the part would leave the earlier version in place and that row stored twice (docs/data-model.md,
      // "Why the anchor makes retries exact").
      const chunks = encodePart({ keys: rows.map((r) => r.key), rows: rows.map((r) => r.json) });
      const digest = partDigest(chunks);
      const expiresAt = partExpiry(g.cell, kind, retention);
      chunks.forEach((z, i) => {
        const item: Item = {
          pk: keys.segmentPk(g.ref),
          sk: keys.segmentSk(g.cell, anchor, part, i),
          z,
          nc: chunks.length,
        };
        if (i === 0) Object.assign(item, partBounds(rows));
        if (expiresAt !== undefined) item['expiresAt'] = expiresAt;
        parts.push(item);
      });
      const local = `${g.cell}#${anchor}`;
      const fleet = `${g.cell}#${refKey}#${anchor}`;
      rows.forEach((r, row) => {
        const ix = r.index as RowIndex;
        const placed: Placed = { part, chunks: chunks.length, digest, row };
        // Cluster-scoped postings carry the latest row time they name, so a newest-first listing
        // loads the parts of the latest postings first (docs/data-model.md, "Reading").
        const at = { at: r.key[0] };
        if (ix.principal)
          postings.add(postingPk.principal(ix.principal), fleet, placed, expiresAt, { cluster: refKey });
        if (ix.pendingAccessKey) {
          postings.add(postingPk.accessKey(ix.pendingAccessKey), fleet, placed, expiresAt, { cluster: refKey });
        }
        if (ix.human) {
          postings.add(postingPk.human(ix.human), `${fleet}#${ix.accessKey ?? '-'}`, placed, expiresAt, {
            cluster: refKey,
          });
        }
        if (ix.username) postings.add(postingPk.k8sUser(g.ref, ix.username), local, placed, expiresAt, at);
        if (ix.resource) {
          postings.add(postingPk.resource(g.ref, ix.resource), local, placed, expiresAt, {
            namespace: ix.namespace ?? '-',
            at: r.key[0],
          });
          if (ix.name)
            postings.add(postingPk.object(g.ref, ix.resource, ix.namespace, ix.name), local, placed, expiresAt, at);
        }
        if (ix.namespace) postings.add(postingPk.namespace(g.ref, ix.namespace), local, placed, expiresAt, at);
        if (ix.denied) postings.add(postingPk.denials(g.ref), local, placed, expiresAt, at);
        if (kind === 'n' && r.key[3] === 'a') {
          postings.add(keys.requestPk(g.ref, r.key[1]), local, placed, expiresAt);
        }
      });
    }
  }

  const authnGroups = groupByCell(authn, (r) => sortableFromEpochMs(r.record.origin.timestamp));
  for (const g of authnGroups.values()) {
    const anchor = anchorOf(g.anchorUnit.id);
    const rows = orderRows(
      g.rows.map((r) => ({
        key: [r.sortable, r.record.origin.eventId, 0, 'l'] as RowKey,
        json: rowJson(r.record),
        unitIndex: r.unit.index,
        position: r.position,
      })),
    );
    const expiresAt = ttl(g.cell, retention.authenticator);
    const chunks = encodePart({ keys: rows.map((r) => r.key), rows: rows.map((r) => r.json) });
    chunks.forEach((z, i) => {
      const item: Item = { pk: keys.authnPk(g.ref), sk: keys.authnSk(g.cell, anchor, i), z, nc: chunks.length };
      if (i === 0) Object.assign(item, partBounds(rows));
      if (expiresAt !== undefined) item['expiresAt'] = expiresAt;
      parts.push(item);
    });
  }
  return { parts, index: postings.items(), segments: auditGroups.size + authnGroups.size };
};

/** A late-derived human: the posting putLateLinks writes, the same one ingest writes when it already knew. */
export const humanPostingItem = (
  ref: ClusterRef,
  cell: string,
  anchor: string,
  human: string,
  accessKey: string | undefined,
  refs: PartRef[],
  expiresAt: number | undefined,
): Item => {
  const refKey = clusterRefKey(ref);
  const item: Item = {
    pk: postingPk.human(human),
    sk: `${cell}#${refKey}#${anchor}#${accessKey ?? '-'}`,
    r: encodeRefs(sortRefs([...refs])),
    cl: refKey,
  };
  if (expiresAt !== undefined) item['expiresAt'] = expiresAt;
  return item;
};
