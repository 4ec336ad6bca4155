import { type BuildOptions, build } from 'esbuild';

/**
 * esbuild options of cdk/constructs/trail-function.ts (NodejsFunction bundling): ESM, minified,
 * external source map, every dependency bundled (the AWS SDK too), `module` before `main`, and the
 * createRequire banner for CommonJS leftovers. The target is the deployed runtime's (node24): the
 * syntax it emits runs on the Node 20 of this machine as well.
 */
export const LAMBDA_BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  external: [],
  logLevel: 'silent',
};

export const bundleEntry = async (entry: string, outfile: string): Promise<void> => {
  await build({ ...LAMBDA_BUNDLE_OPTIONS, entryPoints: [entry], outfile });
};
