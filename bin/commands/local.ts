import type { Command } from '../cli/command.js';

/** `replay` and `demo`: specs here, the work in local-run.ts, loaded when the command runs. */

const impl = () => import('./local-run.js');

export const replay: Command = {
  name: 'replay',
  summary: 'ingest local files (log exports, CloudTrail files, aws-auth YAML) through the real pipelines',
  usage: 'replay <files|dirs…> [--log-group g] [--account id] [--cluster c] [--at iso]',
  options: {
    'log-group': { type: 'string' },
    account: { type: 'string' },
    cluster: { type: 'string' },
    at: { type: 'string' },
    'retention-days': { type: 'string' },
    'alert-config': { type: 'string' },
  },
  help: [
    '--log-group <g>      log group of exports that do not name one (else --cluster, <cluster>.filter-log-events.json or /aws/eks/<cluster>/cluster in the path)',
    '--account <id>       workload account owning the clusters (12 digits; else from the CloudTrail replayed with them)',
    '--cluster <name>     cluster of plain audit events and aws-auth files (else from <cluster>.yaml or the path)',
    '--at <iso>           time of aws-auth snapshots (else metadata.creationTimestamp, else the file modification time)',
    '--retention-days <c=d,…>  TTL per item class of what is written (request, bulkRequest, authenticator, credential, quarantine)',
    '--alert-config <f>   local mode: raise alerts with this deployment configuration (alertSuppressions, memberAccountIds…)',
    'Shapes are recognised from the content; a file of none of them is refused with the list of accepted shapes.',
    'exit codes: 0 everything landed; 4 the rest landed but files or records were refused (see the summary and',
    '`eks-trail quarantine`); 1 store faults; 2 usage errors',
  ],
  run: (ctx) => impl().then((m) => m.replayRun(ctx)),
};

/** Where the demo keeps its data unless --data-dir says otherwise (README's examples use it). */
export const DEMO_DATA_DIR = '.eks-trail-demo';

export const demo: Command = {
  name: 'demo',
  summary: `replay the bundled sample scenario into ${DEMO_DATA_DIR}/ and answer a few questions, printing each command`,
  usage: 'demo [--data-dir d] [--samples dir]',
  options: { samples: { type: 'string' } },
  help: [
    `--data-dir <dir>     where to keep the replayed trail (default ${DEMO_DATA_DIR}/, replaced at each run)`,
    '--samples <dir>      another scenario folder',
  ],
  run: (ctx) => impl().then((m) => m.demoRun(ctx)),
};
