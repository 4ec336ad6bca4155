/**
 * Writes the bundled sample scenario under samples/ (deterministic: same seed, same bytes).
 *   npx tsx tools/generate-samples.ts [outDir]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildFleet,
  type CloudTrailEmission,
  cloudTrailLogFiles,
  type Emission,
  encodeCloudTrailLogFile,
  filterLogEventsJson,
  type GroundTruth,
  type LogEmission,
  renderAwsAuthYaml,
  simulate,
} from '../sim/index.js';

export const SAMPLE_SEED = 20250602;
export const SAMPLE_FLEET = {
  seed: SAMPLE_SEED,
  clusters: 2,
  accountsPerOrg: 2,
  ssoUsers: 6,
  iamUsers: 4,
  roles: 2,
  nodesPerCluster: 3,
  serviceAccounts: 2,
  start: '2025-06-02T08:00:00Z',
};
export const SAMPLE_SCENARIO = {
  seed: SAMPLE_SEED,
  requests: 400,
  start: '2025-06-02T08:00:00Z',
  durationMs: 8 * 3600_000,
  mappingChanges: true,
};

/** Writes every sample file under outDir and returns a one-line summary. */
export const writeSamples = (outDir: string): string => {
  const fleet = buildFleet(SAMPLE_FLEET);
  const emissions: Emission[] = [...simulate(fleet, SAMPLE_SCENARIO)];

  for (const sub of ['logs', 'cloudtrail', 'aws-auth']) rmSync(join(outDir, sub), { recursive: true, force: true });
  for (const sub of ['logs', 'cloudtrail', 'aws-auth']) mkdirSync(join(outDir, sub), { recursive: true });

  for (const c of fleet.clusters) {
    const logs = emissions.filter((e): e is LogEmission => e.kind === 'log' && e.cluster === c.name);
    writeFileSync(
      join(outDir, 'logs', `${c.name}.filter-log-events.json`),
      [...filterLogEventsJson(logs, SAMPLE_SEED)].join(''),
    );
    if (c.awsAuth) writeFileSync(join(outDir, 'aws-auth', `${c.name}.yaml`), renderAwsAuthYaml(c.awsAuth));
  }

  const trail = emissions.filter((e): e is CloudTrailEmission => e.kind === 'cloudtrail');
  let files = 0;
  for (const f of cloudTrailLogFiles(trail, { seed: SAMPLE_SEED, intervalMinutes: 15 })) {
    writeFileSync(join(outDir, 'cloudtrail', f.fileName), encodeCloudTrailLogFile(f));
    files++;
  }

  const truths = emissions.filter((e) => e.kind === 'truth').map((e) => (e as { truth: GroundTruth }).truth);
  writeFileSync(join(outDir, 'ground-truth.jsonl'), truths.map((t) => JSON.stringify(t)).join('\n') + '\n');

  const clusterSummary = fleet.clusters
    .map((c) => `${c.name} (${c.createdMode}, account ${c.accountId}, ${c.region})`)
    .join('; ');
  return `wrote ${outDir}: ${truths.length} requests, ${emissions.filter((e) => e.kind === 'log').length} log events, ${trail.length} CloudTrail records in ${files} files; clusters: ${clusterSummary}\n`;
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(writeSamples(process.argv[2] ?? 'samples'));
}
