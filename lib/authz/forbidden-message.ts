import { fail, issue, ok, type ParseResult } from '../result.js';
import { readGoQuoted as readQuoted } from '../sources/go-quote.js';
import type { MissingPermission } from './types.js';

/**
 * The 403 `responseStatus.message` written by the authorization filter (docs/formats.md §2.3):
 *
 *   <resource>[.<group>] [Q(name)] is forbidden: User Q(u) cannot <verb> resource Q(res[/sub])
 *       in API group Q(g) (in the namespace Q(ns) | at the cluster scope)[: <reason>]
 *   forbidden: User Q(u) cannot <verb> path Q(path)[: <reason>]
 *
 * The resource/group/namespace after `cannot` are authoritative; the leading qualified resource is
 * only cross-checked. The reason suffix is `: %q` in older apiservers and `: %s` in newer ones, so a
 * suffix that is exactly one Go-quoted string is unquoted, anything else is kept verbatim.
 * Other 403s (admission webhooks, PodSecurity, `… is forbidden: unable to create new content in
 * namespace … because it is being terminated`) are not authorization denials: they fail with
 * FORBIDDEN_MESSAGE_GRAMMAR so the caller can keep the text without inventing a missing permission.
 */

const PATH = 'responseStatus.message';

const notAuthz = (message: string, why: string): ParseResult<MissingPermission> =>
  fail(message, issue('FORBIDDEN_MESSAGE_GRAMMAR', why, PATH));

interface Prefix {
  qualifiedResource?: string;
  name?: string;
  /** Index just past `forbidden: `. */
  end: number;
}

const readPrefix = (m: string): Prefix | undefined => {
  if (m.startsWith('forbidden: ')) return { end: 'forbidden: '.length };
  const sp = m.indexOf(' ');
  if (sp <= 0) return undefined;
  const qualifiedResource = m.slice(0, sp);
  let pos = sp + 1;
  let name: string | undefined;
  if (m[pos] === '"') {
    const q = readQuoted(m, pos);
    if (!q) return undefined;
    name = q.value;
    pos = q.end;
    if (m[pos] !== ' ') return undefined;
    pos += 1;
  }
  const marker = 'is forbidden: ';
  if (!m.startsWith(marker, pos)) return undefined;
  return name === undefined
    ? { qualifiedResource, end: pos + marker.length }
    : { qualifiedResource, name, end: pos + marker.length };
};

const readSuffix = (m: string, pos: number): { ok: true; reason?: string } | { ok: false } => {
  if (pos === m.length) return { ok: true };
  if (!m.startsWith(': ', pos)) return { ok: false };
  const rest = m.slice(pos + 2);
  if (rest.startsWith('"')) {
    const q = readQuoted(rest, 0);
    if (q && q.end === rest.length) return { ok: true, reason: q.value };
  }
  return { ok: true, reason: rest };
};

/** Parse a 403 message into the permission that was missing. Never throws. */
export const parseForbiddenMessage = (message: string): ParseResult<MissingPermission> => {
  if (typeof message !== 'string' || message.length === 0) return notAuthz(String(message ?? ''), 'empty message');
  const m = message.trim();
  const prefix = readPrefix(m);
  if (!prefix) return notAuthz(message, 'no `<resource> is forbidden:` / `forbidden:` prefix');
  let pos = prefix.end;
  if (!m.startsWith('User ', pos)) {
    return notAuthz(message, 'forbidden, but not by the authorizer (no `User "<name>" cannot`)');
  }
  pos += 'User '.length;
  const user = readQuoted(m, pos);
  if (!user) return notAuthz(message, 'username is not a valid Go-quoted string');
  pos = user.end;
  if (!m.startsWith(' cannot ', pos)) return notAuthz(message, 'missing ` cannot `');
  pos += ' cannot '.length;
  const verbEnd = m.indexOf(' ', pos);
  if (verbEnd <= pos) return notAuthz(message, 'missing verb');
  const verb = m.slice(pos, verbEnd);
  pos = verbEnd + 1;

  if (m.startsWith('path ', pos)) {
    const p = readQuoted(m, pos + 'path '.length);
    if (!p) return notAuthz(message, 'path is not a valid Go-quoted string');
    const suffix = readSuffix(m, p.end);
    if (!suffix.ok) return notAuthz(message, 'unexpected text after the path');
    const out: MissingPermission = { username: user.value, verb, path: p.value, scope: 'path' };
    if (suffix.reason !== undefined) out.reasonSuffix = suffix.reason;
    return ok(out);
  }

  if (!m.startsWith('resource ', pos)) return notAuthz(message, 'expected `resource` or `path` after the verb');
  const res = readQuoted(m, pos + 'resource '.length);
  if (!res) return notAuthz(message, 'resource is not a valid Go-quoted string');
  pos = res.end;
  if (!m.startsWith(' in API group ', pos)) return notAuthz(message, 'missing ` in API group `');
  const group = readQuoted(m, pos + ' in API group '.length);
  if (!group) return notAuthz(message, 'API group is not a valid Go-quoted string');
  pos = group.end;

  let scope: MissingPermission['scope'];
  let namespace: string | undefined;
  if (m.startsWith(' at the cluster scope', pos)) {
    scope = 'cluster';
    pos += ' at the cluster scope'.length;
  } else if (m.startsWith(' in the namespace ', pos)) {
    const ns = readQuoted(m, pos + ' in the namespace '.length);
    if (!ns) return notAuthz(message, 'namespace is not a valid Go-quoted string');
    scope = 'namespace';
    namespace = ns.value;
    pos = ns.end;
  } else {
    return notAuthz(message, 'missing scope (`in the namespace` / `at the cluster scope`)');
  }
  const suffix = readSuffix(m, pos);
  if (!suffix.ok) return notAuthz(message, 'unexpected text after the scope');

  // `resource` is `<resource>[/<subresource>]`; resource names never contain `/`.
  const slash = res.value.indexOf('/');
  const out: MissingPermission = {
    username: user.value,
    verb,
    resource: slash < 0 ? res.value : res.value.slice(0, slash),
    apiGroup: group.value,
    scope,
  };
  if (slash >= 0) out.subresource = res.value.slice(slash + 1);
  if (namespace !== undefined) out.namespace = namespace;
  if (prefix.name !== undefined) out.name = prefix.name;
  if (suffix.reason !== undefined) out.reasonSuffix = suffix.reason;
  return ok(out);
};
