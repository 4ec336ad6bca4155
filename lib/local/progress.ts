/**
 * Progress on stderr: a redrawn bar on a terminal; on a pipe or CI log, plain lines at most every few
 * seconds (a bar's carriage returns would make an unreadable log).
 */

export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface Progress {
  /** Add `n` done units; `detail` replaces the text after the bar. */
  tick(n: number, detail?: string): void;
  /** Grow the total when more work is discovered. */
  addTotal(n: number): void;
  done(final?: string): void;
}

export const createProgress = (
  sink: ProgressSink,
  label: string,
  total: number,
  opts: { now?: () => number; intervalMs?: number; width?: number } = {},
): Progress => {
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? (sink.isTTY ? 100 : 5_000);
  const width = opts.width ?? 28;
  let done = 0;
  let detail = '';
  let last = Number.NEGATIVE_INFINITY;
  let finished = false;
  const pct = (): number => (total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0);
  const render = (force: boolean): void => {
    const t = now();
    if (!force && t - last < interval) return;
    last = t;
    if (sink.isTTY) {
      const filled = Math.round((pct() / 100) * width);
      sink.write(
        `\r\x1b[2K${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct()}% ${done}/${total} ${detail}`,
      );
    } else {
      sink.write(`${label}: ${done}/${total} (${pct()}%)${detail ? ` ${detail}` : ''}\n`);
    }
  };
  return {
    tick(n, d) {
      if (finished) return;
      done += n;
      if (d !== undefined) detail = d;
      render(false);
    },
    addTotal(n) {
      total += n;
    },
    done(final) {
      if (finished) return;
      finished = true;
      if (sink.isTTY) sink.write(`\r\x1b[2K${label}: ${final ?? `${done}/${total} done`}\n`);
      else sink.write(`${label}: ${final ?? `${done}/${total} done`}\n`);
    },
  };
};

/** No output at all (library callers, tests that do not look at progress). */
export const silentProgress: Progress = { tick() {}, addTotal() {}, done() {} };
