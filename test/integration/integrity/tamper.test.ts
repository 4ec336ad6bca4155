import { constants, generateKeyPairSync, privateEncrypt } from 'node:crypto';
import { resolve } from 'node:path';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalChains } from '../../../lib/chain/rederive.js';
import type { CredentialIssuance } from '../../../lib/chain/types.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { kmsDigestSigner, kmsTrustedKey } from '../../../lib/integrity/kms-key.js';
import { signAll } from '../../../lib/integrity/signer.js';
import type { TrustedKey } from '../../../lib/integrity/signing.js';
import { type FindingKind, type VerifyReport, verifyCluster } from '../../../lib/integrity/verify.js';
import { replayFiles } from '../../../lib/local/replay.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type ClusterRef, clusterRefKey } from '../../../lib/store/keys.js';
import type { StoredRequest } from '../../../lib/store/trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';

/**
 * Tamper evidence end to end (docs/tamper-evidence.md): the sample scenario replayed through the real
 * pipelines into a real engine, signed by the real signer through a faked KMS that signs with a real
 * RSA key (so every signature is checked for real), then changed behind the store's back the way an
 * ingest role could (one PutItem or DeleteItem at a time), and verified. Each change must be found,
 * with its key; each legitimate late write must not be reported as tampering.
 */

const SAMPLES = resolve(__dirname, '../../../samples');
const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/0a1b2c3d-0000-4000-8000-000000000001';
const WRITE_NOW = Date.parse('2025-06-03T00:00:00Z');
const HOUR = 3_600_000;
const SIGN_1 = WRITE_NOW + HOUR;
const SIGN_2 = WRITE_NOW + 2 * HOUR;
const VERIFY_NOW = WRITE_NOW + 3 * HOUR;
const SETTLE_MS = 15 * 60_000;
const RETRY_WINDOW_MS = 6 * HOUR;
const WINDOW = { fromHour: '2025-06-02T08', toHour: '2025-06-02T15' };

let engine: Engine;
let tableName: string;
let store: DynamoDbTrailStore;
let raw: DynamoDBDocumentClient;
let refs: ClusterRef[];
let payments: ClusterRef;
let trusted: TrustedKey;
let kms: KMSClient;
const kmsMock = mockClient(KMSClient);

/** KMS Sign with MessageType DIGEST and PKCS #1 v1.5, as KMS computes it: DigestInfo(SHA-256) || digest. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const sign = (now: number) =>
  signAll(store.digests, {
    signer: kmsDigestSigner(kms, KEY_ARN),
    now,
    settleMs: SETTLE_MS,
    retryWindowMs: RETRY_WINDOW_MS,
  });

const verify = (now = VERIFY_NOW, ref: ClusterRef = payments): Promise<VerifyReport> =>
  verifyCluster(store.digests, [ref], { trusted, now, ...WINDOW });

const query = async (pk: string, begins?: string) =>
  (
    await raw.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: begins ? 'pk = :p AND begins_with(sk, :s)' : 'pk = :p',
        ExpressionAttributeValues: begins ? { ':p': pk, ':s': begins } : { ':p': pk },
      }),
    )
  ).Items ?? [];

const put = (item: Record<string, unknown>) => raw.send(new PutCommand({ TableName: tableName, Item: item }));
const del = (k: { pk: unknown; sk: unknown }) =>
  raw.send(new DeleteCommand({ TableName: tableName, Key: { pk: k.pk, sk: k.sk } }));

/** Every finding of a report as `scope|bucket|kind|pk|sk` (bucket `chain` for the chain's own). */
const findingsOf = (r: VerifyReport): string[] =>
  r.scopes.flatMap((s) => [
    ...s.chain.findings.flatMap((f) =>
      (f.keys.length ? f.keys : [{ pk: '', sk: '' }]).map((k) => `${s.scope}|chain|${f.kind}|${k.pk}|${k.sk}`),
    ),
    ...s.buckets.flatMap((b) =>
      b.findings.flatMap((f) =>
        (f.keys.length ? f.keys : [{ pk: '', sk: '' }]).map((k) => `${s.scope}|${b.bucket}|${f.kind}|${k.pk}|${k.sk}`),
      ),
    ),
  ]);

