import type { AccessPolicyAssociation } from '../identity/types.js';
import { type CoverageVerdict, policyCoverage, policyName } from './access-policy-rules.js';
import type { AuthorizationReason, MissingPermission } from './types.js';

/**
 * A plain account of a 403: what was missing, and what was in force for the identity. Always
 * 'derived': RBAC's own state (bindings) is not in the audit log, and the access-policy verdicts are
 * an approximation (see access-policy-rules.ts).
 */
export interface DenialExplanation {
  status: 'derived';
  text: string;
  missing: MissingPermission;
  policies: (AccessPolicyAssociation & { name: string; verdict: CoverageVerdict; why: string })[];
}

export interface DenialContext {
  /** The identity authorization was evaluated for (the impersonated one when impersonating). */
  username?: string;
  groups: string[];
  /** Access policies associated with the principal's access entry at request time. */
  policies: AccessPolicyAssociation[];
  /** True when no mapping history is known: "no access policies" may then just be missing data. */
  mappingUnknown?: boolean;
  /** The parsed forbid reason, when it says more than "no opinion". */
  reason?: AuthorizationReason;
}

const describeMissing = (m: MissingPermission): string => {
  if (m.scope === 'path') return `${m.verb} on non-resource path ${m.path ?? '?'}`;
  const res = `${m.resource ?? '?'}${m.subresource ? `/${m.subresource}` : ''}`;
  const group = m.apiGroup ? ` (API group ${m.apiGroup})` : '';
  const name = m.name ? ` named ${m.name}` : '';
  const where = m.scope === 'namespace' ? ` in namespace ${m.namespace ?? '?'}` : ' at cluster scope';
  return `${m.verb} on ${res}${group}${name}${where}`;
};

const scopeText = (a: AccessPolicyAssociation): string =>
  a.scope.type === 'cluster' ? 'cluster' : `namespace ${a.scope.namespaces.join(', ') || '(none)'}`;

/** Deterministic: associations are reported sorted by policy ARN then scope. */
export const explainDenial = (missing: MissingPermission, ctx: DenialContext): DenialExplanation => {
  const who = ctx.username ?? missing.username;
  // system:authenticated is implicit on every authenticated request; it never carries grants on EKS by default.
  const groups = [...new Set(ctx.groups)].sort();
  const policies = [...ctx.policies]
    .sort((a, b) => a.policyArn.localeCompare(b.policyArn) || scopeText(a).localeCompare(scopeText(b)))
    .map((a) => {
      const cov = policyCoverage(a.policyArn, a.scope, missing);
      return { ...a, name: policyName(a.policyArn), verdict: cov.verdict, why: cov.why };
    });
  const parts: string[] = [];
  parts.push(`no RBAC binding grants ${describeMissing(missing)} to user ${who} or groups [${groups.join(', ')}]`);
  if (ctx.reason?.kind === 'rbac-errors') {
    parts.push(`RBAC could not resolve some bindings: ${ctx.reason.errors.join('; ')}`);
  } else if (ctx.reason?.kind === 'forbid' && ctx.reason.reasons.length > 0) {
    parts.push(`authorizer reasons: ${ctx.reason.reasons.join('; ')}`);
  }
  if (policies.length === 0) {
    parts.push(
      ctx.mappingUnknown
        ? 'access policies in force: unknown (no mapping history for this cluster yet)'
        : 'access policies in force: none',
    );
  } else {
    const lines = policies.map((p) => {
      const verdict =
        p.verdict === 'covers'
          ? 'would plausibly cover it (yet it was denied: the association may not have been in force, or the approximation is off)'
          : p.verdict === 'does-not-cover'
            ? 'does not cover it'
            : 'coverage unknown';
      return `${p.name} (${scopeText(p)}) ${verdict}: ${p.why}`;
    });
    parts.push(`access policies in force: ${lines.join('; ')}`);
  }
  return { status: 'derived', text: parts.join('; '), missing, policies };
};
