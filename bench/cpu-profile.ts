import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';

/**
 * A CPU profile of some async work in this process (V8's sampling profiler through node:inspector),
 * summarised by self time: where the bench process's thread spent the run, and how much of it it sat
 * idle waiting for the engine (dynalite runs in its own process, so its work shows here as idle).
 */

export interface ProfileFrame {
  /** `function (file:line)`. */
  frame: string;
  selfMs: number;
  share: number;
}

export interface CpuProfileSummary {
  wallMs: number;
  sampledMs: number;
  /** Share of samples with the thread idle (waiting on I/O: the engine). */
  idleShare: number;
  gcShare: number;
  top: ProfileFrame[];
  /** Self time by source area (lib/store, lib/chain, lib/query, node internals, dependencies…). */
  byArea: { area: string; share: number }[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const areaOf = (url: string, root: string): string => {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals (zlib, streams, http)';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  const rel = relative(root, path);
  if (rel.startsWith('node_modules/')) {
    const parts = rel.split('/');
    const pkg = parts[1]?.startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1];
    return pkg?.startsWith('@aws-sdk') || pkg?.startsWith('@smithy') ? 'AWS SDK' : `dependency ${pkg}`;
  }
  const [top, sub] = rel.split('/');
  return top === 'lib' && sub ? `lib/${sub}` : (top ?? rel);
};

export const profileCpu = async (root: string, work: () => Promise<void>, topN = 10): Promise<CpuProfileSummary> => {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
    const t = process.hrtime.bigint();
    // If the work throws, the profiler is switched off below (Profiler.disable stops it).
    await work();
    const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Native frames (zlib's writeSync, the HTTP parser…) are named after the nearest JS caller.
    const caller = (id: number): ProfileNode | undefined => {
      for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
        const n = byId.get(p);
        if (n?.callFrame.url) return n;
      }
      return undefined;
    };
    const fileOf = (url: string) => relative(root, url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url);
    // Line numbers of TypeScript sources are those of the code tsx compiled them to: not shown.
    const place = (url: string, line: number) => (url.endsWith('.ts') ? fileOf(url) : `${fileOf(url)}:${line + 1}`);
    const self = new Map<number, number>();
    profile.samples.forEach((id, i) => {
      self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    });
    let total = 0;
    let idle = 0;
    let gc = 0;
    const frames = new Map<string, number>();
    const areas = new Map<string, number>();
    for (const [id, us] of self) {
      const n = byId.get(id);
      if (!n) continue;
      const { functionName, url, lineNumber } = n.callFrame;
      const from = url || functionName.startsWith('(') ? undefined : caller(id);
      // The profiler's own stop call is not the work's.
      if (from?.callFrame.url === 'node:inspector') continue;
      total += us;
      if (functionName === '(idle)') {
        idle += us;
        continue;
      }
      if (functionName === '(garbage collector)') gc += us;
      const where = url
        ? ` (${place(url, lineNumber)})`
        : from
          ? ` (native, from ${from.callFrame.functionName || '(anonymous)'} ${place(from.callFrame.url, from.callFrame.lineNumber)})`
          : '';
      const key = `${functionName || '(anonymous)'}${where}`;
      frames.set(key, (frames.get(key) ?? 0) + us);
      const area =
        functionName === '(garbage collector)' ? '(garbage collector)' : areaOf(url || from?.callFrame.url || '', root);
      areas.set(area, (areas.get(area) ?? 0) + us);
    }
    const share = (us: number) => (total > 0 ? us / total : 0);
    return {
      wallMs,
      sampledMs: total / 1000,
      idleShare: share(idle),
      gcShare: share(gc),
      top: [...frames.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, topN)
        .map(([frame, us]) => ({ frame, selfMs: us / 1000, share: share(us) })),
      byArea: [...areas.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([area, us]) => ({ area, share: share(us) })),
    };
  } finally {
    await session.post('Profiler.disable').catch(() => {});
    session.disconnect();
  }
};
