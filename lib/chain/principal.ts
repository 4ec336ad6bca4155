import { canonicalizeArn } from '../identity/arn.js';
import type { CanonicalPrincipal } from '../identity/types.js';
import type { K8sUserInfo, StsResponseLine } from '../sources/types.js';
import type { Link, PrincipalLink } from './types.js';

/**
 * The IAM principal behind a Kubernetes user, read from what the authenticator put in `user.extra`
 * and `user.uid` (docs/formats.md §1.7, §2.2). Every extra key is optional: 2022 events lack principalId,
 * the `sigs.k8s.io/…` key appears only in newer builds, scrubbed accounts have no extra at all.
 */

export const EXTRA_PRINCIPAL_ID_KEYS = ['principalId', 'sigs.k8s.io/aws-iam-authenticator/principalId'] as const;
const SA_PREFIX = 'system:serviceaccount:';
const SA_POD_NAME = 'authentication.kubernetes.io/pod-name';
const SA_POD_UID = 'authentication.kubernetes.io/pod-uid';
const SA_NODE_NAME = 'authentication.kubernetes.io/node-name';

/** First non-empty value of an extra key (values are arrays of one string; `sessionName` is `[""]` for users). */
export const extraValue = (extra: Record<string, string[]> | undefined, key: string): string | undefined => {
  const v = extra?.[key];
  if (!Array.isArray(v)) return undefined;
  const s = v.find((x) => typeof x === 'string' && x.length > 0);
  return s;
};

export interface ParsedUid {
  /** `aws-iam-authenticator` or the legacy `heptio-authenticator-aws`. */
  issuer: string;
  accountId: string;
  /** AROA…/AIDA…, or `<acct>:<name>` for federated users (contains `:`). */
  userId?: string;
  /** Scrubbed accounts: `aws-iam-authenticator:administrative:<username>`. */
  scrubbedUsername?: string;
}

/**
 * `aws-iam-authenticator:<account>:<userid>`. Split only on the first two colons: a federated
 * user's userid is `<account>:<name>` and contains a colon itself.
 */
export const parseAuthenticatorUid = (uid: string | undefined): ParsedUid | undefined => {
  if (!uid) return undefined;
  const m = /^(aws-iam-authenticator|heptio-authenticator-aws):([^:]+):(.+)$/.exec(uid);
  if (!m) return undefined;
  const [, issuer, account, rest] = m as unknown as [string, string, string, string];
  if (account === 'administrative') return { issuer, accountId: account, scrubbedUsername: rest };
  return { issuer, accountId: account, userId: rest };
};

const canonical = (arn: string | undefined): CanonicalPrincipal | undefined => {
  if (!arn) return undefined;
  const r = canonicalizeArn(arn);
  return r.ok ? r.value : undefined;
};

/** Canonical role/user ARNs map to the principal type a request can carry (roles only ever act as sessions). */
const principalTypeOf = (c: CanonicalPrincipal): PrincipalLink['type'] => (c.type === 'role' ? 'assumed-role' : c.type);

export const isServiceAccountUsername = (username: string | undefined): boolean =>
  username?.startsWith(SA_PREFIX) ?? false;

/** True when user.extra carries anything the AWS authenticator writes. */
export const hasIamExtra = (user: K8sUserInfo): boolean =>
  ['arn', 'canonicalArn', 'accessKeyId', 'sessionName', ...EXTRA_PRINCIPAL_ID_KEYS].some(
    (k) => extraValue(user.extra, k) !== undefined,
  ) || parseAuthenticatorUid(user.uid) !== undefined;

