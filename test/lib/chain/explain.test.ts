import { describe, expect, it } from 'vitest';
import { correlateAuditEvent, correlateAuthnFailure } from '../../../lib/chain/correlate.js';
import { inMemoryEvidence } from '../../../lib/chain/evidence.js';
import { renderChain } from '../../../lib/chain/explain.js';
import { parseAuthenticatorLine } from '../../../lib/sources/authenticator-line.js';
import { fixtureJson, fixtureText } from './fixtures.js';
import { accessEntry, associate, auditFrom, authMode, CLUSTER } from './scenario.js';

const ROLE = 'arn:aws:iam::211125685544:role/sso_admin';
const evidence = inMemoryEvidence({
  cluster: CLUSTER,
  mappingChanges: [
    authMode('2024-01-01T00:00:00.000Z', 'API'),
    accessEntry('2024-02-01T10:00:00.000Z', ROLE),
    associate('2024-02-01T10:00:05.000Z', ROLE, 'AmazonEKSClusterAdminPolicy'),
  ],
  credentials: [],
});

describe('renderChain', () => {
  const text = renderChain(
    correlateAuditEvent(
      auditFrom(fixtureJson('kiempossible-access-policy-allow.json')),
      { cluster: CLUSTER },
      evidence,
    ),
  );
  const lines = text.split('\n');

  it('prints one numbered section per link, each with its status', () => {
    expect(lines[0]).toBe(
      'chain prod#fb5dba68-6262-4718-b45e-d293b03e434d (request) at 2024-08-24T14:27:07.461683Z, cluster prod',
    );
    expect(lines.filter((l) => /^\d\. /.test(l)).map((l) => l.replace(/\].*$/, ']'))).toEqual([
      '1. principal [observed]',
      '2. human [unknown]',
      '3. mapping [derived]',
      '4. k8s identity [observed]',
      '5. decision [observed]',
      '6. request [observed]',
    ]);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('names the access entry, its policy and scope, and the authorizing association', () => {
    expect(lines).toContain(`     access entry ${ROLE} (type STANDARD, kubernetesGroups [])`);
    expect(lines).toContain('     access policies: AmazonEKSClusterAdminPolicy (cluster scope)');
    expect(lines).toContain(`     access policy AmazonEKSClusterAdminPolicy on ${ROLE}, cluster scope`);
    expect(lines).toContain('5. decision [observed] allow (authorizer: eks-access-policy)');
  });

  it('flags a pending chain and says why the human is unknown', () => {
    expect(lines[1]).toContain('pending enrichment');
    expect(text).toContain('no AssumeRole* issuance known yet for access key ASIATCKASJUUD7MPDOZN');
  });

  it('renders a 403 with its missing permission and the derived explanation', () => {
    const out = renderChain(
      correlateAuditEvent(
        auditFrom(fixtureJson('workshop-forbid-kube-scheduler-2023.json')),
        { cluster: CLUSTER },
        evidence,
      ),
    );
    expect(out).toContain('5. decision [observed] forbid (authorizer: none)');
    expect(out).toContain(
      '     missing: system:kube-scheduler cannot list poddisruptionbudgets.policy at cluster scope',
    );
    expect(out).toContain('     explanation (derived): no RBAC binding grants list on poddisruptionbudgets');
    expect(out).toContain('1. principal [derived] Kubernetes / EKS component (no IAM principal)');
  });

  it('renders an authenticator denial with its failed stage', () => {
    const line = fixtureText('authenticator-kc-and-419.log')
      .split('\n')
      .find((l) => l.includes('ARN is not mapped')) as string;
    const parsed = parseAuthenticatorLine(line);
    if (!parsed.ok || parsed.value.kind !== 'access-denied') throw new Error('fixture line did not parse');
    const out = renderChain(
      correlateAuthnFailure(
        parsed.value,
        {
          cluster: CLUSTER,
          accountId: '111122223333',
          logGroup: '/aws/eks/prod/cluster',
          logStream: 'authenticator-0123',
          streamKind: 'authenticator',
          eventId: '42',
          timestamp: Date.parse('2022-12-28T15:37:19.000Z'),
        },
        evidence,
      ),
    );
    expect(out).toContain(
      'chain prod#authn#42 (authn-failure) at 2022-12-28T15:37:19.000Z, cluster prod (account 111122223333)',
    );
    expect(out).toContain('     failed stage: unmapped (identity-not-mapped)');
    expect(out).toContain('3. mapping [observed] no mapping');
  });
});
