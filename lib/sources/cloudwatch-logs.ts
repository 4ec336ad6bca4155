/**
 * CloudWatch Logs subscription payloads (docs/formats.md §4) in every delivery, plus the CLI export formats
 * the local `replay` reads. One payload = one log group + one log stream, like AWS delivers them.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { constants, gunzipSync } from 'node:zlib';
import { boundedJsonText, exceedsJsonDepth, jsonTextOf } from '../json-depth.js';
import { fail, failWith, type Issue, isNonEmpty, issue, mapIssues, ok, type ParseResult, rawText } from '../result.js';
import { isRecord, jsonFailureCode, splitJsonValues, tryParseJson } from './json-stream.js';
import { redactIssues, redactText } from './redact.js';
import { splitCloudWatchPrefix, timestampMs } from './timestamps.js';
import type { CloudWatchLogEvent, CloudWatchLogsPayload, LogEventOrigin, LogStreamKind } from './types.js';

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === GZIP_MAGIC_0 && b[1] === GZIP_MAGIC_1;

const trailingPads = (s: string): number => (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);

/**
 * Strict base64: Buffer.from(…, 'base64') silently skips junk, which would hide a wrong field.
 * Fast path for what AWS sends (padded, no blanks): decode, then check that every character counted
 * as a digit. With a length that is a multiple of 4, any skipped or early-stopping character makes the
 * output shorter than (length - padding) * 3 / 4; Node's decoder also takes the base64url digits
 * `-` and `_`, so those are refused explicitly. A regex over the text costs ten times the decode.
 */
export const decodeBase64 = (text: string): ParseResult<Buffer> => {
  if (typeof text !== 'string') return fail(rawText(text), issue('ENVELOPE_NOT_BASE64', 'data is not a string'));
  if (text.length > 0 && text.length % 4 === 0 && !text.includes('-') && !text.includes('_')) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length === Math.floor(((text.length - trailingPads(text)) * 3) / 4)) return ok(bytes);
  }
  const s = text.replace(/\s+/g, '');
  if (s.length === 0) return fail(text, issue('ENVELOPE_NOT_BASE64', 'empty data'));
  if (s.length % 4 === 1 || !BASE64.test(s)) return fail(text, issue('ENVELOPE_NOT_BASE64', 'not base64'));
  return ok(Buffer.from(s, 'base64'));
};

/** gunzip, including multi-member streams (Firehose S3 objects are gzip members back to back). */
export const gunzip = (bytes: Uint8Array, raw = ''): ParseResult<Buffer> => {
  if (!isGzip(bytes)) return fail(raw, issue('ENVELOPE_NOT_GZIP', 'data does not start with the gzip magic bytes'));
  try {
    return ok(gunzipSync(bytes));
  } catch (e) {
    return fail(raw, issue('ENVELOPE_NOT_GZIP', `gzip: ${e instanceof Error ? e.message : String(e)}`));
  }
};

const shapeIssue = (message: string, path?: string): Issue => issue('ENVELOPE_SHAPE', message, path);

/**
 * The raw text a refused delivery keeps: decoded as far as it goes, so that it can be redacted and
 * read. Gzip is inflated as far as it is intact (a cut stream still yields its start); bytes that are
 * UTF-8 text are kept as text; only bytes that are neither stay as delivered (`asDelivered`, base64).
 */
const readableRaw = (bytes: Uint8Array, asDelivered: string): string => {
  let text: Buffer | undefined;
  if (isGzip(bytes)) {
    try {
      text = gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      text = undefined;
    }
  } else text = Buffer.from(bytes);
  return text !== undefined && text.length > 0 && isUtf8(text) ? text.toString('utf8') : asDelivered;
};

/** A refusal with its raw text and issue messages redacted (lib/sources/redact.ts). */
const redactRefusal = <T>(r: ParseResult<T>): ParseResult<T> =>
  r.ok ? r : failWith(redactText(r.raw), redactIssues(r.issues));

const INVALID_UTF8 = 'the delivered bytes are not valid UTF-8: invalid sequences were read as U+FFFD';

