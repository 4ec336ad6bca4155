import { type Column, formatCsv, formatJson, formatTable } from '../../lib/query/format.js';
import { parseTimeRange } from '../../lib/query/time-range.js';
import type { IssueCode } from '../../lib/result.js';
import type { QuarantineRecord, QuarantineSource, TrailStore } from '../../lib/store/trail-store.js';
import { type Command, str, type Values } from '../cli/command.js';
import { EXIT, NotFoundError, UsageError } from '../cli/errors.js';
import type { CliIo } from '../cli/io.js';
import { openTarget } from '../cli/target.js';
import { QUARANTINE_SOURCES as SOURCES } from './quarantine.js';
import { outputFormat } from './questions.js';

/**
 * `quarantine`: the records the trail refused, with why and their raw text, so that nothing refused
 * is ever out of sight. `at` is the record's own time where it had one (the event's time), else when
 * it was refused, so replayed history is listed with `--from`/`--to` over the time it covers.
 */

const CODE = /^[A-Z][A-Z0-9_]*$/;

// The store lists quarantine by day (lib/store/dynamodb/quarantine.ts); wider windows are refused there.
const MAX_WINDOW_DAYS = 800;

type Row = QuarantineRecord & { rawTruncated?: boolean; rawBytes?: number };

const COLUMNS: Column[] = [
  { key: 'at', header: 'at' },
  { key: 'source', header: 'source' },
  { key: 'sourceId', header: 'source id', maxWidth: 70 },
  { key: 'index', header: 'index' },
  { key: 'code', header: 'code' },
  { key: 'why', header: 'why', maxWidth: 70 },
  { key: 'cluster', header: 'cluster' },
  { key: 'raw', header: 'raw', maxWidth: 80 },
];

/** Where in its source the record was: the issue path, or the `#index` of a replayed file's record. */
const indexOf = (r: Row): string => r.issues[0].path ?? /#([^#]*)$/.exec(r.sourceId)?.[1] ?? '';

const view = (r: Row) => ({
  at: new Date(r.at).toISOString(),
  source: r.source,
  sourceId: r.sourceId,
  index: indexOf(r),
  code: r.code,
  why: r.issues.map((i) => i.message).join('; '),
  cluster: r.cluster ? `${r.accountId ? `${r.accountId}/` : ''}${r.cluster}` : '',
  raw: r.raw,
  ...(r.rawTruncated ? { rawTruncated: true, rawBytes: r.rawBytes } : {}),
});

const windowOf = (values: Values, io: CliIo, defaultSince: string): { from: string; to: string } => {
  const range = parseTimeRange(
    { since: str(values.since), from: str(values.from), to: str(values.to) },
    io.now(),
    defaultSince,
  );
  if (!range.ok) throw new UsageError(range.issues.map((i) => `--${i.message}`).join('\n'));
  if (Date.parse(range.value.to) - Date.parse(range.value.from) > MAX_WINDOW_DAYS * 86_400_000) {
    throw new UsageError(`--from: the window is longer than ${MAX_WINDOW_DAYS} days; narrow it with --from/--to`);
  }
  return range.value;
};

const codeOf = (values: Values): IssueCode | undefined => {
  const code = str(values.code);
  if (code !== undefined && !CODE.test(code)) {
    throw new UsageError(`--code: "${code}" is not an issue code (e.g. EXPORT_RECORD_SHAPE, AUDIT_NOT_JSON)`);
  }
  return code as IssueCode | undefined;
};

const sourceOf = (text: string | undefined, what: string): QuarantineSource | undefined => {
  if (text === undefined) return undefined;
  if (!(SOURCES as readonly string[]).includes(text)) {
    throw new UsageError(`${what}: "${text}" is not one of ${SOURCES.join(', ')}`);
  }
  return text as QuarantineSource;
};

const limitOf = (values: Values): number => {
  const text = str(values.limit) ?? '50';
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new UsageError(`--limit: "${text}" is not a number from 1 to 1000`);
  return n;
};

