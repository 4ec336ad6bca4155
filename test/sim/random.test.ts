import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accessKeyId, accountIdTag, CloudWatchEventIds, iamUniqueId, KinesisSequence, Rng } from '../../sim/random.js';

describe('Rng', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    expect(Array.from({ length: 50 }, () => a.u32())).toEqual(Array.from({ length: 50 }, () => b.u32()));
  });

  it('gives different sequences for different seeds and for differently named forks', () => {
    const seq = (r: Rng) => Array.from({ length: 8 }, () => r.u32());
    expect(seq(new Rng(1))).not.toEqual(seq(new Rng(2)));
    expect(seq(new Rng(1).fork('a'))).not.toEqual(seq(new Rng(1).fork('b')));
  });

  it('keeps int, range and next inside their bounds', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const r = new Rng(seed);
        for (let i = 0; i < 20; i++) {
          const x = r.int(n);
          const f = r.next();
          const y = r.range(-n, n);
          if (x < 0 || x >= n || f < 0 || f >= 1 || y < -n || y > n) return false;
        }
        return true;
      }),
    );
  });

  it('makes v4 UUIDs', () => {
    const r = new Rng(9);
    for (let i = 0; i < 100; i++) {
      expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});

describe('AWS identifiers', () => {
  it('makes 21-character AROA/AIDA ids and 20-character ASIA/AKIA keys sharing the account tag', () => {
    const r = new Rng(3);
    const role = iamUniqueId(r, 'AROA', '123456789012');
    const user = iamUniqueId(r, 'AIDA', '123456789012');
    const key = accessKeyId(r, 'ASIA', '123456789012');
    const longTerm = accessKeyId(r, 'AKIA', '123456789012');
    expect(role).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(user).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(key).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(longTerm).toMatch(/^AKIA[A-Z2-7]{16}$/);
    const tag = accountIdTag('123456789012');
    expect(role.slice(4, 12)).toBe(tag);
    expect(key.slice(4, 12)).toBe(tag);
    expect(accountIdTag('210987654321')).not.toBe(tag);
  });

  it('makes 56-digit CloudWatch event ids that carry the timestamp and increase per stream', () => {
    const ids = new CloudWatchEventIds(new Rng(5));
    const times = [1729520895158, 1729520895158, 1729520895159, 1729520899000];
    const out = times.map((t) => ids.next(t));
    out.forEach((id, i) => {
      expect(id).toMatch(/^\d{56}$/);
      expect(Number(BigInt(id) >> 144n)).toBe(times[i]);
    });
    for (let i = 1; i < out.length; i++) expect(BigInt(out[i] as string) > BigInt(out[i - 1] as string)).toBe(true);
  });

  it('refuses CloudWatch ids out of timestamp order', () => {
    const ids = new CloudWatchEventIds(new Rng(5));
    ids.next(2000);
    expect(() => ids.next(1999)).toThrow(RangeError);
  });

  it('makes increasing 56-digit Kinesis sequence numbers', () => {
    const s = new KinesisSequence(new Rng(1));
    const a = s.next();
    const b = s.next();
    expect(a).toMatch(/^\d{56}$/);
    expect(BigInt(b) > BigInt(a)).toBe(true);
  });
});
