/**
 * Field-by-field comparison of a product DecisionChain with the simulator's ground truth for the same
 * request. Pure: the end-to-end tests and the benchmark's agreement figure share it. A field is
 * either equal, a mismatch, or covered by one of the written UNKNOWABLE rules below (the truth knows
 * something no input states, so the product leaving it unknown is the right answer).
 */
import type { Authorizer, DecisionChain } from '../lib/chain/types.js';
import type { GroundTruth } from './scenario.js';

export interface FieldMismatch {
  field: string;
  expected: unknown;
  actual: unknown;
}

/** Every field compared, in report order. */
export const TRUTH_FIELDS = [
  'principal.canonicalArn',
  'principal.principalId',
  'principal.accessKeyId',
  'human.identity',
  'human.via',
  'human.chain',
  'human.workload',
  'mapping.source',
  'mapping.key',
  'k8s.username',
  'k8s.groups',
  'k8s.impersonated',
  'decision.outcome',
  'decision.authorizer',
  'decision.failedStage',
] as const;

export type TruthField = (typeof TRUTH_FIELDS)[number];

/**
 * Fields the product may leave unknown for a request, with the reason the information is absent from
 * every input. The product must then say nothing (undefined, or for the failed stage the generic
 * `authentication`, which FailedStage defines as "401 with no authenticator detail"): a wrong value
 * is still a mismatch.
 */
export interface UnknowableRule {
  name: string;
  fields: readonly TruthField[];
  applies: (truth: GroundTruth, chain: DecisionChain) => boolean;
  reason: string;
}

export const UNKNOWABLE: readonly UnknowableRule[] = [
  {
    name: 'ambiguous-401',
    fields: [
      'principal.canonicalArn',
      'principal.principalId',
      'principal.accessKeyId',
      'human.identity',
      'human.via',
      'human.chain',
      'mapping.source',
      'mapping.key',
      'decision.failedStage',
    ],
    applies: (truth, chain) =>
      truth.outcome === 'authn-failed' &&
      chain.decision.value?.outcome === 'authn-failed' &&
      chain.decision.value.denial?.stage === 'authentication',
    reason:
      'A 401 audit event carries no user (docs/formats.md §2.4): who was denied and why is only on the authenticator ' +
      '`access denied` line, which shares no id with the request and can be joined by time alone. When several ' +
      '401s and denials of one cluster overlap in time, no input says which denial belongs to which request ' +
      '(the authenticator `client` is the API server, not the user), so the product rightly leaves these links ' +
      'unknown instead of guessing.',
  },
];

const UNKNOWN_VALUES: Partial<Record<TruthField, unknown>> = { 'decision.failedStage': 'authentication' };

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The product's mapping key in the ground truth's terms (see GroundTruth.mappingKey). */
const productMappingKey = (chain: DecisionChain): string | undefined => {
  const m = chain.mapping.value;
  if (!m) return undefined;
  switch (m.source) {
    case 'access-entry':
      return m.accessEntry?.principalArn;
    case 'aws-auth-role':
    case 'aws-auth-user':
      return m.awsAuthRow?.arn;
    case 'aws-auth-account':
      // mapAccounts admits a principal only when its own account is listed, so the key is that account.
      return chain.principal.value?.accountId;
    case 'cluster-creator':
      // API modes: the bootstrap access entry; CONFIG_MAP: the invisible grant to the creator itself.
      return m.accessEntry?.principalArn ?? chain.principal.value?.canonicalArn;
    case 'eks-internal':
      return chain.principal.value?.canonicalArn;
    case 'oidc-provider':
      return m.oidcProvider?.name;
    default:
      return undefined;
  }
};

/** The workload fields both sides state: where the pod runs, its service account, pod and association. */
const workloadOf = (w: {
  kind: string;
  cluster?: string;
  accountId?: string;
  namespace: string;
  serviceAccount: string;
  pod?: string;
  association?: string;
}) => {
  const out: Record<string, string> = {
    kind: w.kind,
    cluster: w.cluster ?? '',
    accountId: w.accountId ?? '',
    namespace: w.namespace,
    serviceAccount: w.serviceAccount,
  };
  if (w.pod) out['pod'] = w.pod;
  if (w.association) out['association'] = w.association;
  return out;
};

