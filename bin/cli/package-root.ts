import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of this package: the nearest one above this module whose package.json names it. The CLI
 * runs from source (bin/…) and bundled (dist/, dist/chunks/), so a fixed number of `..` would be wrong
 * in one of them.
 */
export const packageRoot = (from: string = dirname(fileURLToPath(import.meta.url))): string => {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'eks-access-trail') return dir;
      } catch {
        // not ours: keep looking upwards
      }
    }
    if (dirname(dir) === dir) throw new Error(`eks-access-trail: no package.json of this package above ${from}`);
  }
};

/** The bundled sample scenario. */
export const samplesDir = (): string => join(packageRoot(), 'samples');

/**
 * What to replay of a scenario folder: its data folders. Its README and ground truth are not trail
 * input, and replay refuses files of no export shape (lib/local/replay.ts).
 */
export const scenarioInputs = (dir: string): string[] => {
  const inputs = ['cloudtrail', 'aws-auth', 'logs'].map((d) => join(dir, d)).filter((d) => existsSync(d));
  return inputs.length ? inputs : [dir];
};
