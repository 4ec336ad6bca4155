import { describe, expect, it } from 'vitest';
import { AlertDispatchError, mappingChangeAlertHook, publishAlerts } from '../../../lib/alerts/dispatch.js';
import type { Alert, AlertLedger, AlertSink } from '../../../lib/alerts/types.js';
import { CI_ACTOR, entryPut, mk, roleArn } from './helpers.js';

const alert = (id: string): Alert => ({
  alertId: id,
  ruleId: 'access-entry-created',
  severity: 'medium',
  cluster: 'prod',
  at: '2025-05-01T10:00:00.000Z',
  title: `alert ${id}`,
  actor: {},
  diff: { lines: [] },
  sourceEventIds: [id],
});

/** In-memory ledger with the DynamoDB ledger's claim / release semantics (the store has its own engine tests). */
const memoryLedger = (): AlertLedger & { ids: Map<string, 'claimed' | 'released'> } => {
  const ids = new Map<string, 'claimed' | 'released'>();
  return {
    ids,
    async recordIfNew(a) {
      if (ids.get(a.alertId) === 'claimed') return false;
      ids.set(a.alertId, 'claimed');
      return true;
    },
    async release(a) {
      if (ids.get(a.alertId) === 'claimed') ids.set(a.alertId, 'released');
    },
  };
};

const recordingSink = (failFor: Set<string> = new Set()): AlertSink & { sent: string[] } => {
  const sent: string[] = [];
  return {
    sent,
    async publish(a) {
      if (failFor.has(a.alertId)) throw new Error(`SNS throttled ${a.alertId}`);
      sent.push(a.alertId);
    },
  };
};

describe('publishAlerts', () => {
  it('sends each alert once across redeliveries', async () => {
    const ledger = memoryLedger();
    const sink = recordingSink();
    const first = await publishAlerts([alert('a'), alert('b')], { ledger, sink });
    const second = await publishAlerts([alert('a'), alert('b')], { ledger, sink });
    expect(first).toMatchObject({ duplicates: 0 });
    expect(first.sent.map((a) => a.alertId)).toEqual(['a', 'b']);
    expect(second).toEqual({ sent: [], duplicates: 2 });
    expect(sink.sent).toEqual(['a', 'b']);
  });

  it('counts an alert repeated in one batch as a duplicate', async () => {
    const result = await publishAlerts([alert('a'), alert('a')], { ledger: memoryLedger(), sink: recordingSink() });
    expect(result.duplicates).toBe(1);
    expect(result.sent).toHaveLength(1);
  });

  it('releases an alert whose publication failed so the retry sends it, and nothing else twice', async () => {
    const ledger = memoryLedger();
    const failing = recordingSink(new Set(['b']));
    const err = await publishAlerts([alert('a'), alert('b'), alert('c')], { ledger, sink: failing }).catch((e) => e);
    expect(err).toBeInstanceOf(AlertDispatchError);
    expect((err as AlertDispatchError).failed.map((a) => a.alertId)).toEqual(['b']);
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(failing.sent).toEqual(['a', 'c']);
    const healthy = recordingSink();
    const retry = await publishAlerts([alert('a'), alert('b'), alert('c')], { ledger, sink: healthy });
    expect(healthy.sent).toEqual(['b']);
    expect(retry.duplicates).toBe(2);
  });

  it('raises when the ledger cannot be reached, without publishing', async () => {
    const ledger: AlertLedger = {
      recordIfNew: async () => {
        throw new Error('DynamoDB unavailable');
      },
    };
    const sink = recordingSink();
    await expect(publishAlerts([alert('a')], { ledger, sink })).rejects.toBeInstanceOf(AlertDispatchError);
    expect(sink.sent).toEqual([]);
  });
});

describe('mappingChangeAlertHook', () => {
  it('alerts on the changes of a notice once, naming the human from a fetched issuance', async () => {
    const ledger = memoryLedger();
    const published: Alert[] = [];
    const hook = mappingChangeAlertHook({
      ledger,
      sink: { publish: async (a) => void published.push(a) },
      config: { trustedAccountIds: [], suppressions: [], recentMappingDays: 7, unusedMappingDays: 90 },
      lookupCredential: async (key) =>
        key === CI_ACTOR.accessKeyId
          ? {
              accessKeyId: key,
              issuedAt: '2025-05-01T09:00:00Z',
              api: 'AssumeRole',
              roleArn: roleArn('deployer'),
              roleMatchKey: roleArn('deployer').toLowerCase(),
              caller: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/carol' },
              sourceEventId: 'sts-9',
            }
          : undefined,
    });
    const change = mk(entryPut(roleArn('new-team')), { actor: { aws: CI_ACTOR } });
    const notice = { cluster: 'prod', newChanges: [change], redelivered: [], allChanges: [change] };
    await hook(notice);
    await hook({ ...notice, newChanges: [], redelivered: [change] });
    expect(published.map((a) => [a.ruleId, a.human])).toEqual([
      ['access-entry-created', 'arn:aws:iam::111122223333:user/carol'],
    ]);
  });
});
