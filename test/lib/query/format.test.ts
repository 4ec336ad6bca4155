import { describe, expect, it } from 'vitest';
import { cellText, formatCsv, formatJson, formatTable } from '../../../lib/query/format.js';

const columns = [
  { key: 'name', header: 'name' },
  { key: 'meta.groups', header: 'groups', maxWidth: 12 },
];

describe('formatTable', () => {
  it('aligns columns under upper-case headers and marks empty cells', () => {
    const out = formatTable([{ name: 'alice', meta: { groups: ['a', 'b'] } }, { name: 'bob' }], columns);
    expect(out.split('\n')).toEqual(['NAME   GROUPS', 'alice  a,b', 'bob    -']);
  });

  it('truncates long cells with an ellipsis at the column width', () => {
    const out = formatTable([{ name: 'x', meta: { groups: ['system:masters', 'developers'] } }], columns);
    expect(out.split('\n')[1]).toBe('x     system:mast…');
  });

  it('neutralises terminal control characters from attacker-chosen values', () => {
    const out = formatTable([{ name: 'evil\u001b[31mred\nline' }], [{ key: 'name', header: 'name' }]);
    expect(out).not.toContain('\u001b');
    expect(out).toContain('evil\\u001b[31mred\\nline');
  });
});

describe('formatCsv', () => {
  it('quotes per RFC 4180 with CRLF records', () => {
    const out = formatCsv([{ name: 'a,"b"', meta: { groups: ['x'] } }, { name: 'multi\nline' }], columns);
    expect(out).toBe('name,groups\r\n"a,""b""",x\r\n"multi\nline",\r\n');
  });

  it.each(['=HYPERLINK("x")', '+1', '-2+3', '@SUM(A1)'])('guards the spreadsheet formula %s', (v) => {
    expect(formatCsv([{ name: v }], [{ key: 'name', header: 'n' }]).split('\r\n')[1]).toMatch(/^"?'/);
  });

  it('can leave values untouched when the guard is off', () => {
    expect(formatCsv([{ name: '=1' }], [{ key: 'name', header: 'n' }], { formulaGuard: false })).toBe('n\r\n=1\r\n');
  });
});

describe('formatJson', () => {
  it('serialises with sorted keys whatever the construction order', () => {
    expect(formatJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      formatJson({ a: { d: [{ y: 2, z: 1 }] }, b: 1 }),
    );
    expect(formatJson({ b: 1, a: 2 }).indexOf('"a"')).toBeLessThan(formatJson({ b: 1, a: 2 }).indexOf('"b"'));
  });
});

describe('cellText', () => {
  it.each([
    [undefined, ''],
    [403, '403'],
    [['a', 'b'], 'a,b'],
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
  ])('renders %j as %j', (v, s) => {
    expect(cellText(v)).toBe(s);
  });
});
