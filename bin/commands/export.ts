import { DEFAULT_SOURCE_NAMES } from '../../lib/export/source-names.js';
import type { Command } from '../cli/command.js';

/** `export`: the spec here, the work in export-run.ts, loaded when the command runs (bin/build.ts). */

export const exportCommand: Command = {
  name: 'export',
  summary: 'stream a cluster window as OCSF (JSON lines or Security Lake Parquet) or plain JSON lines',
  usage: 'export --format ocsf-jsonl|ocsf-parquet|jsonl --cluster c (--from t --to t | --since d) [--out path]',
  options: {
    cluster: { type: 'string' },
    since: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    out: { type: 'string' },
    'cluster-region': { type: 'string' },
    'source-name': { type: 'string' },
    'mapping-source-name': { type: 'string' },
  },
  help: [
    '--format <f>         ocsf-jsonl: OCSF 1.8.0 API Activity + Entity Management records, one per line',
    '                     ocsf-parquet: Parquet laid out as Security Lake custom sources (needs --out <dir>)',
    '                     jsonl: one plain JSON object per request (time, principal, human, mapping, decision…)',
    '--cluster <name>     cluster name, or <account-id>/<name>',
    '--from <iso> --to <iso>  the window (UTC when no zone); or --since <dur> ending now',
    '--out <path>         file for the JSON-lines formats (default stdout); folder for ocsf-parquet',
    '--cluster-region <r> the region the records are filed under (cloud.region and the region= partition);',
    '                     default --region, then AWS_REGION. The trail does not record a cluster region',
    `--source-name <n>    Security Lake custom source of the API Activity records (default ${DEFAULT_SOURCE_NAMES.apiActivity})`,
    `--mapping-source-name <n>  custom source of the mapping changes (default ${DEFAULT_SOURCE_NAMES.entityManagement})`,
  ],
  run: (ctx) => import('./export-run.js').then((m) => m.exportRun(ctx)),
};