/** Validate the decoded JSON of one subscription payload. `extractedFields` and unknown keys are dropped. */
export const validatePayload = (v: unknown, at = ''): ParseResult<CloudWatchLogsPayload> => {
  const p = (k: string): string => (at ? `${at}.${k}` : k);
  // The raw text is rendered only for a rejection: stringifying every payload (up to 1 MB) would
  // cost as much as parsing it.
  if (!isRecord(v)) return fail(redactText(rawText(v)), shapeIssue('payload is not a JSON object', at || undefined));
  const issues: Issue[] = [];
  const { messageType, owner, logGroup, logStream, subscriptionFilters, logEvents } = v;
  if (messageType !== 'DATA_MESSAGE' && messageType !== 'CONTROL_MESSAGE') {
    issues.push(shapeIssue(`messageType ${JSON.stringify(messageType)}`, p('messageType')));
  }
  for (const [k, val] of [
    ['owner', owner],
    ['logGroup', logGroup],
    ['logStream', logStream],
  ] as const) {
    if (typeof val !== 'string') issues.push(shapeIssue(`${k} is not a string`, p(k)));
  }
  const filters = subscriptionFilters ?? [];
  if (!Array.isArray(filters) || !filters.every((f) => typeof f === 'string')) {
    issues.push(shapeIssue('subscriptionFilters is not an array of strings', p('subscriptionFilters')));
  }
  const events: CloudWatchLogEvent[] = [];
  if (!Array.isArray(logEvents)) issues.push(shapeIssue('logEvents is not an array', p('logEvents')));
  else {
    for (let i = 0; i < logEvents.length; i++) {
      const e: unknown = logEvents[i];
      if (!isRecord(e)) {
        issues.push(shapeIssue('log event is not an object', p(`logEvents[${i}]`)));
        continue;
      }
      const { id, timestamp, message } = e;
      if (typeof id === 'string' && typeof timestamp === 'number' && Number.isFinite(timestamp)) {
        if (typeof message === 'string') {
          events.push({ id, timestamp, message });
          continue;
        }
      }
      const ep = p(`logEvents[${i}]`);
      if (typeof id !== 'string') issues.push(shapeIssue('id is not a string', `${ep}.id`));
      if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
        issues.push(shapeIssue('timestamp is not a number', `${ep}.timestamp`));
      }
      if (typeof message !== 'string') issues.push(shapeIssue('message is not a string', `${ep}.message`));
    }
  }
  if (isNonEmpty(issues)) return failWith(redactText(rawText(v)), issues);
  return ok({
    messageType: messageType as CloudWatchLogsPayload['messageType'],
    owner: owner as string,
    logGroup: logGroup as string,
    logStream: logStream as string,
    subscriptionFilters: [...(filters as string[])],
    logEvents: events,
  });
};

/** Bytes that are not UTF-8 are still read (as U+FFFD), never silently: the payload is flagged. */
const parsePayloadBytes = (bytes: Buffer): ParseResult<CloudWatchLogsPayload> => {
  const valid = isUtf8(bytes);
  const text = bytes.toString('utf8');
  const j = tryParseJson(text);
  const utf8Issues = valid ? [] : [issue('INPUT_INVALID_UTF8', INVALID_UTF8)];
  if (!j.ok) return fail(text, issue(jsonFailureCode(j, 'ENVELOPE_NOT_JSON'), j.error), ...utf8Issues);
  const v = validatePayload(j.value);
  if (!v.ok) return fail(text, ...v.issues, ...utf8Issues);
  if (!valid) v.value.invalidUtf8 = true;
  return v;
};

/** Lambda subscription: `event.awslogs.data` = base64(gzip(payload JSON)). */
export const decodeAwsLogsData = (base64: string): ParseResult<CloudWatchLogsPayload> => {
  const bytes = decodeBase64(base64);
  if (!bytes.ok) return redactRefusal(bytes);
  const json = gunzip(bytes.value, base64);
  if (!json.ok) return redactRefusal(failWith(readableRaw(bytes.value, base64), json.issues));
  return redactRefusal(parsePayloadBytes(json.value));
};

