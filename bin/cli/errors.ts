/** CLI exit codes: scripts rely on them, never renumber. */
export const EXIT = {
  ok: 0,
  runtime: 1,
  usage: 2,
  notFound: 3,
  /** replay: the rest landed, but a file, part of a file or a record was refused (listed in the summary). */
  refused: 4,
  /** verify: a digest, a chain link or the items they cover do not match (the trail was changed). */
  integrity: 5,
} as const;

/** Bad command line: exit 2 with a message naming the argument and the valid choices. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The thing asked about does not exist (unknown auditID, cluster): exit 3. */
export class NotFoundError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}
