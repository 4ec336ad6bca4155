import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { DigestKeyError, type DigestSigner, sha256Of, type TrustedKey, trustedKeyOf } from './signing.js';

/**
 * The deployed signing key: an asymmetric KMS key (RSA_2048, SIGN_VERIFY). Only the signer role may
 * call kms:Sign on it (cdk/constructs/digest-signer.ts); a verifier calls kms:GetPublicKey once and
 * checks every signature offline with the public key.
 *
 * RSA with PKCS #1 v1.5 rather than ECDSA: its signatures are deterministic (the same link body
 * always gets the same signature), and a signature of a digest KMS made can be reproduced with
 * node:crypto alone, so the tests sign through a faked KMS with a real key and verify for real.
 */

export const KMS_SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_256' as const;

/** The alias the deployment gives its signing key; `eks-trail verify --table` uses it by default. */
export const DIGEST_KEY_ALIAS = 'alias/eks-access-trail-digests';

/**
 * Signs link bodies with KMS. The body's SHA-256 is sent (MessageType DIGEST), not the body: KMS
 * takes at most 4 KB of raw message, and a link naming many manifests (a backfill) is longer.
 * `keyArn` is what links record, so name the key by ARN, not alias.
 */
export const kmsDigestSigner = (client: KMSClient, keyArn: string): DigestSigner => ({
  keyId: keyArn,
  algorithm: KMS_SIGNING_ALGORITHM,
  sign: async (body) => {
    const res = await client.send(
      new SignCommand({
        KeyId: keyArn,
        Message: sha256Of(body),
        MessageType: 'DIGEST',
        SigningAlgorithm: KMS_SIGNING_ALGORITHM,
      }),
    );
    if (!res.Signature) throw new DigestKeyError(`KMS Sign with ${keyArn} returned no signature`);
    return Buffer.from(res.Signature);
  },
});

/**
 * The trusted key for verifying: KMS resolves an alias or id to the key's ARN, which the links must
 * name. A key that cannot sign with the digest algorithm is refused before any link is read.
 */
export const kmsTrustedKey = async (client: KMSClient, keyIdOrAlias: string): Promise<TrustedKey> => {
  let res: { KeyId?: string; PublicKey?: Uint8Array; SigningAlgorithms?: string[] };
  try {
    res = await client.send(new GetPublicKeyCommand({ KeyId: keyIdOrAlias }));
  } catch (cause) {
    throw new DigestKeyError(`cannot read the public key of ${keyIdOrAlias} from KMS`, { cause });
  }
  if (!res.KeyId || !res.PublicKey) throw new DigestKeyError(`KMS returned no public key for ${keyIdOrAlias}`);
  if (!(res.SigningAlgorithms ?? []).includes(KMS_SIGNING_ALGORITHM)) {
    throw new DigestKeyError(`${res.KeyId} does not sign with ${KMS_SIGNING_ALGORITHM}: not a digest signing key`);
  }
  return trustedKeyOf(res.KeyId, res.PublicKey);
};
