import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLEET, windowMs } from '../../bench/workload.js';
import { toDeliveries } from '../../sim/delivery.js';
import { buildFleet, type Fleet } from '../../sim/fleet.js';
import { auditLevel, type K8sRequest } from '../../sim/model.js';
import { type Emission, type GroundTruth, realisticDurationMs, simulate } from '../../sim/scenario.js';
import {
  HUMAN_HEAVY_FLEET,
  REALISTIC_COMPONENTS,
  REALISTIC_FLEET,
  realisticRequestsPerSecond,
  TRAFFIC_CLASSES,
  TRAFFIC_MIX_NAMES,
  TRAFFIC_MIXES,
  type TrafficClassId,
  type TrafficMix,
  trafficClassOf,
} from '../../sim/traffic-mix.js';
import { auditProblems, logrusFields } from './conformance.js';

const START = '2025-06-02T08:00:00Z';
const digest = (es: Iterable<unknown>) => {
  const h = createHash('sha256');
  for (const e of es) h.update(JSON.stringify(e));
  return h.digest('hex');
};

const realistic = (seed: number, requests: number): { fleet: Fleet; emissions: Emission[] } => {
  const fleet = buildFleet({ seed, ...REALISTIC_FLEET });
  const emissions = [
    ...simulate(fleet, {
      seed,
      requests,
      start: START,
      durationMs: realisticDurationMs(fleet, requests),
      mappingChanges: true,
      mix: 'realistic',
    }),
  ];
  return { fleet, emissions };
};

/** µs since the epoch of a truth's `at` (RFC 3339 with 6 fractional digits). */
const micros = (at: string): number => Date.parse(at) * 1000 + Number(at.slice(23, 26));
const truthsOf = (es: Emission[]): GroundTruth[] => es.flatMap((e) => (e.kind === 'truth' ? [e.truth] : []));
const auditEvents = (es: Emission[]) =>
  es.flatMap((e) =>
    e.kind === 'log' && e.streamKind === 'audit' ? [JSON.parse(e.message) as Record<string, unknown>] : [],
  );

const measuredShares = (truths: GroundTruth[]): Map<TrafficClassId, number> => {
  const counts = new Map<TrafficClassId, number>();
  for (const t of truths) counts.set(trafficClassOf(t), (counts.get(trafficClassOf(t)) ?? 0) + 1);
  return new Map([...counts].map(([k, v]) => [k, v / truths.length]));
};

const expectSharesMatch = (mix: TrafficMix, truths: GroundTruth[], relative: number, absolute: number) => {
  const measured = measuredShares(truths);
  for (const s of mix.shares) {
    const got = measured.get(s.id) ?? 0;
    expect(Math.abs(got - s.share), `${s.id}: stated ${s.share}, measured ${got}`).toBeLessThanOrEqual(
      Math.max(absolute, relative * s.share),
    );
  }
  // No class appears that the description leaves out.
  for (const [id, share] of measured) expect(mix.shares.some((s) => s.id === id) || share < 0.001, id).toBe(true);
};

const REQUESTS = 50_000;
const big = realistic(31, REQUESTS);
const truths = truthsOf(big.emissions);
const audit = auditEvents(big.emissions);

