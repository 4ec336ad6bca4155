import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../../lib/local/progress.js';
import { awsAuthSnapshotChange, logGroupFor, ReplayError } from '../../../lib/local/replay.js';

const FIXTURE = resolve(__dirname, '../../fixtures/query/kiem');

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
    const yaml = readFileSync(join(FIXTURE, 'kiem.yaml'), 'utf8');
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
