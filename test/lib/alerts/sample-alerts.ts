import { evaluateMappingChanges, firstUseAlert } from '../../../lib/alerts/mapping-rules.js';
import type { Alert, AlertConfig } from '../../../lib/alerts/types.js';
import { correlateAuditEvent } from '../../../lib/chain/correlate.js';
import { MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { parseAuditEventObject } from '../../../lib/sources/audit-event.js';
import {
  cliExampleChanges,
  entryPut,
  kiempossibleAuditEvent,
  mk,
  policyAssociate,
  stratusBackdoorAwsAuth,
  stratusBaselineAwsAuth,
  stratusChanges,
} from './helpers.js';

/**
 * Alerts raised by the real rules on the real samples (test/fixtures/alerts): the stratus backdoor
 * aws-auth edit, the stratus access entry and ClusterAdmin association, every aws-cli example change,
 * and the first use of the kiempossible access entry.
 */
export const CONFIG: AlertConfig = {
  trustedAccountIds: ['111122223333'],
  suppressions: [],
  recentMappingDays: 7,
  unusedMappingDays: 90,
};

const backdoor = (): Alert[] => {
  const history = [mk({ kind: 'aws-auth-put', config: stratusBaselineAwsAuth() }, { at: '2024-01-01T00:00:00.000Z' })];
  const edit = mk(
    { kind: 'aws-auth-put', config: stratusBackdoorAwsAuth() },
    {
      source: 'audit',
      id: '0a1b2c3d-aaaa-4bbb-8ccc-000000000001',
      actor: { k8sUsername: 'kubernetes-admin', k8sCanonicalArn: 'arn:aws:iam::012345678901:role/account-admin' },
    },
  );
  return evaluateMappingChanges({ newChanges: [edit], allChanges: history, config: CONFIG });
};

const SSO_ADMIN = 'arn:aws:iam::211125685544:role/sso_admin';

const firstUse = (): Alert => {
  const history: MappingChange[] = [
    mk(entryPut(SSO_ADMIN), { at: '2024-08-22T09:00:00.000Z', id: 'create-sso-admin', cluster: 'kiem' }),
    mk(policyAssociate(SSO_ADMIN, 'AmazonEKSClusterAdminPolicy'), {
      at: '2024-08-22T09:00:00.000Z',
      id: 'assoc-sso-admin',
      cluster: 'kiem',
    }),
  ];
  const parsed = parseAuditEventObject(kiempossibleAuditEvent());
  if (!parsed.ok) throw new Error('kiempossible fixture does not parse');
  const timeline = new MappingTimeline('kiem', history);
  const chain = correlateAuditEvent(
    parsed.value,
    { cluster: 'kiem', accountId: '111122223333' },
    { mappingStateAt: (at) => timeline.stateAt(at), credentialFor: () => undefined },
  );
  const alert = firstUseAlert(chain, { firstUse: true }, CONFIG);
  if (!alert) throw new Error('expected a first-use alert on the kiempossible request');
  return alert;
};

export const sampleAlerts = (): Alert[] => {
  const stratus = stratusChanges();
  const cli = cliExampleChanges();
  return [
    ...backdoor(),
    ...evaluateMappingChanges({
      newChanges: stratus,
      allChanges: stratus,
      config: { ...CONFIG, trustedAccountIds: ['111122223333'] },
    }),
    ...evaluateMappingChanges({ newChanges: cli, allChanges: cli, config: CONFIG }),
    firstUse(),
  ];
};