const print = (rows: Row[], format: ReturnType<typeof outputFormat>, io: CliIo, next?: string): void => {
  const views = rows.map(view);
  if (format === 'json') {
    io.stdout.write(`${formatJson({ rows: views, ...(next ? { nextCursor: next } : {}) })}\n`);
    return;
  }
  if (format === 'csv') io.stdout.write(formatCsv(views, COLUMNS));
  else io.stdout.write(views.length ? `${formatTable(views, COLUMNS)}\n` : '(no rows)\n');
  if (next) io.stderr.write(`# more rows: run the same command with --cursor ${next}\n`);
};

const list = async (store: TrailStore, values: Values, io: CliIo): Promise<number> => {
  const format = outputFormat(values);
  const source = sourceOf(str(values.source), '--source');
  const window = windowOf(values, io, '7d');
  const limit = limitOf(values);
  const cursor = str(values.cursor);
  const page = await store.quarantined(codeOf(values), window, { limit, ...(cursor ? { cursor } : {}) });
  // The store indexes by day and code, not by source: a source filter thins the page it returns.
  const rows = source ? page.items.filter((r) => r.source === source) : page.items;
  if (format !== 'json') io.stderr.write(`# quarantined from ${window.from} to ${window.to}\n`);
  print(rows, format, io, page.cursor);
  return EXIT.ok;
};

/**
 * One record by its source and id. The port lists by day and code only, so this pages through the
 * window (default the last 7 days; pass --from/--to, or --at with the record's `at`) and keeps the match.
 */
const show = async (store: TrailStore, values: Values, positionals: string[], io: CliIo): Promise<number> => {
  const [source, sourceId, ...extra] = positionals;
  if (source === undefined || sourceId === undefined || extra.length) {
    throw new UsageError('quarantine show: give <source> <sourceId> (as `eks-trail quarantine` lists them)');
  }
  const src = sourceOf(source, 'source') as QuarantineSource;
  const at = str(values.at);
  let window: { from: string; to: string };
  if (at !== undefined) {
    const t = Date.parse(at);
    if (Number.isNaN(t)) throw new UsageError(`--at: "${at}" is not an ISO 8601 time`);
    window = { from: new Date(t).toISOString(), to: new Date(t).toISOString() };
  } else window = windowOf(values, io, '7d');
  const code = codeOf(values);
  let cursor: string | undefined;
  do {
    const page = await store.quarantined(code, window, { limit: 1000, ...(cursor ? { cursor } : {}) });
    const hit = page.items.find((r) => r.source === src && r.sourceId === sourceId);
    if (hit) {
      const format = outputFormat(values);
      if (format === 'table') {
        const v = view(hit);
        io.stdout.write(
          [
            `source:    ${v.source}`,
            `source id: ${v.sourceId}`,
            `index:     ${v.index}`,
            `at:        ${v.at}`,
            `cluster:   ${v.cluster || '(unknown)'}`,
            'issues:',
            ...hit.issues.map((i) => `  ${i.code}${i.path ? ` at ${i.path}` : ''}: ${i.message}`),
            `raw${hit.rawTruncated ? ` (first part of ${hit.rawBytes} bytes)` : ''}:`,
            hit.raw,
            '',
          ].join('\n'),
        );
      } else print([hit], format, io);
      return EXIT.ok;
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  throw new NotFoundError(
    `no quarantined ${src} record ${sourceId} from ${window.from} to ${window.to} (pass --from/--to or --at around its time)`,
  );
};

export const quarantineRun: Command['run'] = async ({ values, positionals, io }) => {
  if (str(values.api))
    throw new UsageError('--api: the query API does not serve the quarantine; use local mode or --table');
  const sub = positionals[0];
  if (sub !== undefined && sub !== 'show') {
    throw new UsageError(`quarantine: unknown subcommand "${sub}" (valid: show)`);
  }
  const target = await openTarget(
    { dataDir: str(values['data-dir']), table: str(values.table), region: str(values.region) },
    io.env,
  );
  try {
    const store = target.store as TrailStore;
    return sub === 'show' ? await show(store, values, positionals.slice(1), io) : await list(store, values, io);
  } finally {
    await target.close();
  }
};
