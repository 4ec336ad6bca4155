import { MAPPING_RULE_IDS, SEVERITIES, type Severity } from '../alerts/types.js';
import { canonicalizeArn } from '../identity/arn.js';
import { fail, failWith, type Issue, isNonEmpty, issue, ok, type ParseResult } from '../result.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './paging.js';
import { parseInstant, parseTimeRange, type QuestionWindow } from './time-range.js';

/**
 * The questions and their parameters, validated once for both consumers (CLI arguments and query API
 * JSON / GET parameters arrive as the same flat map of strings). Unknown parameters are refused so a
 * typo (`--namspace`) never silently widens an answer.
 */

export const QUESTIONS = [
  'who-did',
  'explain',
  'denied',
  'access-at',
  'mappings-history',
  'touched',
  'alerts',
  'workloads',
] as const;
export type QuestionName = (typeof QUESTIONS)[number];

/** Every outcome a row can show (`unknown`: the record does not say, e.g. a truncated event). */
export const OUTCOMES = ['allow', 'forbid', 'authn-failed', 'unknown'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const DENIAL_STAGES = [
  'token',
  'sts',
  'unmapped',
  'template',
  'reserved-prefix',
  'authentication',
  'authorization',
] as const;

export const ACCESS_KINDS = ['read', 'write', 'any'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

const READ_VERBS = new Set(['get', 'list', 'watch']);
export const isWriteVerb = (verb: string | undefined): boolean => verb !== undefined && !READ_VERBS.has(verb);

export interface Paging {
  limit: number;
  cursor?: string;
  /**
   * The caller fixed the window (both `from` and `to`) or the instant (`at`). Otherwise it was read off
   * the clock, and a cursor resumes over the window of the listing's first page instead (see run.ts).
   */
  clockFree?: boolean;
}

export interface PrincipalFilter {
  /** As given. */
  arn: string;
  /** Lower-cased canonical ARN (assumed-role -> role). */
  matchKey: string;
  canonicalArn: string;
  /** Set when an assumed-role ARN was given: only that session's requests. */
  sessionName?: string;
}

/** `<namespace>/<name>` of a service account or a pod. */
export interface NamespacedName {
  namespace: string;
  name: string;
}

/**
 * What `touched` lists. `resource` is the plural without its group; `apiGroup` is set when the target
 * named one (`deployments.apps`), and a bare plural matches any group. An object without `namespace`
 * is cluster-scoped; a kind with `clusterScope` lists requests made at cluster scope only (`/pods`:
 * lists across all namespaces), without it and without `namespace` requests anywhere.
 */
export type TouchedTarget =
  | {
      kind: 'object';
      namespace?: string;
      resource: string;
      apiGroup?: string;
      subresource?: string;
      name: string;
    }
  | { kind: 'namespace'; namespace: string }
  | { kind: 'resource'; resource: string; apiGroup?: string; namespace?: string; clusterScope?: boolean };

export type QuestionParams =
  | ({
      question: 'who-did';
      cluster?: string;
      range: QuestionWindow;
      principal?: PrincipalFilter;
      human?: string;
      k8sUser?: string;
      /** Requests made with the IAM sessions of this service account of `cluster` (Pod Identity, IRSA). */
      serviceAccount?: NamespacedName;
      /** Requests made with the Pod Identity sessions of this pod of `cluster`. */
      pod?: NamespacedName;
      verbs?: string[];
      resource?: string;
      namespace?: string;
      outcome?: Outcome;
    } & Paging)
  | { question: 'explain'; cluster?: string; auditId: string; at?: string }
  | ({
      question: 'denied';
      cluster?: string;
      range: QuestionWindow;
      stage?: string;
      principal?: PrincipalFilter;
    } & Paging)
  | ({ question: 'access-at'; cluster?: string; at: string; principal?: PrincipalFilter } & Paging)
  | ({ question: 'mappings-history'; cluster?: string; range: QuestionWindow; principal?: PrincipalFilter } & Paging)
  | ({
      question: 'touched';
      cluster?: string;
      range: QuestionWindow;
      target: TouchedTarget;
      access: AccessKind;
    } & Paging)
  | ({
      question: 'alerts';
      cluster?: string;
      range: QuestionWindow;
      /** Only these severities (absent: all). */
      severities?: Severity[];
      /** Only these rules (absent: all). */
      rules?: string[];
      /**
       * Evaluate the rules and suppressions over the stored history instead of listing the ledger. Needs
       * the alert configuration, which only the CLI has (lib/query/alerts-rerun.ts); the query API refuses it.
       */
      rerun?: boolean;
    } & Paging)
  | ({
      question: 'workloads';
      /** Only pods of this cluster. */
      cluster?: string;
      /** The IAM role the service accounts could act as. */
      role: PrincipalFilter;
      /** Associations in force at range.to; sessions issued within range. */
      range: QuestionWindow;
    } & Paging);

const ALLOWED: Record<QuestionName, readonly string[]> = {
  'who-did': ['principal', 'human', 'k8s-user', 'service-account', 'pod', 'verb', 'resource', 'namespace', 'outcome'],
  explain: ['audit-id', 'at'],
  denied: ['stage', 'principal'],
  'access-at': ['at', 'principal'],
  'mappings-history': ['principal'],
  touched: ['target', 'access'],
  alerts: ['severity', 'rule', 'rerun'],
  workloads: ['role', 'at', 'since'],
};
const RANGED = new Set<QuestionName>(['who-did', 'denied', 'mappings-history', 'touched', 'alerts']);
const PAGED = new Set<QuestionName>([
  'who-did',
  'denied',
  'access-at',
  'mappings-history',
  'touched',
  'alerts',
  'workloads',
]);

const NAMESPACED = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/;

/** `<namespace>/<name>`, both Kubernetes object names. */
export const parseNamespacedName = (text: string, param: string): ParseResult<NamespacedName> => {
  const m = NAMESPACED.exec(text.trim());
  if (!m) return fail(text, bad(param, `"${text}" is not <namespace>/<name>`));
  return ok({ namespace: m[1] as string, name: m[3] as string });
};

/** Accept camelCase from JSON callers as well as the CLI's kebab-case. */
const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const bad = (param: string, message: string): Issue => issue('QUERY_PARAM', `${param}: ${message}`, param);

const oneOf = <T extends string>(param: string, v: string, choices: readonly T[]): ParseResult<T> =>
  (choices as readonly string[]).includes(v)
    ? ok(v as T)
    : fail(v, bad(param, `"${v}" is not one of ${choices.join(', ')}`));

/** `arn:<partition>:iam::<account>:*`: how access-at prints an aws-auth mapAccounts row (any principal of the account). */
const ACCOUNT_WILDCARD = /^arn:aws[a-z-]*:iam::\d{12}:\*$/;

export const parsePrincipal = (
  arn: string,
  param = 'principal',
  opts: { accountWildcard?: boolean } = {},
): ParseResult<PrincipalFilter> => {
  if (opts.accountWildcard && ACCOUNT_WILDCARD.test(arn)) {
    return ok({ arn, matchKey: arn.toLowerCase(), canonicalArn: arn });
  }
  const r = canonicalizeArn(arn);
  if (!r.ok) {
    return fail(
      arn,
      bad(param, `${r.issues[0]?.message ?? 'not a principal ARN'} (give an IAM role, user or sts assumed-role ARN)`),
    );
  }
  const f: PrincipalFilter = { arn, matchKey: r.value.matchKey, canonicalArn: r.value.canonicalArn };
  if (r.value.type === 'assumed-role' && r.value.sessionName) f.sessionName = r.value.sessionName;
  return ok(f);
};

/** `deployments.apps` -> resource and group: a resource plural has no dot, a group always has one. */
export const splitResource = (text: string): { resource: string; apiGroup?: string } => {
  const dot = text.indexOf('.');
  return dot < 0 ? { resource: text } : { resource: text.slice(0, dot), apiGroup: text.slice(dot + 1) };
};

const TARGET_USAGE =
  'use ns/resource[.group][/subresource]/name, /resource[.group]/name at cluster scope, ns/resource, /resource, namespace/<ns> or <resource>';

/**
 * Every target the answers print is accepted back (lib/query/chain-rows.ts targetOf):
 *  - `ns/resource[.group]/name`, `ns/resource[.group]/subresource/name`: an object (the subresource
 *    form only its subresource requests);
 *  - `/resource[.group]/name`, `/resource[.group]/subresource/name` (or `-/…`): a cluster-scoped object,
 *    namespaces included (`/namespaces/payments`);
 *  - `ns/resource[.group]`: a kind inside a namespace; `/resource[.group]`: a kind at cluster scope;
 *  - `namespace/<ns>` (or `namespaces/<ns>`, `<ns>/`): everything in a namespace;
 *  - `<resource>[.group]`: a kind anywhere.
 */
export const parseTouchedTarget = (text: string): ParseResult<TouchedTarget> => {
  const t = text.trim();
  const refuse = (why: string) => fail(text, bad('target', `"${text}" ${why} (${TARGET_USAGE})`));
  if (t === '' || /\s/.test(t)) return refuse('is not a target');
  if (t.startsWith('namespace/') || t.startsWith('namespaces/')) {
    const ns = t.slice(t.indexOf('/') + 1);
    if (!ns || ns.includes('/')) return refuse('names no namespace');
    return ok({ kind: 'namespace', namespace: ns });
  }
  if (t.endsWith('/') && t.split('/').length === 2 && t !== '/') {
    return ok({ kind: 'namespace', namespace: t.slice(0, -1) });
  }
  const parts = t.split('/');
  if (parts.length > 4) return refuse('has too many segments');
  if (parts.some((p, i) => p === '' && i > 0)) return refuse('has an empty segment');
  if (parts.length === 1) return ok({ kind: 'resource', ...splitResource(t) });
  const [first = '', kind = '', ...rest] = parts;
  const clusterScope = first === '' || first === '-';
  const res = splitResource(kind);
  if (res.resource === '' || res.apiGroup === '') return refuse('names no resource');
  const where = clusterScope ? {} : { namespace: first };
  if (rest.length === 0) {
    return ok({ kind: 'resource', ...res, ...where, ...(clusterScope ? { clusterScope: true } : {}) });
  }
  const [a = '', b] = rest;
  return ok(
    b === undefined
      ? { kind: 'object', ...res, ...where, name: a }
      : { kind: 'object', ...res, ...where, subresource: a, name: b },
  );
};

/**
 * `critical,high`, or `high+` for high and everything more severe: an analyst asks for "high and up"
 * more often than for one level.
 */
export const parseSeverities = (text: string): ParseResult<Severity[]> => {
  const out = new Set<Severity>();
  for (const part of text
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean)) {
    const orMore = part.endsWith('+');
    const name = orMore ? part.slice(0, -1) : part;
    const r = oneOf('severity', name, SEVERITIES);
    if (!r.ok)
      return fail(
        text,
        bad('severity', `"${part}" is not one of ${SEVERITIES.join(', ')} (add + for "or more severe")`),
      );
    const rank = SEVERITIES.indexOf(r.value);
    for (const s of orMore ? SEVERITIES.slice(0, rank + 1) : [r.value]) out.add(s);
  }
  if (out.size === 0) return fail(text, bad('severity', 'names no severity'));
  return ok(SEVERITIES.filter((s) => out.has(s)));
};

const str = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(String).join(',');
  return undefined;
};

