import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { type CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import {
  type CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeAccessEntryCommand,
  DescribeClusterCommand,
  DescribeIdentityProviderConfigCommand,
  DescribePodIdentityAssociationCommand,
  type EKSClient,
  ListAccessEntriesCommand,
  ListAssociatedAccessPoliciesCommand,
  ListIdentityProviderConfigsCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import { canonicalizeArn } from '../identity/arn.js';
import type { MappingChange, PodIdentityAssociation } from '../identity/types.js';
import { withMatchKeys } from '../identity/workload.js';
import { ingestCloudTrailEvents } from '../ingest/cloudtrail-pipeline.js';
import { batchUnitIds, ingestLogPayloads } from '../ingest/log-pipeline.js';
import type { QuarantineCounts } from '../ingest/types.js';
import type { IssueCode } from '../result.js';
import type { AuthenticationMode, CloudWatchLogsPayload, OidcIdentityProviderConfig } from '../sources/types.js';
import type { TrailStore } from '../store/trail-store.js';
import { type Progress, silentProgress } from './progress.js';

/**
 * `backfill`: history from before the deployment, pulled from a real account into the trail (deployed
 * table or local mode) through the same pipelines:
 *  - CloudWatch Logs FilterLogEvents on /aws/eks/<cluster>/cluster, authenticator and audit streams;
 *  - CloudTrail LookupEvents: EKS access management (EventSource eks.amazonaws.com), EKS Auth
 *    (eks-auth.amazonaws.com) and AssumeRole*;
 *  - EKS DescribeCluster / ListAccessEntries / DescribeAccessEntry / ListAssociatedAccessPolicies /
 *    ListPodIdentityAssociations / DescribePodIdentityAssociation / ListIdentityProviderConfigs /
 *    DescribeIdentityProviderConfig: the current mapping state (the cluster's OIDC issuer, associations
 *    and provider configs included), recorded as backfill MappingChanges at "now" (their true creation
 *    time is in CloudTrail only if it is younger than LookupEvents' 90 days).
 * Resumable: after every page the next token of each source is written to a checkpoint file, so an
 * interrupted run continues where it stopped. Pages are requested with a fresh input object each time
 * (SDK paginators mutate one shared input, which makes per-page tokens unobservable).
 */

export class BackfillError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackfillError';
  }
}

export interface BackfillClients {
  logs: CloudWatchLogsClient;
  cloudtrail: CloudTrailClient;
  eks: EKSClient;
}

export const BACKFILL_SOURCES = [
  'eks:access-entries',
  'cloudtrail:eks',
  'cloudtrail:eks-auth',
  'cloudtrail:AssumeRole',
  'cloudtrail:AssumeRoleWithSAML',
  'cloudtrail:AssumeRoleWithWebIdentity',
  'logs:authenticator',
  'logs:kube-apiserver-audit',
] as const;
export type BackfillSource = (typeof BACKFILL_SOURCES)[number];

interface SourceState {
  done: boolean;
  nextToken?: string;
  pages: number;
}

export interface Checkpoint {
  version: 1;
  cluster: string;
  accountId?: string;
  from: string;
  to: string;
  sources: Partial<Record<BackfillSource, SourceState>>;
}

export interface BackfillOptions {
  cluster: string;
  /** Account owning the cluster (payload owner); recommended, as exports do not carry it. */
  accountId?: string;
  from: string;
  to: string;
  /** Resume file; written after every page. */
  checkpointPath?: string;
  /** Restrict to some sources (default all). */
  sources?: readonly BackfillSource[];
  now: () => number;
  progress?: Progress;
}

export interface BackfillSummary {
  pages: Partial<Record<BackfillSource, number>>;
  logEvents: number;
  cloudTrailEvents: number;
  accessEntries: number;
  requestsStored: number;
  mappingChanges: number;
  newMappingChanges: number;
  credentials: number;
  quarantined: QuarantineCounts;
  failedItems: number;
  resumed: boolean;
}

