import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type AlertConfigFile, describeAlertConfig, parseAlertConfigFile } from '../../lib/alerts/alert-config-file.js';
import { DEFAULT_ALERT_CONFIG } from '../../lib/alerts/types.js';
import type { AlertsQuestion } from '../../lib/query/alerts.js';
import { rerunAlerts } from '../../lib/query/alerts-rerun.js';
import { parseQuestionParams } from '../../lib/query/params.js';
import { type Command, str, type Values } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import type { CliIo } from '../cli/io.js';
import { printAnswer } from '../cli/output.js';
import { openTarget } from '../cli/target.js';
import { outputFormat } from './questions.js';

/**
 * `eks-trail alerts`: the alerts the ledger recorded (deployed pipeline, or `replay` in local mode),
 * or with `--rerun` the alerts the current rules and suppressions raise over the stored history.
 */

/** `--alert-config <file>`: the deployment configuration whose alert keys the rules run with. */
export const readAlertConfigOption = (
  values: Values,
  io: Pick<CliIo, 'cwd'>,
): { file?: AlertConfigFile; source: string } => {
  const path = str(values['alert-config']);
  if (path === undefined) return { source: 'the default alert configuration' };
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, path), 'utf8');
  } catch (cause) {
    throw new UsageError(`--alert-config: cannot read ${path}`, { cause });
  }
  const parsed = parseAlertConfigFile(text);
  if (!parsed.ok) throw new UsageError(`--alert-config ${path}: ${parsed.issues.map((i) => i.message).join('; ')}`);
  return { file: parsed.value, source: path };
};

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
  run: async ({ values, positionals, io }) => {
    if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
    const rerun = values.rerun === true;
    if (!rerun && str(values['alert-config']) !== undefined) {
      throw new UsageError('--alert-config: only with --rerun (a listing shows what the ledger recorded)');
    }
    const format = outputFormat(values);
    const params: Record<string, string> = {};
    for (const k of ['cluster', 'since', 'from', 'to', 'limit', 'cursor', 'severity', 'rule'] as const) {
      const v = str(values[k]);
      if (v !== undefined) params[k] = v;
    }
    if (rerun) params['rerun'] = 'true';
    const parsed = parseQuestionParams('alerts', params, io.now());
    if (!parsed.ok) throw new UsageError(parsed.issues.map((i) => (i.path ? `--${i.message}` : i.message)).join('\n'));
    const options = {
      dataDir: str(values['data-dir']),
      table: str(values.table),
      region: str(values.region),
      api: str(values.api),
    };
    if (rerun && options.api !== undefined) {
      throw new UsageError(
        '--rerun: the rules run on this machine over the trail table; use local mode or --table (the query API lists recorded alerts)',
      );
    }
    const alertConfig = rerun ? readAlertConfigOption(values, io) : undefined;
    const target = await openTarget(options, io.env);
    try {
      if (rerun && target.store && alertConfig) {
        const config = alertConfig.file?.config ?? DEFAULT_ALERT_CONFIG;
        const answer = await rerunAlerts(
          target.store,
          parsed.value as AlertsQuestion,
          config,
          describeAlertConfig(config, alertConfig.source),
        );
        if (alertConfig.file && alertConfig.file.ignored.length > 0) {
          answer.notes.push(
            `${alertConfig.source}: keys the alert rules do not read: ${alertConfig.file.ignored.join(', ')}`,
          );
        }
        printAnswer(answer, format, io);
      } else {
        printAnswer(await target.ask(parsed.value, params), format, io);
      }
      return 0;
    } finally {
      await target.close();
    }
  },
};
