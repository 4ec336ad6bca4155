import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SignRunResult, signAll } from '../integrity/signer.js';
import { DigestKeyError, type DigestSigner, keyFingerprint, type TrustedKey } from '../integrity/signing.js';
import type { DigestStore } from '../store/digest-store.js';

/**
 * Local mode's signing key (docs/tamper-evidence.md, "Keys"): an ECDSA P-256 key generated once in
 * the data dir, readable by its owner only. It shows that what `replay` stored was not changed later
 * by anything that could not also read this file; it is no protection against whoever owns the data
 * dir, which is why a deployment signs with KMS.
 */

export const LOCAL_KEY_FILE = 'digest-signing-key.pem';

export interface LocalDigestKey {
  signer: DigestSigner;
  trusted: TrustedKey;
}

const fromPrivate = (privateKey: KeyObject): LocalDigestKey => {
  const publicKey = createPublicKey(privateKey);
  const keyId = `local:${keyFingerprint(publicKey)}`;
  return {
    signer: {
      keyId,
      algorithm: 'ECDSA_SHA_256',
      sign: async (body) => sign('sha256', Buffer.from(body, 'utf8'), { key: privateKey, dsaEncoding: 'der' }),
    },
    trusted: { keyId, publicKey },
  };
};

/** The data dir's key; created when `create` and missing. Undefined when missing and not created. */
export const localDigestKey = (dataDir: string, create: boolean): LocalDigestKey | undefined => {
  const path = join(dataDir, LOCAL_KEY_FILE);
  if (!existsSync(path)) {
    if (!create) return undefined;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // `wx`: two processes creating the key at once must not end up with different keys on disk.
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    return fromPrivate(privateKey);
  }
  try {
    return fromPrivate(createPrivateKey({ key: readFileSync(path, 'utf8'), format: 'pem' }));
  } catch (cause) {
    throw new DigestKeyError(`${path} is not a readable signing key`, { cause });
  }
};

/**
 * Signs what local mode stored (after `replay` and `demo`): every pending mark, at once, with the data
 * dir's key (created on first use). Nothing else writes to a data dir while it is open, so no mark
 * needs to settle and no retried delivery can rewrite a part later.
 */
export const signLocalTrail = (store: DigestStore, dataDir: string, now: number): Promise<SignRunResult> => {
  const key = localDigestKey(dataDir, true) as LocalDigestKey;
  return signAll(store, { signer: key.signer, now, settleMs: 0, retryWindowMs: 0, everything: true });
};

/** One line saying what a signing run covered. */
export const renderSigning = (r: SignRunResult): string => {
  const buckets = r.scopes.reduce((n, s) => n + s.buckets.length, 0);
  const items = r.scopes.reduce((n, s) => n + s.buckets.reduce((m, b) => m + b.entries, 0), 0);
  const mismatches = r.scopes.reduce((n, s) => n + s.mismatches.length, 0);
  return `digests: ${items} items in ${buckets} hour buckets signed, ${r.scopes.length} chains extended${
    mismatches > 0 ? `; ${mismatches} stored items differ from what was signed before (run eks-trail verify)` : ''
  }`;
};
