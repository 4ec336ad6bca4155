import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecisionChain } from '../../../lib/chain/types.js';
import type { AuditEvent } from '../../../lib/sources/types.js';
import { DecodedPart, decodeRefs, partDigest } from '../../../lib/store/dynamodb/segment-codec.js';
import {
  buildLogBatchItems,
  humanPostingItem,
  type PreparedAuditRow,
  type PreparedAuthnRow,
  type SegmentRetention,
} from '../../../lib/store/dynamodb/segment-writer.js';
import type { Item } from '../../../lib/store/dynamodb/table-client.js';
import { anchorOf, type ClusterRef, cellEndMs } from '../../../lib/store/keys.js';
import type { StoredAuditFacts, StoredAuthenticatorRecord } from '../../../lib/store/trail-store.js';
import { ACCOUNT_A, ACCOUNT_B, chainFromEvent, kiempossibleEvent } from '../../support/factories.js';

/**
 * buildLogBatchItems is the whole write side of requests (docs/data-model.md, "Writes"), and pure: rows
 * in, items out. Everything a redelivery relies on is decided here (grouping, anchors, duplicates,
 * canonical bytes, TTL from the cell), so it is tested here without an engine.
 */

const PROD: ClusterRef = { accountId: ACCOUNT_A, cluster: 'prod' };
const PROD_B: ClusterRef = { accountId: ACCOUNT_B, cluster: 'prod' };
const STAGING: ClusterRef = { accountId: ACCOUNT_A, cluster: 'staging' };
const RET: SegmentRetention = { request: 400, bulkRequest: 30, authenticator: 90 };
const CELL = '2024-08-24T14:25';
const SSO = 'arn:aws:iam::211125685544:role/sso_admin';
const NODE = 'arn:aws:iam::111122223333:role/eks-node-group-NodeInstanceRole';

interface Spec {
  id: string;
  at: string;
  stage?: string;
  verb?: string;
  username?: string;
  groups?: string[];
  canonicalArn?: string;
  accessKeyId?: string;
  resource?: string;
  namespace?: string;
  name?: string;
  code?: number;
  human?: string;
  /** A field that changes the stored bytes but not the row key (a copy from another record). */
  copy?: string;
  blob?: string;
}

const event = (s: Spec): AuditEvent => {
  const base = kiempossibleEvent();
  const extra: Record<string, string[]> = {};
  if (s.canonicalArn) extra['canonicalArn'] = [s.canonicalArn];
  if (s.accessKeyId) extra['accessKeyId'] = [s.accessKeyId];
  return {
    ...base,
    auditID: s.id,
    stage: s.stage ?? 'ResponseComplete',
    verb: s.verb ?? 'get',
    requestReceivedTimestamp: s.at,
    stageTimestamp: s.at,
    user: { username: s.username ?? 'alice', groups: s.groups ?? ['system:authenticated'], extra },
    objectRef: {
      ...(s.resource ? { resource: s.resource } : {}),
      ...(s.namespace ? { namespace: s.namespace } : {}),
      ...(s.name ? { name: s.name } : {}),
    },
    responseStatus: { code: s.code ?? 200 },
    annotations: {
      ...(s.code === 403 ? { 'authorization.k8s.io/decision': 'forbid' } : base.annotations),
      ...(s.copy ? { copy: s.copy } : {}),
      ...(s.blob ? { blob: s.blob } : {}),
    },
  };
};

const audit = (ref: ClusterRef, unit: [string, number], s: Spec): PreparedAuditRow => {
  const { chain, facts } = chainFromEvent(event(s), {
    cluster: ref.cluster,
    accountId: ref.accountId,
    ...(s.human ? { human: s.human } : {}),
  });
  return { ref, unit: { id: unit[0], index: unit[1] }, facts, chain };
};

const sso = (id: string, at: string, more: Partial<Spec> = {}): Spec => ({
  id,
  at,
  username: 'alice',
  canonicalArn: SSO,
  accessKeyId: 'ASIAPEND',
  resource: 'pods',
  namespace: 'default',
  ...more,
});

