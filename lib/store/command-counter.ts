/**
 * Counts the commands a DynamoDB client sends, by command name (e.g. `QueryCommand`), so tests and
 * the bench can prove that every read is a Query / GetItem / BatchGetItem and that no Scan ran.
 * Works on a DynamoDBClient or a DynamoDBDocumentClient (which shares its base client's stack).
 */

type Handler = (args: unknown) => Promise<unknown>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

export interface InstrumentableClient {
  middlewareStack: {
    add(middleware: Middleware, options: { step: 'initialize'; name: string; override?: boolean }): void;
    remove(nameOrMiddleware: string): boolean;
  };
}

export interface CommandCounter {
  /** Commands sent since creation or the last reset, by name. */
  counts(): Record<string, number>;
  count(commandName: string): number;
  reset(): void;
  /** Remove the middleware from the client. */
  detach(): void;
}

let seq = 0;

export const countCommands = (client: unknown): CommandCounter => {
  const stack = (client as InstrumentableClient).middlewareStack;
  const name = `eksTrailCommandCounter${++seq}`;
  let counts: Record<string, number> = {};
  stack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'UnknownCommand';
      counts[command] = (counts[command] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name, override: true },
  );
  return {
    counts: () => ({ ...counts }),
    count: (commandName) => counts[commandName] ?? 0,
    reset: () => {
      counts = {};
    },
    detach: () => {
      stack.remove(name);
    },
  };
};

/** Command names that read without a key condition: none of the product's reads may use them. */
export const FULL_TABLE_READS = ['ScanCommand', 'ExecuteStatementCommand', 'BatchExecuteStatementCommand'] as const;
