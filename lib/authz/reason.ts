import { fail, issue, ok, type ParseResult } from '../result.js';
import { readGoQuoted as readQuoted } from '../sources/go-quote.js';
import type { AuthorizationReason, RbacSubjectRef, SubjectKind } from './types.js';

/**
 * The `authorization.k8s.io/decision` + `authorization.k8s.io/reason` annotation pair (docs/formats.md §2.3).
 *
 * Grammar (kube-apiserver RBAC describer, EKS access-policy webhook):
 *   RBAC: allowed by ClusterRoleBinding Q(name) of (ClusterRole|Role) Q(role) to SUBJECT
 *   RBAC: allowed by RoleBinding Q(name "/" ns) of (ClusterRole|Role) Q(role) to SUBJECT
 *   SUBJECT := User Q(name) | Group Q(name) | ServiceAccount Q(sa "/" ns)
 *   EKS Access Policy: allowed by ClusterRoleBinding Q(principalArn "+" policyArn) of ClusterRole Q(policyArn) to User Q(principalId)
 * where Q is Go %q. Unknown text is not an error (kind 'other'); only broken quoting is.
 */

const RBAC_ALLOW = 'RBAC: allowed by ';
const EKS_ALLOW = 'EKS Access Policy: allowed by ';
const RBAC_PREFIX = 'RBAC: ';
const INTERNAL_ERROR = 'internal error';

class GrammarError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
    this.name = 'GrammarError';
  }
}

interface Token {
  value: string;
  quoted: boolean;
}