const kubelet = (id: string, at: string, more: Partial<Spec> = {}): Spec => ({
  id,
  at,
  username: 'system:node:ip-1',
  groups: ['system:nodes'],
  canonicalArn: NODE,
  resource: 'pods',
  namespace: 'default',
  name: 'web-1',
  ...more,
});

const authnRecord = (eventId: string, at: string): StoredAuthenticatorRecord => ({
  origin: {
    cluster: 'prod',
    accountId: ACCOUNT_A,
    logGroup: '/aws/eks/prod/cluster',
    logStream: 'authenticator-0123',
    streamKind: 'authenticator',
    eventId,
    timestamp: Date.parse(at),
  },
  line: {
    kind: 'access-denied',
    time: at,
    fields: {},
    error: 'ARN is not mapped',
    errorClass: 'identity-not-mapped',
  },
});

const denialChain = (eventId: string, at: string): DecisionChain => ({
  chainId: `prod#authn#${eventId}`,
  kind: 'authn-failure',
  cluster: 'prod',
  accountId: ACCOUNT_A,
  at,
  principal: { status: 'observed', value: { type: 'role', canonicalArn: SSO }, why: 't', evidence: [] },
  human: { status: 'unknown', why: 't', evidence: [] },
  mapping: { status: 'unknown', why: 't', evidence: [] },
  k8sIdentity: { status: 'unknown', why: 't', evidence: [] },
  decision: { status: 'observed', value: { outcome: 'authn-failed', authorizer: 'none' }, why: 't', evidence: [] },
  request: { status: 'unknown', why: 't', evidence: [] },
  pendingEnrichment: false,
});

const ttl = (cell: string, days: number) => Math.floor(cellEndMs(cell) / 1000) + days * 86_400;

/** Every item as text (bytes in base64, sets sorted), sorted: equal lists mean byte-identical writes. */
const canonicalItems = (items: readonly Item[]): string[] =>
  items
    .map((item) =>
      JSON.stringify(
        Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1))),
        (_k, v: unknown) => {
          if (v instanceof Set) return [...v].sort();
          if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer') {
            return Buffer.from((v as { data: number[] }).data).toString('base64');
          }
          return v;
        },
      ),
    )
    .sort();

const segmentItems = (items: readonly Item[]) => items.filter((i) => String(i['pk']).startsWith('S#'));

/** Decodes the part `<cell>#<anchor>#<part>` of a cluster from the chunk items. */
const partOf = (items: readonly Item[], ref: ClusterRef, sk: string): DecodedPart => {
  const pk = `S#${ref.accountId}#${ref.cluster}`;
  const chunks = items
    .filter((i) => i['pk'] === pk && (i['sk'] === sk || String(i['sk']).startsWith(`${sk}.`)))
    .sort((a, b) => Number(String(a['sk']).split('.')[1] ?? 0) - Number(String(b['sk']).split('.')[1] ?? 0));
  if (chunks.length === 0) throw new Error(`no part ${pk} ${sk}`);
  return new DecodedPart(
    chunks.map((c) => c['z'] as Uint8Array),
    sk,
  );
};

/** Row references without their part digests (checked on their own below). */
const refsOf = (item: Item | undefined) => String(item?.['r']).replace(/~[A-Za-z0-9_-]+/g, '');

const auditIdsOf = (part: DecodedPart) =>
  Array.from({ length: part.size }, (_, i) => part.row<StoredAuditFacts>(i).event.auditID);

