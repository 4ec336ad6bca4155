import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import { parseCloudTrailItem } from '../../../lib/ingest/cloudtrail-pipeline.js';
import { quarantineEntry } from '../../../lib/ingest/types.js';
import { type ParseResult, rawText } from '../../../lib/result.js';
import { parseAuditEvent, parseAuditEventObject } from '../../../lib/sources/audit-event.js';
import { parseAuthenticatorLine } from '../../../lib/sources/authenticator-line.js';
import { parseCloudTrailFile, parseCloudTrailRecord, parseEventBridgeEvent } from '../../../lib/sources/cloudtrail.js';
import {
  decodeAwsLogsData,
  decodeConcatenatedPayloads,
  decodeFirehoseData,
  validatePayload,
} from '../../../lib/sources/cloudwatch-logs.js';
import {
  ACCESS_KEY,
  auditEventWithSecrets,
  authenticatorDenialWithUrl,
  authenticatorGrantWithHeader,
  awsAuthEventWithSecrets,
  awsAuthYamlWithSecrets,
  cloudTrailWithSecrets,
  leaks,
  poisonLogMessages,
  rbacEventWithSecrets,
  refusedAssumeRole,
  SYNTHETIC,
  truncatedAuditWithToken,
  unauthenticatedWithToken,
} from '../../support/secret-corpus.js';

/**
 * Secrets are redacted where input is parsed, in every parser and whatever the outcome: what a parser
 * returns (the value, or a refusal's raw text and issues) holds none of the corpus secrets
 * (test/support/secret-corpus.ts), and keeps what attribution needs.
 */
const out = (r: ParseResult<unknown> | { ok: boolean }) => rawText(r);

