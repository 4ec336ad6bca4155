import { ParquetWriter } from 'hyparquet-writer';

/**
 * OCSF records as Parquet, laid out as an Amazon Security Lake custom source expects (docs/ocsf.md,
 * "Security Lake"): one OCSF class per source, objects under
 * `<source prefix>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/`, nested OCSF objects as
 * Parquet structs and arrays as lists, so the Glue crawler Security Lake runs infers the same columns
 * Athena queries by name (`actor.user.name`).
 *
 * A Parquet file has one fixed schema, so each class has a shape (below) that lists every attribute
 * the mapping (lib/export/ocsf.ts) can emit. A record with an attribute its shape lacks is refused with
 * OcsfShapeError rather than written without it: nothing is dropped silently.
 */

/** string, 64-bit integer (OCSF long_t and timestamp_t), 32-bit integer, boolean, JSON text (OCSF json_t). */
export type Leaf = 'string' | 'long' | 'int' | 'bool' | 'json';
export type Shape = Leaf | readonly [Shape] | { readonly [field: string]: Shape };

export class OcsfShapeError extends Error {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OcsfShapeError';
  }
}

const S = 'string';
const L = 'long';
const I = 'int';
const B = 'bool';
const J = 'json';

const LINK = { status: S, why: S, evidence: [S] } as const;
const ACCOUNT = { uid: S, type: S, type_id: I } as const;
const AWS_ACTOR = {
  type: S,
  arn: S,
  canonical_arn: S,
  principal_id: S,
  account_id: S,
  access_key_id: S,
  session_name: S,
  session_issuer_arn: S,
  user_name: S,
  invoked_by: S,
  identity_store_user_id: S,
} as const;
const MAPPING_ACTOR = { aws: AWS_ACTOR, k8s_username: S, k8s_canonical_arn: S } as const;
const SCOPE = { type: S, namespaces: [S] } as const;
const METADATA = {
  version: S,
  profiles: [S],
  product: { name: S, vendor_name: S, version: S },
  uid: S,
  log_name: S,
  log_provider: S,
  original_time: S,
  correlation_uid: S,
} as const;
const CLOUD = { provider: S, region: S, account: ACCOUNT } as const;
const BASE = {
  activity_id: I,
  activity_name: S,
  category_uid: I,
  category_name: S,
  class_uid: I,
  class_name: S,
  type_uid: L,
  type_name: S,
  severity_id: I,
  severity: S,
  time: L,
  message: S,
  status_id: I,
  status: S,
  status_code: S,
  status_detail: S,
  metadata: METADATA,
  cloud: CLOUD,
} as const;

export const API_ACTIVITY_SHAPE: Shape = {
  ...BASE,
  actor: {
    user: {
      name: S,
      uid: S,
      uid_alt: S,
      type: S,
      type_id: I,
      groups: [{ name: S }],
      account: ACCOUNT,
      credential_uid: S,
    },
    session: { issuer: S, uid_alt: S, credential_uid: S, created_time: L, expiration_time: L },
    idp: { name: S, protocol_name: S },
    authorizations: [{ decision: S, policy: { name: S, uid: S, type: S, desc: S, data: J, is_applied: B } }],
  },
  api: { operation: S, service: { name: S }, request: { uid: S }, response: { code: I } },
  resources: [{ uid: S, type: S, namespace: S, name: S, group: { name: S } }],
  src_endpoint: { ip: S, intermediate_ips: [S], name: S },
  dst_endpoint: { name: S, svc_name: S },
  http_request: { url: { path: S }, user_agent: S },
  unmapped: {
    eks_trail: {
      schema: S,
      chain_id: S,
      kind: S,
      cluster: S,
      account_id: S,
      pending_enrichment: B,
      links: { principal: LINK, human: LINK, mapping: LINK, k8s_identity: LINK, decision: LINK, request: LINK },
      principal: {
        type: S,
        sts_arn: S,
        canonical_arn: S,
        principal_id: S,
        account_id: S,
        access_key_id: S,
        session_name: S,
        service_account: { namespace: S, name: S, pod_name: S, pod_uid: S, node_name: S },
        oidc: { provider: S, issuer_url: S, claim: S },
      },
      human: {
        identity: S,
        via: S,
        credential_event_uid: S,
        chain: [S],
        workload: {
          kind: S,
          cluster: S,
          account_id: S,
          namespace: S,
          service_account: S,
          pod: S,
          pod_uid: S,
          pod_status: S,
          association: {
            status: S,
            association_id: S,
            association_arn: S,
            role_arn: S,
            target_role_arn: S,
            disable_session_tags: B,
            created_at: S,
            created_by: S,
            created_by_human: S,
            last_changed_at: S,
            source_event_id: S,
            why: S,
          },
          trust: { issuer: S, subject: S, audience: S, why: S },
          deployed_by: {
            status: S,
            owner: S,
            verb: S,
            at: S,
            audit_id: S,
            username: S,
            human: S,
            human_via: S,
            why: S,
          },
        },
      },
      mapping: {
        key: S,
        source: S,
        access_entry: {
          principal_arn: S,
          type: S,
          username: S,
          kubernetes_groups: [S],
          policies: [{ policy_arn: S, scope: SCOPE }],
        },
        aws_auth_row: { kind: S, arn: S, match_key: S, username: S, groups: [S], flags: [S], index: I },
        oidc_provider: {
          name: S,
          issuer_url: S,
          client_id: S,
          username_claim: S,
          username_prefix: S,
          groups_claim: S,
          groups_prefix: S,
          // Claim names are the provider's own: a map, kept as JSON text.
          required_claims: J,
        },
        username: S,
        groups: [S],
        since: S,
        actor: MAPPING_ACTOR,
        source_event_id: S,
        shadowed: [{ source: S, why: S }],
      },
      k8s_identity: { impersonated: { username: S, groups: [S] } },
      decision: {
        outcome: S,
        authorizer: S,
        // A union of shapes (lib/authz/types.ts AuthorizationReason): kept as JSON text.
        reason: J,
        raw_reason: S,
        access_policy: { policy_arn: S, scope: SCOPE, principal_arn: S },
        denial: {
          stage: S,
          failure_class: S,
          message: S,
          missing: {
            username: S,
            verb: S,
            resource: S,
            subresource: S,
            api_group: S,
            namespace: S,
            name: S,
            path: S,
            scope: S,
            reason_suffix: S,
          },
          missing_text: S,
          explanation: S,
        },
      },
      request: {
        target: S,
        verb: S,
        request_uri: S,
        resource: S,
        subresource: S,
        api_group: S,
        namespace: S,
        name: S,
        status_code: I,
        source_ips: [S],
        user_agent: S,
        stage: S,
        level: S,
        truncated: B,
      },
    },
  },
};