const problemKinds = (r: VerifyReport): Set<FindingKind> =>
  new Set(
    r.scopes.flatMap((s) => [
      ...s.chain.findings.filter((f) => f.problem).map((f) => f.kind),
      ...s.buckets.flatMap((b) => b.findings.filter((f) => f.problem).map((f) => f.kind)),
    ]),
  );

beforeAll(async () => {
  engine = await startEngine();
  tableName = await createTestTable(engine.client, 'tamper');
  store = new DynamoDbTrailStore(engine.client, { tableName, now: () => WRITE_NOW });
  raw = DynamoDBDocumentClient.from(engine.client);
  await replayFiles([SAMPLES], store, {
    now: () => WRITE_NOW,
    accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
  });
  refs = (await store.clusters()).sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  payments = refs.find((r) => r.cluster === 'payments-prod') as ClusterRef;

  kmsMock.on(SignCommand).callsFake((input: { Message: Uint8Array; MessageType: string; SigningAlgorithm: string }) => {
    expect(input.MessageType).toBe('DIGEST');
    expect(input.SigningAlgorithm).toBe('RSASSA_PKCS1_V1_5_SHA_256');
    const sig = privateEncrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(input.Message)]),
    );
    return { KeyId: KEY_ARN, Signature: sig, SigningAlgorithm: input.SigningAlgorithm };
  });
  kmsMock.on(GetPublicKeyCommand).resolves({
    KeyId: KEY_ARN,
    PublicKey: publicKey.export({ type: 'spki', format: 'der' }),
    KeySpec: 'RSA_2048',
    KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_256'],
  });
  kms = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  trusted = await kmsTrustedKey(kms, 'alias/eks-access-trail-digests');
  await sign(SIGN_1);
  // A second run with nothing new: every chain gets its heartbeat link.
  await sign(SIGN_2);
}, 180_000);

afterAll(async () => {
  kmsMock.restore();
  await engine?.stop();
});

describe('a signed trail, untouched', () => {
  it.each(['checkout-stg', 'payments-prod'])('verifies %s: every hour ok, the chain intact', async (name) => {
    const ref = refs.find((r) => r.cluster === name) as ClusterRef;
    const r = await verify(VERIFY_NOW, ref);
    expect(findingsOf(r).filter((f) => !f.includes('|replaced|'))).toEqual([]);
    expect(r.ok).toBe(true);
    const own = r.scopes.find((s) => s.scope === clusterRefKey(ref));
    expect(own?.chain.links).toBe(2);
    expect(own?.buckets.map((b) => b.bucket)).toEqual([
      ...Array.from({ length: 8 }, (_, i) => `2025-06-02T${String(8 + i).padStart(2, '0')}`),
      'history',
    ]);
    expect(own?.buckets.every((b) => b.status === 'ok' && b.integrity === 'observed')).toBe(true);
    // The issuances of the window's hours and of every key the window's requests used.
    expect(r.scopes.find((s) => s.scope === 'CRED')?.buckets.length).toBeGreaterThan(0);
  });

  it('reads with Query, GetItem and BatchGetItem only (no Scan)', async () => {
    const sent: string[] = [];
    const client = engine.newClient();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'commandNames' },
    );
    const s = new DynamoDbTrailStore(client, { tableName });
    await verifyCluster(s.digests, [payments], { trusted, now: VERIFY_NOW, ...WINDOW });
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((c) => !['QueryCommand', 'GetItemCommand', 'BatchGetItemCommand'].includes(c))).toEqual([]);
    client.destroy();
  });
});

