/**
 * The aws-auth ConfigMap as the authenticator's EKSConfigMap mapper reads it (docs/formats.md §1.5, §2.6).
 * mapRoles / mapUsers / mapAccounts are YAML documents stored as strings inside `data`; each key is
 * parsed on its own and a key that fails is dropped while the others are kept, exactly the
 * authenticator's "Only saving data that was good" behaviour, which can lock people out.
 */
import { parseAllDocuments } from 'yaml';
import { setOwn } from '../own-property.js';
import { fail, issue, ok, type ParseResult, rawText } from '../result.js';
import { redactParsed, redactText } from '../sources/redact.js';
import { canonicalizeArn, roleArnHasPath, splitArn } from './arn.js';
import type { AwsAuthConfig, AwsAuthRow, AwsAuthRowFlag } from './types.js';

export const AWS_AUTH_NAME = 'aws-auth';
export const AWS_AUTH_NAMESPACE = 'kube-system';
const DATA_KEYS = ['mapRoles', 'mapUsers', 'mapAccounts'] as const;

type DataLookup = { ok: true; data: Record<string, unknown> } | { ok: false; message: string; code: 'yaml' | 'shape' };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why an object is not the aws-auth ConfigMap, or undefined when it is one. */
const configMapMismatch = (obj: Record<string, unknown>): string | undefined => {
  if (obj.kind !== undefined && obj.kind !== 'ConfigMap') return `kind ${JSON.stringify(obj.kind)} is not ConfigMap`;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  // The authenticator watches exactly kube-system/aws-auth; any other ConfigMap is ignored by it.
  if (meta.name !== undefined && meta.name !== AWS_AUTH_NAME)
    return `ConfigMap ${JSON.stringify(meta.name)} is not aws-auth`;
  if (meta.namespace !== undefined && meta.namespace !== AWS_AUTH_NAMESPACE) {
    return `ConfigMap aws-auth in namespace ${JSON.stringify(meta.namespace)}, not kube-system`;
  }
  if (obj.data !== undefined && obj.data !== null && !isRecord(obj.data)) return 'data is not a map';
  return undefined;
};

const looksLikeDataMap = (obj: Record<string, unknown>): boolean =>
  obj.kind === undefined && obj.data === undefined && DATA_KEYS.some((k) => k in obj);

// Lists inside lists are walked recursively; input nested deeper than this is not a ConfigMap.
const MAX_LIST_NESTING = 16;

const fromObject = (obj: unknown, depth = 0): DataLookup => {
  if (depth > MAX_LIST_NESTING) return { ok: false, code: 'shape', message: 'lists nested too deep' };
  if (Array.isArray(obj)) return fromList(obj, depth + 1);
  if (!isRecord(obj)) return { ok: false, code: 'shape', message: 'not an object' };
  // `kubectl get cm -o json|yaml` without a name returns a List.
  if (obj.kind === 'List' || (obj.kind === undefined && Array.isArray(obj.items))) {
    return fromList(Array.isArray(obj.items) ? obj.items : [], depth + 1);
  }
  if (looksLikeDataMap(obj)) return { ok: true, data: obj };
  const looksLikeConfigMap =
    obj.kind === 'ConfigMap' || (obj.kind === undefined && ('data' in obj || 'metadata' in obj));
  if (!looksLikeConfigMap) return { ok: false, code: 'shape', message: 'neither a ConfigMap nor an aws-auth data map' };
  const mismatch = configMapMismatch(obj);
  if (mismatch) return { ok: false, code: 'shape', message: mismatch };
  return { ok: true, data: isRecord(obj.data) ? obj.data : {} };
};

const fromList = (items: unknown[], depth: number): DataLookup => {
  for (const item of items) {
    const r = fromObject(item, depth);
    if (r.ok) return r;
  }
  return { ok: false, code: 'shape', message: 'no aws-auth ConfigMap among the list items' };
};