/** What the product says for each field (undefined = the product does not know or has no value). */
export const productFields = (chain: DecisionChain | undefined): Record<TruthField, unknown> => {
  const p = chain?.principal.value;
  const h = chain?.human.status === 'unknown' ? undefined : chain?.human.value;
  const m = chain?.mapping.status === 'unknown' ? undefined : chain?.mapping.value;
  const k = chain?.k8sIdentity.value;
  const d = chain?.decision.value;
  return {
    'principal.canonicalArn': p?.canonicalArn,
    'principal.principalId': p?.principalId,
    'principal.accessKeyId': p?.accessKeyId,
    'human.identity': h?.identity,
    'human.via': h?.via,
    'human.chain': h?.chain,
    'human.workload': h?.workload
      ? workloadOf({
          ...h.workload,
          ...(h.workload.association?.associationId ? { association: h.workload.association.associationId } : {}),
        } as Parameters<typeof workloadOf>[0])
      : undefined,
    'mapping.source': m?.source,
    'mapping.key': chain && m ? productMappingKey(chain) : undefined,
    'k8s.username': k?.username,
    'k8s.groups': k?.groups ?? [],
    'k8s.impersonated': k?.impersonated
      ? { username: k.impersonated.username, groups: k.impersonated.groups }
      : undefined,
    'decision.outcome': d?.outcome,
    'decision.authorizer': d?.authorizer,
    'decision.failedStage': d?.denial?.stage,
  };
};

/**
 * A token rejected before STS answered (failed stage `token` or `sts`) never reached a mapper: the
 * truth records that as `unmapped` (no mapping applied), the product as no mapping link at all, because
 * `unmapped` there means "verified, and no mapping matched" (docs/formats.md §1.3: the denial line names no ARN).
 */
const NO_MAPPER_RAN = new Set(['token', 'sts']);

/**
 * The simulator names the built-in authorizer that admits `system:masters` after its Kubernetes source
 * (`privileged-group`); the product names it after the group it admits. Same authorizer.
 */
export const productAuthorizer = (a: GroundTruth['authorizer']): Authorizer =>
  a === 'privileged-group' ? 'system:masters' : a;

/** What the ground truth says for each field. */
export const truthFields = (t: GroundTruth): Record<TruthField, unknown> => ({
  'principal.canonicalArn': t.canonicalArn,
  'principal.principalId': t.principalId,
  'principal.accessKeyId': t.accessKeyId,
  'human.identity': t.human?.identity,
  'human.via': t.human?.via,
  'human.chain': t.human?.chain,
  'human.workload': t.human?.workload ? workloadOf(t.human.workload) : undefined,
  'mapping.source': t.failedStage && NO_MAPPER_RAN.has(t.failedStage) ? undefined : t.mappingSource,
  'mapping.key': t.mappingKey,
  'k8s.username': t.username,
  'k8s.groups': t.groups,
  'k8s.impersonated': t.impersonated ? { username: t.impersonated.username, groups: t.impersonated.groups } : undefined,
  'decision.outcome': t.outcome,
  'decision.authorizer': productAuthorizer(t.authorizer),
  'decision.failedStage': t.failedStage,
});