const serviceAccountLink = (user: K8sUserInfo): Link<PrincipalLink> => {
  const rest = (user.username ?? '').slice(SA_PREFIX.length);
  const i = rest.indexOf(':');
  const namespace = i < 0 ? '' : rest.slice(0, i);
  const name = i < 0 ? rest : rest.slice(i + 1);
  const sa: NonNullable<PrincipalLink['serviceAccount']> = { namespace, name };
  const evidence = ['audit:user.username'];
  const podName = extraValue(user.extra, SA_POD_NAME);
  const podUid = extraValue(user.extra, SA_POD_UID);
  const nodeName = extraValue(user.extra, SA_NODE_NAME);
  if (podName) sa.podName = podName;
  if (podUid) sa.podUid = podUid;
  if (nodeName) sa.nodeName = nodeName;
  if (podName || podUid || nodeName) evidence.push('audit:user.extra.authentication.kubernetes.io/*');
  return {
    status: 'observed',
    value: { type: 'service-account', serviceAccount: sa },
    why: `Kubernetes service account ${namespace}/${name}${podName ? ` (token bound to pod ${podName})` : ''}`,
    evidence,
  };
};

/**
 * The principal link of an audit event's user. `username` of an access-entry default mapping is the
 * STS assumed-role ARN (`arn:aws:sts::A:assumed-role/R/<session with @ -> ->`), so when extra lacks
 * canonicalArn (old authenticators) the principal can still be derived from it.
 */
export const principalFromUser = (user: K8sUserInfo): Link<PrincipalLink> => {
  const username = user.username;
  if (isServiceAccountUsername(username)) return serviceAccountLink(user);
  if (username === 'system:anonymous') {
    return {
      status: 'observed',
      value: { type: 'anonymous' },
      why: 'request without credentials, authenticated as system:anonymous',
      evidence: ['audit:user.username'],
    };
  }
  const extra = user.extra;
  const stsArn = extraValue(extra, 'arn');
  const canonicalArnExtra = extraValue(extra, 'canonicalArn');
  const accessKeyId = extraValue(extra, 'accessKeyId');
  const sessionNameExtra = extraValue(extra, 'sessionName');
  const principalIdKey = EXTRA_PRINCIPAL_ID_KEYS.find((k) => extraValue(extra, k) !== undefined);
  const uid = parseAuthenticatorUid(user.uid);
  const evidence: string[] = [];

  let c = canonical(canonicalArnExtra);
  let status: Link<PrincipalLink>['status'] = 'observed';
  if (c) evidence.push('audit:user.extra.canonicalArn');
  const sts = canonical(stsArn);
  if (!c && sts) {
    c = sts;
    evidence.push('audit:user.extra.arn');
  }
  let derivedFromUsername = false;
  if (!c && username && /^arn:[^:]+:(sts|iam)::/.test(username)) {
    const u = canonical(username);
    if (u) {
      c = u;
      status = 'derived';
      derivedFromUsername = true;
      evidence.push('audit:user.username');
    }
  }

  if (!c && !accessKeyId && !uid && !principalIdKey) {
    // No IAM trace at all: neither user.extra nor the authenticator's uid. On EKS the controller
    // manager and scheduler (and other `system:` / `eks:` components) present client certificates; a
    // node, though, comes in through an IAM mapping, so a node without the IAM keys is an
    // authenticator too old to write them, not a certificate (docs/formats.md §2.8).
    const component =
      username !== undefined &&
      (username.startsWith('eks:') ||
        (username.startsWith('system:') &&
          !username.startsWith('system:node:') &&
          !username.startsWith('system:serviceaccount:') &&
          username !== 'system:anonymous'));
    if (component) {
      return {
        status: 'derived',
        value: { type: 'k8s-internal' },
        why: `${username} carries no IAM identity (no user.extra, no authenticator uid): a control-plane component authenticated by its client certificate`,
        evidence: ['audit:user.username', 'audit:user.extra (absent)'],
      };
    }
    const node = username?.startsWith('system:node:');
    return {
      status: 'unknown',
      value: { type: 'unknown' },
      why: username
        ? node
          ? `${username} carries no IAM identity in user.extra or user.uid: the record does not say how it authenticated (possible: an IAM mapping through an authenticator older than v0.5.1, which did not write these keys, or a bootstrap token)`
          : `user.extra and user.uid carry no IAM identity for ${username}: the record does not say how it authenticated (possible: an OIDC identity provider, a client certificate, or an authenticator older than v0.5.1, which did not write these keys)`
        : 'the request carries no user (authentication failed)',
      evidence: username ? ['audit:user.username'] : [],
    };
  }

  const value: PrincipalLink = { type: c ? principalTypeOf(c) : 'unknown' };
  if (stsArn) value.stsArn = stsArn;
  else if (c?.type === 'assumed-role' && derivedFromUsername && username) value.stsArn = username;
  if (c) value.canonicalArn = c.canonicalArn;
  const principalId = principalIdKey ? extraValue(extra, principalIdKey) : uid?.userId;
  if (principalId) {
    value.principalId = principalId;
    evidence.push(principalIdKey ? `audit:user.extra.${principalIdKey}` : 'audit:user.uid');
  }
  const accountId = c?.accountId ?? (uid && uid.accountId !== 'administrative' ? uid.accountId : undefined);
  if (accountId) value.accountId = accountId;
  if (accessKeyId) {
    value.accessKeyId = accessKeyId;
    evidence.push('audit:user.extra.accessKeyId');
  }
  // The username rendering replaced `@` with `-`; extra.sessionName is the raw session.
  const sessionName = sessionNameExtra ?? sts?.sessionName ?? (derivedFromUsername ? c?.sessionName : undefined);
  if (sessionName) value.sessionName = sessionName;

  const parts: string[] = [];
  if (c) {
    parts.push(
      derivedFromUsername
        ? `IAM principal ${c.canonicalArn} derived from the username (access-entry default username form); user.extra has no canonicalArn`
        : `IAM principal ${c.canonicalArn} as the authenticator reported it`,
    );
  } else {
    parts.push('the authenticator identified an IAM principal but its ARN is not in user.extra');
    status = 'unknown';
  }
  if (!principalId)
    parts.push('no principal id in user.extra or user.uid (authenticators before v0.5.13 did not write it)');
  else if (!principalIdKey)
    parts.push(
      'principal id from user.uid (user.extra has no principalId; authenticators before v0.5.13 did not write it)',
    );
  if (sessionName) parts.push(`session name ${JSON.stringify(sessionName)} is chosen by the caller`);
  return { status, value, why: parts.join('; '), evidence };
};