/** The parameters every question shares, parsed; `take` records the issues of what is parsed next. */
interface ParamsSoFar {
  p: ReadonlyMap<string, string>;
  take: <T>(r: ParseResult<T>) => T | undefined;
  issues: Issue[];
  paging: Paging;
  range: QuestionWindow | undefined;
  principal: PrincipalFilter | undefined;
  cluster: string | undefined;
  withCluster: <T extends object>(o: T) => T & { cluster?: string };
  now: number;
}

/** Validate raw parameters (strings, or JSON scalars) of one question. `now` anchors relative windows. */
export const parseQuestionParams = (
  questionText: string,
  raw: Record<string, unknown>,
  now: number,
): ParseResult<QuestionParams> => {
  const rawText = JSON.stringify({ question: questionText, params: raw });
  const qr = oneOf('question', questionText === 'mappings' ? 'mappings-history' : questionText, QUESTIONS);
  if (!qr.ok) return fail(rawText, ...qr.issues);
  const question = qr.value;
  const p = new Map<string, string>();
  const allowed = new Set([
    'cluster',
    ...ALLOWED[question],
    ...(RANGED.has(question) ? ['since', 'from', 'to'] : []),
    ...(PAGED.has(question) ? ['limit', 'cursor'] : []),
  ]);
  for (const [k, v] of Object.entries(raw)) {
    const key = kebab(k);
    if (v === undefined || v === null || v === '') continue;
    if (!allowed.has(key)) {
      return fail(rawText, bad(key, `not a parameter of ${question} (valid: ${[...allowed].join(', ')})`));
    }
    const s = str(v);
    if (s === undefined) return fail(rawText, bad(key, 'must be a string'));
    p.set(key, s);
  }
  const issues: Issue[] = [];
  const take = <T>(r: ParseResult<T>): T | undefined => {
    if (r.ok) return r.value;
    issues.push(...r.issues);
    return undefined;
  };
  const cluster = p.get('cluster');
  if (cluster !== undefined && !/^(\d{12}\/)?[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(cluster)) {
    issues.push(bad('cluster', `"${cluster}" is not a cluster name or <account-id>/<name>`));
  }
  let limit = DEFAULT_LIMIT;
  const limitText = p.get('limit');
  if (limitText !== undefined) {
    const n = Number(limitText);
    if (!/^\d+$/.test(limitText) || n < 1 || n > MAX_LIMIT)
      issues.push(bad('limit', `must be an integer from 1 to ${MAX_LIMIT}`));
    else limit = n;
  }
  const cursor = p.get('cursor');
  const paging: Paging = cursor === undefined ? { limit } : { limit, cursor };
  if (question === 'access-at' || question === 'workloads' ? p.has('at') : p.has('from') && p.has('to'))
    paging.clockFree = true;
  const range = RANGED.has(question)
    ? take(
        parseTimeRange(
          { since: p.get('since'), from: p.get('from'), to: p.get('to') } as Record<string, string | undefined>,
          now,
          // Mapping history and object history are asked over long periods; requests over the last day.
          // Alerts are rare and looked back on over weeks ("what fired last month").
          question === 'mappings-history' ? '3650d' : question === 'touched' || question === 'alerts' ? '30d' : '24h',
        ),
      )
    : undefined;
  const principalText = p.get('principal');
  // Mapping questions print mapAccounts rows as the account's wildcard ARN and accept it back.
  const accountWildcard = question === 'access-at' || question === 'mappings-history';
  const principal =
    principalText === undefined ? undefined : take(parsePrincipal(principalText, 'principal', { accountWildcard }));
  const withCluster = <T extends object>(o: T): T & { cluster?: string } =>
    cluster === undefined ? o : { ...o, cluster };

  const soFar: ParamsSoFar = { p, take, issues, paging, range, principal, cluster, withCluster, now };
  const out = PARAMS_OF[question](soFar);
  if (isNonEmpty(issues)) return failWith(rawText, issues);
  if (out === undefined) return fail(rawText, bad('question', 'not answered'));
  return ok(out);
};

const whoDidParams = ({
  p,
  take,
  issues,
  paging,
  range,
  principal,
  cluster,
  withCluster,
}: ParamsSoFar): QuestionParams => {
  const outcomeText = p.get('outcome');
  const outcome = outcomeText === undefined ? undefined : take(oneOf('outcome', outcomeText, OUTCOMES));
  const verbText = p.get('verb');
  const verbs = verbText
    ?.split(',')
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);
  const q: QuestionParams = withCluster({ question: 'who-did' as const, range: range as QuestionWindow, ...paging });
  if (principal) q.principal = principal;
  const human = p.get('human');
  if (human !== undefined) q.human = human;
  const k8sUser = p.get('k8s-user');
  if (k8sUser !== undefined) q.k8sUser = k8sUser;
  const saText = p.get('service-account');
  const serviceAccount = saText === undefined ? undefined : take(parseNamespacedName(saText, 'service-account'));
  if (serviceAccount) q.serviceAccount = serviceAccount;
  const podText = p.get('pod');
  const pod = podText === undefined ? undefined : take(parseNamespacedName(podText, 'pod'));
  if (pod) q.pod = pod;
  const workload = saText !== undefined || podText !== undefined;
  if ([principal, human, k8sUser, workload || undefined].filter((x) => x !== undefined).length > 1) {
    issues.push(bad('principal', 'give one of principal, human, k8s-user, service-account / pod'));
  }
  if (workload && cluster === undefined) {
    issues.push(bad('cluster', 'required with service-account and pod: the cluster the pod runs on'));
  }
  if (serviceAccount && pod && serviceAccount.namespace !== pod.namespace) {
    issues.push(bad('pod', 'a pod and its service account share a namespace'));
  }
  if (verbs?.length) q.verbs = verbs;
  const resource = p.get('resource');
  if (resource !== undefined) q.resource = resource;
  const namespace = p.get('namespace');
  if (namespace !== undefined) q.namespace = namespace;
  if (outcome) q.outcome = outcome;
  return q;
};

