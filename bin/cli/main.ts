import { parseArgs } from 'node:util';
import { QueryNotFoundError, QueryParamError } from '../../lib/query/errors.js';
import { TrailStoreError } from '../../lib/store/trail-store.js';
import { alertsCommand } from '../commands/alerts.js';
import { backfill } from '../commands/backfill.js';
import { consoleCommand } from '../commands/console.js';
import { exportCommand } from '../commands/export.js';
import { demo, replay } from '../commands/local.js';
import { quarantineCommand } from '../commands/quarantine.js';
import { accessAt, denied, explain, mappingsHistory, touched, whoDid } from '../commands/questions.js';
import { decodeTokenCommand, postureCommand } from '../commands/tools.js';
import { verifyCommand } from '../commands/verify.js';
import { workloadsCommand } from '../commands/workloads.js';
import { type Command, GLOBAL_HELP, GLOBAL_OPTIONS } from './command.js';
import { EXIT, NotFoundError, UsageError } from './errors.js';
import type { CliIo } from './io.js';

export const COMMANDS: Command[] = [
  whoDid,
  explain,
  denied,
  accessAt,
  mappingsHistory,
  touched,
  alertsCommand,
  workloadsCommand,
  exportCommand,
  replay,
  quarantineCommand,
  demo,
  backfill,
  decodeTokenCommand,
  postureCommand,
  consoleCommand,
  verifyCommand,
];

const overview = (): string =>
  [
    'eks-trail: who did what on EKS, through which identity mapping',
    '',
    'usage: eks-trail <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`),
    `  ${'help [command]'.padEnd(18)} this help, or a command's options`,
    '',
    'global options:',
    ...GLOBAL_HELP.map((l) => `  ${l}`),
    '',
    'exit codes: 0 ok, 1 runtime error, 2 usage error, 3 not found, 4 replay refused a file or a record (the rest landed), 5 verify found the trail changed',
  ].join('\n');

const commandHelp = (c: Command): string =>
  [
    `usage: eks-trail ${c.usage}`,
    '',
    c.summary,
    '',
    'options:',
    ...[...c.help, ...GLOBAL_HELP].map((l) => `  ${l}`),
  ].join('\n');

const find = (argv: string[]): { command?: Command; rest: string[]; name?: string } => {
  const [a, b, ...rest] = argv;
  if (a === undefined) return { rest: [] };
  if (a === 'mappings') {
    if (b === 'history') return { command: mappingsHistory, rest };
    throw new UsageError(`mappings: unknown subcommand ${b === undefined ? '(none)' : `"${b}"`} (valid: history)`);
  }
  const command = COMMANDS.find((c) => c.name === a);
  return command ? { command, rest: b === undefined ? rest : [b, ...rest] } : { rest: argv.slice(1), name: a };
};

/** Run the CLI; returns the exit code (never calls process.exit, so tests can drive it in process). */
export const main = async (argv: string[], io: CliIo): Promise<number> => {
  const err = (s: string) => io.stderr.write(`eks-trail: ${s}\n`);
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
      io.stdout.write(`${overview()}\n`);
      return argv.length === 0 ? EXIT.usage : EXIT.ok;
    }
    if (argv[0] === 'help') {
      const topic = argv.slice(1).join(' ');
      const c = COMMANDS.find((x) => x.name === topic);
      if (topic && !c)
        throw new UsageError(`help: unknown command "${topic}" (valid: ${COMMANDS.map((x) => x.name).join(', ')})`);
      io.stdout.write(`${c ? commandHelp(c) : overview()}\n`);
      return EXIT.ok;
    }
    const { command, rest, name } = find(argv);
    if (!command) {
      throw new UsageError(`unknown command "${name}" (valid: ${[...COMMANDS.map((c) => c.name), 'help'].join(', ')})`);
    }
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...GLOBAL_OPTIONS, ...command.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      // node:util names the offending option; add where to look for the valid ones.
      throw new UsageError(
        `${command.name}: ${(e as Error).message.split('. ')[0]} (see: eks-trail help ${command.name})`,
        { cause: e },
      );
    }
    if (parsed.values.help) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return EXIT.ok;
    }
    return await command.run({ values: parsed.values, positionals: parsed.positionals, io });
  } catch (e) {
    if (e instanceof UsageError || e instanceof QueryParamError) {
      err(e.message);
      return EXIT.usage;
    }
    if (e instanceof NotFoundError || e instanceof QueryNotFoundError) {
      err(e.message);
      return EXIT.notFound;
    }
    // LocalEngineError by name: lib/local/engine.ts loads the engine, which the CLI loads only when a command needs it.
    if ((e instanceof Error && e.name === 'LocalEngineError') || e instanceof TrailStoreError) {
      err(`${e.message}${e.cause ? `: ${(e.cause as Error).message ?? e.cause}` : ''}`);
      return EXIT.runtime;
    }
    err(`${(e as Error)?.stack ?? String(e)}`);
    return EXIT.runtime;
  }
};
