import { readFileSync } from 'node:fs';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAuditEvent } from '../../../lib/sources/audit-event.js';
import { parseAuthenticatorLine } from '../../../lib/sources/authenticator-line.js';
import {
  clusterFromLogGroup,
  decodeAwsLogsData,
  decodeBase64,
  decodeConcatenatedPayloads,
  decodeFirehoseData,
  decodeKinesisData,
  isControlMessage,
  logEventOrigins,
  parseLogExport,
  streamKind,
  syntheticEventId,
  UNKNOWN_AUDIT_STREAM,
  UNKNOWN_AUTHENTICATOR_STREAM,
  validatePayload,
} from '../../../lib/sources/cloudwatch-logs.js';
import type { CloudWatchLogsPayload } from '../../../lib/sources/types.js';

const text = (name: string): string => readFileSync(new URL(`../../fixtures/sources/${name}`, import.meta.url), 'utf8');
const json = <T>(name: string): T => JSON.parse(text(name)) as T;

const payload = <T>(r: { ok: true; value: T } | { ok: false; issues: unknown[] }): T => {
  if (!r.ok) throw new Error(`expected ok: ${JSON.stringify(r.issues)}`);
  return r.value;
};

const b64gz = (v: unknown): string => gzipSync(Buffer.from(JSON.stringify(v))).toString('base64');

describe('Lambda subscription (awslogs.data)', () => {
  it('decodes the powertools sample: base64(gzip(JSON)), three events of a non-EKS group', () => {
    const event = json<{ awslogs: { data: string } }>('cwl/powertools-cloudwatch-base.json');
    const p = payload(decodeAwsLogsData(event.awslogs.data));
    expect(p).toMatchObject({
      messageType: 'DATA_MESSAGE',
      owner: '536254204126',
      logGroup: '/aws/lambda/some-other-name',
      logStream: '2024/10/21/OtherFn[$LATEST]16c175a5f89246aaad5c878aebaeeac7',
      subscriptionFilters: ['CwtriggerStack-MySubscriptionC96E1FB5-c1AHhT24v8Jh'],
    });
    expect(p.logEvents.map((e) => e.id)).toEqual([
      '38569604798453153764115268074363468419149517103543812096',
      '38569604798453153764115268074363468419149517103543812097',
      '38569604798475454509313798697505004137422165465049792514',
    ]);
    expect(p.logEvents[0]?.timestamp).toBe(1729520895158);
    // Not an EKS log group: callers quarantine instead of routing it.
    const o = logEventOrigins(p);
    expect(!o.ok && o.issues[0]?.code).toBe('ENVELOPE_NOT_EKS_LOG_GROUP');
  });

  it('decodes an EKS authenticator payload and builds one origin per event', () => {
    const event = json<{ awslogs: { data: string } }>('cwl/eks-authenticator-lambda-event.json');
    const p = payload(decodeAwsLogsData(event.awslogs.data));
    const origins = payload(logEventOrigins(p));
    expect(origins).toEqual([
      {
        cluster: 'demo-cluster',
        accountId: '927209226484',
        logGroup: '/aws/eks/demo-cluster/cluster',
        logStream: 'authenticator-1111222272c52cc05e3177863bdcc12d',
        streamKind: 'authenticator',
        eventId: '38569604798453153764115268074363468419149517103543812096',
        timestamp: 1766605712123,
      },
      expect.objectContaining({ streamKind: 'authenticator', timestamp: 1766605958124 }),
    ]);
    expect(p.logEvents.map((e) => payload(parseAuthenticatorLine(e.message)).kind)).toEqual([
      'access-granted',
      'sts-response',
    ]);
  });
});

