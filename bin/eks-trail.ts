import { processIo } from './cli/io.js';
import { main } from './cli/main.js';

// The SDK warns on Node 20 at every start; the warning is about future releases, not this run.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (!/NodeVersionSupportWarning/.test(`${w.name} ${w.message}`)) process.stderr.write(`${w.name}: ${w.message}\n`);
});

process.exitCode = await main(process.argv.slice(2), processIo());
