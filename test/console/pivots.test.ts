import { describe, expect, it } from 'vitest';
import { chainPivots } from '../../lib/console/pivots.js';

/** Pivot values read back from explain rows (lib/query/chain-rows.ts joins fields with two spaces). */
const row = (link: string, value: string) => ({ link, value });

describe('chainPivots', () => {
  it('reads the aws-auth row ARN of a mapping and the human of an IAM user chain', () => {
    const p = chainPivots([
      row('principal', 'arn:aws:iam::888636335083:role/team-2-operator  key=ASIAEXAMPLE'),
      row('human', 'arn:aws:iam::433675980541:user/engineering/carol.tanaka  via assume-role-caller'),
      row(
        'mapping',
        'aws-auth-role  aws-auth role #6 arn:aws:iam::888636335083:role/team-2-operator -> ops:{{SessionName}} [platform:readers]',
      ),
      row('k8sIdentity', 'ops:carol.tanaka  groups=[platform:readers system:authenticated]'),
    ]);
    expect(p).toEqual({
      principal: 'arn:aws:iam::888636335083:role/team-2-operator',
      human: 'arn:aws:iam::433675980541:user/engineering/carol.tanaka',
      mappingSource: 'aws-auth-role',
      mappingKey: 'arn:aws:iam::888636335083:role/team-2-operator',
      k8sUser: 'ops:carol.tanaka',
    });
  });

  it.each([
    [
      'a namespaced object',
      'patch  checkout/deployments.apps/checkout-web  -> 200',
      'checkout/deployments.apps/checkout-web',
    ],
    ['a namespaced list', 'list  payments/pods  -> 200', 'payments/pods'],
    ['a cluster-scoped object', 'get  /nodes/ip-10-0-1-5  -> 200', '/nodes/ip-10-0-1-5'],
    ['a non-resource URL', 'get  /healthz  -> 200', undefined],
    ['an API discovery path', 'get  /apis/apps/v1  -> 200', undefined],
    ['no target at all', 'get  -> 401', undefined],
  ])('request target of %s', (_kind, value, target) => {
    expect(chainPivots([row('request', value)]).target).toBe(target);
  });

  it.each([
    ['an unknown principal', row('principal', 'unknown'), 'principal'],
    ['a service account principal', row('principal', 'service-account'), 'principal'],
    ['no username', row('k8sIdentity', '(no username)  groups=[]'), 'k8sUser'],
    ['an empty link', row('human', ''), 'human'],
  ])('offers no pivot for %s', (_kind, r, key) => {
    expect(chainPivots([r])).not.toHaveProperty(key);
  });
});