describe('Kinesis records', () => {
  it('decodes both powertools Kinesis records (the same gzip payload bytes, base64 in the Lambda event)', () => {
    const event = json<{ Records: { kinesis: { data: string } }[] }>(
      'cwl/powertools-kinesis-stream-cloudwatch-logs.json',
    );
    const ps = event.Records.map((r) => payload(decodeKinesisData(r.kinesis.data)));
    expect(ps.map((p) => p.logStream)).toEqual([
      '2022/11/10/[$LATEST]26b6a45d574f442ea28438923cbf7bf7',
      '2022/11/10/[$LATEST]6749cb3ec3b34895986d592d7421cab2',
    ]);
    expect(ps.map((p) => p.logEvents.length)).toEqual([3, 3]);
    expect(ps[0]?.logEvents[0]).toEqual({
      id: '37199717562907174288355125807040114704837640994633613312',
      timestamp: 1668093027015,
      message: 'START RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa Version: $LATEST\n',
    });
  });

  it('decodes an EKS audit payload whose messages are audit events', () => {
    const event = json<{ Records: { kinesis: { data: string } }[] }>('cwl/eks-audit-kinesis-event.json');
    const p = payload(decodeKinesisData(event.Records[0]?.kinesis.data as string));
    expect(streamKind(p.logStream)).toBe('audit');
    expect(p.logEvents.map((e) => payload(parseAuditEvent(e.message)).auditID)).toEqual([
      'fb5dba68-6262-4718-b45e-d293b03e434d',
      '9151d8b4-0630-4020-8e18-c65369a13249',
    ]);
    expect(payload(logEventOrigins(p)).map((o) => o.accountId)).toEqual(['211125685544', '211125685544']);
  });
});

describe('Firehose', () => {
  it('recognises the CONTROL_MESSAGE health check (vector sample) and yields no origins', () => {
    const control = json<unknown>('cwl/vector-control-message.json');
    const r = payload(decodeFirehoseData(b64gz(control)));
    expect(r).toHaveLength(1);
    expect(isControlMessage(r[0] as CloudWatchLogsPayload)).toBe(true);
    expect(r[0]?.logEvents[0]?.message).toBe('CWL CONTROL MESSAGE: Checking health of destination Firehose.');
    expect(payload(logEventOrigins(r[0] as CloudWatchLogsPayload))).toEqual([]);
  });

  it('reports the powertools Firehose records (not CloudWatch data) as not gzip / not payloads', () => {
    const event = json<{ records: { data: string }[] }>('cwl/powertools-kinesis-firehose.json');
    const [hello, object] = event.records.map((r) => decodeFirehoseData(r.data));
    expect(!hello?.ok && hello?.issues[0]?.code).toBe('ENVELOPE_NOT_GZIP');
    // '{"Hello": "World"}' is JSON (a decompressed record) but not a subscription payload.
    expect(!object?.ok && object?.issues.map((i) => i.code)).toContain('ENVELOPE_SHAPE');
  });

  it('splits a Firehose S3 object: gzip members back to back, and its decompressed {…}{…} form', () => {
    const auth = payload(
      decodeAwsLogsData(json<{ awslogs: { data: string } }>('cwl/eks-authenticator-lambda-event.json').awslogs.data),
    );
    const control = json<unknown>('cwl/vector-control-message.json');
    const members = Buffer.concat([gzipSync(JSON.stringify(auth)), gzipSync(JSON.stringify(control))]);
    const fromGzip = payload(decodeConcatenatedPayloads(members));
    expect(fromGzip.map((p) => p.messageType)).toEqual(['DATA_MESSAGE', 'CONTROL_MESSAGE']);
    expect(fromGzip[0]).toEqual(auth);
    const plain = Buffer.from(`${JSON.stringify(auth)}${JSON.stringify(control)}\n`);
    expect(payload(decodeConcatenatedPayloads(plain))).toEqual(fromGzip);
    // Decompression enabled on the stream: a transform Lambda receives plain JSON.
    expect(payload(decodeFirehoseData(Buffer.from(JSON.stringify(auth)).toString('base64')))).toEqual([auth]);
  });

  it('reports the index of a bad member', () => {
    const good = {
      messageType: 'DATA_MESSAGE',
      owner: '1',
      logGroup: 'g',
      logStream: 's',
      subscriptionFilters: [],
      logEvents: [],
    };
    const r = decodeConcatenatedPayloads(Buffer.from(`${JSON.stringify(good)}{"messageType":"X"}`));
    expect(!r.ok && r.issues[0]).toMatchObject({ code: 'ENVELOPE_SHAPE', path: '[1].messageType' });
  });
});

