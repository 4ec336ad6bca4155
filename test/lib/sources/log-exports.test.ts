import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonValueStream } from '../../../lib/sources/json-stream.js';
import {
  ACCEPTED_SHAPES,
  auditRecord,
  classifyJsonValue,
  detectExportShape,
  type ExportShape,
  type ExportSyntax,
  exportEventRecord,
  insightsRowRecord,
  parseTextLine,
  queryResultRowRecord,
} from '../../../lib/sources/log-exports.js';

const FIX = resolve(__dirname, '../../fixtures');
const SHAPES = join(FIX, 'local/shapes');

const textOf = (path: string): string => {
  const buf = readFileSync(path);
  return (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8');
};
const detect = (path: string, text = textOf(path)) =>
  detectExportShape({ text, complete: true, name: path.split('/').pop() as string });

describe('detectExportShape: every shape users have, on real samples (test/fixtures/SOURCES.md)', () => {
  it.each<[string, ExportShape, ExportSyntax, boolean]>([
    ['local/shapes/aws-cli-filter-log-events.json', 'filter-log-events', 'json', false],
    ['local/shapes/aws-cli-filter-log-events.two-pages.json', 'filter-log-events', 'json', false],
    ['local/shapes/aws-cli-get-log-events.json', 'get-log-events', 'json', false],
    ['local/shapes/aws-cli-get-query-results.json', 'logs-insights-query-results', 'json', false],
    ['local/shapes/karthiksharma-logs-insights-results.csv', 'logs-insights-csv', 'csv', true],
    [
      'local/shapes/exportedlogs/4f15b84a-1adb-492a-820c-c0cedcaf1933/authenticator-1111222272c52cc05e3177863bdcc12d/000000.gz',
      'log-lines',
      'text',
      false,
    ],
    [
      'local/shapes/exportedlogs/4f15b84a-1adb-492a-820c-c0cedcaf1933/kube-apiserver-audit-1111222272c52cc05e3177863bdcc12d/000000.gz',
      'log-lines',
      'text',
      false,
    ],
    ['local/shapes/firehose-s3-object-powertools-payloads', 'subscription-payloads', 'json', true],
    ['sources/cwl/powertools-cloudwatch-base.json', 'log-delivery-event', 'json', true],
    ['sources/cwl/powertools-kinesis-stream-cloudwatch-logs.json', 'log-delivery-event', 'json', true],
    ['sources/cwl/vector-control-message.json', 'subscription-payloads', 'json', true],
    ['local/shapes/falco-audit-events.jsonl', 'audit-events', 'json-lines', false],
    ['local/shapes/falco-audit-events.jsonl.gz', 'audit-events', 'json-lines', false],
    ['local/shapes/falco-audit-events.array.json', 'audit-events', 'json', false],
    ['local/shapes/falco-kiem-audit-events.pretty.json', 'audit-events', 'json', false],
    ['local/shapes/falco-audit-event-list.json', 'audit-event-list', 'json-lines', false],
    ['sim/authenticator-real-lines.log', 'log-lines', 'text', false],
    ['sources/audit/workshop-forbid-kube-scheduler-2023.rejoined.log', 'log-lines', 'text', false],
    ['sources/cloudtrail/awsdocs-createcluster-2018.json', 'cloudtrail', 'json', false],
    ['sources/cloudtrail/lookup-events-output.json', 'cloudtrail', 'json', false],
    ['sources/cloudtrail/eventbridge-cloudtrail-events.json', 'cloudtrail', 'json', false],
    ['identity/aws-auth.yaml', 'aws-auth', 'yaml', false],
  ])('%s is %s (%s)', (file, shape, syntax, namesLogGroup) => {
    expect(detect(join(FIX, file))).toEqual({ ok: true, value: { shape, syntax, namesLogGroup } });
  });

  it('recognises JSON lines whose first line is the broken one (it is then refused alone)', () => {
    const text = textOf(join(SHAPES, 'falco-audit-events.jsonl'));
    const broken = `${text.slice(0, 120)}\n${text.slice(text.indexOf('\n') + 1)}`;
    expect(detectExportShape({ text: broken, complete: true, name: 'x.jsonl' })).toMatchObject({
      ok: true,
      value: { shape: 'audit-events', syntax: 'json-lines' },
    });
  });

  it('recognises a file from its first megabyte alone (the rest is streamed)', () => {
    const text = readFileSync(join(SHAPES, 'aws-cli-filter-log-events.json'), 'utf8');
    const cut = text.slice(0, text.indexOf('"ingestionTime": 1712568070017'));
    expect(detectExportShape({ text: cut, complete: false, name: 'x.json' })).toMatchObject({
      ok: true,
      value: { shape: 'filter-log-events' },
    });
  });
});

describe('detectExportShape refuses, naming the accepted shapes', () => {
  const readme = textOf(join(SHAPES, 'falco-README.md'));
  it.each<[string, string, string, string]>([
    ['a README', readme, 'FILE_UNRECOGNISED', 'neither Kubernetes audit events nor authenticator lines'],
    [
      'an export to S3 of another service (Aurora, pgbadger#609)',
      textOf(join(SHAPES, 'pgbadger-aurora-export-to-s3.txt')),
      'FILE_UNRECOGNISED',
      'neither Kubernetes audit events nor authenticator lines',
    ],
    [
      'an Insights CSV without @message',
      textOf(join(SHAPES, 'blue-team-lab-logs-insights-results.csv')),
      'FILE_UNRECOGNISED',
      'without the @message column',
    ],
    ['an empty file', ' \n\t\n', 'FILE_EMPTY', 'empty'],
    ['JSON of another kind', '{"apiVersion":"v1","kind":"Pod"}\n', 'FILE_UNRECOGNISED', 'no accepted shape'],
    ['a JSON array of numbers', '[1,2,3]', 'FILE_UNRECOGNISED', 'no accepted shape'],
    [
      'JSON that breaks before its first record',
      '{\n  "events": [\n    {"message": "x"]\n',
      'FILE_JSON_SYNTAX',
      'unexpected "]"',
    ],
    ['binary content', 'PK\u0003\u0004\u0000\u0000abc', 'FILE_UNRECOGNISED', 'binary'],
  ])('%s', (_name, text, code, message) => {
    const r = detectExportShape({ text, complete: true, name: 'file' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0].code).toBe(code);
    expect(r.issues[0].message).toContain(message);
    if (code === 'FILE_UNRECOGNISED') for (const s of ACCEPTED_SHAPES) expect(r.issues[0].message).toContain(s);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.json(), fc.stringMatching(/^[{}[\]",:\s@a-z0-9=\n]*$/)),
        fc.boolean(),
        (text, complete) => {
          const r = detectExportShape({ text, complete, name: 'f' });
          expect(typeof r.ok).toBe('boolean');
        },
      ),
    );
  });

  it('never throws on a real sample cut anywhere', () => {
    const samples = [
      'aws-cli-get-query-results.json',
      'falco-audit-events.jsonl',
      'karthiksharma-logs-insights-results.csv',
    ].map((f) => textOf(join(SHAPES, f)));
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.nat(), fc.nat(), (i, a, b) => {
        const t = samples[i] as string;
        const cut = t.slice(Math.min(a, b) % (t.length + 1), Math.max(a, b) % (t.length + 1));
        expect(typeof detectExportShape({ text: cut, complete: a % 2 === 0, name: 'f' }).ok).toBe('boolean');
      }),
    );
  });
});

