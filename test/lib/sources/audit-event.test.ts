import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auditStageKey,
  parseAuditEvent,
  parseAuditEventObject,
  TRUNCATION_SUFFIX,
} from '../../../lib/sources/audit-event.js';
import type { AuditEvent } from '../../../lib/sources/types.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/sources/audit/${name}`, import.meta.url), 'utf8');

const parsed = (message: string): AuditEvent => {
  const r = parseAuditEvent(message);
  if (!r.ok) throw new Error(`expected ok: ${JSON.stringify(r.issues)}`);
  return r.value;
};

// The KIEMPossible event, compacted to one line as CloudWatch delivers it.
const kiemLine = JSON.stringify(JSON.parse(fixture('kiempossible-eks-audit-access-policy-allow.json')));

describe('real audit events (corpus)', () => {
  it('reads the EKS access-policy allow with every user.extra key (KIEMPossible)', () => {
    const e = parsed(kiemLine);
    expect(e).toMatchObject({
      auditID: 'fb5dba68-6262-4718-b45e-d293b03e434d',
      stage: 'ResponseComplete',
      level: 'Request',
      verb: 'list',
      requestURI: '/api/v1/namespaces',
      sourceIPs: ['130.41.219.137'],
      objectRef: { resource: 'namespaces', apiVersion: 'v1' },
      responseStatus: { code: 200 },
      requestReceivedTimestamp: '2024-08-24T14:27:07.461683Z',
      stageTimestamp: '2024-08-24T14:27:07.491536Z',
      truncated: false,
    });
    expect(e.user).toEqual({
      username: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
      uid: 'aws-iam-authenticator:211125685544:AROATCKASJUUBCXRRKSFT',
      groups: ['system:authenticated'],
      extra: {
        accessKeyId: ['ASIATCKASJUUD7MPDOZN'],
        arn: ['arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers@paloaltonetworks.com'],
        canonicalArn: ['arn:aws:iam::211125685544:role/sso_admin'],
        principalId: ['AROATCKASJUUBCXRRKSFT'],
        sessionName: ['gomyers@paloaltonetworks.com'],
      },
    });
    expect(e.annotations['authorization.k8s.io/reason']).toBe(
      'EKS Access Policy: allowed by ClusterRoleBinding "arn:aws:iam::211125685544:role/sso_admin+arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" of ClusterRole "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" to User "AROATCKASJUUBCXRRKSFT"',
    );
    expect(auditStageKey(e)).toBe('fb5dba68-6262-4718-b45e-d293b03e434d#ResponseComplete');
  });

  it('reads the pretty-printed original as well', () => {
    expect(parsed(fixture('kiempossible-eks-audit-access-policy-allow.json')).auditID).toBe(
      'fb5dba68-6262-4718-b45e-d293b03e434d',
    );
  });

  it('reads the re-joined workshop forbid line (kube-scheduler 403, JSON \\u0026 in the URI)', () => {
    const line = fixture('workshop-forbid-kube-scheduler-2023.rejoined.log').trim();
    const message = line.slice(line.indexOf(' ') + 1);
    const e = parsed(message);
    expect(e).toMatchObject({
      auditID: '9151d8b4-0630-4020-8e18-c65369a13249',
      stage: 'ResponseComplete',
      verb: 'list',
      requestURI: '/apis/policy/v1/poddisruptionbudgets?limit=500&resourceVersion=0',
      user: { username: 'system:kube-scheduler', groups: ['system:authenticated'], extra: {} },
      objectRef: { resource: 'poddisruptionbudgets', apiGroup: 'policy', apiVersion: 'v1' },
      responseStatus: {
        code: 403,
        status: 'Failure',
        reason: 'Forbidden',
        details: { group: 'policy', kind: 'poddisruptionbudgets' },
      },
      annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
    });
    expect(e.responseStatus?.message).toBe(
      'poddisruptionbudgets.policy is forbidden: User "system:kube-scheduler" cannot list resource "poddisruptionbudgets" in API group "policy" at the cluster scope',
    );
  });

  describe('panther-analysis rule tests (184 Panther-normalised logs)', () => {
    const rows = fixture('panther-eks-audit-rule-tests.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { test_name: string; rule_id: string; log: unknown });
    const results = rows.map((r) => ({ row: r, result: parseAuditEvent(JSON.stringify(r.log)) }));

    it('parses every log: 21 complete events, the rest rejected for the auditID / stage Panther dropped', () => {
      expect(rows).toHaveLength(184);
      const byOutcome: Record<string, number> = {};
      for (const { result } of results) {
        const k = result.ok ? 'ok' : result.issues.map((i) => `${i.code}:${i.path}`).join(',');
        byOutcome[k] = (byOutcome[k] ?? 0) + 1;
      }
      expect(byOutcome).toEqual({
        ok: 21,
        'AUDIT_MISSING_FIELD:auditID,AUDIT_MISSING_FIELD:stage': 139,
        'AUDIT_MISSING_FIELD:auditID': 18,
        'AUDIT_MISSING_FIELD:stage': 6,
      });
      // A rejection always keeps the raw text for quarantine.
      for (const { result, row } of results) if (!result.ok) expect(JSON.parse(result.raw)).toEqual(row.log);
    });

    const find = (testName: string): AuditEvent => {
      const hit = results.find((x) => x.row.test_name === testName && x.result.ok);
      if (!hit?.result.ok) throw new Error(`no parsed event for ${testName}`);
      return hit.result.value;
    };

    it('normalises Panther timestamps to RFC 3339 and keeps IAM extra keys (2022-11 era, no principalId)', () => {
      const e = find('Not 403');
      expect(e).toMatchObject({
        auditID: '35506555-dffc-4337-b2b1-c4af52b88e18',
        stage: 'ResponseStarted',
        requestReceivedTimestamp: '2022-11-29T00:09:04.38Z',
        stageTimestamp: '2022-11-29T00:09:04.392Z',
      });
      expect(e.user.extra).toEqual({
        accessKeyId: ['ASIARLIVEKVNN6Y6J5UW'],
        arn: ['arn:aws:sts::123412341234:assumed-role/DevAdministrator/1669660343296132000'],
        canonicalArn: ['arn:aws:iam::123412341234:role/DevAdministrator'],
        sessionName: ['1669660343296132000'],
      });
      expect(Date.parse(e.requestReceivedTimestamp as string)).toBe(Date.UTC(2022, 10, 29, 0, 9, 4, 380));
    });

    it('keeps rewritten service-account extra keys verbatim', () => {
      expect(find('403 and Private IP').user.extra).toEqual({
        'authentication_kubernetes_io_slash_pod-name': ['coredns-57ff979f67-bl27n'],
        'authentication_kubernetes_io_slash_pod-uid': ['5b9488ae-5563-42aa-850b-b0d82edb3e22'],
      });
    });

    it('reads anonymous requests, allowed and denied', () => {
      expect(find('Anonymous API Access Web Scanner Allowed')).toMatchObject({
        user: { username: 'system:anonymous' },
        responseStatus: { code: 200 },
        annotations: { 'authorization.k8s.io/decision': 'allow' },
      });
      expect(find('Anonymous API Access Web Scanner Denied')).toMatchObject({
        user: { username: 'system:anonymous' },
        responseStatus: { code: 403 },
        stageTimestamp: '2024-11-13T23:50:32.673504000Z',
      });
    });
  });
});

describe('401 and other edge shapes', () => {
  it('reads an unauthenticated 401: empty user, no annotations', () => {
    const e = parsed(
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0c2a1d9e-1111-4222-8333-944455556666","stage":"ResponseStarted","requestURI":"/api/v1/namespaces","verb":"list","user":{},"sourceIPs":["203.0.113.9"],"userAgent":"kubectl/v1.30.0","responseStatus":{"metadata":{},"status":"Failure","message":"Authentication failed, attempted: bearer","reason":"Unauthorized","code":401},"requestReceivedTimestamp":"2024-05-01T10:00:00.000001Z","stageTimestamp":"2024-05-01T10:00:00.000201Z"}',
    );
    expect(e.user).toEqual({ groups: [], extra: {} });
    expect(e.responseStatus).toMatchObject({ code: 401, message: 'Authentication failed, attempted: bearer' });
    expect(e.annotations).toEqual({});
  });

  it('reads impersonation, scalar / null extra values and keeps request and response bodies', () => {
    const e = parsed(
      JSON.stringify({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        auditID: 'a',
        stage: 'ResponseComplete',
        user: { username: 'admin', extra: { sessionName: '', odd: null } },
        impersonatedUser: { username: 'dev', groups: ['devs'] },
        requestObject: { kind: 'ConfigMap', data: { mapRoles: '- rolearn: x\n' } },
        responseObject: { kind: 'Status' },
      }),
    );
    expect(e.user.extra).toEqual({ sessionName: [''], odd: [] });
    expect(e.impersonatedUser).toEqual({ username: 'dev', groups: ['devs'], extra: {} });
    expect(e.requestObject).toEqual({ kind: 'ConfigMap', data: { mapRoles: '- rolearn: x\n' } });
    expect(e.responseObject).toEqual({ kind: 'Status' });
  });

  it('tolerates a leading CloudWatch timestamp and surrounding blanks', () => {
    expect(parsed(`2024-08-24T14:27:07.500Z ${kiemLine}\n`).auditID).toBe('fb5dba68-6262-4718-b45e-d293b03e434d');
  });

  it('accepts an already-decoded object', () => {
    const r = parseAuditEventObject(JSON.parse(kiemLine));
    expect(r.ok && r.value.verb).toBe('list');
    expect(parseAuditEventObject([1]).ok).toBe(false);
  });
});

describe('truncated events', () => {
  // CloudWatch cuts oversized events and appends the literal suffix: build one from a real event.
  const cut = (text: string, at: number): string => text.slice(0, at) + TRUNCATION_SUFFIX;

  it('recovers what a regex can read and flags the event', () => {
    // Keep the API server's field order: the bodies come before the timestamps and annotations.
    const { requestReceivedTimestamp, stageTimestamp, annotations, ...head } = JSON.parse(kiemLine) as Record<
      string,
      unknown
    >;
    const big = JSON.stringify({
      ...head,
      responseObject: { kind: 'NamespaceList', items: Array.from({ length: 50 }, (_, i) => ({ name: `ns-${i}` })) },
      requestReceivedTimestamp,
      stageTimestamp,
      annotations,
    });
    const e = parsed(cut(big, big.indexOf('ns-20')));
    expect(e).toMatchObject({
      truncated: true,
      auditID: 'fb5dba68-6262-4718-b45e-d293b03e434d',
      stage: 'ResponseComplete',
      level: 'Request',
      verb: 'list',
      requestURI: '/api/v1/namespaces',
      userAgent: 'ClusterLoGo_darwin_amd64/v0.0.0 (darwin/amd64) kubernetes/$Format',
      user: {
        username: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
        uid: 'aws-iam-authenticator:211125685544:AROATCKASJUUBCXRRKSFT',
        groups: ['system:authenticated'],
      },
      objectRef: { resource: 'namespaces', apiVersion: 'v1' },
      responseStatus: { code: 200 },
    });
    // Timestamps and annotations come after the bodies, so they are lost here.
    expect(e.stageTimestamp).toBeUndefined();
    expect(e.annotations).toEqual({});
  });

  it('recovers the decision, reason, status code and timestamps when the cut falls late', () => {
    const line = fixture('workshop-forbid-kube-scheduler-2023.rejoined.log').trim();
    const message = line.slice(line.indexOf(' ') + 1);
    const e = parsed(cut(message, message.length - 2));
    expect(e).toMatchObject({
      truncated: true,
      auditID: '9151d8b4-0630-4020-8e18-c65369a13249',
      requestURI: '/apis/policy/v1/poddisruptionbudgets?limit=500&resourceVersion=0',
      objectRef: { resource: 'poddisruptionbudgets', apiGroup: 'policy' },
      responseStatus: { code: 403 },
      requestReceivedTimestamp: '2023-05-20T04:14:53.795931Z',
      stageTimestamp: '2023-05-20T04:14:53.798812Z',
      annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
    });
  });

  it('fails with AUDIT_TRUNCATED_NO_ID when the cut falls before the auditID', () => {
    const r = parseAuditEvent(cut(kiemLine, 60));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues.map((i) => i.code)).toEqual(['AUDIT_TRUNCATED_NO_ID']);
      expect(r.raw.endsWith(TRUNCATION_SUFFIX)).toBe(true);
    }
  });
});

