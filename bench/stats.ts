/** Small statistics and formatting helpers shared by the bench modules. */

export const median = (xs: readonly number[]): number => percentile(xs, 50);

/** Nearest-rank percentile (p in 0..100); NaN for an empty sample. */
export const percentile = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
};

export const round = (x: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** 12345.6 -> "12,346"; keeps `digits` decimals under 100. */
export const fmt = (x: number, digits = 1): string => {
  if (!Number.isFinite(x)) return 'n/a';
  const abs = Math.abs(x);
  const d = abs >= 100 ? 0 : digits;
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
};

export const mb = (bytes: number): number => bytes / 1_000_000;

export const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