/**
 * Kinesis Data Streams (same account or through a cross-account Logs destination): the record data
 * is the same gzip(payload) bytes; a Lambda Kinesis trigger hands them over base64-encoded.
 */
export const decodeKinesisData = (base64: string): ParseResult<CloudWatchLogsPayload> => decodeAwsLogsData(base64);

/**
 * Several payloads in one blob: a Firehose S3 object (gzip members back to back, decompressing to
 * `{…}{…}` with no delimiter) or the decompressed form. All-or-nothing: the blob was written by AWS,
 * so one bad member means a corrupted object, reported with the member's index.
 */
export const decodeConcatenatedPayloads = (bytes: Uint8Array): ParseResult<CloudWatchLogsPayload[]> =>
  redactRefusal(decodeConcatenated(bytes));

const decodeConcatenated = (bytes: Uint8Array): ParseResult<CloudWatchLogsPayload[]> => {
  const asDelivered = Buffer.from(bytes).toString('base64');
  let decoded: Buffer;
  if (isGzip(bytes)) {
    const g = gunzip(bytes, asDelivered);
    if (!g.ok) return failWith(readableRaw(bytes, asDelivered), g.issues);
    decoded = g.value;
  } else {
    decoded = Buffer.from(bytes);
    if (!/^\s*[[{]/.test(decoded.toString('utf8', 0, 64))) {
      return fail(readableRaw(bytes, asDelivered), issue('ENVELOPE_NOT_GZIP', 'neither gzip nor JSON'));
    }
  }
  const valid = isUtf8(decoded);
  const text = decoded.toString('utf8');
  const raw = text;
  const split = splitJsonValues(text);
  if (!split.ok) return fail(raw, issue('ENVELOPE_NOT_JSON', `${split.reason} at offset ${split.at}`));
  if (split.chunks.length === 0) return fail(raw, issue('ENVELOPE_NOT_JSON', 'no JSON value'));
  const out: CloudWatchLogsPayload[] = [];
  const issues: Issue[] = valid ? [] : [issue('INPUT_INVALID_UTF8', INVALID_UTF8)];
  for (const [i, c] of split.chunks.entries()) {
    const j = tryParseJson(c.text);
    if (!j.ok) {
      issues.push(issue(jsonFailureCode(j, 'ENVELOPE_NOT_JSON'), j.error, `[${i}]`));
      continue;
    }
    // A pretty-printed array of payloads (e.g. decoded samples) is accepted as well.
    const values = Array.isArray(j.value) ? j.value : [j.value];
    for (const [k, v] of values.entries()) {
      const r = validatePayload(v, Array.isArray(j.value) ? `[${i}][${k}]` : `[${i}]`);
      if (r.ok) {
        if (!valid) r.value.invalidUtf8 = true;
        out.push(r.value);
      } else issues.push(...r.issues);
    }
  }
  // Invalid UTF-8 alone does not refuse the blob: its payloads carry the flag.
  const refusals = issues.filter((x) => x.code !== 'INPUT_INVALID_UTF8');
  return refusals.length > 0 && isNonEmpty(issues) ? failWith(raw, issues) : ok(out);
};

/**
 * Firehose record data (a transformation Lambda's `records[].data`): base64 of one gzip member, or
 * of plain JSON when the stream's Decompression option is on. Returned as a list because a record
 * decompressed by Firehose may hold several payloads back to back.
 */
export const decodeFirehoseData = (base64: string): ParseResult<CloudWatchLogsPayload[]> => {
  const bytes = decodeBase64(base64);
  if (!bytes.ok) return redactRefusal(bytes);
  return decodeConcatenatedPayloads(bytes.value);
};

/** Health checks of the destination, sent when a subscription is created: acknowledge and drop. */
export const isControlMessage = (p: Pick<CloudWatchLogsPayload, 'messageType'>): boolean =>
  p.messageType === 'CONTROL_MESSAGE';

// EKS cluster names: 1-100 of [A-Za-z0-9_-], starting with an alphanumeric.
const EKS_LOG_GROUP = /^\/aws\/eks\/([0-9A-Za-z][A-Za-z0-9_-]{0,99})\/cluster$/;

/** Cluster name of an EKS control-plane log group `/aws/eks/<name>/cluster`. */
export const clusterFromLogGroup = (logGroup: string): ParseResult<string> => {
  const m = typeof logGroup === 'string' ? EKS_LOG_GROUP.exec(logGroup) : null;
  if (!m) {
    return fail(
      rawText(logGroup),
      issue('ENVELOPE_NOT_EKS_LOG_GROUP', `${JSON.stringify(logGroup)} is not /aws/eks/<cluster>/cluster`, 'logGroup'),
    );
  }
  return ok(m[1] as string);
};

/**
 * Stream kind by name (docs/formats.md §0): `kube-apiserver-audit-<hex>` is audit, `authenticator-<hex>` is
 * the authenticator; `kube-apiserver-<hex>` (no `-audit`) and the other components are 'other'.
 */
export const streamKind = (logStream: string): LogStreamKind => {
  if (typeof logStream !== 'string') return 'other';
  if (logStream.startsWith('kube-apiserver-audit-')) return 'audit';
  if (logStream.startsWith('authenticator-')) return 'authenticator';
  return 'other';
};

const REPLACEMENT = '\uFFFD';

/**
 * One origin per log event; a control message has none. When the payload's bytes were not valid
 * UTF-8, the events that show a replacement character (in their message or id, or in the group,
 * stream or owner they share) are flagged `invalidUtf8`: what was stored is not what was sent.
 */
export const logEventOrigins = (payload: CloudWatchLogsPayload): ParseResult<LogEventOrigin[]> => {
  if (isControlMessage(payload)) return ok([]);
  const cluster = clusterFromLogGroup(payload.logGroup);
  if (!cluster.ok) return fail(redactText(rawText(payload)), ...cluster.issues);
  const kind = streamKind(payload.logStream);
  const shared =
    payload.invalidUtf8 === true &&
    [payload.owner, payload.logGroup, payload.logStream].some((s) => s.includes(REPLACEMENT));
  return ok(
    payload.logEvents.map((e) => {
      const origin: LogEventOrigin = {
        cluster: cluster.value,
        accountId: payload.owner,
        logGroup: payload.logGroup,
        logStream: payload.logStream,
        streamKind: kind,
        eventId: e.id,
        timestamp: e.timestamp,
      };
      if (payload.invalidUtf8 && (shared || e.message.includes(REPLACEMENT) || e.id.includes(REPLACEMENT))) {
        origin.invalidUtf8 = true;
      }
      return origin;
    }),
  );
};

// ---------------------------------------------------------------------------------------------
// Local-mode exports (CLI replay)
// ---------------------------------------------------------------------------------------------

export interface LogExportOptions {
  /** Not present in `filter-log-events` / `get-log-events` output; needed to know the cluster. */
  logGroup?: string;
  /** Stream of events whose export does not name one (get-log-events, bare text lines). */
  logStream?: string;
  /** Becomes the payload `owner`. */
  accountId?: string;
}

/**
 * Stable id for an event exported without one: the same file replayed twice yields the same ids,
 * so idempotent writes stay idempotent. Prefixed so it can never collide with a 56-digit CloudWatch id.
 */
export const syntheticEventId = (stream: string, timestamp: number, index: number, message: string): string => {
  const messageHash = createHash('sha256').update(message).digest('hex');
  const h = createHash('sha256').update(`${stream}\n${timestamp}\n${index}\n${messageHash}`).digest('hex');
  return `syn-${h.slice(0, 40)}`;
};

// Stream names used when an export names none and no logStream option was given: chosen so that
// streamKind() still routes the message by what it evidently is.
export const UNKNOWN_AUDIT_STREAM = 'kube-apiserver-audit-unknown';
export const UNKNOWN_AUTHENTICATOR_STREAM = 'authenticator-unknown';
export const UNKNOWN_STREAM = 'unknown';

export const looksLikeAudit = (m: string): boolean => m.startsWith('{');
export const looksLikeLogrus = (m: string): boolean => /^(?:time|level|msg)=/.test(m);

export const guessStream = (message: string): string =>
  looksLikeAudit(message)
    ? UNKNOWN_AUDIT_STREAM
    : looksLikeLogrus(message)
      ? UNKNOWN_AUTHENTICATOR_STREAM
      : UNKNOWN_STREAM;

/** When a line carries no CloudWatch timestamp, fall back to the time the message states. */
export const messageTimeMs = (message: string): number | undefined => {
  const audit = /"stageTimestamp":"([^"]+)"/.exec(message) ?? /"requestReceivedTimestamp":"([^"]+)"/.exec(message);
  if (audit) return timestampMs(audit[1]);
  const logrus = /(?:^|\s)time="([^"]+)"/.exec(message);
  return logrus ? timestampMs(logrus[1]) : undefined;
};