describe('parseTextLine', () => {
  it.each<[string, string, string | undefined]>([
    [
      'an export-to-S3 authenticator line',
      '2022-05-26T18:55:30.000Z time="2022-05-26T18:55:30Z" level=info msg="access granted"',
      undefined,
    ],
    [
      'an aws logs tail line',
      'authenticator-1111222272c52cc05e3177863bdcc12d time="2022-05-26T18:55:30Z" level=info msg="x"',
      'authenticator-1111222272c52cc05e3177863bdcc12d',
    ],
  ])('reads %s', (_n, line, stream) => {
    const r = parseTextLine(line);
    expect(r.ok && r.value.kind === 'record').toBe(true);
    if (r.ok && r.value.kind === 'record') expect(r.value.record.stream).toBe(stream);
    expect(r.ok && r.value.kind === 'record' && r.value.record.timestamp).toBe(Date.parse('2022-05-26T18:55:30Z'));
  });

  it.each<[string, string, string]>([
    [
      'a line of another service',
      '2019-08-09T18:00:00.000Z 2019-08-09 18:00:00 UTC:LOG:  duration',
      'EXPORT_LINE_UNRECOGNISED',
    ],
    ['an authenticator line with no time anywhere', 'level=info msg="access granted"', 'EXPORT_RECORD_NO_TIME'],
  ])('refuses %s', (_n, line, code) => {
    const r = parseTextLine(line);
    expect(!r.ok && r.issues[0].code).toBe(code);
  });

  it('counts a line of another control-plane stream instead of reading it', () => {
    expect(parseTextLine('kube-scheduler-0123abcd I0101 12:00:00.000 scheduled')).toEqual({
      ok: true,
      value: { kind: 'other-stream', stream: 'kube-scheduler-0123abcd' },
    });
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (line, stream) => {
        expect(typeof parseTextLine(line, stream).ok).toBe('boolean');
      }),
    );
  });
});