describe('traffic mix descriptions', () => {
  it('name every preset and state shares that add up to one, each with a source', () => {
    expect(Object.keys(TRAFFIC_MIXES).sort()).toEqual([...TRAFFIC_MIX_NAMES].sort());
    for (const mix of Object.values(TRAFFIC_MIXES)) {
      const total = mix.shares.reduce((n, s) => n + s.share, 0);
      expect(total).toBeCloseTo(1, 9);
      for (const s of mix.shares) {
        expect(s.class).toBe(TRAFFIC_CLASSES[s.id]);
        expect(s.source.length).toBeGreaterThan(10);
        expect(s.share).toBeGreaterThan(0);
      }
      expect(mix.clusterRequestsPerSecond.reduce((n, r) => n + r, 0)).toBeCloseTo(mix.requestsPerSecond, 6);
    }
  });

  it('describe the fleets the bench builds, and the bench window follows the stated rate', () => {
    expect(HUMAN_HEAVY_FLEET).toEqual(FLEET);
    expect(TRAFFIC_MIXES['human-heavy'].fleet).toEqual(FLEET);
    expect(windowMs(100_000)).toBe(16_600_000);
    expect(windowMs(100_000, 'realistic') / 1000).toBeCloseTo(100_000 / TRAFFIC_MIXES.realistic.requestsPerSecond, 2);
  });

  it('give the realistic fleet one busy cluster at 35-80 requests/s and smaller ones that scale with nodes', () => {
    const [busy, ...rest] = TRAFFIC_MIXES.realistic.clusterRequestsPerSecond as [number, ...number[]];
    expect(busy).toBeGreaterThanOrEqual(35);
    expect(busy).toBeLessThanOrEqual(80);
    for (let i = 1; i < rest.length; i++) expect(rest[i]).toBeLessThan(rest[i - 1] as number);
    expect(Math.max(...rest)).toBeLessThan(busy / 3);
  });

  it('mark as dropped exactly the scheduled requests the EKS audit policy does not log', () => {
    for (const spec of REALISTIC_COMPONENTS) {
      const id = spec.identity;
      const user =
        id.kind === 'node'
          ? { username: 'system:node:ip-10-0-0-1.ec2.internal', groups: ['system:nodes', 'system:authenticated'] }
          : id.kind === 'service-account'
            ? {
                username: `system:serviceaccount:${id.namespace}:${id.name}`,
                groups: ['system:serviceaccounts', 'system:authenticated'],
              }
            : { username: id.username, groups: ['system:authenticated'] };
      for (const t of spec.tasks) {
        const req: K8sRequest = {
          verb: t.verb,
          resource: t.resource,
          subresource: t.sub,
          apiGroup: t.group ?? '',
          apiVersion: t.version ?? 'v1',
          namespace: t.namespace,
          name: t.name,
        };
        expect(auditLevel(user, req) === 'None', `${spec.id} ${t.verb} ${t.resource}`).toBe(!!t.dropped);
      }
    }
  });
});

