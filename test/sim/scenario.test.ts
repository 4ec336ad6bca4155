import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFleet, type FleetOptions } from '../../sim/fleet.js';
import { type Emission, type GroundTruth, type ScenarioOptions, simulate } from '../../sim/scenario.js';
import { auditProblems, cloudTrailProblems, logrusFields, logrusProblems } from './conformance.js';

const FLEET: FleetOptions = {
  seed: 11,
  clusters: 3,
  accountsPerOrg: 2,
  ssoUsers: 5,
  iamUsers: 4,
  roles: 2,
  nodesPerCluster: 2,
  serviceAccounts: 2,
};
const SCENARIO: ScenarioOptions = {
  seed: 11,
  requests: 400,
  start: '2025-06-02T08:00:00Z',
  durationMs: 6 * 3600_000,
  mappingChanges: true,
};

const run = (fleetSeed = 11, scenarioSeed = 11): Emission[] => [
  ...simulate(buildFleet({ ...FLEET, seed: fleetSeed }), { ...SCENARIO, seed: scenarioSeed }),
];
const digest = (es: Emission[]) => createHash('sha256').update(JSON.stringify(es)).digest('hex');

const emissions = run();
const logs = emissions.filter((e) => e.kind === 'log');
const authn = logs.filter((e) => e.streamKind === 'authenticator');
const audit = logs.filter((e) => e.streamKind === 'audit');
const trail = emissions.filter((e) => e.kind === 'cloudtrail');
const truths: GroundTruth[] = emissions.flatMap((e) => (e.kind === 'truth' ? [e.truth] : []));
const auditById = new Map<string, Record<string, unknown>[]>();
for (const e of audit) {
  const ev = JSON.parse(e.message) as Record<string, unknown>;
  const list = auditById.get(ev['auditID'] as string) ?? [];
  list.push(ev);
  auditById.set(ev['auditID'] as string, list);
}

