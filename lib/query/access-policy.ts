import { canonicalizeArn, KNOWN_PARTITIONS } from '../identity/arn.js';
import { fail, failWith, type Issue, isNonEmpty, issue, ok, type ParseResult, rawText } from '../result.js';
import type { ClusterRef } from '../store/trail-store.js';

/**
 * Who may read which clusters through the query API (docs/deploy.md, "Query API access"). Pure: the
 * handler hands in the caller the function URL authenticated and the configured grants, and gets a
 * decision and a cluster scope back. Anything no grant covers is denied.
 *
 * A grant names its callers by IAM role ARN pattern or by IAM Identity Center permission set, and
 * the clusters they may read by account and cluster-name pattern. Only roles can be granted: the
 * function URL reports a role caller as an STS assumed-role ARN, and IAM users, root and federated
 * users are never matched (a human reaches the API through a role or a permission set).
 */

export interface QueryGrant {
  /** Names the grant in the audit log. */
  name: string;
  /** Glob (`*`, `?`) over the caller's role ARN without path, `arn:<partition>:iam::<account>:role/<name>`. */
  roleArn?: string;
  /** Glob over the permission set name of an Identity Center role (`AWSReservedSSO_<set>_<16 hex>`). */
  permissionSet?: string;
  /** With permissionSet: the accounts the caller's role may be in (absent: any). */
  callerAccounts?: string[];
  /** Accounts whose clusters the grant covers: 12-digit ids, or `*` for every account. */
  accounts: string[];
  /** Cluster name globs within those accounts; `["*"]` when not given. */
  clusters: string[];
}

export interface QueryAccessPolicy {
  grants: readonly QueryGrant[];
}

/** The caller as the function URL's AWS_IAM auth reports it, understood. */
export interface Caller {
  /** `requestContext.authorizer.iam.userArn` as given (an assumed-role ARN carries the session name). */
  arn: string;
  accountId: string;
  kind: 'role' | 'user' | 'root' | 'federated-user';
  /** Role callers: `arn:<partition>:iam::<account>:role/<name>`, the path dropped (STS never reports it). */
  roleArn?: string;
  /** Identity Center roles: the permission set the role was provisioned from. */
  permissionSet?: string;
  /** Role callers: the session name (for an Identity Center role, the signed-in user). */
  sessionName?: string;
  /** `requestContext.authorizer.iam.callerId` (`AROA…:<session>` for a role), for the audit log. */
  callerId?: string;
}

export const MAX_GRANTS = 50;

const ACCOUNT_RE = /^\d{12}$/;
const GRANT_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
// IAM role names: 1-64 of [\w+=,.@-]; patterns may add * and ?.
const ROLE_NAME_GLOB_RE = /^[\w+=,.@*?-]{1,64}$/;
// Identity Center permission set names: 1-32 of [\w+=,.@-]; patterns may add * and ?.
const PERMISSION_SET_GLOB_RE = /^[\w+=,.@*?-]{1,32}$/;
// EKS cluster names (1-100 of letters, digits, - and _), with * and ?.
const CLUSTER_GLOB_RE = /^[A-Za-z0-9_*?-]{1,100}$/;
// docs/formats.md §5.2: the role name of a permission set, with the 16-hex suffix that changes on reprovisioning.
const SSO_ROLE_RE = /^AWSReservedSSO_(.+)_([0-9a-f]{16})$/i;

const globCache = new Map<string, RegExp>();

/**
 * Whole-string glob match: `*` any run, `?` one character. Identity names compare without case (IAM
 * role and permission set names are unique regardless of case); cluster names and accounts with case.
 */
export const globMatch = (glob: string, text: string, ignoreCase: boolean): boolean => {
  const key = `${ignoreCase ? 'i' : 's'}\u0000${glob}`;
  let re = globCache.get(key);
  if (!re) {
    const body = [...glob]
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
    globCache.set(key, re);
  }
  return re.test(text);
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const GRANT_KEYS = ['name', 'roleArn', 'permissionSet', 'callerAccounts', 'accounts', 'clusters'] as const;

const bad = (path: string, message: string): Issue => issue('QUERY_ACCESS', `${path}: ${message}`, path);

const stringList = (
  v: unknown,
  path: string,
  check: (s: string) => string | undefined,
  issues: Issue[],
): string[] | undefined => {
  if (!Array.isArray(v) || v.length === 0) {
    issues.push(bad(path, 'must be a non-empty list of strings'));
    return undefined;
  }
  const out: string[] = [];
  v.forEach((s, i) => {
    const problem = typeof s !== 'string' ? 'must be a string' : check(s);
    if (problem !== undefined) issues.push(bad(`${path}[${i}]`, problem));
    else if (!out.includes(s as string)) out.push(s as string);
  });
  return out;
};

/** A role ARN pattern, or why it is not one. Paths are refused: the caller's ARN never carries one. */
export const roleArnPatternProblem = (p: string): string | undefined => {
  const parts = p.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'iam' || parts[3] !== '') {
    return `"${p}" is not a role ARN pattern (arn:<partition>:iam::<account>:role/<name>; * and ? allowed)`;
  }
  const [, partition, , , account, resource] = parts as [string, string, string, string, string, string];
  if (partition !== '*' && !KNOWN_PARTITIONS.has(partition)) return `"${p}": unknown partition ${partition}`;
  if (account !== '*' && !ACCOUNT_RE.test(account)) return `"${p}": the account must be 12 digits or *`;
  if (!resource.startsWith('role/')) return `"${p}": only roles can be granted (role/<name>)`;
  const name = resource.slice('role/'.length);
  if (name.includes('/')) {
    return `"${p}": a role path never appears in the caller's ARN (STS drops it); give role/<name> only, or use permissionSet for Identity Center roles`;
  }
  if (!ROLE_NAME_GLOB_RE.test(name)) return `"${p}": not a role name pattern`;
  return undefined;
};

