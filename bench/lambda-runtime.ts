import { FUNCTION_MEMORY_MB, FUNCTION_NODE_OPTIONS, type TrailFunctionEntry } from '../cdk/function-settings.js';

/**
 * The node flags a function runs with in Lambda. The managed Node.js runtime's bootstrap
 * (/var/runtime/bootstrap, as dumped from the nodejs14.x and nodejs18.x images) starts node with a
 * young generation of a tenth of the function's memory (`--max-semi-space-size` of half that) and the
 * rest as old space; the function's NODE_OPTIONS come on top. Measured on this machine's defaults
 * instead (16 MB semi-spaces), a batch's parsed events are copied by many more scavenges than in Lambda,
 * so CPU and memory figures would describe a process Lambda never runs.
 */
export const lambdaRuntimeNodeArgs = (memoryMb: number): string[] => {
  const newSpaceMb = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpaceMb / 2)}`, `--max-old-space-size=${memoryMb - newSpaceMb}`];
};

/** Everything node is started with for `entry` in Lambda: the runtime's heap flags, then NODE_OPTIONS. */
export const functionNodeArgs = (entry: TrailFunctionEntry): string[] => [
  ...lambdaRuntimeNodeArgs(FUNCTION_MEMORY_MB[entry]),
  ...FUNCTION_NODE_OPTIONS.split(/\s+/).filter(Boolean),
];
