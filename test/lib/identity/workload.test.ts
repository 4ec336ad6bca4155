import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changesFromCloudTrail } from '../../../lib/identity/mapping-changes.js';
import { MappingTimeline } from '../../../lib/identity/mapping-timeline.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import {
  effectiveUsernamePrefix,
  eksIssuerKey,
  oidcClaimOf,
  ownerCandidatesOfPod,
  podIdentitySessionMiddle,
  podSessionMatches,
  serviceAccountOfSubject,
  workloadIdentity,
} from '../../../lib/identity/workload.js';
import { parseCloudTrailFile } from '../../../lib/sources/cloudtrail.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/sources/cloudtrail/${name}`, import.meta.url), 'utf8');

const records = parseCloudTrailFile(fixture('workload-records-from-aws-cli-examples.json'));
const changes = records.parsed.flatMap(changesFromCloudTrail);
const of = (cluster: string) => changes.filter((c) => c.cluster === cluster);

describe('EKS OIDC issuers', () => {
  it.each([
    ['an issuer URL', 'https://oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW'],
    [
      'an IAM OIDC provider ARN',
      'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW',
    ],
    ['a bare host and path', 'oidc.eks.us-east-2.amazonaws.com/id/jsa79429hjdaskjdj8223829mndnasw'],
  ])('reads the same key from %s', (_kind, text) => {
    expect(eksIssuerKey(text)).toBe('oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW');
  });

  it.each([
    ['GitHub Actions', 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com'],
    ['an Okta issuer', 'https://example.okta.com/oauth2/default'],
    ['nothing', undefined],
  ])('is not an EKS issuer: %s', (_kind, text) => {
    expect(eksIssuerKey(text)).toBeUndefined();
  });

  it('reads the service account of a projected token subject', () => {
    expect(serviceAccountOfSubject('system:serviceaccount:monitoring:cost-exporter')).toEqual({
      namespace: 'monitoring',
      serviceAccount: 'cost-exporter',
    });
    expect(serviceAccountOfSubject('repo:acme/payments-service:ref:refs/heads/main')).toBeUndefined();
  });
});

describe('Pod Identity session names', () => {
  it('matches the real session names of the immersion-day samples to their cluster and pod', () => {
    const s = 'eks-eksworksho-app1-498124c2-a555-40bf-9059-ca9a26821eb0';
    expect(podIdentitySessionMiddle(s)).toBe('eksworksho-app1');
    expect(podSessionMatches(s, 'eksworkshop-eksctl', 'app1')).toBe(true);
    expect(podSessionMatches(s, 'eksworkshop-eksctl')).toBe(true);
    expect(podSessionMatches(s, 'other-cluster')).toBe(false);
    expect(podSessionMatches(s, 'eksworkshop-eksctl', 'app2')).toBe(false);
    // The cut cluster name may itself hold a hyphen.
    expect(
      podSessionMatches('eks-eks-ref-sc-app2-17903385-a093-4b17-9f47-97e9137a30fc', 'eks-ref-sc-cluster', 'app2'),
    ).toBe(true);
  });

  it('is not a Pod Identity session without the eks- prefix and the trailing uuid', () => {
    expect(podIdentitySessionMiddle('i-07574d724fb843fda')).toBeUndefined();
    expect(podIdentitySessionMiddle('eks-cluster-pod')).toBeUndefined();
  });
});

describe('OIDC identity-provider usernames', () => {
  const base = { name: 'corp', issuerUrl: 'https://example.okta.com/oauth2/default' };
  it.each([
    ['a configured prefix', { usernamePrefix: 'okta:' }, 'okta:'],
    ['no prefix and the email claim', { usernameClaim: 'email' }, ''],
    ['no prefix and the default sub claim', {}, 'https://example.okta.com/oauth2/default#'],
    ['prefixing turned off with -', { usernamePrefix: '-' }, ''],
  ])('applies %s', (_kind, extra, prefix) => {
    expect(effectiveUsernamePrefix({ ...base, ...extra })).toBe(prefix);
  });

  it('gives the claim behind a prefixed username, and nothing for another prefix', () => {
    const c = { ...base, usernamePrefix: 'okta:' };
    expect(oidcClaimOf(c, 'okta:carol@example.com')).toBe('carol@example.com');
    expect(oidcClaimOf(c, 'dev:carol')).toBeUndefined();
    expect(oidcClaimOf(c, 'okta:')).toBeUndefined();
  });
});

describe('pod owners by name', () => {
  it.each([
    ['a Deployment pod', 'runner-7f9c8d6b5-x2kq4', ['deployments/runner', 'replicasets/runner-7f9c8d6b5']],
    ['a Job pod', 'backup-28934112-abcde', ['jobs/backup-28934112', 'daemonsets/backup-28934112']],
    ['a StatefulSet pod', 'postgres-0', ['statefulsets/postgres']],
  ])('reads %s', (_kind, pod, expected) => {
    const names = ownerCandidatesOfPod(pod).map((o) => `${o.resource}/${o.name}`);
    for (const e of expected) expect(names).toContain(e);
  });

  it('never throws on any pod name', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(Array.isArray(ownerCandidatesOfPod(s))).toBe(true);
      }),
    );
  });
});

