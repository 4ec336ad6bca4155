import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';

/**
 * Fault injection on a REAL client talking to a real engine: a middleware in the `initialize` step
 * (before the SDK's own retry middleware, so the store's retry logic is what gets exercised) that
 * either throws a given error or lets only part of a BatchWriteItem through and reports the rest as
 * UnprocessedItems, as DynamoDB does under throttling.
 */
export type Fault =
  | { kind: 'throw'; error: () => Error }
  | { kind: 'unprocessed' /** items forwarded to the engine; the rest come back unprocessed */; keep: number };

type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

interface Stack {
  add(mw: (next: Handler, ctx: { commandName?: string }) => Handler, o: { step: 'initialize'; name: string }): void;
  remove(name: string): boolean;
}

let seq = 0;

export const throttle = (): Error =>
  new ProvisionedThroughputExceededException({
    message: 'The level of configured provisioned throughput for the table was exceeded.',
    $metadata: { httpStatusCode: 400 },
  });

/** Queue faults per command name (`BatchWriteItemCommand`, `PutItemCommand`, …); each fault fires once. */
export const injectFaults = (client: unknown, plan: Record<string, Fault[]>) => {
  const stack = (client as { middlewareStack: Stack }).middlewareStack;
  const name = `testFaults${++seq}`;
  const queues = new Map(Object.entries(plan).map(([k, v]) => [k, [...v]]));
  const fired: string[] = [];
  stack.add(
    (next, ctx) => async (args) => {
      const fault = queues.get(ctx.commandName ?? '')?.shift();
      if (!fault) return next(args);
      fired.push(`${ctx.commandName}:${fault.kind}`);
      if (fault.kind === 'throw') throw fault.error();
      const requestItems = args.input['RequestItems'] as Record<string, unknown[]>;
      const [table, writes] = Object.entries(requestItems)[0]!;
      const forwarded = writes.slice(0, fault.keep);
      const held = writes.slice(fault.keep);
      const res =
        forwarded.length > 0
          ? await next({ ...args, input: { ...args.input, RequestItems: { [table]: forwarded } } })
          : { output: { $metadata: {} } };
      return {
        ...res,
        output: { ...res.output, UnprocessedItems: held.length > 0 ? { [table]: held } : {} },
      };
    },
    { step: 'initialize', name },
  );
  return { fired, detach: () => stack.remove(name) };
};
