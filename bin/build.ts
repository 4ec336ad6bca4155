import { rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * `npm run build`: the CLI bundled to JavaScript in dist/, so that nothing is compiled when it starts.
 * Dependencies stay in node_modules (`packages: 'external'`), which is what `npm install` provides; the
 * commands' heavy parts (the AWS SDK, the local engine) are separate chunks that load only when a
 * command needs them, so `--help` loads neither. bin/eks-trail.mjs is the launcher npm links.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');

export const buildCli = async (outdir: string = DIST): Promise<Record<string, number>> => {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    // The replay runs in a process of its own with a capped heap (bin/commands/local-run.ts): its
    // script is an entry of its own, dist/replay-child.js.
    entryPoints: {
      'eks-trail': join(ROOT, 'bin/eks-trail.ts'),
      'replay-child': join(ROOT, 'bin/commands/replay-child.ts'),
    },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The AWS SDK is bundled: loaded from node_modules it is hundreds of small files, most of a local
    // question's time. dynalite stays outside (its LevelDB binding is a native addon found relative to
    // its own files), and so does esbuild (only the console's build from source imports it).
    external: ['dynalite', 'esbuild'],
    // Bundled CommonJS packages call require() for Node's built-ins; an ES module has none of its own.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    chunkNames: 'chunks/[name]-[hash]',
    legalComments: 'none',
    minify: true,
    metafile: true,
    logLevel: 'warning',
  });
  const sizes: Record<string, number> = {};
  for (const file of Object.keys(result.metafile.outputs)) {
    const path = resolve(ROOT, file);
    sizes[relative(ROOT, path)] = statSync(path).size;
  }
  return sizes;
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sizes = await buildCli();
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  process.stdout.write(`dist/: ${Object.keys(sizes).length} files, ${total} bytes\n`);
}
