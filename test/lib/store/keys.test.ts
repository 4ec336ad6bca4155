import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  anchorOf,
  CELL_MS,
  cellEndMs,
  cellOf,
  cellPlus,
  clusterRefKey,
  keys,
  parseClusterRefKey,
  postingPk,
  sortableFromEpochMs,
  sortableTime,
  stableHash,
} from '../../../lib/store/keys.js';

describe('sortableTime', () => {
  it.each([
    ['audit µs', '2024-08-24T14:27:07.461683Z', '2024-08-24T14:27:07.461683Z'],
    ['CloudWatch ms', '2024-08-24T14:27:07.461Z', '2024-08-24T14:27:07.461000Z'],
    ['CloudTrail seconds', '2024-08-24T14:27:07Z', '2024-08-24T14:27:07.000000Z'],
    ['local offset', '2024-08-24T16:27:07+02:00', '2024-08-24T14:27:07.000000Z'],
    ['nanoseconds', '2024-11-13T23:50:32.672347000Z', '2024-11-13T23:50:32.672347Z'],
    ['panther space form without zone', '2022-11-29 00:09:04.38', '2022-11-29T00:09:04.380000Z'],
  ])('%s', (_label, input, expected) => {
    expect(sortableTime(input)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['words', 'yesterday'],
    ['month 13', '2024-13-01T00:00:00Z'],
    ['epoch', '1724509627'],
  ])('rejects %s', (_label, input) => {
    expect(sortableTime(input)).toBeUndefined();
  });

  it('pads an upper bound to the end of its precision', () => {
    expect(sortableTime('2024-08-24T23:59:59Z', 'end')).toBe('2024-08-24T23:59:59.999999Z');
    expect(sortableTime('2024-08-24T23:59:59.999Z', 'end')).toBe('2024-08-24T23:59:59.999999Z');
  });

  it('orders as time for any two instants at ms precision, whatever the input precision', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (a, b) => {
          const sa = sortableTime(new Date(a).toISOString())!;
          const sb = sortableFromEpochMs(b);
          expect(Math.sign(sa.localeCompare(sb))).toBe(Math.sign(a - b));
        },
      ),
    );
  });

  it('never throws on any text', () => {
    fc.assert(fc.property(fc.string(), (s) => void sortableTime(s)));
  });
});

describe('cells', () => {
  it.each([
    ['the first minute of a cell', '2024-08-24T14:25:00.000000Z', '2024-08-24T14:25'],
    ['inside a cell', '2024-08-24T14:27:07.461683Z', '2024-08-24T14:25'],
    ['the last microsecond of a cell', '2024-08-24T14:29:59.999999Z', '2024-08-24T14:25'],
    ['the next cell', '2024-08-24T14:30:00.000000Z', '2024-08-24T14:30'],
    ['the top of the hour', '2024-08-24T00:00:00.000000Z', '2024-08-24T00:00'],
    ['the last cell of a day', '2024-08-24T23:59:59.999999Z', '2024-08-24T23:55'],
  ])('cellOf floors %s to its five minutes', (_label, sortable, cell) => {
    expect(cellOf(sortable)).toBe(cell);
  });

  it('holds every instant in [cell start, cellEndMs) and nothing else, for any time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        const cell = cellOf(sortableFromEpochMs(ms));
        const start = Date.parse(`${cell}:00Z`);
        expect(cellEndMs(cell) - start).toBe(CELL_MS);
        expect(ms).toBeGreaterThanOrEqual(start);
        expect(ms).toBeLessThan(cellEndMs(cell));
        expect(Date.parse(`${cell}:00Z`) % CELL_MS).toBe(0);
      }),
    );
  });

  it.each([
    ['one ahead', '2024-08-24T14:25', 1, '2024-08-24T14:30'],
    ['one back', '2024-08-24T14:25', -1, '2024-08-24T14:20'],
    ['over midnight', '2024-08-24T23:55', 1, '2024-08-25T00:00'],
    ['back over a month end', '2024-03-01T00:00', -1, '2024-02-29T23:55'],
    ['a day ahead', '2024-08-24T14:25', 288, '2024-08-25T14:25'],
    ['zero steps', '2024-08-24T14:25', 0, '2024-08-24T14:25'],
  ])('cellPlus steps %s', (_label, cell, step, expected) => {
    expect(cellPlus(cell, step)).toBe(expected);
  });

  it('cellPlus is the inverse of itself and keeps cells in sort order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: -5000, max: 5000 }), (ms, n) => {
        const cell = cellOf(sortableFromEpochMs(ms));
        const moved = cellPlus(cell, n);
        expect(cellPlus(moved, -n)).toBe(cell);
        expect(Math.sign(moved.localeCompare(cell))).toBe(Math.sign(n));
      }),
    );
  });
});

