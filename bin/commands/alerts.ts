import type { Command } from '../cli/command.js';

/**
 * `eks-trail alerts`: the alerts the ledger recorded (deployed pipeline, or `replay` in local mode),
 * or with `--rerun` the alerts the current rules and suppressions raise over the stored history. The
 * spec is here; the work is in alerts-run.ts, loaded when the command runs.
 */

export const alertsCommand: Command = {
  name: 'alerts',
  summary: 'alerts on identity-mapping changes: those recorded, or with --rerun those the rules raise over history',
  usage: 'alerts [--cluster c] [--since d | --from t --to t] [--severity s] [--rule r] [--rerun [--alert-config f]]',
  options: {
    cluster: { type: 'string' },
    since: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    severity: { type: 'string' },
    rule: { type: 'string' },
    rerun: { type: 'boolean' },
    'alert-config': { type: 'string' },
  },
  help: [
    '--cluster <name>     one cluster (name or <account-id>/<name>); default every cluster',
    '--since <dur>        window ending now (default 30d), e.g. 7d, 90d',
    '--from <iso> --to <iso>  absolute window (UTC when no zone)',
    '--severity <s[,s]>   critical, high, medium, low, info; `high+` = high and more severe',
    '--rule <id[,id]>     rule ids, e.g. system-masters-mapping,aws-auth-edited',
    '--rerun              evaluate the current rules and suppressions over the stored history (sends and writes nothing)',
    '--alert-config <f>   with --rerun: the deployment configuration file (alertSuppressions, memberAccountIds,',
    '                     recentMappingDays…) to evaluate with; default: no suppressions, no trusted accounts',
    '--limit <n>          rows per page (1-1000, default 50)',
    '--cursor <c>         next page (printed after a full page)',
  ],
  run: (ctx) => import('./alerts-run.js').then((m) => m.alertsRun(ctx)),
};
