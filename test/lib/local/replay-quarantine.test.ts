import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileRecordId, replayFiles } from '../../../lib/local/replay.js';
import { leaks, refusedAssumeRole, SYNTHETIC } from '../../support/secret-corpus.js';
import { MemoryTrailStore } from '../ingest/memory-store.js';

/**
 * What `replay` quarantines and how it keys it: a record of a file is keyed by the file's content,
 * the record's position and its raw text, so two different bad records never share a key (the
 * second used to be lost while the summary counted it) and replaying the same file again adds
 * nothing. Documents too deep to read are quarantined, not fatal; invalid UTF-8 is flagged.
 */
const FIXTURE = resolve(__dirname, '../../fixtures/query/kiem');
const root = mkdtempSync(join(tmpdir(), 'replay-quarantine-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const opts = { now: () => 0, accountId: '211125685544', at: '2024-08-05T00:00:00Z' };
const quarantined = (store: MemoryTrailStore) => [...store.quarantineEntries.values()];

describe('quarantine keys of replayed files', () => {
  it('keeps two different bad records of two files with the same name, at the same position', async () => {
    const d = dir();
    mkdirSync(join(d, 'a'));
    mkdirSync(join(d, 'b'));
    writeFileSync(join(d, 'a', 'cloudtrail.json'), JSON.stringify({ Records: [refusedAssumeRole('e-a')] }));
    writeFileSync(join(d, 'b', 'cloudtrail.json'), JSON.stringify({ Records: [refusedAssumeRole('e-b')] }));
    const store = new MemoryTrailStore();
    const s = await replayFiles([d], store, opts);
    expect(s.quarantined).toEqual({ CLOUDTRAIL_MISSING_FIELD: 2 });
    const entries = quarantined(store);
    expect(entries).toHaveLength(2);
    expect(entries.map((e) => JSON.parse(e.raw).eventID).sort()).toEqual(['e-a', 'e-b']);
    expect(new Set(entries.map((e) => e.sourceId)).size).toBe(2);
  });

  it('keeps one entry per record when the same file is replayed again, wherever it lies', async () => {
    const d = dir();
    const body = JSON.stringify({ Records: [refusedAssumeRole('e-1'), refusedAssumeRole('e-2')] });
    writeFileSync(join(d, 'first.json'), body);
    const store = new MemoryTrailStore();
    await replayFiles([join(d, 'first.json')], store, opts);
    const keys = quarantined(store)
      .map((e) => e.sourceId)
      .sort();
    expect(keys).toHaveLength(2);
    const copy = join(dir(), 'renamed.json');
    writeFileSync(copy, body);
    await replayFiles([join(d, 'first.json'), copy], store, opts);
    expect(
      quarantined(store)
        .map((e) => e.sourceId)
        .sort(),
    ).toEqual(keys);
  });

  it('keys by file content, position and raw text', () => {
    const ids = new Set([
      fileRecordId('aa', 0, 'x'),
      fileRecordId('ab', 0, 'x'),
      fileRecordId('aa', 1, 'x'),
      fileRecordId('aa', 0, 'y'),
    ]);
    expect(ids.size).toBe(4);
    expect(fileRecordId('aa', 0, 'x')).toBe(fileRecordId('aa', 0, 'x'));
  });

  it('keys a record by its redacted text, so the key carries nothing of a secret', () => {
    expect(fileRecordId('aa', 0, `token=${SYNTHETIC.accessToken}`)).toBe(fileRecordId('aa', 0, 'token=another'));
  });
});

describe('files replay cannot read', () => {
  it('quarantines a log export nested 10,000 deep (INPUT_TOO_DEEP) and replays the other files', async () => {
    const d = dir();
    writeFileSync(join(d, 'prod.filter-log-events.json'), `${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    writeFileSync(join(d, 'kiem.filter-log-events.json'), readFileSync(join(FIXTURE, 'kiem.filter-log-events.json')));
    const store = new MemoryTrailStore();
    const s = await replayFiles([d], store, opts);
    expect(s.quarantined).toEqual({ INPUT_TOO_DEEP: 1 });
    expect(s.requestsStored).toBe(3);
    const [q] = quarantined(store);
    expect(q?.raw.startsWith('[[[[')).toBe(true);
  });

  it('flags the records of a file that is not valid UTF-8, and stores the rest as they are', async () => {
    const d = dir();
    const text = readFileSync(join(FIXTURE, 'kiem.filter-log-events.json'), 'utf8').replace(
      'ClusterLoGo_darwin_amd64',
      'ClusterLoGo_d\u00e9rwin_amd64',
    );
    const bytes = Buffer.from(text);
    const at = bytes.indexOf(Buffer.from('\u00e9'));
    writeFileSync(
      join(d, 'kiem.filter-log-events.json'),
      Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 1)]),
    );
    const store = new MemoryTrailStore();
    const s = await replayFiles([d], store, opts);
    expect(s.invalidUtf8).toBe(1);
    const flagged = store.batches.flatMap((b) =>
      b.audit.filter((a) => a.facts.origin.invalidUtf8).map((a) => a.facts.event.userAgent),
    );
    // Only the event whose text shows the replacement is flagged; its text is kept as read, not cleaned.
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toMatch(/^ClusterLoGo_d\uFFFD+rwin_amd64\/v0/);
  });

  it('quarantines secret-bearing records with their raw text redacted', async () => {
    const d = dir();
    writeFileSync(join(d, 'cloudtrail.json'), JSON.stringify({ Records: [refusedAssumeRole('e-s')] }));
    const store = new MemoryTrailStore();
    await replayFiles([d], store, opts);
    const [q] = quarantined(store);
    expect(q?.raw).toContain('"eventID":"e-s"');
    expect(leaks([JSON.stringify(quarantined(store))])).toEqual([]);
  });
});