const fromText = (text: string): DataLookup => {
  if (text.trim() === '') return { ok: false, code: 'shape', message: 'empty input' };
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { uniqueKeys: false, logLevel: 'error' });
  } catch (e) {
    return { ok: false, code: 'yaml', message: `not YAML: ${(e as Error).message}` };
  }
  const list = Array.isArray(docs) ? docs : [];
  let yamlError: string | undefined;
  for (const doc of list) {
    if (doc.errors.length > 0) {
      yamlError ??= doc.errors[0]?.message;
      continue;
    }
    const r = fromObject(doc.toJS({ maxAliasCount: 100 }));
    if (r.ok) return r;
  }
  if (yamlError !== undefined) return { ok: false, code: 'yaml', message: `not YAML: ${yamlError}` };
  return { ok: false, code: 'shape', message: 'no aws-auth ConfigMap in the text' };
};

/** Locate the aws-auth `data` map in any of the accepted inputs. */
const locateData = (input: unknown): DataLookup => {
  try {
    if (typeof input === 'string') return fromText(input);
    if (input instanceof Uint8Array) return fromText(Buffer.from(input).toString('utf8'));
    return fromObject(input);
  } catch (e) {
    // Hostile objects (throwing getters, proxies) must not escape a parser.
    return { ok: false, code: 'shape', message: `unreadable input: ${(e as Error).message}` };
  }
};

/**
 * The aws-auth `data` strings (mapRoles/mapUsers/mapAccounts and any other string keys), verbatim
 * but for secrets (lib/sources/redact.ts): any key may be added to the ConfigMap, and its text is kept.
 */
export const awsAuthRawData = (input: unknown): Record<string, string> | undefined => {
  const r = locateData(input);
  if (!r.ok) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.data)) if (typeof v === 'string') setOwn(out, k, redactText(v));
  return out;
};

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

type Problems = AwsAuthConfig['problems'];

/**
 * Parse one data value as a YAML sequence. The failsafe schema keeps every scalar as its source text,
 * so an unquoted account id with a leading zero or a username like `yes` is not reinterpreted.
 */
const parseSequence = (key: string, value: unknown, problems: Problems): unknown[] => {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'string') {
    problems.push({ key, message: `${key} is not a string` });
    return [];
  }
  let parsed: unknown;
  try {
    // Go's YAML decoder reads the first document only; later ones are ignored, not an error.
    const docs = parseAllDocuments(value, { schema: 'failsafe', uniqueKeys: false, logLevel: 'error' });
    const doc = Array.isArray(docs) ? docs[0] : undefined;
    const error = doc?.errors[0];
    if (error) throw error;
    parsed = doc?.toJS({ maxAliasCount: 100 });
  } catch (e) {
    problems.push({ key, message: `${key} is not valid YAML: ${(e as Error).message.split('\n')[0]}` });
    return [];
  }
  // An empty or null document decodes to nothing in Go, without an error.
  if (parsed === undefined || parsed === null || parsed === '' || parsed === '~' || parsed === 'null') return [];
  if (!Array.isArray(parsed)) {
    problems.push({ key, message: `${key} is not a YAML list` });
    return [];
  }
  return parsed;
};

/** Go's encoding/json matches struct fields case-insensitively; the last matching key wins. */
const fieldsByLowerKey = (row: Record<string, unknown>): Map<string, unknown> => {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(row)) out.set(k.toLowerCase(), v);
  return out;
};

const asOptionalString = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const arnFlags = (arn: string): AwsAuthRowFlag[] => {
  const flags: AwsAuthRowFlag[] = [];
  const parts = splitArn(arn);
  if (arn === '' || !canonicalizeArn(arn).ok) {
    // A federated-user or assumed-role STS ARN canonicalises fine; anything that does not is dead.
    flags.push('invalid-arn');
  }
  if (parts?.service === 'sts' && parts.resource.startsWith('assumed-role/')) flags.push('sts-arn-never-matches');
  // Mapping ARNs are compared as written against a path-less canonical role ARN (docs/formats.md §1.5).
  if (roleArnHasPath(arn)) flags.push('path-never-matches');
  return flags;
};

