import { resolve } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { replayFiles } from '../../lib/local/replay.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../support/engine.js';

/**
 * The scheduled OCSF export end to end: the kiem fixture replayed into a real table (dynalite), the
 * handler's cold-start wiring, and the objects it puts (S3 and STS mocked: no local engine).
 */
const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
let engine: Engine;
let table: string;

beforeAll(async () => {
  engine = await startEngine();
  table = await createTestTable(engine.client, 'ocsf');
  const store = new DynamoDbTrailStore(engine.client, { tableName: table });
  await replayFiles([resolve(__dirname, '../fixtures/query/kiem')], store, {
    now: () => Date.parse('2024-09-01T00:00:00Z'),
    accountId: '211125685544',
    at: '2024-08-05T00:00:00.000Z',
  });
});

afterAll(async () => {
  await engine?.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  vi.useRealTimers();
  s3.reset();
  sts.reset();
});

const run = async (env: Record<string, string>) => {
  for (const [k, v] of Object.entries({
    TABLE_NAME: table,
    OCSF_API_ACTIVITY_LOCATION: 's3://lake-bucket/ext/eks-trail-api-activity/1.0/',
    OCSF_ENTITY_MANAGEMENT_LOCATION: 's3://lake-bucket/ext/eks-trail-entity-management/1.0/',
    OCSF_REGION: 'eu-west-1',
    OCSF_CLUSTER_REGIONS: '{"211125685544/kiem":"us-east-1"}',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint,
    ...env,
  }))
    vi.stubEnv(k, v);
  // The fixture's requests are at 14:27-14:30 UTC; at 15:20 the 14:00-15:00 window is closed.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2024-08-24T15:20:00Z'));
  s3.on(PutObjectCommand).resolves({});
  vi.resetModules();
  const mod = await import('../../functions/ocsf-export.js');
  return { result: await mod.handler({}, {} as Context), mod };
};

describe('ocsf-export handler', () => {
  it('puts the closed window of each cluster as Parquet under the source locations, in the cluster region', async () => {
    const { result } = await run({});
    expect(result.requests).toBe(4);
    expect(result.mappingChanges).toBeGreaterThan(0);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => `${p.Bucket}/${p.Key}`)).toEqual([
      'lake-bucket/ext/eks-trail-api-activity/1.0/region=us-east-1/accountId=211125685544/eventDay=20240824/211125685544-kiem-20240824T140000Z.parquet',
      'lake-bucket/ext/eks-trail-entity-management/1.0/region=us-east-1/accountId=211125685544/eventDay=20240824/211125685544-kiem-20240824T140000Z.parquet',
    ]);
    const body = puts[0]?.Body as Uint8Array;
    const rows = await parquetReadObjects({
      file: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
    });
    expect(rows.map((r) => (r.cloud as { region: string }).region)).toEqual([
      'us-east-1',
      'us-east-1',
      'us-east-1',
      'us-east-1',
    ]);
    expect(puts[0]?.ACL).toBeUndefined();
    expect(sts).not.toHaveReceivedCommand(AssumeRoleCommand);
  });

  it("writes through Security Lake's provider role, with its external id, granting the lake's owner the object", async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAEXAMPLE',
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date('2024-08-24T16:20:00Z'),
      },
    });
    const { mod } = await run({
      OCSF_WRITER_ROLE_ARN: 'arn:aws:iam::999999999999:role/AmazonSecurityLake-Provider-eks-trail',
      OCSF_WRITER_EXTERNAL_ID: 'xid-1',
    });
    // The S3 mock answers before the SDK resolves credentials; resolve them as a real send would.
    const creds = await mod.s3Client.config.credentials();
    expect(creds.accessKeyId).toBe('ASIAEXAMPLE');
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: 'arn:aws:iam::999999999999:role/AmazonSecurityLake-Provider-eks-trail',
      ExternalId: 'xid-1',
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { ACL: 'bucket-owner-full-control' });
  });
});
