import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  changesFromAuditEvent,
  changesFromCloudTrail,
  toChangeInstant,
} from '../../../lib/identity/mapping-timeline.js';
import type { AuditEvent, AwsActor, CloudTrailAction, CloudTrailEvent } from '../../../lib/sources/types.js';

const json = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/identity/${name}`, import.meta.url), 'utf8'));

const ACTOR: AwsActor = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::012345678901:assumed-role/ops/alice',
  canonicalArn: 'arn:aws:iam::012345678901:role/ops',
  principalId: 'AROAOPS',
  sessionIssuerArn: 'arn:aws:iam::012345678901:role/team/ops',
  accountId: '012345678901',
};

const trail = (action: CloudTrailAction, over: Partial<CloudTrailEvent> = {}): CloudTrailEvent => ({
  eventId: '6f1c4a3e-0000-4000-8000-000000000001',
  eventTime: '2024-05-01T10:00:00Z',
  eventName: action.kind,
  eventSource: 'eks.amazonaws.com',
  recipientAccountId: '012345678901',
  actor: ACTOR,
  succeeded: true,
  action,
  ...over,
});

// The Stratus CreateAccessEntry / AssociateAccessPolicy excerpts, as the CloudTrail parser would render them.
const stratusCreate = json('stratus-create-access-entry-cloudtrail-excerpt.json');
const stratusAssociate = json('stratus-associate-access-policy-cloudtrail-excerpt.json');

describe('changesFromCloudTrail', () => {
  it('turns CreateAccessEntry into an access-entry-put keyed by the canonical ARN', () => {
    const entry = stratusCreate.responseElements.accessEntry;
    const [c, ...rest] = changesFromCloudTrail(
      trail({
        kind: 'CreateAccessEntry',
        cluster: stratusCreate.requestParameters.name,
        principalArn: entry.principalArn,
        entryType: entry.type,
        kubernetesGroups: [],
      }),
    );
    expect(rest).toEqual([]);
    expect(c).toEqual({
      cluster: 'eks-cluster',
      accountId: '012345678901',
      at: '2024-05-01T10:00:00.000Z',
      sourceEventId: '6f1c4a3e-0000-4000-8000-000000000001',
      source: 'cloudtrail',
      actor: { aws: ACTOR },
      op: {
        kind: 'access-entry-put',
        entry: {
          principalArn: entry.principalArn,
          matchKey: entry.principalArn.toLowerCase(),
          type: 'STANDARD',
          kubernetesGroups: [],
        },
      },
    });
  });

  it('percent-decodes the URI-label principalArn of AssociateAccessPolicy', () => {
    const p = stratusAssociate.requestParameters;
    const [c] = changesFromCloudTrail(
      trail({
        kind: 'AssociateAccessPolicy',
        cluster: p.name,
        principalArn: p.principalArn,
        policyArn: p.policyArn,
        scope: { type: 'cluster', namespaces: [] },
      }),
    );
    expect(c?.op).toEqual({
      kind: 'access-policy-associate',
      principalArn: 'arn:aws:iam::012345678901:role/stratus-red-team-eks-create-access-entry-role',
      matchKey: 'arn:aws:iam::012345678901:role/stratus-red-team-eks-create-access-entry-role',
      association: {
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
        scope: { type: 'cluster', namespaces: [] },
      },
    });
  });

  it('keys a path-bearing role by its path-less ARN, keeping the ARN as given', () => {
    const [c] = changesFromCloudTrail(
      trail({
        kind: 'CreateAccessEntry',
        cluster: 'my-cluster',
        principalArn: 'arn:aws:iam::012345678910:role/teams/tooling/devToolingOperator',
        entryType: 'STANDARD',
        kubernetesGroups: [],
      }),
    );
    expect(c?.op).toMatchObject({
      entry: {
        principalArn: 'arn:aws:iam::012345678910:role/teams/tooling/devToolingOperator',
        matchKey: 'arn:aws:iam::012345678910:role/devtoolingoperator',
      },
    });
  });

  it('prefers the full entry of the UpdateAccessEntry response (CLI update-access-entry output)', () => {
    const { accessEntry } = json('cli-update-access-entry.json');
    const [c] = changesFromCloudTrail(
      trail({
        kind: 'UpdateAccessEntry',
        cluster: accessEntry.clusterName,
        principalArn: accessEntry.principalArn,
        kubernetesGroups: ['tester'],
        after: {
          username: accessEntry.username,
          kubernetesGroups: accessEntry.kubernetesGroups,
          entryType: accessEntry.type,
        },
      }),
    );
    expect(c?.op).toEqual({
      kind: 'access-entry-update',
      principalArn: 'arn:aws:iam::111122223333:role/Admin',
      matchKey: 'arn:aws:iam::111122223333:role/admin',
      username: 'arn:aws:sts::111122223333:assumed-role/Admin/{{SessionName}}',
      kubernetesGroups: ['tester'],
    });
  });

  it('leaves unchanged fields out of a request-only update', () => {
    const [c] = changesFromCloudTrail(
      trail({
        kind: 'UpdateAccessEntry',
        cluster: 'c',
        principalArn: 'arn:aws:iam::1:role/R',
        username: 'x:{{SessionName}}',
      }),
    );
    expect(c?.op).toEqual({
      kind: 'access-entry-update',
      principalArn: 'arn:aws:iam::1:role/R',
      matchKey: 'arn:aws:iam::1:role/r',
      username: 'x:{{SessionName}}',
    });
  });

  it.each([
    [
      'DeleteAccessEntry',
      { kind: 'DeleteAccessEntry', cluster: 'c', principalArn: 'arn%3Aaws%3Aiam%3A%3A1%3Auser%2Fu' },
      'access-entry-delete',
    ],
    [
      'DisassociateAccessPolicy',
      {
        kind: 'DisassociateAccessPolicy',
        cluster: 'c',
        principalArn: 'arn:aws:iam::1:user/u',
        policyArn: 'arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSViewPolicy',
      },
      'access-policy-disassociate',
    ],
    ['DeleteCluster', { kind: 'DeleteCluster', cluster: 'c' }, 'cluster-deleted'],
  ] as const)('maps %s to %s', (_name, action, kind) => {
    const changes = changesFromCloudTrail(trail(action as CloudTrailAction));
    expect(changes.map((c) => c.op.kind)).toEqual([kind]);
    const op = changes[0]?.op as { principalArn?: string; policyArn?: string };
    if (op.principalArn) expect(op.principalArn).toBe('arn:aws:iam::1:user/u');
    if (op.policyArn) expect(op.policyArn).toBe('arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy');
  });

  it('records the creator, mode and log types of CreateCluster', () => {
    const [c] = changesFromCloudTrail(
      trail({
        kind: 'CreateCluster',
        cluster: 'c',
        authenticationMode: 'API',
        bootstrapClusterCreatorAdminPermissions: true,
        enabledLogTypes: ['audit'],
      }),
    );
    expect(c?.op).toEqual({
      kind: 'cluster-created',
      creator: { actor: ACTOR, bootstrapAdmin: true, canonicalArn: 'arn:aws:iam::012345678901:role/ops' },
      mode: 'API',
      enabledLogTypes: ['audit'],
    });
  });

  it('derives the creator canonical ARN from the STS ARN when CloudTrail gave no more', () => {
    const actor: AwsActor = { type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/Builder/ci' };
    const [c] = changesFromCloudTrail(
      trail(
        {
          kind: 'CreateCluster',
          cluster: 'c',
          authenticationMode: 'CONFIG_MAP',
          bootstrapClusterCreatorAdminPermissions: true,
          enabledLogTypes: [],
        },
        { actor },
      ),
    );
    expect(c?.op).toMatchObject({ creator: { canonicalArn: 'arn:aws:iam::1:role/Builder' } });
  });

  it('splits UpdateClusterConfig into auth-mode-set and logging-set facts of the same event', () => {
    const changes = changesFromCloudTrail(
      trail({
        kind: 'UpdateClusterConfig',
        cluster: 'c',
        authenticationMode: 'API_AND_CONFIG_MAP',
        logging: { enabled: ['authenticator'], disabled: ['api'] },
      }),
    );
    expect(changes.map((c) => [c.op.kind, c.sourceEventId])).toEqual([
      ['auth-mode-set', '6f1c4a3e-0000-4000-8000-000000000001'],
      ['logging-set', '6f1c4a3e-0000-4000-8000-000000000001'],
    ]);
    expect(changesFromCloudTrail(trail({ kind: 'UpdateClusterConfig', cluster: 'c' }))).toEqual([]);
  });

  it.each([
    [
      'a failed call',
      trail(
        { kind: 'DeleteAccessEntry', cluster: 'c', principalArn: 'arn:aws:iam::1:user/u' },
        { succeeded: false, errorCode: 'ResourceNotFoundException' },
      ),
    ],
    [
      'an error code despite succeeded',
      trail(
        { kind: 'DeleteAccessEntry', cluster: 'c', principalArn: 'arn:aws:iam::1:user/u' },
        { errorCode: 'AccessDenied' },
      ),
    ],
    [
      'an STS AssumeRole',
      trail(
        { kind: 'AssumeRole', api: 'AssumeRole', roleArn: 'arn:aws:iam::1:role/R', issuedAccessKeyId: 'ASIAX' },
        { eventSource: 'sts.amazonaws.com' },
      ),
    ],
  ])('yields nothing for %s', (_kind, event) => {
    expect(changesFromCloudTrail(event)).toEqual([]);
  });

  it('normalises second-precision and offset event times to ISO with ms', () => {
    expect(toChangeInstant('2024-05-01T10:00:00Z')).toBe('2024-05-01T10:00:00.000Z');
    expect(toChangeInstant('2025-04-14T22:45:48.097000-05:00')).toBe('2025-04-15T03:45:48.097Z');
    expect(toChangeInstant('not a time')).toBe('not a time');
  });

  it('gives what formatting the parsed Date gives, whatever instant came before', () => {
    const reference = (at: string): string => {
      const ms = Date.parse(at);
      return Number.isNaN(ms) ? at : new Date(ms).toISOString();
    };
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    // Rolled-over dates (02-30), hour 24, second 60, offsets and short fractions next to the plain
    // audit form, over few minutes so that consecutive instants often share one.
    const instant = fc
      .record({
        date: fc.constantFrom('2024-02-28', '2024-02-30', '2023-02-29', '2024-12-31', '2024-13-01', '0000-01-01'),
        hour: fc.constantFrom('00', '23', '24'),
        minute: fc.constantFrom('00', '59'),
        second: two(60),
        fraction: fc.constantFrom('', '.1', '.123', '.123456', '.999999999', '.12a'),
        zone: fc.constantFrom('Z', 'Z', 'Z', '+00:00', '-05:00', ''),
      })
      .map((t) => `${t.date}T${t.hour}:${t.minute}:${t.second}${t.fraction}${t.zone}`);
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 30 }), (ats) => {
        for (const at of ats) expect(toChangeInstant(at), at).toBe(reference(at));
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

const kiem = json('kiempossible-eks-audit-access-policy-allow.json');
const stratusAudit = json('stratus-backdoor-aws-auth-audit-excerpt.json');

/** An audit event in the parsed shape of lib/sources/types.ts. */
const audit = (over: Partial<AuditEvent>): AuditEvent => ({
  auditID: 'a1b2c3d4-0000-4000-8000-000000000001',
  stage: 'ResponseComplete',
  level: 'RequestResponse',
  verb: 'update',
  user: kiem.user,
  sourceIPs: ['130.41.219.137'],
  objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth', apiVersion: 'v1' },
  responseStatus: { code: 200 },
  requestReceivedTimestamp: '2024-08-24T14:27:07.461683Z',
  stageTimestamp: '2024-08-24T14:27:07.491536Z',
  annotations: {},
  truncated: false,
  ...over,
});

const origin = { cluster: 'eks-cluster', accountId: '211125685544' };

describe('changesFromAuditEvent', () => {
  it('observes the principal id behind the canonical ARN (KIEMPossible list namespaces)', () => {
    const changes = changesFromAuditEvent(
      audit({ auditID: kiem.auditID, verb: 'list', objectRef: kiem.objectRef, level: 'Request' }),
      origin,
    );
    expect(changes).toEqual([
      {
        cluster: 'eks-cluster',
        accountId: '211125685544',
        at: '2024-08-24T14:27:07.491Z',
        sourceEventId: 'fb5dba68-6262-4718-b45e-d293b03e434d',
        source: 'audit',
        actor: {
          k8sUsername: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
          k8sCanonicalArn: 'arn:aws:iam::211125685544:role/sso_admin',
          aws: {
            type: 'AssumedRole',
            arn: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers@paloaltonetworks.com',
            canonicalArn: 'arn:aws:iam::211125685544:role/sso_admin',
            accountId: '211125685544',
            principalId: 'AROATCKASJUUBCXRRKSFT',
            accessKeyId: 'ASIATCKASJUUD7MPDOZN',
            sessionName: 'gomyers@paloaltonetworks.com',
          },
        },
        op: {
          kind: 'principal-id-observed',
          matchKey: 'arn:aws:iam::211125685544:role/sso_admin',
          principalId: 'AROATCKASJUUBCXRRKSFT',
        },
      },
    ]);
  });

  it('reads the principal id from the newer sigs.k8s.io extra key too', () => {
    const user = {
      ...kiem.user,
      extra: { canonicalArn: ['arn:aws:iam::1:role/R'], 'sigs.k8s.io/aws-iam-authenticator/principalId': ['AROAR'] },
    };
    const [c] = changesFromAuditEvent(audit({ user, verb: 'get' }), origin);
    expect(c?.op).toEqual({ kind: 'principal-id-observed', matchKey: 'arn:aws:iam::1:role/r', principalId: 'AROAR' });
  });

  it('emits no observation without a principal id (2022-era extra)', () => {
    const user = { ...kiem.user, extra: { canonicalArn: ['arn:aws:iam::1:role/R'], principalId: [''] } };
    expect(changesFromAuditEvent(audit({ user, verb: 'get' }), origin)).toEqual([]);
  });

  it('turns the Stratus backdoor update into an aws-auth-put, falling back to the requestObject', () => {
    const changes = changesFromAuditEvent(
      audit({ requestObject: stratusAudit.requestObject, responseObject: { kind: 'Status', status: 'Success' } }),
      origin,
    );
    const put = changes.find((c) => c.op.kind === 'aws-auth-put');
    expect(put?.op.kind === 'aws-auth-put' && put.op.config.roles.map((r) => r.username)).toEqual([
      'cluster-admin-{{SessionName}}',
      'system:node:{{EC2PrivateDNSName}}',
      'backdoor',
    ]);
    expect(put?.op.kind === 'aws-auth-put' && put.op.rawData?.mapRoles).toBe(stratusAudit.requestObject.data.mapRoles);
    expect(put?.sourceEventId).toBe('a1b2c3d4-0000-4000-8000-000000000001');
    expect(put?.actor.k8sCanonicalArn).toBe('arn:aws:iam::211125685544:role/sso_admin');
  });

  it('reads a patch from the responseObject only (the requestObject is the patch document)', () => {
    const patchOnly = changesFromAuditEvent(
      audit({ verb: 'patch', requestObject: stratusAudit.requestObject }),
      origin,
    );
    expect(patchOnly.some((c) => c.op.kind === 'aws-auth-put')).toBe(false);
    const full = changesFromAuditEvent(audit({ verb: 'patch', responseObject: stratusAudit.requestObject }), origin);
    expect(full.some((c) => c.op.kind === 'aws-auth-put')).toBe(true);
  });

  it('turns a successful delete into aws-auth-delete', () => {
    const changes = changesFromAuditEvent(audit({ verb: 'delete' }), origin);
    expect(changes.map((c) => c.op.kind)).toContain('aws-auth-delete');
  });

  it('yields no aws-auth fact for a Metadata-level create (no body)', () => {
    const changes = changesFromAuditEvent(
      audit({ verb: 'create', level: 'Metadata', responseStatus: { code: 201 } }),
      origin,
    );
    expect(changes.map((c) => c.op.kind)).toEqual(['principal-id-observed']);
  });

  it.each([
    ['a forbidden update', { responseStatus: { code: 403 } }],
    ['a conflict', { responseStatus: { code: 409 } }],
    ['no status', { responseStatus: undefined }],
    ['the ResponseStarted stage', { stage: 'ResponseStarted' }],
    ['another ConfigMap', { objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'coredns' } }],
    [
      'aws-auth in another namespace',
      { objectRef: { resource: 'configmaps', namespace: 'default', name: 'aws-auth' } },
    ],
    ['a get of aws-auth', { verb: 'get' }],
    ['a truncated event without body', { truncated: true }],
  ] as [string, Partial<AuditEvent>][])('yields no aws-auth fact for %s', (_kind, over) => {
    const changes = changesFromAuditEvent(
      audit({
        requestObject: stratusAudit.requestObject,
        ...over,
        ...(over.truncated ? { requestObject: undefined } : {}),
      }),
      origin,
    );
    expect(changes.filter((c) => c.op.kind !== 'principal-id-observed')).toEqual([]);
  });

  it('handles a 401 event with an empty user', () => {
    expect(
      changesFromAuditEvent(
        audit({ user: { groups: [], extra: {} }, verb: 'get', responseStatus: { code: 401 } }),
        origin,
      ),
    ).toEqual([]);
  });
});