describe('every parser returns no secret, parsed or refused', () => {
  const samlRecord = () =>
    cloudTrailWithSecrets().Records.find((r) => r.eventName === 'AssumeRoleWithSAML') as Record<string, unknown>;
  const eventBridge = (detail: unknown) => ({ 'detail-type': 'AWS API Call via CloudTrail', id: 'e', detail });
  const payloadOf = (messages: string[]) => ({
    messageType: 'DATA_MESSAGE',
    owner: '211125685544',
    logGroup: '/aws/eks/kiem/cluster',
    logStream: 'kube-apiserver-audit-1',
    subscriptionFilters: [],
    logEvents: messages.map((message, i) => ({ id: String(i), timestamp: 1, message })),
  });

  it.each<[string, () => ParseResult<unknown> | { ok: boolean }, boolean]>([
    [
      'an audit event (requestURI, userAgent, annotations)',
      () => parseAuditEvent(JSON.stringify(auditEventWithSecrets())),
      true,
    ],
    ['an audit object', () => parseAuditEventObject(auditEventWithSecrets()), true],
    ['an RBAC body kept as evidence', () => parseAuditEvent(JSON.stringify(rbacEventWithSecrets())), true],
    ['an aws-auth body kept as evidence', () => parseAuditEvent(JSON.stringify(awsAuthEventWithSecrets())), true],
    ['a truncated audit event', () => parseAuditEvent(truncatedAuditWithToken()), true],
    [
      'a 401 whose status message quotes the token',
      () => parseAuditEvent(JSON.stringify(unauthenticatedWithToken())),
      true,
    ],
    ['an unreadable audit event', () => parseAuditEvent(poisonLogMessages()[0]?.message as string), false],
    ['an audit event too deep', () => parseAuditEvent(poisonLogMessages()[1]?.message as string), false],
    [
      'an audit event whose bad field quotes a secret',
      () =>
        parseAuditEvent(
          JSON.stringify({ ...auditEventWithSecrets(), stageTimestamp: `token=${SYNTHETIC.accessToken}` }),
        ),
      false,
    ],
    [
      'an authenticator denial quoting a presigned URL',
      () => parseAuthenticatorLine(authenticatorDenialWithUrl()),
      true,
    ],
    [
      'an authenticator line with an Authorization field',
      () => parseAuthenticatorLine(authenticatorGrantWithHeader()),
      true,
    ],
    [
      'an unreadable authenticator line',
      () => parseAuthenticatorLine(poisonLogMessages()[2]?.message as string),
      false,
    ],
    ['an AssumeRole* record', () => parseCloudTrailRecord(samlRecord()), true],
    ['an AssumeRole* record as text', () => parseCloudTrailRecord(JSON.stringify(samlRecord())), true],
    ['an EventBridge event', () => parseEventBridgeEvent(eventBridge(samlRecord())), true],
    ['a refused AssumeRole record', () => parseCloudTrailRecord(refusedAssumeRole('e-1')), false],
    [
      'a refused record as an SQS body',
      () => {
        const p = parseCloudTrailItem(JSON.stringify(eventBridge(refusedAssumeRole('e-2'))));
        return p.ok ? { ok: true } : { ok: false, issues: p.issues, raw: p.raw };
      },
      false,
    ],
    [
      'an SQS body that is not JSON',
      () => {
        const p = parseCloudTrailItem(`oops X-Amz-Security-Token=${encodeURIComponent(SYNTHETIC.sessionToken)}`);
        return p.ok ? { ok: true } : { ok: false, issues: p.issues, raw: p.raw };
      },
      false,
    ],
    [
      'a lookup-events file',
      () => ({
        ok: true,
        value: parseCloudTrailFile(
          JSON.stringify({
            Events: [samlRecord(), refusedAssumeRole('e-3')].map((r) => ({ CloudTrailEvent: JSON.stringify(r) })),
          }),
        ),
      }),
      true,
    ],
    [
      'a CloudTrail file cut short',
      () => ({ ok: true, value: parseCloudTrailFile(JSON.stringify(cloudTrailWithSecrets()).slice(0, -40)) }),
      true,
    ],
    [
      'a subscription payload that is not one',
      () => decodeAwsLogsData(gzipSync(`{"logEvents":"access_token=${SYNTHETIC.accessToken}"}`).toString('base64')),
      false,
    ],
    [
      'a Kinesis record that is plain text',
      () => decodeAwsLogsData(Buffer.from(`Authorization: Bearer ${SYNTHETIC.bearer}`).toString('base64')),
      false,
    ],
    [
      'a cut gzip stream',
      () =>
        decodeAwsLogsData(
          gzipSync(`{"x":"token=${SYNTHETIC.accessToken}","y":"${'z'.repeat(5000)}"}`)
            .subarray(0, 200)
            .toString('base64'),
        ),
      false,
    ],
    [
      'a Firehose record',
      () => decodeFirehoseData(Buffer.from(`{"bad":"token=${SYNTHETIC.accessToken}"}`).toString('base64')),
      false,
    ],
    [
      'a Firehose blob',
      () => decodeConcatenatedPayloads(Buffer.from(`{"bad":"token=${SYNTHETIC.accessToken}"}`)),
      false,
    ],
    [
      'a payload object refused',
      () => validatePayload({ ...payloadOf([`access_token=${SYNTHETIC.accessToken}`]), owner: 1 }),
      false,
    ],
    ['aws-auth YAML', () => parseAwsAuth(awsAuthYamlWithSecrets()), true],
  ])('%s', (_what, parse, parsed) => {
    const r = parse();
    expect(r.ok).toBe(parsed);
    expect(leaks([out(r)])).toEqual([]);
  });

  it('redacts a secret whose name is written with JSON escapes, which no real encoder does', () => {
    // Nothing else in the event names a secret: only the escaped letter can send it through the rules.
    const value = 'abc123xyz789';
    const text = JSON.stringify({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: '6a0ee8a4-8f4c-4f55-9d33-b8d2ad0f2b4e',
      stage: 'ResponseComplete',
      requestURI: `/api/v1/nodes?token=${value}`,
      verb: 'list',
      user: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
      sourceIPs: ['203.0.113.7'],
      objectRef: { resource: 'nodes', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 403 },
      requestReceivedTimestamp: '2025-06-02T10:00:00.000000Z',
      stageTimestamp: '2025-06-02T10:00:00.001000Z',
    }).replace('?token=', '?\\u0074oken=');
    const parsed = parseAuditEvent(text);
    expect(parsed.ok).toBe(true);
    expect(JSON.stringify(parsed)).not.toContain(value);
  });

  it('keeps what attribution needs', () => {
    const audit = parseAuditEvent(JSON.stringify(auditEventWithSecrets()));
    expect(audit.ok && audit.value.requestURI).toBe(
      `/api/v1/namespaces?access_token=[REDACTED:bearer-token key=${ACCESS_KEY} scope=20240824/us-east-1/sts signed=20240824T142700Z]&limit=500`,
    );
    const saml = parseCloudTrailRecord(samlRecord());
    expect(saml.ok && saml.value.action).toMatchObject({ kind: 'AssumeRole', issuedAccessKeyId: ACCESS_KEY });
    const denial = parseAuthenticatorLine(authenticatorDenialWithUrl());
    expect(denial.ok && denial.value.kind === 'access-denied' && denial.value.errorClass).toBe('sts-failure');
    expect(denial.ok && denial.value.fields.error).toContain(`X-Amz-Credential=${ACCESS_KEY}%2F20240824`);
  });

  it('quarantine entries are redacted whoever built the raw text', () => {
    const q = quarantineEntry(
      { source: 'sqs-message', sourceId: 'm-1' },
      [{ code: 'ENVELOPE_SHAPE', message: `odd value token=${SYNTHETIC.accessToken}` }],
      JSON.stringify(refusedAssumeRole('e-4')),
      0,
    );
    expect(leaks([JSON.stringify(q)])).toEqual([]);
    expect(q.raw).toContain('"eventID":"e-4"');
  });
});
