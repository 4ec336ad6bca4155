/**
 * The logger lib/ writes to: structured, leveled, nothing else. The Powertools Logger satisfies it in
 * the functions; the CLI and tests pass a recorder or the silent one. Ingestion, the posture report and
 * the alert stage all log through it.
 */
export interface StructuredLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export const silentLogger: StructuredLogger = { info() {}, warn() {}, error() {} };