/** The principal of an authenticator `access denied` line: the canonical ARN only when the token verified. */
export const principalFromCanonicalArn = (arn: string | undefined, evidence: string): Link<PrincipalLink> => {
  const c = canonical(arn);
  if (!c) {
    return {
      status: 'unknown',
      value: { type: 'unknown' },
      why: arn
        ? `the denied line names ${arn}, which is not a recognisable IAM principal ARN (redacted or invalid)`
        : 'the token never verified, so STS returned no identity and the line names no ARN',
      evidence: arn ? [evidence] : [],
    };
  }
  return {
    status: 'observed',
    value: { type: principalTypeOf(c), canonicalArn: c.canonicalArn, accountId: c.accountId },
    why: `the token verified as ${c.canonicalArn} (canonical ARN on the access denied line)`,
    evidence: [evidence],
  };
};

/**
 * The principal of an authenticator `STS response` line (docs/formats.md §1.3): the raw STS ARN, the access
 * key that signed the token, the unique id and the session. Undefined when the line names no usable ARN.
 */
export const principalFromStsResponse = (line: StsResponseLine, evidence: string): Link<PrincipalLink> | undefined => {
  const c = canonical(line.stsArn);
  if (!c) return undefined;
  const value: PrincipalLink = { type: principalTypeOf(c), canonicalArn: c.canonicalArn, accountId: c.accountId };
  if (line.stsArn) value.stsArn = line.stsArn;
  if (line.userId) value.principalId = line.userId;
  if (line.accessKeyId) value.accessKeyId = line.accessKeyId;
  if (line.session) value.sessionName = line.session;
  return {
    status: 'observed',
    value,
    why: `the token verified as ${line.stsArn} (STS response line: access key ${line.accessKeyId ?? '(none)'}, unique id ${line.userId ?? '(none)'})`,
    evidence: [evidence],
  };
};
