import { LOG_STREAM_BATCHING } from '../cdk/function-settings.js';
import type { MappingChange } from '../lib/identity/types.js';
import { awsAuthSnapshotChange } from '../lib/local/replay.js';
import {
  buildFleet,
  type Delivery,
  type DeliveryOptions,
  type Emission,
  type FleetOptions,
  type GroundTruth,
  type KinesisRecordLike,
  REALISTIC_FLEET,
  renderAwsAuthYaml,
  type SqsRecordLike,
  simulate,
  TRAFFIC_MIXES,
  type TrafficMixName,
  toDeliveries,
} from '../sim/index.js';

/**
 * Simulated workloads for the bench: the realistic scenario simulator (sim/) run through its
 * delivery model, so every byte the product reads is in the format AWS delivers (gzip'd CloudWatch
 * Logs payloads in Kinesis records, EventBridge events in SQS bodies).
 */

export interface WorkloadOptions {
  seed: number;
  /** Kubernetes requests to simulate. */
  requests: number;
  /** Identity-mapping changes during the window (access entries, aws-auth edits, auth-mode change). */
  mappingChanges?: boolean;
  lateFraction?: number;
  duplicateFraction?: number;
  /** Kinesis records per invocation. Default: the deployed log function's (LOG_STREAM_BATCHING). */
  kinesisBatchSize?: number;
  /** Lambda's batching window, ms. Default: the deployed log function's (LOG_STREAM_BATCHING). */
  kinesisBatchWindowMs?: number;
  /** Traffic mix (sim/traffic-mix.ts). Default 'human-heavy'. */
  mix?: TrafficMixName;
  /** Simulated window, ms. Default windowMs(requests, mix). */
  durationMs?: number;
  /** Start of the window (ISO). Default SIM_START. */
  start?: string;
  /** Fleet options. Default the mix's bench fleet. */
  fleet?: Omit<FleetOptions, 'seed'>;
}

/**
 * How the deployed log function's event source mapping batches the Kinesis stream (cdk/function-settings.ts):
 * the bench delivers with exactly these, since they set the segment size and hence the write cost.
 */
export const DELIVERY_SETTINGS = {
  kinesisBatchSize: LOG_STREAM_BATCHING.batchSize,
  kinesisBatchWindowMs: LOG_STREAM_BATCHING.maxBatchingWindowSeconds * 1000,
} as const;

export const SIM_START = '2025-06-02T08:00:00Z';

/** A mid-size fleet: six clusters in every authentication mode, SSO users, IAM users, CI roles. */
export const FLEET: Omit<FleetOptions, 'seed'> = {
  clusters: 6,
  accountsPerOrg: 3,
  ssoUsers: 40,
  iamUsers: 12,
  roles: 4,
  nodesPerCluster: 10,
  serviceAccounts: 4,
};

/**
 * Human-heavy: about six requests a second across the fleet, a busy but ordinary day of human and CI
 * traffic. Realistic: the window the realistic fleet (REALISTIC_FLEET) needs for this many requests at
 * its schedule's rate.
 */
export const windowMs = (requests: number, mix: TrafficMixName = 'human-heavy'): number =>
  mix === 'realistic'
    ? Math.max(1, Math.ceil((requests / TRAFFIC_MIXES.realistic.requestsPerSecond) * 1000))
    : Math.max(3_600_000, Math.round(requests * 166));

export const windowOf = (requests: number, mix: TrafficMixName = 'human-heavy'): { from: string; to: string } => {
  const from = Date.parse(SIM_START);
  return { from: new Date(from).toISOString(), to: new Date(from + windowMs(requests, mix)).toISOString() };
};

export interface StreamedWorkload {
  /**
   * The aws-auth ConfigMaps as they stood when monitoring began, as an operator backfills them
   * (`eks-trail replay aws-auth.yaml` / `backfill`): without them, mappings through aws-auth rows
   * that are never edited inside the window cannot be known, and the correctness figure would
   * measure the missing backfill rather than the product.
   */
  initialMappings: MappingChange[];
  deliveries: Generator<Delivery>;
  /** Filled as the deliveries are consumed (ground truth is emitted beside the records). */
  truths: GroundTruth[];
  /** The clusters of the fleet, as (account, name). */
  clusters: { accountId: string; cluster: string }[];
  /** Counted as the deliveries are consumed, kept or not: requests simulated, and ms spent simulating and packing. */
  progress: { requests: number; generateMs: number };
}

