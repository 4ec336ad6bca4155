import type { Alert, AlertSink } from './types.js';

/**
 * Publishes an alert to several destinations, in order, stopping at the first failure so the dispatcher
 * gives the id back and the redelivery sends it again (lib/alerts/dispatch.ts). Order them from the
 * most tolerant of a repeat to the least: a Security Hub import with the same finding id updates the
 * finding; an EventBridge event is at-least-once anyway and carries `alertId` to dedupe on; an SNS
 * e-mail cannot be taken back, so it goes last and is sent again only when it was the one that failed.
 */
export class FanOutSink implements AlertSink {
  constructor(private readonly sinks: readonly AlertSink[]) {}

  async publish(alert: Alert): Promise<void> {
    for (const sink of this.sinks) await sink.publish(alert);
  }
}
