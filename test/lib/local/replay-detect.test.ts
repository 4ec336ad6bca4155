import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../../lib/local/progress.js';
import { awsAuthSnapshotChange, detectFile, logGroupFor, ReplayError } from '../../../lib/local/replay.js';

const FIXTURE = resolve(__dirname, '../../fixtures/query/kiem');
const CORPUS_PAYLOAD = resolve(__dirname, '../../fixtures/query/powertools-cloudwatch-base.json');
const dir = mkdtempSync(join(tmpdir(), 'replay-detect-'));
const file = (name: string, content: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

describe('detectFile', () => {
  it.each([
    ['kiem.filter-log-events.json', 'log-export'],
    ['cloudtrail.json', 'cloudtrail'],
    ['kiem.yaml', 'aws-auth'],
  ])('classifies the fixture %s as %s', (name, kind) => {
    expect(detectFile(join(FIXTURE, name)).kind).toBe(kind);
  });

  it('reads gzip CloudTrail log files and lookup-events output', () => {
    const records = JSON.parse(require('node:fs').readFileSync(join(FIXTURE, 'cloudtrail.json'), 'utf8'));
    expect(detectFile(file('ct.json.gz', gzipSync(JSON.stringify(records)))).bodies).toHaveLength(4);
    const lookup = {
      Events: records.Records.map((r: { eventID: string }) => ({
        EventId: r.eventID,
        CloudTrailEvent: JSON.stringify(r),
      })),
    };
    expect(detectFile(file('lookup.json', JSON.stringify(lookup))).kind).toBe('cloudtrail');
  });

  it('treats a captured Lambda awslogs event as a delivery carrying its own log group', () => {
    expect(detectFile(CORPUS_PAYLOAD).kind).toBe('log-delivery-event');
  });

  it('asks for --log-group when an export does not say which cluster it is', () => {
    const p = file(
      'export.json',
      JSON.stringify({ events: [{ logStreamName: 'authenticator-1', timestamp: 1, message: 'x', eventId: '1' }] }),
    );
    expect(() => detectFile(p)).toThrow(/--log-group/);
    expect(detectFile(p, { logGroup: '/aws/eks/prod/cluster' }).logGroup).toBe('/aws/eks/prod/cluster');
  });

  it('refuses an empty file', () => {
    expect(() => detectFile(file('empty.json', '  '))).toThrow(ReplayError);
  });
});

describe('logGroupFor', () => {
  it.each([
    ['/x/prod.filter-log-events.json', undefined, '/aws/eks/prod/cluster'],
    ['/exports/aws/eks/stage-1/cluster/part-1.json', undefined, '/aws/eks/stage-1/cluster'],
    ['/x/anything.json', '/aws/eks/given/cluster', '/aws/eks/given/cluster'],
    ['/x/anything.json', undefined, undefined],
  ])('%s (option %s) -> %s', (path, opt, group) => {
    expect(logGroupFor(path, opt)).toBe(group);
  });
});

describe('awsAuthSnapshotChange', () => {
  it('is content-addressed so replaying a snapshot twice is one change', () => {
    const yaml = require('node:fs').readFileSync(join(FIXTURE, 'kiem.yaml'), 'utf8');
    const a = awsAuthSnapshotChange(yaml, 'kiem', '2024-08-05T00:00:00.000Z', '211125685544', 'kiem.yaml');
    const b = awsAuthSnapshotChange(yaml, 'kiem', '2024-08-05T00:00:00.000Z', '211125685544', 'kiem.yaml');
    expect(a.sourceEventId).toBe(b.sourceEventId);
    expect(a.op.kind === 'aws-auth-put' && a.op.config.roles.map((r) => r.arn)).toEqual([
      'arn:aws:iam::211125685544:role/dev',
      'arn:aws:iam::211125685544:role/teams/ops/operator',
    ]);
  });

  it('refuses text that is not an aws-auth ConfigMap', () => {
    expect(() => awsAuthSnapshotChange('just: text', 'kiem', '2024-08-05T00:00:00Z', undefined, 'x.yaml')).toThrow(
      ReplayError,
    );
  });
});

describe('createProgress', () => {
  it('writes plain periodic lines when stderr is not a terminal', () => {
    const out: string[] = [];
    let t = 0;
    const p = createProgress({ write: (s: string) => out.push(s), isTTY: false }, 'replay', 10, {
      now: () => t,
      intervalMs: 1000,
    });
    p.tick(1);
    t = 500;
    p.tick(1);
    t = 1500;
    p.tick(3, 'file.json');
    p.done();
    expect(out).toEqual(['replay: 1/10 (10%)\n', 'replay: 5/10 (50%) file.json\n', 'replay: 5/10 done\n']);
  });

  it('redraws one bar line on a terminal', () => {
    const out: string[] = [];
    const p = createProgress({ write: (s: string) => out.push(s), isTTY: true }, 'replay', 4, {
      now: () => 0,
      width: 4,
    });
    p.tick(2);
    expect(out[0]).toBe('\r\u001b[2Kreplay [##..] 50% 2/4 ');
  });
});
