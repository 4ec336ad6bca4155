import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../lib/alerts/types.js';
import { countCommands, FULL_TABLE_READS } from '../../../lib/store/command-counter.js';
import { DynamoDbAlertLedger } from '../../../lib/store/dynamodb/alert-ledger.js';
import type { AlertLedgerEntry, ClusterRef } from '../../../lib/store/trail-store.js';
import { sampleAlerts } from '../../lib/alerts/sample-alerts.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';

/**
 * Listing the alert ledger against a real engine: one cluster's alerts through gsi1, every cluster's
 * through the month partitions of gsi2, both by time, paged without loss or repetition, and read with
 * Query and BatchGetItem only.
 */

let engine: Engine;
let ledger: DynamoDbAlertLedger;
let client: ReturnType<Engine['newClient']>;

const PROD: ClusterRef = { accountId: '111122223333', cluster: 'prod' };
const OTHER: ClusterRef = { accountId: '444455556666', cluster: 'prod' };

/** Real alerts (sample-alerts.ts) moved onto chosen clusters and times, across three months. */
const alerts: Alert[] = (() => {
  const base = sampleAlerts();
  const times = [
    '2025-04-30T23:59:59.999999Z',
    '2025-05-01T00:00:00.000Z',
    '2025-05-15T12:00:00.123456Z',
    '2025-05-31T23:00:00Z',
    '2025-06-01T08:00:00.000Z',
    '2025-06-02T09:30:00.000Z',
    '2025-06-02T09:30:00.000Z',
  ];
  return times.map((at, i) => {
    const ref = i % 3 === 2 ? OTHER : PROD;
    const src = base[i % base.length]!;
    return { ...src, alertId: `${src.alertId}#listing-${i}`, at, cluster: ref.cluster, accountId: ref.accountId };
  });
})();

const idsOf = (entries: AlertLedgerEntry[]) => entries.map((e) => e.alertId);
const byTime = (xs: Alert[], newest = true) =>
  [...xs]
    .sort((a, b) => {
      const d = Date.parse(a.at) - Date.parse(b.at) || (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);
      return d !== 0 ? d : a.alertId < b.alertId ? -1 : 1;
    })
    [newest ? 'reverse' : 'slice']()
    .map((a) => a.alertId);

const all = async (
  ref: ClusterRef | undefined,
  range: { from: string; to: string },
  limit: number,
  order?: 'oldest-first',
) => {
  const out: AlertLedgerEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await ledger.listAlerts(ref, range, {
      limit,
      ...(cursor ? { cursor } : {}),
      ...(order ? { order } : {}),
    });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return out;
};

beforeAll(async () => {
  engine = await startEngine();
  const table = await createTestTable(engine.client, 'alert-listing');
  client = engine.newClient();
  ledger = new DynamoDbAlertLedger(client, { tableName: table });
  for (const a of alerts) expect(await ledger.recordIfNew(a)).toBe(true);
});

afterAll(async () => {
  await engine?.stop();
});

const WIDE = { from: '2025-01-01T00:00:00Z', to: '2025-12-31T23:59:59Z' };

describe('DynamoDbAlertLedger.listAlerts', () => {
  it.each([1, 2, 50])('lists one cluster newest first, %i at a time, without loss or repetition', async (limit) => {
    const listed = await all(PROD, WIDE, limit);
    expect(idsOf(listed)).toEqual(byTime(alerts.filter((a) => a.accountId === PROD.accountId)));
  });

  it('keeps clusters of the same name in two accounts apart', async () => {
    const listed = await all(OTHER, WIDE, 50);
    expect(listed.every((e) => e.accountId === OTHER.accountId)).toBe(true);
    expect(listed).toHaveLength(alerts.filter((a) => a.accountId === OTHER.accountId).length);
  });

  it.each([1, 3, 50])('lists every cluster across month partitions, %i at a time, oldest first too', async (limit) => {
    expect(idsOf(await all(undefined, WIDE, limit))).toEqual(byTime(alerts));
    expect(idsOf(await all(undefined, WIDE, limit, 'oldest-first'))).toEqual(byTime(alerts, false));
  });

  it('takes both ends of the window inclusive, at any precision', async () => {
    const may = await all(undefined, { from: '2025-05-01T00:00:00Z', to: '2025-05-31T23:00:00Z' }, 50);
    expect(idsOf(may)).toEqual(
      byTime(alerts.filter((a) => a.at >= '2025-05-01' && Date.parse(a.at) <= Date.parse('2025-05-31T23:00:00Z'))),
    );
    expect(may).toHaveLength(3);
  });

  it('returns the alert as recorded, state and all', async () => {
    const [first] = await all(PROD, { from: alerts[0]!.at, to: alerts[0]!.at }, 50);
    expect(first).toMatchObject({ alertId: alerts[0]!.alertId, state: 'claimed', alert: alerts[0] });
    await ledger.release(alerts[0]!);
    const [released] = await all(PROD, { from: alerts[0]!.at, to: alerts[0]!.at }, 50);
    expect(released?.state).toBe('released');
  });

  it('reads with Query and BatchGetItem only, one Query for an empty window', async () => {
    const counter = countCommands(client);
    await all(undefined, WIDE, 2);
    for (const c of FULL_TABLE_READS) expect(counter.count(c)).toBe(0);
    expect(Object.keys(counter.counts()).sort()).toEqual(['BatchGetItemCommand', 'QueryCommand']);
    counter.reset();
    expect(
      (await ledger.listAlerts(PROD, { from: '2030-01-01T00:00:00Z', to: '2030-01-31T00:00:00Z' }, {})).items,
    ).toEqual([]);
    expect(counter.count('QueryCommand')).toBe(1);
    counter.detach();
  });

  it('refuses a window that is not two times', async () => {
    await expect(ledger.listAlerts(PROD, { from: 'last week', to: 'now' }, {})).rejects.toThrow(/not two ISO times/);
  });
});
