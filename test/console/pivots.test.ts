import { describe, expect, it } from 'vitest';
import type { LinkStatus } from '../../lib/chain/types.js';
import { chainPivots } from '../../lib/console/pivots.js';
import type { ExplainRow } from '../../lib/query/chain-rows.js';

/** Pivot values read from the fields of explain rows (lib/query/chain-rows.ts explainRows). */
const row = (link: ExplainRow['link'], value: ExplainRow['value'], status: LinkStatus = 'observed') => ({
  link,
  value,
  status,
});

describe('chainPivots', () => {
  it('reads the aws-auth row ARN of a mapping and the human of an IAM user chain', () => {
    const p = chainPivots([
      row('principal', {
        type: 'assumed-role',
        canonicalArn: 'arn:aws:iam::888636335083:role/team-2-operator',
        accessKeyId: 'ASIAEXAMPLE',
      }),
      row(
        'human',
        { identity: 'arn:aws:iam::433675980541:user/engineering/carol.tanaka', via: 'assume-role-caller' },
        'derived',
      ),
      row(
        'mapping',
        {
          source: 'aws-auth-role',
          awsAuthRow: {
            kind: 'role',
            index: 6,
            arn: 'arn:aws:iam::888636335083:role/team-2-operator',
            matchKey: 'arn:aws:iam::888636335083:role/team-2-operator',
            username: 'ops:{{SessionName}}',
            groups: ['platform:readers'],
            flags: [],
          },
        },
        'derived',
      ),
      row('k8sIdentity', { username: 'ops:carol.tanaka', groups: ['platform:readers', 'system:authenticated'] }),
    ]);
    expect(p).toEqual({
      principal: 'arn:aws:iam::888636335083:role/team-2-operator',
      human: 'arn:aws:iam::433675980541:user/engineering/carol.tanaka',
      mappingSource: 'aws-auth-role',
      mappingKey: 'arn:aws:iam::888636335083:role/team-2-operator',
      k8sUser: 'ops:carol.tanaka',
    });
  });

  const req = (fields: Partial<import('../../lib/chain/types.js').RequestLink>) =>
    row('request', { sourceIPs: [], truncated: false, verb: 'get', ...fields });
  it.each([
    [
      'a namespaced object',
      req({ resource: 'deployments', apiGroup: 'apps', namespace: 'checkout', name: 'checkout-web' }),
      'checkout/deployments.apps/checkout-web',
    ],
    ['a namespaced list', req({ resource: 'pods', namespace: 'payments' }), 'payments/pods'],
    ['a cluster-scoped object', req({ resource: 'nodes', name: 'ip-10-0-1-5' }), '/nodes/ip-10-0-1-5'],
    [
      'a subresource',
      req({ resource: 'pods', subresource: 'log', namespace: 'payments', name: 'api-1' }),
      'payments/pods/log/api-1',
    ],
    ['a non-resource URL', req({ requestURI: '/healthz' }), undefined],
    ['no target at all', req({}), undefined],
  ])('request target of %s', (_kind, r, target) => {
    expect(chainPivots([r]).target).toBe(target);
  });

  it.each([
    ['an unknown principal', row('principal', { type: 'unknown' }, 'unknown'), 'principal'],
    [
      'a service account principal',
      row('principal', { type: 'service-account', serviceAccount: { namespace: 'a', name: 'b' } }),
      'principal',
    ],
    ['no username', row('k8sIdentity', { groups: [] }), 'k8sUser'],
    ['an unknown human', row('human', { identity: 'x', via: 'iam-user' }, 'unknown'), 'human'],
    ['an unknown mapping', row('mapping', { source: 'unmapped' }, 'unknown'), 'mappingSource'],
  ])('offers no pivot for %s', (_kind, r, key) => {
    expect(chainPivots([r])).not.toHaveProperty(key);
  });
});