describe('realistic mix', () => {
  it(`produces the stated share of every class on ${REQUESTS} requests`, () => {
    expect(truths.length).toBeGreaterThanOrEqual(REQUESTS);
    expectSharesMatch(TRAFFIC_MIXES.realistic, truths, 0.08, 0.002);
  });

  it('keeps IAM humans and automation at no more than 2 %, with their denials', () => {
    const humans = truths.filter((t) => trafficClassOf(t) === 'iam-humans-and-automation');
    expect(humans.length / truths.length).toBeLessThanOrEqual(0.02);
    expect(humans.some((t) => t.outcome === 'forbid')).toBe(true);
    expect(humans.some((t) => t.outcome === 'authn-failed' && t.failedStage !== 'authorization')).toBe(true);
  });

  it('runs at its stated rate: the window of the requested count holds them', () => {
    const first = Date.parse(truths[0]?.at as string);
    const last = Math.max(...truths.map((t) => Date.parse(t.at)));
    const seconds = (last - first) / 1000;
    expect(REQUESTS / seconds).toBeGreaterThan(TRAFFIC_MIXES.realistic.requestsPerSecond * 0.97);
    expect(REQUESTS / seconds).toBeLessThan(TRAFFIC_MIXES.realistic.requestsPerSecond * 1.03);
    expect(realisticRequestsPerSecond(big.fleet.clusters.map((c) => c.nodes.length))).toBe(
      TRAFFIC_MIXES.realistic.requestsPerSecond,
    );
  });

  it('renews every kubelet Lease every 10 s through the node role, authorized by the Node authorizer', () => {
    const byNode = new Map<string, number[]>();
    for (const t of truths) {
      if (trafficClassOf(t) !== 'kubelet-lease' || t.cases) continue;
      expect(t).toMatchObject({
        verb: 'update',
        resource: 'leases',
        namespace: 'kube-node-lease',
        authorizer: 'node',
        outcome: 'allow',
      });
      expect(t.username).toBe(`system:node:${t.name}`);
      expect(t.groups).toContain('system:nodes');
      expect(t.canonicalArn).toMatch(/:role\/eksctl-.*NodeInstanceRole/);
      expect(t.accessKeyId).toMatch(/^ASIA/);
      const list = byNode.get(t.actor) ?? [];
      list.push(micros(t.at));
      byNode.set(t.actor, list);
    }
    expect(byNode.size).toBe(big.fleet.clusters.reduce((n, c) => n + c.nodes.length, 0));
    for (const times of byNode.values()) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) {
        const gap = (times[i] as number) - (times[i - 1] as number);
        expect(gap).toBeGreaterThanOrEqual(10_000_000);
        expect(gap).toBeLessThan(10_050_000);
      }
    }
  });

  it('puts the Lease renewals, with the node identity in user.extra, in the audit log at Metadata', () => {
    const leases = audit.filter(
      (ev) => (ev['objectRef'] as { namespace?: string } | undefined)?.namespace === 'kube-node-lease',
    );
    expect(leases.length).toBeGreaterThan(1000);
    for (const ev of leases.slice(0, 500)) {
      expect(ev['level']).toBe('Metadata');
      expect(ev['requestURI']).toMatch(
        /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/kube-node-lease\/leases\/ip-[\d-]+\.[a-z0-9.-]+\?timeout=10s$/,
      );
      const user = ev['user'] as { uid: string; extra: Record<string, string[]> };
      expect(Object.keys(user.extra)).toEqual(['accessKeyId', 'arn', 'canonicalArn', 'principalId', 'sessionName']);
      expect(user.extra['sessionName']?.[0]).toMatch(/^i-0[0-9a-f]{16}$/);
      expect(user.uid).toMatch(/^aws-iam-authenticator:\d{12}:AROA/);
    }
  });

  it('renews the controller-manager and scheduler leases every 2 s as certificate users without user.extra', () => {
    const cert = audit.filter((ev) =>
      /^system:kube-(controller-manager|scheduler)$/.test((ev['user'] as { username: string }).username),
    );
    expect(cert.length).toBeGreaterThan(1000);
    for (const ev of cert) {
      expect(ev['user']).toEqual({ username: expect.any(String), groups: ['system:authenticated'] });
      const name = (ev['user'] as { username: string }).username.slice('system:'.length);
      expect(ev['requestURI']).toBe(`/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}?timeout=5s`);
      expect((ev['annotations'] as Record<string, string>)['authorization.k8s.io/reason']).toBe(
        `RBAC: allowed by ClusterRoleBinding "system:${name}" of ClusterRole "system:${name}" to User "system:${name}"`,
      );
    }
    // Only IAM tokens reach aws-iam-authenticator.
    for (const e of big.emissions) {
      if (e.kind === 'log' && e.streamKind === 'authenticator')
        expect(logrusFields(e.message)['username'] ?? '').not.toMatch(/^system:kube-/);
    }
    const updates = new Map<string, number[]>();
    for (const t of truths) {
      if (t.mappingSource !== 'certificate') continue;
      expect(t).toMatchObject({ groups: ['system:authenticated'], authorizer: 'rbac', outcome: 'allow' });
      for (const f of ['stsArn', 'canonicalArn', 'principalId', 'accessKeyId', 'sessionName', 'human', 'mappingKey'])
        expect(t[f as keyof GroundTruth], f).toBeUndefined();
      if (t.verb !== 'update') continue;
      const list = updates.get(t.actor) ?? [];
      list.push(micros(t.at));
      updates.set(t.actor, list);
    }
    expect(updates.size).toBe(2 * big.fleet.clusters.length);
    for (const times of updates.values())
      for (let i = 1; i < times.length; i++) {
        const gap = (times[i] as number) - (times[i - 1] as number);
        expect(gap).toBeGreaterThanOrEqual(2_000_000);
        expect(gap).toBeLessThan(2_020_000);
      }
  });

  it('closes every reflector watch 5-10 min after it started, with the timeout it asked for', () => {
    // People's `kubectl get -w` and the scripted set pieces are not reflectors.
    const people = new Set(
      truths.filter((t) => t.cases || trafficClassOf(t) === 'iam-humans-and-automation').map((t) => t.auditID),
    );
    const started = new Map<string, Record<string, unknown>>();
    let complete = 0;
    for (const ev of audit) {
      if (ev['verb'] !== 'watch' || people.has(ev['auditID'] as string)) continue;
      if (ev['stage'] === 'ResponseStarted') started.set(ev['auditID'] as string, ev);
      else {
        const s = started.get(ev['auditID'] as string);
        if (!s) continue;
        complete++;
        expect(ev['requestReceivedTimestamp']).toBe(s['requestReceivedTimestamp']);
        const ms = Date.parse(ev['stageTimestamp'] as string) - Date.parse(ev['requestReceivedTimestamp'] as string);
        const timeout = Number(/timeoutSeconds=(\d+)/.exec(ev['requestURI'] as string)?.[1]);
        expect(timeout).toBeGreaterThanOrEqual(300);
        expect(timeout).toBeLessThan(600);
        expect(ms).toBeGreaterThanOrEqual(timeout * 1000);
        expect(ms).toBeLessThan(timeout * 1000 + 3);
        const m = Math.floor(timeout / 60);
        expect(ev['requestURI']).toContain(`timeout=${m}m${timeout - m * 60}s&timeoutSeconds=${timeout}&watch=true`);
      }
    }
    expect(complete).toBeGreaterThan(500);
  });

  it('gives each service-account pod one stable identity, and hostNetwork pods their node IP', () => {
    const byPod = new Map<string, Set<string>>();
    for (const ev of audit) {
      const user = ev['user'] as { username?: string; extra?: Record<string, string[]> };
      const pod = user.extra?.['authentication.kubernetes.io/pod-name']?.[0];
      if (!pod || !user.username?.startsWith('system:serviceaccount:kube-system:aws-node')) continue;
      const node = user.extra?.['authentication.kubernetes.io/node-name']?.[0] as string;
      const set = byPod.get(pod) ?? new Set();
      set.add(`${node}|${(ev['sourceIPs'] as string[])[0]}`);
      byPod.set(pod, set);
      expect((ev['sourceIPs'] as string[])[0]).toBe(node.slice(3).split('.')[0]?.replaceAll('-', '.'));
    }
    expect(byPod.size).toBeGreaterThan(100);
    for (const s of byPod.values()) expect(s.size).toBe(1);
  });

  it('logs nothing the EKS audit policy drops, and every event conforms', () => {
    for (const ev of audit) {
      const user = ev['user'] as { username?: string; groups?: string[] };
      const o = ev['objectRef'] as Record<string, string> | undefined;
      expect(o?.['resource']).not.toBe('events');
      if (!user.username || !o) continue;
      const level = auditLevel(
        { username: user.username, groups: user.groups ?? [] },
        {
          verb: ev['verb'] as string,
          resource: o['resource'],
          subresource: o['subresource'],
          apiGroup: o['apiGroup'] ?? '',
          apiVersion: o['apiVersion'] as string,
          namespace: o['namespace'],
          name: o['name'],
        },
      );
      expect(level).toBe(ev['level']);
    }
    const bad = big.emissions.flatMap((e) =>
      e.kind === 'log' && e.streamKind === 'audit' && auditProblems(e.message).length ? [e.message] : [],
    );
    expect(bad).toEqual([]);
  });

  it('has ground truth for every request in the audit log, and an audit event for every truth', () => {
    const ids = new Set(audit.map((ev) => ev['auditID'] as string));
    const truthIds = new Set(truths.map((t) => t.auditID));
    expect(truthIds.size).toBe(truths.length);
    expect(truthIds).toEqual(ids);
    const last = new Map(audit.map((ev) => [ev['auditID'] as string, ev]));
    for (const t of truths) {
      const ev = last.get(t.auditID) as Record<string, unknown>;
      expect((ev['responseStatus'] as { code: number }).code).toBe(t.statusCode);
      if (t.outcome === 'authn-failed') continue;
      expect((ev['user'] as { username: string }).username).toBe(t.username);
      expect((ev['user'] as { groups: string[] }).groups).toEqual(t.groups);
      expect((ev['annotations'] as Record<string, string>)['authorization.k8s.io/reason']).toBe(t.reason);
    }
  });

  it('is a pure function of its seeds', () => {
    const a = realistic(5, 3_000);
    const b = realistic(5, 3_000);
    expect(digest(a.emissions)).toBe(digest(b.emissions));
    expect(digest(realistic(6, 3_000).emissions)).not.toBe(digest(a.emissions));
    expect(truthsOf(a.emissions).length).toBeGreaterThanOrEqual(3_000);
  });

  it('never throws and stays time-ordered for small fleets and option sets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 300 }),
        fc.boolean(),
        fc.boolean(),
        (seed, nodeCounts, requests, mappingChanges, scripted) => {
          const fleet = buildFleet({
            ...REALISTIC_FLEET,
            seed,
            clusters: nodeCounts.length,
            nodeCounts,
            ssoUsers: 1,
            iamUsers: 1,
            roles: 1,
          });
          let last = Number.NEGATIVE_INFINITY;
          let made = 0;
          for (const e of simulate(fleet, {
            seed,
            requests,
            start: '2024-03-01T00:00:00Z',
            durationMs: realisticDurationMs(fleet, requests),
            mappingChanges,
            scripted,
            mix: 'realistic',
          })) {
            if (e.kind === 'truth') made++;
            else if (e.timeUs < last) return false;
            else last = e.timeUs;
          }
          return made >= requests;
        },
      ),
      { numRuns: 15 },
    );
  });

  it('refuses a fleet that was not built for it', () => {
    const fleet = buildFleet({ seed: 1, ...HUMAN_HEAVY_FLEET });
    expect(() => [
      ...simulate(fleet, {
        seed: 1,
        requests: 10,
        start: START,
        durationMs: 60_000,
        mappingChanges: false,
        mix: 'realistic',
      }),
    ]).toThrow(/realistic/);
  });
});

