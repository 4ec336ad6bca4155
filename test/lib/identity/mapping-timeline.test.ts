import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAwsAuth } from '../../../lib/identity/aws-auth.js';
import { instantMicros, MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import type {
  AwsAuthConfig,
  ClusterMappingState,
  MappingChange,
  MappingChangeOp,
} from '../../../lib/identity/types.js';

const CLUSTER = 'eks-cluster';
const ROLE = 'arn:aws:iam::012345678901:role/stratus-red-team-eks-create-access-entry-role';
const KEY = ROLE.toLowerCase();
const ADMIN = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';
const VIEW = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy';

const stratusAwsAuth = (): AwsAuthConfig => {
  const body = JSON.parse(
    readFileSync(
      new URL('../../fixtures/identity/stratus-backdoor-aws-auth-audit-excerpt.json', import.meta.url),
      'utf8',
    ),
  ) as { requestObject: unknown };
  const r = parseAwsAuth(body.requestObject);
  if (!r.ok) throw new Error('fixture');
  return r.value;
};

let seq = 0;
const change = (at: string, op: MappingChangeOp, sourceEventId = `ev-${++seq}`): MappingChange => ({
  cluster: CLUSTER,
  accountId: '012345678901',
  at,
  sourceEventId,
  source: 'cloudtrail',
  actor: { aws: { type: 'AssumedRole', arn: 'arn:aws:sts::012345678901:assumed-role/ops/alice' } },
  op,
});

const put = (at: string, id?: string): MappingChange =>
  change(
    at,
    { kind: 'access-entry-put', entry: { principalArn: ROLE, matchKey: KEY, type: 'STANDARD', kubernetesGroups: [] } },
    id,
  );

const created = (at: string, mode: 'CONFIG_MAP' | 'API' | 'API_AND_CONFIG_MAP', bootstrapAdmin = true, id?: string) =>
  change(
    at,
    {
      kind: 'cluster-created',
      creator: {
        actor: {
          type: 'AssumedRole',
          arn: 'arn:aws:sts::012345678901:assumed-role/creator/bob',
          principalId: 'AROACREATOR',
          sessionIssuerArn: 'arn:aws:iam::012345678901:role/platform/creator',
        },
        canonicalArn: 'arn:aws:iam::012345678901:role/creator',
        bootstrapAdmin,
      },
      mode,
      enabledLogTypes: ['audit', 'authenticator'],
    },
    id,
  );

/** Comparable view of a state (Maps are not compared structurally by JSON). */
const view = (s: ClusterMappingState) => ({
  ...s,
  accessEntries: [...s.accessEntries.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
});

describe('MappingTimeline basics', () => {
  it('starts empty with the auth mode unknown', () => {
    const s = new MappingTimeline(CLUSTER, []).stateAt('2024-01-01T00:00:00Z');
    expect(s).toMatchObject({ cluster: CLUSTER, at: '2024-01-01T00:00:00Z', authModeKnown: false, deleted: false });
    expect(s.accessEntries.size).toBe(0);
    expect(s.awsAuth).toBeUndefined();
    expect(s.authMode).toBeUndefined();
  });

  it('applies changes at or before the instant, not after', () => {
    const tl = new MappingTimeline(CLUSTER, [put('2024-05-01T10:00:00.000Z')]);
    expect(tl.stateAt('2024-05-01T09:59:59.999Z').accessEntries.size).toBe(0);
    expect(tl.stateAt('2024-05-01T10:00:00Z').accessEntries.get(KEY)?.principalArn).toBe(ROLE);
    expect(tl.stateAt('2024-05-01T10:00:00.000001Z').accessEntries.size).toBe(1);
  });

  it('orders by microseconds when audit timestamps share a millisecond', () => {
    expect(instantMicros('2024-08-24T14:27:07.461683Z') - instantMicros('2024-08-24T14:27:07.461682Z')).toBe(1);
    expect(instantMicros('2024-08-24T14:27:07Z')).toBe(Date.parse('2024-08-24T14:27:07Z') * 1000);
    expect(instantMicros('2024-08-24T16:27:07.5+02:00')).toBe(Date.parse('2024-08-24T14:27:07.5Z') * 1000);
    expect(instantMicros('yesterday')).toBeNaN();
    const config = stratusAwsAuth();
    const first = change('2024-08-24T14:27:07.461683Z', { kind: 'aws-auth-put', config }, 'z-audit');
    const second = change('2024-08-24T14:27:07.461684Z', { kind: 'aws-auth-delete' }, 'a-audit');
    const tl = new MappingTimeline(CLUSTER, [second, first]);
    expect(tl.stateAt('2024-08-24T14:27:08Z').awsAuth).toBeNull();
    expect(tl.stateAt('2024-08-24T14:27:07.461683Z').awsAuth?.config).toBe(config);
  });

  it('ignores other clusters and gives the initial state for an unparseable instant', () => {
    const other = { ...put('2024-05-01T10:00:00Z'), cluster: 'other' };
    const tl = new MappingTimeline(CLUSTER, [other, put('2024-05-01T10:00:00Z')]);
    expect(tl.changes).toHaveLength(1);
    expect(tl.stateAt('not a time').accessEntries.size).toBe(0);
  });

  it('never applies a change whose own time is unparseable', () => {
    const tl = new MappingTimeline(CLUSTER, [put('garbage')]);
    expect(tl.changes).toHaveLength(1);
    expect(tl.stateAt('2999-01-01T00:00:00Z').accessEntries.size).toBe(0);
  });

  it('counts a duplicate (same sourceEventId and op) once', () => {
    const a = put('2024-05-01T10:00:00Z', 'dup');
    const tl = new MappingTimeline(CLUSTER, [a, { ...a }, { ...a, source: 'backfill' }]);
    expect(tl.changes).toHaveLength(1);
  });

  it('keeps several facts of one event apart (UpdateClusterConfig: mode and logging)', () => {
    const tl = new MappingTimeline(CLUSTER, [
      change('2024-05-01T10:00:00Z', { kind: 'auth-mode-set', mode: 'API' }, 'u1'),
      change('2024-05-01T10:00:00Z', { kind: 'logging-set', enabled: ['audit'], disabled: [] }, 'u1'),
    ]);
    expect(tl.changes).toHaveLength(2);
    expect(tl.stateAt('2024-05-01T10:00:00Z')).toMatchObject({
      authMode: 'API',
      authModeKnown: true,
      enabledLogTypes: ['audit'],
    });
    expect(tl.lastChangeAt('2024-05-01T10:00:00Z')?.sourceEventId).toBe('u1');
    expect(tl.lastChangeAt('2024-04-01T00:00:00Z')).toBeUndefined();
  });
});

describe('access entries', () => {
  it('applies updates partially, with groups as declarative replacement (CLI update: groups -> [tester])', () => {
    const tl = new MappingTimeline(CLUSTER, [
      change('2024-05-01T10:00:00Z', {
        kind: 'access-entry-put',
        entry: {
          principalArn: ROLE,
          matchKey: KEY,
          type: 'STANDARD',
          username: 'ops:{{SessionName}}',
          kubernetesGroups: ['a', 'b'],
        },
      }),
      change('2024-05-02T10:00:00Z', {
        kind: 'access-entry-update',
        principalArn: ROLE,
        matchKey: KEY,
        kubernetesGroups: ['tester'],
      }),
      change('2024-05-03T10:00:00Z', {
        kind: 'access-entry-update',
        principalArn: ROLE,
        matchKey: KEY,
        username: 'dev:{{SessionName}}',
      }),
    ]);
    expect(tl.stateAt('2024-05-02T12:00:00Z').accessEntries.get(KEY)).toMatchObject({
      username: 'ops:{{SessionName}}',
      kubernetesGroups: ['tester'],
      since: '2024-05-02T10:00:00Z',
    });
    expect(tl.stateAt('2024-05-04T00:00:00Z').accessEntries.get(KEY)).toMatchObject({
      username: 'dev:{{SessionName}}',
      kubernetesGroups: ['tester'],
    });
    // The earlier state is not disturbed by later folding.
    expect(tl.stateAt('2024-05-01T12:00:00Z').accessEntries.get(KEY)?.kubernetesGroups).toEqual(['a', 'b']);
  });

  it('associates (replacing the scope of a re-associated policy), disassociates, and deletes with the entry', () => {
    const tl = new MappingTimeline(CLUSTER, [
      put('2024-05-01T10:00:00Z'),
      change('2024-05-01T11:00:00Z', {
        kind: 'access-policy-associate',
        principalArn: ROLE,
        matchKey: KEY,
        association: { policyArn: ADMIN, scope: { type: 'cluster', namespaces: [] } },
      }),
      change('2024-05-01T12:00:00Z', {
        kind: 'access-policy-associate',
        principalArn: ROLE,
        matchKey: KEY,
        association: { policyArn: VIEW, scope: { type: 'namespace', namespaces: ['default'] } },
      }),
      change('2024-05-01T13:00:00Z', {
        kind: 'access-policy-associate',
        principalArn: ROLE,
        matchKey: KEY,
        association: { policyArn: VIEW, scope: { type: 'namespace', namespaces: ['default', 'prod'] } },
      }),
      change('2024-05-01T14:00:00Z', {
        kind: 'access-policy-disassociate',
        principalArn: ROLE,
        matchKey: KEY,
        policyArn: ADMIN,
      }),
      change('2024-05-01T15:00:00Z', { kind: 'access-entry-delete', principalArn: ROLE, matchKey: KEY }),
      put('2024-05-01T16:00:00Z'),
    ]);
    expect(tl.stateAt('2024-05-01T13:30:00Z').accessEntries.get(KEY)?.policies).toEqual([
      { policyArn: ADMIN, scope: { type: 'cluster', namespaces: [] } },
      { policyArn: VIEW, scope: { type: 'namespace', namespaces: ['default', 'prod'] } },
    ]);
    expect(
      tl
        .stateAt('2024-05-01T14:30:00Z')
        .accessEntries.get(KEY)
        ?.policies.map((p) => p.policyArn),
    ).toEqual([VIEW]);
    expect(tl.stateAt('2024-05-01T15:30:00Z').accessEntries.has(KEY)).toBe(false);
    // Recreated: the old associations are gone with the old entry.
    expect(tl.stateAt('2024-05-01T16:30:00Z').accessEntries.get(KEY)?.policies).toEqual([]);
  });

  it('materialises an entry first seen through an association or update (history before deployment)', () => {
    const tl = new MappingTimeline(CLUSTER, [
      change('2024-05-01T11:00:00Z', {
        kind: 'access-policy-associate',
        principalArn: ROLE,
        matchKey: KEY,
        association: { policyArn: ADMIN, scope: { type: 'cluster', namespaces: [] } },
      }),
    ]);
    expect(tl.stateAt('2024-05-02T00:00:00Z').accessEntries.get(KEY)).toMatchObject({
      type: 'STANDARD',
      principalArn: ROLE,
    });
  });

  it('keeps associations and the bound principal id across a re-delivered or backfilled put', () => {
    const tl = new MappingTimeline(CLUSTER, [
      put('2024-05-01T10:00:00Z'),
      change('2024-05-01T11:00:00Z', {
        kind: 'access-policy-associate',
        principalArn: ROLE,
        matchKey: KEY,
        association: { policyArn: ADMIN, scope: { type: 'cluster', namespaces: [] } },
      }),
      change('2024-05-01T11:30:00Z', { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROAFIRST' }),
      put('2024-05-01T12:00:00Z', 'backfill-1'),
    ]);
    expect(tl.stateAt('2024-05-01T13:00:00Z').accessEntries.get(KEY)).toMatchObject({
      principalId: 'AROAFIRST',
      policies: [{ policyArn: ADMIN }],
    });
  });

  it('binds the first principal id observed after creation, and never rebinds', () => {
    const tl = new MappingTimeline(CLUSTER, [
      change('2024-05-01T09:00:00Z', { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROABEFORE' }),
      put('2024-05-01T10:00:00Z'),
      change('2024-05-01T11:00:00Z', { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROAFIRST' }),
      change('2024-05-01T12:00:00Z', { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROARECREATED' }),
    ]);
    expect(tl.stateAt('2024-05-01T10:30:00Z').accessEntries.get(KEY)?.principalId).toBeUndefined();
    expect(tl.stateAt('2024-05-01T13:00:00Z').accessEntries.get(KEY)?.principalId).toBe('AROAFIRST');
    // Binding does not start a new version of the entry.
    expect(tl.stateAt('2024-05-01T13:00:00Z').accessEntries.get(KEY)?.since).toBe('2024-05-01T10:00:00Z');
  });
});

describe('state versions', () => {
  const tl = new MappingTimeline(CLUSTER, [
    change('2024-05-01T09:00:00Z', { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROABEFORE' }),
    put('2024-05-01T10:00:00Z'),
    change('2024-05-01T11:00:00Z', { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROAFIRST' }),
    change('2024-05-01T12:00:00Z', { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROARECREATED' }),
    change('2024-05-01T13:00:00Z', {
      kind: 'access-policy-disassociate',
      principalArn: ROLE,
      matchKey: KEY,
      policyArn: VIEW,
    }),
    change('2024-05-01T14:00:00Z', { kind: 'access-entry-delete', principalArn: ROLE, matchKey: KEY }),
    change('2024-05-01T15:00:00Z', { kind: 'access-entry-delete', principalArn: ROLE, matchKey: KEY }),
  ]);
  const instants = [
    '2024-05-01T08:00:00Z',
    '2024-05-01T09:30:00Z',
    '2024-05-01T10:30:00Z',
    '2024-05-01T11:30:00Z',
    '2024-05-01T12:30:00Z',
    '2024-05-01T13:30:00Z',
    '2024-05-01T14:30:00Z',
    '2024-05-01T15:30:00Z',
    'not a time',
  ];

  it('keep the number across changes that alter nothing, and only those', () => {
    expect(instants.map((at) => tl.stateVersionAt(at))).toEqual([0, 0, 2, 3, 3, 3, 6, 6, 0]);
    // versionAt still counts every change in force.
    expect(instants.map((at) => tl.versionAt(at))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0]);
  });

  it('give two instants the same number only when their states are equal', () => {
    const state = (at: string) => ({ ...view(tl.stateAt(at)), at: undefined });
    for (const a of instants) {
      for (const b of instants) {
        if (tl.stateVersionAt(a) === tl.stateVersionAt(b)) expect(state(a), `${a} / ${b}`).toEqual(state(b));
      }
    }
  });
});

describe('cluster lifecycle', () => {
  it('creates the implicit creator entry with AmazonEKSClusterAdminPolicy in API modes', () => {
    const tl = new MappingTimeline(CLUSTER, [created('2024-01-01T00:00:00Z', 'API_AND_CONFIG_MAP', true, 'cc')]);
    const s = tl.stateAt('2024-01-02T00:00:00Z');
    expect(s).toMatchObject({
      authMode: 'API_AND_CONFIG_MAP',
      authModeKnown: true,
      enabledLogTypes: ['audit', 'authenticator'],
    });
    expect(s.creator).toMatchObject({
      canonicalArn: 'arn:aws:iam::012345678901:role/creator',
      since: '2024-01-01T00:00:00Z',
      sourceEventId: 'cc',
    });
    expect(s.accessEntries.get('arn:aws:iam::012345678901:role/creator')).toMatchObject({
      principalArn: 'arn:aws:iam::012345678901:role/platform/creator',
      principalId: 'AROACREATOR',
      bootstrapCreator: true,
      policies: [{ policyArn: ADMIN, scope: { type: 'cluster', namespaces: [] } }],
      sourceEventId: 'cc',
    });
  });

  it.each([
    ['CONFIG_MAP with bootstrap', 'CONFIG_MAP', true],
    ['API without bootstrap', 'API', false],
  ] as const)('creates no entry for %s', (_kind, mode, bootstrap) => {
    const s = new MappingTimeline(CLUSTER, [created('2024-01-01T00:00:00Z', mode, bootstrap)]).stateAt(
      '2024-01-02T00:00:00Z',
    );
    expect(s.accessEntries.size).toBe(0);
    expect(s.creator?.bootstrapAdmin).toBe(bootstrap);
  });

  it('surfaces the creator grant as an entry when a CONFIG_MAP cluster moves to an API mode', () => {
    const tl = new MappingTimeline(CLUSTER, [
      created('2024-01-01T00:00:00Z', 'CONFIG_MAP'),
      change('2024-02-01T00:00:00Z', { kind: 'auth-mode-set', mode: 'API_AND_CONFIG_MAP' }, 'mode'),
    ]);
    expect(tl.stateAt('2024-01-15T00:00:00Z').accessEntries.size).toBe(0);
    expect(
      tl.stateAt('2024-02-02T00:00:00Z').accessEntries.get('arn:aws:iam::012345678901:role/creator')?.sourceEventId,
    ).toBe('mode');
  });

  it('applies logging deltas', () => {
    const tl = new MappingTimeline(CLUSTER, [
      created('2024-01-01T00:00:00Z', 'API'),
      change('2024-01-02T00:00:00Z', { kind: 'logging-set', enabled: ['api', 'scheduler'], disabled: ['audit'] }),
    ]);
    expect(tl.stateAt('2024-01-03T00:00:00Z').enabledLogTypes).toEqual(['api', 'authenticator', 'scheduler']);
  });

  it('tracks aws-auth versions and deletion', () => {
    const config = stratusAwsAuth();
    const tl = new MappingTimeline(CLUSTER, [
      change('2024-01-02T00:00:00Z', { kind: 'aws-auth-put', config }, 'audit-1'),
      change('2024-01-03T00:00:00Z', { kind: 'aws-auth-delete' }, 'audit-2'),
    ]);
    expect(tl.stateAt('2024-01-02T12:00:00Z').awsAuth).toMatchObject({
      config,
      since: '2024-01-02T00:00:00Z',
      sourceEventId: 'audit-1',
    });
    expect(tl.stateAt('2024-01-03T12:00:00Z').awsAuth).toBeNull();
  });

  it('clears everything on deletion and starts afresh on re-creation', () => {
    const tl = new MappingTimeline(CLUSTER, [
      created('2024-01-01T00:00:00Z', 'API'),
      put('2024-01-02T00:00:00Z'),
      change('2024-01-02T00:00:00Z', { kind: 'aws-auth-put', config: stratusAwsAuth() }),
      change('2024-01-03T00:00:00Z', { kind: 'cluster-deleted' }),
      created('2024-01-04T00:00:00Z', 'API', false),
    ]);
    const deleted = tl.stateAt('2024-01-03T12:00:00Z');
    expect(deleted).toMatchObject({ deleted: true, authModeKnown: false });
    expect(deleted.accessEntries.size).toBe(0);
    expect(deleted.awsAuth).toBeUndefined();
    expect(deleted.creator).toBeUndefined();
    const recreated = tl.stateAt('2024-01-05T00:00:00Z');
    expect(recreated).toMatchObject({ deleted: false, authMode: 'API' });
    expect(recreated.accessEntries.size).toBe(0);
  });
});

describe('arrival order never changes an answer', () => {
  const config = stratusAwsAuth();
  const pool: MappingChange[] = [
    created('2024-01-01T00:00:00Z', 'CONFIG_MAP', true, 'p-created'),
    change('2024-01-01T00:00:00Z', { kind: 'aws-auth-put', config }, 'p-awsauth-1'),
    change('2024-01-02T00:00:00Z', { kind: 'auth-mode-set', mode: 'API_AND_CONFIG_MAP' }, 'p-mode'),
    put('2024-01-02T00:00:00Z', 'p-put'),
    change(
      '2024-01-02T00:00:00Z',
      { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROAONE' },
      'p-q-obs1',
    ),
    change(
      '2024-01-02T00:00:00Z',
      { kind: 'principal-id-observed', matchKey: KEY, principalId: 'AROATWO' },
      'p-q-obs2',
    ),
    change(
      '2024-01-03T00:00:00Z',
      {
        kind: 'access-policy-associate',
        principalArn: ROLE,
        matchKey: KEY,
        association: { policyArn: ADMIN, scope: { type: 'cluster', namespaces: [] } },
      },
      'p-assoc',
    ),
    change(
      '2024-01-03T00:00:00Z',
      { kind: 'access-entry-update', principalArn: ROLE, matchKey: KEY, kubernetesGroups: ['x'] },
      'p-upd1',
    ),
    change(
      '2024-01-03T00:00:00Z',
      { kind: 'access-entry-update', principalArn: ROLE, matchKey: KEY, kubernetesGroups: ['y'] },
      'p-upd2',
    ),
    change('2024-01-04T00:00:00Z', { kind: 'access-entry-delete', principalArn: ROLE, matchKey: KEY }, 'p-del'),
    change('2024-01-04T00:00:00Z', { kind: 'aws-auth-delete' }, 'p-awsauth-2'),
    change('2024-01-05T00:00:00Z', { kind: 'cluster-deleted' }, 'p-cdel'),
  ];
  const instants = [
    '2023-12-31T00:00:00Z',
    '2024-01-01T00:00:00Z',
    '2024-01-02T00:00:00Z',
    '2024-01-03T00:00:00Z',
    '2024-01-04T00:00:00Z',
    '2024-01-06T00:00:00Z',
  ];

  it('gives identical states for every permutation, with or without duplicates', () => {
    const reference = new MappingTimeline(CLUSTER, pool);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(pool, { minLength: 0 }),
        fc.array(fc.nat({ max: pool.length - 1 }), { maxLength: 4 }),
        (subset, dupIdx) => {
          const list = [
            ...subset,
            ...dupIdx.map((i) => subset[i % Math.max(subset.length, 1)]).filter((c) => c !== undefined),
          ];
          const sorted = [...subset].sort((a, b) => (a.sourceEventId < b.sourceEventId ? -1 : 1));
          const a = new MappingTimeline(CLUSTER, list);
          const b = new MappingTimeline(CLUSTER, sorted);
          for (const at of instants) expect(view(a.stateAt(at))).toEqual(view(b.stateAt(at)));
        },
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.shuffledSubarray(pool, { minLength: pool.length, maxLength: pool.length }), (perm) => {
        const tl = new MappingTimeline(CLUSTER, perm);
        for (const at of instants) expect(view(tl.stateAt(at))).toEqual(view(reference.stateAt(at)));
      }),
      { numRuns: 200 },
    );
  });

  it('breaks same-instant ties by sourceEventId (p-upd2 after p-upd1; p-q-obs1 binds before p-q-obs2, both after p-put)', () => {
    const s = new MappingTimeline(CLUSTER, [...pool].reverse()).stateAt('2024-01-03T00:00:00Z');
    expect(s.accessEntries.get(KEY)).toMatchObject({ kubernetesGroups: ['y'], principalId: 'AROAONE' });
  });

  it('answers 10^5 lookups over a few thousand changes quickly', () => {
    const many: MappingChange[] = [];
    for (let i = 0; i < 3000; i++) {
      const at = new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
      const arn = `arn:aws:iam::012345678901:role/r${i % 200}`;
      many.push(
        i % 3 === 0
          ? change(
              at,
              {
                kind: 'access-entry-put',
                entry: { principalArn: arn, matchKey: arn.toLowerCase(), type: 'STANDARD', kubernetesGroups: [] },
              },
              `m${i}`,
            )
          : change(
              at,
              { kind: 'principal-id-observed', matchKey: arn.toLowerCase(), principalId: `AROA${i}` },
              `m${i}`,
            ),
      );
    }
    const tl = new MappingTimeline(CLUSTER, many);
    const start = performance.now();
    let total = 0;
    for (let i = 0; i < 100_000; i++) {
      total += tl.stateAt(new Date(Date.UTC(2024, 0, 1) + (i % 3000) * 60_000 + 1).toISOString()).accessEntries.size;
    }
    expect(total).toBeGreaterThan(0);
    // Generous bound for a shared 2-core machine; a fold per lookup would take minutes.
    expect(performance.now() - start).toBeLessThan(5_000);
  });
});

describe('instantMicros', () => {
  // The definition the hand-written reader must match.
  const reference = (at: string): number => {
    const ms = Date.parse(at);
    if (Number.isNaN(ms)) return Number.NaN;
    const frac = /T\d{2}:\d{2}:\d{2}\.(\d+)/.exec(at)?.[1] ?? '';
    return ms * 1000 + Number((frac.slice(3, 6) || '0').padEnd(3, '0'));
  };

  it.each([
    '2024-08-24T14:27:07.461683Z',
    '2024-08-24T14:27:07.4616Z',
    '2024-08-24T14:27:07.461Z',
    '2024-08-24T14:27:07.12+05:30',
    '2024-08-24T14:27:07.123456789-02:00',
    '2024-08-24T14:27:07Z',
    '2024-08-24T14:27:07+05:30',
    'not a time',
  ])('reads %s as the regex definition does', (at) => {
    expect(instantMicros(at)).toEqual(reference(at));
  });

  it('agrees with the regex definition on generated timestamps', () => {
    const frac = fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,9}$/));
    const zone = fc.constantFrom('Z', '+05:30', '-02:00', '+00:00', '');
    fc.assert(
      fc.property(fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }), frac, zone, (d, f, z) => {
        const at = `${d.toISOString().slice(0, 19)}${f}${z}`;
        expect(instantMicros(at)).toEqual(reference(at));
      }),
      { numRuns: 1_000 },
    );
  });
});
