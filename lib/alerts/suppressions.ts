import type { AlertSuppression } from './types.js';

/** Alert suppressions as deployers write them: a rule id, principal and cluster globs. */
const globCache = new Map<string, RegExp>();

/** `*` = any run of characters, `?` = one character; case-insensitive like IAM names. Whole-string match. */
export const globMatches = (glob: string, text: string): boolean => {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 'is');
    globCache.set(glob, re);
  }
  return re.test(text);
};

export interface SuppressionSubject {
  ruleId: string;
  cluster: string;
  /** Every principal ARN the alert is about (the mapped principal, the actor); any may match. */
  principals: (string | undefined)[];
}

/** True when some suppression rule matches every field it names. A rule naming nothing matches nothing. */
export const isSuppressed = (suppressions: readonly AlertSuppression[], s: SuppressionSubject): boolean =>
  suppressions.some((rule) => {
    if (rule.ruleId === undefined && rule.principal === undefined && rule.cluster === undefined) return false;
    if (rule.ruleId !== undefined && rule.ruleId !== s.ruleId) return false;
    if (rule.cluster !== undefined && !globMatches(rule.cluster, s.cluster)) return false;
    if (rule.principal !== undefined) {
      const glob = rule.principal;
      if (!s.principals.some((p) => p !== undefined && globMatches(glob, p))) return false;
    }
    return true;
  });
