/**
 * Bench sizes. Defaults are the full run (under an hour on a 2-core machine); `--quick` is a fast
 * smoke-sized run of every section. Every size can be set by flag (`--engine-requests=20000`) or
 * environment variable (`BENCH_ENGINE_REQUESTS=20000`); flags win.
 */

export const SECTIONS = ['cpu', 'engine', 'replay', 'query', 'memory', 'cold', 'alerts', 'faults'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchConfig {
  quick: boolean;
  sections: Section[];
  /** Markdown report; the JSON report is written beside it (same name, .json). */
  out: string;
  seed: number;
  cpuRequests: number;
  cpuRounds: number;
  /** Requests of the engine scenario, per traffic mix. */
  engineRequests: number;
  lateFraction: number;
  duplicateFraction: number;
  /** Requests of the realistic scenario generated as files and replayed. */
  replayRequests: number;
  /** Requests of the realistic scenario the query table is loaded with. */
  queryRequests: number;
  /** Requests of the small cluster whose traffic is spread over longWindowDays (same table). */
  longWindowRequests: number;
  longWindowDays: number;
  queryReps: number;
  /** Deliveries in flight while loading the query table (Kinesis shards in parallel). */
  loadConcurrency: number;
  coldSamples: number;
  /** Requests of the simulated fleet whose mapping changes are timed from receipt to alert. */
  alertRequests: number;
  /** Requests of the fault-injection run (bench/fault-injection.ts). */
  faultRequests: number;
}

const FULL: Omit<BenchConfig, 'quick' | 'sections' | 'out'> = {
  seed: 20_251_122,
  cpuRequests: 20_000,
  cpuRounds: 5,
  engineRequests: 100_000,
  lateFraction: 0.05,
  duplicateFraction: 0.02,
  replayRequests: 100_000,
  queryRequests: 1_000_000,
  longWindowRequests: 10_000,
  longWindowDays: 90,
  queryReps: 20,
  loadConcurrency: 3,
  coldSamples: 5,
  alertRequests: 20_000,
  faultRequests: 100_000,
};

const QUICK: Partial<BenchConfig> = {
  cpuRequests: 3_000,
  cpuRounds: 3,
  engineRequests: 3_000,
  replayRequests: 3_000,
  queryRequests: 20_000,
  longWindowRequests: 500,
  queryReps: 5,
  coldSamples: 3,
  alertRequests: 3_000,
  faultRequests: 3_000,
};

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const envName = (k: string) => `BENCH_${kebab(k).replace(/-/g, '_').toUpperCase()}`;

export class BenchConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchConfigError';
  }
}

export const parseBenchArgs = (argv: readonly string[], env: NodeJS.ProcessEnv = {}): BenchConfig => {
  const flags = new Map<string, string>();
  for (const a of argv) {
    if (!a.startsWith('--')) throw new BenchConfigError(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    flags.set(eq < 0 ? a.slice(2) : a.slice(2, eq), eq < 0 ? 'true' : a.slice(eq + 1));
  }
  const quick = flags.get('quick') === 'true' || env['BENCH_QUICK'] === '1';
  const base = { ...FULL, ...(quick ? QUICK : {}) } as Omit<BenchConfig, 'quick' | 'sections' | 'out'>;
  const known = new Set(['quick', 'only', 'out', ...Object.keys(FULL).map(kebab)]);
  for (const k of flags.keys()) if (!known.has(k)) throw new BenchConfigError(`unknown flag --${k}`);
  const sizes = { ...base } as Record<string, number>;
  for (const k of Object.keys(FULL)) {
    const text = flags.get(kebab(k)) ?? env[envName(k)];
    if (text === undefined) continue;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new BenchConfigError(`--${kebab(k)} must be a non-negative number`);
    sizes[k] = n;
  }
  const only = flags.get('only') ?? env['BENCH_ONLY'];
  const sections = only ? only.split(',').map((s) => s.trim()) : [...SECTIONS];
  for (const s of sections)
    if (!(SECTIONS as readonly string[]).includes(s))
      throw new BenchConfigError(`--only: "${s}" is not one of ${SECTIONS.join(', ')}`);
  return {
    ...(sizes as unknown as Omit<BenchConfig, 'quick' | 'sections' | 'out'>),
    quick,
    sections: sections as Section[],
    out: flags.get('out') ?? env['BENCH_OUT'] ?? 'BENCHMARKS.md',
  };
};
