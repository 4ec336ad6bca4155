import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSamples } from '../../tools/generate-samples.js';

const samplesDir = new URL('../../samples/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'eks-trail-samples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length).replace(/^\//, ''))
    .sort();

describe('bundled samples', () => {
  it('are exactly what tools/generate-samples.ts writes (deterministic seed)', () => {
    writeSamples(tmp);
    const generated = files(tmp);
    const bundled = files(samplesDir).filter((f) => f !== 'README.md');
    expect(bundled).toEqual(generated);
    for (const f of generated)
      expect(readFileSync(join(samplesDir, f)).equals(readFileSync(join(tmp, f))), f).toBe(true);
  });

  it('stay small and come with a README saying they are synthetic', () => {
    const total = files(samplesDir).reduce((n, f) => n + statSync(join(samplesDir, f)).size, 0);
    expect(total).toBeLessThan(2_200_000);
    expect(readFileSync(join(samplesDir, 'README.md'), 'utf8')).toMatch(/synthetic/i);
  });

  it('cover every interesting case at least once in the ground truth', () => {
    const cases = new Set(
      readFileSync(join(samplesDir, 'ground-truth.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .flatMap((l) => (JSON.parse(l) as { cases?: string[] }).cases ?? []),
    );
    for (const c of [
      'sso-access-entry-cluster-admin',
      'aws-auth-session-template',
      'config-map-creator',
      'node-ec2-linux-entry',
      'precedence-entry-over-aws-auth',
      'recreated-role-stale-entry',
      'rbac-rolebinding',
      'forbid-empty-reason',
      'unmapped-path-row',
      'impersonation',
      'access-entry-short-lived',
      'access-entry-deleted',
      'aws-auth-add-masters',
      'pod-identity-cross-cluster',
      'irsa-cross-cluster',
      'oidc-provider-user',
      'node-ec2-windows-entry',
      'node-fargate-entry',
      'node-hybrid-entry',
      'node-auto-mode-entry',
      'certificate-user',
      'pod-owner-rollout',
    ]) {
      expect(cases).toContain(c);
    }
  });
});
