import fc from 'fast-check';
import { parquetReadObjects } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import {
  eventDay,
  OcsfShapeError,
  PartitionedParquetWriter,
  parquetSchema,
  partitionPath,
  type Shape,
  toRow,
} from '../../../lib/export/parquet.js';
import {
  closedWindow,
  objectKey,
  parseS3Location,
  S3LocationError,
  windowFileName,
} from '../../../lib/export/security-lake.js';

const SHAPE: Shape = {
  time: 'long',
  class_uid: 'int',
  actor: { user: { name: 'string', groups: [{ name: 'string' }] } },
  ips: ['string'],
  ok: 'bool',
  data: 'json',
};

/** Reads a Parquet buffer back with hyparquet, BigInt numbers as numbers and JSON text parsed. */
const readBack = async (buf: ArrayBuffer): Promise<Record<string, unknown>[]> =>
  JSON.parse(
    JSON.stringify(await parquetReadObjects({ file: buf }), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)),
  );

describe('Parquet shape', () => {
  it('builds the three-level list and struct groups Athena reads as array<struct<…>>', () => {
    expect(parquetSchema({ ips: ['string'], actor: { name: 'string' } })).toEqual([
      { name: 'root', num_children: 2 },
      { name: 'ips', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
      { name: 'actor', repetition_type: 'OPTIONAL', num_children: 1 },
      { name: 'name', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
    ]);
  });

  it.each([
    ['an attribute the shape lacks', { actor: { user: { email: 'x' } } }, 'actor.user.email'],
    ['a string where a long goes', { time: '1' }, 'time'],
    ['a fraction where an int goes', { class_uid: 1.5 }, 'class_uid'],
    ['a string where a boolean goes', { ok: 'yes' }, 'ok'],
    ['an object where a list goes', { ips: { a: 1 } }, 'ips'],
    ['a list where an object goes', { actor: [] }, 'actor'],
  ])('refuses %s instead of dropping it', (_kind, record, path) => {
    try {
      toRow(record, SHAPE);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(OcsfShapeError);
      expect((e as OcsfShapeError).message).toContain(path);
    }
  });

  it('never throws anything but OcsfShapeError, whatever the record', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          toRow({ actor: v, data: v, ips: v } as Record<string, unknown>, SHAPE);
        } catch (e) {
          if (!(e instanceof OcsfShapeError)) throw e;
        }
      }),
    );
  });
});