const loadCheckpoint = (path: string | undefined, o: BackfillOptions): { cp: Checkpoint; resumed: boolean } => {
  const fresh: Checkpoint = { version: 1, cluster: o.cluster, from: o.from, to: o.to, sources: {} };
  if (o.accountId) fresh.accountId = o.accountId;
  if (!path || !existsSync(path)) return { cp: fresh, resumed: false };
  let cp: Checkpoint;
  try {
    cp = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch (cause) {
    throw new BackfillError(`checkpoint ${path} is not readable JSON; delete it to start over`, { cause });
  }
  if (cp.version !== 1 || cp.cluster !== o.cluster || cp.from !== o.from || cp.to !== o.to) {
    throw new BackfillError(
      `checkpoint ${path} is for cluster ${cp.cluster} ${cp.from}..${cp.to}; resume with the same --cluster/--from/--to or delete it`,
    );
  }
  return { cp, resumed: true };
};

const saveCheckpoint = (path: string | undefined, cp: Checkpoint): void => {
  if (!path) return;
  // Write-then-rename: a crash mid-write never leaves a torn checkpoint.
  writeFileSync(`${path}.tmp`, JSON.stringify(cp, null, 2));
  renameSync(`${path}.tmp`, path);
};

const addCounts = (into: QuarantineCounts, from: QuarantineCounts): void => {
  for (const [k, v] of Object.entries(from)) into[k as IssueCode] = (into[k as IssueCode] ?? 0) + (v ?? 0);
};

/** Current access entries and the auth mode as backfill MappingChanges, content-addressed ids. */
const accessEntryChanges = async (
  eks: EKSClient,
  o: BackfillOptions,
  at: string,
): Promise<{ changes: MappingChange[]; entries: number }> => {
  const changes: MappingChange[] = [];
  const base = { cluster: o.cluster, at, source: 'backfill' as const, actor: {} };
  const id = (...parts: string[]) =>
    `backfill:eks:${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32)}`;
  const withAccount = (c: MappingChange): MappingChange => (o.accountId ? { ...c, accountId: o.accountId } : c);
  const cluster = await eks.send(new DescribeClusterCommand({ name: o.cluster }));
  const mode = cluster.cluster?.accessConfig?.authenticationMode as AuthenticationMode | undefined;
  if (mode) {
    changes.push(withAccount({ ...base, sourceEventId: id('mode', mode), op: { kind: 'auth-mode-set', mode } }));
  }
  // The issuer IRSA tokens of this cluster's pods name (docs/formats.md §3.9).
  const issuer = cluster.cluster?.identity?.oidc?.issuer;
  if (issuer) {
    changes.push(
      withAccount({ ...base, sourceEventId: id('issuer', issuer), op: { kind: 'cluster-oidc-issuer', issuer } }),
    );
  }
  for (const a of await podIdentityAssociations(eks, o.cluster)) {
    changes.push(
      withAccount({
        ...base,
        sourceEventId: id('association', JSON.stringify(a)),
        op: { kind: 'pod-identity-association-put', association: a },
      }),
    );
  }
  for (const config of await identityProviderConfigs(eks, o.cluster)) {
    changes.push(
      withAccount({
        ...base,
        sourceEventId: id('idp', JSON.stringify(config)),
        op: { kind: 'identity-provider-associate', config },
      }),
    );
  }
  // CONFIG_MAP clusters have no access entries: the API then answers InvalidRequestException.
  if (mode === 'CONFIG_MAP') return { changes, entries: 0 };
  let entries = 0;
  let nextToken: string | undefined;
  do {
    const page = await eks.send(
      new ListAccessEntriesCommand({ clusterName: o.cluster, ...(nextToken ? { nextToken } : {}) }),
    );
    for (const principalArn of page.accessEntries ?? []) {
      const d = await eks.send(new DescribeAccessEntryCommand({ clusterName: o.cluster, principalArn }));
      const e = d.accessEntry;
      const c = canonicalizeArn(principalArn);
      if (!e || !c.ok) continue;
      entries++;
      const matchKey = c.value.matchKey;
      const entry = {
        principalArn,
        matchKey,
        type: e.type ?? 'STANDARD',
        kubernetesGroups: [...(e.kubernetesGroups ?? [])],
        ...(e.username ? { username: e.username } : {}),
      };
      changes.push(
        withAccount({
          ...base,
          sourceEventId: id('entry', JSON.stringify(entry)),
          op: { kind: 'access-entry-put', entry },
        }),
      );
      let policyToken: string | undefined;
      do {
        const p = await eks.send(
          new ListAssociatedAccessPoliciesCommand({
            clusterName: o.cluster,
            principalArn,
            ...(policyToken ? { nextToken: policyToken } : {}),
          }),
        );
        for (const a of p.associatedAccessPolicies ?? []) {
          if (!a.policyArn) continue;
          const scope = {
            type: (a.accessScope?.type === 'namespace' ? 'namespace' : 'cluster') as 'namespace' | 'cluster',
            namespaces: [...(a.accessScope?.namespaces ?? [])],
          };
          changes.push(
            withAccount({
              ...base,
              sourceEventId: id('policy', principalArn, a.policyArn, JSON.stringify(scope)),
              op: {
                kind: 'access-policy-associate',
                principalArn,
                matchKey,
                association: { policyArn: a.policyArn, scope },
              },
            }),
          );
        }
        policyToken = p.nextToken;
      } while (policyToken);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return { changes, entries };
};

/** Every Pod Identity association of the cluster, described (the list omits target role and flags). */
const podIdentityAssociations = async (eks: EKSClient, cluster: string): Promise<PodIdentityAssociation[]> => {
  const out: PodIdentityAssociation[] = [];
  let nextToken: string | undefined;
  do {
    const page = await eks.send(
      new ListPodIdentityAssociationsCommand({ clusterName: cluster, ...(nextToken ? { nextToken } : {}) }),
    );
    for (const s of page?.associations ?? []) {
      if (!s.associationId) continue;
      const d = await eks.send(
        new DescribePodIdentityAssociationCommand({ clusterName: cluster, associationId: s.associationId }),
      );
      const a = d?.association;
      if (!a?.namespace || !a.serviceAccount || !a.roleArn) continue;
      out.push(
        withMatchKeys({
          associationId: s.associationId,
          namespace: a.namespace,
          serviceAccount: a.serviceAccount,
          roleArn: a.roleArn,
          ...(a.associationArn ? { associationArn: a.associationArn } : {}),
          ...(a.targetRoleArn ? { targetRoleArn: a.targetRoleArn } : {}),
          ...(a.externalId ? { externalId: a.externalId } : {}),
          ...(a.disableSessionTags !== undefined ? { disableSessionTags: a.disableSessionTags } : {}),
          ...(a.policy ? { policy: a.policy } : {}),
        }),
      );
    }
    nextToken = page?.nextToken;
  } while (nextToken);
  return out;
};

/** Every OIDC identity-provider config associated with the cluster. */
const identityProviderConfigs = async (eks: EKSClient, cluster: string): Promise<OidcIdentityProviderConfig[]> => {
  const out: OidcIdentityProviderConfig[] = [];
  let nextToken: string | undefined;
  do {
    const page = await eks.send(
      new ListIdentityProviderConfigsCommand({ clusterName: cluster, ...(nextToken ? { nextToken } : {}) }),
    );
    for (const ref of page?.identityProviderConfigs ?? []) {
      if (ref.type !== 'oidc' || !ref.name) continue;
      const d = await eks.send(
        new DescribeIdentityProviderConfigCommand({
          clusterName: cluster,
          identityProviderConfig: { type: ref.type, name: ref.name },
        }),
      );
      const c = d?.identityProviderConfig?.oidc;
      if (!c?.issuerUrl) continue;
      const config: OidcIdentityProviderConfig = { name: ref.name, issuerUrl: c.issuerUrl };
      for (const k of ['clientId', 'usernameClaim', 'usernamePrefix', 'groupsClaim', 'groupsPrefix'] as const) {
        const v = c[k];
        if (v) config[k] = v;
      }
      if (c.requiredClaims && Object.keys(c.requiredClaims).length > 0) config.requiredClaims = { ...c.requiredClaims };
      out.push(config);
    }
    nextToken = page?.nextToken;
  } while (nextToken);
  return out;
};

/** What the page fetchers of one backfill run share. */
interface BackfillRun {
  clients: BackfillClients;
  store: TrailStore;
  o: BackfillOptions;
  summary: BackfillSummary;
  fromMs: number;
  toMs: number;
  /** Adds an ingest summary to the run's and stops the run when the store failed items. */
  settle: (source: BackfillSource, s: IngestOutcome) => void;
}

type IngestOutcome = {
  mappingChanges: number;
  newMappingChanges: number;
  failedItemIds: string[];
  quarantined: QuarantineCounts;
};

type PageFetch = (token: string | undefined, page: number) => Promise<{ nextToken: string | undefined; items: number }>;

/** `cloudtrail:<eks | event name>`: LookupEvents pages, ingested as CloudTrail records. */
const cloudTrailPages = (run: BackfillRun, source: BackfillSource): PageFetch => {
  const { clients, store, o, summary, fromMs, toMs, settle } = run;
  const name = source.slice('cloudtrail:'.length);
  const attr =
    name === 'eks' || name === 'eks-auth'
      ? { AttributeKey: 'EventSource' as const, AttributeValue: `${name}.amazonaws.com` }
      : { AttributeKey: 'EventName' as const, AttributeValue: name };
  return async (token, pageNo) => {
    const input: LookupEventsCommandInput = {
      LookupAttributes: [attr],
      StartTime: new Date(fromMs),
      EndTime: new Date(toMs),
      MaxResults: 50,
      ...(token ? { NextToken: token } : {}),
    };
    const page = await clients.cloudtrail.send(new LookupEventsCommand(input));
    const bodies = (page.Events ?? []).map((e) => e.CloudTrailEvent).filter((b): b is string => typeof b === 'string');
    if (bodies.length) {
      const s = await ingestCloudTrailEvents(
        bodies.map((body, i) => ({
          itemId: `${source}:${pageNo}:${i}`,
          source: 'cloudtrail-record',
          body,
          receivedAt: 0,
        })),
        store,
        { now: o.now },
      );
      summary.cloudTrailEvents += bodies.length;
      summary.credentials += s.newCredentials;
      settle(source, s);
    }
    return { nextToken: page.NextToken, items: bodies.length };
  };
};

/** `logs:<stream prefix>`: FilterLogEvents pages of the cluster's log group, ingested as subscription payloads. */
const logPages = (run: BackfillRun, source: BackfillSource): PageFetch => {
  const { clients, store, o, summary, fromMs, toMs, settle } = run;
  const prefix = source.slice('logs:'.length);
  const logGroup = `/aws/eks/${o.cluster}/cluster`;
  return async (token, pageNo) => {
    const input: FilterLogEventsCommandInput = {
      logGroupName: logGroup,
      logStreamNamePrefix: prefix,
      startTime: fromMs,
      endTime: toMs,
      ...(token ? { nextToken: token } : {}),
    };
    const page = await clients.logs.send(new FilterLogEventsCommand(input));
    // One payload per stream, as a subscription would deliver them.
    const byStream = new Map<string, CloudWatchLogsPayload>();
    for (const e of page.events ?? []) {
      if (!e.logStreamName || e.message === undefined || e.timestamp === undefined || !e.eventId) continue;
      const p =
        byStream.get(e.logStreamName) ??
        ({
          messageType: 'DATA_MESSAGE',
          owner: o.accountId ?? '',
          logGroup,
          logStream: e.logStreamName,
          subscriptionFilters: [],
          logEvents: [],
        } satisfies CloudWatchLogsPayload);
      p.logEvents.push({ id: e.eventId, timestamp: e.timestamp, message: e.message });
      byStream.set(e.logStreamName, p);
    }
    const payloads = [...byStream.values()];
    const units = batchUnitIds(payloads);
    if (payloads.length) {
      const s = await ingestLogPayloads(
        payloads.map((payload, i) => ({
          itemId: `${source}:${pageNo}:${i}`,
          unitId: units[i] as string,
          source: 'cloudwatch-log-event',
          payload,
          receivedAt: 0,
        })),
        store,
        { now: o.now },
      );
      summary.logEvents += s.recordsIn;
      summary.requestsStored += s.requestsStored;
      settle(source, s);
    }
    return { nextToken: page.nextToken, items: page.events?.length ?? 0 };
  };
};

export const runBackfill = async (
  clients: BackfillClients,
  store: TrailStore,
  o: BackfillOptions,
): Promise<BackfillSummary> => {
  const progress = o.progress ?? silentProgress;
  const { cp, resumed } = loadCheckpoint(o.checkpointPath, o);
  const summary: BackfillSummary = {
    pages: {},
    logEvents: 0,
    cloudTrailEvents: 0,
    accessEntries: 0,
    requestsStored: 0,
    mappingChanges: 0,
    newMappingChanges: 0,
    credentials: 0,
    quarantined: {},
    failedItems: 0,
    resumed,
  };
  const wanted = new Set(o.sources ?? BACKFILL_SOURCES);
  const state = (s: BackfillSource): SourceState => {
    cp.sources[s] ??= { done: false, pages: 0 };
    return cp.sources[s] as SourceState;
  };
  const pageDone = (s: BackfillSource, nextToken: string | undefined): void => {
    const st = state(s);
    st.pages += 1;
    if (nextToken) st.nextToken = nextToken;
    else {
      delete st.nextToken;
      st.done = true;
    }
    summary.pages[s] = (summary.pages[s] ?? 0) + 1;
    saveCheckpoint(o.checkpointPath, cp);
  };
  const fromMs = Date.parse(o.from);
  const toMs = Date.parse(o.to);

  /** One source, page after page from its checkpointed token; `fetch` ingests a page and says what follows. */
  const drain = async (source: BackfillSource, fetch: PageFetch): Promise<void> => {
    for (;;) {
      const st = state(source);
      const { nextToken, items } = await fetch(st.nextToken, st.pages);
      pageDone(source, nextToken);
      progress.tick(items, source);
      if (!nextToken) return;
    }
  };
  const settle = (source: BackfillSource, s: IngestOutcome): void => {
    summary.mappingChanges += s.mappingChanges;
    summary.newMappingChanges += s.newMappingChanges;
    summary.failedItems += s.failedItemIds.length;
    addCounts(summary.quarantined, s.quarantined);
    if (s.failedItemIds.length)
      throw new BackfillError(`${source}: the store failed ${s.failedItemIds.length} items; rerun to resume`);
  };

  const run: BackfillRun = { clients, store, o, summary, fromMs, toMs, settle };
  for (const source of BACKFILL_SOURCES) {
    if (!wanted.has(source) || state(source).done) continue;
    if (source === 'eks:access-entries') {
      const { changes, entries } = await accessEntryChanges(clients.eks, o, new Date(o.now()).toISOString());
      const fresh = await store.putMappingChanges(changes);
      summary.accessEntries += entries;
      summary.mappingChanges += changes.length;
      summary.newMappingChanges += fresh.length;
      pageDone(source, undefined);
      progress.tick(1, `${source}: ${entries} entries`);
      continue;
    }
    await drain(source, source.startsWith('cloudtrail:') ? cloudTrailPages(run, source) : logPages(run, source));
  }
  progress.done('backfill complete');
  return summary;
};
