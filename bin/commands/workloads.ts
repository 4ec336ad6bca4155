import type { Command } from '../cli/command.js';
import { str } from '../cli/command.js';
import { ask, CLUSTER, noArgs, PAGE, PAGE_HELP } from './questions.js';

/** `workloads`: which service accounts could act as an IAM role at a time, and the sessions each received. */
export const workloadsCommand: Command = {
  name: 'workloads',
  summary: 'service accounts that could act as an IAM role at a time (Pod Identity, IRSA) and their sessions',
  usage: 'workloads --role <arn> [--at <time>] [--since 30d] [--cluster c]',
  options: { ...CLUSTER, ...PAGE, role: { type: 'string' }, at: { type: 'string' }, since: { type: 'string' } },
  help: [
    '--role <arn>         the IAM role (a path or an assumed-role ARN is canonicalised)',
    '--at <time>          the associations in force then (default now)',
    '--since <dur>        sessions issued in this window before --at (default 30d)',
    '--cluster <name>     only pods of this cluster (default every cluster)',
    ...PAGE_HELP,
  ],
  run: ({ values, positionals, io }) => {
    noArgs(positionals);
    return ask(
      'workloads',
      {
        cluster: str(values.cluster),
        role: str(values.role),
        at: str(values.at),
        since: str(values.since),
        limit: str(values.limit),
        cursor: str(values.cursor),
      },
      values,
      io,
    );
  },
};