export const ENTITY_MANAGEMENT_SHAPE: Shape = {
  ...BASE,
  actor: {
    user: { name: S, uid: S, uid_alt: S, type: S, type_id: I, account: ACCOUNT, credential_uid: S },
    session: { issuer: S },
    app_name: S,
  },
  entity: {
    name: S,
    uid: S,
    type: S,
    type_id: I,
    data: J,
    policy: { name: S, uid: S, type: S, data: J },
  },
  unmapped: {
    eks_trail: {
      schema: S,
      cluster: S,
      account_id: S,
      source: S,
      source_event_uid: S,
      op_kind: S,
      actor: MAPPING_ACTOR,
    },
  },
};

// -------------------------------------------------------------------------------------------------
// Shape -> Parquet schema, record -> row
// -------------------------------------------------------------------------------------------------

interface SchemaElement {
  name: string;
  type?: 'BOOLEAN' | 'INT32' | 'INT64' | 'BYTE_ARRAY';
  converted_type?: 'UTF8' | 'LIST';
  repetition_type?: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  num_children?: number;
}

const isLeaf = (s: Shape): s is Leaf => typeof s === 'string';
const isList = (s: Shape): s is readonly [Shape] => Array.isArray(s);

const LEAF_ELEMENT: Record<Leaf, Omit<SchemaElement, 'name'>> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  json: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  long: { type: 'INT64' },
  int: { type: 'INT32' },
  bool: { type: 'BOOLEAN' },
};

const elementsOf = (name: string, shape: Shape): SchemaElement[] => {
  if (isLeaf(shape)) return [{ name, repetition_type: 'OPTIONAL', ...LEAF_ELEMENT[shape] }];
  if (isList(shape)) {
    // The three-level list (optional group, repeated `list`, `element`) that Athena reads as array<…>.
    return [
      { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      ...elementsOf('element', shape[0]),
    ];
  }
  const fields = Object.entries(shape as Record<string, Shape>);
  return [
    { name, repetition_type: 'OPTIONAL', num_children: fields.length },
    ...fields.flatMap(([k, v]) => elementsOf(k, v)),
  ];
};

/** The Parquet schema (flattened tree, root first) of a shape. */
export const parquetSchema = (shape: Shape): SchemaElement[] => {
  const fields = Object.entries(shape as Record<string, Shape>);
  return [{ name: 'root', num_children: fields.length }, ...fields.flatMap(([k, v]) => elementsOf(k, v))];
};

const convert = (value: unknown, shape: Shape, path: string): unknown => {
  if (value === undefined || value === null) return null;
  if (isLeaf(shape)) {
    switch (shape) {
      case 'json':
        return JSON.stringify(value);
      case 'long':
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          throw new OcsfShapeError(`${path}: ${JSON.stringify(value)} is not an integer`, path);
        }
        return BigInt(value);
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          throw new OcsfShapeError(`${path}: ${JSON.stringify(value)} is not an integer`, path);
        }
        return value;
      case 'bool':
        if (typeof value !== 'boolean')
          throw new OcsfShapeError(`${path}: ${JSON.stringify(value)} is not a boolean`, path);
        return value;
      case 'string':
        if (typeof value !== 'string')
          throw new OcsfShapeError(`${path}: ${JSON.stringify(value)} is not a string`, path);
        return value;
    }
  }
  if (isList(shape)) {
    if (!Array.isArray(value)) throw new OcsfShapeError(`${path}: expected an array`, path);
    return value.map((v, i) => convert(v, shape[0], `${path}[${i}]`));
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new OcsfShapeError(`${path}: expected an object`, path);
  const fields = shape as Record<string, Shape>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = fields[k];
    if (sub === undefined) {
      throw new OcsfShapeError(`${path ? `${path}.` : ''}${k}: not in the Parquet shape of this class`, `${path}.${k}`);
    }
    out[k] = convert(v, sub, path ? `${path}.${k}` : k);
  }
  return out;
};