interface Collected {
  stream: string;
  timestamp: number;
  message: string;
  id?: string;
  /** Only Logs Insights exports name the group (and account) per row. */
  logGroup?: string;
  owner?: string;
}

// CloudWatch stream names cannot contain ':' or '*'.
const STREAM_TOKEN = /^([^\s:*]+)[ \t]+/;

/** One text line: `[<cw timestamp> ][<stream> ]<message>` (console / Insights / `aws logs tail`). */
const collectTextLine = (line: string, opts: LogExportOptions): Collected | undefined => {
  const trimmed = line.replace(/\r$/, '');
  if (trimmed.trim() === '') return undefined;
  const { prefixMs, rest } = splitCloudWatchPrefix(trimmed.trimStart());
  let stream: string | undefined;
  let message = rest;
  if (!looksLikeAudit(rest) && !looksLikeLogrus(rest)) {
    const m = STREAM_TOKEN.exec(rest);
    const after = m ? rest.slice(m[0].length) : '';
    if (m && (looksLikeAudit(after) || looksLikeLogrus(after))) {
      stream = m[1];
      message = after;
    }
  }
  return {
    stream: stream ?? opts.logStream ?? guessStream(message),
    timestamp: prefixMs ?? messageTimeMs(message) ?? 0,
    message,
  };
};

