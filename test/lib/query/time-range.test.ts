import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inRange, parseDuration, parseInstant, parseTimeRange } from '../../../lib/query/time-range.js';

const NOW = Date.parse('2026-11-01T12:00:00.000Z');

describe('parseDuration', () => {
  it.each([
    ['90m', 90 * 60_000],
    ['24h', 86_400_000],
    ['7d', 7 * 86_400_000],
    ['1h30m', 90 * 60_000],
    ['2w', 14 * 86_400_000],
    ['500ms', 500],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  it.each([
    ['', 'empty'],
    ['10', 'no unit'],
    ['3mo', 'months are ambiguous'],
    ['-1h', 'negative'],
    ['0h', 'zero'],
    ['1 h', 'space'],
  ])('refuses %j (%s) naming the parameter', (text) => {
    const r = parseDuration(text, 'since');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]).toMatchObject({ code: 'QUERY_PARAM', path: 'since' });
  });
});

describe('parseInstant', () => {
  it.each([
    ['2026-11-01T12:00:00Z', '2026-11-01T12:00:00.000Z'],
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T12:00', '2026-11-01T12:00:00.000Z'],
    ['2026-11-01T14:00:00+02:00', '2026-11-01T12:00:00.000Z'],
    ['2024-08-24T14:27:07.461683Z', '2024-08-24T14:27:07.461Z'],
    ['1730462400', '2024-11-01T12:00:00.000Z'],
    ['1730462400000', '2024-11-01T12:00:00.000Z'],
  ])('reads %s as UTC', (text, iso) => {
    const r = parseInstant(text, 'at');
    expect(r.ok && new Date(r.value).toISOString()).toBe(iso);
  });

  it.each(['2026-02-30', 'yesterday', '2026-13-01', '2026-11-01T25:00:00Z'])('refuses %s', (text) => {
    expect(parseInstant(text, 'at').ok).toBe(false);
  });
});

describe('parseTimeRange', () => {
  it('turns since into an absolute window ending now', () => {
    expect(parseTimeRange({ since: '24h' }, NOW)).toEqual({
      ok: true,
      value: { from: '2026-10-31T12:00:00.000Z', to: '2026-11-01T12:00:00.000Z' },
    });
  });

  it('uses the default window when nothing is given', () => {
    const r = parseTimeRange({}, NOW, '7d');
    expect(r.ok && r.value.from).toBe('2026-10-25T12:00:00.000Z');
  });

  it.each([
    [{ since: '1h', from: '2026-01-01' }, 'since'],
    [{ from: '2026-11-02', to: '2026-11-01' }, 'from'],
    [{ to: 'soon' }, 'to'],
  ])('refuses %j naming %s', (input, param) => {
    const r = parseTimeRange(input, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.path).toBe(param);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.record({
          since: fc.option(fc.string(), { nil: undefined }),
          from: fc.option(fc.string(), { nil: undefined }),
          to: fc.option(fc.string(), { nil: undefined }),
        }),
        (input) => {
          parseTimeRange(input, NOW);
        },
      ),
    );
  });
});

describe('inRange', () => {
  it('compares timestamps of any precision inclusively', () => {
    const range = { from: '2024-08-24T14:00:00.000Z', to: '2024-08-24T15:00:00.000Z' };
    expect(inRange('2024-08-24T14:27:07.461683Z', range)).toBe(true);
    expect(inRange('2024-08-24T15:00:00Z', range)).toBe(true);
    expect(inRange('2024-08-24T15:00:01Z', range)).toBe(false);
    expect(inRange('garbage', range)).toBe(false);
  });
});