// -------------------------------------------------------------------------------------------------
// Tampering: one change at a time, undone after each case
// -------------------------------------------------------------------------------------------------

type Item = Record<string, unknown>;

const paymentsScope = () => clusterRefKey(payments);

const recompress = (z: Uint8Array, edit: (text: string) => string): Buffer => {
  const text = brotliDecompressSync(Buffer.from(z)).toString('utf8');
  const changed = edit(text);
  expect(changed).not.toBe(text);
  return brotliCompressSync(Buffer.from(changed, 'utf8'));
};

/** A notable single-chunk segment part of payments-prod in the given hour. */
const notablePart = async (hour: string): Promise<Item> => {
  const items = await query(`S#${payments.accountId}#${payments.cluster}`, hour);
  const part = items.find((i) => String(i['sk']).endsWith('#n') && i['nc'] === 1);
  expect(part).toBeDefined();
  return part as Item;
};

interface TamperCase {
  name: string;
  /** Makes the change; returns what undoes it. */
  apply: () => Promise<() => Promise<unknown>>;
  /** `scope|bucket|kind` prefixes the report must contain (scope `cluster` = payments-prod). */
  expected: (ctx: { keys: { pk: string; sk: string }[] }) => string[];
}

let lastKeys: { pk: string; sk: string }[] = [];

/** An issuance of 08:xx, as stored (the first one its signed manifest lists). */
const anyIssuance = async (): Promise<{ item: Item; issuance: CredentialIssuance }> => {
  const [m] = await store.digests.manifests('CRED', '2025-06-02T08', '2025-06-02T08');
  const [pk] = JSON.parse(m?.text?.split('\n')[1] as string) as string[];
  const [item] = await query(pk as string);
  return { item: item as Item, issuance: JSON.parse(String(item?.['data'])) as CredentialIssuance };
};
const restoreAll = (items: Item[]) => async () => {
  for (const i of items) await put(i);
};