describe('workload identity', () => {
  it('names the service account with its cluster, or with its issuer when the cluster is unknown', () => {
    expect(workloadIdentity({ accountId: '111122223333', cluster: 'build-eu' }, 'ci', 'deployer')).toBe(
      'serviceaccount:111122223333/build-eu/ci/deployer',
    );
    expect(workloadIdentity(undefined, 'ci', 'deployer', 'oidc.eks.eu-west-1.amazonaws.com/id/ABC')).toBe(
      'serviceaccount:oidc.eks.eu-west-1.amazonaws.com/id/ABC/ci/deployer',
    );
  });
});

describe('associations and provider configs in the versioned history', () => {
  it('folds create, update and delete of Pod Identity associations, keyed by service account', () => {
    const t = new MappingTimeline('eks-customer', of('eks-customer'));
    const created = t.stateAt('2025-05-25T00:40:14Z').podIdentityAssociations?.get('default/default');
    expect(created).toMatchObject({
      associationId: 'a-8mvwvh57cu74mgcst',
      roleArn: 'arn:aws:iam::111122223333:role/my-role',
      roleMatchKey: 'arn:aws:iam::111122223333:role/my-role',
      created: { at: '2025-05-25T00:40:13.000Z' },
    });
    expect(created?.created?.actor.aws?.sessionName).toBe('alice@example.com');
    // The update names another association of the same service account (EKS keeps one per account):
    // the response's association replaces it.
    const updated = t.stateAt('2025-05-26T02:05:00Z').podIdentityAssociations?.get('default/default');
    expect(updated).toMatchObject({
      associationId: 'a-9njjin9gfghecgocd',
      roleArn: 'arn:aws:iam::111122223333:role/s3-role',
    });
    expect(t.stateAt('2025-05-26T02:11:00Z').podIdentityAssociations?.size).toBe(0);
  });

  it('applies an update delta when the record carries no association', () => {
    const [create] = of('eks-customer');
    const update: MappingChange = {
      ...(create as MappingChange),
      sourceEventId: 'u1',
      at: '2025-05-25T01:00:00.000Z',
      op: {
        kind: 'pod-identity-association-update',
        associationId: 'a-8mvwvh57cu74mgcst',
        targetRoleArn: 'arn:aws:iam::444455556666:role/cross-account-admin',
        disableSessionTags: true,
      },
    };
    const remove: MappingChange = {
      ...update,
      sourceEventId: 'u2',
      at: '2025-05-25T02:00:00.000Z',
      op: { kind: 'pod-identity-association-update', associationId: 'a-8mvwvh57cu74mgcst', targetRoleArn: null },
    };
    const t = new MappingTimeline('eks-customer', [create as MappingChange, update, remove]);
    expect(t.stateAt('2025-05-25T01:30:00Z').podIdentityAssociations?.get('default/default')).toMatchObject({
      targetRoleArn: 'arn:aws:iam::444455556666:role/cross-account-admin',
      targetRoleMatchKey: 'arn:aws:iam::444455556666:role/cross-account-admin',
      disableSessionTags: true,
      created: { sourceEventId: (create as MappingChange).sourceEventId },
    });
    const after = t.stateAt('2025-05-25T03:00:00Z').podIdentityAssociations?.get('default/default');
    expect(after?.targetRoleArn).toBeUndefined();
    expect(after?.targetRoleMatchKey).toBeUndefined();
  });

  it('folds provider configs and the cluster issuer, and gives the same states in any arrival order', () => {
    const mine = of('my-eks-cluster');
    const t = new MappingTimeline('my-eks-cluster', mine);
    expect(t.stateAt('2024-03-15T00:00:00Z').oidcIssuer?.issuer).toBe(
      'https://oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW',
    );
    expect(t.stateAt('2024-04-11T17:50:00Z').identityProviders?.get('my-identity-provider')).toMatchObject({
      usernamePrefix: 'my-username-prefix',
      since: '2024-04-11T17:46:49.000Z',
    });
    expect(t.stateAt('2024-04-11T18:00:00Z').identityProviders?.size).toBe(0);
    const reversed = new MappingTimeline('my-eks-cluster', [...mine].reverse());
    expect(reversed.stateAt('2024-04-11T17:50:00Z')).toEqual(t.stateAt('2024-04-11T17:50:00Z'));
  });
});