describe('grouping', () => {
  it('puts rows in one segment per cluster and five-minute cell', () => {
    const u: [string, number] = ['u0', 0];
    const built = buildLogBatchItems(
      [
        audit(PROD, u, kubelet('p1', '2024-08-24T14:25:00.000000Z')),
        audit(PROD, u, kubelet('p2', '2024-08-24T14:29:59.999999Z')),
        audit(PROD, u, kubelet('p3', '2024-08-24T14:30:00.000000Z')),
        audit(STAGING, u, kubelet('s1', '2024-08-24T14:27:00Z')),
        audit(PROD_B, u, kubelet('b1', '2024-08-24T14:27:00Z')),
      ],
      [],
      RET,
    );
    expect(built.segments).toBe(4);
    const a = anchorOf('u0');
    expect(
      segmentItems(built.parts)
        .map((i) => `${i['pk']} ${i['sk']} ${i['nr']}`)
        .sort(),
    ).toEqual(
      [
        `S#${ACCOUNT_A}#prod ${CELL}#${a}#b 2`,
        `S#${ACCOUNT_A}#prod 2024-08-24T14:30#${a}#b 1`,
        `S#${ACCOUNT_A}#staging ${CELL}#${a}#b 1`,
        `S#${ACCOUNT_B}#prod ${CELL}#${a}#b 1`,
        // No notable row: the notable part is written empty, so a retry replaces an earlier version of it.
        `S#${ACCOUNT_A}#prod ${CELL}#${a}#n 0`,
        `S#${ACCOUNT_A}#prod 2024-08-24T14:30#${a}#n 0`,
        `S#${ACCOUNT_A}#staging ${CELL}#${a}#n 0`,
        `S#${ACCOUNT_B}#prod ${CELL}#${a}#n 0`,
      ].sort(),
    );
    expect(auditIdsOf(partOf(built.parts, PROD, `${CELL}#${a}#b`))).toEqual(['p1', 'p2']);
  });

  it('orders the rows of a part by time, request and stage, whatever the delivery order', () => {
    const built = buildLogBatchItems(
      [
        audit(PROD, ['u0', 0], kubelet('r2', '2024-08-24T14:27:00Z', { stage: 'ResponseComplete' })),
        audit(PROD, ['u0', 0], kubelet('r1', '2024-08-24T14:26:00Z')),
        audit(PROD, ['u0', 0], kubelet('r2', '2024-08-24T14:27:00Z', { stage: 'ResponseStarted' })),
      ],
      [],
      RET,
    );
    const part = partOf(built.parts, PROD, `${CELL}#${anchorOf('u0')}#b`);
    expect(part.keys.map((k) => `${k[1]}/${k[2]}`)).toEqual(['r1/4', 'r2/2', 'r2/4']);
  });
});

describe('anchors', () => {
  const A = '2024-08-24T14:26:00Z';
  const B = '2024-08-24T14:31:00Z';

  it('key each segment by the first delivery unit that contributed a row to it', () => {
    const built = buildLogBatchItems(
      [
        audit(PROD, ['u0', 0], kubelet('a0', A)),
        audit(PROD, ['u1', 1], kubelet('b1', B)),
        audit(PROD, ['u1', 1], kubelet('a1', A)),
        audit(PROD, ['u2', 2], kubelet('b2', B)),
      ],
      [],
      RET,
    );
    expect(
      segmentItems(built.parts)
        .map((i) => String(i['sk']))
        .sort(),
    ).toEqual(
      [
        `${CELL}#${anchorOf('u0')}#b`,
        `${CELL}#${anchorOf('u0')}#n`,
        `2024-08-24T14:30#${anchorOf('u1')}#b`,
        `2024-08-24T14:30#${anchorOf('u1')}#n`,
      ].sort(),
    );
  });

  it('take the unit of smallest index, not the first row handed over', () => {
    const built = buildLogBatchItems(
      [audit(PROD, ['u3', 3], kubelet('late', A)), audit(PROD, ['u1', 1], kubelet('early', A))],
      [],
      RET,
    );
    expect(segmentItems(built.parts).map((i) => i['sk'])).toEqual([
      `${CELL}#${anchorOf('u1')}#n`,
      `${CELL}#${anchorOf('u1')}#b`,
    ]);
  });

  it('key authenticator parts the same way, in their own partition', () => {
    const built = buildLogBatchItems(
      [],
      [
        { ref: PROD, unit: { id: 'u1', index: 1 }, record: authnRecord('e1', '2024-08-24T14:26:00Z') },
        { ref: PROD, unit: { id: 'u0', index: 0 }, record: authnRecord('e0', '2024-08-24T14:27:00Z') },
        { ref: PROD, unit: { id: 'u1', index: 1 }, record: authnRecord('e2', '2024-08-24T14:31:00Z') },
      ],
      RET,
    );
    expect(built.segments).toBe(2);
    expect(built.parts.map((i) => `${i['pk']} ${i['sk']} ${i['nr']} ${i['expiresAt']}`).sort()).toEqual(
      [
        `N#${ACCOUNT_A}#prod ${CELL}#${anchorOf('u0')} 2 ${ttl(CELL, 90)}`,
        `N#${ACCOUNT_A}#prod 2024-08-24T14:30#${anchorOf('u1')} 1 ${ttl('2024-08-24T14:30', 90)}`,
      ].sort(),
    );
    expect(built.index).toEqual([]);
  });
});