describe('log groups and streams', () => {
  it.each([
    ['/aws/eks/prod/cluster', 'prod'],
    ['/aws/eks/my_cluster-01/cluster', 'my_cluster-01'],
  ])('clusterFromLogGroup(%s) = %s', (group, cluster) => {
    expect(payload(clusterFromLogGroup(group))).toBe(cluster);
  });

  it.each([
    ['a Lambda log group', '/aws/lambda/fn'],
    ['the empty group of a control message', ''],
    ['a different suffix', '/aws/eks/prod/other'],
    ['a nested name', '/aws/eks/a/b/cluster'],
    ['a name starting with a dash', '/aws/eks/-x/cluster'],
  ])('rejects %s with ENVELOPE_NOT_EKS_LOG_GROUP', (_name, group) => {
    const r = clusterFromLogGroup(group);
    expect(!r.ok && r.issues[0]?.code).toBe('ENVELOPE_NOT_EKS_LOG_GROUP');
  });

  it.each([
    ['kube-apiserver-audit-900118300c7497e54b1f844e21ac4f7b', 'audit'],
    ['authenticator-1111222272c52cc05e3177863bdcc12d', 'authenticator'],
    ['kube-apiserver-900118300c7497e54b1f844e21ac4f7b', 'other'],
    ['kube-controller-manager-900118300c7497e54b1f844e21ac4f7b', 'other'],
    ['cloud-controller-manager-9001', 'other'],
    ['', 'other'],
  ])('streamKind(%s) = %s', (stream, kind) => {
    expect(streamKind(stream)).toBe(kind);
  });
});