describe('rejections', () => {
  const base = JSON.parse(kiemLine) as Record<string, unknown>;
  const withField = (patch: Record<string, unknown>): string => JSON.stringify({ ...base, ...patch });

  it.each([
    ['not JSON', 'AUDIT_NOT_JSON', undefined, '{"kind":"Event",'],
    ['not an object at all', 'AUDIT_NOT_JSON', undefined, 'plain text'],
    ['a JSON array', 'AUDIT_NOT_JSON', undefined, '[1,2]'],
    ['JSON null', 'AUDIT_NOT_JSON', undefined, 'null'],
    ['an EventList', 'AUDIT_NOT_EVENT', 'kind', withField({ kind: 'EventList' })],
    ['another API group', 'AUDIT_NOT_EVENT', 'apiVersion', withField({ apiVersion: 'v1', kind: undefined })],
    ['neither kind nor apiVersion', 'AUDIT_NOT_EVENT', undefined, JSON.stringify({ auditID: 'a', stage: 'x' })],
    ['missing auditID', 'AUDIT_MISSING_FIELD', 'auditID', withField({ auditID: undefined })],
    ['empty auditID', 'AUDIT_MISSING_FIELD', 'auditID', withField({ auditID: '' })],
    ['numeric auditID', 'AUDIT_BAD_FIELD', 'auditID', withField({ auditID: 7 })],
    ['missing stage', 'AUDIT_MISSING_FIELD', 'stage', withField({ stage: undefined })],
    ['user not an object', 'AUDIT_BAD_FIELD', 'user', withField({ user: 'bob' })],
    ['groups not strings', 'AUDIT_BAD_FIELD', 'user.groups', withField({ user: { username: 'a', groups: [1] } })],
    ['extra value an object', 'AUDIT_BAD_FIELD', 'user.extra.arn', withField({ user: { extra: { arn: { a: 1 } } } })],
    ['sourceIPs a string', 'AUDIT_BAD_FIELD', 'sourceIPs', withField({ sourceIPs: '1.2.3.4' })],
    ['objectRef.name a number', 'AUDIT_BAD_FIELD', 'objectRef.name', withField({ objectRef: { name: 1 } })],
    ['status code text', 'AUDIT_BAD_FIELD', 'responseStatus.code', withField({ responseStatus: { code: 'OK' } })],
    ['annotation an object', 'AUDIT_BAD_FIELD', 'annotations.a', withField({ annotations: { a: {} } })],
    ['unreadable timestamp', 'AUDIT_BAD_FIELD', 'stageTimestamp', withField({ stageTimestamp: 'yesterday' })],
  ])('%s -> %s', (_name, code, path, message) => {
    const r = parseAuditEvent(message);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.code).toBe(code);
      expect(r.issues[0]?.path).toBe(path);
      expect(r.raw).toBe(message);
    }
  });

  it('never throws on arbitrary strings or JSON values', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(typeof parseAuditEvent(s).ok).toBe('boolean');
        expect(typeof parseAuditEvent(`${s}${TRUNCATION_SUFFIX}`).ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(typeof parseAuditEvent(JSON.stringify(v) ?? '').ok).toBe('boolean');
        expect(typeof parseAuditEventObject(v).ok).toBe('boolean');
        expect(typeof parseAuditEventObject({ kind: 'Event', auditID: 'a', stage: 's', user: v, extra: v }).ok).toBe(
          'boolean',
        );
      }),
      { numRuns: 500 },
    );
    // Mutations of a real event keep the parser total.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: kiemLine.length }), fc.string({ maxLength: 5 }), (at, ins) => {
        const m = kiemLine.slice(0, at) + ins + kiemLine.slice(at);
        expect(typeof parseAuditEvent(m).ok).toBe('boolean');
        expect(typeof parseAuditEvent(kiemLine.slice(0, at) + TRUNCATION_SUFFIX).ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});

describe('untrusted map keys', () => {
  it('keeps a __proto__ key in user.extra and annotations as data, not as a prototype', () => {
    const line =
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete",' +
      '"verb":"get","user":{"username":"u","extra":{"__proto__":["x"]}},"annotations":{"__proto__":"y"}}';
    const r = parseAuditEvent(line);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.keys(r.value.user.extra)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(r.value.user.extra, '__proto__')?.value).toEqual(['x']);
    expect(Object.getOwnPropertyDescriptor(r.value.annotations, '__proto__')?.value).toBe('y');
    expect(Object.getPrototypeOf(r.value.annotations)).toBe(Object.prototype);
  });
});