describe('determinism', () => {
  const rows = (): PreparedAuditRow[] => [
    audit(PROD, ['u0', 0], sso('d1', '2024-08-24T14:26:00.000001Z', { human: 'alice@example.com' })),
    audit(PROD, ['u0', 0], kubelet('d2', '2024-08-24T14:26:00.000002Z')),
    audit(PROD, ['u1', 1], sso('d3', '2024-08-24T14:31:00Z', { code: 403 })),
    audit(STAGING, ['u1', 1], kubelet('d4', '2024-08-24T14:26:00Z')),
    audit(PROD, ['u2', 2], kubelet('d2', '2024-08-24T14:26:00.000002Z', { copy: 'again' })),
  ];
  const authn = (): PreparedAuthnRow[] => [
    { ref: PROD, unit: { id: 'u1', index: 1 }, record: authnRecord('e1', '2024-08-24T14:26:00Z') },
  ];

  it('gives byte-identical items for the same rows in every call', () => {
    const first = buildLogBatchItems(rows(), authn(), RET);
    const second = buildLogBatchItems(rows(), authn(), RET);
    expect(second).toEqual(first);
    expect(canonicalItems([...second.parts, ...second.index])).toEqual(
      canonicalItems([...first.parts, ...first.index]),
    );
  });

  it('gives the same items whatever order the rows are handed over in (property)', () => {
    const reference = buildLogBatchItems(rows(), authn(), RET);
    const expected = canonicalItems([...reference.parts, ...reference.index]);
    fc.assert(
      fc.property(fc.shuffledSubarray(rows(), { minLength: 5 }), (shuffled) => {
        const built = buildLogBatchItems(shuffled, authn(), RET);
        expect(canonicalItems([...built.parts, ...built.index])).toEqual(expected);
        expect(built.segments).toBe(reference.segments);
      }),
      { numRuns: 50 },
    );
  });
});

describe('duplicates', () => {
  it('keep one row per (time, auditID, stage): the copy of the earliest unit', () => {
    const at = '2024-08-24T14:26:00Z';
    const built = buildLogBatchItems(
      [
        audit(PROD, ['u1', 1], kubelet('dup', at, { copy: 'from-u1' })),
        audit(PROD, ['u0', 0], kubelet('dup', at, { copy: 'from-u0' })),
        audit(PROD, ['u0', 0], kubelet('dup', at, { copy: 'from-u0-again' })),
        audit(PROD, ['u1', 1], kubelet('dup', at, { stage: 'ResponseStarted' })),
      ],
      [],
      RET,
    );
    const part = partOf(built.parts, PROD, `${CELL}#${anchorOf('u0')}#b`);
    expect(part.keys.map((k) => `${k[1]}/${k[2]}`)).toEqual(['dup/2', 'dup/4']);
    expect(part.row<StoredAuditFacts>(1).event.annotations['copy']).toBe('from-u0');
    const principal = built.index.find((i) => String(i['pk']).startsWith('IP#'));
    expect(refsOf(principal)).toBe('b1:0.1');
  });
});