/**
 * The grants of the `queryAccess` setting (a JSON list), validated: every problem is reported at once,
 * each with its path (`[2].accounts[0]`). An empty or absent list is a valid policy that denies everyone.
 */
export const parseQueryAccessPolicy = (input: unknown): ParseResult<QueryAccessPolicy> => {
  if (input === undefined || input === null) return ok({ grants: [] });
  const raw = rawText(input);
  if (!Array.isArray(input)) return fail(raw, bad('queryAccess', 'must be a list of grants'));
  const issues: Issue[] = [];
  if (input.length > MAX_GRANTS) issues.push(bad('queryAccess', `at most ${MAX_GRANTS} grants`));
  const grants: QueryGrant[] = [];
  const names = new Set<string>();
  input.forEach((g, i) => {
    const at = `[${i}]`;
    if (!isRecord(g)) {
      issues.push(bad(at, 'must be an object {name, roleArn | permissionSet, accounts, clusters?}'));
      return;
    }
    const before = issues.length;
    for (const k of Object.keys(g)) {
      if (!(GRANT_KEYS as readonly string[]).includes(k)) {
        issues.push(bad(`${at}.${k}`, `unknown key (known: ${GRANT_KEYS.join(', ')})`));
      }
    }
    const name = g.name;
    if (typeof name !== 'string' || !GRANT_NAME_RE.test(name)) {
      issues.push(bad(`${at}.name`, 'must be 1-64 of letters, digits, _ . -'));
    } else if (names.has(name)) {
      issues.push(bad(`${at}.name`, `duplicate grant name ${name}`));
    } else {
      names.add(name);
    }
    const { roleArn, permissionSet, callerAccounts } = g;
    if ((roleArn === undefined) === (permissionSet === undefined)) {
      issues.push(bad(at, 'give exactly one of roleArn and permissionSet'));
    }
    if (roleArn !== undefined) {
      const problem = typeof roleArn === 'string' ? roleArnPatternProblem(roleArn) : 'must be a string';
      if (problem !== undefined) issues.push(bad(`${at}.roleArn`, problem));
    }
    if (
      permissionSet !== undefined &&
      (typeof permissionSet !== 'string' || !PERMISSION_SET_GLOB_RE.test(permissionSet))
    ) {
      issues.push(
        bad(`${at}.permissionSet`, 'must be a permission set name pattern (1-32 of [A-Za-z0-9_+=,.@-], * and ?)'),
      );
    }
    let callers: string[] | undefined;
    if (callerAccounts !== undefined) {
      if (permissionSet === undefined) {
        issues.push(bad(`${at}.callerAccounts`, 'only with permissionSet (a role ARN pattern names its account)'));
      }
      callers = stringList(
        callerAccounts,
        `${at}.callerAccounts`,
        (s) => (ACCOUNT_RE.test(s) ? undefined : 'must be a 12-digit account id'),
        issues,
      );
    }
    const accounts = stringList(
      g.accounts,
      `${at}.accounts`,
      (s) => (s === '*' || ACCOUNT_RE.test(s) ? undefined : 'must be a 12-digit account id or *'),
      issues,
    );
    const clusters =
      g.clusters === undefined
        ? ['*']
        : stringList(
            g.clusters,
            `${at}.clusters`,
            (s) => (CLUSTER_GLOB_RE.test(s) ? undefined : 'must be a cluster name pattern (letters, digits, - _, * ?)'),
            issues,
          );
    if (issues.length > before || accounts === undefined || clusters === undefined) return;
    const grant: QueryGrant = { name: name as string, accounts, clusters };
    if (typeof roleArn === 'string') grant.roleArn = roleArn;
    if (typeof permissionSet === 'string') grant.permissionSet = permissionSet;
    if (callers !== undefined) grant.callerAccounts = callers;
    grants.push(grant);
  });
  if (isNonEmpty(issues)) return failWith(raw, issues);
  return ok({ grants });
};

