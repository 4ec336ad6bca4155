#!/usr/bin/env node
// The `eks-trail` bin. The CLI is bundled to JavaScript at build time (bin/build.ts: `npm run build`,
// and `prepack` for a packed copy), so nothing is compiled when it starts.
try {
  await import('../dist/eks-trail.js');
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/eks-trail.js')) {
    process.stderr.write(
      'eks-trail: the CLI is not built in this checkout: run `npm run build` (or `npm run eks-trail -- <args>` to run it from source)\n',
    );
    process.exitCode = 1;
  } else {
    throw e;
  }
}