const parseRows = (kind: 'role' | 'user', key: string, value: unknown, problems: Problems): AwsAuthRow[] => {
  const arnKey = kind === 'role' ? 'rolearn' : 'userarn';
  const rows: AwsAuthRow[] = [];
  parseSequence(key, value, problems).forEach((item, index) => {
    if (!isRecord(item)) {
      problems.push({ key, message: `${key}[${index}] is not a mapping` });
      return;
    }
    const f = fieldsByLowerKey(item);
    const rawArn = f.get(arnKey);
    if (rawArn !== undefined && typeof rawArn !== 'string') {
      problems.push({ key, message: `${key}[${index}].${arnKey} is not a string` });
    }
    const arn = typeof rawArn === 'string' ? rawArn : '';
    const row: AwsAuthRow = { kind, arn, matchKey: arn.toLowerCase(), groups: [], flags: arnFlags(arn), index };
    const username = f.get('username');
    if (username !== undefined && typeof username !== 'string') {
      problems.push({ key, message: `${key}[${index}].username is not a string` });
    } else {
      const u = asOptionalString(username);
      if (u !== undefined) row.username = u;
    }
    const groups = f.get('groups');
    if (Array.isArray(groups)) {
      for (const g of groups) {
        if (typeof g === 'string') row.groups.push(g);
        else problems.push({ key, message: `${key}[${index}].groups has a non-string item` });
      }
    } else if (groups !== undefined && groups !== '' && groups !== '~' && groups !== 'null') {
      problems.push({ key, message: `${key}[${index}].groups is not a list` });
    }
    rows.push(row);
  });
  return rows;
};

/**
 * Roles are stored in a map keyed by the lower-cased rolearn, so of two rows with the same key the
 * LAST one wins. Users are keyed by the raw userarn (again last wins) but matched by a case-insensitive
 * scan of a Go map, so rows differing only in case are ambiguous.
 */
const flagDuplicates = (rows: AwsAuthRow[], keyOf: (r: AwsAuthRow) => string): void => {
  const last = new Map<string, number>();
  rows.forEach((r, i) => {
    if (r.arn !== '') last.set(keyOf(r), i);
  });
  rows.forEach((r, i) => {
    if (r.arn !== '' && last.get(keyOf(r)) !== i) r.flags.push('shadowed-duplicate');
  });
};

const flagCaseAmbiguity = (users: AwsAuthRow[]): void => {
  const rawByLower = new Map<string, Set<string>>();
  for (const u of users) {
    if (u.arn === '' || u.flags.includes('shadowed-duplicate')) continue;
    const set = rawByLower.get(u.matchKey) ?? new Set<string>();
    set.add(u.arn);
    rawByLower.set(u.matchKey, set);
  }
  for (const u of users) {
    if (u.flags.includes('shadowed-duplicate')) continue;
    if ((rawByLower.get(u.matchKey)?.size ?? 0) > 1) u.flags.push('case-ambiguous-duplicate');
  }
};

const parseAccounts = (value: unknown, problems: Problems): string[] => {
  const accounts: string[] = [];
  parseSequence('mapAccounts', value, problems).forEach((item, index) => {
    if (typeof item === 'string' && item !== '') accounts.push(item);
    else problems.push({ key: 'mapAccounts', message: `mapAccounts[${index}] is not an account id` });
  });
  return accounts;
};

/** Rows flagged with any of these can never admit anyone. */
export const NEVER_MATCHING_FLAGS: readonly AwsAuthRowFlag[] = [
  'path-never-matches',
  'sts-arn-never-matches',
  'shadowed-duplicate',
  'invalid-arn',
];

export const rowCanMatch = (row: AwsAuthRow): boolean => !row.flags.some((f) => NEVER_MATCHING_FLAGS.includes(f));

/**
 * Parse aws-auth from a ConfigMap object (audit requestObject/responseObject, `kubectl -o json`), its
 * `data` map, or YAML/JSON text (`kubectl get cm aws-auth -o yaml`, multi-document files, Lists).
 * Never throws. A key that cannot be parsed yields `parseable: false` and a problem, not a failure.
 */
export const parseAwsAuth = (input: unknown): ParseResult<AwsAuthConfig> =>
  redactParsed(parseConfig(input), typeof input === 'string' ? input : undefined);

