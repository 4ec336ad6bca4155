import { parseAuditEvent } from '../lib/sources/audit-event.js';
import { parseAuthenticatorLine } from '../lib/sources/authenticator-line.js';
import { decodeKinesisData, streamKind } from '../lib/sources/cloudwatch-logs.js';

/**
 * The product's parsers alone on Kinesis record data: decode (strict base64, gunzip, JSON, payload
 * shape), then every audit event and authenticator line parsed as the log handler parses them, with
 * no correlation, bookkeeping or store. The bench bundles this file like a Lambda entry point so that
 * it runs the same compiled code as the handler; the gap between it and the handler is correlation.
 */
export const parseRecords = (datas: readonly string[]): { events: number; rejected: number } => {
  let events = 0;
  let rejected = 0;
  for (const data of datas) {
    const payload = decodeKinesisData(data);
    if (!payload.ok) {
      rejected++;
      continue;
    }
    const kind = streamKind(payload.value.logStream);
    for (const e of payload.value.logEvents) {
      events++;
      const r =
        kind === 'audit'
          ? parseAuditEvent(e.message)
          : kind === 'authenticator'
            ? parseAuthenticatorLine(e.message)
            : undefined;
      if (r !== undefined && !r.ok) rejected++;
    }
  }
  return { events, rejected };
};
