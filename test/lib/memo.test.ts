import { describe, expect, it } from 'vitest';
import { deepFreeze, memoizeByString } from '../../lib/memo.js';

describe('memoizeByString', () => {
  it('computes each key once and returns the same frozen result', () => {
    let calls = 0;
    const f = memoizeByString((k: string) => {
      calls++;
      return { ok: true as const, value: { key: k, parts: k.split(':') } };
    });
    const a = f('arn:aws:iam::1:role/x');
    const b = f('arn:aws:iam::1:role/x');
    expect(b).toBe(a);
    expect(calls).toBe(1);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.value)).toBe(true);
    expect(Object.isFrozen(a.value.parts)).toBe(true);
    expect(() => {
      (a.value as { key: string }).key = 'changed';
    }).toThrow(TypeError);
  });

  it('caches undefined results too', () => {
    let calls = 0;
    const f = memoizeByString((_k: string) => {
      calls++;
      return undefined;
    });
    f('a');
    f('a');
    expect(calls).toBe(1);
  });

  it('starts over when full, recomputing rather than answering wrongly', () => {
    const seen: string[] = [];
    const f = memoizeByString((k: string) => {
      seen.push(k);
      return k.toUpperCase();
    }, 2);
    expect([f('a'), f('b'), f('c'), f('a')]).toEqual(['A', 'B', 'C', 'A']);
    expect(seen).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays but leaves Maps usable', () => {
    const m = new Map([['k', 1]]);
    const v = deepFreeze({ a: { b: [{ c: 1 }] }, m });
    expect(Object.isFrozen(v.a.b[0])).toBe(true);
    m.set('k2', 2);
    expect(m.size).toBe(2);
  });
});
