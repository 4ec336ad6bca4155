import type { DecisionChain } from '../chain/types.js';
import type { MappingChange } from '../identity/types.js';
import type { Progress } from '../local/progress.js';
import { deriveWithEvidence } from '../query/run.js';
import type { ClusterRef, QuestionPort } from '../store/trail-store.js';
import { apiActivity, entityManagement, type OcsfContext } from './ocsf.js';
import { plainRecord } from './plain.js';

/**
 * Exporting a cluster's window (docs/ocsf.md): the stored requests are read a page at a time in time
 * order (requestsByCluster), each page is derived as the questions derive it (lib/query/run.ts
 * deriveWithEvidence) and handed to the sink before the next page is read, so memory is bounded by
 * the page size whatever the window's length. Mapping changes of the window follow the requests (the
 * cluster's mapping history is read whole: it grows with identity changes, not with traffic).
 */

export const EXPORT_FORMATS = ['ocsf-jsonl', 'ocsf-parquet', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

type Rec = Record<string, unknown>;

export interface ExportSinks {
  /** One record per request: OCSF API Activity, or the plain record for `jsonl`. */
  request(record: Rec): Promise<void> | void;
  /** One OCSF Entity Management record per mapping change; absent for `jsonl`. */
  mappingChange?(record: Rec): Promise<void> | void;
}

export interface ExportRequest {
  store: QuestionPort;
  ref: ClusterRef;
  range: { from: string; to: string };
  /** `jsonl` writes plain records; both OCSF formats write OCSF records (the sink encodes them). */
  ocsf: boolean;
  ctx: OcsfContext;
  sinks: ExportSinks;
  /** Requests read per store page (default 500; at most 1,000). */
  pageSize?: number;
  progress?: Progress;
}

export interface ExportCounts {
  requests: number;
  mappingChanges: number;
  pages: number;
}

const MINUTE = 60_000;

export const changesInWindow = (changes: readonly MappingChange[], range: { from: string; to: string }) => {
  const from = Date.parse(range.from);
  const to = Date.parse(range.to);
  return changes.filter((c) => {
    const t = Date.parse(c.at);
    return t >= from && t <= to;
  });
};

export const exportWindow = async (req: ExportRequest): Promise<ExportCounts> => {
  const { store, ref, range, sinks, progress } = req;
  const from = Date.parse(range.from);
  const to = Date.parse(range.to);
  let doneMinutes = 0;
  const counts: ExportCounts = { requests: 0, mappingChanges: 0, pages: 0 };
  let cursor: string | undefined;
  do {
    const page = await store.requestsByCluster(ref, range, {
      limit: Math.min(req.pageSize ?? 500, 1_000),
      order: 'oldest-first',
      ...(cursor ? { cursor } : {}),
    });
    counts.pages++;
    const derived = await deriveWithEvidence(store, page.items);
    for (const { chain, evidence } of derived) {
      await sinks.request(
        req.ocsf
          ? apiActivity(chain, { ...req.ctx, credentialFor: (k) => evidence.credentialFor(k) })
          : (plainRecord(chain) as unknown as Rec),
      );
      counts.requests++;
    }
    const last: DecisionChain | undefined = derived[derived.length - 1]?.chain;
    if (last && progress) {
      const reached = Math.floor((Math.min(Date.parse(last.at), to) - from) / MINUTE);
      if (reached > doneMinutes) {
        progress.tick(reached - doneMinutes, `${counts.requests} requests`);
        doneMinutes = reached;
      }
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  if (sinks.mappingChange) {
    for (const c of changesInWindow(await store.mappingChanges(ref), range)) {
      await sinks.mappingChange(entityManagement(c, req.ctx));
      counts.mappingChanges++;
    }
  }
  progress?.done(`${counts.requests} requests, ${counts.mappingChanges} mapping changes`);
  return counts;
};

/** Window length in whole minutes: the progress bar's total. */
export const windowMinutes = (range: { from: string; to: string }): number =>
  Math.max(1, Math.ceil((Date.parse(range.to) - Date.parse(range.from)) / MINUTE));
