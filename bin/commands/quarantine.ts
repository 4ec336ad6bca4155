import type { QuarantineSource } from '../../lib/store/trail-store.js';
import type { Command } from '../cli/command.js';

/** `quarantine`: the spec here, the work in quarantine-run.ts, loaded when the command runs (bin/build.ts). */

export const QUARANTINE_SOURCES: readonly QuarantineSource[] = [
  'kinesis-record',
  'cloudwatch-logs-subscription',
  'cloudwatch-log-event',
  'eventbridge-event',
  'sqs-message',
  'cloudtrail-record',
  'replay-file',
];

export const quarantineCommand: Command = {
  name: 'quarantine',
  summary: 'list the records the trail refused (code, source, index, raw text), or show one',
  usage:
    'quarantine [--code C] [--source S] [--since d | --from iso --to iso] [--limit n] [--cursor c]\n' +
    '       eks-trail quarantine show <source> <sourceId> [--at iso | --from iso --to iso]',
  options: {
    code: { type: 'string' },
    source: { type: 'string' },
    since: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    at: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
  help: [
    '--code <C>           only records refused with this issue code (e.g. EXPORT_RECORD_SHAPE)',
    `--source <S>         only records of this source (${QUARANTINE_SOURCES.join(', ')})`,
    "--since <dur>        window ending now (default 7d), or --from <iso> --to <iso>: the records' own time",
    '--limit <n>          rows per page (1-1000, default 50); --cursor <c> for the next page',
    "--at <iso>           show: the record's `at`, as the listing printed it",
  ],
  run: (ctx) => import('./quarantine-run.js').then((m) => m.quarantineRun(ctx)),
};
