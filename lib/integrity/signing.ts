import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { SigningAlgorithm } from './digest-format.js';

/**
 * The signing key port (docs/tamper-evidence.md, "Keys"). A signer signs a link's body, SHA-256
 * hashed, with the algorithm it names; a verifier checks the signature with node:crypto against a
 * public key it trusts. The deployed key (KMS, RSA_2048, PKCS #1 v1.5) and the local key (ECDSA
 * P-256) verify through the same call, so an auditor can check a deployment's digests offline with
 * its public key alone.
 */
export interface DigestSigner {
  /** What links record as their key: the KMS key ARN, or `local:<fingerprint>`. */
  readonly keyId: string;
  readonly algorithm: SigningAlgorithm;
  /** Signature of the body (UTF-8), over its SHA-256. */
  sign(body: string): Promise<Buffer>;
}

/**
 * The key a verification trusts. Pinned by the verifier (the deployment's key, or the local key
 * file), never taken from the links: a link signed by any other key is reported, whatever its
 * signature says.
 */
export interface TrustedKey {
  keyId: string;
  publicKey: KeyObject;
}

export const sha256Of = (body: string): Buffer => createHash('sha256').update(body, 'utf8').digest();

/** The algorithm a public key signs with here (RSA keys: PKCS #1 v1.5; EC keys: ECDSA). */
export const algorithmOf = (key: KeyObject): SigningAlgorithm | undefined =>
  key.asymmetricKeyType === 'rsa'
    ? 'RSASSA_PKCS1_V1_5_SHA_256'
    : key.asymmetricKeyType === 'ec'
      ? 'ECDSA_SHA_256'
      : undefined;

/** True when `signature` is the trusted key's signature of `body` under `algorithm`. Never throws. */
export const verifyBody = (body: string, signature: Buffer, algorithm: SigningAlgorithm, key: TrustedKey): boolean => {
  if (algorithmOf(key.publicKey) !== algorithm) return false;
  try {
    return verify('sha256', Buffer.from(body, 'utf8'), { key: key.publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
};

/** A short, stable name of a public key: SHA-256 of its SubjectPublicKeyInfo, base64url, 16 characters. */
export const keyFingerprint = (publicKey: KeyObject): string =>
  createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url')
    .slice(0, 16);

/** A trusted key from a SubjectPublicKeyInfo (DER, as KMS GetPublicKey returns it) or a PEM public key. */
export const trustedKeyOf = (keyId: string, spki: Uint8Array | string): TrustedKey => ({
  keyId,
  publicKey:
    typeof spki === 'string'
      ? createPublicKey({ key: spki, format: 'pem' })
      : createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
});

export class DigestKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DigestKeyError';
  }
}
