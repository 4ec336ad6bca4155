import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EKSClient } from '@aws-sdk/client-eks';
import { BACKFILL_SOURCES, BackfillError, type BackfillSource, runBackfill } from '../../lib/local/backfill.js';
import { createProgress } from '../../lib/local/progress.js';
import { formatJson } from '../../lib/query/format.js';
import { parseTimeRange } from '../../lib/query/time-range.js';
import { type Command, str } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import { openTarget, parseRetentionFlag } from '../cli/target.js';

/** `backfill`, loaded when the command runs (the AWS SDK clients are not loaded at start). */
export const backfillRun: Command['run'] = async ({ values, positionals, io }) => {
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  if (str(values.api)) throw new UsageError('--api: backfill writes to the trail; use local mode or --table');
  const cluster = str(values.cluster);
  if (!cluster) throw new UsageError('--cluster: required (the EKS cluster to backfill)');
  const region = str(values.region) ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('--region: required (or set AWS_REGION)');
  const account = str(values.account);
  if (account !== undefined && !/^\d{12}$/.test(account))
    throw new UsageError(`--account: "${account}" is not a 12-digit account id`);
  const range = parseTimeRange(
    { since: str(values.since), from: str(values.from), to: str(values.to) },
    io.now(),
    '7d',
  );
  if (!range.ok) throw new UsageError(`--${range.issues[0]?.message}`);
  let sources: BackfillSource[] | undefined;
  const sourcesText = str(values.sources);
  if (sourcesText) {
    sources = [];
    for (const s of sourcesText.split(',').map((x) => x.trim())) {
      if (!(BACKFILL_SOURCES as readonly string[]).includes(s)) {
        throw new UsageError(`--sources: "${s}" is not one of ${BACKFILL_SOURCES.join(', ')}`);
      }
      sources.push(s as BackfillSource);
    }
  }
  const target = await openTarget(
    {
      dataDir: str(values['data-dir']),
      table: str(values.table),
      region,
      retentionDays: parseRetentionFlag(str(values['retention-days'])),
    },
    io.env,
  );
  const clients = {
    logs: new CloudWatchLogsClient({ region }),
    cloudtrail: new CloudTrailClient({ region }),
    eks: new EKSClient({ region }),
  };
  try {
    const summary = await runBackfill(clients, target.store!, {
      cluster,
      from: range.value.from,
      to: range.value.to,
      checkpointPath: str(values.checkpoint) ?? `${io.cwd}/.eks-trail-backfill-${cluster}.json`,
      now: io.now,
      progress: createProgress(io.stderr, 'backfill', 0),
      ...(account ? { accountId: account } : {}),
      ...(sources ? { sources } : {}),
    });
    io.stdout.write(`${formatJson(summary)}\n`);
    return summary.failedItems ? 1 : 0;
  } catch (e) {
    if (e instanceof BackfillError) throw new UsageError(e.message, { cause: e });
    throw e;
  } finally {
    for (const c of Object.values(clients)) c.destroy();
    await target.close();
  }
};
