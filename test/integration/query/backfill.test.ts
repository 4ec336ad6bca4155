import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeAccessEntryCommand,
  DescribeClusterCommand,
  DescribeIdentityProviderConfigCommand,
  DescribePodIdentityAssociationCommand,
  EKSClient,
  ListAccessEntriesCommand,
  ListAssociatedAccessPoliciesCommand,
  ListIdentityProviderConfigsCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { policyFieldText } from '../../../lib/query/row-text.js';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { runBackfill } from '../../../lib/local/backfill.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { runQuestion } from '../../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, startEngine } from '../../support/engine.js';

/**
 * CloudWatch Logs, CloudTrail and EKS have no local engine: their clients are faked with
 * aws-sdk-client-mock, while the pipelines and the store run for real against the engine.
 */
const FIXTURE = resolve(__dirname, '../../fixtures/query/kiem');
const ACCOUNT = '211125685544';
const NOW = Date.parse('2024-09-01T00:00:00Z');
const records = JSON.parse(readFileSync(join(FIXTURE, 'cloudtrail.json'), 'utf8')).Records as {
  eventSource: string;
  eventName: string;
}[];
const logEvents = JSON.parse(readFileSync(join(FIXTURE, 'kiem.filter-log-events.json'), 'utf8')).events as {
  logStreamName: string;
}[];

const logs = mockClient(CloudWatchLogsClient);
const cloudtrail = mockClient(CloudTrailClient);
const eks = mockClient(EKSClient);
const clients = () => ({
  logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
  cloudtrail: new CloudTrailClient({ region: 'us-east-1' }),
  eks: new EKSClient({ region: 'us-east-1' }),
});

const role = `arn:aws:iam::${ACCOUNT}:role/ci-deployer`;

beforeEach(() => {
  logs.reset();
  cloudtrail.reset();
  eks.reset();
  eks.on(DescribeClusterCommand).resolves({
    cluster: {
      name: 'kiem',
      accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
      // The identity block of the aws-cli describe-cluster example (test/fixtures/SOURCES.md).
      identity: { oidc: { issuer: 'https://oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW' } },
    },
  });
  eks.on(ListPodIdentityAssociationsCommand).resolves({
    associations: [
      { clusterName: 'kiem', namespace: 'apps', serviceAccount: 'ci', associationId: 'a-8mvwvh57cu74mgcst' },
    ],
  });
  eks.on(DescribePodIdentityAssociationCommand).resolves({
    association: {
      clusterName: 'kiem',
      namespace: 'apps',
      serviceAccount: 'ci',
      roleArn: role,
      associationId: 'a-8mvwvh57cu74mgcst',
      disableSessionTags: false,
    },
  });
  eks.on(ListIdentityProviderConfigsCommand).resolves({
    identityProviderConfigs: [{ type: 'oidc', name: 'my-identity-provider' }],
  });
  // The describe-identity-provider-config aws-cli example's config (test/fixtures/SOURCES.md).
  eks.on(DescribeIdentityProviderConfigCommand).resolves({
    identityProviderConfig: {
      oidc: {
        identityProviderConfigName: 'my-identity-provider',
        issuerUrl: 'https://oidc.eks.us-east-2.amazonaws.com/id/38D6A4619A0A69E342B113ED7F1A7652',
        clientId: 'kubernetes',
        usernameClaim: 'email',
        usernamePrefix: 'my-username-prefix',
        groupsClaim: 'my-claim',
        groupsPrefix: 'my-groups-prefix',
        requiredClaims: { Claim1: 'value1', Claim2: 'value2' },
      },
    },
  });
  eks.on(ListAccessEntriesCommand).resolves({ accessEntries: [role] });
  eks.on(DescribeAccessEntryCommand).resolves({
    accessEntry: {
      clusterName: 'kiem',
      principalArn: role,
      kubernetesGroups: ['deployers'],
      type: 'STANDARD',
      username: 'ci:{{SessionName}}',
    },
  });
  eks.on(ListAssociatedAccessPoliciesCommand).resolves({
    associatedAccessPolicies: [
      {
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy',
        accessScope: { type: 'namespace', namespaces: ['apps'] },
      },
    ],
  });
});

