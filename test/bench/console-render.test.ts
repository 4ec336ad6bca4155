import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../bench/config.js';
import {
  type ConsoleRenderResult,
  measureConsole,
  measureConsoleBundle,
  TARGET_FIRST_RENDER_MS,
} from '../../bench/console-render.js';
import { machineInfo } from '../../bench/machine.js';
import { type BenchResults, benchJson, renderMarkdown, summaryRows } from '../../bench/report.js';

/**
 * The console section of the bench: the bundle measurement, the skip without Chromium, and how the
 * figures reach BENCHMARKS.md, BENCHMARKS.json and the summary. The render figures here are made up:
 * timings belong to the bench, never to a test.
 */

const bundle = {
  assets: [{ path: '/app.js', bytes: 100_000, gzipBytes: 30_000 }],
  bundleBytes: 100_000,
  bundleGzipBytes: 30_000,
};

const view = (name: string, ms: number[]) => ({
  key: name,
  view: name,
  path: `/${name}`,
  ms,
  medianMs: [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)] as number,
  maxMs: Math.max(...ms),
  apiMs: ms.map(() => 5),
  dataRequestedMs: ms.map(() => 90),
});

const results = (console?: ConsoleRenderResult): BenchResults => ({
  config: parseBenchArgs(['--quick', '--only=console']),
  machine: machineInfo(process.cwd(), new Date('2026-12-04T10:00:00Z')),
  wallMs: 1,
  ...(console ? { console } : {}),
  failures: [],
});

describe('measureConsoleBundle', () => {
  it('sizes every file of the built console, and totals the page, JS and CSS', { timeout: 60_000 }, async () => {
    const b = await measureConsoleBundle();
    expect(b.assets.length).toBeGreaterThan(1);
    expect(b.bundleBytes).toBeGreaterThan(b.bundleGzipBytes);
    const page = b.assets.filter((a) => !a.path.endsWith('.txt'));
    expect(b.bundleBytes).toBe(page.reduce((n, a) => n + a.bytes, 0));
  });
});

describe('measureConsole', () => {
  it('records the render as skipped, and still sizes the bundle, when Chromium is absent', {
    timeout: 60_000,
  }, async () => {
    const x = await measureConsole({ coldLoads: 1, chromiumPath: '/nonexistent/chromium' });
    expect(x.skipped).toContain('/nonexistent/chromium is absent');
    expect(x.views).toEqual([]);
    expect(x.bundleBytes).toBeGreaterThan(0);
    const row = summaryRows(results(x)).find((r) => r.metric.startsWith('console first render'));
    expect(row).toMatchObject({ status: '-', value: expect.stringMatching(/^skipped/) });
    expect(renderMarkdown(results(x))).toContain('First render: **skipped**');
    expect(benchJson(results(x))['consoleFirstRenderMs']).toBeNull();
  });
});

describe('the console section of the bench report', () => {
  const measured: ConsoleRenderResult = {
    ...bundle,
    firstColdMs: 640,
    firstColdView: 'search: who did',
    views: [view('search', [200, 250, 300]), view('alerts', [900, 1_200, 1_100])],
    coldLoads: 3,
  };

  it('puts the bundle size and each view first render in BENCHMARKS.json', () => {
    const json = JSON.parse(JSON.stringify(benchJson(results(measured)))) as Record<string, unknown>;
    expect(json['consoleBundleBytes']).toBe(100_000);
    expect(json['consoleBundleGzipBytes']).toBe(30_000);
    expect(json['consoleFirstRenderMs']).toEqual({
      search: { median: 250, max: 300 },
      alerts: { median: 1_100, max: 1_200 },
    });
    expect(json['consoleFirstColdRenderMs']).toBe(640);
    expect((json['targets'] as Record<string, unknown>)['consoleFirstRenderMs']).toEqual({
      max: TARGET_FIRST_RENDER_MS,
    });
  });

  it('summarizes the slowest view against the 1 s target, MISS when its median is over', () => {
    const rows = summaryRows(results(measured));
    expect(rows.map((r) => r.metric)).toEqual([
      'console bundle (page, JS, CSS)',
      'console first render (slowest view: alerts)',
    ]);
    expect(rows[1]).toMatchObject({ target: '< 1,000 ms', status: 'MISS' });
    const fast = { ...measured, views: [view('search', [200, 250, 1_300])] };
    expect(summaryRows(results(fast))[1]).toMatchObject({ status: 'ok' });
  });

  it('renders the section with the file sizes, the first cold render and a row per view', () => {
    const md = renderMarkdown(results(measured));
    expect(md).toContain('## Console: bundle size and first render');
    expect(md).toContain('| /app.js | 100,000 | 30,000 |');
    expect(md).toContain('**640 ms**');
    expect(md).toContain('| alerts | 1,100 | 1,200 | 900, 1,200, 1,100 | 90 | 5 | MISS |');
  });

  it('leaves the console figures null when the section did not run', () => {
    const json = benchJson(results());
    expect(json['consoleBundleBytes']).toBeNull();
    expect(json['consoleFirstRenderMs']).toBeNull();
    expect(renderMarkdown(results())).not.toContain('## Console');
  });
});