describe('anchors', () => {
  it('are stable across releases and runs (they are stored in keys)', () => {
    // sha256('unit-0') in base64url, first 12 characters: a change here re-keys every segment.
    expect(anchorOf('unit-0')).toBe('KlnS6w861yMm');
    expect(anchorOf('unit-0')).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(anchorOf('unit-0')).not.toBe(anchorOf('unit-1'));
  });

  it('never hold a key separator', () => {
    fc.assert(
      fc.property(fc.string(), (id) => {
        expect(anchorOf(id)).toMatch(/^[A-Za-z0-9_-]{12}$/);
      }),
    );
  });
});

describe('key shapes', () => {
  const ref = { accountId: '111122223333', cluster: 'prod' };

  it('cluster ref keys round-trip and refuse anything else', () => {
    expect(clusterRefKey(ref)).toBe('C#111122223333#prod');
    expect(parseClusterRefKey('C#111122223333#prod')).toEqual(ref);
    for (const bad of ['', 'C#111122223333', 'S#111122223333#prod', 'C#1#prod#x']) {
      expect(parseClusterRefKey(bad)).toBeUndefined();
    }
  });

  it.each([
    ['segment partition', keys.segmentPk(ref), 'S#111122223333#prod'],
    [
      'notable part, chunk 0',
      keys.segmentSk('2024-08-24T14:25', 'AbCdEfGhIjKl', 'n', 0),
      '2024-08-24T14:25#AbCdEfGhIjKl#n',
    ],
    [
      'bulk part, chunk 2',
      keys.segmentSk('2024-08-24T14:25', 'AbCdEfGhIjKl', 'b', 2),
      '2024-08-24T14:25#AbCdEfGhIjKl#b.2',
    ],
    ['authenticator partition', keys.authnPk(ref), 'N#111122223333#prod'],
    [
      'authenticator part, chunk 0',
      keys.authnSk('2024-08-24T14:25', 'AbCdEfGhIjKl', 0),
      '2024-08-24T14:25#AbCdEfGhIjKl',
    ],
    [
      'authenticator part, chunk 1',
      keys.authnSk('2024-08-24T14:25', 'AbCdEfGhIjKl', 1),
      '2024-08-24T14:25#AbCdEfGhIjKl.1',
    ],
    ['notable pointer', keys.requestPk(ref, 'a1b2'), 'R#C#111122223333#prod#a1b2'],
    ['mapping history', keys.mappingChangesPk(ref), 'MC#C#111122223333#prod'],
    ['credential', keys.credential('ASIAX').pk, 'CRED#ASIAX'],
    ['cluster registry', keys.cluster(ref).pk, 'CL#111122223333#prod'],
  ])('%s', (_label, got, expected) => {
    expect(got).toBe(expected);
  });

  it.each([
    ['principal (lower-cased)', postingPk.principal('arn:aws:iam::1:role/Admin'), 'IP#arn:aws:iam::1:role/admin'],
    ['human (lower-cased)', postingPk.human('GoMyers@Example.com'), 'IH#gomyers@example.com'],
    ['pending access key (as is)', postingPk.accessKey('ASIAXYZ'), 'IA#ASIAXYZ'],
    ['k8s user', postingPk.k8sUser(ref, 'system:node:ip-10-0-0-1'), 'IU#C#111122223333#prod#system:node:ip-10-0-0-1'],
    ['kind', postingPk.resource(ref, 'pods'), 'IK#C#111122223333#prod#pods'],
    ['namespaced object', postingPk.object(ref, 'pods', 'default', 'web'), 'IO#C#111122223333#prod#pods#default#web'],
    ['cluster-scoped object', postingPk.object(ref, 'nodes', undefined, 'n1'), 'IO#C#111122223333#prod#nodes#-#n1'],
    ['namespace', postingPk.namespace(ref, 'default'), 'IN#C#111122223333#prod#default'],
    ['denials', postingPk.denials(ref), 'IX#C#111122223333#prod'],
  ])('posting partition of a %s', (_label, got, expected) => {
    expect(got).toBe(expected);
  });

  it('puts chunk items of a part right after it in sort order, before the next part', () => {
    const skA = [0, 1, 2, 10].map((c) => keys.segmentSk('2024-08-24T14:25', 'AAAAAAAAAAAA', 'b', c));
    const next = keys.segmentSk('2024-08-24T14:25', 'AAAAAAAAAAAA', 'n', 0);
    for (const sk of skA) expect(sk < next).toBe(true);
    expect(keys.segmentSk('2024-08-24T14:25', 'zzzzzzzzzzzz', 'n', 0) < '2024-08-24T14:30').toBe(true);
  });
});

describe('stable hash', () => {
  it('keeps quarantine shard numbers stable across releases (they are stored in keys)', () => {
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
  });
});
