import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CloudWatchLogsPayload } from '../../lib/sources/types.js';
import {
  awslogsLambdaEvent,
  cloudTrailLogFiles,
  type Delivery,
  encodeCloudTrailLogFile,
  filterLogEventsJson,
  toDeliveries,
} from '../../sim/delivery.js';
import { buildFleet } from '../../sim/fleet.js';
import { type CloudTrailEmission, type Emission, type LogEmission, simulate } from '../../sim/scenario.js';

const fleet = buildFleet({
  seed: 5,
  clusters: 2,
  accountsPerOrg: 2,
  ssoUsers: 3,
  iamUsers: 3,
  roles: 1,
  nodesPerCluster: 2,
  serviceAccounts: 1,
});
const emissions: Emission[] = [
  ...simulate(fleet, {
    seed: 5,
    requests: 300,
    start: '2025-06-02T08:00:00Z',
    durationMs: 4 * 3600_000,
    mappingChanges: true,
  }),
];
const logs = emissions.filter((e): e is LogEmission => e.kind === 'log');
const trail = emissions.filter((e): e is CloudTrailEmission => e.kind === 'cloudtrail');

const decode = (d: Delivery & { kind: 'kinesis' }) =>
  d.event.Records.map(
    (r) => JSON.parse(gunzipSync(Buffer.from(r.kinesis.data, 'base64')).toString('utf8')) as CloudWatchLogsPayload,
  );

const deliver = (late: number, dup: number) => [
  ...toDeliveries(emissions, { seed: 5, lateFraction: late, duplicateFraction: dup, batchSize: 25 }),
];

