import { BatchImportFindingsCommand, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import { clusterArnOf } from '../../lib/alerts/alert-event.js';
import { asffFinding, parseProductArn } from '../../lib/alerts/asff.js';
import type { Alert, AlertSink } from '../../lib/alerts/types.js';
import {
  AlertRoutingError,
  isTransientEntryCode,
  isTransientSdkError,
  type RoutingRejection,
} from './alert-routing-errors.js';

/**
 * Security Hub adapter of the alert sink: each alert imported as an ASFF finding through the account's
 * default product (lib/alerts/asff.ts). BatchImportFindings, like PutEvents, reports failures per
 * finding in a successful answer; a throttled or internal one is thrown (retried with the delivery,
 * and a re-import of the same finding id updates it), anything else goes to `onRejected`.
 */
export class SecurityHubAlertSink implements AlertSink {
  private readonly partition: string;

  constructor(
    private readonly client: Pick<SecurityHubClient, 'send'>,
    private readonly opts: {
      productArn: string;
      regionOf?: (ref: string) => string | undefined;
      now: () => number;
      onRejected: (r: RoutingRejection) => void;
    },
  ) {
    this.partition = parseProductArn(opts.productArn)?.partition ?? 'aws';
  }

  async publish(alert: Alert): Promise<void> {
    const clusterArn = this.opts.regionOf ? clusterArnOf(alert, this.opts.regionOf, this.partition) : undefined;
    const finding = asffFinding(alert, {
      productArn: this.opts.productArn,
      now: new Date(this.opts.now()).toISOString(),
      ...(clusterArn ? { clusterArn } : {}),
    });
    let res: { FailedCount?: number; FailedFindings?: { Id?: string; ErrorCode?: string; ErrorMessage?: string }[] };
    try {
      res = await this.client.send(new BatchImportFindingsCommand({ Findings: [finding] }));
    } catch (err) {
      if (isTransientSdkError(err)) {
        throw new AlertRoutingError('securityhub', alert.alertId, 'BatchImportFindings failed', { cause: err });
      }
      this.opts.onRejected({
        destination: 'securityhub',
        alertId: alert.alertId,
        code: (err as Error).name,
        message: (err as Error).message,
      });
      return;
    }
    if (!res.FailedCount) return;
    const failed = res.FailedFindings?.[0] ?? {};
    const code = failed.ErrorCode ?? 'Unknown';
    if (isTransientEntryCode(code)) {
      throw new AlertRoutingError(
        'securityhub',
        alert.alertId,
        `finding not imported: ${code} ${failed.ErrorMessage ?? ''}`.trim(),
      );
    }
    this.opts.onRejected({
      destination: 'securityhub',
      alertId: alert.alertId,
      code,
      message: failed.ErrorMessage ?? '',
    });
  }
}
