import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ReplayItem, readExport } from '../../../lib/local/export-reader.js';
import type { ShapeDetection } from '../../../lib/sources/log-exports.js';

const SHAPES = resolve(__dirname, '../../fixtures/local/shapes');

async function* chunks(parts: string[]): AsyncGenerator<string> {
  for (const p of parts) yield p;
}

const read = async (parts: string[], d: ShapeDetection, fileStream?: string): Promise<ReplayItem[]> => {
  const out: ReplayItem[] = [];
  for await (const item of readExport(chunks(parts), d, fileStream ? { fileStream } : {})) out.push(item);
  return out;
};

const DETECTIONS: ShapeDetection[] = [
  { shape: 'filter-log-events', syntax: 'json', namesLogGroup: false },
  { shape: 'audit-events', syntax: 'json-lines', namesLogGroup: false },
  { shape: 'logs-insights-csv', syntax: 'csv', namesLogGroup: true },
  { shape: 'log-lines', syntax: 'text', namesLogGroup: false },
  { shape: 'cloudtrail', syntax: 'json', namesLogGroup: false },
];

const KINDS = new Set(['log', 'payload', 'cloudtrail', 'other-stream', 'envelope', 'refused', 'broken']);

describe('readExport', () => {
  it('hands on each record of a real CSV export with its row, multi-line messages whole', async () => {
    const text = readFileSync(join(SHAPES, 'karthiksharma-logs-insights-results.csv'), 'utf8');
    const items = await read([text.slice(0, 1000), text.slice(1000)], DETECTIONS[2] as ShapeDetection);
    expect(items).toHaveLength(20);
    expect(items[0]).toMatchObject({
      kind: 'log',
      index: 'row 1 (line 3)',
      record: {
        stream: '2023/07/13/[$LATEST]17b2abd831cf4b8cb62ce8dee8d82504',
        owner: '435639112445',
        logGroup: '/aws/lambda/redis-stack-charge_request_redis-lambda-fn',
        timestamp: Date.parse('2023-07-13T13:16:17.801Z'),
      },
    });
    expect(items[0]?.kind === 'log' && items[0].record.message.endsWith('\t\n')).toBe(true);
  });

  it('refuses a CSV row with an unclosed quote without swallowing the file into memory', async () => {
    const text = readFileSync(join(SHAPES, 'karthiksharma-logs-insights-results.csv'), 'utf8');
    const rows = text.split('\n2023-07-13 ');
    const broken = `${rows[0]}\n2023-07-13 ${rows[1]}\n2023-07-13 13:16:17.801,"never closed ${'x'.repeat(3 * 1024 * 1024)}`;
    const items = await read([broken.slice(0, 5000), broken.slice(5000)], DETECTIONS[2] as ShapeDetection);
    // The good row lands; the bad one is refused at the size bound, and what follows it up to the end
    // of the file (still inside the unclosed quote) is refused as well, each with its line.
    expect(items.filter((i) => i.kind === 'log')).toHaveLength(1);
    const refused = items.filter((i) => i.kind === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r).toMatchObject({ issues: [{ code: 'EXPORT_CSV_ROW' }] });
      expect(JSON.stringify(r).length).toBeLessThan(3 * 1024 * 1024);
    }
  });

  it('resumes after a break in pretty-printed documents at the next one, quarantining what lies between', async () => {
    const text = readFileSync(join(SHAPES, 'falco-kiem-audit-events.pretty.json'), 'utf8');
    const second = text.indexOf('\n{', 10) + 1;
    // A document cut short by a bad write between the first and the second.
    const broken = `${text.slice(0, second)}{"kind": "Event", "auditID": ]\n${text.slice(second)}`;
    const resumed = broken.indexOf('\n{', second) + 1;
    for (const cut of [7, second + 10, broken.length - 10]) {
      const items = await read([broken.slice(0, cut), broken.slice(cut)], {
        shape: 'audit-events',
        syntax: 'json',
        namesLogGroup: false,
      });
      expect(items.map((i) => i.kind)).toEqual(['log', 'broken', 'log', 'log']);
      expect(items[1]).toMatchObject({ index: `offset ${broken.indexOf(']', second)}` });
      expect((items[1] as { issues: { message: string }[] }).issues[0]?.message).toContain(
        `reading resumed at offset ${resumed}`,
      );
      expect(items.slice(2).map((i) => (i.kind === 'log' ? i.index : ''))).toEqual(['document 3', 'document 4']);
    }
  });

  it('refuses one bad JSON line alone, with its line number, and reads the others', async () => {
    const lines = readFileSync(join(SHAPES, 'falco-audit-events.jsonl'), 'utf8').split('\n');
    lines[1] = (lines[1] as string).slice(0, 200);
    const items = await read([lines.join('\n')], DETECTIONS[1] as ShapeDetection);
    expect(items.map((i) => [i.kind, 'index' in i ? i.index : ''])).toEqual([
      ['log', 'line 1'],
      ['refused', 'line 2'],
      ['log', 'line 3'],
      ['log', 'line 4'],
    ]);
    expect(items[1]).toMatchObject({ issues: [{ code: 'EXPORT_RECORD_NOT_JSON' }], raw: lines[1] });
  });

  it('never throws, and hands on only known items, whatever the text and its chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.string(), fc.json(), fc.stringMatching(/^[{}[\]",:\s@a-z0-9=\n\\]*$/)), { maxLength: 5 }),
        fc.nat(DETECTIONS.length - 1),
        async (parts, d) => {
          const items = await read(parts, DETECTIONS[d] as ShapeDetection, d === 3 ? 'authenticator-0a' : undefined);
          for (const it of items) expect(KINDS.has(it.kind)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
