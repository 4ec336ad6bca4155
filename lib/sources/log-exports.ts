/**
 * The shapes a user's files come in (docs/formats.md §3.7, §3.8, §4, §6), told apart from their first
 * bytes, and the records inside them read one at a time. Detection is total: any text gets either a
 * shape or a refusal with a stable code that names every accepted shape. A record that does not fit
 * its file's shape is refused alone (its index and raw text go to the quarantine), never the file.
 */
import { MAX_JSON_DEPTH } from '../json-depth.js';
import { fail, type Issue, issue, ok, type ParseResult } from '../result.js';
import {
  guessStream,
  looksLikeAudit,
  looksLikeLogrus,
  messageTimeMs,
  streamKind,
  UNKNOWN_AUDIT_STREAM,
} from './cloudwatch-logs.js';
import { isRecord, type JsonStreamItem, JsonValueStream, tryParseJson } from './json-stream.js';
import { splitCloudWatchPrefix, timestampMs } from './timestamps.js';

export type ExportShape =
  | 'filter-log-events'
  | 'get-log-events'
  | 'logs-insights-query-results'
  | 'logs-insights-json'
  | 'logs-insights-csv'
  | 'log-lines'
  | 'subscription-payloads'
  | 'log-delivery-event'
  | 'audit-events'
  | 'audit-event-list'
  | 'cloudtrail'
  | 'aws-auth';

/** How the file is split into records. */
export type ExportSyntax = 'json' | 'json-lines' | 'csv' | 'text' | 'yaml';

export interface ShapeDetection {
  shape: ExportShape;
  syntax: ExportSyntax;
  /**
   * Whether the records name their log group (and account): subscription payloads and delivery
   * events always, Insights results when `@log` was selected. Otherwise the cluster comes from an
   * option, the file name or its path.
   */
  namesLogGroup: boolean;
}

/** What a refusal lists, so a user can see what the file should have been. */
export const ACCEPTED_SHAPES: readonly string[] = [
  '`aws logs filter-log-events` / `get-log-events` JSON (one page, or several pages appended)',
  'CloudWatch Logs Insights results: `aws logs get-query-results` JSON, the console JSON or CSV export (@timestamp, @message, @logStream, @log)',
  'CloudWatch Logs export to S3 (`<timestamp> <message>` per line, gzip), `aws logs tail` output, plain authenticator or audit log lines',
  'CloudWatch Logs subscription payloads (Firehose/S3 copies: `{…}{…}`), captured Lambda `awslogs`, Kinesis or Firehose events',
  'Kubernetes audit events: JSON lines, a JSON array, pretty-printed objects one after another, or an audit `EventList`',
  'CloudTrail log files (`{"Records":[…]}`), `aws cloudtrail lookup-events` output, EventBridge/SQS events of CloudTrail records',
  'the aws-auth ConfigMap (`kubectl get cm aws-auth -n kube-system -o yaml|json`)',
  'gzip of any of these',
];

const acceptedList = (): string => ACCEPTED_SHAPES.map((s) => `  - ${s}`).join('\n');

const unrecognised = (raw: string, why: string): ParseResult<never> =>
  fail(raw.slice(0, 4096), issue('FILE_UNRECOGNISED', `${why}. Accepted shapes:\n${acceptedList()}`));

/** Arrays streamed element by element (never held whole): the big lists of every JSON shape. */
export const STREAMED_KEYS: ReadonlySet<string> = new Set([
  'events',
  'results',
  'items',
  'Records',
  'Events',
  'records',
]);

// ---------------------------------------------------------------------------------------------
// Classifying one JSON value
// ---------------------------------------------------------------------------------------------

export const isAuditLike = (v: unknown): v is Record<string, unknown> =>
  isRecord(v) && (v.kind === 'Event' || (typeof v.auditID === 'string' && typeof v.stage === 'string'));

const isCloudTrailRecord = (v: unknown): boolean =>
  isRecord(v) && typeof v.eventSource === 'string' && typeof v.eventName === 'string';

const isEventBridge = (v: unknown): boolean =>
  isRecord(v) && isRecord(v.detail) && typeof v['detail-type'] === 'string';

const isPayload = (v: unknown): boolean => isRecord(v) && typeof v.messageType === 'string' && 'logEvents' in v;

const isAwsAuthJson = (v: unknown): boolean =>
  isRecord(v) &&
  v.kind === 'ConfigMap' &&
  isRecord(v.data) &&
  ('mapRoles' in v.data || 'mapUsers' in v.data || 'mapAccounts' in v.data);

