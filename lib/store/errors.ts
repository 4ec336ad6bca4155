import { TrailStoreError } from './trail-store.js';

/** DynamoDB throttling: the table or an index is over its rate (retry after backoff). */
const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
]);

/** Faults of the service or the path to it: retry may succeed. */
const UNAVAILABLE = new Set([
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkingError',
  'AbortError',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
  $retryable?: unknown;
}

/** Map any error thrown by the DynamoDB client to a TrailStoreError (already-mapped errors pass through). */
export const toTrailStoreError = (err: unknown, operation: string): TrailStoreError => {
  if (err instanceof TrailStoreError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkLikeError;
  // Anything can be thrown (middleware, a bug, a fault injector): read fields defensively, so the
  // mapping itself never throws while a batch is being failed or quarantined.
  const name = typeof e.name === 'string' ? e.name : '';
  const text = typeof e.message === 'string' ? e.message : describeThrown(err);
  const message = `${operation}: ${name ? `${name}: ` : ''}${text}`;
  const rawStatus = e.$metadata?.httpStatusCode;
  const status = typeof rawStatus === 'number' ? rawStatus : undefined;
  if (THROTTLED.has(name)) return new TrailStoreError(message, 'THROTTLED', true, { cause: err });
  if (name === 'ConditionalCheckFailedException')
    return new TrailStoreError(message, 'CONDITION', false, { cause: err });
  if (name === 'ValidationException') {
    // Both engines and the service word the 400 KB limit as "Item size has exceeded the maximum allowed size"
    // (or "...to update has exceeded..."); anything else is a request we built wrong.
    if (/item size|size has exceeded|exceeds? the maximum/i.test(text)) {
      return new TrailStoreError(message, 'ITEM_TOO_LARGE', false, { cause: err });
    }
    return new TrailStoreError(message, 'VALIDATION', false, { cause: err });
  }
  if (name === 'ResourceNotFoundException') return new TrailStoreError(message, 'NOT_FOUND', false, { cause: err });
  if (UNAVAILABLE.has(name) || NETWORK_CODES.has(typeof e.code === 'string' ? e.code : '') || NETWORK_CODES.has(name)) {
    return new TrailStoreError(message, 'UNAVAILABLE', true, { cause: err });
  }
  if ((status !== undefined && status >= 500) || e.$fault === 'server') {
    return new TrailStoreError(message, 'UNAVAILABLE', true, { cause: err });
  }
  if (status === 429) return new TrailStoreError(message, 'THROTTLED', true, { cause: err });
  return new TrailStoreError(message, 'UNKNOWN', false, { cause: err });
};

const describeThrown = (err: unknown): string => {
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
};
