/**
 * The realistic scenario simulator: an independent oracle for the parsers and the correlator. It
 * imports only the shared types and writes every format itself, from docs/formats.md.
 */
export * from './delivery.js';
export * from './fleet.js';
export * from './formats.js';
export * from './random.js';
export type {
  CloudTrailEmission,
  Emission,
  GroundTruth,
  LogEmission,
  ScenarioOptions,
  TruthEmission,
  TruthMappingSource,
} from './scenario.js';
export { groundTruth, realisticDurationMs, simulate } from './scenario.js';
export * from './traffic-mix.js';