/** A cursor over one reason string. Methods return undefined on a keyword mismatch (-> 'other'). */
class Cursor {
  pos: number;
  constructor(
    readonly text: string,
    start: number,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  literal(s: string): boolean {
    if (!this.text.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    return true;
  }
  word(): string | undefined {
    const m = /^[A-Za-z]+/.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }
  /** A Go-quoted value, or (legacy form) a bare run of non-space characters. */
  token(): Token | undefined {
    if (this.text[this.pos] === '"') {
      const q = readQuoted(this.text, this.pos);
      if (!q) throw new GrammarError('unterminated or malformed Go-quoted string', this.pos);
      this.pos = q.end;
      return { value: q.value, quoted: true };
    }
    const m = /^[^ ]+/.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return { value: m[0], quoted: false };
  }
}

/**
 * Split `name/ns` as RBAC writes RoleBinding names and ServiceAccount subjects. Neither RBAC object
 * names (path-segment names) nor namespaces (DNS labels) can contain `/`, so for valid objects the
 * first and last `/` coincide. We split on the LAST one because the namespace is the more
 * constrained part (DNS-1123 label); an empty namespace (ServiceAccount subject of a
 * ClusterRoleBinding that gave none: RBAC then writes `sa/`) becomes undefined.
 */
export const splitNameNamespace = (s: string): { name: string; namespace?: string } => {
  const i = s.lastIndexOf('/');
  if (i < 0) return { name: s };
  const name = s.slice(0, i);
  const namespace = s.slice(i + 1);
  return namespace ? { name, namespace } : { name };
};

const SUBJECT_KINDS = new Set<SubjectKind>(['User', 'Group', 'ServiceAccount']);

const parseSubject = (c: Cursor): RbacSubjectRef | undefined => {
  const kind = c.word();
  if (!kind || !c.literal(' ')) return undefined;
  const t = c.token();
  if (!t || !SUBJECT_KINDS.has(kind as SubjectKind)) return undefined;
  if (kind === 'ServiceAccount') return { kind, ...splitNameNamespace(t.value) };
  return { kind: kind as SubjectKind, name: t.value };
};

const parseRbacAllow = (text: string): AuthorizationReason | undefined => {
  const c = new Cursor(text, RBAC_ALLOW.length);
  const bindingKind = c.word();
  if (bindingKind !== 'ClusterRoleBinding' && bindingKind !== 'RoleBinding') return undefined;
  // Vendor fixtures carry `RBAC: allowed by ClusterRoleBinding` with nothing after: keep it as legacy.
  if (c.done) return { kind: 'rbac-allow', binding: { kind: bindingKind, name: '' }, legacy: true };
  if (!c.literal(' ')) return undefined;
  const name = c.token();
  if (!name) return undefined;
  const binding: { kind: 'ClusterRoleBinding' | 'RoleBinding'; name: string; namespace?: string } =
    bindingKind === 'RoleBinding'
      ? { kind: bindingKind, ...splitNameNamespace(name.value) }
      : { kind: bindingKind, name: name.value };
  if (c.done) return { kind: 'rbac-allow', binding, legacy: true };
  if (!c.literal(' of ')) return undefined;
  const roleKind = c.word();
  if (roleKind !== 'ClusterRole' && roleKind !== 'Role') return undefined;
  if (!c.literal(' ')) return undefined;
  const role = c.token();
  if (!role || !c.literal(' to ')) return undefined;
  const subject = parseSubject(c);
  if (!subject || !c.done) return undefined;
  return {
    kind: 'rbac-allow',
    binding,
    role: { kind: roleKind, name: role.value },
    subject,
    legacy: !(name.quoted && role.quoted),
  };
};

/**
 * Split the access-policy binding name `<principalArn>+<policyArn>[/<ns>]`. IAM names may contain
 * `+`, policy ARNs cannot, so the role name (= the policy ARN) anchors the split; without it we fall
 * back to the last `+arn:`.
 */
const splitAccessPolicyBinding = (
  bindingName: string,
  policyArn: string | undefined,
  namespaced: boolean,
): { principalArn: string; policyArn: string; namespace?: string } | undefined => {
  if (policyArn) {
    const marker = `+${policyArn}`;
    const i = bindingName.lastIndexOf(marker);
    if (i > 0) {
      const rest = bindingName.slice(i + marker.length);
      if (rest === '') return { principalArn: bindingName.slice(0, i), policyArn };
      if (rest.startsWith('/') && rest.length > 1) {
        return { principalArn: bindingName.slice(0, i), policyArn, namespace: rest.slice(1) };
      }
    }
  }
  const j = bindingName.lastIndexOf('+arn:');
  if (j <= 0) return undefined;
  const principalArn = bindingName.slice(0, j);
  let policy = bindingName.slice(j + 1);
  let namespace: string | undefined;
  // Policy ARNs are `arn:<p>:eks::aws:cluster-access-policy/<Name>`: exactly one `/`, so a second
  // one can only be the namespace suffix of the (guessed) RoleBinding form.
  if (namespaced && policy.split('/').length > 2) {
    const k = policy.lastIndexOf('/');
    namespace = policy.slice(k + 1);
    policy = policy.slice(0, k);
  }
  return namespace ? { principalArn, policyArn: policy, namespace } : { principalArn, policyArn: policy };
};

/**
 * Only the ClusterRoleBinding form has ever been seen (kiempossible sample). The namespace-scoped
 * `RoleBinding "<principal>+<policy>/<ns>" of (Cluster)Role "<policy>"` form is a GUESS modelled on
 * RBAC's own RoleBinding describer; nothing public shows what EKS writes for namespace-scoped
 * associations.
 */
const parseAccessPolicyAllow = (text: string): AuthorizationReason | undefined => {
  const c = new Cursor(text, EKS_ALLOW.length);
  const bindingKind = c.word();
  if (bindingKind !== 'ClusterRoleBinding' && bindingKind !== 'RoleBinding') return undefined;
  if (!c.literal(' ')) return undefined;
  const name = c.token();
  if (!name) return undefined;
  let role: Token | undefined;
  let principalId: string | undefined;
  if (!c.done) {
    if (!c.literal(' of ')) return undefined;
    const roleKind = c.word();
    if (roleKind !== 'ClusterRole' && roleKind !== 'Role') return undefined;
    if (!c.literal(' ')) return undefined;
    role = c.token();
    if (!role) return undefined;
    if (!c.done) {
      if (!c.literal(' to ')) return undefined;
      const subject = parseSubject(c);
      if (!subject || !c.done) return undefined;
      // The subject is the IAM unique id (AROA…/AIDA…), not the k8s username.
      principalId = subject.name;
    }
  }
  const split = splitAccessPolicyBinding(name.value, role?.value, bindingKind === 'RoleBinding');
  if (!split) return undefined;
  const out: AuthorizationReason = {
    kind: 'access-policy-allow',
    principalArn: split.principalArn,
    policyArn: split.policyArn,
    bindingKind,
  };
  if (split.namespace !== undefined) out.namespace = split.namespace;
  if (principalId !== undefined) out.principalId = principalId;
  return out;
};

/**
 * `RBAC: <aggregate>` on a forbid: k8s utilerrors.Aggregate prints one error bare and several as
 * `[e1, e2]` (deduplicated). Splitting on `, ` is an approximation: an error text containing `, `
 * would be cut in two (none of RBAC's "… not found" errors do).
 */
const rbacErrors = (line: string): string[] => {
  const body = line.slice(RBAC_PREFIX.length).trim();
  if (body.startsWith('[') && body.endsWith(']')) {
    return body
      .slice(1, -1)
      .split(', ')
      .filter((e) => e.length > 0);
  }
  return body ? [body] : [];
};

const parseForbid = (reason: string): AuthorizationReason => {
  // The union authorizer joins the reasons of every authorizer that had no opinion with `\n`.
  const reasons = reason.split('\n').filter((r) => r.length > 0);
  const rbacLine = reasons.find((r) => r.startsWith(RBAC_PREFIX) && !r.startsWith(RBAC_ALLOW));
  if (rbacLine) {
    const others = reasons.filter((r) => r !== rbacLine);
    const out: AuthorizationReason = { kind: 'rbac-errors', errors: rbacErrors(rbacLine) };
    if (others.length > 0) out.otherReasons = others;
    return out;
  }
  return { kind: 'forbid', reasons };
};

/** Throw GrammarError when some `"` in text[from..] does not open a well-formed Go-quoted string. */
const assertQuotingBalanced = (text: string, from: number): void => {
  let i = text.indexOf('"', from);
  while (i >= 0) {
    const q = readQuoted(text, i);
    if (!q) throw new GrammarError('unterminated or malformed Go-quoted string', i);
    i = text.indexOf('"', q.end);
  }
};

const parseAllowText = (reason: string): AuthorizationReason | undefined => {
  // A known prefix whose rest does not fit the grammar is 'other' only if its quoting is sound;
  // unbalanced quotes mean the text is broken (REASON_GRAMMAR), not merely unfamiliar.
  if (reason.startsWith(RBAC_ALLOW)) {
    const r = parseRbacAllow(reason);
    if (!r) assertQuotingBalanced(reason, RBAC_ALLOW.length);
    return r;
  }
  if (reason.startsWith(EKS_ALLOW)) {
    const r = parseAccessPolicyAllow(reason);
    if (!r) assertQuotingBalanced(reason, EKS_ALLOW.length);
    return r;
  }
  return undefined;
};

/**
 * Parse the decision/reason annotations. Never throws.
 *  - decision "allow" + empty reason: an authorizer that names no grant (system:masters, the Node
 *    authorizer, an always-allowed path, a webhook without a reason; docs/formats.md §5.8), not a bug.
 *    Which one is decided with the user (lib/chain/correlate.ts), not here;
 *  - decision "forbid": "" (RBAC NoOpinion), `\n`-joined reasons, or `RBAC: [errors]`;
 *  - only `reason: "internal error"` (no decision) when an authorizer errored;
 *  - anything unrecognised: kind 'other' with the text.
 */
export const parseAuthorizationReason = (
  decision: string | undefined,
  reason: string | undefined,
): ParseResult<AuthorizationReason> => {
  const raw = reason ?? '';
  try {
    if (raw === INTERNAL_ERROR) return ok({ kind: 'internal-error' });
    if (decision === 'allow') {
      if (raw.trim() === '') return ok({ kind: 'privileged-allow' });
      return ok(parseAllowText(raw) ?? { kind: 'other', text: raw });
    }
    if (decision === 'forbid') {
      // A well-formed allow grammar under a forbid would be a contradiction; keep it verbatim.
      return ok(parseForbid(raw));
    }
    if (decision === undefined && raw !== '') {
      const allow = parseAllowText(raw);
      if (allow) return ok(allow);
    }
    return ok({ kind: 'other', text: raw });
  } catch (e) {
    if (e instanceof GrammarError) {
      return fail(
        `${decision ?? ''}\t${raw}`,
        issue(
          'REASON_GRAMMAR',
          `${e.message} at offset ${e.at} of the reason`,
          'annotations.authorization.k8s.io/reason',
        ),
      );
    }
    return fail(
      `${decision ?? ''}\t${raw}`,
      issue('REASON_GRAMMAR', `unparseable reason: ${String(e)}`, 'annotations.authorization.k8s.io/reason'),
    );
  }
};

/** Render an allow reason's grant as one line, e.g. `ClusterRoleBinding x -> ClusterRole y (Group g)`. */
export const describeReason = (r: AuthorizationReason): string => {
  switch (r.kind) {
    case 'rbac-allow': {
      const b = r.binding.namespace ? `${r.binding.name} (namespace ${r.binding.namespace})` : r.binding.name;
      const role = r.role ? ` of ${r.role.kind} ${r.role.name}` : '';
      const subj = r.subject
        ? ` to ${r.subject.kind} ${r.subject.name}${r.subject.namespace ? ` (namespace ${r.subject.namespace})` : ''}`
        : '';
      return `RBAC ${r.binding.kind} ${b}${role}${subj}${r.legacy ? ' [legacy reason form]' : ''}`;
    }
    case 'access-policy-allow':
      return `EKS access policy ${r.policyArn} associated with ${r.principalArn}${
        r.namespace ? ` (namespace ${r.namespace})` : ' (cluster scope)'
      }${r.principalId ? ` for principal id ${r.principalId}` : ''}`;
    case 'privileged-allow':
      return 'allowed with an empty reason (system:masters, the Node authorizer, an always-allowed path or a webhook that writes none)';
    case 'forbid':
      return r.reasons.length ? `forbidden: ${r.reasons.join('; ')}` : 'forbidden: no authorizer had an opinion';
    case 'rbac-errors':
      return `forbidden; RBAC could not resolve: ${r.errors.join('; ')}`;
    case 'internal-error':
      return 'authorizer internal error';
    case 'other':
      return r.text;
  }
};
