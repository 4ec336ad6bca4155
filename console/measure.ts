import { measureConsole } from '../bench/console-render.js';
import { fmt } from '../bench/stats.js';

/**
 * `npm run console:measure`: the bundle's size (raw and gzip) and the first render of each view with
 * its data, as the bench's console section measures them (bench/console-render.ts). Target: under 1 s.
 */

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

const x = await measureConsole({ coldLoads: 3 });
process.stdout.write('bundle\n');
for (const a of x.assets)
  process.stdout.write(`  ${a.path.padEnd(28)} ${kb(a.bytes).padStart(10)}  gzip ${kb(a.gzipBytes).padStart(9)}\n`);
process.stdout.write(
  `  ${'total (page, JS, CSS)'.padEnd(28)} ${kb(x.bundleBytes).padStart(10)}  gzip ${kb(x.bundleGzipBytes).padStart(9)}\n`,
);
if (x.skipped) {
  process.stdout.write(`first render: skipped, ${x.skipped}\n`);
} else {
  process.stdout.write(
    `first render with data (navigation start -> console-ready), ${x.coldLoads} cold loads a view\n`,
  );
  process.stdout.write(
    `  ${'first load, cold browser'.padEnd(34)} ${fmt(x.firstColdMs ?? Number.NaN, 0).padStart(6)} ms\n`,
  );
  for (const v of x.views)
    process.stdout.write(
      `  ${v.view.padEnd(34)} median ${fmt(v.medianMs, 0).padStart(6)} ms, max ${fmt(v.maxMs, 0).padStart(6)} ms\n`,
    );
}
