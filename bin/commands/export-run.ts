import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileWriter } from 'hyparquet-writer';
import { OCSF_VERSION, PRODUCT_NAME } from '../../lib/export/ocsf.js';
import {
  API_ACTIVITY_SHAPE,
  ENTITY_MANAGEMENT_SHAPE,
  PartitionedParquetWriter,
  partitionPath,
} from '../../lib/export/parquet.js';
import { EXPORT_FORMATS, type ExportFormat, exportWindow, windowMinutes } from '../../lib/export/run.js';
import { DEFAULT_SOURCE_NAMES } from '../../lib/export/security-lake.js';
import { createProgress } from '../../lib/local/progress.js';
import { resolveCluster } from '../../lib/query/run.js';
import { parseTimeRange } from '../../lib/query/time-range.js';
import type { ClusterRef } from '../../lib/store/trail-store.js';
import { type Command, str } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import type { CliIo } from '../cli/io.js';
import { packageRoot } from '../cli/package-root.js';
import { openTarget } from '../cli/target.js';

const packageVersion = (): string => {
  // From source and bundled (dist/chunks/) alike: the package root, found upwards.
  const pkg = join(packageRoot(), 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
};

/** A line sink over stdout or a file that waits when the stream's buffer is full (bounded memory). */
const lineSink = (io: CliIo, out: string | undefined) => {
  let stream: WriteStream | undefined;
  if (out) {
    mkdirSync(dirname(resolve(io.cwd, out)), { recursive: true });
    stream = createWriteStream(resolve(io.cwd, out));
  }
  return {
    write: async (record: unknown): Promise<void> => {
      const line = `${JSON.stringify(record)}\n`;
      if (stream) {
        if (!stream.write(line)) await once(stream, 'drain');
      } else io.stdout.write(line);
    },
    close: async (): Promise<void> => {
      if (!stream) return;
      stream.end();
      await once(stream, 'finish');
    },
  };
};

const compactTime = (iso: string): string => iso.replace(/[-:]/g, '').replace(/\.\d+/, '');

export const exportRun: Command['run'] = async ({ values, positionals, io }) => {
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const format = str(values.format);
  if (format === undefined) throw new UsageError(`--format: required (one of ${EXPORT_FORMATS.join(', ')})`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format: "${format}" is not one of ${EXPORT_FORMATS.join(', ')}`);
  }
  const fmt = format as ExportFormat;
  if (values.api) throw new UsageError('--api: export reads the trail itself; use local mode or --table');
  const windowInput = {
    ...(str(values.since) !== undefined ? { since: str(values.since) } : {}),
    ...(str(values.from) !== undefined ? { from: str(values.from) } : {}),
    ...(str(values.to) !== undefined ? { to: str(values.to) } : {}),
  };
  if (windowInput.since === undefined && windowInput.from === undefined) {
    throw new UsageError('--from: required (or --since): an export names its window');
  }
  const range = parseTimeRange(windowInput, io.now());
  if (!range.ok) throw new UsageError(range.issues.map((i) => `--${i.message}`).join('\n'));
  const out = str(values.out);
  if (fmt === 'ocsf-parquet' && !out) throw new UsageError('--out: required for ocsf-parquet (a folder)');
  const region = str(values['cluster-region']) ?? str(values.region) ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  if (fmt === 'ocsf-parquet' && !region) {
    throw new UsageError('--cluster-region: required for ocsf-parquet (Security Lake partitions by region)');
  }

  const target = await openTarget(
    { dataDir: str(values['data-dir']), table: str(values.table), region: str(values.region) },
    io.env,
  );
  try {
    const store = target.store as NonNullable<typeof target.store>;
    const ref = (await resolveCluster(store, str(values.cluster), true)) as ClusterRef;
    const ctx = { productVersion: packageVersion(), ...(region ? { region } : {}) };
    const progress = createProgress(io.stderr, 'export', windowMinutes(range.value));
    if (fmt !== 'ocsf-parquet') {
      const sink = lineSink(io, out);
      try {
        const counts = await exportWindow({
          store,
          ref,
          range: range.value,
          ocsf: fmt === 'ocsf-jsonl',
          ctx,
          progress,
          sinks: fmt === 'ocsf-jsonl' ? { request: sink.write, mappingChange: sink.write } : { request: sink.write },
        });
        if (out) io.stdout.write(`${out}: ${counts.requests} requests, ${counts.mappingChanges} mapping changes\n`);
      } finally {
        await sink.close();
      }
      return 0;
    }
    const dir = resolve(io.cwd, out as string);
    const file = `${ref.cluster}-${compactTime(range.value.from)}-${compactTime(range.value.to)}.parquet`;
    const writerFor = (source: string, shape: typeof API_ACTIVITY_SHAPE) =>
      new PartitionedParquetWriter({
        shape,
        region: region as string,
        createdBy: `${PRODUCT_NAME} ${ctx.productVersion} (OCSF ${OCSF_VERSION})`,
        open: (key, part) => {
          const folder = join(dir, source, partitionPath(key));
          mkdirSync(folder, { recursive: true });
          const writer = fileWriter(join(folder, part === 0 ? file : file.replace(/\.parquet$/, `-${part}.parquet`)));
          return { writer, close: async () => {} };
        },
      });
    const apiSource = str(values['source-name']) ?? DEFAULT_SOURCE_NAMES.apiActivity;
    const mapSource = str(values['mapping-source-name']) ?? DEFAULT_SOURCE_NAMES.entityManagement;
    const api = writerFor(apiSource, API_ACTIVITY_SHAPE);
    const changes = writerFor(mapSource, ENTITY_MANAGEMENT_SHAPE);
    await exportWindow({
      store,
      ref,
      range: range.value,
      ocsf: true,
      ctx,
      progress,
      sinks: { request: (r) => api.write(r), mappingChange: (r) => changes.write(r) },
    });
    for (const [source, written] of [
      [apiSource, await api.close()],
      [mapSource, await changes.close()],
    ] as const) {
      for (const [path, n] of written) io.stdout.write(`${join(out as string, source, path)}/: ${n} records\n`);
    }
    return 0;
  } finally {
    await target.close();
  }
};
