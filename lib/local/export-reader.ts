import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { issue, type NonEmptyIssues, type ParseResult } from '../result.js';
import {
  decodeAwsLogsData,
  decodeFirehoseData,
  decodeKinesisData,
  messageTimeMs,
  validatePayload,
} from '../sources/cloudwatch-logs.js';
import {
  isRecord,
  type JsonStreamItem,
  JsonValueStream,
  jsonFailureCode,
  tryParseJson,
} from '../sources/json-stream.js';
import {
  auditRecord,
  classifyJsonValue,
  type ExportLogRecord,
  type ExportShape,
  exportEventRecord,
  insightsRowRecord,
  parseTextLine,
  queryResultRowRecord,
  type ShapeDetection,
  STREAMED_KEYS,
} from '../sources/log-exports.js';
import { timestampMs } from '../sources/timestamps.js';
import type { CloudWatchLogsPayload } from '../sources/types.js';
import { linesOf } from './file-text.js';

/**
 * The records of one file, one at a time, in file order. Every record is either read or refused with
 * its index (`events[12]`, `line 40`, `row 7`) and raw text; a file never fails because of one record.
 * Only a break in the file's syntax (JSON that stops making sense) ends it early, with the records
 * before the break already handed on.
 */
export type ReplayItem =
  | { kind: 'log'; index: string; record: ExportLogRecord }
  | { kind: 'payload'; index: string; payload: CloudWatchLogsPayload }
  /** `text`: the piece of the file the record was read from (its raw text, for its quarantine key). */
  | { kind: 'cloudtrail'; index: string; body: unknown; text: string; at?: number }
  | { kind: 'other-stream'; stream: string }
  /** A CLI page's envelope (`nextToken`…): nothing to read. */
  | { kind: 'envelope' }
  | { kind: 'refused'; index: string; issues: NonEmptyIssues; raw: string; at?: number }
  /** The file's syntax broke at `index`: the rest of it cannot be read (the records before it were). */
  | { kind: 'broken'; index: string; issues: NonEmptyIssues; raw: string };

/** The time a refused record states, if any: its own timestamp field, else the one its message states. */
const rawTime = (raw: string): number | undefined => {
  const j = raw.trimStart().startsWith('{') ? tryParseJson(raw) : undefined;
  if (j?.ok && isRecord(j.value)) {
    const v = j.value;
    const t =
      typeof v.timestamp === 'number' && Number.isFinite(v.timestamp) ? v.timestamp : timestampMs(v['@timestamp']);
    if (t !== undefined) return t;
  }
  return messageTimeMs(raw);
};

const refused = (index: string, r: Extract<ParseResult<unknown>, { ok: false }>): ReplayItem => {
  const item: ReplayItem = { kind: 'refused', index, issues: r.issues, raw: r.raw };
  const at = rawTime(r.raw);
  if (at !== undefined) item.at = at;
  return item;
};

const itemIndex = (item: JsonStreamItem, lineNo?: number): string => {
  const where = lineNo !== undefined ? `line ${lineNo}` : item.doc > 0 ? `document ${item.doc + 1}` : '';
  const inner =
    item.kind === 'document' ? '' : item.key !== undefined ? `${item.key}[${item.index}]` : `[${item.index}]`;
  return [where, inner].filter(Boolean).join(' ') || 'document 1';
};

const cloudTrailTime = (body: unknown): number | undefined => {
  const v = typeof body === 'string' ? tryParseJson(body) : { ok: true as const, value: body };
  if (!v.ok || !isRecord(v.value)) return undefined;
  const rec = isRecord(v.value.detail) ? v.value.detail : v.value;
  const t = typeof rec.eventTime === 'string' ? Date.parse(rec.eventTime) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
};

const cloudTrailItem = (index: string, body: unknown, text: string): ReplayItem => {
  const at = cloudTrailTime(body);
  return at === undefined ? { kind: 'cloudtrail', index, body, text } : { kind: 'cloudtrail', index, body, text, at };
};

const fromRecord = (index: string, r: ParseResult<ExportLogRecord>): ReplayItem =>
  r.ok ? { kind: 'log', index, record: r.value } : refused(index, r);

