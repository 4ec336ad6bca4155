import { OUTPUT_FORMATS, type OutputFormat } from '../../lib/query/format.js';
import { parseQuestionParams, type QuestionName } from '../../lib/query/params.js';
import { type Command, type OptionSpec, str, type Values } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import type { CliIo } from '../cli/io.js';

/** The six questions: thin wrappers that turn arguments into query parameters and print the answer. */

const RANGE: OptionSpec = { since: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } };
const PAGE: OptionSpec = { limit: { type: 'string' }, cursor: { type: 'string' } };
const CLUSTER: OptionSpec = { cluster: { type: 'string' } };

const RANGE_HELP = [
  '--since <dur>        window ending now, e.g. 90m, 24h, 7d',
  '--from <iso> --to <iso>  absolute window (UTC when no zone)',
];
const PAGE_HELP = [
  '--limit <n>          rows per page (1-1000, default 50)',
  '--cursor <c>         next page (printed after a full page)',
];
const CLUSTER_HELP = [
  '--cluster <name>     cluster name, or <account-id>/<name> when the name exists in several accounts',
];

export { CLUSTER, PAGE, PAGE_HELP };

export const outputFormat = (values: Values): OutputFormat => {
  const f = str(values.format) ?? 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(f)) {
    throw new UsageError(`--format: "${f}" is not one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  return f as OutputFormat;
};

export const ask = async (
  question: QuestionName,
  raw: Record<string, string | undefined>,
  values: Values,
  io: CliIo,
): Promise<number> => {
  const format = outputFormat(values);
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) params[k] = v;
  const parsed = parseQuestionParams(question, params, io.now());
  if (!parsed.ok) throw new UsageError(parsed.issues.map((i) => (i.path ? `--${i.message}` : i.message)).join('\n'));
  // Loaded here, not at start: the AWS SDK and the local engine are most of the CLI's load time.
  const [{ openTarget }, { printAnswer }] = await Promise.all([import('../cli/target.js'), import('../cli/output.js')]);
  const target = await openTarget(
    { dataDir: str(values['data-dir']), table: str(values.table), region: str(values.region), api: str(values.api) },
    io.env,
  );
  try {
    const answer = await target.ask(parsed.value, params);
    printAnswer(answer, format, io);
    return 0;
  } finally {
    await target.close();
  }
};

const common = (values: Values, withRange: boolean, withPage: boolean): Record<string, string | undefined> => ({
  cluster: str(values.cluster),
  ...(withRange ? { since: str(values.since), from: str(values.from), to: str(values.to) } : {}),
  ...(withPage ? { limit: str(values.limit), cursor: str(values.cursor) } : {}),
});

const oneArg = (positionals: string[], what: string, usage: string): string => {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? `missing ${what} (usage: eks-trail ${usage})`
        : `unexpected arguments: ${positionals.slice(1).join(' ')}`,
    );
  }
  return positionals[0] as string;
};

export const noArgs = (positionals: string[]): void => {
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
};

export const whoDid: Command = {
  name: 'who-did',
  summary: 'requests of a principal, human or Kubernetes user (or of a whole cluster)',
  usage:
    'who-did [--principal <arn> | --human <id> | --k8s-user <name> | --service-account ns/sa | --pod ns/pod] [--cluster c] [filters]',
  options: {
    ...CLUSTER,
    ...RANGE,
    ...PAGE,
    principal: { type: 'string' },
    human: { type: 'string' },
    'k8s-user': { type: 'string' },
    'service-account': { type: 'string' },
    pod: { type: 'string' },
    verb: { type: 'string' },
    resource: { type: 'string' },
    namespace: { type: 'string' },
    outcome: { type: 'string' },
  },
  help: [
    '--principal <arn>    IAM role, user or sts assumed-role ARN (canonicalised; an assumed-role ARN also filters its session)',
    '--human <id>         SSO user / e-mail, IAM user ARN or assume-role caller',
    '--k8s-user <name>    Kubernetes username',
    '--service-account <ns/sa>  requests on any cluster made with the IAM sessions (Pod Identity, IRSA) of this',
    '                     service account of --cluster (the cluster its pods run on)',
    '--pod <ns/pod>       the same, for one pod (found through its Pod Identity sessions)',
    '--verb <v[,v]>       get, list, watch, create, update, patch, delete, deletecollection',
    '--resource <r>       resource plural, optionally with group: deployments.apps',
    '--namespace <ns>     namespace',
    '--outcome <o>        allow, forbid, authn-failed or unknown',
    ...CLUSTER_HELP,
    ...RANGE_HELP,
    ...PAGE_HELP,
  ],
  run: ({ values, positionals, io }) => {
    noArgs(positionals);
    return ask(
      'who-did',
      {
        ...common(values, true, true),
        principal: str(values.principal),
        human: str(values.human),
        'k8s-user': str(values['k8s-user']),
        'service-account': str(values['service-account']),
        pod: str(values.pod),
        verb: str(values.verb),
        resource: str(values.resource),
        namespace: str(values.namespace),
        outcome: str(values.outcome),
      },
      values,
      io,
    );
  },
};

export const explain: Command = {
  name: 'explain',
  summary: 'one request, link by link (observed / derived / unknown)',
  usage: 'explain <auditID> [--cluster c] [--at time]',
  options: { ...CLUSTER, at: { type: 'string' } },
  help: [
    ...CLUSTER_HELP,
    "--at <time>          the request's requestReceivedTimestamp (who-did prints it): finds any request;",
    '                     without it, requests of IAM callers, denials and identity or secret access are found',
  ],
  run: ({ values, positionals, io }) =>
    ask(
      'explain',
      { cluster: str(values.cluster), 'audit-id': oneArg(positionals, 'auditID', explain.usage), at: str(values.at) },
      values,
      io,
    ),
};

export const denied: Command = {
  name: 'denied',
  summary: '401s and 403s with the failed stage and, for 403s, the missing permission',
  usage: 'denied [--cluster c] [--stage s] [--principal arn] [window]',
  options: { ...CLUSTER, ...RANGE, ...PAGE, stage: { type: 'string' }, principal: { type: 'string' } },
  help: [
    '--stage <s>          token, sts, unmapped, template, reserved-prefix, authentication, authorization',
    '--principal <arn>    only this principal',
    ...CLUSTER_HELP,
    ...RANGE_HELP,
    ...PAGE_HELP,
  ],
  run: ({ values, positionals, io }) => {
    noArgs(positionals);
    return ask(
      'denied',
      { ...common(values, true, true), stage: str(values.stage), principal: str(values.principal) },
      values,
      io,
    );
  },
};

export const accessAt: Command = {
  name: 'access-at',
  summary: 'every mapping through which a principal could authenticate at a time',
  usage: 'access-at [<time>] [--cluster c] [--principal arn]',
  options: { ...CLUSTER, ...PAGE, principal: { type: 'string' } },
  help: [
    '<time>               ISO 8601 (default now)',
    '--principal <arn>    only mappings matching this principal',
    ...CLUSTER_HELP,
    ...PAGE_HELP,
  ],
  run: ({ values, positionals, io }) => {
    if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
    return ask(
      'access-at',
      { ...common(values, false, true), at: positionals[0], principal: str(values.principal) },
      values,
      io,
    );
  },
};

export const mappingsHistory: Command = {
  name: 'mappings history',
  summary: 'identity-mapping changes with actor and before/after',
  usage: 'mappings history [--cluster c] [--principal arn] [window]',
  options: { ...CLUSTER, ...RANGE, ...PAGE, principal: { type: 'string' } },
  help: ['--principal <arn>    only changes concerning this principal', ...CLUSTER_HELP, ...RANGE_HELP, ...PAGE_HELP],
  run: ({ values, positionals, io }) => {
    noArgs(positionals);
    return ask('mappings-history', { ...common(values, true, true), principal: str(values.principal) }, values, io);
  },
};

export const touched: Command = {
  name: 'touched',
  summary: 'who read or changed a namespace, an object or a kind',
  usage: 'touched <target> [--access read|write|any]   (every target the answers print is accepted)',
  options: { ...CLUSTER, ...RANGE, ...PAGE, access: { type: 'string' } },
  help: [
    '<target>             ns/resource[.group]/name (payments/pods/api-0, kube-system/daemonsets.apps/aws-node),',
    '                     ns/resource/subresource/name (payments/pods/log/api-0), /resource/name at cluster scope',
    '                     (/nodes/ip-10-0-0-1, /namespaces/payments), ns/resource, /resource, namespace/<ns>, resource',
    '--access <a>         read, write or any (default any)',
    ...CLUSTER_HELP,
    ...RANGE_HELP,
    ...PAGE_HELP,
  ],
  run: ({ values, positionals, io }) =>
    ask(
      'touched',
      {
        ...common(values, true, true),
        target: oneArg(positionals, 'target', touched.usage),
        access: str(values.access),
      },
      values,
      io,
    ),
};
