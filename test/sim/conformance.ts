/**
 * Format checks written from docs/formats.md alone, independent of both the simulator's writers and the
 * product's parsers. Each returns a list of problems (empty = conforms).
 */

const LEVELS = new Set(['debug', 'info', 'warning', 'error', 'fatal', 'panic']);
const PAIR = /([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|[^ "]*)/y;
const BARE = /^[A-Za-z0-9\-._/@^+]*$/;

/** Checks an authenticator line against the logrus TextFormatter grammar (docs/formats.md §1.1). */
export const logrusProblems = (line: string): string[] => {
  const problems: string[] = [];
  const pairs: [string, string][] = [];
  let i = 0;
  while (i < line.length) {
    PAIR.lastIndex = i;
    const m = PAIR.exec(line);
    if (!m) return [`not key=value at offset ${i}: ${line.slice(i, i + 30)}`];
    pairs.push([m[1] as string, m[2] as string]);
    i = PAIR.lastIndex;
    if (i < line.length) {
      if (line[i] !== ' ') return [`expected a space at offset ${i}`];
      i++;
    }
  }
  const keys = pairs.map(([k]) => k);
  if (keys[0] !== 'time') problems.push('first key is not time');
  if (keys[1] !== 'level') problems.push('second key is not level');
  const level = pairs[1]?.[1];
  if (!level || !LEVELS.has(level)) problems.push(`bad level ${level}`);
  const dataStart = keys[2] === 'msg' ? 3 : 2;
  const data = keys.slice(dataStart);
  const sorted = [...data].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (data.join(',') !== sorted.join(',')) problems.push(`data keys not sorted: ${data.join(',')}`);
  for (const [k, v] of pairs) {
    if (v.startsWith('"')) {
      const inner = JSON.parse(v.replace(/\\x([0-9a-f]{2})/g, '\\u00$1')) as string;
      // logrus only quotes when a character outside the bare set is present.
      if (BARE.test(inner)) problems.push(`${k} is quoted but could be bare`);
    } else if (!BARE.test(v)) {
      problems.push(`${k} has a non-bare unquoted value`);
    }
  }
  const time = pairs[0]?.[1] ?? '';
  if (!/^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)"$/.test(time))
    problems.push(`time not RFC 3339 seconds: ${time}`);
  return problems;
};

export const logrusFields = (line: string): Record<string, string> => {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < line.length) {
    PAIR.lastIndex = i;
    const m = PAIR.exec(line);
    if (!m) break;
    const v = m[2] as string;
    out[m[1] as string] = v.startsWith('"') ? (JSON.parse(v) as string) : v;
    i = PAIR.lastIndex + 1;
  }
  return out;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
/** docs/formats.md §2.3 403 message grammar (resource and non-resource forms). */
const FORBID_RESOURCE =
  /^[a-z0-9.-]+( "[^"]+")? is forbidden: User "[^"]+" cannot [a-z]+ resource "[a-z0-9/-]+" in API group "[a-z0-9.-]*" (in the namespace "[a-z0-9-]+"|at the cluster scope)(: .+)?$/;
const FORBID_PATH = /^forbidden: User "[^"]+" cannot [a-z]+ path "[^"]+"(: .+)?$/;

/** Checks one audit event line (docs/formats.md §2). */
export const auditProblems = (line: string): string[] => {
  const problems: string[] = [];
  let ev: Record<string, unknown>;
  try {
    ev = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return ['not JSON'];
  }
  if (ev['kind'] !== 'Event' || ev['apiVersion'] !== 'audit.k8s.io/v1') problems.push('not an audit.k8s.io/v1 Event');
  if (!['Metadata', 'Request', 'RequestResponse'].includes(ev['level'] as string))
    problems.push(`bad level ${ev['level']}`);
  if (!UUID.test(ev['auditID'] as string)) problems.push('auditID is not a v4 UUID');
  if (!['ResponseStarted', 'ResponseComplete'].includes(ev['stage'] as string))
    problems.push(`bad stage ${ev['stage']}`);
  for (const k of ['requestURI', 'verb', 'userAgent']) if (typeof ev[k] !== 'string') problems.push(`missing ${k}`);
  if (!Array.isArray(ev['sourceIPs'])) problems.push('sourceIPs not an array');
  const received = ev['requestReceivedTimestamp'] as string;
  const stageTs = ev['stageTimestamp'] as string;
  if (!MICROS.test(received) || !MICROS.test(stageTs)) problems.push('timestamps not µs RFC 3339');
  if (stageTs < received) problems.push('stageTimestamp before requestReceivedTimestamp');
  if ((ev['requestURI'] as string).includes('&') && !line.includes('\\u0026')) problems.push('& not Go-escaped');
  const user = ev['user'] as Record<string, unknown> | undefined;
  if (!user || typeof user !== 'object') problems.push('missing user');
  const status = ev['responseStatus'] as { code?: number; message?: string } | undefined;
  const annotations = (ev['annotations'] ?? {}) as Record<string, string>;
  if (status?.code === 401) {
    if (user && Object.keys(user).length) problems.push('401 event has a user');
    if (Object.keys(annotations).length) problems.push('401 event has authorization annotations');
    if (!/^Authentication failed/.test(status.message ?? '')) problems.push('401 without authentication message');
  } else {
    if (typeof user?.['username'] !== 'string') problems.push('missing user.username');
    const decision = annotations['authorization.k8s.io/decision'];
    if (decision !== 'allow' && decision !== 'forbid') problems.push(`bad decision ${decision}`);
    if (typeof annotations['authorization.k8s.io/reason'] !== 'string') problems.push('missing reason');
    if (status?.code === 403) {
      if (decision !== 'forbid') problems.push('403 without forbid');
      const msg = status.message ?? '';
      if (!FORBID_RESOURCE.test(msg) && !FORBID_PATH.test(msg)) problems.push(`403 message grammar: ${msg}`);
    }
    const extra = user?.['extra'] as Record<string, unknown> | undefined;
    if (extra) {
      const keys = Object.keys(extra);
      if (keys.join() !== [...keys].sort().join()) problems.push('extra keys not sorted (Go map order)');
      for (const k of keys) if (!Array.isArray(extra[k])) problems.push(`extra.${k} not an array`);
    }
  }
  return problems;
};

const SOURCES = new Set(['eks.amazonaws.com', 'sts.amazonaws.com', 'eks-auth.amazonaws.com']);

/** Checks one CloudTrail record (docs/formats.md §3.1). */
export const cloudTrailProblems = (r: Record<string, unknown>): string[] => {
  const problems: string[] = [];
  if (!UUID.test(r['eventID'] as string)) problems.push('eventID not a UUID');
  if (!SECONDS.test(r['eventTime'] as string)) problems.push(`eventTime not second precision: ${r['eventTime']}`);
  if (!SOURCES.has(r['eventSource'] as string)) problems.push(`eventSource ${r['eventSource']}`);
  if (typeof r['eventName'] !== 'string') problems.push('missing eventName');
  if (!/^\d{12}$/.test(r['recipientAccountId'] as string)) problems.push('recipientAccountId not 12 digits');
  if (r['eventType'] !== 'AwsApiCall') problems.push('eventType');
  const ui = r['userIdentity'] as Record<string, unknown> | undefined;
  if (!ui || typeof ui['type'] !== 'string') problems.push('userIdentity.type');
  if (!('requestParameters' in r) || !('responseElements' in r))
    problems.push('requestParameters/responseElements absent');
  return problems;
};