describe('notable requests', () => {
  it('keep every stage a delivery carried in the notable part, when any stage is notable', () => {
    const sa = { username: 'system:serviceaccount:ops:app', resource: 'secrets', namespace: 'ops', name: 'db' };
    const built = buildLogBatchItems(
      [
        // A watch that ends in a 403: ResponseStarted 200 alone would be bulk.
        audit(PROD, ['u0', 0], { id: 'w', at: '2024-08-24T14:26:00Z', stage: 'ResponseStarted', verb: 'watch', ...sa }),
        audit(PROD, ['u0', 0], { id: 'w', at: '2024-08-24T14:26:00Z', code: 403, verb: 'watch', ...sa }),
        audit(PROD, ['u0', 0], kubelet('k', '2024-08-24T14:26:01Z')),
      ],
      [],
      RET,
    );
    const n = partOf(built.parts, PROD, `${CELL}#${anchorOf('u0')}#n`);
    expect(n.keys.map((k) => `${k[1]}/${k[2]}`)).toEqual(['w/2', 'w/4']);
    expect(auditIdsOf(partOf(built.parts, PROD, `${CELL}#${anchorOf('u0')}#b`))).toEqual(['k']);
    expect(refsOf(built.index.find((i) => i['pk'] === `R#C#${ACCOUNT_A}#prod#w`))).toBe('n1:0.1');
  });
});

describe('parts, postings and pointers of one segment', () => {
  const a = anchorOf('u0');
  const u: [string, number] = ['u0', 0];
  const refKey = `C#${ACCOUNT_A}#prod`;
  const fleet = `${CELL}#${refKey}#${a}`;
  const local = `${CELL}#${a}`;
  const input = [
    audit(
      PROD,
      u,
      sso('r0', '2024-08-24T14:26:00Z', { name: 'web-1', human: 'Alice@Example.com', accessKeyId: 'ASIAALICE' }),
    ),
    audit(PROD, u, sso('r1', '2024-08-24T14:26:10Z', { resource: 'secrets' })),
    audit(PROD, u, kubelet('r2', '2024-08-24T14:26:20Z')),
    audit(PROD, u, kubelet('r3', '2024-08-24T14:26:30Z', { resource: 'nodes', namespace: '', name: 'ip-1' })),
    audit(PROD, u, {
      id: 'r4',
      at: '2024-08-24T14:26:40Z',
      username: 'system:serviceaccount:ops:app',
      resource: 'pods',
      namespace: 'kube-system',
      name: 'api',
      code: 403,
    }),
    {
      ref: PROD,
      unit: { id: 'u0', index: 0 },
      denial: authnRecord('deny-1', '2024-08-24T14:26:50Z'),
      chain: denialChain('deny-1', '2024-08-24T14:26:50Z'),
    } satisfies PreparedAuditRow,
  ];
  const built = buildLogBatchItems(input, [], RET);
  const N = ttl(CELL, 400);
  const B = ttl(CELL, 30);
  const partChunks = (part: 'n' | 'b') =>
    built.parts.filter((i) => String(i['sk']).startsWith(`${local}#${part}`)).map((i) => i['z'] as Uint8Array);

  it('split notable rows (people, denials, secrets) from bulk rows (nodes)', () => {
    expect(built.segments).toBe(1);
    expect(built.parts.map((i) => `${i['sk']} nc=${i['nc']} nr=${i['nr']} ttl=${i['expiresAt']}`).sort()).toEqual([
      `${local}#b nc=1 nr=2 ttl=${B}`,
      `${local}#n nc=1 nr=4 ttl=${N}`,
    ]);
    const n = partOf(built.parts, PROD, `${local}#n`);
    expect(n.keys.map((k) => `${k[1]}/${k[3]}`)).toEqual(['r0/a', 'r1/a', 'r4/a', 'deny-1/d']);
    expect(n.row<StoredAuthenticatorRecord>(3)).toEqual(authnRecord('deny-1', '2024-08-24T14:26:50Z'));
    expect(auditIdsOf(partOf(built.parts, PROD, `${local}#b`))).toEqual(['r2', 'r3']);
  });

  it('write exactly one posting per value and segment, naming exactly the rows with the value', () => {
    const got = built.index.map((i) => [
      `${i['pk']} | ${i['sk']}`,
      { r: refsOf(i), cl: i['cl'], ns: i['ns'] ? [...(i['ns'] as Set<string>)] : undefined, ttl: i['expiresAt'] },
    ]);
    const p = (r: string, ttlAt: number, more: { cl?: string; ns?: string[] } = {}) => ({
      r,
      cl: more.cl,
      ns: more.ns,
      ttl: ttlAt,
    });
    expect(Object.fromEntries(got)).toEqual({
      // The authenticator denial names the principal it refused, so it is listed under it too.
      [`IP#${SSO} | ${fleet}`]: p('n1:0.1.3', N, { cl: refKey }),
      [`IP#${NODE.toLowerCase()} | ${fleet}`]: p('b1:0.1', B, { cl: refKey }),
      [`IH#alice@example.com | ${fleet}#ASIAALICE`]: p('n1:0', N, { cl: refKey }),
      [`IA#ASIAPEND | ${fleet}`]: p('n1:1', N, { cl: refKey }),
      [`IU#${refKey}#alice | ${local}`]: p('n1:0.1', N),
      [`IU#${refKey}#system:node:ip-1 | ${local}`]: p('b1:0.1', B),
      [`IU#${refKey}#system:serviceaccount:ops:app | ${local}`]: p('n1:2', N),
      [`IK#${refKey}#pods | ${local}`]: p('b1:0;n1:0.2', N, { ns: ['default', 'kube-system'] }),
      [`IK#${refKey}#secrets | ${local}`]: p('n1:1', N, { ns: ['default'] }),
      [`IK#${refKey}#nodes | ${local}`]: p('b1:1', B, { ns: ['-'] }),
      [`IO#${refKey}#pods#default#web-1 | ${local}`]: p('b1:0;n1:0', N),
      [`IO#${refKey}#pods#kube-system#api | ${local}`]: p('n1:2', N),
      [`IO#${refKey}#nodes#-#ip-1 | ${local}`]: p('b1:1', B),
      [`IN#${refKey}#default | ${local}`]: p('b1:0;n1:0.1', N),
      [`IN#${refKey}#kube-system | ${local}`]: p('n1:2', N),
      [`IX#${refKey} | ${local}`]: p('n1:2.3', N),
      [`R#${refKey}#r0 | ${local}`]: p('n1:0', N),
      [`R#${refKey}#r1 | ${local}`]: p('n1:1', N),
      [`R#${refKey}#r4 | ${local}`]: p('n1:2', N),
    });
    expect(got).toHaveLength(19);
  });

  it('name in every reference the digest of the part the rows were numbered in', () => {
    const digests = { n: partDigest(partChunks('n')), b: partDigest(partChunks('b')) };
    expect(digests.n).not.toBe(digests.b);
    for (const posting of built.index) {
      for (const ref of decodeRefs(String(posting['r']))) {
        expect(ref.digest).toBe(digests[ref.part as 'n' | 'b']);
      }
    }
  });

  it('point at notable audit rows only: no pointer for bulk rows or authenticator denials', () => {
    const pointers = built.index.filter((i) => String(i['pk']).startsWith('R#')).map((i) => i['pk']);
    expect(pointers.sort()).toEqual([`R#${refKey}#r0`, `R#${refKey}#r1`, `R#${refKey}#r4`]);
  });

  it('name rows that really hold the indexed value', () => {
    const n = partOf(built.parts, PROD, `${local}#n`);
    const b = partOf(built.parts, PROD, `${local}#b`);
    for (const posting of built.index.filter((i) => String(i['pk']).startsWith('IU#'))) {
      const username = String(posting['pk']).split('#').slice(4).join('#');
      for (const ref of decodeRefs(String(posting['r']))) {
        const part = ref.part === 'n' ? n : b;
        for (const row of ref.rows) expect(part.row<StoredAuditFacts>(row).event.user.username).toBe(username);
      }
    }
  });
});