describe('reproducibility', () => {
  it('yields identical emissions for the same seeds', () => {
    expect(digest(run())).toBe(digest(emissions));
  });

  it('yields different emissions for a different scenario seed or fleet seed', () => {
    expect(digest(run(11, 12))).not.toBe(digest(emissions));
    expect(digest(run(12, 11))).not.toBe(digest(emissions));
  });

  it('never throws and stays time-ordered for arbitrary small option sets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 60_000, max: 3 * 3600_000 }),
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, clusters, requests, durationMs, mappingChanges, fraction) => {
          const fleet = buildFleet({
            ...FLEET,
            seed,
            clusters,
            nodesPerCluster: 1,
            ssoUsers: 1,
            iamUsers: 1,
            roles: 1,
          });
          let last = Number.NEGATIVE_INFINITY;
          for (const e of simulate(fleet, {
            seed,
            requests,
            start: '2024-03-01T00:00:00Z',
            durationMs,
            mappingChanges,
            unauthorizedFraction: fraction,
            forbiddenFraction: fraction,
          })) {
            if (e.kind !== 'truth' && e.timeUs < last) return false;
            if (e.kind !== 'truth') last = e.timeUs;
          }
          return true;
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('format conformance', () => {
  it('writes every authenticator line in the logrus grammar with sorted keys', () => {
    expect(authn.length).toBeGreaterThan(100);
    const bad = authn.map((e) => [e.message, logrusProblems(e.message)] as const).filter(([, p]) => p.length);
    expect(bad).toEqual([]);
  });

  it('puts the raw STS ARN on STS response lines and the canonical ARN on access granted lines', () => {
    for (const e of authn) {
      const f = logrusFields(e.message);
      if (f['msg'] === 'STS response' && f['userid']?.startsWith('AROA'))
        expect(f['arn']).toMatch(/^arn:aws:sts::\d{12}:assumed-role\//);
      if (f['msg'] === 'access granted') {
        expect(f['arn']).toMatch(/^arn:aws:iam::\d{12}:(role|user)\//);
        expect(f['uid']).toMatch(/^aws-iam-authenticator:\d{12}:A(RO|ID)A[A-Z2-7]{17}$/);
        expect(f['groups']).toMatch(/^\[.*\]$/);
      }
      if (f['msg'] === 'access denied') expect(e.message).toContain('level=warning');
    }
  });

  it('writes every audit line as one valid audit.k8s.io/v1 event', () => {
    expect(audit.length).toBeGreaterThan(300);
    const bad = audit
      .map((e) => [e.message.slice(0, 200), auditProblems(e.message)] as const)
      .filter(([, p]) => p.length);
    expect(bad).toEqual([]);
  });

  it('uses the same top-level field order as a real EKS audit event', () => {
    const real = Object.keys(
      JSON.parse(
        readFileSync(new URL('../fixtures/sim/kiempossible-access-policy-allow.json', import.meta.url), 'utf8'),
      ),
    );
    const allowList = audit
      .map((e) => JSON.parse(e.message) as Record<string, unknown>)
      .find((ev) => ev['verb'] === 'list' && (ev['responseStatus'] as { code: number }).code === 200);
    const ours = Object.keys(allowList as object);
    expect(ours.filter((k) => real.includes(k))).toEqual(real.filter((k) => ours.includes(k)));
    expect(real.every((k) => ours.includes(k))).toBe(true);
  });

  it('writes CloudTrail records with the envelope fields and second-precision times', () => {
    const bad = trail
      .map((e) => [e.record.eventName, cloudTrailProblems(e.record)] as const)
      .filter(([, p]) => p.length);
    expect(bad).toEqual([]);
    const names = new Set(trail.map((e) => e.record.eventName));
    for (const n of [
      'CreateCluster',
      'CreateAccessEntry',
      'AssociateAccessPolicy',
      'UpdateAccessEntry',
      'DeleteAccessEntry',
      'DisassociateAccessPolicy',
      'UpdateClusterConfig',
      'AssumeRole',
      'AssumeRoleWithSAML',
      'AssumeRoleWithWebIdentity',
      'AssumeRoleForPodIdentity',
      'CreatePodIdentityAssociation',
      'AssociateIdentityProviderConfig',
    ]) {
      expect(names).toContain(n);
    }
  });

  it('percent-encodes principalArn URI labels except in CreateAccessEntry bodies', () => {
    for (const e of trail) {
      const p = e.record['requestParameters'] as Record<string, string> | null;
      if (e.record.eventSource !== 'eks.amazonaws.com' || !p?.['principalArn']) continue;
      if (e.record.eventName === 'CreateAccessEntry') expect(p['principalArn']).toMatch(/^arn:aws:iam::/);
      else expect(p['principalArn']).toMatch(/^arn%3Aaws%3Aiam%3A%3A/);
    }
  });

  it('keeps emissions in time order and CloudWatch ids increasing per stream', () => {
    let last = Number.NEGATIVE_INFINITY;
    const lastId = new Map<string, bigint>();
    for (const e of emissions) {
      if (e.kind === 'truth') continue;
      expect(e.timeUs).toBeGreaterThanOrEqual(last);
      last = e.timeUs;
      if (e.kind === 'log') {
        expect(e.eventId).toMatch(/^\d{56}$/);
        const id = BigInt(e.eventId);
        expect(id > (lastId.get(e.logStream) ?? -1n)).toBe(true);
        lastId.set(e.logStream, id);
        expect(e.logStream).toMatch(
          e.streamKind === 'audit' ? /^kube-apiserver-audit-[0-9a-f]{32}$/ : /^authenticator-[0-9a-f]{32}$/,
        );
      }
    }
  });
});

describe('ground truth', () => {
  const stsByKey = new Map(
    trail
      .filter((e) => e.record.eventSource === 'sts.amazonaws.com')
      .map((e) => {
        const creds = (e.record['responseElements'] as { credentials: { accessKeyId: string } }).credentials;
        return [creds.accessKeyId, e.record] as const;
      }),
  );

  it('describes every request that reached the audit log, and nothing else', () => {
    expect(truths.length).toBeGreaterThanOrEqual(SCENARIO.requests);
    for (const t of truths) expect(auditById.has(t.auditID)).toBe(true);
    expect(new Set(truths.map((t) => t.auditID)).size).toBe(auditById.size);
  });

  it('matches the audit event of the same request', () => {
    for (const t of truths) {
      const ev = (auditById.get(t.auditID) as Record<string, unknown>[]).at(-1) as Record<string, unknown>;
      const user = ev['user'] as { username?: string; groups?: string[]; extra?: Record<string, string[]> };
      const annotations = (ev['annotations'] ?? {}) as Record<string, string>;
      expect((ev['responseStatus'] as { code: number }).code).toBe(t.statusCode);
      if (t.outcome === 'authn-failed') {
        expect(user).toEqual({});
        continue;
      }
      expect(user.username).toBe(t.username);
      expect(user.groups).toEqual(t.groups);
      expect(annotations['authorization.k8s.io/decision']).toBe(t.outcome);
      expect(annotations['authorization.k8s.io/reason']).toBe(t.reason);
      if (t.accessKeyId && user.extra) expect(user.extra['accessKeyId']).toEqual([t.accessKeyId]);
      if (t.outcome === 'allow' && t.authorizer === 'eks-access-policy')
        expect(t.reason).toContain(`to User "${t.principalId}"`);
      if (t.authorizer === 'privileged-group') expect(t.groups).toContain('system:masters');
    }
  });

  it('traces every assumed-role or SSO human to the STS event that issued the access key, before the request', () => {
    // An OIDC provider's user holds no IAM key at all: no STS event names it.
    const attributed = truths.filter((t) => t.human && t.human.via !== 'iam-user' && t.human.via !== 'oidc');
    expect(attributed.length).toBeGreaterThan(50);
    for (const t of attributed) {
      const rec = stsByKey.get(t.accessKeyId as string);
      if (!rec) throw new Error(`no STS event issued ${t.accessKeyId} used by ${t.actor}`);
      expect(rec.eventID).toBe(t.human?.credentialEventId);
      expect(Date.parse(rec.eventTime)).toBeLessThanOrEqual(Date.parse(t.at));
      const assumed = (rec['responseElements'] as { assumedRoleUser: { arn: string } }).assumedRoleUser.arn;
      expect(assumed).toBe(t.stsArn);
      if (t.human?.via === 'sso-session') expect(rec.eventName).toBe('AssumeRoleWithSAML');
    }
  });

  it('gives IAM-user humans their long-term key and no STS event', () => {
    const direct = truths.filter((t) => t.human?.via === 'iam-user' && t.human.identity === t.canonicalArn);
    expect(direct.length).toBeGreaterThan(0);
    for (const t of direct) {
      expect(t.accessKeyId).toMatch(/^AKIA/);
      expect(t.human?.credentialEventId).toBeUndefined();
      expect(stsByKey.has(t.accessKeyId as string)).toBe(false);
    }
  });

  it('names an IAM user who assumed the role as an iam-user human, with the AssumeRole event as evidence', () => {
    // HumanLink.via says what kind of identity `identity` is; credentialEventId says an AssumeRole led there.
    const viaRole = truths.filter((t) => t.human?.via === 'iam-user' && t.human.identity !== t.canonicalArn);
    expect(viaRole.length).toBeGreaterThan(0);
    for (const t of viaRole) {
      expect(t.human?.identity).toMatch(/^arn:aws:iam::\d{12}:user\//);
      expect(t.accessKeyId).toMatch(/^ASIA/);
      expect(t.human?.credentialEventId).toBe(stsByKey.get(t.accessKeyId as string)?.eventID);
    }
    expect(truths.some((t) => t.human?.via === 'assume-role-caller')).toBe(false);
  });

  it('traces a role chain to the OIDC subject of the workflow, with the runner session as the hop', () => {
    const chained = truths.filter((t) => t.human?.chain);
    expect(chained.length).toBeGreaterThan(0);
    for (const t of chained) {
      expect(t.human).toMatchObject({ via: 'web-identity', identity: expect.stringMatching(/^repo:/) });
      expect(t.human?.chain).toEqual([expect.stringMatching(/^arn:aws:sts::\d{12}:assumed-role\//)]);
    }
  });

  it('has an authenticator decision for every IAM request in the cache window before it', () => {
    const grantedByUid = new Map<string, number[]>();
    for (const e of authn) {
      const f = logrusFields(e.message);
      if (f['msg'] !== 'access granted') continue;
      const list = grantedByUid.get(`${e.cluster}|${f['uid']}`) ?? [];
      list.push(e.timeUs);
      grantedByUid.set(`${e.cluster}|${f['uid']}`, list);
    }
    for (const t of truths.filter((x) => x.principalId && x.outcome !== 'authn-failed')) {
      const at = Date.parse(t.at) * 1000;
      const times =
        grantedByUid.get(`${t.cluster}|aws-iam-authenticator:${t.canonicalArn?.split(':')[4]}:${t.principalId}`) ?? [];
      expect(
        times.some((g) => g <= at + 60_000_000 && g >= at - 15 * 60_000_000),
        `${t.actor} ${t.at}`,
      ).toBe(true);
    }
  });

  it.each([
    ['sso-access-entry-cluster-admin', 'allow', 'access-entry'],
    ['config-map-creator', 'allow', 'cluster-creator'],
    ['aws-auth-session-template', 'allow', 'aws-auth-role'],
    ['node-ec2-linux-entry', 'allow', 'access-entry'],
    ['precedence-entry-over-aws-auth', 'allow', 'access-entry'],
    ['recreated-role-stale-entry', 'authn-failed', 'unmapped'],
    ['forbid-empty-reason', 'forbid', 'access-entry'],
    ['unmapped-path-row', 'authn-failed', 'unmapped'],
    ['impersonation', 'allow', 'aws-auth-user'],
    ['access-entry-short-lived', 'allow', 'access-entry'],
    ['access-entry-deleted', 'authn-failed', 'unmapped'],
    ['aws-auth-add-masters', 'allow', 'aws-auth-user'],
    ['break-glass-masters', 'allow', 'aws-auth-role'],
    ['map-accounts', 'allow', 'aws-auth-account'],
    ['eks-internal', 'allow', 'eks-internal'],
    ['anonymous', 'forbid', 'anonymous'],
    ['watch-service-account', 'allow', 'service-account'],
    ['token-expired', 'authn-failed', 'unmapped'],
    ['access-entry-path-arn', 'allow', 'access-entry'],
  ])('covers the %s case (%s via %s)', (name, outcome, source) => {
    const t = truths.find((x) => x.cases?.includes(name));
    expect(t).toBeDefined();
    expect(t?.outcome).toBe(outcome);
    expect(t?.mappingSource).toBe(source);
  });

  it('shows a watch as ResponseStarted then ResponseComplete with one auditID', () => {
    const watch = truths.find((t) => t.cases?.includes('watch-service-account')) as GroundTruth;
    expect((auditById.get(watch.auditID) ?? []).map((e) => e['stage'])).toEqual([
      'ResponseStarted',
      'ResponseComplete',
    ]);
  });

  it('records the aws-auth edit with the new mapRoles in the request and the full ConfigMap in the response', () => {
    const edit = truths.find((t) => t.cases?.includes('aws-auth-add-masters')) as GroundTruth;
    const ev = (auditById.get(edit.auditID) as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(ev['level']).toBe('RequestResponse');
    expect(ev['requestURI']).toBe('/api/v1/namespaces/kube-system/configmaps/aws-auth?fieldManager=kubectl-edit');
    const mapRoles = (ev['requestObject'] as { data: { mapRoles: string } }).data.mapRoles;
    expect(mapRoles).toMatch(/rolearn: arn:aws:iam::\d{12}:role\/break-glass\n {2}username: break-glass\n$/);
    expect((ev['responseObject'] as { kind: string }).kind).toBe('ConfigMap');
  });
});
