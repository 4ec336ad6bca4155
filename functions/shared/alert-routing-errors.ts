/** A destination of the alert routing that could not take an alert and should get it again. */
export class AlertRoutingError extends Error {
  constructor(
    readonly destination: 'eventbridge' | 'securityhub',
    readonly alertId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${destination}: ${message} (alert ${alertId})`, options);
    this.name = 'AlertRoutingError';
  }
}

/** An alert a destination refused for good (bad input, no permission, the service not enabled). */
export interface RoutingRejection {
  destination: 'eventbridge' | 'securityhub';
  alertId: string;
  code: string;
  message: string;
}

// Error names of the SDK and per-entry codes of PutEvents / BatchImportFindings that may heal on retry.
const TRANSIENT = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalException',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** A per-entry failure code of PutEvents or BatchImportFindings that may heal on retry. */
export const isTransientEntryCode = (code: string): boolean => TRANSIENT.has(code);

/**
 * A thrown SDK error that may heal: throttling, 5xx, and a request that never got an answer (socket
 * reset, DNS, timeout: no HTTP status). Anything the service answered with a 4xx (AccessDenied,
 * validation, Security Hub not enabled) would fail every retry as well, and retrying would hold the
 * Kinesis shard behind one alert.
 */
export const isTransientSdkError = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e?.name && TRANSIENT.has(e.name)) return true;
  if (e?.$retryable) return true;
  const status = e?.$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429;
};