describe('human-heavy mix', () => {
  it('is byte-identical to the simulator before the presets (emissions and deliveries)', () => {
    const fleet = buildFleet({
      seed: 21,
      clusters: 3,
      accountsPerOrg: 2,
      ssoUsers: 6,
      iamUsers: 4,
      roles: 2,
      nodesPerCluster: 4,
      serviceAccounts: 2,
    });
    const emissions = [
      ...simulate(fleet, { seed: 21, requests: 1500, start: START, durationMs: 3 * 3600_000, mappingChanges: true }),
    ];
    // Pinned again when the workload-identity set pieces (Pod Identity, IRSA, OIDC users, node types) joined.
    expect(emissions).toHaveLength(5337);
    expect(digest(emissions)).toBe('41beb9a7c267f67a8a81b321dcbb89f61dfd7891157a7293234d4a3c565f6302');
    const deliveries = [
      ...toDeliveries(emissions, {
        seed: 21,
        lateFraction: 0.05,
        duplicateFraction: 0.02,
        batchSize: 30,
        kinesisBatchSize: 20,
      }),
    ];
    expect(deliveries).toHaveLength(54);
    expect(digest(deliveries)).toBe('c21a879e6da092930b4bf3a3b81dac168f01e4fe92466f97d10fb3a8f10dfeda');
  });

  it('produces the stated share of every class on the bench fleet', () => {
    const fleet = buildFleet({ seed: 8, ...HUMAN_HEAVY_FLEET });
    const n = 30_000;
    const ts = truthsOf([
      ...simulate(fleet, { seed: 8, requests: n, start: START, durationMs: windowMs(n), mappingChanges: true }),
    ]);
    expectSharesMatch(TRAFFIC_MIXES['human-heavy'], ts, 0.1, 0.006);
  });
});
