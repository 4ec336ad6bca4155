import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DecisionChain } from '../../lib/chain/types.js';
import type { GroundTruth } from '../../sim/index.js';
import {
  agreementReport,
  compareChainToTruth,
  compareChainToTruthDetailed,
  productAuthorizer,
  TRUTH_FIELDS,
} from '../../sim/truth-compare.js';

const truths = readFileSync(new URL('../../samples/ground-truth.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as GroundTruth);
const find = (p: (t: GroundTruth) => boolean): GroundTruth => {
  const t = truths.find(p);
  if (!t) throw new Error('no such truth in the samples');
  return t;
};

/** The chain a correct product would build for `t` (only the links the comparison reads). */
const chainFor = (t: GroundTruth): DecisionChain => {
  const link = <T>(value: T | undefined) =>
    value === undefined
      ? { status: 'unknown' as const, why: 'test', evidence: [] }
      : { status: 'derived' as const, value, why: 'test', evidence: [] };
  const mappingValue: NonNullable<DecisionChain['mapping']['value']> = { source: t.mappingSource };
  if (t.mappingSource === 'oidc-provider')
    mappingValue.oidcProvider = {
      name: t.mappingKey as string,
      issuerUrl: 'https://issuer.test',
      usernameClaim: 'email',
      usernamePrefix: '',
    };
  if (t.mappingSource === 'access-entry' || (t.mappingSource === 'cluster-creator' && t.mappingKey !== t.canonicalArn))
    mappingValue.accessEntry = {
      principalArn: t.mappingKey as string,
      type: 'STANDARD',
      kubernetesGroups: [],
      policies: [],
    };
  if (t.mappingSource === 'aws-auth-role' || t.mappingSource === 'aws-auth-user')
    mappingValue.awsAuthRow = {
      kind: t.mappingSource === 'aws-auth-role' ? 'role' : 'user',
      arn: t.mappingKey as string,
      matchKey: (t.mappingKey as string).toLowerCase(),
      groups: [],
      flags: [],
      index: 0,
    };
  const noMapper = t.failedStage === 'token' || t.failedStage === 'sts';
  const k8s: NonNullable<DecisionChain['k8sIdentity']['value']> = { groups: [...t.groups] };
  if (t.username !== undefined) k8s.username = t.username;
  if (t.impersonated) k8s.impersonated = { ...t.impersonated };
  const decision: NonNullable<DecisionChain['decision']['value']> = {
    outcome: t.outcome,
    authorizer: productAuthorizer(t.authorizer),
  };
  if (t.failedStage) decision.denial = { stage: t.failedStage };
  const principal: NonNullable<DecisionChain['principal']['value']> = { type: 'assumed-role' };
  if (t.canonicalArn) {
    principal.canonicalArn = t.canonicalArn;
    principal.accountId = t.canonicalArn.split(':')[4] as string;
  }
  if (t.principalId) principal.principalId = t.principalId;
  if (t.accessKeyId) principal.accessKeyId = t.accessKeyId;
  return {
    chainId: `${t.cluster}#${t.auditID}`,
    kind: 'request',
    cluster: t.cluster,
    at: t.at,
    auditID: t.auditID,
    principal: link(principal),
    human: link(
      t.human
        ? (() => {
            const { workload, ...rest } = t.human;
            if (!workload) return { ...rest };
            const { association, ...w } = workload;
            return {
              ...rest,
              workload: {
                ...w,
                ...(association
                  ? {
                      association: { status: 'derived' as const, associationId: association, roleArn: '', why: 'test' },
                    }
                  : {}),
              },
            };
          })()
        : undefined,
    ),
    mapping: link(noMapper ? undefined : mappingValue),
    k8sIdentity: link(k8s),
    decision: link(decision),
    request: link({ sourceIPs: [], truncated: false }),
    pendingEnrichment: false,
  };
};

const sso = find((t) => t.mappingSource === 'access-entry' && t.human?.via === 'sso-session');

describe('compareChainToTruth', () => {
  it('finds no mismatch for a chain that says what the truth says, for every bundled request', () => {
    for (const t of truths) expect(compareChainToTruth(chainFor(t), t), t.auditID).toEqual([]);
  });

  it.each<[string, (c: DecisionChain) => void, unknown]>([
    [
      'principal.canonicalArn',
      (c) => (c.principal.value!.canonicalArn = 'arn:aws:iam::1:role/x'),
      'arn:aws:iam::1:role/x',
    ],
    ['principal.principalId', (c) => delete c.principal.value!.principalId, undefined],
    ['principal.accessKeyId', (c) => (c.principal.value!.accessKeyId = 'ASIAOTHER'), 'ASIAOTHER'],
    ['human.identity', (c) => (c.human.value!.identity = 'mallory@example.com'), 'mallory@example.com'],
    ['human.via', (c) => (c.human.value!.via = 'saml'), 'saml'],
    ['mapping.source', (c) => (c.mapping.value!.source = 'cluster-creator'), 'cluster-creator'],
    [
      'mapping.key',
      (c) => (c.mapping.value!.accessEntry!.principalArn = 'arn:aws:iam::1:role/y'),
      'arn:aws:iam::1:role/y',
    ],
    ['k8s.username', (c) => (c.k8sIdentity.value!.username = 'someone'), 'someone'],
    ['k8s.groups', (c) => c.k8sIdentity.value!.groups.reverse().push('x'), undefined],
    ['decision.outcome', (c) => (c.decision.value!.outcome = 'forbid'), 'forbid'],
    ['decision.authorizer', (c) => (c.decision.value!.authorizer = 'rbac'), 'rbac'],
  ])('reports a wrong %s by its field name', (field, mutate, actual) => {
    const chain = chainFor(sso);
    mutate(chain);
    const m = compareChainToTruth(chain, sso);
    expect(m.map((x) => x.field)).toEqual([field]);
    if (actual !== undefined) expect(m[0]?.actual).toEqual(actual);
  });

  it('reports a missing chain', () => {
    expect(compareChainToTruth(undefined, sso)).toEqual([{ field: 'chain', expected: sso.auditID, actual: undefined }]);
  });

  it('counts an unknown human link as saying nothing, not as its stale value', () => {
    const chain = chainFor(sso);
    chain.human = { ...chain.human, status: 'unknown' };
    expect(compareChainToTruth(chain, sso).map((m) => m.field)).toEqual(['human.identity', 'human.via']);
  });

  it('takes a mapAccounts key from the principal account and a CONFIG_MAP creator key from the principal', () => {
    const acct = find((t) => t.mappingSource === 'aws-auth-account');
    expect(compareChainToTruth(chainFor(acct), acct)).toEqual([]);
    const wrong = chainFor(acct);
    wrong.principal.value!.accountId = '000000000000';
    expect(compareChainToTruth(wrong, acct).map((m) => m.field)).toEqual(['mapping.key']);
  });

  it('expects no mapping for a token rejected before any mapper ran, and the stage the authenticator gave', () => {
    const token = find((t) => t.failedStage === 'token' || t.failedStage === 'sts');
    const chain = chainFor(token);
    expect(chain.mapping.status).toBe('unknown');
    expect(compareChainToTruth(chain, token)).toEqual([]);
    chain.decision.value!.denial = { stage: 'unmapped' };
    expect(compareChainToTruth(chain, token)).toEqual([
      { field: 'decision.failedStage', expected: token.failedStage, actual: 'unmapped' },
    ]);
  });
});

describe('unknowable: a 401 the product could not join to its denial', () => {
  const denied = find((t) => t.outcome === 'authn-failed' && t.failedStage === 'unmapped' && !!t.canonicalArn);
  /** What the product says for a 401 when time alone cannot pick the denial. */
  const unjoined = (): DecisionChain => {
    const c = chainFor(denied);
    c.principal = { status: 'unknown', value: { type: 'unknown' }, why: 'test', evidence: [] };
    c.human = { status: 'unknown', why: 'test', evidence: [] };
    c.mapping = { status: 'unknown', why: 'test', evidence: [] };
    c.decision.value!.denial = { stage: 'authentication' };
    return c;
  };

  it('accepts the links left unknown, and says which rule excused them', () => {
    expect(compareChainToTruthDetailed(unjoined(), denied)).toEqual({ mismatches: [], excusedBy: ['ambiguous-401'] });
  });

  it.each<[string, (c: DecisionChain) => void, string]>([
    [
      'a wrong principal',
      (c) => (c.principal.value!.canonicalArn = 'arn:aws:iam::1:role/other'),
      'principal.canonicalArn',
    ],
    ['a wrong failed stage', (c) => (c.decision.value!.denial = { stage: 'token' }), 'decision.failedStage'],
  ])('still reports %s', (_kind, mutate, field) => {
    const c = unjoined();
    mutate(c);
    expect(compareChainToTruth(c, denied).map((m) => m.field)).toContain(field);
  });

  it('excuses nothing on a request that authenticated', () => {
    const allowed = find((t) => t.outcome === 'allow' && !!t.canonicalArn);
    const c = chainFor(allowed);
    delete c.principal.value!.canonicalArn;
    expect(compareChainToTruth(c, allowed).map((m) => m.field)).toEqual(['principal.canonicalArn']);
  });
});

describe('agreementReport', () => {
  it('gives the agreement figure, per-field agreement and mismatch classes with examples', () => {
    const pairs = truths.map((truth) => ({ chain: chainFor(truth), truth }));
    const bad = pairs.filter((p) => p.truth.outcome === 'allow').slice(0, 7);
    for (const p of bad) p.chain.decision.value!.outcome = 'forbid';
    const r = agreementReport([...pairs, { chain: undefined, truth: sso }]);
    expect(r.requests).toBe(truths.length + 1);
    expect(r.agreeing).toBe(truths.length - 7);
    expect(r.agreement).toBeCloseTo((truths.length - 7) / (truths.length + 1));
    expect(r.fieldAgreement['decision.outcome']).toEqual({ agreeing: truths.length - 6, requests: truths.length + 1 });
    expect(Object.keys(r.fieldAgreement)).toEqual(['chain', ...TRUTH_FIELDS]);
    expect(r.classes[0]).toEqual({
      field: 'decision.outcome',
      shape: 'allow -> forbid',
      count: 7,
      examples: bad.slice(0, 5).map((p) => p.truth.auditID),
    });
    expect(r.classes[1]).toMatchObject({ field: 'chain', shape: 'set -> missing', count: 1 });
  });

  it('is 100% for no requests', () => {
    expect(agreementReport([])).toMatchObject({ requests: 0, agreeing: 0, agreement: 1, classes: [], excused: {} });
  });
});
