import type { Command } from '../cli/command.js';

const impl = () => import('./console-run.js');

export const consoleCommand: Command = {
  name: 'console',
  summary: 'local web console: search, request chains, mapping timeline, access at T, alerts and posture',
  usage: 'console [--port n] [--demo] [--data-dir d | --table t --region r | --api url]',
  options: { port: { type: 'string' }, demo: { type: 'boolean' } },
  help: [
    '--port <n>           port on 127.0.0.1 (default: a free one); a fixed port keeps pasted links working across runs',
    '--demo               replay the bundled sample scenario into a temporary data dir and browse it',
  ],
  run: (ctx) => impl().then((m) => m.consoleRun(ctx)),
};