describe('local exports (CLI replay)', () => {
  const opts = { logGroup: '/aws/eks/demo-cluster/cluster', accountId: '111122223333' };

  it('groups `aws logs filter-log-events` output by stream and keeps the event ids', () => {
    const ps = payload(parseLogExport(text('cwl/filter-log-events-output.json'), opts));
    expect(ps.map((p) => [p.logStream, p.logEvents.length])).toEqual([
      ['authenticator-1111222272c52cc05e3177863bdcc12d', 2],
      ['kube-apiserver-audit-900118300c7497e54b1f844e21ac4f7b', 2],
    ]);
    expect(ps[1]?.logEvents[0]?.id).toBe('37199717562907174288355125807040114704837640994633613312');
    expect(ps.every((p) => p.owner === '111122223333' && p.logGroup === opts.logGroup)).toBe(true);
    expect(payload(logEventOrigins(ps[1] as CloudWatchLogsPayload))[0]).toMatchObject({
      cluster: 'demo-cluster',
      streamKind: 'audit',
    });
  });

  it('reads `aws logs get-log-events` output with stable synthetic ids', () => {
    const input = text('cwl/get-log-events-output.json');
    const a = payload(parseLogExport(input, { ...opts, logStream: 'authenticator-abc' }));
    const b = payload(parseLogExport(input, { ...opts, logStream: 'authenticator-abc' }));
    expect(a).toHaveLength(1);
    expect(a[0]?.logStream).toBe('authenticator-abc');
    const ids = a[0]?.logEvents.map((e) => e.id) ?? [];
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(ids.every((id) => /^syn-[0-9a-f]{40}$/.test(id))).toBe(true);
    expect(b[0]?.logEvents.map((e) => e.id)).toEqual(ids);
    // Without a stream option the stream is chosen from what the messages evidently are.
    const guessed = payload(parseLogExport(input, opts));
    expect(guessed[0]?.logStream).toBe(UNKNOWN_AUTHENTICATOR_STREAM);
    expect(streamKind(guessed[0]?.logStream as string)).toBe('authenticator');
  });

  it('reads text lines: CloudWatch timestamp prefix, `aws logs tail` stream prefix, bare lines', () => {
    const hits = text('authenticator/unattributed-index-hits.log').split('\n');
    const cwPrefixed = hits.find((l) => l.startsWith('2023-03-23T15:00:41.719Z')) as string;
    const tail = text('audit/workshop-forbid-kube-scheduler-2023.rejoined.log').trim();
    const bare = text('authenticator/rotel-lambda-forwarder-2025.log').split('\n')[1] as string;
    const ps = payload(parseLogExport(`${cwPrefixed}\r\n\n${tail}\n${bare}\n`, opts));
    expect(ps.map((p) => p.logStream)).toEqual([
      UNKNOWN_AUTHENTICATOR_STREAM,
      // The workshop author's wrapping cut the stream name; it is kept as printed.
      'ver-audit-900118300c7497e54b1f844e21ac4f7b',
    ]);
    const [authn, audit] = ps;
    // The CloudWatch prefix is the event time and is not part of the message.
    expect(authn?.logEvents[0]?.timestamp).toBe(Date.parse('2023-03-23T15:00:41.719Z'));
    expect(authn?.logEvents[0]?.message.startsWith('time="2023-03-23T15:00:41Z"')).toBe(true);
    // A bare line takes its time from the logrus `time` field.
    expect(authn?.logEvents[1]?.timestamp).toBe(Date.parse('2025-12-24T19:48:32Z'));
    expect(payload(parseAuditEvent(audit?.logEvents[0]?.message as string)).auditID).toBe(
      '9151d8b4-0630-4020-8e18-c65369a13249',
    );
    expect(audit?.logEvents[0]?.timestamp).toBe(Date.parse('2023-05-20T04:14:53.798812Z'));
  });

  it('reads JSON lines of audit events and a pretty-printed event as one message each', () => {
    const pretty = text('audit/kiempossible-eks-audit-access-policy-allow.json');
    const ps = payload(parseLogExport(`${JSON.stringify(JSON.parse(pretty))}\n${pretty}`, opts));
    expect(ps).toHaveLength(1);
    expect(ps[0]?.logStream).toBe(UNKNOWN_AUDIT_STREAM);
    expect(ps[0]?.logEvents.map((e) => e.message.includes('\n'))).toEqual([false, false]);
    // Same message, different index: distinct synthetic ids.
    expect(new Set(ps[0]?.logEvents.map((e) => e.id)).size).toBe(2);
  });

  it('reads a Logs Insights JSON export: group and account from @log, UTC @timestamp without zone', () => {
    const rows = [
      {
        '@timestamp': '2025-12-24 19:48:32.123',
        '@message': text('authenticator/rotel-lambda-forwarder-2025.log').split('\n')[1],
        '@logStream': 'authenticator-1111222272c52cc05e3177863bdcc12d',
        '@log': '927209226484:/aws/eks/demo-cluster/cluster',
      },
    ];
    const [p] = payload(parseLogExport(JSON.stringify(rows)));
    expect(p).toMatchObject({
      owner: '927209226484',
      logGroup: '/aws/eks/demo-cluster/cluster',
      logStream: 'authenticator-1111222272c52cc05e3177863bdcc12d',
    });
    expect(p?.logEvents[0]?.timestamp).toBe(Date.parse('2025-12-24T19:48:32.123Z'));
    expect(payload(logEventOrigins(p as CloudWatchLogsPayload))[0]?.cluster).toBe('demo-cluster');
  });

  it('reads a JSON array of audit events', () => {
    const event = JSON.parse(text('audit/kiempossible-eks-audit-access-policy-allow.json'));
    const [p] = payload(parseLogExport(JSON.stringify([event, event], null, 2), opts));
    expect(p?.logEvents.map((e) => payload(parseAuditEvent(e.message)).auditID)).toEqual([
      'fb5dba68-6262-4718-b45e-d293b03e434d',
      'fb5dba68-6262-4718-b45e-d293b03e434d',
    ]);
    expect(p?.logEvents[0]?.timestamp).toBe(Date.parse('2024-08-24T14:27:07.491536Z'));
  });

  it('reads captured delivery events (Lambda, Kinesis) and decoded payload arrays', () => {
    const lambda = payload(parseLogExport(text('cwl/eks-authenticator-lambda-event.json')));
    expect(lambda[0]?.logGroup).toBe('/aws/eks/demo-cluster/cluster');
    const kinesis = payload(parseLogExport(text('cwl/eks-audit-kinesis-event.json')));
    expect(kinesis[0]?.logStream).toBe('kube-apiserver-audit-900118300c7497e54b1f844e21ac4f7b');
    const arr = payload(parseLogExport(JSON.stringify([...lambda, ...kinesis], null, 2)));
    expect(arr).toEqual([...lambda, ...kinesis]);
  });

  it('falls back to line reading when a JSON line is truncated', () => {
    const line = JSON.stringify(JSON.parse(text('audit/kiempossible-eks-audit-access-policy-allow.json')));
    const ps = payload(parseLogExport(`${line.slice(0, 200)}[Truncated...]\n${line}\n`, opts));
    expect(ps[0]?.logEvents).toHaveLength(2);
    expect(payload(parseAuditEvent(ps[0]?.logEvents[0]?.message as string)).truncated).toBe(true);
  });

  it('synthesises ids from stream, timestamp, index and message', () => {
    const id = syntheticEventId('s', 1, 0, 'm');
    expect(syntheticEventId('s', 1, 0, 'm')).toBe(id);
    expect(
      new Set([
        id,
        syntheticEventId('t', 1, 0, 'm'),
        syntheticEventId('s', 2, 0, 'm'),
        syntheticEventId('s', 1, 1, 'm'),
        syntheticEventId('s', 1, 0, 'n'),
      ]).size,
    ).toBe(5);
  });
});