describe('retention', () => {
  const rows = () => [
    audit(PROD, ['u0', 0], sso('t1', '2024-08-24T14:26:00Z', { name: 'web-1' })),
    audit(PROD, ['u0', 0], kubelet('t2', '2024-08-24T14:26:01Z')),
  ];
  const ttlOf = (items: readonly Item[], pkPrefix: string) =>
    items.find((i) => String(i['pk']).startsWith(pkPrefix))?.['expiresAt'];

  it.each<[string, SegmentRetention, { n?: number; b?: number; mixed?: number; bulkOnly?: number }]>([
    [
      'notable kept longer than bulk',
      { request: 400, bulkRequest: 30, authenticator: 90 },
      { n: ttl(CELL, 400), b: ttl(CELL, 30), mixed: ttl(CELL, 400), bulkOnly: ttl(CELL, 30) },
    ],
    [
      'bulk kept longer than notable',
      { request: 30, bulkRequest: 400, authenticator: 90 },
      { n: ttl(CELL, 30), b: ttl(CELL, 400), mixed: ttl(CELL, 400), bulkOnly: ttl(CELL, 400) },
    ],
    [
      'notable kept forever',
      { request: 0, bulkRequest: 30, authenticator: 90 },
      { b: ttl(CELL, 30), bulkOnly: ttl(CELL, 30) },
    ],
    ['both kept forever', { request: 0, bulkRequest: 0, authenticator: 0 }, {}],
  ])('%s: parts from the cell and their class, postings the longest of their parts', (_l, retention, want) => {
    const built = buildLogBatchItems(rows(), [], retention);
    const part = (p: 'n' | 'b') => built.parts.find((i) => String(i['sk']).endsWith(`#${p}`))?.['expiresAt'];
    expect(part('n')).toBe(want.n);
    expect(part('b')).toBe(want.b);
    // IO#…#web-1 points at the SSO row (n) and the kubelet row (b); IP# of the node role at b only.
    expect(ttlOf(built.index, `IO#C#${ACCOUNT_A}#prod#pods#default#web-1`)).toBe(want.mixed);
    expect(ttlOf(built.index, `IP#${NODE.toLowerCase()}`)).toBe(want.bulkOnly);
    expect(ttlOf(built.index, 'R#')).toBe(want.n);
  });

  it('comes from the cell (event time), never the clock', () => {
    const late = buildLogBatchItems(rows(), [], RET);
    expect(late.parts[0]?.['expiresAt']).toBe(Math.floor(Date.parse('2024-08-24T14:30:00Z') / 1000) + 400 * 86_400);
  });
});

