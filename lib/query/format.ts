/**
 * Output formatting shared by the CLI (and usable by anything printing query rows): table, json, csv.
 * Audit data is attacker-influenced (session names, user agents, object names are chosen by callers),
 * so the table form neutralises control characters (no terminal escape injection) and the CSV form
 * guards spreadsheet formulas.
 */

import { checkDepth } from '../json-depth.js';
import { setOwn } from '../own-property.js';

export const OUTPUT_FORMATS = ['table', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

// biome-ignore lint/suspicious/noExplicitAny: a column list for rows of any shape
export interface Column<R = any> {
  /** Field of the row (dot path allowed, e.g. `mapping.source`). */
  key: string;
  header: string;
  /** Table only: longer cells are cut with an ellipsis. */
  maxWidth?: number;
  /** The cell's value computed from the row, for display columns that are no field of it. */
  text?: (row: R) => unknown;
}

export interface FormatOptions {
  /** Table: default cap on a cell's width when the column gives none. */
  maxCellWidth?: number;
  /** CSV: prefix a `'` to cells starting with = + - @ (formula injection); default true. */
  formulaGuard?: boolean;
}

const DEFAULT_MAX_CELL = 60;

const cellOf = (row: unknown, c: Column): unknown => (c.text ? c.text(row) : getPath(row, c.key));

export const getPath = (row: unknown, path: string): unknown => {
  let cur: unknown = row;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
};

/** A cell's plain text: arrays joined by `,`, objects as compact JSON, missing as ''. */
export const cellText = (value: unknown): string => {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.map(cellText).join(',');
  return JSON.stringify(stableValue(value));
};

// C0 controls, DEL and C1 controls: an ESC in a session name must not reach the terminal raw.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

const visible = (s: string): string =>
  s.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });

const truncate = (s: string, max: number): string => {
  const cps = [...s];
  if (cps.length <= max) return s;
  return `${cps.slice(0, Math.max(1, max - 1)).join('')}…`;
};

const width = (s: string): number => [...s].length;

export const formatTable = (rows: readonly unknown[], columns: readonly Column[], opts: FormatOptions = {}): string => {
  const maxCell = opts.maxCellWidth ?? DEFAULT_MAX_CELL;
  const cells = rows.map((row) =>
    columns.map((c) => {
      const text = visible(cellText(cellOf(row, c)));
      return truncate(text === '' ? '-' : text, c.maxWidth ?? maxCell);
    }),
  );
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = headers.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i] ?? ''))));
  const line = (parts: string[]): string =>
    parts
      .map((p, i) => (i === parts.length - 1 ? p : p + ' '.repeat((widths[i] ?? 0) - width(p))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
};

const csvField = (s: string, guard: boolean): string => {
  const v = guard && /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
};

/** RFC 4180: CRLF record separators, header row, fields with `"` `,` CR or LF quoted, quotes doubled. */
export const formatCsv = (rows: readonly unknown[], columns: readonly Column[], opts: FormatOptions = {}): string => {
  const guard = opts.formulaGuard ?? true;
  const out = [columns.map((c) => csvField(c.header, false)).join(',')];
  for (const row of rows) out.push(columns.map((c) => csvField(cellText(cellOf(row, c)), guard)).join(','));
  return `${out.join('\r\n')}\r\n`;
};

/**
 * Deep copy with object keys sorted, so the same answer always serialises to the same bytes. Throws
 * JsonDepthError past MAX_JSON_DEPTH (lib/json-depth.ts): what is printed came through parsers that
 * refuse deeper input.
 */
export const stableValue = (value: unknown, depth = 0): unknown => {
  if (value === null || typeof value !== 'object') return value;
  checkDepth(depth + 1);
  if (Array.isArray(value)) return value.map((v) => stableValue(v, depth + 1));
  if (value instanceof Map) return stableValue(Object.fromEntries(value), depth);
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src).sort()) {
    if (src[k] !== undefined) setOwn(out, k, stableValue(src[k], depth + 1));
  }
  return out;
};

/** JSON with a stable field order: sorted keys at every level. */
export const formatJson = (value: unknown): string => JSON.stringify(stableValue(value), null, 2);

export const formatRows = (
  format: OutputFormat,
  rows: readonly unknown[],
  columns: readonly Column[],
  opts: FormatOptions = {},
): string => {
  switch (format) {
    case 'json':
      return formatJson(rows);
    case 'csv':
      return formatCsv(rows, columns, opts);
    default:
      return formatTable(rows, columns, opts);
  }
};
