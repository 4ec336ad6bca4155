import type { SNSClient } from '@aws-sdk/client-sns';
import { mappingChangeAlertHook, mappingUseAlertHook } from '../../lib/alerts/dispatch.js';
import { FanOutSink } from '../../lib/alerts/fan-out-sink.js';
import type { AlertConfig, AlertLedger, AlertSink, MappingUsagePort } from '../../lib/alerts/types.js';
import { describeError } from '../../lib/ingest/faults.js';
import type { MappingChangeHook, RequestsStoredHook } from '../../lib/ingest/types.js';
import type { TrailStore } from '../../lib/store/trail-store.js';
import { type StructuredLogger, silentLogger } from '../../lib/structured-logger.js';
import { SnsAlertSink } from './sns-alert-sink.js';

/**
 * Wiring of lib/alerts into the ingest functions. Ingestion never calls SNS itself: mapping changes
 * reach the alert rules through the pipelines' `onNewMappingChanges` hook, and first uses of new
 * mappings through the log pipeline's `onRequestsStored` stage. Every failure to record or publish is
 * raised from the hook, so the pipeline fails the delivery and the transport redelivers it; the
 * ledger makes that retry send each alert once.
 */

export interface AlertWiring {
  ledger: AlertLedger;
  sink: AlertSink;
  usage: MappingUsagePort;
  config: AlertConfig;
}

/**
 * The trail's alert ledger and mapping usage (parts of the storage port) and the sinks of a function:
 * the routes (Security Hub, EventBridge) first and SNS last, so a failed e-mail is the only thing a
 * retry sends twice (lib/alerts/fan-out-sink.ts).
 */
export const alertWiringFor = (
  store: Pick<TrailStore, 'alerts' | 'usage'>,
  sns: Pick<SNSClient, 'send'>,
  opts: { alertTopicArn: string; config: AlertConfig; routes?: readonly AlertSink[] },
): AlertWiring => {
  const topic = new SnsAlertSink(sns, opts.alertTopicArn);
  return {
    ledger: store.alerts,
    sink: opts.routes && opts.routes.length > 0 ? new FanOutSink([...opts.routes, topic]) : topic,
    usage: store.usage,
    config: opts.config,
  };
};

/**
 * The `onNewMappingChanges` hook; credentials come from the trail so alerts name the human, and the
 * fleet's mapping history tells whether a Pod Identity association's role administers another cluster.
 */
export const mappingChangeHookFor = (
  wiring: AlertWiring,
  store: Pick<TrailStore, 'credential' | 'clusters' | 'mappingChanges'>,
): MappingChangeHook =>
  mappingChangeAlertHook({
    ledger: wiring.ledger,
    sink: wiring.sink,
    config: wiring.config,
    lookupCredential: (accessKeyId) => store.credential(accessKeyId),
    fleet: store,
  });

/**
 * The ingest stage after requests are stored: records which mapping each request used and publishes
 * first-use alerts. A transient fault propagates, so the pipeline fails the delivery and it comes
 * again (the stored items are rewritten identically, the ledger sends each alert once). A permanent
 * refusal of the usage item is logged and dropped: failing the delivery would not heal it.
 */
export const requestsStoredHookFor = (
  wiring: AlertWiring,
  logger: StructuredLogger = silentLogger,
): RequestsStoredHook =>
  mappingUseAlertHook({ usage: wiring.usage, config: wiring.config, ledger: wiring.ledger, sink: wiring.sink }, (err) =>
    logger.error('mapping use not recorded (store refused it)', { error: describeError(err) }),
  );
