import { STAGE_RANK } from '../../chain/stage-merge.js';
import {
  type ClusterRef,
  cellEndMs,
  cellOf,
  clusterRefKey,
  keys,
  parseClusterRefKey,
  postingPk,
  sortableFromEpochMs,
  sortableTime,
  UNKNOWN_ACCOUNT,
} from '../keys.js';
import {
  type LateLinkWrite,
  type LogBatchWrite,
  type LogBatchWriteResult,
  type PageRequest,
  type ResourceSelector,
  type StoredAuditFacts,
  type StoredAuthenticatorRecord,
  type StoredRequest,
  type StorePage,
  type TimeRange,
  TrailStoreError,
} from '../trail-store.js';
import {
  type CellQuery,
  cellRange,
  cellRows,
  decodeListCursor,
  encodeListCursor,
  type ListCursor,
  type ListedRow,
  PartCache,
  postingSelections,
  type RowLocation,
} from './cell-listing.js';
import type { ClusterRegistry } from './cluster-registry.js';
import { compareRowKeys, type PartRef, type RowKey } from './segment-codec.js';
import {
  buildLogBatchItems,
  humanPostingItem,
  type PreparedAuditRow,
  type PreparedAuthnRow,
  partExpiry,
  type SegmentRetention,
} from './segment-writer.js';
import type { Item, TableClient } from './table-client.js';

/**
 * Requests (docs/data-model.md, "Segments", "Postings", "Reading"): the rows of each delivery stored
 * per cluster and cell, indexed by postings, and every listing that reads them back in time order.
 */

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

/**
 * Requests stored under the placeholder account, answered as the cluster their name now belongs to
 * (ClusterRegistry.joined): the same answer as if the account had been known when they were stored.
 */
class Canonical {
  private readonly byName = new Map<string, Promise<ClusterRef>>();

  constructor(private readonly registry: ClusterRegistry) {}

  async of(request: StoredRequest): Promise<StoredRequest> {
    if (request.ref.accountId !== UNKNOWN_ACCOUNT) return request;
    let ref = this.byName.get(request.ref.cluster);
    if (!ref) {
      ref = this.registry.canonicalOf(request.ref.cluster);
      this.byName.set(request.ref.cluster, ref);
    }
    const resolved = await ref;
    return resolved.accountId === UNKNOWN_ACCOUNT ? request : { ...request, ref: resolved };
  }
}

/** The placeholder partitions a cluster's reads take in too (ClusterRegistry.joined lists them after the cluster). */
const alsoOf = (refs: readonly ClusterRef[], pkOf: (ref: ClusterRef) => string): Pick<CellQuery, 'also'> =>
  refs.length > 1 ? { also: refs.slice(1).map((r) => ({ pk: pkOf(r), ref: r })) } : {};

/** Resolves a listing's window (the facade applies its default look-back and validates ISO input). */
export type WindowOf = (range: TimeRange, kind: 'cluster' | 'entity') => { from: string; to: string };

/**
 * How a handle names a row: `<cluster ref key>|<cell>|<anchor>|<part>|<chunks>|<row>|<part digest>`,
 * several joined by `,`.
 */
const encodeHandle = (locs: readonly RowLocation[]): string =>
  locs
    .map((l) => [clusterRefKey(l.ref), l.cell, l.anchor, l.part, l.chunks, l.row, l.digest ?? ''].join('|'))
    .join(',');

const decodeHandle = (handle: string): RowLocation[] =>
  handle.split(',').map((piece) => {
    const [refKey = '', cell = '', anchor = '', part = '', chunks = '', row = '', digest = ''] = piece.split('|');
    const ref = parseClusterRefKey(refKey);
    if (!ref || !cell || !anchor || !part) {
      throw new TrailStoreError(`handle ${JSON.stringify(handle)} was not issued by this store`, 'VALIDATION', false);
    }
    return { ref, cell, anchor, part, chunks: Number(chunks), row: Number(row), ...(digest ? { digest } : {}) };
  });

export class RequestSegments {
  constructor(
    private readonly table: TableClient,
    private readonly registry: ClusterRegistry,
    private readonly retention: SegmentRetention,
    private readonly window: WindowOf,
  ) {}

