import { memoizeByString } from '../memo.js';
import { fail, issue, ok, type ParseResult } from '../result.js';
import type { CanonicalPrincipal } from './types.js';

/** Partitions the authenticator accepts; any other is rejected as "does not have a recognized partition". */
export const KNOWN_PARTITIONS = new Set([
  'aws',
  'aws-cn',
  'aws-us-gov',
  'aws-iso',
  'aws-iso-b',
  'aws-iso-e',
  'aws-iso-f',
  'aws-eusc',
]);

interface ArnParts {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resource: string;
}

export const splitArn = (arn: string): ArnParts | undefined => {
  if (!arn.startsWith('arn:')) return undefined;
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  const [, partition, service, region, accountId, ...rest] = parts as [
    string,
    string,
    string,
    string,
    string,
    ...string[],
  ];
  return { partition, service, region, accountId, resource: rest.join(':') };
};

/**
 * Canonicalise an IAM/STS ARN exactly as aws-iam-authenticator does (docs/formats.md §1.4):
 *  - sts assumed-role/<role>/<session> -> iam role/<role> (STS never carries the IAM path);
 *  - iam role/<path>/<name> -> iam role/<name>: the authenticator only ever sees roles through STS,
 *    which drops the path, while access entries and CloudTrail sessionIssuer carry it; stripping it
 *    makes both forms meet on the same key;
 *  - iam user/<path>/<name>: unchanged, the path is kept;
 *  - iam root and sts federated-user: unchanged.
 */
const canonicalizeArnUncached = (input: string): ParseResult<CanonicalPrincipal> => {
  if (typeof input !== 'string') return fail(String(input), issue('ARN_INVALID', 'not a string'));
  const arn = input.trim();
  const p = splitArn(arn);
  if (!p) return fail(arn, issue('ARN_INVALID', `not an ARN: ${JSON.stringify(arn)}`));
  if (!KNOWN_PARTITIONS.has(p.partition)) {
    return fail(arn, issue('ARN_UNKNOWN_PARTITION', `arn '${arn}' does not have a recognized partition`));
  }
  const { partition, service, accountId, resource } = p;
  if (!/^\d{12}$/.test(accountId) && !/^[A-Za-z0-9]+$/.test(accountId)) {
    return fail(arn, issue('ARN_INVALID', `arn '${arn}' has no account id`));
  }
  const segments = resource.split('/');
  const head = segments[0];
  const build = (
    type: CanonicalPrincipal['type'],
    canonicalArn: string,
    name: string,
    sessionName?: string,
  ): ParseResult<CanonicalPrincipal> => {
    const value: CanonicalPrincipal = {
      type,
      partition,
      accountId,
      canonicalArn,
      matchKey: canonicalArn.toLowerCase(),
      name,
    };
    if (sessionName !== undefined) value.sessionName = sessionName;
    return ok(value);
  };
  if (service === 'sts' && head === 'assumed-role') {
    // resource = assumed-role/<role>/<session>; role = join(parts[1:len-1], "/") as the authenticator does.
    if (segments.length < 3) return fail(arn, issue('ARN_INVALID', `assumed-role ARN without session: ${arn}`));
    const role = segments.slice(1, -1).join('/');
    const session = segments[segments.length - 1] ?? '';
    if (role === '') return fail(arn, issue('ARN_INVALID', `assumed-role ARN without a role name: ${arn}`));
    return build('assumed-role', `arn:${partition}:iam::${accountId}:role/${role}`, role, session);
  }
  if (service === 'sts' && head === 'federated-user') {
    if (segments.length < 2 || segments[1] === '')
      return fail(arn, issue('ARN_INVALID', `federated-user ARN without a name: ${arn}`));
    return build('federated-user', arn, segments.slice(1).join('/'));
  }
  if (service === 'iam' && head === 'role' && segments.length >= 2) {
    const name = segments[segments.length - 1] ?? '';
    if (name === '') return fail(arn, issue('ARN_INVALID', `role ARN without a name: ${arn}`));
    // Roles compare path-less: STS (hence the authenticator) never sees the path.
    return build('role', `arn:${partition}:iam::${accountId}:role/${name}`, name);
  }
  if (service === 'iam' && head === 'user' && segments.length >= 2) {
    const name = segments[segments.length - 1] ?? '';
    if (name === '') return fail(arn, issue('ARN_INVALID', `user ARN without a name: ${arn}`));
    return build('user', arn, name);
  }
  if (service === 'iam' && resource === 'root') {
    return build('root', arn, 'root');
  }
  return fail(arn, issue('ARN_UNSUPPORTED_TYPE', `unsupported principal in ARN: ${arn}`));
};

// Every audit event names its principal's ARNs, and a fleet has few principals: memoised.
const canonicalizeArnCached = memoizeByString(canonicalizeArnUncached);

/**
 * Canonicalise an IAM/STS ARN exactly as aws-iam-authenticator does (docs/formats.md §1.4); see
 * canonicalizeArnUncached for the rules. The result is shared and frozen: read it, do not change it.
 */
export const canonicalizeArn = (input: string): ParseResult<CanonicalPrincipal> =>
  typeof input === 'string' ? canonicalizeArnCached(input) : canonicalizeArnUncached(input);

/** Lower-cased canonical ARN used as the join key, or undefined when the ARN is not a principal. */
export const principalMatchKey = (arn: string | undefined): string | undefined => {
  if (!arn) return undefined;
  const r = canonicalizeArn(arn);
  return r.ok ? r.value.matchKey : undefined;
};

/** True when an IAM role ARN carries a path (aws-auth rolearns with a path never match). */
export const roleArnHasPath = (arn: string): boolean => {
  const p = splitArn(arn);
  if (p?.service !== 'iam') return false;
  const segments = p.resource.split('/');
  return segments[0] === 'role' && segments.length > 2;
};

/** Account id of an ARN, if any. */
export const arnAccountId = (arn: string | undefined): string | undefined =>
  arn ? splitArn(arn)?.accountId || undefined : undefined;