/**
 * The kind of one streamed piece, from its key and its own shape. Undefined when it belongs to no
 * accepted shape. Skeleton documents (`{"events":[],"nextToken":…}`) are classified by their keys.
 */
export const classifyJsonValue = (
  item: Pick<JsonStreamItem, 'kind'> & { key?: string | undefined },
  value: unknown,
): ExportShape | undefined => {
  if (item.kind === 'element' && item.key !== undefined) {
    switch (item.key) {
      case 'events':
        return isRecord(value) && ('logStreamName' in value || 'eventId' in value)
          ? 'filter-log-events'
          : 'get-log-events';
      case 'results':
        return 'logs-insights-query-results';
      case 'items':
        return 'audit-event-list';
      case 'Records':
        if (isRecord(value) && isRecord(value.kinesis)) return 'log-delivery-event';
        return 'cloudtrail';
      case 'Events':
        return 'cloudtrail';
      case 'records':
        return 'log-delivery-event';
      default:
        return undefined;
    }
  }
  if (item.kind === 'element') {
    if (isRecord(value) && typeof value['@message'] === 'string') return 'logs-insights-json';
    if (isAuditLike(value)) return 'audit-events';
    if (isCloudTrailRecord(value) || isEventBridge(value)) return 'cloudtrail';
    if (isPayload(value)) return 'subscription-payloads';
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  if (isAuditLike(value as unknown)) return 'audit-events';
  if (value.kind === 'EventList' && Array.isArray(value.items)) return 'audit-event-list';
  if (isPayload(value)) return 'subscription-payloads';
  if (isRecord(value.awslogs)) return 'log-delivery-event';
  if (isCloudTrailRecord(value) || isEventBridge(value)) return 'cloudtrail';
  if (isAwsAuthJson(value)) return 'aws-auth';
  if (Array.isArray(value.events)) return 'filter-log-events';
  if (Array.isArray(value.results)) return 'logs-insights-query-results';
  if (Array.isArray(value.Records) || Array.isArray(value.Events)) return 'cloudtrail';
  if (Array.isArray(value.records)) return 'log-delivery-event';
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// Text lines
// ---------------------------------------------------------------------------------------------

// CloudWatch stream names cannot contain ':' or '*'.
const STREAM_TOKEN = /^([^\s:*]+)[ \t]+/;

// EKS control-plane stream names (docs/formats.md §0.1): `aws logs tail` prints them before each line.
const EKS_STREAM =
  /^(kube-apiserver(-audit)?|authenticator|kube-controller-manager|kube-scheduler|cloud-controller-manager)-[0-9a-f]+$/;

/** Whether a name is one of the EKS control-plane streams (export-to-S3 keys carry it as a folder). */
export const isEksStreamName = (name: string): boolean => EKS_STREAM.test(name);

/** One record of a log export, as the replay groups it into subscription-shaped payloads. */
export interface ExportLogRecord {
  /** Absent when the export names none: the message then decides (audit JSON or authenticator line). */
  stream?: string;
  id?: string;
  timestamp: number;
  message: string;
  logGroup?: string;
  owner?: string;
}

export type TextLineResult =
  | { kind: 'record'; record: ExportLogRecord }
  /** A line of another control-plane stream (kube-scheduler…): counted, not read. */
  | { kind: 'other-stream'; stream: string }
  | { kind: 'blank' };

/**
 * One text line: `[<CloudWatch timestamp> ][<stream> ]<message>`, as an export to S3, `aws logs tail`
 * or a console copy writes it. `stream` is the stream the whole file belongs to, when known (an
 * export-to-S3 object's folder). A line that is neither an audit event nor an authenticator line of
 * a known stream is refused with EXPORT_LINE_UNRECOGNISED; one without any time with EXPORT_RECORD_NO_TIME.
 */
export const parseTextLine = (line: string, stream?: string): ParseResult<TextLineResult> => {
  const trimmed = line.replace(/\r$/, '').replace(/^\uFEFF/, '');
  if (trimmed.trim() === '') return ok({ kind: 'blank' });
  const { prefixMs, rest: afterPrefix } = splitCloudWatchPrefix(trimmed.trimStart());
  let lineStream = stream;
  let message = afterPrefix;
  if (!looksLikeAudit(message) && !looksLikeLogrus(message)) {
    const m = STREAM_TOKEN.exec(message);
    const after = m ? message.slice(m[0].length) : '';
    if (m && isEksStreamName(m[1] as string)) {
      lineStream = m[1] as string;
      message = after;
    } else if (m && (looksLikeAudit(after) || looksLikeLogrus(after))) {
      // A stream token cut or renamed on the way (a wrapped terminal copy): the message tells the stream.
      message = after;
    }
  }
  if (lineStream !== undefined && streamKind(lineStream) === 'other') {
    return ok({ kind: 'other-stream', stream: lineStream });
  }
  if (!looksLikeAudit(message) && !looksLikeLogrus(message)) {
    return fail(
      trimmed,
      issue(
        'EXPORT_LINE_UNRECOGNISED',
        'neither a Kubernetes audit event (JSON) nor an authenticator line (time=… level=… msg=…)',
      ),
    );
  }
  const timestamp = prefixMs ?? messageTimeMs(message);
  if (timestamp === undefined) {
    return fail(trimmed, issue('EXPORT_RECORD_NO_TIME', 'the line carries no timestamp and its message states none'));
  }
  const record: ExportLogRecord = { timestamp, message };
  if (lineStream !== undefined) record.stream = lineStream;
  return ok({ kind: 'record', record });
};

// ---------------------------------------------------------------------------------------------
// Records of the JSON and CSV shapes
// ---------------------------------------------------------------------------------------------

const shape = (message: string, path?: string): Issue => issue('EXPORT_RECORD_SHAPE', message, path);

const timeOf = (stated: unknown, message: string): number | undefined =>
  (typeof stated === 'number' && Number.isFinite(stated) ? stated : timestampMs(stated)) ?? messageTimeMs(message);

const noTime = (raw: string, path: string): ParseResult<never> =>
  fail(raw, issue('EXPORT_RECORD_NO_TIME', 'no usable timestamp, and the message states none', path));

/** One event of `filter-log-events` / `get-log-events` output. */
export const exportEventRecord = (value: unknown, raw: string, path: string): ParseResult<ExportLogRecord> => {
  if (!isRecord(value)) return fail(raw, shape('log event is not a JSON object', path));
  if (typeof value.message !== 'string')
    return fail(raw, shape('log event without a string message', `${path}.message`));
  const timestamp = timeOf(value.timestamp, value.message);
  if (timestamp === undefined) return noTime(raw, `${path}.timestamp`);
  const rec: ExportLogRecord = { timestamp, message: value.message };
  // filter-log-events names the stream per event; get-log-events does not (one stream per call).
  if (typeof value.logStreamName === 'string' && value.logStreamName !== '') rec.stream = value.logStreamName;
  if (typeof value.eventId === 'string' && value.eventId !== '') rec.id = value.eventId;
  return ok(rec);
};

/**
 * One Insights result row as a flat object (console JSON export, CSV row, or a `get-query-results` row
 * turned into one): `@timestamp` is UTC without a zone, `@log` is `<account>:<group>` (docs/formats.md §4.4).
 */
export const insightsRowRecord = (row: unknown, raw: string, path: string): ParseResult<ExportLogRecord> => {
  if (!isRecord(row)) return fail(raw, shape('result row is not an object', path));
  const message = row['@message'];
  if (typeof message !== 'string') return fail(raw, shape('result row without @message', `${path}.@message`));
  const timestamp = timeOf(row['@timestamp'], message);
  if (timestamp === undefined) return noTime(raw, `${path}.@timestamp`);
  const rec: ExportLogRecord = { timestamp, message };
  const stream = row['@logStream'];
  if (typeof stream === 'string' && stream !== '') rec.stream = stream;
  const log = typeof row['@log'] === 'string' ? /^(\d{12}):(.+)$/.exec(row['@log']) : null;
  if (log) {
    rec.owner = log[1] as string;
    rec.logGroup = log[2] as string;
  }
  return ok(rec);
};

/** A `get-query-results` row: a list of `{field, value}` pairs, only the fields the query selected. */
export const queryResultRowRecord = (row: unknown, raw: string, path: string): ParseResult<ExportLogRecord> => {
  if (!Array.isArray(row)) return fail(raw, shape('result row is not a list of fields', path));
  const flat: Record<string, unknown> = {};
  for (const f of row) {
    if (isRecord(f) && typeof f.field === 'string') flat[f.field] = f.value;
  }
  return insightsRowRecord(flat, raw, path);
};

/** A Kubernetes audit event of a plain audit file: one CloudWatch-like message, compact as the API server writes it. */
export const auditRecord = (value: unknown, raw: string, path: string): ParseResult<ExportLogRecord> => {
  if (!isAuditLike(value)) return fail(raw, shape('not a Kubernetes audit event (no kind "Event" or auditID)', path));
  const message = raw.includes('\n') ? JSON.stringify(value) : raw.trim();
  const timestamp =
    messageTimeMs(message) ?? timestampMs(value.stageTimestamp) ?? timestampMs(value.requestReceivedTimestamp);
  if (timestamp === undefined) return noTime(raw, `${path}.stageTimestamp`);
  return ok({ stream: UNKNOWN_AUDIT_STREAM, timestamp, message });
};

/** The stream a record lands in: its own, the file's, or the one its message evidently belongs to. */
export const streamOf = (rec: ExportLogRecord, fileStream?: string): string =>
  rec.stream ?? fileStream ?? guessStream(rec.message.trimStart());

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

export interface DetectInput {
  /** The first bytes of the (decompressed) file as text: enough for its first record. */
  text: string;
  /** True when `text` is the whole file. */
  complete: boolean;
  /** File name (extension hints for YAML). */
  name: string;
}

const looksLikeAwsAuthText = (text: string, name: string): boolean =>
  /\b(mapRoles|mapUsers|mapAccounts)\b/.test(text) &&
  (/\.(ya?ml)$/i.test(name) || /kind:\s*ConfigMap/.test(text) || /"kind"\s*:\s*"ConfigMap"/.test(text));

/** Split a CSV header line into names (quoted or not); enough for the header of an Insights export. */
const csvHeader = (line: string): string[] =>
  line
    .replace(/\r$/, '')
    .split(',')
    .map((h) => h.trim().replace(/^"(.*)"$/, '$1'));

const firstLine = (text: string): string => {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
};

const TEXT_SAMPLE_LINES = 50;
const JSON_LINES_SAMPLE = 5;

const detectJson = (input: DetectInput, body: string): ParseResult<ShapeDetection> => {
  const head = body.trimStart();
  // JSON lines: every line starts a value, and one of the first lines is a whole value on its own.
  // Read line by line, a broken line is then refused alone (a bracket scanner would lose its place
  // in it instead); the first line may itself be the broken one.
  const lines = head.split('\n');
  if (!input.complete) lines.pop();
  const sample = lines
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(0, JSON_LINES_SAMPLE);
  if (sample.length > 0 && sample.every((l) => l.startsWith('{'))) {
    for (const line of sample) {
      const v = tryParseJson(line);
      if (!v.ok) continue;
      const kind = classifyJsonValue({ kind: 'document' }, v.value);
      if (kind === undefined) return unrecognised(line, 'a JSON value of no accepted shape');
      return ok({ shape: kind, syntax: 'json-lines', namesLogGroup: namesGroup(kind, v.value) });
    }
  }
  const scanner = new JsonValueStream(STREAMED_KEYS);
  const items = scanner.push(head);
  if (input.complete) items.push(...scanner.end());
  let tooDeep = false;
  for (const item of items) {
    const parsed = tryParseJson(item.text);
    if (!parsed.ok) {
      tooDeep ||= parsed.tooDeep === true;
      continue;
    }
    if (item.kind === 'document' && isRecord(parsed.value) && Object.keys(parsed.value).length === 0) continue;
    // What is left of a top-level array once its elements were streamed.
    if (item.kind === 'document' && Array.isArray(parsed.value) && parsed.value.length === 0) continue;
    const kind = classifyJsonValue(item, parsed.value);
    if (kind === undefined) return unrecognised(item.text, 'a JSON value of no accepted shape');
    return ok({ shape: kind, syntax: 'json', namesLogGroup: namesGroup(kind, parsed.value) });
  }
  const err = scanner.error;
  if (err) {
    return fail(head.slice(0, 4096), issue('FILE_JSON_SYNTAX', `not valid JSON: ${err.reason} at offset ${err.at}`));
  }
  if (tooDeep) return tooDeepToTell(input, head);
  if (input.complete) return unrecognised(head, 'JSON with no record in it');
  return unrecognised(head, 'its first JSON record is larger than the part read to recognise it');
};

/**
 * Every record in the part read is nested too deep to read (lib/json-depth.ts), so the content cannot
 * tell the shape: the name the replay documents for it does (`<cluster>.filter-log-events.json`,
 * `<cluster>.get-log-events.json`, a CloudTrail object name), and the file is read as that shape, its
 * deep records each refused with INPUT_TOO_DEEP. Without such a name the file is refused whole.
 */
const tooDeepToTell = (input: DetectInput, head: string): ParseResult<ShapeDetection> => {
  const name = input.name ?? '';
  const named = /\.(filter-log-events|get-log-events)\.(json|jsonl)(\.gz)?$/.exec(name)?.[1] as ExportShape | undefined;
  const shape: ExportShape | undefined = named ?? (/cloudtrail/i.test(name) ? 'cloudtrail' : undefined);
  if (shape !== undefined) return ok({ shape, syntax: 'json', namesLogGroup: false });
  return fail(
    head.slice(0, 4096),
    issue(
      'INPUT_TOO_DEEP',
      `its first JSON records are nested deeper than ${MAX_JSON_DEPTH} levels, so its shape cannot be told from them: name the file <cluster>.filter-log-events.json (or .get-log-events.json), or put CloudTrail in its name, to have it read and those records quarantined`,
    ),
  );
};

const namesGroup = (kind: ExportShape, value: unknown): boolean => {
  if (kind === 'subscription-payloads' || kind === 'log-delivery-event') return true;
  if (kind === 'logs-insights-json') return isRecord(value) && typeof value['@log'] === 'string';
  if (kind === 'logs-insights-query-results') {
    return Array.isArray(value) && value.some((f) => isRecord(f) && f.field === '@log');
  }
  return false;
};

/**
 * The shape of a file from its first bytes. Never throws; a refusal names the accepted shapes.
 * Codes: FILE_EMPTY, FILE_JSON_SYNTAX (starts as JSON, is not), FILE_UNRECOGNISED, INPUT_TOO_DEEP
 * (JSON whose records in the part read are all nested too deep, with no name that tells its shape).
 */
export const detectExportShape = (input: DetectInput): ParseResult<ShapeDetection> => {
  if (typeof input?.text !== 'string') return fail('', issue('FILE_UNRECOGNISED', 'no text to recognise'));
  const body = input.text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return fail('', issue('FILE_EMPTY', 'the file is empty'));
  if (body.includes('\u0000')) return unrecognised(body.slice(0, 256), 'binary content (NUL bytes)');
  if (looksLikeAwsAuthText(body, input.name ?? '')) {
    return ok({ shape: 'aws-auth', syntax: 'yaml', namesLogGroup: false });
  }
  const first = body.trimStart()[0];
  if (first === '{' || first === '[') return detectJson(input, body);
  const header = csvHeader(firstLine(body.trimStart()));
  if (header.includes('@message')) {
    return ok({ shape: 'logs-insights-csv', syntax: 'csv', namesLogGroup: header.includes('@log') });
  }
  if (header.includes('@timestamp') && header.length > 1) {
    return unrecognised(
      firstLine(body),
      'a CloudWatch Logs Insights CSV export without the @message column (select it: `fields @timestamp, @message, @logStream, @log`)',
    );
  }
  const lines = body.split('\n');
  if (!input.complete) lines.pop();
  let seen = 0;
  for (const line of lines) {
    const r = parseTextLine(line);
    if (r.ok && r.value.kind === 'blank') continue;
    if (r.ok && r.value.kind === 'record') return ok({ shape: 'log-lines', syntax: 'text', namesLogGroup: false });
    if (!r.ok && r.issues[0].code === 'EXPORT_RECORD_NO_TIME') {
      return ok({ shape: 'log-lines', syntax: 'text', namesLogGroup: false });
    }
    if (++seen >= TEXT_SAMPLE_LINES) break;
  }
  return unrecognised(
    firstLine(body),
    seen > 0
      ? `text whose first ${seen} lines are neither Kubernetes audit events nor authenticator lines`
      : 'text with no line in it',
  );
};

/** What a log shape needs when its records do not name their log group, and how to give it. */
export const logGroupHint = (s: ExportShape): { code: 'FILE_NEEDS_LOG_GROUP' | 'FILE_NEEDS_CLUSTER'; hint: string } =>
  s === 'audit-events' || s === 'audit-event-list'
    ? {
        code: 'FILE_NEEDS_CLUSTER',
        hint: 'Kubernetes audit events do not name their cluster: pass --cluster <name> (or put the file under /aws/eks/<cluster>/cluster/)',
      }
    : {
        code: 'FILE_NEEDS_LOG_GROUP',
        hint: 'this export does not name its log group: pass --log-group /aws/eks/<cluster>/cluster (or --cluster <name>), or name the file <cluster>.filter-log-events.json',
      };

/** Shapes the replay reads through the log pipeline. */
export const isLogShape = (s: ExportShape): boolean => s !== 'cloudtrail' && s !== 'aws-auth';