  async putLogBatch(batch: LogBatchWrite): Promise<LogBatchWriteResult> {
    const refs = new Map<string, Promise<ClusterRef>>();
    const refFor = (cluster: string, accountId: string | undefined) => {
      const k = `${accountId ?? ''}\u0000${cluster}`;
      let r = refs.get(k);
      if (!r) {
        r = this.registry.refFor(cluster, accountId);
        refs.set(k, r);
      }
      return r;
    };
    const audit: PreparedAuditRow[] = [];
    for (const row of batch.audit) {
      const ref = await refFor(row.facts.origin.cluster, row.chain.accountId ?? row.facts.origin.accountId);
      audit.push({ ref, unit: row.unit, facts: row.facts, chain: row.chain });
    }
    const authn: PreparedAuthnRow[] = [];
    for (const row of batch.authenticator) {
      const ref = await refFor(row.record.origin.cluster, row.record.origin.accountId);
      authn.push({ ref, unit: row.unit, record: row.record });
      if (row.chain) audit.push({ ref, unit: row.unit, denial: row.record, chain: row.chain });
    }
    const built = buildLogBatchItems(audit, authn, this.retention);
    const allRefs = await Promise.all(refs.values());
    // Parts before the index: a posting never points at a part that is not written yet.
    await this.table.batchPut([...this.registry.newItems(allRefs), ...built.parts]);
    await this.table.batchPut(built.index);
    return { segments: built.segments, items: built.parts.length + built.index.length };
  }

  /**
   * Writes the human posting of each late-derived human (the same item the ingest would have written
   * had the issuance been there first): one per (human, segment, access key), over every row given.
   */
  async putLateLinks(items: LateLinkWrite[]): Promise<void> {
    const groups = new Map<
      string,
      { ref: ClusterRef; cell: string; anchor: string; human: string; key?: string; refs: Map<string, PartRef> }
    >();
    for (const { handle, chain } of items) {
      const human = chain.human.status !== 'unknown' ? chain.human.value?.identity?.toLowerCase() : undefined;
      if (!human) continue;
      const key = chain.principal.value?.accessKeyId;
      for (const loc of decodeHandle(handle)) {
        const g = `${human}\u0000${clusterRefKey(loc.ref)}\u0000${loc.cell}\u0000${loc.anchor}\u0000${key ?? '-'}`;
        let e = groups.get(g);
        if (!e) {
          e = { ref: loc.ref, cell: loc.cell, anchor: loc.anchor, human, refs: new Map() };
          if (key) e.key = key;
          groups.set(g, e);
        }
        let r = e.refs.get(loc.part);
        if (!r) {
          r = { part: loc.part, chunks: loc.chunks, ...(loc.digest ? { digest: loc.digest } : {}), rows: [] };
          e.refs.set(loc.part, r);
        }
        if (!r.rows.includes(loc.row)) r.rows.push(loc.row);
      }
    }
    const out: Item[] = [];
    for (const g of groups.values()) {
      const refs = [...g.refs.values()].map((r) => ({ ...r, rows: [...r.rows].sort((a, b) => a - b) }));
      let forever = false;
      let latest = 0;
      for (const r of refs) {
        const e = partExpiry(g.cell, r.part === 'n' ? 'n' : 'b', this.retention);
        if (e === undefined) forever = true;
        else latest = Math.max(latest, e);
      }
      out.push(humanPostingItem(g.ref, g.cell, g.anchor, g.human, g.key, refs, forever ? undefined : latest));
    }
    await this.table.batchPut(out);
  }

  /** A fleet-wide posting narrowed to one cluster (and the partition of its name kept before its account was known). */
  private async clusterFilter(ref: ClusterRef | undefined): Promise<Pick<CellQuery, 'filter'>> {
    if (!ref) return {};
    const refs = await this.registry.joined(ref);
    const values = Object.fromEntries(refs.map((r, i) => [`:cl${i}`, clusterRefKey(r)]));
    return {
      filter: { expression: `#cl IN (${Object.keys(values).join(', ')})`, names: { '#cl': 'cl' }, values },
    };
  }

  private partitionOf = (ref: ClusterRef, part: string): string =>
    part === 'l' ? keys.authnPk(ref) : keys.segmentPk(ref);

