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

/** The work of `eks-trail alerts` (bin/commands/alerts.ts), and the `--alert-config` option replay shares. */

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

export const alertsRun: Command['run'] = async ({ values, positionals, io }) => {
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
};
