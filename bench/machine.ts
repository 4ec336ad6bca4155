import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

/** What the figures were measured on: they mean little without it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGB: number;
  freeMemoryGB: number;
  node: string;
  platform: string;
  /** Load average at start: other work on a shared machine skews every figure. */
  loadAverage: string;
  date: string;
  packages: Record<string, string>;
}

/** Packages whose version moves the figures (SDK marshalling, engine, bundler, handler middleware). */
const MEASURED_PACKAGES = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/lib-dynamodb',
  '@middy/core',
  '@aws-lambda-powertools/logger',
  '@aws-lambda-powertools/metrics',
  'dynalite',
  'esbuild',
  'tsx',
] as const;

const versionOf = (root: string, name: string): string => {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    // Some packages restrict subpath access through `exports`; resolve through Node as a fallback.
    try {
      const req = createRequire(join(root, 'package.json'));
      return (req(`${name}/package.json`) as { version?: string }).version ?? 'unknown';
    } catch {
      return 'not installed';
    }
  }
};

export const machineInfo = (root: string, now: Date = new Date()): MachineInfo => {
  const list = cpus();
  const load = loadavg().map((n) => n.toFixed(2));
  const packages: Record<string, string> = {};
  for (const name of MEASURED_PACKAGES) packages[name] = versionOf(root, name);
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: load.join(' / '),
    date: now.toISOString(),
    packages,
  };
};