describe('toDeliveries', () => {
  const clean = deliver(0, 0);
  const messy = deliver(0.2, 0.1);

  it('packs log events into gzip CloudWatch payloads of one stream each, every event exactly once', () => {
    const ids: string[] = [];
    for (const d of clean) {
      if (d.kind !== 'kinesis') continue;
      expect(d.event.Records.length).toBeLessThanOrEqual(100);
      for (const r of d.event.Records) {
        expect(r.kinesis.data.startsWith('H4sI')).toBe(true);
        expect(r.eventID).toBe(`shardId-000000000000:${r.kinesis.sequenceNumber}`);
        expect(Buffer.from(r.kinesis.data, 'base64').length).toBeLessThanOrEqual(1_000_000);
      }
      for (const p of decode(d)) {
        expect(p.messageType).toBe('DATA_MESSAGE');
        expect(p.logGroup).toMatch(/^\/aws\/eks\/[a-z0-9-]+\/cluster$/);
        expect(p.logEvents.length).toBeLessThanOrEqual(25);
        const cluster = fleet.clusters.find((c) => p.logGroup === `/aws/eks/${c.name}/cluster`);
        expect(p.owner).toBe(cluster?.accountId);
        for (const ev of p.logEvents) {
          const src = logs.find((l) => l.eventId === ev.id);
          expect(src?.logStream).toBe(p.logStream);
          ids.push(ev.id);
        }
      }
    }
    expect(ids.sort()).toEqual(logs.map((l) => l.eventId).sort());
  });

  it('wraps every CloudTrail record in an EventBridge event inside SQS messages with a correct md5', () => {
    const eventIds: string[] = [];
    for (const d of clean) {
      if (d.kind !== 'sqs') continue;
      expect(d.event.Records.length).toBeLessThanOrEqual(10);
      for (const r of d.event.Records) {
        expect(r.md5OfBody).toBe(createHash('md5').update(r.body).digest('hex'));
        const ev = JSON.parse(r.body) as {
          'detail-type': string;
          source: string;
          detail: { eventID: string; eventSource: string };
        };
        expect(ev['detail-type']).toBe('AWS API Call via CloudTrail');
        expect(ev.source).toBe(`aws.${ev.detail.eventSource.split('.')[0]}`);
        eventIds.push(ev.detail.eventID);
      }
    }
    expect(eventIds.sort()).toEqual(trail.map((t) => t.record.eventID).sort());
  });

  it('re-delivers duplicates with the same natural ids and delivers late records out of order', () => {
    const counts = new Map<string, number>();
    let outOfOrder = 0;
    let lastTs = 0;
    for (const d of messy) {
      if (d.kind === 'kinesis') {
        for (const p of decode(d)) {
          for (const ev of p.logEvents) {
            counts.set(ev.id, (counts.get(ev.id) ?? 0) + 1);
            if (ev.timestamp < lastTs - 60_000) outOfOrder++;
            lastTs = Math.max(lastTs, ev.timestamp);
          }
        }
      } else {
        for (const r of d.event.Records) {
          const id = (JSON.parse(r.body) as { detail: { eventID: string } }).detail.eventID;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
    }
    const all = [...logs.map((l) => l.eventId), ...trail.map((t) => t.record.eventID)];
    expect(all.every((id) => (counts.get(id) ?? 0) >= 1)).toBe(true);
    expect([...counts.values()].filter((n) => n > 1).length).toBeGreaterThan(all.length * 0.05);
    expect(outOfOrder).toBeGreaterThan(0);
  });

  it('is reproducible for the same seed', () => {
    expect(JSON.stringify(deliver(0.2, 0.1))).toBe(JSON.stringify(messy));
  });

  it('encodes a direct Lambda subscription event as base64 gzip', () => {
    const payload: CloudWatchLogsPayload = {
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: '/aws/eks/x/cluster',
      logStream: 'authenticator-0',
      subscriptionFilters: ['f'],
      logEvents: [{ id: '1', timestamp: 1, message: 'm' }],
    };
    const ev = awslogsLambdaEvent(payload);
    expect(JSON.parse(gunzipSync(Buffer.from(ev.awslogs.data, 'base64')).toString())).toEqual(payload);
  });
});

describe('local-mode files', () => {
  it('writes filter-log-events output as JSON with events in timestamp order', () => {
    const group = logs.filter((l) => l.cluster === fleet.clusters[0]?.name);
    const doc = JSON.parse([...filterLogEventsJson(group, 5)].join('')) as {
      events: { logStreamName: string; timestamp: number; message: string; ingestionTime: number; eventId: string }[];
      searchedLogStreams: unknown[];
    };
    expect(doc.events.length).toBe(group.length);
    expect(doc.searchedLogStreams).toEqual([]);
    for (let i = 1; i < doc.events.length; i++)
      expect(doc.events[i]!.timestamp).toBeGreaterThanOrEqual(doc.events[i - 1]!.timestamp);
    for (const e of doc.events) expect(e.ingestionTime).toBeGreaterThan(e.timestamp);
  });

  it('writes an empty filter-log-events document when there are no events', () => {
    expect(JSON.parse([...filterLogEventsJson([], 1)].join(''))).toEqual({ events: [], searchedLogStreams: [] });
  });

  it('groups CloudTrail records into gzip log files per account, region and interval', () => {
    const files = [...cloudTrailLogFiles(trail, { seed: 5 })];
    let n = 0;
    for (const f of files) {
      expect(f.fileName).toMatch(/^\d{12}_CloudTrail_[a-z0-9-]+_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$/);
      expect(f.key).toBe(
        `AWSLogs/${f.accountId}/CloudTrail/${f.region}/${f.key.split('/').slice(4, 7).join('/')}/${f.fileName}`,
      );
      const doc = JSON.parse(gunzipSync(encodeCloudTrailLogFile(f)).toString()) as {
        Records: { recipientAccountId: string; awsRegion: string }[];
      };
      for (const r of doc.Records) {
        expect(r.recipientAccountId).toBe(f.accountId);
        expect(r.awsRegion).toBe(f.region);
      }
      n += doc.Records.length;
    }
    expect(n).toBe(trail.length);
  });
});

describe('Kinesis batching window', () => {
  const windowed = (kinesisBatchWindowMs?: number) => [
    ...toDeliveries(emissions, { seed: 5, batchSize: 25, kinesisBatchSize: 10_000, kinesisBatchWindowMs }),
  ];
  const none = windowed();

  it('changes nothing when it is not set, or never expires', () => {
    expect(JSON.stringify(windowed(undefined))).toBe(JSON.stringify(none));
    expect(JSON.stringify(windowed(24 * 3600_000))).toBe(JSON.stringify(none));
  });

  it('closes an invocation once its first record has waited the window, delivering every event once', () => {
    const windowMs = 2_000;
    const batches = windowed(windowMs).filter((d): d is Delivery & { kind: 'kinesis' } => d.kind === 'kinesis');
    expect(batches.length).toBeGreaterThan(none.filter((d) => d.kind === 'kinesis').length * 2);
    const ids: string[] = [];
    for (const d of batches) {
      const arrivals = d.event.Records.map((r) => Math.round(r.kinesis.approximateArrivalTimestamp * 1000));
      const first = Math.min(...arrivals);
      expect(Math.max(...arrivals) - first).toBeLessThan(windowMs);
      expect(Math.floor(d.deliveredAtUs / 1000)).toBeLessThanOrEqual(first + windowMs);
      expect(Math.floor(d.deliveredAtUs / 1000)).toBeGreaterThanOrEqual(Math.max(...arrivals));
      for (const p of decode(d)) for (const ev of p.logEvents) ids.push(ev.id);
    }
    expect(ids.sort()).toEqual(logs.map((l) => l.eventId).sort());
  });

  it('still closes at the batch size first when records come faster than the window', () => {
    const batches = [
      ...toDeliveries(emissions, { seed: 5, batchSize: 5, kinesisBatchSize: 3, kinesisBatchWindowMs: 3_600_000 }),
    ].filter((d) => d.kind === 'kinesis');
    for (const d of batches) expect(d.event.Records.length).toBeLessThanOrEqual(3);
  });
});
