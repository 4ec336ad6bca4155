import { ALERT_COLUMNS, ALERT_CSV_COLUMNS, type AlertRow, RERUN_COLUMNS } from './alerts.js';
import {
  CHAIN_COLUMNS,
  DENIED_COLUMNS,
  EXPLAIN_COLUMNS,
  EXPLAIN_CSV_COLUMNS,
  policyFieldText,
  REQUEST_CSV_COLUMNS,
  type RequestRow,
  WORKLOAD_CHAIN_COLUMNS,
} from './chain-rows.js';
import type { Column } from './format.js';
import { type AccessAtRow, actorFieldText, type HistoryRow } from './mappings.js';
import type { QuestionName } from './params.js';
import { WORKLOAD_COLUMNS, WORKLOAD_CSV_COLUMNS } from './workloads.js';

/**
 * How each question's rows are printed. The rows are fields (docs/output.schema.json); a table shows
 * a readable selection of them, some combined into one cell, and CSV carries every field in a column
 * of its own, headed by its JSON path.
 */

export const ACCESS_AT_COLUMNS: Column<AccessAtRow>[] = [
  { key: 'source', header: 'via' },
  { key: 'principal', header: 'principal', maxWidth: 70 },
  { key: 'username', header: 'k8s user', maxWidth: 56 },
  { key: 'groups', header: 'groups', maxWidth: 40 },
  { key: 'policies', header: 'access policies', maxWidth: 50, text: (r) => r.policies.map(policyFieldText) },
  { key: 'since', header: 'since', maxWidth: 27 },
  { key: 'actor', header: 'by', maxWidth: 56, text: (r) => actorFieldText(r.actor) },
  { key: 'note', header: 'note', maxWidth: 60 },
];

const ACCESS_AT_CSV_COLUMNS: Column<AccessAtRow>[] = [
  { key: 'source', header: 'source' },
  { key: 'principal', header: 'principal' },
  { key: 'username', header: 'username' },
  { key: 'groups', header: 'groups' },
  { key: 'policies.arn', header: 'policies.arn', text: (r) => r.policies.map((p) => p.arn) },
  { key: 'policies.scope', header: 'policies.scope', text: (r) => r.policies.map((p) => p.scope) },
  {
    key: 'policies.namespaces',
    header: 'policies.namespaces',
    text: (r) => r.policies.map((p) => (p.namespaces ?? []).join(' ')),
  },
  { key: 'entryType', header: 'entryType' },
  { key: 'since', header: 'since' },
  { key: 'actor.arn', header: 'actor.arn' },
  { key: 'actor.k8sUser', header: 'actor.k8sUser' },
  { key: 'actor.invokedBy', header: 'actor.invokedBy' },
  { key: 'sourceEventId', header: 'sourceEventId' },
  { key: 'note', header: 'note' },
];

export const HISTORY_COLUMNS: Column<HistoryRow>[] = [
  { key: 'at', header: 'time', maxWidth: 27 },
  { key: 'change', header: 'change' },
  { key: 'target', header: 'target', maxWidth: 64 },
  { key: 'actor', header: 'by', maxWidth: 56, text: (r) => actorFieldText(r.actor) },
  { key: 'diff', header: 'diff', maxWidth: 100 },
  { key: 'sourceEventId', header: 'event', maxWidth: 38 },
];

const HISTORY_CSV_COLUMNS: Column<HistoryRow>[] = [
  'at',
  'change',
  'target',
  'source',
  'sourceEventId',
  'actor.arn',
  'actor.principalId',
  'actor.type',
  'actor.invokedBy',
  'actor.k8sUser',
].map((key) => ({ key, header: key }));
HISTORY_CSV_COLUMNS.push({ key: 'diff', header: 'diff', text: (r) => r.diff.join('\n') });

/** What the printer needs of an answer to choose its columns. */
export interface PrintedAnswer {
  question: QuestionName;
  rows: readonly object[];
}

/**
 * A who-did of a service account or pod lists requests made on other clusters with the pod's
 * sessions: the called cluster and the pod say more there than the human, which is the workload
 * itself. An alerts rerun says, per alert, whether the ledger holds it.
 */
export const tableColumns = (a: PrintedAnswer): Column[] => {
  switch (a.question) {
    case 'who-did':
      return a.rows.length > 0 && (a.rows as RequestRow[]).every((r) => r.human?.workload)
        ? WORKLOAD_CHAIN_COLUMNS
        : CHAIN_COLUMNS;
    case 'touched':
      return CHAIN_COLUMNS;
    case 'denied':
      return DENIED_COLUMNS;
    case 'explain':
      return EXPLAIN_COLUMNS;
    case 'access-at':
      return ACCESS_AT_COLUMNS;
    case 'mappings-history':
      return HISTORY_COLUMNS;
    case 'alerts':
      return (a.rows as AlertRow[]).some((r) => r.ledger !== undefined) ? RERUN_COLUMNS : ALERT_COLUMNS;
    case 'workloads':
      return WORKLOAD_COLUMNS;
  }
};

export const csvColumns = (a: PrintedAnswer): Column[] => {
  switch (a.question) {
    case 'who-did':
    case 'touched':
    case 'denied':
      return REQUEST_CSV_COLUMNS;
    case 'explain':
      return EXPLAIN_CSV_COLUMNS;
    case 'access-at':
      return ACCESS_AT_CSV_COLUMNS;
    case 'mappings-history':
      return HISTORY_CSV_COLUMNS;
    case 'alerts':
      return ALERT_CSV_COLUMNS;
    case 'workloads':
      return WORKLOAD_CSV_COLUMNS;
  }
};