/** Lazy: memory holds only what the simulator and the delivery model keep in flight. */
export const streamWorkload = (opts: WorkloadOptions, keepTruth = true): StreamedWorkload => {
  const mix = opts.mix ?? 'human-heavy';
  const fleet = buildFleet({ seed: opts.seed, ...(opts.fleet ?? (mix === 'realistic' ? REALISTIC_FLEET : FLEET)) });
  const start = opts.start ?? SIM_START;
  const truths: GroundTruth[] = [];
  const emissions = simulate(fleet, {
    seed: opts.seed,
    requests: opts.requests,
    start,
    durationMs: opts.durationMs ?? windowMs(opts.requests, mix),
    mappingChanges: opts.mappingChanges ?? true,
    ...(mix === 'realistic' ? { mix } : {}),
  });
  const progress = { requests: 0, generateMs: 0 };
  const tapped = (function* (): Generator<Emission> {
    for (const e of emissions) {
      if (e.kind === 'truth') {
        progress.requests++;
        if (keepTruth) truths.push(e.truth);
      }
      yield e;
    }
  })();
  const dopts: DeliveryOptions = {
    seed: opts.seed,
    lateFraction: opts.lateFraction ?? 0.02,
    duplicateFraction: opts.duplicateFraction ?? 0.01,
    kinesisBatchSize: opts.kinesisBatchSize ?? DELIVERY_SETTINGS.kinesisBatchSize,
    kinesisBatchWindowMs: opts.kinesisBatchWindowMs ?? DELIVERY_SETTINGS.kinesisBatchWindowMs,
  };
  const backfillAt = new Date(Date.parse(start) - 3_600_000).toISOString();
  const initialMappings = fleet.clusters.flatMap((c) =>
    c.awsAuth ? [awsAuthSnapshotChange(renderAwsAuthYaml(c.awsAuth), c.name, backfillAt, c.accountId, 'bench')] : [],
  );
  const packed = toDeliveries(tapped, dopts);
  const deliveries = (function* (): Generator<Delivery> {
    for (;;) {
      const t = process.hrtime.bigint();
      const r = packed.next();
      progress.generateMs += Number(process.hrtime.bigint() - t) / 1e6;
      if (r.done) return;
      yield r.value;
    }
  })();
  return {
    deliveries,
    progress,
    truths,
    initialMappings,
    clusters: fleet.clusters.map((c) => ({ accountId: c.accountId, cluster: c.name })),
  };
};

export interface Workload {
  deliveries: Delivery[];
  initialMappings: MappingChange[];
  clusters: { accountId: string; cluster: string }[];
  truths: GroundTruth[];
  kinesisRecords: number;
  sqsRecords: number;
  /** Base64 characters of Kinesis data (what the handler receives). */
  kinesisBase64Chars: number;
}

/** Materialised, so timed runs measure the product and not the simulator. */
export const buildWorkload = (opts: WorkloadOptions): Workload => {
  const { deliveries, truths, initialMappings, clusters } = streamWorkload(opts);
  const out: Workload = {
    deliveries: [],
    truths,
    initialMappings,
    clusters,
    kinesisRecords: 0,
    sqsRecords: 0,
    kinesisBase64Chars: 0,
  };
  for (const d of deliveries) {
    out.deliveries.push(d);
    if (d.kind === 'kinesis') {
      out.kinesisRecords += d.event.Records.length;
      for (const r of d.event.Records) out.kinesisBase64Chars += r.kinesis.data.length;
    } else out.sqsRecords += d.event.Records.length;
  }
  return out;
};

export const kinesisEvents = (w: { deliveries: Delivery[] }): { Records: KinesisRecordLike[] }[] =>
  w.deliveries.flatMap((d) => (d.kind === 'kinesis' ? [d.event] : []));

export const sqsEvents = (w: { deliveries: Delivery[] }): { Records: SqsRecordLike[] }[] =>
  w.deliveries.flatMap((d) => (d.kind === 'sqs' ? [d.event] : []));
