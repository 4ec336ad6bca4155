import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent, KinesisStreamEvent, SQSEvent } from 'aws-lambda';
import { accessKeysOf, rederive } from '../../../lib/chain/rederive.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import type { CloudWatchLogsPayload } from '../../../lib/sources/types.js';
import type { ClusterRef, StoredRequest, TrailStore } from '../../../lib/store/trail-store.js';

/**
 * Inputs for the ingestion tests, built from REAL corpus samples (test/fixtures/ingest, attribution in
 * test/fixtures/SOURCES.md) wrapped the way AWS delivers them: gzip'd CloudWatch Logs subscription
 * payloads in Kinesis records or `awslogs.data`, EventBridge events in SQS bodies.
 */

const FIX = join(import.meta.dirname, '../../fixtures/ingest');
const read = (name: string) => readFileSync(join(FIX, name), 'utf8');

// --- the kiempossible cluster (SSO role via access entry with AmazonEKSClusterAdminPolicy) -----------

export const KIEM = { cluster: 'kiem-demo', accountId: '211125685544' } as const;
export const KIEM_AUDIT_ID = 'fb5dba68-6262-4718-b45e-d293b03e434d';
export const KIEM_ACCESS_KEY = 'ASIATCKASJUUD7MPDOZN';

/** The real audit event, as the one-line JSON CloudWatch carries. */
export const kiemEvent = (): Record<string, unknown> => JSON.parse(read('kiempossible-access-policy-allow.json'));
export const kiemLine = (): string => JSON.stringify(kiemEvent());

/**
 * The same request at its ResponseStarted stage (derived: stage and stageTimestamp changed, status
 * dropped), to exercise two stages of one auditID.
 */
export const kiemStartedLine = (): string => {
  const e = kiemEvent();
  e['stage'] = 'ResponseStarted';
  e['stageTimestamp'] = '2024-08-24T14:27:07.480000Z';
  delete e['responseStatus'];
  return JSON.stringify(e);
};

/** A cut like the one CloudWatch applies to oversized audit events (docs/formats.md §0). */
export const kiemTruncatedLine = (): string => `${kiemLine().slice(0, 420)}[Truncated...]`;

// --- Panther-normalised audit events of example-cluster -------------------------------------------

export const PANTHER = { cluster: 'example-cluster', accountId: '123412341234' } as const;

export const pantherLogs = (): Record<string, unknown>[] =>
  read('panther-eks-audit-lines.jsonl')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { log: Record<string, unknown> }).log);

// --- authenticator lines -------------------------------------------------------------------------

export const authenticatorLines = (file: string): string[] =>
  read(file)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));

// --- CloudTrail via EventBridge -----------------------------------------------------------------------

export type ScenarioEvent =
  | 'createAccessEntry'
  | 'associateAccessPolicy'
  | 'assumeRole'
  | 'failedCreateAccessEntry'
  | 'describeCluster';

export const cloudTrailEvent = (name: ScenarioEvent): Record<string, unknown> =>
  (JSON.parse(read('cloudtrail-scenario.json')) as Record<string, Record<string, unknown>>)[name]!;

/**
 * A scenario CloudTrail event moved to another cluster of the same account (and given its own event
 * ids): the same access entry or association, on `cluster`.
 */
export const cloudTrailEventOn = (name: ScenarioEvent, cluster: string): Record<string, unknown> => {
  const e = cloudTrailEvent(name) as { id: string; detail: Record<string, unknown> };
  const detail = structuredClone(e.detail) as Record<string, unknown>;
  const req = detail['requestParameters'] as Record<string, unknown> | null;
  if (req) req['name'] = cluster;
  const resp = detail['responseElements'] as { accessEntry?: Record<string, unknown> } | null;
  if (resp?.accessEntry) resp.accessEntry['clusterName'] = cluster;
  detail['eventID'] = `${String(detail['eventID'])}-${cluster}`;
  return { ...e, id: `${e.id}-${cluster}`, detail };
};

// --- role chaining ---------------------------------------------------------------------------------

/**
 * A two-hop role chain built from the scenario's AssumeRole (same account, same shape): the IAM user
 * alice assumes `deployer` (key CHAIN_KEY_1), and that session assumes `sso_admin` (key CHAIN_KEY_2),
 * with which the request below is made. Only the first hop names a person.
 */
