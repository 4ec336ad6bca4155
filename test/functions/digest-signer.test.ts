import { constants, generateKeyPairSync, privateEncrypt } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { kmsTrustedKey } from '../../lib/integrity/kms-key.js';
import { verifyCluster } from '../../lib/integrity/verify.js';
import { DIGEST_METRICS } from '../../lib/runtime-env.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { mk, stratusChanges } from '../lib/alerts/helpers.js';
import { createTestTable, type Engine, startEngine } from '../support/engine.js';

/**
 * The scheduled digest signer end to end: mapping history in a real table (dynalite), the handler's
 * cold-start wiring, and KMS faked (it has no local engine) by a mock that signs with a real RSA key,
 * so the links it writes verify for real.
 */
const KEY_ARN = 'arn:aws:kms:us-east-1:444455556666:key/1a2b3c4d-0000-4000-8000-00000000abcd';
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kms = mockClient(KMSClient);
let engine: Engine;
let table: string;
let store: DynamoDbTrailStore;

const fakeKms = () => {
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array; SigningAlgorithm: string }) => ({
    KeyId: KEY_ARN,
    SigningAlgorithm: input.SigningAlgorithm,
    Signature: privateEncrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(input.Message)]),
    ),
  }));
  kms.on(GetPublicKeyCommand).resolves({
    KeyId: KEY_ARN,
    PublicKey: publicKey.export({ type: 'spki', format: 'der' }),
    SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256'],
  });
};

beforeAll(async () => {
  engine = await startEngine();
  table = await createTestTable(engine.client, 'signer');
  store = new DynamoDbTrailStore(engine.client, { tableName: table, now: () => Date.now() - 3_600_000 });
  await store.putMappingChanges([
    ...stratusChanges(),
    mk({ kind: 'auth-mode-set', mode: 'API_AND_CONFIG_MAP' }, { at: '2024-01-01T00:00:00.000Z', cluster: 'legacy' }),
  ]);
});

afterAll(async () => {
  kms.restore();
  await engine?.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  kms.reset();
});

const loadHandler = async (env: Record<string, string>) => {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', engine.endpoint);
  vi.resetModules();
  return import('../../functions/digest-signer.js');
};

describe('digest-signer handler', () => {
  it('signs the mapping history of every cluster with the KMS key, in links that verify', async () => {
    fakeKms();
    const mod = await loadHandler({ TABLE_NAME: table, DIGEST_KEY_ARN: KEY_ARN });
    const summary = await mod.handler({ source: 'aws.events' }, {
      functionName: 'digest-signer',
      awsRequestId: 'r-1',
    } as never);
    expect(summary).toMatchObject({ scopes: 3, mismatches: 0 });
    expect(summary.itemsSigned).toBeGreaterThan(0);
    expect(kms).toHaveReceivedCommandWith(SignCommand, {
      KeyId: KEY_ARN,
      MessageType: 'DIGEST',
      SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    });
    const trusted = await kmsTrustedKey(new KMSClient({ region: 'us-east-1' }), 'alias/eks-access-trail-digests');
    for (const ref of await store.clusters()) {
      const r = await verifyCluster(store.digests, [ref], {
        trusted,
        now: Date.now(),
        fromHour: '2024-01-01T00',
        toHour: '2024-01-01T23',
      });
      expect(r.ok).toBe(true);
      expect(r.scopes[0]?.buckets.find((b) => b.bucket === 'history')?.status).toBe('ok');
    }
  });

  it('counts and logs a signed item found changed, and still signs the rest', async () => {
    fakeKms();
    const ref = (await store.clusters()).find((c) => c.cluster === 'legacy');
    const doc = DynamoDBDocumentClient.from(engine.client);
    // A mapping change rewritten behind the store, then a legitimate write to the same history.
    const { Items } = await doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': `MC#C#${ref?.accountId}#${ref?.cluster}` },
      }),
    );
    const victim = (Items ?? [])[0] as Record<string, unknown>;
    await doc.send(
      new PutCommand({ TableName: table, Item: { ...victim, data: String(victim['data']).replace('{', '{"x":1,') } }),
    );
    await store.putMappingChanges([
      mk({ kind: 'auth-mode-set', mode: 'API' }, { at: '2024-02-01T00:00:00.000Z', cluster: ref?.cluster as string }),
    ]);
    const logged: unknown[] = [];
    const mod = await loadHandler({ TABLE_NAME: table, DIGEST_KEY_ARN: KEY_ARN });
    const metrics: [string, number][] = [];
    const summary = await mod.runDigestSigner({
      digests: new DynamoDbTrailStore(mod.dynamoDbClient, { tableName: table }).digests,
      kms: new KMSClient({ region: 'us-east-1' }),
      config: { tableName: table, keyArn: KEY_ARN, settleMs: 0, retryWindowMs: 0 },
      logger: { info() {}, warn() {}, error: (...args: unknown[]) => void logged.push(args) },
      metrics: {
        addMetric: (name: string, _unit: unknown, value: number) => void metrics.push([name, value]),
      } as never,
      now: () => Date.now(),
    });
    expect(summary.mismatches).toBe(1);
    expect(summary.itemsSigned).toBe(1);
    expect(metrics).toContainEqual([DIGEST_METRICS.mismatches, 1]);
    expect(JSON.stringify(logged)).toContain(String(victim['sk']));
  });

  it.each([
    [{ TABLE_NAME: 'trail' }, 'DIGEST_KEY_ARN'],
    [
      { TABLE_NAME: 'trail', DIGEST_KEY_ARN: 'arn:aws:kms:us-east-1:444455556666:alias/eks-access-trail-digests' },
      'DIGEST_KEY_ARN',
    ],
    [{ TABLE_NAME: 'trail', DIGEST_KEY_ARN: KEY_ARN, DIGEST_SETTLE_MINUTES: 'soon' }, 'DIGEST_SETTLE_MINUTES'],
    [{ TABLE_NAME: '', DIGEST_KEY_ARN: KEY_ARN }, 'TABLE_NAME'],
  ])('refuses to start with %j', async (env, variable) => {
    await expect(loadHandler(env)).rejects.toMatchObject({ name: 'ConfigError', problems: [{ variable }] });
  });
});
