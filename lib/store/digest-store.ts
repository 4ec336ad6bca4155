/**
 * The storage port of tamper evidence (docs/tamper-evidence.md): what the signer and the verifier
 * (lib/integrity/) read and write. Kept apart from the trail's own port (trail-store.ts) because
 * neither ingest nor the questions use it; lib/store/dynamodb/digests.ts implements it on the trail
 * table.
 */

export interface ItemKey {
  pk: string;
  sk: string;
}

/**
 * Something written since the signer last covered it: a bucket of a scope (`key` absent), or one
 * item outside its scope's partitions (`key`: an issuance or a human posting). Written by ingest
 * before the item itself, deleted by the signer once covered.
 */
export interface PendingMark {
  scope: string;
  bucket: string;
  key?: ItemKey;
  /** Epoch ms of the write that left it; the signer takes only marks older than its settle time. */
  at: number;
  /** Random per write: the signer deletes a mark only if nobody rewrote it meanwhile. */
  nonce: string;
  /** The mark item's own sort key. */
  sk: string;
}

export interface StoredLink {
  scope: string;
  signedAt: string;
  /** The signed text (lib/integrity/digest-format.ts encodeLinkBody). */
  body: string;
  signature: Buffer;
}

export interface StoredManifest {
  scope: string;
  bucket: string;
  signedAt: string;
  /** The manifest text; undefined when its chunks are missing or do not decompress (`damage` says why). */
  text?: string;
  damage?: string;
}

/** A covered item as a digest lists it. */
export interface CoveredItem extends ItemKey {
  /** itemHash (lib/integrity/item-hash.ts). */
  h: string;
  /** expiresAt, epoch seconds. */
  x?: number;
  /** `ord` of a mapping change. */
  o?: string;
  /** Its bucket (lib/integrity/coverage.ts), when the item is covered at all. */
  b?: string;
}

export interface BucketContent {
  items: CoveredItem[];
  /** Access keys the bucket's audit rows were made with (asked for with `accessKeys`). */
  accessKeys: string[];
}

export interface DigestStore {
  /** Every scope that may hold covered items: each registered cluster (placeholders too) and the issuances. */
  scopes(): Promise<string[]>;
  pending(scope: string): Promise<PendingMark[]>;
  /** Deletes marks the signer covered, each only if it was not rewritten since it was read. */
  clearPending(marks: readonly PendingMark[]): Promise<void>;

  /** Links of a scope signed at or after `from` (all when absent), oldest first. */
  links(scope: string, from?: string): Promise<StoredLink[]>;
  link(scope: string, signedAt: string): Promise<StoredLink | undefined>;
  /** The newest link, or the newest before `signedAt`. */
  latestLink(scope: string, before?: string): Promise<StoredLink | undefined>;
  /** Writes a link unless one exists at its time (two signer runs at once): false then. */
  putLink(link: StoredLink): Promise<boolean>;

  /** Manifests of buckets `from`..`to` (inclusive, by bucket name), every version, oldest first per bucket. */
  manifests(scope: string, fromBucket: string, toBucket: string): Promise<StoredManifest[]>;
  /** The newest hour bucket that has a manifest. */
  newestSignedHour(scope: string): Promise<string | undefined>;
  putManifests(manifests: readonly { scope: string; bucket: string; signedAt: string; text: string }[]): Promise<void>;
  /** Removes a manifest a crashed signer run wrote but never linked. */
  deleteManifest(scope: string, bucket: string, signedAt: string): Promise<void>;

  /**
   * What is stored now in one bucket of a scope: the items of the scope's own partitions that fall
   * in it, plus the given items stored elsewhere (issuances, human postings) that still exist.
   */
  bucketContent(
    scope: string,
    bucket: string,
    externalKeys: readonly ItemKey[],
    options?: { accessKeys?: boolean },
  ): Promise<BucketContent>;
  /** The covered items of these keys that exist. */
  coveredItems(keys: readonly ItemKey[]): Promise<CoveredItem[]>;
}