const parseConfig = (input: unknown): ParseResult<AwsAuthConfig> => {
  const located = locateData(input);
  if (!located.ok) {
    const code = located.code === 'yaml' ? 'AWS_AUTH_YAML' : 'AWS_AUTH_NOT_CONFIGMAP';
    return fail(rawText(input), issue(code, located.message));
  }
  try {
    const problems: Problems = [];
    const roles = parseRows('role', 'mapRoles', located.data.mapRoles, problems);
    const users = parseRows('user', 'mapUsers', located.data.mapUsers, problems);
    const accounts = parseAccounts(located.data.mapAccounts, problems);
    flagDuplicates(roles, (r) => r.matchKey);
    flagDuplicates(users, (r) => r.arn);
    flagCaseAmbiguity(users);
    return ok({ roles, users, accounts, parseable: problems.length === 0, problems });
  } catch (e) {
    return fail(rawText(input), issue('AWS_AUTH_ROW_SHAPE', `unreadable aws-auth data: ${(e as Error).message}`));
  }
};

// ---------------------------------------------------------------------------------------------
// Diff
// ---------------------------------------------------------------------------------------------

export type AwsAuthRowField = 'arn' | 'username' | 'groups' | 'flags';

export interface AwsAuthRowChange {
  kind: 'role' | 'user';
  matchKey: string;
  before: AwsAuthRow;
  after: AwsAuthRow;
  fields: AwsAuthRowField[];
}

export interface AwsAuthDiff {
  added: AwsAuthRow[];
  removed: AwsAuthRow[];
  changed: AwsAuthRowChange[];
  accountsAdded: string[];
  accountsRemoved: string[];
  /** parseable went from true (or absent) to false: part of the mapping was silently dropped. */
  becameUnparseable: boolean;
  /** True when nothing effective changed. */
  empty: boolean;
}

/**
 * The row that takes effect for each (kind, matchKey): the last non-shadowed one. Rows with the same
 * key that can never match are kept in the comparison through their flags.
 */
const effectiveRows = (config: AwsAuthConfig | null | undefined): Map<string, AwsAuthRow> => {
  const out = new Map<string, AwsAuthRow>();
  for (const row of [...(config?.roles ?? []), ...(config?.users ?? [])]) {
    if (row.flags.includes('shadowed-duplicate')) continue;
    out.set(`${row.kind}\u0000${row.matchKey}`, row);
  }
  return out;
};

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Rows added / removed / changed by (kind, matchKey), and accounts added / removed. */
export const diffAwsAuth = (
  before: AwsAuthConfig | null | undefined,
  after: AwsAuthConfig | null | undefined,
): AwsAuthDiff => {
  const b = effectiveRows(before);
  const a = effectiveRows(after);
  const added: AwsAuthRow[] = [];
  const removed: AwsAuthRow[] = [];
  const changed: AwsAuthRowChange[] = [];
  for (const [key, row] of a) {
    const old = b.get(key);
    if (!old) {
      added.push(row);
      continue;
    }
    const fields: AwsAuthRowField[] = [];
    if (old.arn !== row.arn) fields.push('arn');
    if (old.username !== row.username) fields.push('username');
    // Group order is preserved in the user's group list, so it is part of the mapping.
    if (!sameList(old.groups, row.groups)) fields.push('groups');
    if (!sameList([...old.flags].sort(), [...row.flags].sort())) fields.push('flags');
    if (fields.length > 0) changed.push({ kind: row.kind, matchKey: row.matchKey, before: old, after: row, fields });
  }
  for (const [key, row] of b) if (!a.has(key)) removed.push(row);
  const beforeAccounts = new Set(before?.accounts ?? []);
  const afterAccounts = new Set(after?.accounts ?? []);
  const accountsAdded = [...afterAccounts].filter((x) => !beforeAccounts.has(x));
  const accountsRemoved = [...beforeAccounts].filter((x) => !afterAccounts.has(x));
  const becameUnparseable = (before?.parseable ?? true) && after !== null && after !== undefined && !after.parseable;
  return {
    added,
    removed,
    changed,
    accountsAdded,
    accountsRemoved,
    becameUnparseable,
    empty:
      added.length + removed.length + changed.length + accountsAdded.length + accountsRemoved.length === 0 &&
      !becameUnparseable,
  };
};