export const ALICE = 'arn:aws:iam::211125685544:user/alice';
export const CHAIN_KEY_1 = 'ASIATCKASJUUCHAIN001';
export const CHAIN_KEY_2 = 'ASIATCKASJUUCHAIN002';
export const CHAIN_AUDIT_ID = '3c0f6a52-9d1e-4b7a-8e21-c4a1b5d0e9f7';

const assumeRoleWith = (o: {
  eventId: string;
  at: string;
  issuedKey: string;
  roleArn: string;
  sessionName: string;
  caller: Record<string, unknown>;
}): Record<string, unknown> => {
  const e = structuredClone(cloudTrailEvent('assumeRole')) as Record<string, unknown> & {
    detail: Record<string, unknown>;
  };
  const roleName = o.roleArn.slice(o.roleArn.lastIndexOf('/') + 1);
  e['id'] = `${String(e['id']).slice(0, 24)}${o.eventId.slice(-12)}`;
  e['time'] = o.at;
  e.detail = {
    ...e.detail,
    eventID: o.eventId,
    eventTime: o.at,
    userIdentity: o.caller,
    requestParameters: { roleArn: o.roleArn, roleSessionName: o.sessionName, durationSeconds: 3600 },
    responseElements: {
      credentials: {
        accessKeyId: o.issuedKey,
        sessionToken: 'redacted',
        expiration: new Date(Date.parse(o.at) + 3_600_000).toISOString(),
      },
      assumedRoleUser: {
        assumedRoleId: `AROATCKASJUU${roleName
          .toUpperCase()
          .replace(/[^A-Z]/g, '')
          .padEnd(9, 'X')}:${o.sessionName}`,
        arn: `arn:aws:sts::211125685544:assumed-role/${roleName}/${o.sessionName}`,
      },
    },
  };
  return e;
};

/** alice (IAM user) -> role deployer: issues CHAIN_KEY_1. */
export const chainHop1 = (): Record<string, unknown> =>
  assumeRoleWith({
    eventId: 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3c01',
    at: '2024-08-24T14:05:00Z',
    issuedKey: CHAIN_KEY_1,
    roleArn: 'arn:aws:iam::211125685544:role/deployer',
    sessionName: 'alice-deploy',
    caller: {
      type: 'IAMUser',
      principalId: 'AIDATCKASJUUALICE0001',
      arn: ALICE,
      accountId: '211125685544',
      accessKeyId: 'AKIATCKASJUUALICE001',
      userName: 'alice',
    },
  });

/** The deployer session (CHAIN_KEY_1) -> role sso_admin: issues CHAIN_KEY_2. */
export const chainHop2 = (): Record<string, unknown> =>
  assumeRoleWith({
    eventId: 'c1a9d5f2-3e4b-4c6d-8e7f-9a0b1c2d3c02',
    at: '2024-08-24T14:10:00Z',
    issuedKey: CHAIN_KEY_2,
    roleArn: 'arn:aws:iam::211125685544:role/sso_admin',
    sessionName: 'deploy-run-7',
    caller: {
      type: 'AssumedRole',
      principalId: 'AROATCKASJUUDEPLOYER:alice-deploy',
      arn: 'arn:aws:sts::211125685544:assumed-role/deployer/alice-deploy',
      accountId: '211125685544',
      accessKeyId: CHAIN_KEY_1,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROATCKASJUUDEPLOYER',
          arn: 'arn:aws:iam::211125685544:role/deployer',
          accountId: '211125685544',
          userName: 'deployer',
        },
        attributes: { creationDate: '2024-08-24T14:05:00Z', mfaAuthenticated: 'false' },
      },
    },
  });

/** The kiem request, made with the chained key CHAIN_KEY_2 (a session of sso_admin). */
export const chainedRequestLine = (): string => {
  const e = kiemEvent() as Record<string, unknown> & { user: { username: string; extra: Record<string, string[]> } };
  e['auditID'] = CHAIN_AUDIT_ID;
  e.user.extra['accessKeyId'] = [CHAIN_KEY_2];
  e.user.extra['arn'] = ['arn:aws:sts::211125685544:assumed-role/sso_admin/deploy-run-7'];
  e.user.extra['sessionName'] = ['deploy-run-7'];
  e.user.username = 'arn:aws:sts::211125685544:assumed-role/sso_admin/deploy-run-7';
  return JSON.stringify(e);
};