describe('record readers', () => {
  it.each<[string, unknown, string]>([
    ['an event without a message', { timestamp: 1, eventId: 'x' }, 'EXPORT_RECORD_SHAPE'],
    ['an event that is not an object', 42, 'EXPORT_RECORD_SHAPE'],
    ['an event with no time anywhere', { message: 'level=info msg="x"' }, 'EXPORT_RECORD_NO_TIME'],
  ])('exportEventRecord refuses %s', (_n, value, code) => {
    const r = exportEventRecord(value, JSON.stringify(value), 'events[0]');
    expect(!r.ok && r.issues[0].code).toBe(code);
  });

  it.each<[string, unknown, string]>([
    ['a row without @message', { '@timestamp': '2024-05-19 06:10:35.743' }, 'EXPORT_RECORD_SHAPE'],
    [
      'a row with an unreadable @timestamp and a message without time',
      { '@timestamp': 'yesterday', '@message': 'x' },
      'EXPORT_RECORD_NO_TIME',
    ],
  ])('insightsRowRecord refuses %s', (_n, value, code) => {
    const r = insightsRowRecord(value, JSON.stringify(value), 'row 1');
    expect(!r.ok && r.issues[0].code).toBe(code);
  });

  it('never throw, and classify any value without throwing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (v, key) => {
        const raw = JSON.stringify(v) ?? '';
        for (const f of [exportEventRecord, insightsRowRecord, queryResultRowRecord, auditRecord]) {
          expect(typeof f(v, raw, 'x').ok).toBe('boolean');
        }
        classifyJsonValue({ kind: 'element', key }, v);
        classifyJsonValue({ kind: 'document' }, v);
      }),
    );
  });
});

describe('JsonValueStream', () => {
  const keys = new Set(['events', 'items']);
  const run = (chunks: string[]) => {
    const s = new JsonValueStream(keys);
    const items = chunks.flatMap((c) => s.push(c));
    items.push(...s.end());
    return { items, error: s.error };
  };

  it('streams the elements of a listed key and keeps the envelope without them', () => {
    const text = '{"nextToken":"a","events":[{"m":"}]"},{"m":2}],"x":[1,2]}{"events":[]}';
    const { items, error } = run([text]);
    expect(error).toBeUndefined();
    expect(items.map((i) => [i.kind, i.kind === 'element' ? i.key : undefined, i.text])).toEqual([
      ['element', 'events', '{"m":"}]"}'],
      ['element', 'events', '{"m":2}'],
      ['document', undefined, '{"nextToken":"a","events":[],"x":[1,2]}'],
      ['document', undefined, '{"events":[]}'],
    ]);
  });

  it('gives the same pieces whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ events: fc.array(fc.jsonValue(), { maxLength: 4 }), other: fc.jsonValue() }),
            fc.array(fc.jsonValue(), { maxLength: 4 }),
            fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
          ),
          { maxLength: 4 },
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (docs, cuts, pretty) => {
          const text = docs.map((d) => JSON.stringify(d, null, pretty ? 2 : undefined)).join('\n');
          const whole = run([text]);
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points, text.length]
            .slice(1)
            .map((end, k, arr) => text.slice(k === 0 ? 0 : (arr[k - 1] as number), end));
          const split = run([text.slice(0, points[0] ?? text.length), ...chunks.slice(1)]);
          expect(split.items).toEqual(whole.items);
          expect(whole.error).toBeUndefined();
          // Every element parses back to what was written.
          for (const it of whole.items) JSON.parse(it.text);
        },
      ),
    );
  });

  it.each([
    ['a scalar at top level', '{"a":1} 42', 'expected "{" or "[" at top level'],
    ['a mismatched bracket', '{"events":[{"a":1]}', 'unexpected "]"'],
    ['an unterminated value', '{"events":[{"a":1}', 'unterminated JSON value at the end of the text'],
  ])('reports %s', (_n, text, reason) => {
    expect(run([text]).error?.reason).toBe(reason);
  });

  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 5 }), (chunks) => {
        run(chunks);
      }),
    );
  });
});
