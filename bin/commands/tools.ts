import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import { outputFormat } from './questions.js';

export const decodeTokenCommand: Command = {
  name: 'decode-token',
  summary: 'decode an EKS bearer token offline (and say whose key signed it, from the trail)',
  usage: 'decode-token <k8s-aws-v1.… | - (stdin) | ExecCredential JSON> [--no-trail]',
  options: { 'no-trail': { type: 'boolean' } },
  help: ['--no-trail           do not look the access key up in the trail'],
  run: (ctx) => import('./tools-run.js').then((m) => m.decodeTokenRun(ctx)),
};

export const postureCommand: Command = {
  name: 'posture',
  summary: 'posture findings over the current identity mappings (lib/alerts)',
  usage: 'posture [--cluster c]',
  options: { cluster: { type: 'string' } },
  help: ['--cluster <name>     only this cluster'],
  run: async ({ values, positionals, io }) => {
    if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
    const format = outputFormat(values);
    const { runPosture } = await import('./posture-runner.js');
    return runPosture({ values, io, format });
  },
};
