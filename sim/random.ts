/**
 * Seeded randomness and AWS-shaped identifiers for the simulator. Everything the simulator emits
 * must be a pure function of its seed (same seed -> identical bytes), so nothing here touches
 * Math.random, the clock or crypto.randomUUID.
 */

/** splitmix32: spreads a 32-bit seed over the state words; xoshiro must never start all-zero. */
const splitmix32 = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
};

/** FNV-1a of a label, so sub-generators forked by name are independent of call order elsewhere. */
export const hashLabel = (label: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
};

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** xoshiro128** (period 2^128-1): enough for millions of events without visible structure. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    const sm = splitmix32(this.seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Independent generator for a named purpose: adding draws in one part never shifts another. */
  fork(label: string): Rng {
    return new Rng((hashLabel(label) ^ Math.imul(this.seed, 0x9e3779b1)) >>> 0);
  }

  /** Next 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Weighted choice; weights need not sum to 1. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    const last = items[items.length - 1];
    if (!last) throw new RangeError('weighted pick from an empty list');
    return last[0];
  }

  /** Exponential inter-arrival time with the given mean (Poisson process). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.u32().toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  fromAlphabet(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  /** RFC 4122 version-4 shape (auditIDs, CloudTrail eventIDs, request ids). */
  uuid(): string {
    const s = this.hex(32);
    const variant = '89ab'[this.int(4)] as string;
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-${variant}${s.slice(17, 20)}-${s.slice(20, 32)}`;
  }
}

// -----------------------------------------------------------------------------------------------
// AWS identifiers
// -----------------------------------------------------------------------------------------------

/** IAM unique ids and access keys use base32 letters (A-Z, 2-7). */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Real ids of one account share the 8 characters after the prefix (AROA5PYP2AD2… and ASIA5PYP2AD2…
 * in the same account), so derive them from the account id; the rest is random.
 */
export const accountIdTag = (accountId: string): string => {
  let x = BigInt(accountId.replace(/\D/g, '') || '0') * 2654435761n + 97n;
  let out = '';
  for (let i = 0; i < 8; i++) {
    out += BASE32[Number(x % 32n)];
    x /= 32n;
  }
  return out;
};

export type UniqueIdPrefix = 'AROA' | 'AIDA';
export type AccessKeyPrefix = 'ASIA' | 'AKIA';

/** AROA… / AIDA…: 21 characters. */
export const iamUniqueId = (rng: Rng, prefix: UniqueIdPrefix, accountId: string): string =>
  `${prefix}${accountIdTag(accountId)}${rng.fromAlphabet(BASE32, 9)}`;

/** ASIA… (temporary) / AKIA… (long-term): 20 characters. */
export const accessKeyId = (rng: Rng, prefix: AccessKeyPrefix, accountId: string): string =>
  `${prefix}${accountIdTag(accountId)}${rng.fromAlphabet(BASE32, 8)}`;

/** 32 lower-case hex: log stream suffixes (`authenticator-<hex>`) and Kinesis partition keys. */
export const streamSuffix = (rng: Rng): string => rng.hex(32);

/** Random upper-case alphanumerics, e.g. CloudFormation-style role suffixes (…-1W15HHFYBJTFL). */
export const upperAlnum = (rng: Rng, length: number): string => rng.fromAlphabet(UPPER_ALNUM, length);

/** A 12-digit account id that does not start with 0 (readability only; AWS allows leading zeros). */
export const accountNumber = (rng: Rng): string => `${rng.range(1, 9)}${rng.fromAlphabet('0123456789', 11)}`;

/**
 * CloudWatch Logs event ids: 56 decimal digits whose top bits are the event timestamp (ms) shifted
 * left by 144 and whose low bits are a per-stream value plus a counter (observed in real payloads:
 * consecutive events of one stream differ only in the last digits). Monotonic per stream as long as
 * events are appended in timestamp order.
 */
export class CloudWatchEventIds {
  private readonly salt: bigint;
  private counter = 0n;
  private lastTimestamp = 0;

  constructor(rng: Rng) {
    // 96 random bits above a 36-bit counter, all below the 144-bit timestamp shift.
    this.salt = (BigInt(rng.u32()) << 64n) | (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
  }

  next(timestampMs: number): string {
    if (timestampMs < this.lastTimestamp) {
      throw new RangeError(`CloudWatch ids must be issued in timestamp order (${timestampMs} < ${this.lastTimestamp})`);
    }
    this.lastTimestamp = timestampMs;
    const id = (BigInt(timestampMs) << 144n) | (this.salt << 36n) | (this.counter & 0xfffffffffn);
    this.counter++;
    return id.toString().padStart(56, '0');
  }
}

/** Kinesis sequence numbers: 56-digit decimals, increasing per shard. */
export class KinesisSequence {
  private value: bigint;

  constructor(rng: Rng) {
    // Real shard sequence numbers start 496…; 56 digits.
    this.value = 496n * 10n ** 53n + BigInt(rng.u32()) * 10n ** 30n;
  }

  next(): string {
    this.value += 1_000_000_000_000_000_000n + BigInt(this.value % 7919n);
    return this.value.toString();
  }
}
