import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cloudTrailExpiration,
  goJson,
  goQuote,
  isoMicros,
  isoSeconds,
  logrusLine,
  logrusValue,
} from '../../sim/formats.js';
import { logrusProblems } from './conformance.js';

const realLines = readFileSync(new URL('../fixtures/sim/authenticator-real-lines.log', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean);

describe('logrus conformance checker', () => {
  it.each(realLines.map((l) => [l.slice(0, 60), l]))('accepts the real authenticator line %s…', (_, line) => {
    expect(logrusProblems(line)).toEqual([]);
  });

  it.each([
    ['unsorted data keys', 'time="2025-01-01T00:00:00Z" level=info msg="x" b=1 a=2'],
    ['a quoted value that logrus writes bare', 'time="2025-01-01T00:00:00Z" level=info msg="x" a="plain"'],
    ['a bare value with a colon', 'time="2025-01-01T00:00:00Z" level=info msg="x" arn=arn:aws:iam::1:role/x'],
    ['the level spelled warn', 'time="2025-01-01T00:00:00Z" level=warn msg="x"'],
    ['time with milliseconds', 'time="2025-01-01T00:00:00.123Z" level=info msg="x"'],
  ])('rejects %s', (_, line) => {
    expect(logrusProblems(line).length).toBeGreaterThan(0);
  });
});

describe('logrus writer', () => {
  it('writes time, level and msg first, data keys sorted, quoting only when needed', () => {
    const us = Date.parse('2025-12-24T19:52:38Z') * 1000 + 123_456;
    const line = logrusLine(us, 'info', 'STS response', {
      userid: 'AROA5PYP2AD2O47IG7477',
      session: 'gkan@example.com',
      arn: 'arn:aws:sts::927209226484:assumed-role/R/gkan@example.com',
      client: '127.0.0.1:38940',
      method: 'POST',
      path: '/authenticate',
      accesskeyid: '',
      skipped: undefined,
    });
    expect(line).toBe(
      'time="2025-12-24T19:52:38Z" level=info msg="STS response" accesskeyid= arn="arn:aws:sts::927209226484:assumed-role/R/gkan@example.com" client="127.0.0.1:38940" method=POST path=/authenticate session=gkan@example.com userid=AROA5PYP2AD2O47IG7477',
    );
    expect(logrusProblems(line)).toEqual([]);
  });

  it.each([
    [['system:masters'], '"[system:masters]"'],
    [[], '"[]"'],
    [['system:bootstrappers', 'system:nodes'], '"[system:bootstrappers system:nodes]"'],
    ['kubernetes-admin', 'kubernetes-admin'],
    ['eks:node-manager', '"eks:node-manager"'],
  ] as const)('renders %j as %s', (value, expected) => {
    expect(logrusValue(value)).toBe(expected);
  });
});

describe('Go quoting and JSON', () => {
  it.each([
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['a\\b', '"a\\\\b"'],
    ['line\nbreak\ttab', '"line\\nbreak\\ttab"'],
    ['\x01', '"\\x01"'],
    ['é', '"é"'],
  ])('quotes %j like Go %%q', (input, expected) => {
    expect(goQuote(input)).toBe(expected);
  });

  it('escapes &, < and > the way encoding/json does', () => {
    expect(goJson({ u: '/api?a=1&b=<2>' })).toBe('{"u":"/api?a=1\\u0026b=\\u003c2\\u003e"}');
    expect(JSON.parse(goJson({ u: 'a&b' }))).toEqual({ u: 'a&b' });
  });
});

describe('timestamps', () => {
  const us = Date.parse('2024-08-24T14:27:07Z') * 1000 + 461_683;

  it('renders audit times with microseconds and authenticator / CloudTrail times with seconds', () => {
    expect(isoMicros(us)).toBe('2024-08-24T14:27:07.461683Z');
    expect(isoSeconds(us)).toBe('2024-08-24T14:27:07Z');
  });

  it.each([
    ['2026-03-02T02:20:00Z', 'Mar 2, 2026, 2:20:00 AM'],
    ['2024-12-17T13:05:09Z', 'Dec 17, 2024, 1:05:09 PM'],
    ['2024-12-17T00:00:00Z', 'Dec 17, 2024, 12:00:00 AM'],
  ])('renders STS expiration %s as CloudTrail does (%s)', (iso, expected) => {
    expect(cloudTrailExpiration(Date.parse(iso) * 1000)).toBe(expected);
  });
});