const CASES: TamperCase[] = [
  {
    name: 'rewrite a segment part: another Kubernetes user in one row',
    apply: async () => {
      const part = await notablePart('2025-06-02T09');
      lastKeys = [{ pk: String(part['pk']), sk: String(part['sk']) }];
      await put({
        ...part,
        z: recompress(part['z'] as Uint8Array, (t) => t.replace(/"username":"([^"]+)"/, '"username":"$1-x"')),
      });
      return restoreAll([part]);
    },
    expected: ({ keys }) => [`cluster|2025-06-02T09|items-altered|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'rewrite a mapping change: an access entry for another principal',
    apply: async () => {
      const items = await query(`MC#${paymentsScope()}`, 'access-entry');
      const item = items.find((i) => typeof i['data'] === 'string' && String(i['data']).includes('arn:aws:iam::'));
      expect(item).toBeDefined();
      const change = item as Item;
      lastKeys = [{ pk: String(change['pk']), sk: String(change['sk']) }];
      await put({
        ...change,
        data: String(change['data']).replace(/arn:aws:iam::(\d{12}):role\//, 'arn:aws:iam::$1:role/Intruder'),
      });
      return restoreAll([change]);
    },
    expected: ({ keys }) => [`cluster|history|items-altered|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'rewrite an issuance: another human behind an access key',
    apply: async () => {
      const { item, issuance } = await anyIssuance();
      lastKeys = [{ pk: String(item['pk']), sk: 'CRED' }];
      await put({ ...item, data: JSON.stringify({ ...issuance, sourceIdentity: 'mallory@example.com' }) });
      return restoreAll([item]);
    },
    expected: ({ keys }) => [`CRED|2025-06-02T08|items-altered|${keys[0]?.pk}|CRED`],
  },
  {
    name: 'shorten how long a part is kept (its TTL)',
    apply: async () => {
      const part = await notablePart('2025-06-02T11');
      lastKeys = [{ pk: String(part['pk']), sk: String(part['sk']) }];
      await put({ ...part, expiresAt: Number(part['expiresAt']) - 300 * 86_400 });
      return restoreAll([part]);
    },
    expected: ({ keys }) => [`cluster|2025-06-02T11|items-altered|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'delete a segment part',
    apply: async () => {
      const part = await notablePart('2025-06-02T10');
      lastKeys = [{ pk: String(part['pk']), sk: String(part['sk']) }];
      await del(part as { pk: unknown; sk: unknown });
      return restoreAll([part]);
    },
    expected: ({ keys }) => [`cluster|2025-06-02T10|items-missing|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'delete an authenticator part',
    apply: async () => {
      const items = await query(`N#${payments.accountId}#${payments.cluster}`, '2025-06-02T12');
      const part = items[0] as Item;
      lastKeys = [{ pk: String(part['pk']), sk: String(part['sk']) }];
      await del(part as { pk: unknown; sk: unknown });
      return restoreAll([part]);
    },
    expected: ({ keys }) => [`cluster|2025-06-02T12|items-missing|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'delete a mapping change',
    apply: async () => {
      const items = await query(`MC#${paymentsScope()}`);
      const change = items.find((i) => !String(i['sk']).startsWith('principal-id-observed')) as Item;
      lastKeys = [{ pk: String(change['pk']), sk: String(change['sk']) }];
      await del(change as { pk: unknown; sk: unknown });
      return restoreAll([change]);
    },
    expected: ({ keys }) => [`cluster|history|items-missing|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'insert a segment part (a request that never happened)',
    apply: async () => {
      const part = await notablePart('2025-06-02T13');
      const sk = String(part['sk']).replace(/#[^#]+#n$/, '#FORGEDanchor#n');
      lastKeys = [{ pk: String(part['pk']), sk }];
      await put({ ...part, sk });
      return () => del({ pk: part['pk'], sk });
    },
    expected: ({ keys }) => [`cluster|2025-06-02T13|items-added|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'insert a mapping change (an access entry nobody created)',
    apply: async () => {
      const items = await query(`MC#${paymentsScope()}`, 'access-entry');
      const change = items[0] as Item;
      const sk = `${String(change['sk'])}-forged`;
      lastKeys = [{ pk: String(change['pk']), sk }];
      await put({ ...change, sk });
      return () => del({ pk: change['pk'], sk });
    },
    expected: ({ keys }) => [`cluster|history|items-added|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'plant an issuance for a key the requests used, whose AssumeRole was never seen (a human out of nothing)',
    apply: async () => {
      const scope = paymentsScope();
      const used = new Set<string>();
      for (let h = 8; h < 16; h++) {
        const c = await store.digests.bucketContent(scope, `2025-06-02T${String(h).padStart(2, '0')}`, [], {
          accessKeys: true,
        });
        for (const k of c.accessKeys) used.add(k);
      }
      const have = await store.digests.coveredItems([...used].map((k) => ({ pk: `CRED#${k}`, sk: 'CRED' })));
      const key = [...used].find((k) => k.startsWith('ASIA') && !have.some((h) => h.pk === `CRED#${k}`)) as string;
      expect(key).toBeDefined();
      const { item: template, issuance } = await anyIssuance();
      const pk = `CRED#${key}`;
      lastKeys = [{ pk, sk: 'CRED' }];
      await put({
        ...template,
        pk,
        at: '2025-06-02T09:00:00.000000Z',
        data: JSON.stringify({
          ...issuance,
          accessKeyId: key,
          issuedAt: '2025-06-02T09:00:00Z',
          sourceIdentity: 'mallory@example.com',
        }),
      });
      return () => del({ pk, sk: 'CRED' });
    },
    expected: ({ keys }) => [`CRED|2025-06-02T09|items-added|${keys[0]?.pk}|CRED`],
  },
  {
    name: 'delete a digest manifest',
    apply: async () => {
      const items = await query(`DG#${paymentsScope()}`, 'M#2025-06-02T10#');
      lastKeys = items.map((i) => ({ pk: String(i['pk']), sk: String(i['sk']) }));
      for (const i of items) await del(i as { pk: unknown; sk: unknown });
      return restoreAll(items);
    },
    // Its items are then signed by nothing: the hour reads as never signed, and the link says why.
    expected: ({ keys }) => [
      `cluster|2025-06-02T10|digest-missing|${keys[0]?.pk}|${keys[0]?.sk}`,
      'cluster|2025-06-02T10|no-digest',
    ],
  },
  {
    name: 'delete a digest link (a gap in the chain)',
    apply: async () => {
      const items = await query(`DG#${paymentsScope()}`, 'L#');
      const first = items[0] as Item;
      lastKeys = [{ pk: String(first['pk']), sk: String(first['sk']) }];
      await del(first as { pk: unknown; sk: unknown });
      return restoreAll([first]);
    },
    expected: ({ keys }) => [
      `cluster|chain|chain-broken|${keys[0]?.pk}|${keys[0]?.sk}`,
      'cluster|2025-06-02T08|digest-unsigned',
    ],
  },
  {
    name: 'alter a digest manifest (drop one entry, so a deleted item would pass)',
    apply: async () => {
      const [m] = await query(`DG#${paymentsScope()}`, 'M#2025-06-02T14#');
      const manifest = m as Item;
      lastKeys = [{ pk: String(manifest['pk']), sk: String(manifest['sk']) }];
      await put({
        ...manifest,
        z: recompress(manifest['z'] as Uint8Array, (t) => {
          const lines = t.split('\n');
          const header = JSON.parse(lines[0] as string) as { n: number };
          return [JSON.stringify({ ...header, n: header.n - 1 }), ...lines.slice(2)].join('\n');
        }),
      });
      return restoreAll([manifest]);
    },
    expected: ({ keys }) => [`cluster|2025-06-02T14|digest-altered|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 'alter a digest link (its body, signature kept)',
    apply: async () => {
      const items = await query(`DG#${paymentsScope()}`, 'L#');
      const link = items[1] as Item;
      lastKeys = [{ pk: String(link['pk']), sk: String(link['sk']) }];
      await put({ ...link, body: String(link['body']).replace('"cutoff":"2025', '"cutoff":"2024') });
      return restoreAll([link]);
    },
    expected: ({ keys }) => [`cluster|chain|signature-invalid|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
  {
    name: 're-sign a link with another key',
    apply: async () => {
      const items = await query(`DG#${paymentsScope()}`, 'L#');
      const link = items[1] as Item;
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const body = String(link['body']).replace(KEY_ARN, `${KEY_ARN}-other`);
      const { sign: nodeSign } = await import('node:crypto');
      lastKeys = [{ pk: String(link['pk']), sk: String(link['sk']) }];
      await put({ ...link, body, sig: nodeSign('sha256', Buffer.from(body), other) });
      return restoreAll([link]);
    },
    expected: ({ keys }) => [`cluster|chain|signature-invalid|${keys[0]?.pk}|${keys[0]?.sk}`],
  },
];

describe('tampering behind the store', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: found, with its key', async (_name, c) => {
    const undo = await c.apply();
    try {
      const r = await verify();
      const found = findingsOf(r).map((f) => f.replace(`${paymentsScope()}|`, 'cluster|'));
      for (const e of c.expected({ keys: lastKeys })) {
        expect(
          found.some((f) => f.startsWith(e)),
          `${e} in\n${found.join('\n')}`,
        ).toBe(true);
      }
      expect(r.ok).toBe(false);
    } finally {
      await undo();
    }
    // Undone, the trail verifies again: the report above was about this change only.
    const again = await verify();
    expect(findingsOf(again).filter((f) => !f.includes('|replaced|'))).toEqual([]);
  });

  it('the planted issuance gives requests a human out of nothing: verify is the check that catches it', async () => {
    const c = CASES.find((x) => x.name.startsWith('plant an issuance')) as TamperCase;
    const range = { from: '2025-06-02T08:00:00Z', to: '2025-06-02T16:00:00Z' };
    const undo = await c.apply();
    try {
      const key = String(lastKeys[0]?.pk).slice('CRED#'.length);
      const planted = (await finalChains(store, payments, range)).find((ch) => ch.principal.value?.accessKeyId === key);
      expect(planted?.human.status).not.toBe('unknown');
      expect(planted?.human.value?.identity).toBeDefined();
      await undo();
      const honest = (await finalChains(store, payments, range)).find((ch) => ch.principal.value?.accessKeyId === key);
      expect(honest?.human.value?.identity).not.toBe(planted?.human.value?.identity);
      await c.apply();
      const r = await verify();
      expect(problemKinds(r)).toEqual(new Set(['items-added']));
    } finally {
      await undo();
    }
  });

  it('an expired item is retention, not deletion: gone after its TTL, the hour still verifies', async () => {
    const [part] = await query(`N#${payments.accountId}#${payments.cluster}`, '2025-06-02T12');
    const item = part as Item;
    await del(item as { pk: unknown; sk: unknown });
    try {
      const later = Number(item['expiresAt']) * 1000 + HOUR;
      const r = await verify(later);
      expect(r.ok).toBe(true);
      const hour = r.scopes.find((s) => s.scope === paymentsScope())?.buckets.find((b) => b.bucket === '2025-06-02T12');
      expect(hour?.findings.map((f) => f.kind)).toEqual(['expired']);
      expect(hour?.integrity).toBe('derived');
      // Before its expiry the same absence is a deletion.
      expect(problemKinds(await verify())).toEqual(new Set(['items-missing']));
    } finally {
      await put(item);
    }
  });
});

