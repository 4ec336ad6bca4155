import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyFingerprint, verifyBody } from '../../../lib/integrity/signing.js';
import { LOCAL_KEY_FILE, localDigestKey } from '../../../lib/local/digest-key.js';

/** Signing and checking link bodies with the local key (the KMS key is exercised in test/integration/integrity). */

const dir = mkdtempSync(join(tmpdir(), 'eks-trail-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the local digest key', () => {
  it('is created once, owner-readable only, and read back as the same key', async () => {
    expect(localDigestKey(dir, false)).toBeUndefined();
    const created = localDigestKey(dir, true);
    expect((statSync(join(dir, LOCAL_KEY_FILE)).mode & 0o777).toString(8)).toBe('600');
    const again = localDigestKey(dir, true);
    expect(again?.trusted.keyId).toBe(created?.trusted.keyId);
    expect(created?.trusted.keyId).toBe(`local:${keyFingerprint(created?.trusted.publicKey as never)}`);
    const sig = await (created?.signer.sign('body') as Promise<Buffer>);
    expect(verifyBody('body', sig, 'ECDSA_SHA_256', again?.trusted as never)).toBe(true);
  });

  it.each([
    [
      'another body',
      (k: NonNullable<ReturnType<typeof localDigestKey>>, sig: Buffer) =>
        verifyBody('other', sig, 'ECDSA_SHA_256', k.trusted),
    ],
    [
      'another key',
      (_k: NonNullable<ReturnType<typeof localDigestKey>>, sig: Buffer) =>
        verifyBody('body', sig, 'ECDSA_SHA_256', {
          keyId: 'x',
          publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
        }),
    ],
    [
      'the algorithm of another key type',
      (k: NonNullable<ReturnType<typeof localDigestKey>>, sig: Buffer) =>
        verifyBody('body', sig, 'RSASSA_PKCS1_V1_5_SHA_256', k.trusted),
    ],
    [
      'a signature that is not DER',
      (k: NonNullable<ReturnType<typeof localDigestKey>>) =>
        verifyBody('body', Buffer.from('junk'), 'ECDSA_SHA_256', k.trusted),
    ],
  ])('refuses %s (and never throws)', async (_what, check) => {
    const key = localDigestKey(dir, true) as NonNullable<ReturnType<typeof localDigestKey>>;
    const sig = await key.signer.sign('body');
    expect(check(key, sig)).toBe(false);
  });
});