/** What one parsed JSON piece of a file holds, given the file's shape. */
const jsonItems = (item: JsonStreamItem, value: unknown, file: ExportShape, lineNo?: number): ReplayItem[] => {
  const index = itemIndex(item, lineNo);
  if (item.kind === 'document' && Array.isArray(value) && value.length === 0) return [{ kind: 'envelope' }];
  const kind = classifyJsonValue(item, value);
  if (item.kind === 'document' && kind !== undefined && kind !== 'audit-events' && kind !== 'subscription-payloads') {
    // The envelope of a streamed list (its elements came on their own), or a whole small document.
    if (kind === 'log-delivery-event' && isRecord(value) && isRecord(value.awslogs)) {
      const r = decodeAwsLogsData(value.awslogs.data as string);
      return [r.ok ? { kind: 'payload', index, payload: r.value } : refused(index, r)];
    }
    if (
      kind === 'cloudtrail' &&
      !Array.isArray((value as Record<string, unknown>).Records) &&
      !Array.isArray((value as Record<string, unknown>).Events)
    ) {
      return [cloudTrailItem(index, value, item.text)];
    }
    return [{ kind: 'envelope' }];
  }
  if (item.kind === 'document' && isRecord(value) && Object.keys(value).length === 0) return [{ kind: 'envelope' }];
  if (kind === undefined) {
    return [
      refused(index, {
        ok: false,
        issues: [issue('EXPORT_RECORD_SHAPE', `a record that does not belong to a ${file} file`)],
        raw: item.text,
      }),
    ];
  }
  switch (kind) {
    case 'filter-log-events':
    case 'get-log-events':
      return [fromRecord(index, exportEventRecord(value, item.text, index))];
    case 'logs-insights-query-results':
      return [fromRecord(index, queryResultRowRecord(value, item.text, index))];
    case 'logs-insights-json':
      return [fromRecord(index, insightsRowRecord(value, item.text, index))];
    case 'audit-events':
    case 'audit-event-list':
      return [fromRecord(index, auditRecord(value, item.text, index))];
    case 'subscription-payloads': {
      const r = validatePayload(value, index);
      return [r.ok ? { kind: 'payload', index, payload: r.value } : refused(index, r)];
    }
    case 'log-delivery-event': {
      // Kinesis (`Records[].kinesis.data`) or a Firehose transformation event (`records[].data`).
      const data = isRecord(value) ? (isRecord(value.kinesis) ? value.kinesis.data : value.data) : undefined;
      if (isRecord(value) && isRecord(value.kinesis)) {
        const r = decodeKinesisData(data as string);
        return [r.ok ? { kind: 'payload', index, payload: r.value } : refused(index, r)];
      }
      const r = decodeFirehoseData(data as string);
      return r.ok ? r.value.map((payload) => ({ kind: 'payload', index, payload })) : [refused(index, r)];
    }
    case 'cloudtrail': {
      if (item.kind === 'element' && item.key === 'Events') {
        const body = isRecord(value) ? value.CloudTrailEvent : undefined;
        if (typeof body !== 'string') {
          return [
            refused(index, {
              ok: false,
              issues: [issue('EXPORT_RECORD_SHAPE', 'lookup-events entry without a CloudTrailEvent string', index)],
              raw: item.text,
            }),
          ];
        }
        return [cloudTrailItem(index, body, item.text)];
      }
      // SQS messages whose bodies are EventBridge events as text.
      if (isRecord(value) && typeof value.body === 'string' && typeof value.messageId === 'string') {
        return [cloudTrailItem(index, value.body, item.text)];
      }
      return [cloudTrailItem(index, value, item.text)];
    }
    default:
      return [
        refused(index, {
          ok: false,
          issues: [issue('EXPORT_RECORD_SHAPE', `a ${kind} record inside a ${file} file`)],
          raw: item.text,
        }),
      ];
  }
};

/**
 * One piece parsed on its own. A piece nested deeper than lib/json-depth.ts allows is refused with
 * INPUT_TOO_DEEP before anything walks it; the pieces around it are read as usual.
 */
const parseItem = (item: JsonStreamItem, file: ExportShape, lineNo?: number): ReplayItem[] => {
  const j = tryParseJson(item.text);
  if (!j.ok) {
    const index = itemIndex(item, lineNo);
    const code = jsonFailureCode(j, 'EXPORT_RECORD_NOT_JSON');
    return [refused(index, { ok: false, issues: [issue(code, j.error, index)], raw: item.text })];
  }
  return jsonItems(item, j.value, file, lineNo);
};

/** How much text after a break is searched for the next document before the rest of the file is given up. */
const RESYNC_MAX = 64 * 1024 * 1024;

/**
 * JSON documents one after another (pretty-printed pages or audit events, `{…}{…}` payload copies),
 * or one document with a big array. After a break in the syntax, reading resumes at the next line
 * that starts with `{` in its first column, where pretty-printed and line-per-value writers start a
 * document; what lies between is quarantined as one record.
 */