  /** Reads rows in cell order and groups them into requests, `limit` at a time. */
  /**
   * What a listing reads: a fixed partition (`pk`, fleet-wide postings), or a cluster's partition
   * (`pkOf`), which also reads the partition of that cluster name written before its account was known
   * when the registry joins them (ClusterRegistry.joined).
   */
  private async listRequests(
    spec: Omit<CellQuery, 'fromCell' | 'toCell' | 'forward' | 'pk' | 'also'> &
      ({ pk: string } | { pkOf: (ref: ClusterRef) => string; ref: ClusterRef }),
    range: TimeRange,
    page: PageRequest,
    windowKind: 'cluster' | 'entity',
  ): Promise<StorePage<StoredRequest>> {
    const w = this.window(range, windowKind);
    const forward = page.order === 'oldest-first';
    const limit = Math.min(Math.max(1, page.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
    const start = decodeListCursor(page.cursor);
    const { pk: _pk, pkOf: _pkOf, ...rest } = spec as typeof spec & { pk?: string; pkOf?: unknown };
    let query: Omit<CellQuery, 'fromCell' | 'toCell' | 'forward'>;
    if ('pkOf' in spec) {
      const [own, ...others] = await this.registry.joined(spec.ref);
      query = { ...rest, pk: spec.pkOf(own as ClusterRef), ref: own as ClusterRef };
      if (others.length > 0) query.also = others.map((r) => ({ pk: spec.pkOf(r), ref: r }));
    } else {
      query = { ...rest, pk: spec.pk };
    }
    const canonical = new Canonical(this.registry);
    const items: StoredRequest[] = [];
    const rows = cellRows(
      {
        table: this.table,
        query: { ...query, ...cellRange(w.from, w.to), forward },
        partitionOf: this.partitionOf,
        from: w.from,
        to: w.to,
        // Most requests are one row (their final stage); rounds double when they are not.
        want: limit + 1,
      },
      start,
    );
    for await (const { cell, rows: cellRowList, complete } of rows) {
      const requests = groupRequests(cellRowList);
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i]!;
        items.push(await canonical.of(r.request));
        if (items.length >= limit) {
          const more = i + 1 < requests.length || !complete;
          const cursor: ListCursor = more ? { c: cell, k: r.lastKey } : { c: cell };
          return { items, cursor: encodeListCursor(cursor) };
        }
      }
    }
    return { items };
  }

  requestsByCluster(ref: ClusterRef, range: TimeRange = {}, page: PageRequest = {}): Promise<StorePage<StoredRequest>> {
    return this.listRequests({ pkOf: keys.segmentPk, kind: 'segments', ref }, range, page, 'cluster');
  }

  async requestsByPrincipal(
    matchKey: string,
    range: TimeRange = {},
    page: PageRequest = {},
    ref?: ClusterRef,
  ): Promise<StorePage<StoredRequest>> {
    return this.listRequests(
      { pk: postingPk.principal(matchKey), kind: 'postings', ...(await this.clusterFilter(ref)) },
      range,
      page,
      'entity',
    );
  }

  async requestsByHuman(
    identity: string,
    range: TimeRange = {},
    page: PageRequest = {},
    ref?: ClusterRef,
  ): Promise<StorePage<StoredRequest>> {
    return this.listRequests(
      { pk: postingPk.human(identity), kind: 'postings', ...(await this.clusterFilter(ref)) },
      range,
      page,
      'entity',
    );
  }