/** Mismatches, and the UNKNOWABLE rules that excused a field the product left unknown. */
export const compareChainToTruthDetailed = (
  chain: DecisionChain | undefined,
  truth: GroundTruth,
): { mismatches: FieldMismatch[]; excusedBy: string[] } => {
  if (!chain) return { mismatches: [{ field: 'chain', expected: truth.auditID, actual: undefined }], excusedBy: [] };
  const expected = truthFields(truth);
  const actual = productFields(chain);
  const mismatches: FieldMismatch[] = [];
  const excusedBy = new Set<string>();
  for (const field of TRUTH_FIELDS) {
    const e = expected[field];
    const a = actual[field];
    if (sameValue(e, a)) continue;
    const saysNothing = a === undefined || (field in UNKNOWN_VALUES && sameValue(a, UNKNOWN_VALUES[field]));
    const rule = saysNothing ? UNKNOWABLE.find((r) => r.fields.includes(field) && r.applies(truth, chain)) : undefined;
    if (rule) excusedBy.add(rule.name);
    else mismatches.push({ field, expected: e, actual: a });
  }
  return { mismatches, excusedBy: [...excusedBy] };
};

/** Mismatches between a chain and the truth of its request; [] means full agreement. */
export const compareChainToTruth = (chain: DecisionChain | undefined, truth: GroundTruth): FieldMismatch[] =>
  compareChainToTruthDetailed(chain, truth).mismatches;

export interface MismatchClass {
  field: string;
  /** How the values differ, e.g. `aws-auth-role -> access-entry` or `set -> missing`. */
  shape: string;
  count: number;
  /** Up to 5 auditIDs, for looking the requests up. */
  examples: string[];
}

export interface AgreementReport {
  requests: number;
  /** Requests where every field agrees. */
  agreeing: number;
  /** agreeing / requests (1 when there are no requests). */
  agreement: number;
  /** Per field: requests whose field agreed. */
  fieldAgreement: Record<string, { agreeing: number; requests: number }>;
  classes: MismatchClass[];
  /** Requests that agree only because an UNKNOWABLE rule excused a field, by rule name. */
  excused: Record<string, number>;
}

const shapeOf = (m: FieldMismatch): string => {
  const show = (v: unknown) => (v === undefined ? 'missing' : typeof v === 'string' ? v : JSON.stringify(v));
  // Values that are identifiers per request would make every mismatch its own class: keep the shape.
  if (/principalId|accessKeyId|canonicalArn|identity|key|username|chain|workload/.test(m.field)) {
    return `${m.expected === undefined ? 'missing' : 'set'} -> ${m.actual === undefined ? 'missing' : 'different'}`;
  }
  return `${show(m.expected)} -> ${show(m.actual)}`;
};

/** Agreement figures and mismatch classes over (chain, truth) pairs. */
export const agreementReport = (
  pairs: Iterable<{ chain: DecisionChain | undefined; truth: GroundTruth }>,
): AgreementReport => {
  let requests = 0;
  let agreeing = 0;
  const fieldAgreement: AgreementReport['fieldAgreement'] = {};
  for (const f of ['chain', ...TRUTH_FIELDS]) fieldAgreement[f] = { agreeing: 0, requests: 0 };
  const classes = new Map<string, MismatchClass>();
  const excused: Record<string, number> = {};
  for (const { chain, truth } of pairs) {
    requests++;
    const { mismatches, excusedBy } = compareChainToTruthDetailed(chain, truth);
    for (const r of excusedBy) excused[r] = (excused[r] ?? 0) + 1;
    if (mismatches.length === 0) agreeing++;
    const bad = new Set(mismatches.map((m) => m.field));
    for (const f of Object.keys(fieldAgreement)) {
      const fa = fieldAgreement[f] as { agreeing: number; requests: number };
      fa.requests++;
      if (!bad.has(f)) fa.agreeing++;
    }
    for (const m of mismatches) {
      const shape = shapeOf(m);
      const key = `${m.field}\u0000${shape}`;
      const c = classes.get(key) ?? { field: m.field, shape, count: 0, examples: [] };
      c.count++;
      if (c.examples.length < 5) c.examples.push(truth.auditID);
      classes.set(key, c);
    }
  }
  return {
    requests,
    agreeing,
    agreement: requests === 0 ? 1 : agreeing / requests,
    fieldAgreement,
    classes: [...classes.values()].sort((a, b) => b.count - a.count || (a.field < b.field ? -1 : 1)),
    excused,
  };
};
