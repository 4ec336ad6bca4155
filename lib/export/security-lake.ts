import { ByteWriter } from 'hyparquet-writer';
import type { ClusterRef, QuestionPort } from '../store/trail-store.js';
import { OCSF_VERSION, PRODUCT_NAME } from './ocsf.js';
import {
  API_ACTIVITY_SHAPE,
  ENTITY_MANAGEMENT_SHAPE,
  PartitionedParquetWriter,
  type PartitionKey,
  partitionPath,
  type Shape,
} from './parquet.js';
import { type ExportCounts, exportWindow } from './run.js';
import { DEFAULT_SOURCE_NAMES } from './source-names.js';

/**
 * The deployed export (docs/ocsf.md, "Deployed export"): on a schedule, the last closed window of
 * every cluster the trail knows is derived and written as Parquet objects under the Security Lake
 * custom-source layout, one source per OCSF class. Windows are aligned to the interval and lag behind
 * the clock, so a late record that arrives within the lag is in its window's object, and a retried
 * run rewrites the same object keys (the key names the cluster and the window), never a second copy.
 */

export { DEFAULT_SOURCE_NAMES };

/** Where one class's objects go: an S3 bucket and the custom source's prefix in it. */
export interface SourceLocation {
  bucket: string;
  /** Without leading or trailing slash, e.g. `ext/eks-trail-api-activity/1.0`. */
  prefix: string;
}

export class S3LocationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3LocationError';
  }
}

/** `s3://bucket/prefix/` (as CreateCustomLogSource returns a source's location) to bucket and prefix. */
export const parseS3Location = (text: string): SourceLocation => {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(text.trim());
  if (!m) throw new S3LocationError(`"${text}" is not an s3://bucket/prefix location`);
  return { bucket: m[1] as string, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
};

export const objectKey = (loc: SourceLocation, key: PartitionKey, file: string): string =>
  [loc.prefix, partitionPath(key), file].filter((p) => p !== '').join('/');

/** The last closed window at `now`: [end - interval, end), end = floor((now - lag) / interval). */
export const closedWindow = (
  now: number,
  intervalMinutes: number,
  lagMinutes: number,
): { from: string; to: string } => {
  const interval = intervalMinutes * 60_000;
  const end = Math.floor((now - lagMinutes * 60_000) / interval) * interval;
  // `to` is inclusive in the store's ranges: stop 1 ms before the next window starts.
  return { from: new Date(end - interval).toISOString(), to: new Date(end - 1).toISOString() };
};

const compact = (iso: string): string => iso.replace(/[-:]/g, '').replace(/\.\d+/, '');

/** The object file name of one cluster's window: the same on every retry of that window. */
export const windowFileName = (ref: ClusterRef, window: { from: string; to: string }): string =>
  `${ref.accountId}-${ref.cluster}-${compact(window.from)}.parquet`;

export interface LakeExportRequest {
  store: QuestionPort;
  window: { from: string; to: string };
  /** cloud.region and the region= partition of a cluster's records. */
  regionOf(ref: ClusterRef): string;
  productVersion: string;
  apiActivity: SourceLocation;
  /** Mapping changes are another OCSF class, so another source; left out when absent. */
  entityManagement?: SourceLocation;
  /** Writes one finished object. */
  put(location: SourceLocation, key: string, body: Uint8Array): Promise<void>;
}

export interface LakeExportResult {
  clusters: number;
  requests: number;
  mappingChanges: number;
  objects: string[];
}

const bufferWriter = (
  req: LakeExportRequest,
  region: string,
  loc: SourceLocation,
  shape: Shape,
  file: string,
  objects: string[],
): PartitionedParquetWriter =>
  new PartitionedParquetWriter({
    shape,
    region,
    createdBy: `${PRODUCT_NAME} ${req.productVersion} (OCSF ${OCSF_VERSION})`,
    open: (pk, part) => {
      const writer = new ByteWriter();
      return {
        writer,
        close: async () => {
          const key = objectKey(loc, pk, part === 0 ? file : file.replace(/\.parquet$/, `-${part}.parquet`));
          await req.put(loc, key, new Uint8Array(writer.getBuffer()));
          objects.push(`s3://${loc.bucket}/${key}`);
        },
      };
    },
  });

/**
 * Exports the window of every cluster. An object holds one cluster's window, so its size is bounded
 * by one cluster's traffic in one interval (docs/ocsf.md gives the figures that size the interval).
 */
export const exportToLake = async (req: LakeExportRequest): Promise<LakeExportResult> => {
  const out: LakeExportResult = { clusters: 0, requests: 0, mappingChanges: 0, objects: [] };
  for (const ref of await req.store.clusters()) {
    const file = windowFileName(ref, req.window);
    const region = req.regionOf(ref);
    const api = bufferWriter(req, region, req.apiActivity, API_ACTIVITY_SHAPE, file, out.objects);
    const changes = req.entityManagement
      ? bufferWriter(req, region, req.entityManagement, ENTITY_MANAGEMENT_SHAPE, file, out.objects)
      : undefined;
    const counts: ExportCounts = await exportWindow({
      store: req.store,
      ref,
      range: req.window,
      ocsf: true,
      ctx: { productVersion: req.productVersion, region },
      sinks: changes
        ? { request: (r) => api.write(r), mappingChange: (r) => changes.write(r) }
        : { request: (r) => api.write(r) },
    });
    await api.close();
    await changes?.close();
    out.clusters++;
    out.requests += counts.requests;
    out.mappingChanges += counts.mappingChanges;
  }
  return out;
};
