/**
 * CDK app entry (cdk.json: `npx tsx cdk/app.ts`).
 *
 *   npx cdk synth -c account=111111111111 -c region=eu-west-1 [-c configFile=trail.json]
 *
 * The configuration comes from the `eksAccessTrail` context key (cdk.json or cdk.context.json), or
 * from the JSON file named by `-c configFile=…`; without either, cdk/sample-config.json is used so
 * that an offline synth works, and every stack carries a warning saying so. docs/deploy.md lists
 * every key.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Annotations, App } from 'aws-cdk-lib';
import { ConfigValidationError, resolveDeployEnv, validateTrailConfig } from './config.js';
import { applyNag } from './nag.js';
import { buildTrailApp } from './trail-app.js';

const app = new App();

const env = resolveDeployEnv(
  { account: app.node.tryGetContext('account'), region: app.node.tryGetContext('region') },
  process.env,
);
if (!env.ok) throw new ConfigValidationError(env.problems);

const inline: unknown = app.node.tryGetContext('eksAccessTrail');
const configFile: unknown = app.node.tryGetContext('configFile');
let raw: unknown;
let usingSample = false;
if (inline !== undefined) {
  // `-c eksAccessTrail='{…}'` arrives as a string; cdk.json context as an object.
  raw = typeof inline === 'string' ? parseJson(inline, 'context eksAccessTrail') : inline;
} else {
  const path =
    typeof configFile === 'string' ? configFile : fileURLToPath(new URL('./sample-config.json', import.meta.url));
  usingSample = typeof configFile !== 'string';
  raw = parseJson(readText(path), path);
}

const config = validateTrailConfig(raw, env.value);
if (!config.ok) throw new ConfigValidationError(config.problems);

const stacks = buildTrailApp(app, config.value);
if (usingSample) {
  for (const s of [stacks.central, ...stacks.destinations, ...stacks.members]) {
    Annotations.of(s).addWarningV2(
      'eks-access-trail:sample-config',
      'synthesized from cdk/sample-config.json (placeholder accounts and clusters): pass -c configFile=<your file> before deploying',
    );
  }
}
applyNag(app);
app.synth();

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigValidationError([{ path: 'configFile', message: `cannot read ${path}` }], { cause });
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ConfigValidationError([{ path: where, message: 'not valid JSON' }], { cause });
  }
}
