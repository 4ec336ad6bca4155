import type { ParseArgsConfig } from 'node:util';
import type { CliIo } from './io.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  /** Usage line(s) after `eks-trail `. */
  usage: string;
  options: OptionSpec;
  /** Option help lines: `--name <v>  text`. */
  help: string[];
  run(ctx: { values: Values; positionals: string[]; io: CliIo }): Promise<number>;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  'data-dir': { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
  api: { type: 'string' },
  format: { type: 'string' },
};

export const GLOBAL_HELP = [
  '--data-dir <dir>     local mode data folder (default .eks-trail/ in the current directory)',
  '--table <name>       use a deployed trail table instead of local mode (with --region)',
  '--region <region>    AWS region of --table / --api',
  '--api <url>          ask the deployed query API (Lambda function URL, SigV4-signed)',
  '--format <f>         table (default), json or csv',
  '-h, --help           this help',
];

export const str = (v: Values[string]): string | undefined => (typeof v === 'string' ? v : undefined);