describe('partitioned writer', () => {
  it('writes one object per account and UTC day, readable by a separate Parquet reader, values intact', async () => {
    const buffers = new Map<string, ByteWriter>();
    const w = new PartitionedParquetWriter({
      shape: { ...SHAPE, cloud: { account: { uid: 'string' } } },
      region: 'eu-west-1',
      createdBy: 'test',
      rowGroupSize: 2,
      open: (key) => {
        const writer = new ByteWriter();
        buffers.set(partitionPath(key), writer);
        return { writer, close: async () => {} };
      },
    });
    const day1 = Date.parse('2025-06-02T23:59:59.999Z');
    const records = [
      {
        time: day1,
        cloud: { account: { uid: '111111111111' } },
        actor: { user: { name: 'a', groups: [{ name: 'g' }] } },
        data: { x: [1] },
      },
      { time: day1, cloud: { account: { uid: '111111111111' } }, ips: ['10.0.0.1', '10.0.0.2'], ok: true },
      { time: day1 + 1, cloud: { account: { uid: '111111111111' } }, class_uid: 6003 },
      { time: day1, cloud: { account: { uid: '222222222222' } } },
    ];
    for (const r of records) await w.write(r);
    const written = await w.close();
    expect([...written.entries()]).toEqual([
      ['region=eu-west-1/accountId=111111111111/eventDay=20250602', 2],
      ['region=eu-west-1/accountId=111111111111/eventDay=20250603', 1],
      ['region=eu-west-1/accountId=222222222222/eventDay=20250602', 1],
    ]);
    const first = await readBack(
      (buffers.get('region=eu-west-1/accountId=111111111111/eventDay=20250602') as ByteWriter).getBuffer(),
    );
    expect(first[0]).toMatchObject({ time: day1, actor: { user: { name: 'a', groups: [{ name: 'g' }] } } });
    expect(JSON.parse(first[0]?.data as string)).toEqual({ x: [1] });
    expect(first[1]).toMatchObject({ ips: ['10.0.0.1', '10.0.0.2'], ok: true });
  });

  it('finishes a day when the next begins, and puts a late record of a finished day in a new object', async () => {
    const events: string[] = [];
    const w = new PartitionedParquetWriter({
      shape: { time: 'long', cloud: { account: { uid: 'string' } } },
      region: 'eu-west-1',
      createdBy: 'test',
      open: (key, part) => {
        events.push(`open ${key.eventDay}#${part}`);
        return { writer: new ByteWriter(), close: async () => void events.push(`close ${key.eventDay}#${part}`) };
      },
    });
    const at = (iso: string) => ({ time: Date.parse(iso), cloud: { account: { uid: '111111111111' } } });
    await w.write(at('2025-06-01T10:00:00Z'));
    await w.write(at('2025-06-02T10:00:00Z'));
    await w.write(at('2025-06-01T23:00:00Z'));
    await w.close();
    expect(events).toEqual([
      'open 20250601#0',
      'close 20250601#0',
      'open 20250602#0',
      'open 20250601#1',
      'close 20250602#0',
      'close 20250601#1',
    ]);
  });

  it('files a record by the UTC day of its time', () => {
    expect(eventDay(Date.parse('2025-01-31T23:59:59.999Z'))).toBe('20250131');
    expect(eventDay(Date.parse('2025-02-01T00:00:00.000Z'))).toBe('20250201');
  });
});

describe('Security Lake layout', () => {
  it.each([
    [
      's3://aws-security-data-lake-eu-west-1-x/ext/src/1.0/',
      { bucket: 'aws-security-data-lake-eu-west-1-x', prefix: 'ext/src/1.0' },
    ],
    ['s3://bucket-a', { bucket: 'bucket-a', prefix: '' }],
  ])('reads %s', (text, loc) => {
    expect(parseS3Location(text)).toEqual(loc);
  });

  it.each([
    ['not an s3 URL', 'https://bucket/x'],
    ['an upper-case bucket', 's3://Bucket/x'],
    ['no bucket', 's3:///x'],
  ])('refuses %s', (_kind, text) => {
    expect(() => parseS3Location(text)).toThrow(S3LocationError);
  });

  it('keys an object by source prefix, partition and window', () => {
    const key = objectKey(
      { bucket: 'b', prefix: 'ext/eks-trail-api-activity/1.0' },
      { region: 'eu-west-1', accountId: '111111111111', eventDay: '20250602' },
      windowFileName({ accountId: '111111111111', cluster: 'prod' }, { from: '2025-06-02T08:00:00.000Z', to: 'x' }),
    );
    expect(key).toBe(
      'ext/eks-trail-api-activity/1.0/region=eu-west-1/accountId=111111111111/eventDay=20250602/111111111111-prod-20250602T080000Z.parquet',
    );
  });

  it.each([
    // now, interval, lag -> window
    ['2025-06-02T10:20:00Z', 60, 15, ['2025-06-02T09:00:00.000Z', '2025-06-02T09:59:59.999Z']],
    ['2025-06-02T10:14:59Z', 60, 15, ['2025-06-02T08:00:00.000Z', '2025-06-02T08:59:59.999Z']],
    ['2025-06-02T10:07:00Z', 5, 0, ['2025-06-02T10:00:00.000Z', '2025-06-02T10:04:59.999Z']],
  ])('at %s with a %s-minute interval and %s-minute lag exports the last closed window', (now, interval, lag, w) => {
    expect(closedWindow(Date.parse(now as string), interval as number, lag as number)).toEqual({
      from: (w as string[])[0],
      to: (w as string[])[1],
    });
  });
});
