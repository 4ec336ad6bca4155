import { describe, expect, it } from 'vitest';
import { trackMappingUse } from '../../../lib/alerts/dispatch.js';
import { mappingKeyOfChain } from '../../../lib/alerts/mapping-keys.js';
import { firstUseAlert } from '../../../lib/alerts/mapping-rules.js';
import type { MappingUsage, MappingUsagePort, RecordUseResult } from '../../../lib/alerts/types.js';
import { correlateAuditEvent } from '../../../lib/chain/correlate.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import { MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { parseAuditEventObject } from '../../../lib/sources/audit-event.js';
import { entryPut, kiempossibleAuditEvent, mk, policyAssociate } from './helpers.js';

/** kiempossible: SSO role sso_admin lists namespaces on 2024-08-24, allowed by AmazonEKSClusterAdminPolicy. */
const SSO_ADMIN = 'arn:aws:iam::211125685544:role/sso_admin';
const CONFIG = { recentMappingDays: 7, suppressions: [] };

const mappingHistory = (createdAt: string): MappingChange[] => [
  mk(entryPut(SSO_ADMIN), { at: createdAt, id: 'create-sso-admin' }),
  mk(policyAssociate(SSO_ADMIN, 'AmazonEKSClusterAdminPolicy'), { at: createdAt, id: 'assoc-sso-admin' }),
];

const chainWith = (history: MappingChange[], auditID?: string): DecisionChain => {
  const raw = kiempossibleAuditEvent() as Record<string, unknown>;
  const parsed = parseAuditEventObject(auditID ? { ...raw, auditID } : raw);
  if (!parsed.ok) throw new Error('fixture does not parse');
  const timeline = new MappingTimeline('prod', history);
  return correlateAuditEvent(
    parsed.value,
    { cluster: 'prod', accountId: '111122223333' },
    { mappingStateAt: (at) => timeline.stateAt(at), credentialFor: () => undefined },
  );
};

describe('firstUseAlert', () => {
  it('links the first use of a two-day-old mapping to the request it made', () => {
    const chain = chainWith(mappingHistory('2024-08-22T09:00:00.000Z'));
    const alert = firstUseAlert(chain, { firstUse: true }, CONFIG);
    expect(alert).toMatchObject({
      ruleId: 'new-mapping-first-use',
      // The mapping carries AmazonEKSClusterAdminPolicy at cluster scope.
      severity: 'high',
      cluster: 'prod',
      at: '2024-08-24T14:27:07.461683Z',
      actor: { canonicalArn: SSO_ADMIN, accessKeyId: 'ASIATCKASJUUD7MPDOZN' },
      related: {
        mappingKey: `access-entry:${SSO_ADMIN}`,
        principalArn: SSO_ADMIN,
        request: { chainId: chain.chainId, verb: 'list', resource: 'namespaces', statusCode: 200 },
      },
    });
    // One alert per mapping version: the id names the change that put the mapping in force.
    expect(chain.mapping.value?.sourceEventId).toMatch(/-sso-admin$/);
    expect(alert?.alertId).toBe(
      `new-mapping-first-use#${chain.mapping.value?.sourceEventId}#access-entry:${SSO_ADMIN}`,
    );
    expect(
      alert?.diff.lines.some((l) => l.startsWith('+ first use 2024-08-24T14:27:07.461683Z: list namespaces')),
    ).toBe(true);
  });

  it.each<[string, () => DecisionChain, boolean]>([
    ['not the first use', () => chainWith(mappingHistory('2024-08-22T09:00:00.000Z')), false],
    ['a mapping older than the window', () => chainWith(mappingHistory('2024-07-01T09:00:00.000Z')), true],
    ['a request whose mapping is unknown', () => chainWith([]), true],
  ])('stays silent for %s', (_name, chain, firstUse) => {
    expect(firstUseAlert(chain(), { firstUse }, CONFIG)).toBeUndefined();
  });

  it('is suppressed by principal glob', () => {
    const chain = chainWith(mappingHistory('2024-08-22T09:00:00.000Z'));
    expect(
      firstUseAlert(chain, { firstUse: true }, { ...CONFIG, suppressions: [{ principal: '*:role/sso_*' }] }),
    ).toBeUndefined();
  });
});

/** In-memory usage port with the store's semantics (min first, max last). */
const memoryUsage = (): MappingUsagePort & { rows: Map<string, MappingUsage> } => {
  const rows = new Map<string, MappingUsage>();
  return {
    rows,
    async recordUse(cluster, mappingKey, at, opts): Promise<RecordUseResult> {
      const k = `${cluster}#${mappingKey}`;
      const row = rows.get(k);
      if (!row) {
        rows.set(k, {
          cluster,
          mappingKey,
          firstUsedAt: at,
          lastUsedAt: at,
          ...(opts?.chainId ? { firstChainId: opts.chainId } : {}),
        });
        return { firstUse: true };
      }
      const result: RecordUseResult = { firstUse: at < row.firstUsedAt };
      if (at < row.firstUsedAt) row.firstUsedAt = at;
      if (at > row.lastUsedAt) {
        result.lastUsedBefore = row.lastUsedAt;
        row.lastUsedAt = at;
      }
      return result;
    },
    async list(cluster) {
      return [...rows.values()].filter((r) => r.cluster === cluster);
    },
  };
};

describe('trackMappingUse', () => {
  const history = mappingHistory('2024-08-22T09:00:00.000Z');

  it('raises one first-use alert per mapping and batch, and none on redelivery', async () => {
    const usage = memoryUsage();
    const chains = [
      chainWith(history, 'aaaaaaaa-0000-4000-8000-000000000001'),
      chainWith(history, 'aaaaaaaa-0000-4000-8000-000000000002'),
    ];
    const first = await trackMappingUse(chains, { usage, config: CONFIG });
    expect(first).toHaveLength(1);
    expect(usage.rows.get(`prod#${mappingKeyOfChain(chains[0]!)}`)).toMatchObject({ firstUsedAt: chains[0]!.at });
    const again = await trackMappingUse(chains, { usage, config: CONFIG });
    expect(again).toEqual([]);
  });

  it('counts a mapping re-created after its last use as new again', async () => {
    const usage = memoryUsage();
    const key = `access-entry:${SSO_ADMIN}`;
    usage.rows.set(`prod#${key}`, {
      cluster: 'prod',
      mappingKey: key,
      firstUsedAt: '2024-01-01T00:00:00.000000Z',
      lastUsedAt: '2024-02-01T00:00:00.000000Z',
    });
    const alerts = await trackMappingUse([chainWith(history)], { usage, config: CONFIG });
    expect(alerts.map((a) => a.ruleId)).toEqual(['new-mapping-first-use']);
  });
});