// --- reading back ----------------------------------------------------------------------------------

type Reader = Pick<TrailStore, 'evidenceFor'>;

/** Stored requests as a question shows them: each derived again with the evidence as it stands now. */
export const derived = async (store: Reader, requests: readonly StoredRequest[]): Promise<DecisionChain[]> => {
  const out: DecisionChain[] = [];
  for (const r of requests) out.push(rederive(r, await store.evidenceFor(r.ref, accessKeysOf([r]))));
  return out;
};

/** One request by auditID (notable ones by id alone; any with `at`), derived now; undefined when not stored. */
export const chainOf = async (
  store: Reader & Pick<TrailStore, 'requestByAuditId'>,
  ref: ClusterRef,
  auditID: string,
  at?: string,
): Promise<DecisionChain | undefined> => {
  const r = await store.requestByAuditId(ref, auditID, at);
  return r ? (await derived(store, [r]))[0] : undefined;
};

/** The audit stages stored for a request (empty when it is not stored). */
export const stagesOf = async (
  store: Pick<TrailStore, 'requestByAuditId'>,
  ref: ClusterRef,
  auditID: string,
  at?: string,
): Promise<string[]> => {
  const r = await store.requestByAuditId(ref, auditID, at);
  return r?.kind === 'request' ? r.stages.map((s) => s.event.stage) : [];
};

// --- transport wrappers ---------------------------------------------------------------------------

let seq = 0n;
/** CloudWatch event ids are 56-digit decimal strings. */
export const eventId = (): string =>
  (36_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n + ++seq).toString();

export interface StreamSpec {
  cluster: string;
  accountId: string;
  kind: 'audit' | 'authenticator' | 'scheduler';
  logGroup?: string;
}

const streamName = (kind: StreamSpec['kind']) =>
  kind === 'audit'
    ? 'kube-apiserver-audit-900118300c7497e54b1f844e21ac4f7b'
    : kind === 'authenticator'
      ? 'authenticator-1111222272c52cc05e3177863bdcc12d'
      : 'kube-scheduler-5c0d4e1f2a3b4c5d6e7f8a9b0c1d2e3f';

export const payload = (
  spec: StreamSpec,
  events: { message: string; timestamp: number; id?: string }[],
): CloudWatchLogsPayload => ({
  messageType: 'DATA_MESSAGE',
  owner: spec.accountId,
  logGroup: spec.logGroup ?? `/aws/eks/${spec.cluster}/cluster`,
  logStream: streamName(spec.kind),
  subscriptionFilters: ['eks-access-trail-us-east-1'],
  logEvents: events.map((e) => ({ id: e.id ?? eventId(), timestamp: e.timestamp, message: e.message })),
});

export const gzipBase64 = (p: unknown): string => gzipSync(Buffer.from(JSON.stringify(p))).toString('base64');

let kseq = 49_635_052_289_529_725_553_291_405_521_504_870_233_219_489_715_332_317_186n;

export const kinesisEvent = (datas: string[], arrivalSeconds = 1_724_509_700.5): KinesisStreamEvent => ({
  Records: datas.map((data) => {
    const sequenceNumber = (++kseq).toString();
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'da10bf66b1f54bff5d96eae99149ad1f',
        sequenceNumber,
        data,
        approximateArrivalTimestamp: arrivalSeconds,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::111111111111:role/log-ingest',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:111111111111:stream/eks-access-trail',
    };
  }),
});

export const awslogsEvent = (p: CloudWatchLogsPayload): CloudWatchLogsEvent => ({ awslogs: { data: gzipBase64(p) } });

let mseq = 0;
export const sqsEvent = (bodies: string[]): SQSEvent => ({
  Records: bodies.map((body) => {
    const n = ++mseq;
    return {
      messageId: `0e8b4c1a-6d2f-4b7e-9c3a-${n.toString().padStart(12, '0')}`,
      receiptHandle: `AQEB${n}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1724509800000',
        SenderId: 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp: '1724509800100',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:111111111111:eks-access-trail-cloudtrail',
      awsRegion: 'us-east-1',
    };
  }),
});

/** A Lambda context good enough for Powertools' injectLambdaContext. */
export const lambdaContext = (name: string) =>
  ({
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:111111111111:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: '2024/08/24/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }) as unknown as import('aws-lambda').Context;

export const KIEM_TS = Date.parse('2024-08-24T14:27:07.500Z');
