import { formatCsv, formatJson, formatTable, type OutputFormat } from '../../lib/query/format.js';
import { csvColumns, tableColumns } from '../../lib/query/output-columns.js';
import type { QueryAnswer } from '../../lib/query/run.js';
import type { CliIo } from './io.js';

/**
 * stdout carries only the answer (so it pipes into jq or a spreadsheet); notes and the paging hint go
 * to stderr, except in json where they are fields of the answer (docs/output.schema.json).
 */
export const printAnswer = (a: QueryAnswer, format: OutputFormat, io: CliIo): void => {
  if (format === 'json') {
    io.stdout.write(`${formatJson(a)}\n`);
    return;
  }
  if (format === 'csv') {
    io.stdout.write(formatCsv(a.rows, csvColumns(a)));
  } else {
    const head = [
      a.cluster && `cluster ${a.cluster}`,
      a.window && `from ${a.window.from} to ${a.window.to}`,
      a.at && `at ${a.at}`,
    ]
      .filter(Boolean)
      .join(', ');
    if (head) io.stderr.write(`# ${head}\n`);
    io.stdout.write(a.rows.length ? `${formatTable(a.rows, tableColumns(a))}\n` : '(no rows)\n');
  }
  for (const n of a.notes) io.stderr.write(`# ${n}\n`);
  if (a.nextCursor) io.stderr.write(`# more rows: run the same command with --cursor ${a.nextCursor}\n`);
};
