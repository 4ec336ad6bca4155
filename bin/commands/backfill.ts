import type { Command } from '../cli/command.js';

/**
 * The backfill sources, for the help text: lib/local/backfill.ts BACKFILL_SOURCES (the module loads the
 * AWS SDK clients, so it is imported only when the command runs; test/cli/startup.test.ts keeps the two equal).
 */
export const BACKFILL_SOURCE_NAMES = [
  'eks:access-entries',
  'cloudtrail:eks',
  'cloudtrail:eks-auth',
  'cloudtrail:AssumeRole',
  'cloudtrail:AssumeRoleWithSAML',
  'cloudtrail:AssumeRoleWithWebIdentity',
  'logs:authenticator',
  'logs:kube-apiserver-audit',
] as const;

const impl = () => import('./backfill-run.js');

export const backfill: Command = {
  name: 'backfill',
  summary: 'pull history from a real account (CloudWatch Logs, CloudTrail, EKS access entries), resumable',
  usage:
    'backfill --cluster <name> --region <r> [--account id] [--since 7d | --from --to] [--checkpoint file] [--sources a,b]',
  options: {
    cluster: { type: 'string' },
    account: { type: 'string' },
    since: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    checkpoint: { type: 'string' },
    sources: { type: 'string' },
    'retention-days': { type: 'string' },
  },
  help: [
    '--cluster <name>     EKS cluster to read (required)',
    '--account <id>       account owning the cluster (12 digits)',
    '--since <dur> | --from <iso> --to <iso>  window (default 7d; CloudTrail LookupEvents keeps 90 days)',
    '--checkpoint <file>  resume file (default .eks-trail-backfill-<cluster>.json)',
    `--sources <list>     subset of ${BACKFILL_SOURCE_NAMES.join(', ')}`,
    '--retention-days <c=d,…>  TTL per item class of what is written (request, bulkRequest, authenticator, credential, quarantine)',
  ],
  run: (ctx) => impl().then((m) => m.backfillRun(ctx)),
};
