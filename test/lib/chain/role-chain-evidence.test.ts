import { describe, expect, it } from 'vitest';
import { correlateAuditEvent } from '../../../lib/chain/correlate.js';
import { inMemoryEvidence } from '../../../lib/chain/evidence.js';
import { withRoleChains } from '../../../lib/chain/role-chain-evidence.js';
import type { CredentialIssuance } from '../../../lib/chain/types.js';
import { parseAuditEvent } from '../../../lib/sources/audit-event.js';
import { KIEM, KIEM_TS, kiemLine } from '../ingest/fixtures.js';

/**
 * GitHub OIDC -> runner role -> the role on the request: the store loads the issuance of the request's
 * own access key; the runner's issuance is only reachable through the caller's access key.
 */
const event = (() => {
  const r = parseAuditEvent(kiemLine());
  if (!r.ok) throw new Error('fixture does not parse');
  return r.value;
})();
const requestKey = event.user.extra['accessKeyId']?.[0] as string;
const RUNNER_KEY = 'ASIARUNNER0000000001';
const deployer: CredentialIssuance = {
  accessKeyId: requestKey,
  issuedAt: '2024-08-24T14:00:00Z',
  api: 'AssumeRole',
  roleArn: 'arn:aws:iam::211125685544:role/sso_admin',
  roleMatchKey: 'arn:aws:iam::211125685544:role/sso_admin',
  caller: {
    type: 'AssumedRole',
    arn: 'arn:aws:sts::999988887777:assumed-role/github-actions-runner/GitHubActions',
    accessKeyId: RUNNER_KEY,
  },
  sourceEventId: 'ct-deployer',
};
const runner: CredentialIssuance = {
  accessKeyId: RUNNER_KEY,
  issuedAt: '2024-08-24T13:59:40Z',
  api: 'AssumeRoleWithWebIdentity',
  roleArn: 'arn:aws:iam::999988887777:role/github-actions-runner',
  roleMatchKey: 'arn:aws:iam::999988887777:role/github-actions-runner',
  caller: { type: 'WebIdentityUser', userName: 'repo:acme/app:ref:refs/heads/main' },
  subject: 'repo:acme/app:ref:refs/heads/main',
  sourceEventId: 'ct-runner',
};
const origin = { cluster: KIEM.cluster, accountId: KIEM.accountId, timestamp: KIEM_TS };
const shallow = () => inMemoryEvidence({ cluster: KIEM.cluster, mappingChanges: [], credentials: [deployer] });

describe('withRoleChains', () => {
  it('loads the issuances behind a role-session caller so the human is the OIDC subject', async () => {
    const asked: string[] = [];
    const source = {
      credential: async (k: string) => {
        asked.push(k);
        return k === RUNNER_KEY ? runner : undefined;
      },
    };
    const before = correlateAuditEvent(event, origin, shallow());
    expect(before.human.value?.via).toBe('assume-role-caller');
    const ev = await withRoleChains(shallow(), [requestKey], source);
    const chain = correlateAuditEvent(event, origin, ev);
    expect(chain.human.value).toMatchObject({
      identity: 'repo:acme/app:ref:refs/heads/main',
      via: 'web-identity',
      chain: ['arn:aws:sts::999988887777:assumed-role/github-actions-runner/GitHubActions'],
    });
    expect(asked).toEqual([RUNNER_KEY]);
  });

  it('returns the evidence unchanged, asking nothing, when no caller is a role session', async () => {
    const direct = { ...deployer, caller: { type: 'IAMUser' as const, arn: 'arn:aws:iam::211125685544:user/a' } };
    const ev = inMemoryEvidence({ cluster: KIEM.cluster, mappingChanges: [], credentials: [direct] });
    const source = {
      credential: async () => {
        throw new Error('must not be asked');
      },
    };
    expect(await withRoleChains(ev, [requestKey], source)).toBe(ev);
  });

  it('stops on a loop of callers', async () => {
    const loop: CredentialIssuance = { ...runner, api: 'AssumeRole', caller: { ...deployer.caller } };
    delete loop.subject;
    let calls = 0;
    const ev = await withRoleChains(shallow(), [requestKey], {
      credential: async () => {
        calls++;
        return loop;
      },
    });
    expect(calls).toBe(1);
    expect(ev.credentialFor(RUNNER_KEY)).toEqual(loop);
  });
});