const group = (items: Collected[], opts: LogExportOptions): CloudWatchLogsPayload[] => {
  const byStream = new Map<string, CloudWatchLogsPayload>();
  for (const it of items) {
    const logGroup = opts.logGroup ?? it.logGroup ?? '';
    const key = `${logGroup}\n${it.stream}`;
    let p = byStream.get(key);
    if (!p) {
      p = {
        messageType: 'DATA_MESSAGE',
        owner: opts.accountId ?? it.owner ?? '',
        logGroup,
        logStream: it.stream,
        subscriptionFilters: [],
        logEvents: [],
      };
      byStream.set(key, p);
    }
    const index = p.logEvents.length;
    p.logEvents.push({
      id: it.id ?? syntheticEventId(it.stream, it.timestamp, index, it.message),
      timestamp: it.timestamp,
      message: it.message,
    });
  }
  return [...byStream.values()];
};

type Doc = { kind: 'items'; items: Collected[] } | { kind: 'payloads'; payloads: CloudWatchLogsPayload[] };

const fromExportEvents = (
  doc: Record<string, unknown>,
  path: string,
  opts: LogExportOptions,
): ParseResult<Collected[]> => {
  const events = doc.events;
  if (!Array.isArray(events)) return fail(rawText(doc), shapeIssue('events is not an array', `${path}.events`));
  const out: Collected[] = [];
  const issues: Issue[] = [];
  for (const [i, e] of events.entries()) {
    const ep = `${path}.events[${i}]`;
    if (!isRecord(e) || typeof e.message !== 'string') {
      issues.push(shapeIssue('event without a string message', ep));
      continue;
    }
    const ts = typeof e.timestamp === 'number' ? e.timestamp : timestampMs(e.timestamp);
    if (ts === undefined) {
      issues.push(shapeIssue('event without a timestamp', `${ep}.timestamp`));
      continue;
    }
    // filter-log-events names the stream per event; get-log-events does not (one stream per call).
    const stream =
      typeof e.logStreamName === 'string' && e.logStreamName !== ''
        ? e.logStreamName
        : (opts.logStream ?? guessStream(e.message.trimStart()));
    const c: Collected = { stream, timestamp: ts, message: e.message };
    if (typeof e.eventId === 'string' && e.eventId !== '') c.id = e.eventId;
    out.push(c);
  }
  return isNonEmpty(issues) ? failWith(rawText(doc), issues) : ok(out);
};

