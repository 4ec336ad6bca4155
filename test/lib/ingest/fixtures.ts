import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudWatchLogsPayload } from '../../../lib/sources/types.js';

/** Real corpus samples (test/fixtures/ingest; attribution in test/fixtures/SOURCES.md). */
const FIX = join(import.meta.dirname, '../../fixtures/ingest');
export const read = (name: string) => readFileSync(join(FIX, name), 'utf8');

export const KIEM = { cluster: 'kiem-demo', accountId: '211125685544' } as const;
export const KIEM_AUDIT_ID = 'fb5dba68-6262-4718-b45e-d293b03e434d';
export const KIEM_TS = Date.parse('2024-08-24T14:27:07.500Z');
export const kiemEvent = (): Record<string, unknown> => JSON.parse(read('kiempossible-access-policy-allow.json'));
export const kiemLine = () => JSON.stringify(kiemEvent());
export const authnLines = (file: string) =>
  read(file)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
export const cloudTrail = (name: string): Record<string, unknown> =>
  (JSON.parse(read('cloudtrail-scenario.json')) as Record<string, Record<string, unknown>>)[name]!;

let n = 0;
export const logPayload = (
  kind: 'audit' | 'authenticator' | 'other',
  messages: string[],
  over: Partial<CloudWatchLogsPayload> = {},
): CloudWatchLogsPayload => ({
  messageType: 'DATA_MESSAGE',
  owner: KIEM.accountId,
  logGroup: `/aws/eks/${KIEM.cluster}/cluster`,
  logStream:
    kind === 'audit'
      ? 'kube-apiserver-audit-900118300c7497e54b1f844e21ac4f7b'
      : kind === 'authenticator'
        ? 'authenticator-1111222272c52cc05e3177863bdcc12d'
        : 'kube-scheduler-1111222272c52cc05e3177863bdcc12d',
  subscriptionFilters: ['eks-access-trail-us-east-1'],
  logEvents: messages.map((message, i) => ({
    id: `3600000000000000000000000000000000000000000000000000${++n}`,
    timestamp: KIEM_TS + i,
    message,
  })),
  ...over,
});