const explainParams = ({ p, take, issues, withCluster }: ParamsSoFar): QuestionParams => {
  const auditId = p.get('audit-id');
  if (auditId === undefined) issues.push(bad('audit-id', 'required (the auditID of the request to explain)'));
  else if (!/^[A-Za-z0-9#._:-]{1,200}$/.test(auditId)) issues.push(bad('audit-id', `"${auditId}" is not an auditID`));
  const explain: QuestionParams = withCluster({ question: 'explain' as const, auditId: auditId ?? '' });
  const atText = p.get('at');
  if (atText !== undefined) {
    const t = take(parseInstant(atText, 'at'));
    if (t !== undefined) explain.at = new Date(t).toISOString();
  }
  return explain;
};

const deniedParams = ({ p, take, paging, range, principal, withCluster }: ParamsSoFar): QuestionParams => {
  const stage = p.get('stage');
  if (stage !== undefined) take(oneOf('stage', stage, DENIAL_STAGES));
  const q: QuestionParams = withCluster({ question: 'denied' as const, range: range as QuestionWindow, ...paging });
  if (stage !== undefined) q.stage = stage;
  if (principal) q.principal = principal;
  return q;
};

const accessAtParams = ({ p, take, paging, principal, withCluster, now }: ParamsSoFar): QuestionParams => {
  const atText = p.get('at');
  let at = new Date(now).toISOString();
  if (atText !== undefined) {
    const t = take(parseInstant(atText, 'at'));
    if (t !== undefined) at = new Date(t).toISOString();
  }
  const q: QuestionParams = withCluster({ question: 'access-at' as const, at, ...paging });
  if (principal) q.principal = principal;
  return q;
};

const mappingsHistoryParams = ({ paging, range, principal, withCluster }: ParamsSoFar): QuestionParams => {
  const q: QuestionParams = withCluster({
    question: 'mappings-history' as const,
    range: range as QuestionWindow,
    ...paging,
  });
  if (principal) q.principal = principal;
  return q;
};

const touchedParams = ({ p, take, issues, paging, range, withCluster }: ParamsSoFar): QuestionParams => {
  const targetText = p.get('target');
  if (targetText === undefined) issues.push(bad('target', 'required (ns/resource/name, namespace/<ns> or <resource>)'));
  const target = targetText === undefined ? undefined : take(parseTouchedTarget(targetText));
  const accessText = p.get('access') ?? 'any';
  const access = take(oneOf('access', accessText, ACCESS_KINDS)) ?? 'any';
  return withCluster({
    question: 'touched' as const,
    range: range as QuestionWindow,
    target: target ?? { kind: 'resource', resource: '' },
    access,
    ...paging,
  });
};

const alertsParams = ({ p, take, paging, range, withCluster }: ParamsSoFar): QuestionParams => {
  const q: QuestionParams = withCluster({ question: 'alerts' as const, range: range as QuestionWindow, ...paging });
  const severityText = p.get('severity');
  if (severityText !== undefined) {
    const severities = take(parseSeverities(severityText));
    if (severities) q.severities = severities;
  }
  const ruleText = p.get('rule');
  if (ruleText !== undefined) {
    const rules = ruleText
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    for (const r of rules) take(oneOf('rule', r, MAPPING_RULE_IDS));
    if (rules.length > 0) q.rules = [...new Set(rules)];
  }
  const rerunText = p.get('rerun');
  if (rerunText !== undefined) {
    const rerun = take(oneOf('rerun', rerunText.toLowerCase(), ['true', 'false'] as const));
    if (rerun === 'true') q.rerun = true;
  }
  return q;
};

/** Undefined when the role or the window is unusable (the issues say why). */
const workloadsParams = ({ p, take, issues, paging, withCluster, now }: ParamsSoFar): QuestionParams | undefined => {
  const roleText = p.get('role');
  const role = roleText === undefined ? undefined : take(parsePrincipal(roleText, 'role'));
  if (roleText === undefined) issues.push(bad('role', 'required (the IAM role ARN the service accounts could act as)'));
  const window = take(
    parseTimeRange({ since: p.get('since'), to: p.get('at') } as Record<string, string | undefined>, now, '30d'),
  );
  return role && window ? withCluster({ question: 'workloads' as const, role, range: window, ...paging }) : undefined;
};

/** Each question's own parameters, parsed after the shared ones. */
const PARAMS_OF: Record<QuestionName, (soFar: ParamsSoFar) => QuestionParams | undefined> = {
  'who-did': whoDidParams,
  explain: explainParams,
  denied: deniedParams,
  'access-at': accessAtParams,
  'mappings-history': mappingsHistoryParams,
  touched: touchedParams,
  alerts: alertsParams,
  workloads: workloadsParams,
};