/** Decode one JSON document of an export: CLI output, a captured Lambda / Kinesis / Firehose event, a payload. */
/**
 * A Logs Insights JSON export row: `{"@timestamp":"2023-03-23 15:00:41.719","@message":…,
 * "@logStream":…,"@log":"<account>:<group>"}` (timestamps in UTC without a zone).
 */
const fromInsightsRow = (row: unknown, opts: LogExportOptions): Collected | undefined => {
  if (!isRecord(row) || typeof row['@message'] !== 'string') return undefined;
  const message = row['@message'];
  const c: Collected = {
    stream:
      typeof row['@logStream'] === 'string' && row['@logStream'] !== ''
        ? row['@logStream']
        : (opts.logStream ?? guessStream(message.trimStart())),
    timestamp: timestampMs(row['@timestamp']) ?? messageTimeMs(message) ?? 0,
    message,
  };
  const log = typeof row['@log'] === 'string' ? /^(\d{12}):(.+)$/.exec(row['@log']) : null;
  if (log) {
    c.owner = log[1] as string;
    c.logGroup = log[2] as string;
  }
  return c;
};

const auditText = (message: string, opts: LogExportOptions): Collected => ({
  stream: opts.logStream ?? UNKNOWN_AUDIT_STREAM,
  timestamp: messageTimeMs(message) ?? 0,
  message,
});

/**
 * Audit events as JSON lines or pretty-printed: one CloudWatch message each, kept compact (one line)
 * as the API server writes them. An event nested too deep to re-serialise is written out without
 * recursion: its parser then quarantines it (INPUT_TOO_DEEP) and the export's other events go on.
 */
const auditItem = (value: Record<string, unknown>, text: string | undefined, opts: LogExportOptions): Collected => {
  if (text !== undefined && !text.includes('\n')) return auditText(text, opts);
  return auditText(exceedsJsonDepth(value) ? jsonTextOf(value) : JSON.stringify(value), opts);
};

const isAuditLike = (v: unknown): v is Record<string, unknown> => isRecord(v) && (v.kind === 'Event' || 'auditID' in v);