/**
 * The caller of a function URL request from `requestContext.authorizer.iam`. Lambda fills it for
 * AWS_IAM auth only; without it (a direct Invoke, or a URL of another auth type) there is no caller
 * to grant anything to.
 */
export const callerFromAuthorizer = (iam: unknown): ParseResult<Caller> => {
  if (!isRecord(iam) || typeof iam.userArn !== 'string' || iam.userArn === '') {
    return fail(
      rawText(iam),
      issue('QUERY_ACCESS', 'no IAM caller in the request (requestContext.authorizer.iam.userArn is missing)'),
    );
  }
  const arn = iam.userArn;
  const c = canonicalizeArn(arn);
  if (!c.ok) return fail(arn, issue('QUERY_ACCESS', `caller ARN not understood: ${c.issues[0].message}`));
  const p = c.value;
  const caller: Caller = {
    arn,
    accountId: p.accountId,
    kind: p.type === 'assumed-role' || p.type === 'role' ? 'role' : p.type,
  };
  if (typeof iam.callerId === 'string' && iam.callerId !== '') caller.callerId = iam.callerId;
  if (caller.kind === 'role') {
    caller.roleArn = p.canonicalArn;
    const sso = SSO_ROLE_RE.exec(p.name);
    if (sso) caller.permissionSet = sso[1] as string;
    if (p.sessionName !== undefined) caller.sessionName = p.sessionName;
  }
  return ok(caller);
};

const grantNamesCaller = (g: QueryGrant, c: Caller): boolean => {
  if (c.roleArn === undefined) return false;
  if (g.roleArn !== undefined) return globMatch(g.roleArn, c.roleArn, true);
  if (g.permissionSet === undefined || c.permissionSet === undefined) return false;
  if (g.callerAccounts !== undefined && !g.callerAccounts.includes(c.accountId)) return false;
  return globMatch(g.permissionSet, c.permissionSet, true);
};

const grantCovers = (g: QueryGrant, ref: ClusterRef): boolean =>
  (g.accounts.includes('*') || g.accounts.includes(ref.accountId)) &&
  g.clusters.some((p) => globMatch(p, ref.cluster, false));

/** What one caller may read. */
export interface ClusterScope {
  /** Names of the grants that name the caller. */
  readonly grants: readonly string[];
  mayRead(ref: ClusterRef): boolean;
  /** Some grant could cover a cluster of this name, in some account. */
  mayReadName(name: string): boolean;
}

export const scopeFor = (policy: QueryAccessPolicy, caller: Caller): ClusterScope => {
  const mine = policy.grants.filter((g) => grantNamesCaller(g, caller));
  return {
    grants: mine.map((g) => g.name),
    mayRead: (ref) => mine.some((g) => grantCovers(g, ref)),
    mayReadName: (name) => mine.some((g) => g.clusters.some((p) => globMatch(p, name, false))),
  };
};

export type AccessDecision =
  | { allowed: true; scope: ClusterScope }
  | { allowed: false; code: 'ACCESS_DENIED'; message: string; grants: readonly string[] };

const deny = (message: string, grants: readonly string[] = []): AccessDecision => ({
  allowed: false,
  code: 'ACCESS_DENIED',
  message,
  grants,
});

/**
 * May this caller ask about `cluster` (`<account>/<name>`, a bare name, or nothing)? A bare name is
 * allowed when some grant could cover it: the question then resolves it among the clusters the
 * caller may read only, so the answer never says whether the name exists elsewhere. No cluster:
 * allowed, and fleet-wide answers are filtered to the scope.
 */
export const authorizeQuestion = (
  policy: QueryAccessPolicy,
  caller: Caller,
  cluster: string | undefined,
): AccessDecision => {
  if (caller.kind !== 'role') {
    return deny(
      `${caller.arn} is an IAM ${caller.kind}: only roles (including IAM Identity Center permission sets) can be granted query access`,
    );
  }
  const scope = scopeFor(policy, caller);
  if (scope.grants.length === 0) {
    return deny(
      `no query access grant names ${caller.roleArn}${caller.permissionSet ? ` (permission set ${caller.permissionSet})` : ''}`,
    );
  }
  if (cluster !== undefined) {
    const slash = cluster.indexOf('/');
    const covered =
      slash > 0
        ? scope.mayRead({ accountId: cluster.slice(0, slash), cluster: cluster.slice(slash + 1) })
        : scope.mayReadName(cluster);
    if (!covered) return deny(`no query access grant of this caller covers cluster ${cluster}`, scope.grants);
  }
  return { allowed: true, scope };
};