describe('backfill', () => {
  it('pulls every source page by page, survives a failure and resumes from the checkpoint', async () => {
    const engine = await startEngine();
    try {
      const table = await createTestTable(engine.client, 'backfill');
      const store = new DynamoDbTrailStore(engine.client, { tableName: table });
      const checkpointPath = join(mkdtempSync(join(tmpdir(), 'backfill-')), 'cp.json');
      const eksRecords = records.filter((r) => r.eventSource === 'eks.amazonaws.com');
      // Tokens are copied inside the fake: the input object must not be shared between pages.
      const lookupTokens: (string | undefined)[] = [];
      let failOnce = true;
      cloudtrail.on(LookupEventsCommand).callsFake((input: LookupEventsCommandInput) => {
        const attr = input.LookupAttributes?.[0];
        if (attr?.AttributeKey === 'EventSource' && attr.AttributeValue === 'eks.amazonaws.com') {
          lookupTokens.push(input.NextToken);
          if (input.NextToken === undefined)
            return { Events: [{ CloudTrailEvent: JSON.stringify(eksRecords[0]) }], NextToken: 'ct-2' };
          if (failOnce) {
            failOnce = false;
            throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
          }
          return { Events: eksRecords.slice(1).map((r) => ({ CloudTrailEvent: JSON.stringify(r) })) };
        }
        if (attr?.AttributeValue === 'AssumeRoleWithSAML') {
          return {
            Events: records
              .filter((r) => r.eventName === 'AssumeRoleWithSAML')
              .map((r) => ({ CloudTrailEvent: JSON.stringify(r) })),
          };
        }
        return { Events: [] };
      });
      const logTokens: (string | undefined)[] = [];
      logs.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) => {
        logTokens.push(`${input.logStreamNamePrefix}:${input.nextToken ?? ''}`);
        expect(input.logGroupName).toBe('/aws/eks/kiem/cluster');
        const mine = logEvents.filter((e) => e.logStreamName.startsWith(input.logStreamNamePrefix ?? ''));
        // Two pages per stream kind.
        return input.nextToken
          ? { events: mine.slice(1) }
          : { events: mine.slice(0, 1), nextToken: `${input.logStreamNamePrefix}-2` };
      });
      const opts = {
        cluster: 'kiem',
        accountId: ACCOUNT,
        from: '2024-08-01T00:00:00.000Z',
        to: '2024-09-01T00:00:00.000Z',
        checkpointPath,
        now: () => NOW,
      };

      await expect(runBackfill(clients(), store, opts)).rejects.toThrow('Rate exceeded');
      const cp = JSON.parse(readFileSync(checkpointPath, 'utf8'));
      expect(cp.sources['eks:access-entries']).toEqual({ done: true, pages: 1 });
      expect(cp.sources['cloudtrail:eks']).toEqual({ done: false, pages: 1, nextToken: 'ct-2' });

      const summary = await runBackfill(clients(), store, opts);
      expect(summary.resumed).toBe(true);
      expect(lookupTokens).toEqual([undefined, 'ct-2', 'ct-2']);
      expect(logTokens).toEqual([
        'authenticator:',
        'authenticator:authenticator-2',
        'kube-apiserver-audit:',
        'kube-apiserver-audit:kube-apiserver-audit-2',
      ]);
      expect(summary.logEvents).toBe(5);
      expect(summary.credentials).toBe(1);
      expect(existsSync(checkpointPath)).toBe(true);
      expect(eks).toHaveReceivedCommandTimes(ListAccessEntriesCommand, 1);

      // The backfilled trail answers like a replayed one.
      const ask = async (q: string, params: Record<string, string>) => {
        const p = parseQuestionParams(q, params, NOW);
        if (!p.ok) throw new Error(JSON.stringify(p.issues));
        const a = await runQuestion(store, p.value);
        // biome-ignore lint/suspicious/noExplicitAny: rows of two questions, read field by field
        return a.rows as Record<string, any>[];
      };
      const at = await ask('access-at', { cluster: 'kiem', at: '2024-09-01T00:00:00Z' });
      expect(at.map((r) => [r.source, r.principal, r.policies.map(policyFieldText)])).toEqual([
        ['cluster-creator', `arn:aws:iam::${ACCOUNT}:role/platform-admin`, ['AmazonEKSClusterAdminPolicy@cluster']],
        ['access-entry', role, ['AmazonEKSEditPolicy@ns:apps']],
        ['access-entry', `arn:aws:iam::${ACCOUNT}:role/sso_admin`, ['AmazonEKSClusterAdminPolicy@cluster']],
        ['oidc-provider', 'https://oidc.eks.us-east-2.amazonaws.com/id/38D6A4619A0A69E342B113ED7F1A7652', []],
      ]);
      expect(at.at(-1)).toMatchObject({
        username: 'my-username-prefix<email claim>',
        groups: ['my-groups-prefix<my-claim claim>'],
      });
      // The association and the issuer came with the current state.
      const workloads = await ask('workloads', { role, at: '2024-09-01T00:00:00Z' });
      expect(workloads.map((r) => [r.cluster, r.namespace, r.serviceAccount, r.via, r.association])).toEqual([
        [`${ACCOUNT}/kiem`, 'apps', 'ci', 'pod-identity-association', 'a-8mvwvh57cu74mgcst'],
      ]);
      expect(await store.issuerCluster('oidc.eks.us-east-2.amazonaws.com/id/JSA79429HJDASKJDJ8223829MNDNASW')).toEqual({
        accountId: ACCOUNT,
        cluster: 'kiem',
      });
      const who = await ask('who-did', {
        cluster: 'kiem',
        human: 'gomyers@paloaltonetworks.com',
        from: '2024-08-24T14:00:00Z',
        to: '2024-08-24T15:00:00Z',
      });
      expect(who.map((r) => r.auditID)).toEqual(['fb5dba68-6262-4718-b45e-d293b03e434d']);
    } finally {
      await engine.stop();
    }
  });
});