const fromJsonDoc = (v: unknown, path: string, opts: LogExportOptions): ParseResult<Doc> => {
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((row) => isRecord(row) && typeof row['@message'] === 'string')) {
      return ok({ kind: 'items', items: v.map((row) => fromInsightsRow(row, opts) as Collected) });
    }
    if (v.length > 0 && v.every(isAuditLike)) {
      return ok({ kind: 'items', items: v.map((e) => auditItem(e, undefined, opts)) });
    }
    if (exceedsJsonDepth(v)) return fail(boundedJsonText(v), issue('INPUT_TOO_DEEP', 'JSON nested too deep', path));
    const payloads: CloudWatchLogsPayload[] = [];
    for (const [i, item] of v.entries()) {
      const r = validatePayload(item, `${path}[${i}]`);
      if (!r.ok) return r;
      payloads.push(r.value);
    }
    return ok({ kind: 'payloads', payloads });
  }
  if (!isRecord(v)) return fail(rawText(v), shapeIssue('not a JSON object', path));
  if (exceedsJsonDepth(v)) return fail(boundedJsonText(v), issue('INPUT_TOO_DEEP', 'JSON nested too deep', path));
  if (Array.isArray(v.events)) {
    const r = fromExportEvents(v, path, opts);
    return r.ok ? ok({ kind: 'items', items: r.value }) : r;
  }
  if ('messageType' in v) {
    const r = validatePayload(v, path);
    return r.ok ? ok({ kind: 'payloads', payloads: [r.value] }) : r;
  }
  if (isRecord(v.awslogs)) {
    const r = decodeAwsLogsData(v.awslogs.data as string);
    return r.ok ? ok({ kind: 'payloads', payloads: [r.value] }) : r;
  }
  const records = Array.isArray(v.Records) ? v.Records : Array.isArray(v.records) ? v.records : undefined;
  if (records) {
    const payloads: CloudWatchLogsPayload[] = [];
    for (const [i, rec] of records.entries()) {
      const data = isRecord(rec) ? (isRecord(rec.kinesis) ? rec.kinesis.data : rec.data) : undefined;
      const r = decodeFirehoseData(data as string);
      if (!r.ok)
        return failWith(
          rawText(v),
          mapIssues(r.issues, (x) => ({ ...x, path: `${path}.Records[${i}]` })),
        );
      payloads.push(...r.value);
    }
    return ok({ kind: 'payloads', payloads });
  }
  return fail(rawText(v), shapeIssue('not a log export, subscription payload or delivery event', path));
};

/**
 * Read a local export into subscription-shaped payloads, one per stream (events keep their order):
 *  - `aws logs filter-log-events` JSON (stream per event, event ids kept),
 *  - `aws logs get-log-events` JSON (no stream, no ids: `opts.logStream` and synthetic ids),
 *  - Logs Insights JSON exports (`@timestamp`, `@message`, `@logStream`, `@log` per row),
 *  - audit events as JSON lines, a JSON array or pretty-printed,
 *  - several such documents appended, decoded subscription payloads, captured Lambda/Kinesis events,
 *  - text lines, each optionally prefixed by a CloudWatch timestamp and/or an `aws logs tail` stream.
 * The log group is never in these exports: pass it as `opts.logGroup`.
 */
export const parseLogExport = (text: string, opts: LogExportOptions = {}): ParseResult<CloudWatchLogsPayload[]> =>
  // The events themselves are redacted by their parsers; a refusal is printed (replay's error), so
  // its raw text and messages are redacted here.
  redactRefusal(readExport(text, opts));

const readExport = (text: string, opts: LogExportOptions): ParseResult<CloudWatchLogsPayload[]> => {
  if (typeof text !== 'string') return fail(rawText(text), shapeIssue('export is not text'));
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return fail(text, shapeIssue('empty export'));
  const first = body.trimStart()[0];
  // JSON documents (exports, payloads, audit events); anything that does not split into valid JSON
  // (e.g. a truncated audit line, or prefixed lines) is read line by line instead.
  if (first === '{' || first === '[') {
    const split = splitJsonValues(body);
    if (split.ok) {
      const items: Collected[] = [];
      const payloads: CloudWatchLogsPayload[] = [];
      let allDocs = true;
      const issues: Issue[] = [];
      for (const [i, c] of split.chunks.entries()) {
        // Depth is checked per document below (fromJsonDoc), and per audit event by its parser.
        const j = tryParseJson(c.text, Number.POSITIVE_INFINITY);
        if (!j.ok) {
          allDocs = false;
          break;
        }
        if (isAuditLike(j.value)) {
          items.push(auditItem(j.value, c.text, opts));
          continue;
        }
        const d = fromJsonDoc(j.value, `[${i}]`, opts);
        if (!d.ok) {
          issues.push(...d.issues);
          continue;
        }
        if (d.value.kind === 'items') items.push(...d.value.items);
        else payloads.push(...d.value.payloads);
      }
      if (allDocs) {
        if (isNonEmpty(issues)) return failWith(text, issues);
        return ok([...payloads, ...group(items, opts)]);
      }
    }
  }
  const items = body
    .split('\n')
    .map((l) => collectTextLine(l, opts))
    .filter((c): c is Collected => c !== undefined);
  return ok(group(items, opts));
};