async function* readJson(chunks: AsyncIterable<string>, file: ExportShape): AsyncGenerator<ReplayItem> {
  let scanner = new JsonValueStream(STREAMED_KEYS);
  /** Offset in the file where the current scanner started, and documents read before it. */
  let base = 0;
  let docBase = 0;
  let fed = 0;
  let skipping: { at: number; reason: string; text: string; skipped: number; tail: string } | undefined;
  const remap = (item: JsonStreamItem): JsonStreamItem => (docBase ? { ...item, doc: item.doc + docBase } : item);
  const broken = (at: number, reason: string, text: string, resumedAt?: number): ReplayItem => ({
    kind: 'broken',
    index: `offset ${at}`,
    issues: [
      issue(
        'FILE_JSON_SYNTAX',
        `${reason} at offset ${at}: ${resumedAt === undefined ? 'the rest of the file is not read' : `reading resumed at offset ${resumedAt}`}`,
      ),
    ],
    raw: text,
  });
  const feed = function* (text: string): Generator<ReplayItem> {
    for (const item of scanner.push(text)) yield* parseItem(remap(item), file);
    const err = scanner.error;
    if (err) {
      const local = err.at - fed;
      skipping = {
        at: base + err.at,
        reason: err.reason,
        text: err.text,
        skipped: 0,
        tail: text.slice(Math.max(0, local + 1)),
      };
    }
    fed += text.length;
  };
  for await (const chunk of chunks) {
    if (!skipping) {
      yield* feed(chunk);
      if (!skipping) continue;
    } else {
      skipping.tail += chunk;
    }
    // Look for the next document start; keep a little of the tail, a boundary may span chunks.
    const s: { at: number; reason: string; text: string; skipped: number; tail: string } = skipping;
    const m = /\n\{/.exec(s.tail);
    if (!m) {
      s.skipped += Math.max(0, s.tail.length - 1);
      s.tail = s.tail.slice(-1);
      if (s.skipped > RESYNC_MAX) break;
      continue;
    }
    const resumeAt = s.at + 1 + s.skipped + m.index + 1;
    yield broken(s.at, s.reason, s.text, resumeAt);
    docBase += scanner.documents;
    scanner = new JsonValueStream(STREAMED_KEYS);
    base = resumeAt;
    fed = 0;
    const rest = s.tail.slice(m.index + 1);
    skipping = undefined;
    yield* feed(rest);
  }
  if (skipping) {
    yield broken(skipping.at, skipping.reason, skipping.text);
    return;
  }
  for (const item of scanner.end()) yield* parseItem(remap(item), file);
  const err = scanner.error;
  if (err) yield broken(base + err.at, err.reason, err.text);
}

async function* readJsonLines(chunks: AsyncIterable<string>, file: ExportShape): AsyncGenerator<ReplayItem> {
  let lineNo = 0;
  for await (const line of linesOf(chunks)) {
    lineNo++;
    if (line.trim() === '') continue;
    const scanner = new JsonValueStream(STREAMED_KEYS);
    const items = [...scanner.push(line), ...scanner.end()];
    if (scanner.error) {
      const index = `line ${lineNo}`;
      yield refused(index, {
        ok: false,
        issues: [issue('EXPORT_RECORD_NOT_JSON', `${scanner.error.reason} at column ${scanner.error.at + 1}`, index)],
        raw: line,
      });
      continue;
    }
    for (const item of items) yield* parseItem(item, file, lineNo);
  }
}

async function* readText(chunks: AsyncIterable<string>, fileStream?: string): AsyncGenerator<ReplayItem> {
  let lineNo = 0;
  for await (const line of linesOf(chunks)) {
    lineNo++;
    const r = parseTextLine(line, fileStream);
    const index = `line ${lineNo}`;
    if (!r.ok) {
      yield refused(index, { ...r, issues: [{ ...r.issues[0], path: index }, ...r.issues.slice(1)] });
      continue;
    }
    if (r.value.kind === 'record') yield { kind: 'log', index, record: r.value.record };
    else if (r.value.kind === 'other-stream') yield { kind: 'other-stream', stream: r.value.stream };
  }
}

/**
 * The console's Insights CSV export: RFC 4180, a header row, messages with quotes doubled and newlines
 * kept inside quotes. csv-parse reads it as a stream; a row it cannot read is handed back, not thrown.
 */
const CSV_ROW_MAX = 2 * 1024 * 1024;

async function* readCsv(chunks: AsyncIterable<string>): AsyncGenerator<ReplayItem> {
  const skipped: ReplayItem[] = [];
  const parser = parseCsv({
    columns: true,
    bom: true,
    relax_column_count: true,
    skip_records_with_error: true,
    // An unclosed quote would otherwise swallow the rest of the file into one field: a row is at most
    // one CloudWatch event (256 KiB) with its quotes doubled and a few columns.
    max_record_size: CSV_ROW_MAX,
    info: true,
    raw: true,
    on_skip: (err, raw) => {
      const index = `line ${err?.lines ?? '?'}`;
      skipped.push({
        kind: 'refused',
        index,
        issues: [issue('EXPORT_CSV_ROW', err?.message ?? 'unreadable CSV row', index)],
        raw: raw ?? '',
      });
      return undefined;
    },
  });
  Readable.from(chunks).pipe(parser);
  for await (const out of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number; records: number };
    raw: string;
  }>) {
    while (skipped.length) yield skipped.shift() as ReplayItem;
    const index = `row ${out.info.records} (line ${out.info.lines})`;
    yield fromRecord(index, insightsRowRecord(out.record, out.raw, index));
  }
  while (skipped.length) yield skipped.shift() as ReplayItem;
}

/** The records of a file of a log or CloudTrail shape (aws-auth is read whole elsewhere). */
export const readExport = (
  chunks: AsyncIterable<string>,
  detection: ShapeDetection,
  opts: { fileStream?: string } = {},
): AsyncGenerator<ReplayItem> => {
  switch (detection.syntax) {
    case 'json':
      return readJson(chunks, detection.shape);
    case 'json-lines':
      return readJsonLines(chunks, detection.shape);
    case 'csv':
      return readCsv(chunks);
    default:
      return readText(chunks, opts.fileStream);
  }
};
