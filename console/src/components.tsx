import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { Link } from 'wouter';
import { type Column, formatCsv, formatJson } from '../../lib/query/format.js';
import { ApiError, getJson } from './api.js';

/** Loads JSON for the current URL; `key` changes whenever the URL does, so the view reloads. */
export const useApi = <T,>(
  path: string | undefined,
  params: Record<string, string | undefined>,
): { data?: T; error?: ApiError | Error; loading: boolean } => {
  const key = path === undefined ? '' : `${path}?${JSON.stringify(params)}`;
  const [state, setState] = useState<{ key: string; data?: T; error?: Error }>({ key: '' });
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` encodes path and params
  useEffect(() => {
    if (path === undefined) return;
    let live = true;
    getJson<T>(path, params).then(
      (data) => live && setState({ key, data }),
      (error: Error) => live && setState({ key, error }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  if (path === undefined) return { loading: false };
  if (state.key !== key) return { loading: true };
  return state.error ? { error: state.error, loading: false } : { data: state.data as T, loading: false };
};

/** Marks the view as rendered with its data (the first-render measurement in console/measure.ts reads it). */
export const useReady = (ready: boolean): void => {
  useEffect(() => {
    if (!ready) return;
    document.body.dataset.ready = 'true';
    if (performance.getEntriesByName('console-ready').length === 0) performance.mark('console-ready');
    return () => {
      delete document.body.dataset.ready;
    };
  }, [ready]);
};

/**
 * A long value (ARNs, reasons, user agents): one line cut with an ellipsis, the full value on hover
 * (title) and to keyboard and screen-reader users (the copy button names it).
 */
export const LongText = ({ text, max = 48 }: { text: string | undefined; max?: number }) => {
  const [copied, setCopied] = useState(false);
  if (text === undefined || text === '') return <span className="muted">–</span>;
  const long = text.length > max;
  return (
    <span className="long">
      <span className="long-text" title={long ? text : undefined} style={{ maxWidth: `${max}ch` }}>
        {text}
      </span>
      {long && (
        <button
          type="button"
          className="copy"
          aria-label={`Copy full value: ${text}`}
          title="Copy full value"
          onClick={() => {
            navigator.clipboard?.writeText(text).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? 'copied' : 'copy'}
        </button>
      )}
    </span>
  );
};

/** A value that is also a pivot: a real link (keyboard, middle-click, copy link), with the full value on hover. */
export const Pivot = ({
  to,
  text,
  label,
  max = 48,
}: {
  to: string | undefined;
  text: string | undefined;
  label: string;
  max?: number;
}) => {
  if (text === undefined || text === '') return <span className="muted">–</span>;
  if (to === undefined) return <LongText text={text} max={max} />;
  return (
    <Link href={to} className="pivot" title={`${label}: ${text}`} aria-label={`${label}: ${text}`}>
      <span className="long-text" style={{ maxWidth: `${max}ch` }}>
        {text}
      </span>
    </Link>
  );
};

export interface TableColumn<R> {
  key: string;
  header: string;
  cell?: (row: R) => ReactNode;
  /** Plain text for export when the cell is rendered specially. */
  text?: (row: R) => unknown;
  max?: number;
}

const download = (name: string, type: string, body: string): void => {
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
};

const exportRows = <R,>(rows: readonly R[], columns: readonly TableColumn<R>[]): Record<string, unknown>[] =>
  rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const c of columns) o[c.key] = c.text ? c.text(r) : (r as Record<string, unknown>)[c.key];
    return o;
  });

/**
 * Export of any list as CSV or JSON, written by the CLI's own formatters (lib/query/format.ts): the
 * same columns, the same CSV formula guard against cells an attacker chose (session names, user agents).
 */
export const ExportButtons = <R,>({
  name,
  rows,
  columns,
  raw,
}: {
  name: string;
  rows: readonly R[];
  columns: readonly TableColumn<R>[];
  /** What JSON export writes; the rows as the API returned them by default. */
  raw?: unknown;
}) => {
  const csvColumns: Column[] = columns.map((c) => ({ key: c.key, header: c.header }));
  return (
    <span className="export">
      <button
        type="button"
        aria-label={`Export ${name} as CSV`}
        onClick={() => download(`${name}.csv`, 'text/csv', formatCsv(exportRows(rows, columns), csvColumns))}
      >
        Export CSV
      </button>
      <button
        type="button"
        aria-label={`Export ${name} as JSON`}
        onClick={() => download(`${name}.json`, 'application/json', `${formatJson(raw ?? rows)}\n`)}
      >
        Export JSON
      </button>
    </span>
  );
};

export const DataTable = <R,>({
  caption,
  rows,
  columns,
  rowKey,
  rowClass,
}: {
  caption: string;
  rows: readonly R[];
  columns: readonly TableColumn<R>[];
  rowKey: (row: R, i: number) => string;
  rowClass?: (row: R) => string | undefined;
}) => (
  <div className="table-wrap">
    <table>
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.key} scope="col">
              {c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={rowKey(r, i)} className={rowClass?.(r)}>
            {columns.map((c) => (
              <td key={c.key} data-col={c.key}>
                {c.cell ? (
                  c.cell(r)
                ) : (
                  <LongText text={cellString(c.text ? c.text(r) : (r as Record<string, unknown>)[c.key])} max={c.max} />
                )}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

export const cellString = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

export const ErrorBox = ({ error }: { error: Error }) => (
  <div className="error" role="alert">
    <strong>{error instanceof ApiError ? `${error.code} (${error.status})` : 'Error'}:</strong> {error.message}
  </div>
);

export const Notes = ({ notes }: { notes: readonly string[] | undefined }) =>
  notes && notes.length > 0 ? (
    <ul className="notes" aria-label="Notes about this answer">
      {notes.map((n) => (
        <li key={n}>{n}</li>
      ))}
    </ul>
  ) : null;

export const Loading = () => (
  <p className="muted" role="status">
    Loading…
  </p>
);

/** The view's heading takes focus on navigation, so keyboard and screen-reader users land on the new view. */
export const ViewTitle = ({ children }: { children: ReactNode }) => {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
};

export const Field = ({
  label,
  name,
  value,
  onChange,
  placeholder,
  list,
  hint,
  wide,
}: {
  label: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  placeholder?: string;
  list?: string;
  hint?: string;
  wide?: boolean;
}) => {
  const id = useId();
  return (
    <label className={wide ? 'field wide' : 'field'} htmlFor={id}>
      <span>{label}</span>
      <input
        id={id}
        name={name}
        value={value}
        placeholder={placeholder}
        list={list}
        title={hint}
        onChange={(e) => onChange(e.currentTarget.value)}
      />
    </label>
  );
};

export const Select = ({
  label,
  name,
  value,
  options,
  onChange,
}: {
  label: string;
  name: string;
  value: string;
  options: readonly (string | [string, string])[];
  onChange: (v: string) => void;
}) => {
  const id = useId();
  return (
    <label className="field" htmlFor={id}>
      <span>{label}</span>
      <select id={id} name={name} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options.map((o) => {
          const [v, text] = typeof o === 'string' ? [o, o || '(any)'] : o;
          return (
            <option key={v} value={v}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
};

/** Known clusters for the cluster inputs (a datalist: the query API lists none, so free text stays possible). */
export const ClusterList = ({ id }: { id: string }) => {
  const { data } = useApi<{ clusters: string[] }>('/api/clusters', {});
  return (
    <datalist id={id}>
      {(data?.clusters ?? []).map((c) => (
        <option key={c} value={c} />
      ))}
    </datalist>
  );
};

export const StatusBadge = ({ status }: { status: string }) => (
  <span className={`badge status-${status}`}>{status}</span>
);

export const SeverityBadge = ({ severity }: { severity: string }) => (
  <span className={`badge sev-${severity}`}>{severity}</span>
);
