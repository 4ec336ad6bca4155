import type { Alert, Finding } from '../../lib/alerts/types.js';
import type { ChainPivots } from '../../lib/console/pivots.js';
import type { ExplainRow } from '../../lib/query/chain-rows.js';
import type { QueryAnswer } from '../../lib/query/run.js';
import type { StoredRequest } from '../../lib/store/trail-store.js';

/** The console's own API (lib/console/api.ts); the header proves the call comes from this page. */

export interface Info {
  mode: 'local' | 'table' | 'api';
  source: string;
  defaultWindow?: { from: string; to: string };
  can: { clusters: boolean; storedRequest: boolean; posture: boolean; alerts: boolean };
}

/** An explain row with its value in a line of text (the console's request endpoint adds it). */
export type ShownExplainRow = ExplainRow & { text: string };

export interface RequestAnswer {
  answer: QueryAnswer & { rows: ShownExplainRow[] };
  pivots: ChainPivots;
  stored: StoredRequest | null;
  storedNote?: string;
}

export interface PostureAnswer {
  at: string;
  findings: Finding[];
}

export interface AlertsAnswer {
  alerts: Alert[];
  source: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const getJson = async <T>(path: string, params: Record<string, string | undefined> = {}): Promise<T> => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const qs = q.toString();
  const res = await fetch(`${path}${qs ? `?${qs}` : ''}`, {
    headers: { 'x-eks-trail-console': '1', accept: 'application/json' },
    credentials: 'same-origin',
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!res.ok) {
    throw new ApiError(body.error?.message ?? `HTTP ${res.status}`, res.status, body.error?.code ?? 'HTTP');
  }
  return body as T;
};

export type { QueryAnswer };
