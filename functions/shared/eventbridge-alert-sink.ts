import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { alertEventEntry, clusterArnOf } from '../../lib/alerts/alert-event.js';
import type { Alert, AlertSink } from '../../lib/alerts/types.js';
import {
  AlertRoutingError,
  isTransientEntryCode,
  isTransientSdkError,
  type RoutingRejection,
} from './alert-routing-errors.js';

/**
 * EventBridge adapter of the alert sink: one PutEvents entry per alert on the configured bus
 * (docs/alert-events.md). PutEvents answers 200 even when an entry failed, so the per-entry result is
 * read: a throttled or internal failure is thrown (the dispatcher releases the alert id, the delivery
 * is retried); an entry EventBridge refuses for good is reported to `onRejected` and the alert goes on
 * to the other destinations, rather than holding the whole ingestion stream behind it.
 */
export class EventBridgeAlertSink implements AlertSink {
  constructor(
    private readonly client: Pick<EventBridgeClient, 'send'>,
    private readonly opts: {
      eventBusName: string;
      /** Region of a cluster `<account>/<name>`, for the event's resource ARN. */
      regionOf?: (ref: string) => string | undefined;
      partition?: string;
      onRejected: (r: RoutingRejection) => void;
    },
  ) {}

  async publish(alert: Alert): Promise<void> {
    const clusterArn = this.opts.regionOf ? clusterArnOf(alert, this.opts.regionOf, this.opts.partition) : undefined;
    const entry = alertEventEntry(alert, {
      eventBusName: this.opts.eventBusName,
      ...(clusterArn ? { clusterArn } : {}),
    });
    let res: { FailedEntryCount?: number; Entries?: { ErrorCode?: string; ErrorMessage?: string }[] };
    try {
      res = await this.client.send(new PutEventsCommand({ Entries: [entry] }));
    } catch (err) {
      if (isTransientSdkError(err))
        throw new AlertRoutingError('eventbridge', alert.alertId, 'PutEvents failed', { cause: err });
      this.opts.onRejected({
        destination: 'eventbridge',
        alertId: alert.alertId,
        code: (err as Error).name,
        message: (err as Error).message,
      });
      return;
    }
    if (!res.FailedEntryCount) return;
    const failed = res.Entries?.[0] ?? {};
    const code = failed.ErrorCode ?? 'Unknown';
    if (isTransientEntryCode(code)) {
      throw new AlertRoutingError(
        'eventbridge',
        alert.alertId,
        `PutEvents entry failed: ${code} ${failed.ErrorMessage ?? ''}`.trim(),
      );
    }
    this.opts.onRejected({
      destination: 'eventbridge',
      alertId: alert.alertId,
      code,
      message: failed.ErrorMessage ?? '',
    });
  }
}