describe('rejections', () => {
  const validPayload = {
    messageType: 'DATA_MESSAGE',
    owner: '1',
    logGroup: 'g',
    logStream: 's',
    subscriptionFilters: [],
    logEvents: [],
  };

  it.each([
    ['empty data', '', 'ENVELOPE_NOT_BASE64', undefined],
    ['characters outside base64', 'H4s!!!', 'ENVELOPE_NOT_BASE64', undefined],
    ['impossible base64 length', 'H4sIA', 'ENVELOPE_NOT_BASE64', undefined],
    ['base64 of plain text', Buffer.from('hello').toString('base64'), 'ENVELOPE_NOT_GZIP', undefined],
    ['a cut gzip stream', gzipSync('{"a":1}').subarray(0, 12).toString('base64'), 'ENVELOPE_NOT_GZIP', undefined],
    ['gzip of non-JSON', gzipSync('not json').toString('base64'), 'ENVELOPE_NOT_JSON', undefined],
    ['gzip of a JSON array', b64gz([1]), 'ENVELOPE_SHAPE', undefined],
    ['unknown messageType', b64gz({ ...validPayload, messageType: 'X' }), 'ENVELOPE_SHAPE', 'messageType'],
    ['logGroup missing', b64gz({ ...validPayload, logGroup: undefined }), 'ENVELOPE_SHAPE', 'logGroup'],
    ['logEvents not an array', b64gz({ ...validPayload, logEvents: {} }), 'ENVELOPE_SHAPE', 'logEvents'],
    [
      'event timestamp as text',
      b64gz({ ...validPayload, logEvents: [{ id: '1', timestamp: 'x', message: 'm' }] }),
      'ENVELOPE_SHAPE',
      'logEvents[0].timestamp',
    ],
    [
      'event without message',
      b64gz({ ...validPayload, logEvents: [{ id: '1', timestamp: 1 }] }),
      'ENVELOPE_SHAPE',
      'logEvents[0].message',
    ],
    [
      'filters not strings',
      b64gz({ ...validPayload, subscriptionFilters: [1] }),
      'ENVELOPE_SHAPE',
      'subscriptionFilters',
    ],
  ])('decodeAwsLogsData: %s -> %s', (_name, data, code, path) => {
    const r = decodeAwsLogsData(data);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe(code);
      expect(r.issues[0]?.path).toBe(path);
      expect(r.raw).toBe(keptRaw(data));
    }
  });

  // What a refused delivery keeps as raw text: the decompressed JSON, as far as the gzip stream is
  // intact, so that it can be read and redacted; data that is neither gzip nor text stays as delivered.
  const keptRaw = (data: string): string => {
    const bytes = Buffer.from(data, 'base64');
    if (data === '' || bytes.toString('base64') !== data) return data;
    const text = bytes[0] === 0x1f ? gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }) : bytes;
    return text.length > 0 ? text.toString('utf8') : data;
  };

  it('keeps the decompressed text of a refused payload, not its base64', () => {
    const r = decodeAwsLogsData(b64gz({ messageType: 'X' }));
    expect(!r.ok && r.raw).toBe('{"messageType":"X"}');
  });

  it.each([
    ['empty text', '   \n', 'ENVELOPE_SHAPE'],
    ['JSON that is no export', '{"foo":1}', 'ENVELOPE_SHAPE'],
    ['events without messages', '{"events":[{"timestamp":1}]}', 'ENVELOPE_SHAPE'],
    ['events without timestamps', '{"events":[{"message":"m"}]}', 'ENVELOPE_SHAPE'],
    ['a Lambda event with bad data', '{"awslogs":{"data":"!!"}}', 'ENVELOPE_NOT_BASE64'],
  ])('parseLogExport: %s -> %s', (_name, input, code) => {
    const r = parseLogExport(input);
    expect(!r.ok && r.issues[0]?.code).toBe(code);
  });

  it('decodeBase64 ignores whitespace (wrapped base64) but nothing else', () => {
    expect(payload(decodeBase64('aGVs\nbG8=')).toString()).toBe('hello');
  });

  it.each([
    ['a character outside the alphabet', 'aGVs$G8='],
    ['base64url digits, which Buffer.from accepts', 'aGVs-G8_'],
    ['padding in the middle', 'aG=sbG8='],
    ['too much padding', 'aGVsbA==='],
    ['only padding', '===='],
  ])('decodeBase64 refuses %s', (_name, text) => {
    const r = decodeBase64(text);
    expect(!r.ok && r.issues[0]?.code).toBe('ENVELOPE_NOT_BASE64');
  });

  it('decodeBase64 agrees with the strict alphabet check on any text (fast path included)', () => {
    // The definition the fast path must match: blanks removed, then only the alphabet and 0-2 trailing '='.
    const reference = (text: string): string | undefined => {
      const s = text.replace(/\s+/g, '');
      if (s.length === 0 || s.length % 4 === 1 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
      return Buffer.from(s, 'base64').toString('hex');
    };
    const base64ish = fc.string({ unit: fc.constantFrom(...'ABCDab01+/=-_ $\n'.split('')), maxLength: 24 });
    const encoded = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64'));
    fc.assert(
      fc.property(fc.oneof(base64ish, encoded, fc.string()), (text) => {
        const r = decodeBase64(text);
        expect(r.ok ? r.value.toString('hex') : undefined).toBe(reference(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws on arbitrary strings, bytes or JSON values', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        for (const f of [decodeAwsLogsData, decodeKinesisData, decodeFirehoseData])
          expect(typeof f(s).ok).toBe('boolean');
        expect(typeof parseLogExport(s).ok).toBe('boolean');
        expect(typeof clusterFromLogGroup(s).ok).toBe('boolean');
        expect(['audit', 'authenticator', 'other']).toContain(streamKind(s));
      }),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(typeof decodeConcatenatedPayloads(bytes).ok).toBe('boolean');
        expect(typeof decodeAwsLogsData(Buffer.from(bytes).toString('base64')).ok).toBe('boolean');
        const gz = gzipSync(bytes);
        expect(typeof decodeConcatenatedPayloads(gz).ok).toBe('boolean');
        expect(typeof decodeConcatenatedPayloads(gz.subarray(0, Math.max(2, gz.length - 5))).ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(typeof validatePayload(v).ok).toBe('boolean');
        expect(typeof decodeAwsLogsData(b64gz(v)).ok).toBe('boolean');
        expect(typeof parseLogExport(JSON.stringify(v) ?? '').ok).toBe('boolean');
        expect(typeof parseLogExport(JSON.stringify({ events: v, awslogs: v, Records: v })).ok).toBe('boolean');
      }),
      { numRuns: 400 },
    );
    // Untyped callers may hand over anything.
    expect(decodeAwsLogsData(undefined as unknown as string).ok).toBe(false);
    expect(parseLogExport(42 as unknown as string).ok).toBe(false);
  });
});
