import type { Issue } from '../result.js';

/**
 * Errors of the query layer. The CLI maps them to exit codes (usage 2, not found 3) and the query API
 * to HTTP statuses (400, 404); anything else is a runtime fault (exit 1, HTTP 500).
 */
export class QueryParamError extends Error {
  constructor(
    message: string,
    /** The parameter (CLI option without dashes) that was wrong. */
    readonly param: string,
    /** Valid choices, when the parameter is an enumeration. */
    readonly choices?: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueryParamError';
  }

  static fromIssues(issues: readonly Issue[]): QueryParamError {
    const first = issues[0];
    return new QueryParamError(first?.message ?? 'invalid parameter', first?.path ?? 'params', undefined, {
      cause: issues,
    });
  }
}

export class QueryNotFoundError extends Error {
  constructor(
    message: string,
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueryNotFoundError';
  }
}