describe('large rows', () => {
  it('cut a part over 380 KB into chunk items, each under the item limit, with the chunk count in postings', () => {
    const blob = randomBytes(600 * 1024).toString('base64');
    const built = buildLogBatchItems(
      [
        audit(PROD, ['u0', 0], sso('big', '2024-08-24T14:26:00Z', { blob })),
        audit(PROD, ['u0', 0], sso('small', '2024-08-24T14:26:01Z')),
      ],
      [],
      RET,
    );
    const chunks = built.parts.filter((i) => /#n(\.\d+)?$/.test(String(i['sk'])));
    expect(chunks.length).toBeGreaterThan(1);
    chunks.forEach((c, i) => {
      expect(c['nc']).toBe(chunks.length);
      expect(c['sk']).toBe(`${CELL}#${anchorOf('u0')}#n${i === 0 ? '' : `.${i}`}`);
      expect(c['nr']).toBe(i === 0 ? 2 : undefined);
      expect((c['z'] as Uint8Array).byteLength).toBeLessThanOrEqual(380 * 1024);
    });
    const part = partOf(built.parts, PROD, `${CELL}#${anchorOf('u0')}#n`);
    expect(part.row<StoredAuditFacts>(0).event.annotations['blob']).toBe(blob);
    expect(refsOf(built.index.find((i) => String(i['pk']) === `R#C#${ACCOUNT_A}#prod#small`))).toBe(
      `n${chunks.length}:1`,
    );
  });
});

describe('humanPostingItem', () => {
  it('is the item ingest writes for a human it already knew', () => {
    const built = buildLogBatchItems(
      [audit(PROD, ['u0', 0], sso('h1', '2024-08-24T14:26:00Z', { human: 'alice@example.com', accessKeyId: 'ASIAH' }))],
      [],
      RET,
    );
    const ingest = built.index.find((i) => String(i['pk']).startsWith('IH#'));
    const late = humanPostingItem(
      PROD,
      CELL,
      anchorOf('u0'),
      'alice@example.com',
      'ASIAH',
      [
        {
          part: 'n',
          chunks: 1,
          digest: partDigest(
            built.parts.filter((i) => String(i['sk']).endsWith('#n')).map((i) => i['z'] as Uint8Array),
          ),
          rows: [0],
        },
      ],
      ttl(CELL, 400),
    );
    expect(late).toEqual(ingest);
  });
});
