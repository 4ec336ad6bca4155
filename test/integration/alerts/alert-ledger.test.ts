import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishAlerts } from '../../../lib/alerts/dispatch.js';
import { evaluateMappingChanges } from '../../../lib/alerts/mapping-rules.js';
import type { Alert, AlertSink } from '../../../lib/alerts/types.js';
import { DynamoDbAlertLedger } from '../../../lib/store/dynamodb/alert-ledger.js';
import { mk, stratusBackdoorAwsAuth, stratusBaselineAwsAuth, stratusChanges } from '../../lib/alerts/helpers.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';
import { dumpTable } from '../../support/table-dump.js';

/** The alert ledger against a real DynamoDB engine: a redelivered change sends nothing twice. */
let engine: Engine;
let table: string;

beforeAll(async () => {
  engine = await startEngine();
  table = await createTestTable(engine.client, 'alerts');
});

afterAll(async () => {
  await engine?.stop();
});

const CONFIG = { trustedAccountIds: ['012345678901'], suppressions: [], recentMappingDays: 7, unusedMappingDays: 90 };

const sinkRecording = (fail = false): AlertSink & { sent: Alert[] } => {
  const sent: Alert[] = [];
  return {
    sent,
    async publish(a) {
      if (fail) throw new Error('SNS: Throttling');
      sent.push(a);
    },
  };
};

describe('DynamoDbAlertLedger', () => {
  it('claims an alert id once: a redelivered CloudTrail event sends nothing twice and leaves the table unchanged', async () => {
    const ledger = new DynamoDbAlertLedger(engine.client, { tableName: table });
    const changes = stratusChanges();
    const alerts = evaluateMappingChanges({ newChanges: changes, allChanges: changes, config: CONFIG });
    expect(alerts.length).toBeGreaterThan(0);
    const sink = sinkRecording();
    const first = await publishAlerts(alerts, { ledger, sink });
    const before = await dumpTable(engine.client, table);
    const redelivered = evaluateMappingChanges({ newChanges: changes, allChanges: changes, config: CONFIG });
    const second = await publishAlerts(redelivered, { ledger, sink });
    expect(first.sent).toHaveLength(alerts.length);
    expect(second).toEqual({ sent: [], duplicates: alerts.length });
    expect(sink.sent.map((a) => a.alertId)).toEqual(alerts.map((a) => a.alertId));
    expect(await dumpTable(engine.client, table)).toEqual(before);
  });

  it('lets only one of two concurrent claims win', async () => {
    const ledger = new DynamoDbAlertLedger(engine.client, { tableName: table });
    const [a] = evaluateMappingChanges({
      newChanges: [
        mk({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }, { id: 'concurrent-1', source: 'audit' }),
      ],
      allChanges: [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at: '2024-01-01T00:00:00.000Z' })],
      config: CONFIG,
    });
    const claims = await Promise.all([ledger.recordIfNew(a!), ledger.recordIfNew(a!), ledger.recordIfNew(a!)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('releases a failed publication so the retry sends it, restoring the same item', async () => {
    const ledger = new DynamoDbAlertLedger(engine.client, { tableName: table });
    const alerts = evaluateMappingChanges({
      newChanges: [mk({ kind: 'aws-auth-delete' }, { id: 'release-1', source: 'audit' })],
      allChanges: [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at: '2024-01-01T00:00:00.000Z' })],
      config: CONFIG,
    });
    await expect(publishAlerts(alerts, { ledger, sink: sinkRecording(true) })).rejects.toThrow(/not sent/);
    const healthy = sinkRecording();
    const retry = await publishAlerts(alerts, { ledger, sink: healthy });
    expect(retry.sent.map((a) => a.alertId)).toEqual(alerts.map((a) => a.alertId));
    const item = ledger.itemFor(alerts[0]!);
    const listed = await ledger.alertsByCluster({ accountId: '111122223333', cluster: 'prod' });
    const entry = listed.find((e) => e.alertId === alerts[0]!.alertId);
    expect(entry).toMatchObject({ state: 'claimed', ruleId: 'aws-auth-deleted', alert: alerts[0] });
    expect(item['expiresAt']).toBe(Math.floor(Date.parse(alerts[0]!.at) / 1000) + 400 * 86_400);
  });

  /** One alert of its own (the id names the source event, so each test claims a fresh alert id). */
  const alertOf = (id: string): Alert => {
    const [a] = evaluateMappingChanges({
      newChanges: [mk({ kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() }, { id, source: 'audit' })],
      allChanges: [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at: '2024-01-01T00:00:00.000Z' })],
      config: CONFIG,
    });
    return a!;
  };

  type Next = (args: unknown) => Promise<unknown>;
  /** The first PutItem of the client reaches the engine, and then `after` decides what its caller sees. */
  const onFirstPut = (after: (next: Next, args: unknown) => Promise<unknown>) => {
    const client = engine.newClient();
    let fired = false;
    client.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (fired || ctx.commandName !== 'PutItemCommand') return next(args);
        fired = true;
        return after(next as Next, args) as ReturnType<typeof next>;
      },
      { step: 'initialize', name: 'lostAnswer' },
    );
    return client;
  };

  it('keeps a claim whose answer was lost and that was sent again: the alert is sent once', async () => {
    // A timeout after DynamoDB wrote the claim, then the SDK's retry of the same put: the retry fails
    // its condition against the claim it made itself.
    const client = onFirstPut(async (next, args) => {
      await next(args);
      return next(args);
    });
    const ledger = new DynamoDbAlertLedger(client, { tableName: table });
    const alert = alertOf('lost-answer-1');
    const sink = sinkRecording();
    expect(await publishAlerts([alert], { ledger, sink })).toEqual({ sent: [alert], duplicates: 0 });
    const again = await publishAlerts([alert], { ledger, sink });
    expect(again).toEqual({ sent: [], duplicates: 1 });
    expect(sink.sent.map((a) => a.alertId)).toEqual([alert.alertId]);
  });

  it('gives back a claim that was written but answered with a timeout: the redelivery sends the alert', async () => {
    const client = onFirstPut(async (next, args) => {
      await next(args);
      throw Object.assign(new Error('socket timed out after the request was sent'), { name: 'TimeoutError' });
    });
    const ledger = new DynamoDbAlertLedger(client, { tableName: table });
    const alert = alertOf('lost-answer-2');
    const sink = sinkRecording();
    await expect(publishAlerts([alert], { ledger, sink })).rejects.toThrow(/not sent/);
    expect(await publishAlerts([alert], { ledger, sink })).toEqual({ sent: [alert], duplicates: 0 });
    expect(sink.sent.map((a) => a.alertId)).toEqual([alert.alertId]);
  });
});