// -------------------------------------------------------------------------------------------------
// Legitimate late writes (these change the trail for good: they run last)
// -------------------------------------------------------------------------------------------------

describe('late writes through the store', () => {
  const LATE_NOW = WRITE_NOW + 2.5 * HOUR;
  let lateStore: DynamoDbTrailStore;
  let lateRequest: StoredRequest & { kind: 'request' };

  beforeAll(() => {
    lateStore = new DynamoDbTrailStore(engine.client, { tableName, now: () => LATE_NOW });
  });

  it('are pending until the signer runs, and never reported as tampering', async () => {
    // A request of 10:xx delivered late (a new delivery unit, so a new segment in an old cell).
    const page = await lateStore.requestsByCluster(
      payments,
      { from: '2025-06-02T10:00:00Z', to: '2025-06-02T10:59:59Z' },
      { limit: 50 },
    );
    const original = page.items.find((r) => r.kind === 'request') as StoredRequest & { kind: 'request' };
    const chains = await finalChains(lateStore, payments, { from: '2025-06-02T10:00:00Z', to: '2025-06-02T10:59:59Z' });
    const chain = chains.find((c) => c.auditID === original.auditID);
    const auditID = `${original.auditID.slice(0, -4)}late`;
    lateRequest = { ...original, auditID };
    await lateStore.putLogBatch({
      audit: original.stages.map((s, index) => ({
        unit: { id: `late-delivery-${index}`, index },
        facts: { ...s, event: { ...s.event, auditID } },
        chain: { ...(chain as NonNullable<typeof chain>), auditID, chainId: `${payments.cluster}#${auditID}` },
      })),
      authenticator: [],
    });
    // An AssumeRole that arrived late (a new issuance filed under 11:xx).
    const { issuance } = await anyIssuance();
    await lateStore.putCredentials([
      { ...issuance, accessKeyId: 'ASIALATEARRIVAL00001', issuedAt: '2025-06-02T11:30:00Z' },
    ]);
    // An earlier sighting of a principal id: mapping history keeps the earliest, replacing the item.
    const observations = (await lateStore.mappingChanges(payments)).filter(
      (m) => m.op.kind === 'principal-id-observed',
    );
    const first = observations[0] as MappingChange;
    await lateStore.putMappingChanges([{ ...first, at: '2025-06-02T07:00:00Z', sourceEventId: 'earlier-sighting' }]);

    const r = await verify();
    expect(problemKinds(r)).toEqual(new Set());
    expect(r.ok).toBe(true);
    const statusOf = (scope: string, bucket: string) =>
      r.scopes.find((s) => s.scope === scope)?.buckets.find((b) => b.bucket === bucket);
    expect(statusOf(paymentsScope(), '2025-06-02T10')?.status).toBe('pending');
    expect(statusOf(paymentsScope(), '2025-06-02T10')?.integrity).toBe('unknown');
    expect(statusOf(paymentsScope(), 'history')?.status).toBe('pending');
  });

  it('are covered by the next signer run as a new version of their hour, chained after the first', async () => {
    const run = await sign(WRITE_NOW + 3 * HOUR);
    const own = run.scopes.find((s) => s.scope === paymentsScope());
    expect(own?.mismatches).toEqual([]);
    expect(own?.buckets.map((b) => [b.bucket, b.first])).toEqual([
      ['2025-06-02T10', false],
      ['history', false],
    ]);
    const r = await verify(WRITE_NOW + 4 * HOUR);
    expect(findingsOf(r).filter((f) => !f.includes('|replaced|'))).toEqual([]);
    const hour = r.scopes.find((s) => s.scope === paymentsScope())?.buckets.find((b) => b.bucket === '2025-06-02T10');
    expect(hour?.signedAt.length).toBe(2);
    expect(hour?.status).toBe('ok');
    const history = r.scopes.find((s) => s.scope === paymentsScope())?.buckets.find((b) => b.bucket === 'history');
    expect(history?.findings.map((f) => f.kind)).toEqual(['replaced']);
    const issuances = r.scopes.find((s) => s.scope === 'CRED')?.buckets.find((b) => b.bucket === '2025-06-02T11');
    expect(issuances?.signedAt.length).toBe(2);
    expect(lateRequest.auditID.endsWith('late')).toBe(true);
  });

  it('reports what it refused to sign: a tampered item in an hour that gets a late write', async () => {
    const part = await notablePart('2025-06-02T15');
    await put({
      ...part,
      z: recompress(part['z'] as Uint8Array, (t) => t.replace(/"username":"([^"]+)"/, '"username":"$1-y"')),
    });
    try {
      // A late write to the same hour brings the signer to look at it again.
      const page = await lateStore.requestsByCluster(
        payments,
        { from: '2025-06-02T15:00:00Z', to: '2025-06-02T15:59:59Z' },
        { limit: 5 },
      );
      const original = page.items.find((x) => x.kind === 'request') as StoredRequest & { kind: 'request' };
      const chains = await finalChains(lateStore, payments, {
        from: '2025-06-02T15:00:00Z',
        to: '2025-06-02T15:59:59Z',
      });
      const chain = chains.find((c) => c.auditID === original.auditID);
      await lateStore.putLogBatch({
        audit: original.stages.map((s, index) => ({
          unit: { id: `late-15-${index}`, index },
          facts: s,
          chain: chain as NonNullable<typeof chain>,
        })),
        authenticator: [],
      });
      // Past the retry window: a changed part is tampering, not a retried delivery.
      const run = await sign(WRITE_NOW + 12 * HOUR);
      const own = run.scopes.find((s) => s.scope === paymentsScope());
      expect(own?.mismatches.map((m) => [m.kind, m.key?.sk])).toEqual([['altered', part['sk']]]);
      const r = await verify(WRITE_NOW + 13 * HOUR);
      expect(problemKinds(r)).toEqual(new Set(['items-altered']));
    } finally {
      await put(part);
    }
  });
});