  requestsByAccessKey(
    accessKeyId: string,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<StoredRequest>> {
    return this.listRequests({ pk: postingPk.accessKey(accessKeyId), kind: 'postings' }, range, page, 'entity');
  }

  requestsByK8sUser(
    ref: ClusterRef,
    username: string,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<StoredRequest>> {
    return this.listRequests(
      { pkOf: (r) => postingPk.k8sUser(r, username), kind: 'postings', ref },
      range,
      page,
      'entity',
    );
  }

  /**
   * Requests touching a resource on one cluster: one object (its own posting), a kind (narrowed to a
   * namespace by the namespaces the posting lists), or everything in a namespace.
   */
  requestsByResource(
    ref: ClusterRef,
    sel: ResourceSelector,
    range: TimeRange = {},
    page: PageRequest = {},
  ): Promise<StorePage<StoredRequest>> {
    const { resource, namespace, name } = sel;
    if (!resource) {
      if (!namespace) {
        return Promise.reject(
          new TrailStoreError('requestsByResource needs a resource or a namespace', 'VALIDATION', false),
        );
      }
      return this.listRequests(
        { pkOf: (r) => postingPk.namespace(r, namespace), kind: 'postings', ref },
        range,
        page,
        'entity',
      );
    }
    if (name) {
      return this.listRequests(
        { pkOf: (r) => postingPk.object(r, resource, sel.namespace, name), kind: 'postings', ref },
        range,
        page,
        'entity',
      );
    }
    const query: Parameters<RequestSegments['listRequests']>[0] = {
      pkOf: (r) => postingPk.resource(r, resource),
      kind: 'postings',
      ref,
    };
    if (namespace !== undefined) {
      query.filter = { expression: 'contains(#ns, :ns)', names: { '#ns': 'ns' }, values: { ':ns': namespace } };
      // The posting names the kind's rows of every namespace it lists: keep the rows of this one.
      query.rowFilter = (row) =>
        row.key[3] === 'a' && (row.value<StoredAuditFacts>().event.objectRef?.namespace || '-') === namespace;
    }
    return this.listRequests(query, range, page, 'entity');
  }

  denials(ref: ClusterRef, range: TimeRange = {}, page: PageRequest = {}): Promise<StorePage<StoredRequest>> {
    return this.listRequests({ pkOf: postingPk.denials, kind: 'postings', ref }, range, page, 'entity');
  }

  /**
   * One request by auditID: a notable request through its pointer; any request through the cell of
   * its requestReceivedTimestamp when `at` is given.
   */
  async requestByAuditId(ref: ClusterRef, auditID: string, at?: string): Promise<StoredRequest | undefined> {
    const refs = await this.registry.joined(ref);
    const pointers = (
      await Promise.all(
        refs.map(async (r) =>
          (
            await this.table.queryAll(
              { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': keys.requestPk(r, auditID) } },
              'Query(request pointer)',
            )
          ).map((item) => ({ item, ref: r })),
        ),
      )
    ).flat();
    const rows: ListedRow[] = [];
    if (pointers.length > 0) {
      const cache = new PartCache(this.partitionOf);
      const selections: { loc: Omit<RowLocation, 'row'>; rows: number[] }[] = [];
      for (const { item: p, ref: owner } of pointers) {
        const [cell = '', anchor = ''] = String(p['sk']).split('#');
        selections.push(...postingSelections(owner, cell, anchor, String(p['r'])));
      }
      await cache.load(
        this.table,
        selections.map((s) => s.loc),
      );
      for (const s of selections) {
        const part = cache.get(s.loc);
        if (!part || (s.loc.digest !== undefined && s.loc.digest !== part.digest)) continue;
        for (const row of s.rows) {
          const key = part.keys[row];
          const at = { ...s.loc, digest: part.digest, row };
          if (key && key[1] === auditID) rows.push({ key, at, value: <T>() => part.row<T>(row) });
        }
      }
    }
    // A pointer names the notable part of each delivery that carried a stage; an earlier stage that
    // came in another delivery, as bulk, sits elsewhere in the same cell, at the same time (stages share
    // requestReceivedTimestamp). Read the parts of the cell that reach that time when the final stage is
    // missing, or when no pointer exists and `at` names it; a caller's `at` that is not the request's
    // own time (another instant of its cell) is answered by reading the whole cell.
    const hasFinal = rows.some((r) => r.key[2] >= STAGE_RANK['Panic']!);
    if (rows.length === 0 || !hasFinal) {
      const instant = rows[0]
        ? ([rows[0].key[0], rows[0].key[0]] as const)
        : at !== undefined
          ? instantOf(at)
          : undefined;
      if (instant) {
        const cell = cellOf(instant[0]);
        const read = async (window: readonly [string, string]) => {
          const found: ListedRow[] = [];
          for await (const c of cellRows({
            table: this.table,
            query: {
              pk: keys.segmentPk(ref),
              kind: 'segments',
              ref,
              fromCell: cell,
              toCell: cell,
              forward: true,
              ...alsoOf(refs, keys.segmentPk),
            },
            partitionOf: this.partitionOf,
            from: window[0],
            to: window[1],
          })) {
            for (const r of c.rows) if (r.key[1] === auditID && r.key[3] === 'a') found.push(r);
          }
          return found;
        };
        let more = await read(instant);
        if (more.length === 0 && rows.length === 0) {
          // Row times are full sortable times: bound them by the cell's first and last microsecond
          // (`${cell}~` would end the window after the cell's first minute).
          more = await read([`${cell}:00.000000Z`, `${sortableFromEpochMs(cellEndMs(cell) - 1).slice(0, 23)}999Z`]);
        }
        rows.push(...more);
      }
    }
    if (rows.length === 0) return undefined;
    rows.sort((a, b) => compareRowKeys(a.key, b.key));
    const found = groupRequests(dedupe(rows))[0]?.request;
    return found ? { ...found, ref } : undefined;
  }

  async authenticatorRecords(
    ref: ClusterRef,
    range: TimeRange = {},
    page: PageRequest = {},
    within?: readonly TimeRange[],
  ): Promise<StorePage<StoredAuthenticatorRecord>> {
    const w = this.window(range, 'cluster');
    const windows = within?.map((r) => {
      const b = this.window(r, 'cluster');
      return [b.from, b.to] as const;
    });
    const forward = page.order === 'oldest-first';
    const limit = Math.min(Math.max(1, page.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
    const items: StoredAuthenticatorRecord[] = [];
    const refs = await this.registry.joined(ref);
    for await (const { cell, rows, complete } of cellRows(
      {
        table: this.table,
        query: {
          pk: keys.authnPk(ref),
          kind: 'authenticator',
          ref,
          ...cellRange(w.from, w.to),
          forward,
          ...alsoOf(refs, keys.authnPk),
        },
        partitionOf: this.partitionOf,
        from: w.from,
        to: w.to,
        want: limit + 1,
        ...(windows ? { windows } : {}),
      },
      decodeListCursor(page.cursor),
    )) {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        items.push(r.value<StoredAuthenticatorRecord>());
        if (items.length >= limit) {
          const cursor: ListCursor = i + 1 < rows.length || !complete ? { c: cell, k: r.key } : { c: cell };
          return { items, cursor: encodeListCursor(cursor) };
        }
      }
    }
    return { items };
  }
}

/** The bounds of an instant given by a caller (`--at`): to the second, the whole second. */
const instantOf = (at: string): readonly [string, string] => {
  const start = sortableTime(at);
  const end = sortableTime(at, 'end');
  if (!start || !end) throw new TrailStoreError(`at ${JSON.stringify(at)} is not ISO 8601`, 'VALIDATION', false);
  return [start, end];
};

const dedupe = (rows: readonly ListedRow[]): ListedRow[] => {
  const out: ListedRow[] = [];
  for (const r of rows) {
    const prev = out[out.length - 1];
    if (prev && compareRowKeys(prev.key, r.key) === 0) continue;
    out.push(r);
  }
  return out;
};

/**
 * Rows of one cell, in listing order, into requests: consecutive audit rows with the same time and
 * auditID are the stages of one request (they share requestReceivedTimestamp, so they are neighbours
 * in any order); an authenticator denial stands alone.
 */
const groupRequests = (rows: readonly ListedRow[]): { request: StoredRequest; lastKey: RowKey }[] => {
  const out: { request: StoredRequest; lastKey: RowKey }[] = [];
  let i = 0;
  while (i < rows.length) {
    const first = rows[i]!;
    if (first.key[3] !== 'a') {
      const denial = first.value<StoredAuthenticatorRecord>();
      const request: StoredRequest = {
        kind: 'authn-failure',
        ref: first.at.ref,
        at: first.key[0],
        denial,
        handle: encodeHandle([first.at]),
      };
      out.push({ request, lastKey: first.key });
      i++;
      continue;
    }
    let j = i + 1;
    while (
      j < rows.length &&
      rows[j]!.key[3] === 'a' &&
      rows[j]!.key[0] === first.key[0] &&
      rows[j]!.key[1] === first.key[1]
    )
      j++;
    const group = rows.slice(i, j);
    const byRank = [...group].sort((a, b) => a.key[2] - b.key[2]);
    out.push({
      request: {
        kind: 'request',
        ref: first.at.ref,
        at: first.key[0],
        auditID: first.key[1],
        stages: byRank.map((r) => r.value<StoredAuditFacts>()),
        handle: encodeHandle(byRank.map((r) => r.at)),
      },
      lastKey: group[group.length - 1]!.key,
    });
    i = j;
  }
  return out;
};