/** One OCSF record as a Parquet row of `shape`; throws OcsfShapeError for an attribute the shape lacks. */
export const toRow = (record: Record<string, unknown>, shape: Shape): Record<string, unknown> =>
  convert(record, shape, '') as Record<string, unknown>;

// -------------------------------------------------------------------------------------------------
// Partitioned writing
// -------------------------------------------------------------------------------------------------

/** Where one Parquet object goes: the custom source's partition. */
export interface PartitionKey {
  region: string;
  accountId: string;
  /** UTC day of the records' `time`, YYYYMMDD. */
  eventDay: string;
}

/** `region=<r>/accountId=<a>/eventDay=<d>`: the partition path Security Lake's crawler reads. */
export const partitionPath = (k: PartitionKey): string =>
  `region=${k.region}/accountId=${k.accountId}/eventDay=${k.eventDay}`;

export const eventDay = (timeMs: number): string => new Date(timeMs).toISOString().slice(0, 10).replaceAll('-', '');

/** The byte sink of one Parquet object (hyparquet-writer's Writer), with a way to finish it. */
export interface ParquetSink {
  // biome-ignore lint/suspicious/noExplicitAny: hyparquet-writer's Writer type, structurally
  writer: any;
  close(): Promise<void>;
}

export interface PartitionedWriterOptions {
  shape: Shape;
  region: string;
  /**
   * Opens the object for one partition (a file, or a buffer uploaded on close). `part` is 0, or the
   * count of objects of that partition already finished, when a record reopens one (see below).
   */
  open(key: PartitionKey, part: number): ParquetSink;
  /** Rows held before a row group is written: the memory bound per open partition. */
  rowGroupSize?: number;
  createdBy: string;
}

type Slot = { sink: ParquetSink; pq: ParquetWriter; rows: Record<string, unknown>[]; day: string };

/**
 * Writes OCSF records of one class into Parquet objects per partition. Rows are held until a row
 * group is full, and the export hands records over in time order, so when a record of a later day
 * arrives every object of an earlier day is finished: memory is bounded by one day's open objects
 * (one per account) and rowGroupSize rows each, whatever the window's length. A record that still
 * comes for a finished day (out of order) goes to a new object of that partition, never over the
 * finished one.
 */
export class PartitionedParquetWriter {
  private readonly open = new Map<string, Slot>();
  private readonly finished = new Map<string, number>();
  private readonly schema: SchemaElement[];
  private readonly columns: string[];
  readonly written = new Map<string, number>();

  constructor(private readonly o: PartitionedWriterOptions) {
    this.schema = parquetSchema(o.shape);
    this.columns = Object.keys(o.shape as Record<string, Shape>);
  }

  async write(record: Record<string, unknown>): Promise<void> {
    const row = toRow(record, this.o.shape);
    const cloud = record['cloud'] as { account?: { uid?: string } } | undefined;
    const key: PartitionKey = {
      region: this.o.region,
      // Security Lake partitions by account; a record whose account is unknown goes under `unknown`.
      accountId: cloud?.account?.uid ?? 'unknown',
      eventDay: eventDay(record['time'] as number),
    };
    const path = partitionPath(key);
    let slot = this.open.get(path);
    if (!slot) {
      for (const [p, s] of this.open) {
        if (s.day < key.eventDay) await this.finish(p, s);
      }
      const sink = this.o.open(key, this.finished.get(path) ?? 0);
      const pq = new ParquetWriter({ writer: sink.writer, schema: this.schema as never, createdBy: this.o.createdBy });
      slot = { sink, pq, rows: [], day: key.eventDay };
      this.open.set(path, slot);
    }
    slot.rows.push(row);
    this.written.set(path, (this.written.get(path) ?? 0) + 1);
    if (slot.rows.length >= (this.o.rowGroupSize ?? 5_000)) await this.flush(slot);
  }

  private async flush(slot: Slot): Promise<void> {
    if (slot.rows.length === 0) return;
    const rows = slot.rows;
    slot.rows = [];
    await slot.pq.write({
      columnData: this.columns.map((name) => ({ name, data: rows.map((r) => r[name] ?? null) })),
      rowGroupSize: rows.length,
    });
  }

  private async finish(path: string, slot: Slot): Promise<void> {
    await this.flush(slot);
    await slot.pq.finish();
    await slot.sink.close();
    this.open.delete(path);
    this.finished.set(path, (this.finished.get(path) ?? 0) + 1);
  }

  /** Finishes every open object; returns the partitions written with their record counts. */
  async close(): Promise<Map<string, number>> {
    for (const [path, slot] of [...this.open]) await this.finish(path, slot);
    return this.written;
  }
}
