/**
 * Runs a fleet through a time window and yields, in time order, every raw record the sources would
 * produce (authenticator lines, audit events, CloudTrail records) plus the ground truth of every
 * request. Generation is lazy: memory is bounded by the sessions, token caches and the events still
 * in flight (long-running watches), never by the number of requests.
 */
import type { HumanLink } from '../lib/chain/types.js';
import type { MappingSource } from '../lib/identity/types.js';
import type { AuthenticationMode } from '../lib/sources/types.js';
import {
  type AwsAuthSpec,
  awsAuthData,
  CLUSTER_ADMIN_POLICY,
  EDIT_POLICY,
  type Fleet,
  type SimAccessEntry,
  type SimCluster,
  type SimIamUser,
  type SimNode,
  type SimOidcProvider,
  type SimRole,
  type SimServiceAccount,
  type SimSsoUser,
  VIEW_POLICY,
} from './fleet.js';
import { isoMicros, isoSeconds, US_PER_MS, US_PER_S } from './formats.js';
import {
  type AuditLevel,
  type Authorizer,
  type AuthzResult,
  auditLevel,
  authenticate,
  authorize,
  defaultEntryUsername,
  forbiddenMessage,
  type K8sRequest,
  type K8sUser,
  type MappingState,
  type PolicyContext,
  type StaticMapping,
  type VerifiedIdentity,
} from './model.js';
import { accessKeyId, CloudWatchEventIds, Rng } from './random.js';
import {
  type AuditUser,
  type AuthnLineContext,
  accessDeniedLine,
  accessGrantedLine,
  associateAccessPolicyRecord,
  associateIdentityProviderConfigRecord,
  assumedRoleIdentity,
  assumeRoleForPodIdentityRecord,
  assumeRoleRecord,
  assumeRoleWithSamlRecord,
  assumeRoleWithWebIdentityRecord,
  auditEventLine,
  type CloudTrailRecord,
  createAccessEntryRecord,
  createClusterRecord,
  createPodIdentityAssociationRecord,
  deleteAccessEntryRecord,
  disassociateAccessPolicyRecord,
  iamUserIdentity,
  podIdentityAssumeRoleRecord,
  stsResponseLine,
  type UserIdentity,
  updateAccessEntryRecord,
  updateClusterConfigRecord,
} from './records.js';
import { type Timed, TimedQueue } from './timed-queue.js';
import {
  type ComponentSpec,
  componentObjects,
  meanPeriodS,
  REALISTIC_ANONYMOUS_SHARE,
  REALISTIC_COMPONENTS,
  REALISTIC_HUMAN_SHARE,
  REWATCH_GAP_US,
  realisticRequestsPerSecond,
  type TaskSpec,
  type TrafficMixName,
  WATCH_CLOSE_US,
  WATCH_MAX_S,
  WATCH_MIN_S,
} from './traffic-mix.js';

// -----------------------------------------------------------------------------------------------
// Public types
// -----------------------------------------------------------------------------------------------

export interface ScenarioOptions {
  seed: number;
  requests: number;
  /** ISO start of the window. */
  start: string;
  durationMs: number;
  /** Schedule identity-mapping changes (access entries, aws-auth edits, auth-mode change, role recreation). */
  mappingChanges: boolean;
  /** Accepted for symmetry with toDeliveries; lateness and duplicates are a delivery concern. */
  lateFraction?: number;
  duplicateFraction?: number;
  /** Share of IAM-authenticated requests made with an expired or invalid token. Default 0.01. */
  unauthorizedFraction?: number;
  /** Share of requests that attempt something outside the caller's permissions. Default 0.05. */
  forbiddenFraction?: number;
  /** Add the scripted set pieces that guarantee every interesting case occurs. Default true. */
  scripted?: boolean;
  /** API server TokenReview cache TTL. Default 120 s. */
  tokenCacheTtlMs?: number;
  /**
   * Traffic mix (sim/traffic-mix.ts). Default 'human-heavy'. 'realistic' needs a fleet built with the
   * same mix; there `requests` counts the logged requests of the periodic schedule and of the human
   * stream (the scripted set pieces come on top, as in human-heavy), generation stops once they are
   * reached, and durationMs only places the scripted set pieces and mapping changes: give it
   * realisticDurationMs(fleet, requests) so that the window matches the schedule's rate.
   */
  mix?: TrafficMixName;
}

/**
 * How the API server admitted the caller. Besides the authenticator's mapping sources:
 * - `service-account`: a service-account token, verified by the API server itself;
 * - `anonymous`: no credentials (system:anonymous);
 * - `certificate`: an x509 client certificate signed by the cluster CA (kube-controller-manager,
 *   kube-scheduler): the API server authenticates it itself, so there is no IAM principal, no access key,
 *   no human, no authenticator line and no mapping.
 */
export type TruthMappingSource = MappingSource | 'service-account' | 'anonymous' | 'certificate';

export interface GroundTruth {
  auditID: string;
  cluster: string;
  accountId: string;
  /** requestReceivedTimestamp (µs). */
  at: string;
  actor: string;
  stsArn?: string;
  canonicalArn?: string;
  principalId?: string;
  accessKeyId?: string;
  sessionName?: string;
  human?: {
    identity: string;
    via: HumanLink['via'];
    credentialEventId?: string;
    chain?: string[];
    /** Sessions issued to a pod: which pod of which cluster, through which association. */
    workload?: TruthWorkload;
  };
  mappingSource: TruthMappingSource;
  /** Access-entry principalArn, aws-auth row ARN as written, creator / internal role ARN, or the mapAccounts id. */
  mappingKey?: string;
  username?: string;
  groups: string[];
  impersonated?: { username: string; groups: string[] };
  outcome: 'allow' | 'forbid' | 'authn-failed';
  authorizer: Authorizer;
  /** The authorization.k8s.io/reason annotation, when there is one. */
  reason?: string;
  failedStage?: 'token' | 'sts' | 'unmapped' | 'template' | 'authorization';
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path?: string;
  statusCode: number;
  /** Scripted set pieces name the case they demonstrate. */
  cases?: string[];
}

/** The workload behind a pod's IAM session, as the simulator knows it. */
export interface TruthWorkload {
  kind: 'pod-identity' | 'irsa';
  cluster: string;
  accountId: string;
  namespace: string;
  serviceAccount: string;
  /** Pod Identity names the pod in its session tags; IRSA does not. */
  pod?: string;
  association?: string;
}

export interface LogEmission {
  kind: 'log';
  timeUs: number;
  cluster: string;
  accountId: string;
  region: string;
  logGroup: string;
  logStream: string;
  streamKind: 'authenticator' | 'audit';
  message: string;
  /** CloudWatch event id, assigned in timestamp order per stream. */
  eventId: string;
}

export interface CloudTrailEmission {
  kind: 'cloudtrail';
  timeUs: number;
  accountId: string;
  region: string;
  record: CloudTrailRecord;
}

export interface TruthEmission {
  kind: 'truth';
  timeUs: number;
  truth: GroundTruth;
}

export type Emission = LogEmission | CloudTrailEmission | TruthEmission;

// -----------------------------------------------------------------------------------------------
// Actors and activities
// -----------------------------------------------------------------------------------------------

type ActorKind =
  | 'sso'
  | 'iam-user'
  | 'assume-role'
  | 'ci'
  | 'node'
  | 'service-account'
  | 'eks-internal'
  | 'anonymous'
  | 'partner'
  | 'certificate'
  | 'pod-identity'
  | 'irsa'
  | 'oidc';

interface Activity {
  verb: string;
  resource?: string;
  sub?: string;
  group?: string;
  version?: string;
  /** Namespace; `*` = pick one of the app namespaces; undefined = cluster scope. */
  ns?: string;
  name?: 'pod' | 'deployment' | 'secret' | 'configmap' | 'node' | 'self-node' | 'namespace' | 'daemonset' | 'new';
  /** A literal object name (e.g. aws-auth), overriding `name`. */
  fixedName?: string;
  /** kubectl's fieldManager query parameter for writes. */
  fieldManager?: string;
  path?: string;
  watch?: boolean;
  long?: boolean;
}

interface Actor {
  key: string;
  kind: ActorKind;
  weight: number;
  clusters: SimCluster[];
  ip: string;
  userAgent: string;
  activities: Activity[];
  stretch: Activity[];
  /** Role this actor uses on a cluster (IAM kinds other than iam-user). */
  roleKey?: (c: SimCluster) => string;
  user?: SimIamUser;
  sso?: SimSsoUser;
  node?: SimNode;
  sa?: SimServiceAccount;
  /** Username in the client certificate's CN (kind certificate). */
  certUser?: string;
  /** The one pod whose projected token this service-account actor sends (realistic mix). */
  pod?: PodIdentity;
  /** A pod calling other clusters with an IAM session (EKS Pod Identity, IRSA). */
  workload?: { cluster: SimCluster; namespace: string; serviceAccount: string; pod: string; associationId?: string };
  /** A person of an OIDC identity provider. */
  oidc?: { provider: SimOidcProvider; email: string; groups: string[] };
}

interface PodIdentity {
  name: string;
  uid: string;
  nodeName: string;
  nodeUid: string;
  credentialId: string;
  credentialRotatesUs: number;
}

const APP_NS = ['payments', 'checkout', 'monitoring'];
const APPS: Record<string, string[]> = {
  payments: ['payments-api', 'ledger-worker'],
  checkout: ['checkout-web', 'cart-api'],
  monitoring: ['prometheus', 'grafana'],
  'kube-system': ['coredns', 'aws-node', 'kube-proxy'],
  argocd: ['argocd-server', 'argocd-repo-server'],
  default: ['nginx'],
};

const act = {
  listPods: (ns?: string): Activity => ({ verb: 'list', resource: 'pods', ns }),
  watchPods: (ns?: string): Activity => ({ verb: 'watch', resource: 'pods', ns, watch: true }),
  getPod: (ns = '*'): Activity => ({ verb: 'get', resource: 'pods', ns, name: 'pod' }),
  podLogs: (ns = '*'): Activity => ({ verb: 'get', resource: 'pods', sub: 'log', ns, name: 'pod' }),
  exec: (ns = '*'): Activity => ({ verb: 'create', resource: 'pods', sub: 'exec', ns, name: 'pod', long: true }),
  deletePod: (ns = '*'): Activity => ({ verb: 'delete', resource: 'pods', ns, name: 'pod' }),
  listDeploy: (ns?: string): Activity => ({ verb: 'list', resource: 'deployments', group: 'apps', ns }),
  getDeploy: (ns = '*'): Activity => ({ verb: 'get', resource: 'deployments', group: 'apps', ns, name: 'deployment' }),
  patchDeploy: (ns = '*'): Activity => ({
    verb: 'patch',
    resource: 'deployments',
    group: 'apps',
    ns,
    name: 'deployment',
  }),
  listNamespaces: (): Activity => ({ verb: 'list', resource: 'namespaces' }),
  listNodes: (): Activity => ({ verb: 'list', resource: 'nodes' }),
  getSecret: (ns = '*'): Activity => ({ verb: 'get', resource: 'secrets', ns, name: 'secret' }),
  createConfigMap: (ns = '*'): Activity => ({ verb: 'create', resource: 'configmaps', ns, name: 'new' }),
  deleteNamespace: (): Activity => ({ verb: 'delete', resource: 'namespaces', ns: '*', name: 'namespace' }),
  listCrb: (): Activity => ({ verb: 'list', resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io' }),
  createCrb: (): Activity => ({
    verb: 'create',
    resource: 'clusterrolebindings',
    group: 'rbac.authorization.k8s.io',
    name: 'new',
  }),
  nonResource: (path: string): Activity => ({ verb: 'get', path }),
};

// -----------------------------------------------------------------------------------------------
// State
// -----------------------------------------------------------------------------------------------

interface ClusterState {
  c: SimCluster;
  mode: AuthenticationMode;
  awsAuth?: AwsAuthSpec;
  entries: SimAccessEntry[];
  statics: StaticMapping[];
  /** Per API server: token id -> cache expiry (µs). */
  tokenCache: Map<string, number>[];
}

interface CredSession {
  accessKeyId: string;
  issuedUs: number;
  expiresUs: number;
  sessionName: string;
  human?: GroundTruth['human'];
  principalId: string;
}

/** One request on its way through the API server: what doRequest's stages share. */
interface RequestContext {
  r: ScriptedRequest;
  cs: ClusterState;
  auditID: string;
  /** Index of the API server instance that serves it. */
  apiServer: number;
  req: K8sRequest;
  uri: string;
  /** When the authenticator reviews the token (µs). */
  authnUs: number;
  lineCtx: (timeUs: number) => AuthnLineContext;
  /** The truth fields every outcome of the request shares. */
  truthBase: Pick<
    GroundTruth,
    | 'auditID'
    | 'cluster'
    | 'accountId'
    | 'at'
    | 'actor'
    | 'verb'
    | 'resource'
    | 'subresource'
    | 'namespace'
    | 'name'
    | 'path'
    | 'cases'
  >;
}

/** The caller as the API server authenticated it. */
interface Authenticated {
  username: string;
  groups: string[];
  mappingSource: GroundTruth['mappingSource'];
  mappingKey?: string;
  /** What STS verified, for IAM-authenticated callers only. */
  verified?: VerifiedIdentity;
  human?: GroundTruth['human'];
  /** The access entry that admitted the caller, for access-policy authorization. */
  policy?: PolicyContext;
}

type AuditBodies = { requestObject?: unknown; responseObject?: unknown };

/** What every way of issuing a session needs: the role, when, the record base and the credentials it hands out. */
interface SessionIssue {
  role: SimRole;
  issued: number;
  base: { rng: Rng; timeUs: number; region: string; recipientAccountId: string };
  creds: (sessionName: string) => {
    accessKeyId: string;
    expiresUs: number;
    assumedRoleId: string;
    assumedRoleArn: string;
  };
}

interface IssuedSession {
  sessionName: string;
  human?: GroundTruth['human'];
}

interface ScheduledChange {
  atUs: number;
  apply: () => void;
}

interface ScriptedRequest {
  atUs: number;
  actor: Actor;
  cluster: SimCluster;
  activity: Activity;
  cases: string[];
  badToken?: boolean;
  impersonate?: K8sUser;
  /** Side effect applied when the request is allowed (aws-auth edits). */
  awsAuthEdit?: (spec: AwsAuthSpec) => AwsAuthSpec;
  /** Request and URI built in advance (the realistic schedule), instead of drawn from the activity. */
  prepared?: { req: K8sRequest; uri: string };
  /** A watch that the API server closes this long after it was received (its timeoutSeconds). */
  watchUs?: number;
  /** The EKS audit policy logs nothing for this request (realistic schedule). */
  dropped?: boolean;
}

/** One recurring request of the realistic schedule. */
interface PeriodicTask {
  actor: Actor;
  cluster: SimCluster;
  spec: TaskSpec;
  activity: Activity;
  req: K8sRequest;
  /** Path of the request; the query is added per request. */
  path: string;
  /** Sorted query parameters other than the watch ones. */
  query: string[];
}

const MINUTE_US = 60 * US_PER_S;
const HOUR_US = 60 * MINUTE_US;
/** Emissions of one request never precede the request by more than this: the flush watermark lag. */
const LOOKBACK_US = 60 * US_PER_S;

const STS_ENDPOINT_SINCE_US = Date.parse('2024-11-18T00:00:00Z') * 1000;
const PRINCIPAL_ID_EXTRA_SINCE_US = Date.parse('2023-02-20T00:00:00Z') * 1000;
const ARN_EXTRA_SINCE_US = Date.parse('2022-02-04T00:00:00Z') * 1000;

// -----------------------------------------------------------------------------------------------
// Simulation
// -----------------------------------------------------------------------------------------------

/** What every part of the scenario's plan reads: the fleet, the admin actor, and the window's knobs. */
interface PlanContext {
  f: Fleet;
  admin: Actor;
  sso: (permissionSet: string) => Actor | undefined;
  changes: boolean;
  scripted: boolean;
  window: number;
  short: number;
}

class Simulation {
  private readonly rng: Rng;
  // Pending emissions by time, then insertion order (deterministic).
  private readonly heap = new TimedQueue<Emission>();

  private enqueue(e: Emission): void {
    this.heap.push(e.timeUs, e);
  }
  private readonly states = new Map<string, ClusterState>();
  private readonly roleIds = new Map<string, string>();
  private readonly sessions = new Map<string, CredSession>();
  private readonly tokens = new Map<string, { id: string; mintedUs: number }>();
  private readonly cwIds = new Map<string, CloudWatchEventIds>();
  private readonly actors: Actor[] = [];
  private readonly changes: ScheduledChange[] = [];
  private readonly scripted: ScriptedRequest[] = [];
  private readonly startUs: number;
  private readonly endUs: number;
  private readonly cacheTtlUs: number;
  private readonly unauthorizedFraction: number;
  private readonly forbiddenFraction: number;
  private tokenSeq = 0;
  /** Bumped on every mapping or IAM change, invalidating admission checks. */
  private mappingVersion = 0;
  private readonly admittedCache = new Map<string, { version: number; ok: boolean }>();
  private requestCount = 0;
  private readonly mix: TrafficMixName;

  constructor(
    private readonly fleet: Fleet,
    private readonly opts: ScenarioOptions,
  ) {
    this.mix = opts.mix ?? 'human-heavy';
    if (this.mix === 'realistic' && fleet.mix !== 'realistic') {
      throw new Error("the realistic mix needs a fleet built with mix: 'realistic' (its add-ons and their RBAC)");
    }
    this.rng = new Rng(opts.seed).fork('scenario');
    this.startUs = Date.parse(opts.start) * 1000;
    this.endUs = this.startUs + opts.durationMs * US_PER_MS;
    this.cacheTtlUs = (opts.tokenCacheTtlMs ?? 120_000) * US_PER_MS;
    this.unauthorizedFraction = opts.unauthorizedFraction ?? 0.01;
    this.forbiddenFraction = opts.forbiddenFraction ?? 0.05;
    for (const [k, r] of fleet.roles) this.roleIds.set(k, r.roleId);
    for (const c of fleet.clusters) this.states.set(c.name, this.initialState(c));
    this.buildActors();
  }

  // --- setup --------------------------------------------------------------------------------

  private role(key: string): SimRole {
    const r = this.fleet.roles.get(key);
    if (!r) throw new Error(`unknown role ${key}`);
    return r;
  }

  private initialState(c: SimCluster): ClusterState {
    const statics: StaticMapping[] = [...this.fleet.roles.values()]
      .filter((r) => r.purpose === 'eks-internal')
      .map((r) => ({
        canonicalArn: r.canonicalArn,
        username: r.internalUsername ?? '',
        groups: [],
        source: 'eks-internal',
      }));
    if (c.createdMode === 'CONFIG_MAP') {
      // CONFIG_MAP-era creator: a static MountedFile mapping to kubernetes-admin / system:masters.
      statics.push({
        canonicalArn: this.role(c.creatorRoleKey).canonicalArn,
        username: 'kubernetes-admin',
        groups: ['system:masters'],
        source: 'cluster-creator',
      });
    }
    return {
      c,
      mode: c.createdMode,
      awsAuth: c.awsAuth ? structuredClone(c.awsAuth) : undefined,
      entries: c.accessEntries.map((e) => ({
        ...e,
        kubernetesGroups: [...e.kubernetesGroups],
        policies: [...e.policies],
      })),
      statics,
      tokenCache: c.apiServers.map(() => new Map()),
    };
  }

  private humanIp(): string {
    return `${this.rng.pick(['198.51.100', '203.0.113', '192.0.2'])}.${this.rng.range(2, 254)}`;
  }

  /**
   * Everyone who sends requests, with what they usually do and what they try beyond their rights:
   * people (SSO, IAM users and the roles they assume), automation, what runs in the clusters, EKS
   * itself and anonymous scanners.
   */
  private buildActors(): void {
    this.addSsoActors();
    this.addIamUserActors();
    this.addAutomationActors();
    this.addInClusterActors();
    this.addEksInternalActors();
    this.actors.push({
      key: 'anonymous',
      kind: 'anonymous',
      weight: 0.2,
      clusters: this.fleet.clusters,
      ip: `192.0.2.${this.rng.range(2, 254)}`,
      userAgent: 'Mozilla/5.0 zgrab/0.x',
      activities: [act.listPods('default'), act.nonResource('/api'), act.nonResource('/apis')],
      stretch: [],
    });
    this.buildWorkloadActors();
  }

  private kubectl(os: string): string {
    return `kubectl/v1.30.${this.rng.range(1, 6)} (${os}) kubernetes/${this.rng.hex(7)}`;
  }

  /** People signing in through IAM Identity Center, by permission set. */
  private addSsoActors(): void {
    const f = this.fleet;
    const clusters = f.clusters;
    for (const s of f.ssoUsers) {
      const ps = s.permissionSet;
      const activities =
        ps === 'AdministratorAccess'
          ? [
              act.listPods(),
              act.listPods('*'),
              act.listNamespaces(),
              act.listNodes(),
              act.listDeploy('*'),
              act.patchDeploy(),
              act.listCrb(),
              act.getSecret(),
              act.watchPods('*'),
              act.podLogs(),
            ]
          : ps === 'Developer'
            ? [
                act.listPods('payments'),
                act.getPod('payments'),
                act.podLogs('payments'),
                act.getDeploy('payments'),
                act.patchDeploy('payments'),
                act.watchPods('payments'),
              ]
            : [
                act.listPods('*'),
                act.listDeploy('*'),
                act.listNodes(),
                act.listNamespaces(),
                act.watchPods('*'),
                act.getPod(),
              ];
      const stretch =
        ps === 'AdministratorAccess'
          ? [act.deletePod()]
          : ps === 'Developer'
            ? [act.getSecret('payments'), act.listPods('checkout'), act.deleteNamespace()]
            : [act.getSecret(), act.deletePod(), act.patchDeploy()];
      this.actors.push({
        key: s.key,
        kind: 'sso',
        weight: 3,
        clusters,
        ip: this.humanIp(),
        userAgent: this.kubectl(this.rng.pick(['darwin/arm64', 'linux/amd64', 'windows/amd64'])),
        activities,
        stretch,
        sso: s,
        roleKey: (c) => `sso:${ps}:${c.accountId}`,
      });
    }
  }

  /** IAM users: one mapped directly in aws-auth, the others through the roles they assume (team, operator, break-glass, contractor, cluster creators). */
  private addIamUserActors(): void {
    const f = this.fleet;
    const clusters = f.clusters;
    const users = [...f.users.values()];
    const adminActs = [
      act.listPods('*'),
      act.listDeploy('*'),
      act.patchDeploy(),
      act.listNodes(),
      act.getSecret(),
      act.listCrb(),
    ];
    const user0 = users[0] as SimIamUser;
    this.actors.push({
      key: `iam-user:${user0.name}`,
      kind: 'iam-user',
      weight: 1,
      clusters: clusters.filter((c) => c.awsAuth),
      ip: this.humanIp(),
      userAgent: this.kubectl('linux/amd64'),
      activities: adminActs,
      stretch: [act.deletePod()],
      user: user0,
    });
    const assume = (user: SimIamUser, family: string, weight: number, acts: Activity[], stretch: Activity[]): Actor => {
      const a: Actor = {
        key: `${family}@${user.name}`,
        kind: 'assume-role',
        weight,
        clusters,
        ip: this.humanIp(),
        userAgent: this.kubectl(this.rng.pick(['darwin/arm64', 'linux/amd64'])),
        activities: acts,
        stretch,
        user,
        roleKey: (c) => `${family}:${c.accountId}`,
      };
      this.actors.push(a);
      return a;
    };
    for (const [ui, u] of users.entries()) {
      if (ui === 0) continue;
      assume(u, 'platform-admin', 2, adminActs, [act.deletePod()]);
    }
    const teamActs = [
      act.listPods('payments'),
      act.getDeploy('payments'),
      act.patchDeploy('checkout'),
      act.listPods('checkout'),
    ];
    const teamStretch = [act.listNamespaces(), act.listNodes(), act.getSecret('monitoring')];
    const teamFamilies = [...f.roles.values()]
      .filter((r) => r.purpose === 'team')
      .map((r) => r.key.split(':').slice(0, 2).join(':'));
    for (const [ti, fam] of [...new Set(teamFamilies)].entries()) {
      assume(users[(ti + 1) % users.length] as SimIamUser, fam, 1, teamActs, teamStretch);
    }
    assume(users[2 % users.length] as SimIamUser, 'platform-operator', 0.1, adminActs, []);
    assume(users[1 % users.length] as SimIamUser, 'break-glass', 0, adminActs, []);
    assume(
      users[users.length - 1] as SimIamUser,
      'contractor',
      0,
      [act.listPods('checkout'), act.getPod('checkout')],
      [act.getSecret('checkout')],
    );
    // Creators: each cluster's provisioning role, assumed by its creator user.
    for (const c of clusters) {
      const u = f.users.get(c.creatorUserKey) as SimIamUser;
      const a = assume(u, 'creator', 0.3, [act.listNodes(), act.listPods(), act.listNamespaces()], []);
      a.key = `creator:${c.name}@${u.name}`;
      a.clusters = [c];
    }
  }

  /** CI deploying through its role, and the partner account's auditor admitted by mapAccounts. */
  private addAutomationActors(): void {
    const clusters = this.fleet.clusters;
    this.actors.push({
      key: 'ci:github-actions',
      kind: 'ci',
      weight: 4,
      clusters,
      ip: `198.51.100.${this.rng.range(2, 254)}`,
      userAgent: this.kubectl('linux/amd64'),
      activities: [act.patchDeploy(), act.getDeploy(), act.createConfigMap(), act.listPods('*')],
      stretch: [act.createCrb(), act.deleteNamespace()],
      roleKey: (c) => `deployer:${c.accountId}`,
    });
    this.actors.push({
      key: 'partner:eks-auditor',
      kind: 'partner',
      weight: 0.3,
      clusters: clusters.filter((c) => c.awsAuth?.mapAccounts.length),
      ip: this.humanIp(),
      userAgent: this.kubectl('linux/amd64'),
      activities: [act.listPods('*'), act.listDeploy('*')],
      stretch: [act.getSecret()],
      roleKey: () => 'partner',
    });
  }

  /** What runs in each cluster: kubelets with their node role, and service accounts. */
  private addInClusterActors(): void {
    const clusters = this.fleet.clusters;
    for (const c of clusters) {
      for (const n of c.nodes) {
        this.actors.push({
          key: `node:${n.instanceId}`,
          kind: 'node',
          weight: 1,
          clusters: [c],
          ip: n.privateIp,
          userAgent: `kubelet/v${c.version}.0-eks-${this.rng.hex(7)} (linux/amd64) kubernetes/${this.rng.hex(7)}`,
          activities: [
            { verb: 'patch', resource: 'nodes', sub: 'status', name: 'self-node' },
            { verb: 'get', resource: 'configmaps', ns: '*', name: 'configmap' },
            { verb: 'get', resource: 'secrets', ns: '*', name: 'secret' },
            { verb: 'watch', resource: 'pods', watch: true },
          ],
          stretch: [act.listCrb()],
          node: n,
          roleKey: () => n.roleKey,
        });
      }
      for (const sa of c.serviceAccounts) {
        const acts: Activity[] =
          sa.name === 'coredns'
            ? [
                { verb: 'watch', resource: 'endpoints', watch: true },
                { verb: 'list', resource: 'services' },
                { verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io', version: 'v1' },
              ]
            : sa.name === 'argocd-application-controller'
              ? [act.listDeploy(), act.patchDeploy(), act.watchPods(), act.getDeploy()]
              : [
                  act.listPods(sa.namespace),
                  { verb: 'get', resource: 'configmaps', ns: sa.namespace, name: 'configmap' },
                ];
        this.actors.push({
          key: `sa:${c.name}:${sa.namespace}/${sa.name}`,
          kind: 'service-account',
          weight: 2,
          clusters: [c],
          ip: `10.${this.rng.range(0, 31)}.${this.rng.range(0, 255)}.${this.rng.range(2, 254)}`,
          userAgent: `${sa.name}/v0.0.0 (linux/amd64) kubernetes/$Format`,
          activities: acts,
          stretch: sa.name === 'app-reader' ? [act.listPods('kube-system')] : acts,
          sa,
        });
      }
    }
  }

  /** EKS's own node and add-on managers (the Fargate manager sends nothing here). */
  private addEksInternalActors(): void {
    const f = this.fleet;
    const clusters = f.clusters;
    for (const r of f.roles.values()) {
      if (r.purpose !== 'eks-internal' || r.internalUsername === 'eks:fargate-manager') continue;
      const addon = r.internalUsername === 'eks:addon-manager';
      this.actors.push({
        key: `eks-internal:${r.internalUsername}`,
        kind: 'eks-internal',
        weight: 1,
        clusters,
        ip: `10.${this.rng.range(0, 31)}.${this.rng.range(0, 255)}.${this.rng.range(2, 254)}`,
        userAgent: addon
          ? 'eks-addon-manager/v0.0.0 (linux/amd64) kubernetes/$Format'
          : 'eks-node-manager/v0.0.0 (linux/amd64) kubernetes/$Format',
        activities: addon
          ? [
              { verb: 'get', resource: 'daemonsets', group: 'apps', ns: 'kube-system', name: 'daemonset' },
              { verb: 'patch', resource: 'daemonsets', group: 'apps', ns: 'kube-system', name: 'daemonset' },
              { verb: 'get', resource: 'configmaps', ns: 'kube-system', name: 'configmap' },
            ]
          : [act.listNodes(), { verb: 'get', resource: 'nodes', name: 'node' }],
        stretch: [],
        roleKey: () => r.key,
      });
    }
  }

  /**
   * Pods that call another cluster with IAM sessions (EKS Pod Identity, IRSA) and people of an OIDC
   * identity provider (sim/fleet.ts addWorkloadIdentities). Drawn from a fork: the other actors stay as
   * they were.
   */
  private buildWorkloadActors(): void {
    const f = this.fleet;
    const rng = this.rng.fork('workload-actors');
    const byName = (name: string) => f.clusters.find((c) => c.name === name);
    const podUa = 'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 kubectl-in-cluster/v1.30';
    const pi = f.workloads.podIdentity;
    const piSource = pi ? byName(pi.sourceCluster) : undefined;
    const piTarget = pi ? byName(pi.targetCluster) : undefined;
    if (pi && piSource && piTarget) {
      for (const pod of pi.pods) {
        this.actors.push({
          key: `pod-identity:${pi.sourceCluster}/${pi.namespace}/${pod}`,
          kind: 'pod-identity',
          weight: 0.6,
          clusters: [piTarget],
          ip: `10.${rng.range(0, 31)}.${rng.range(0, 255)}.${rng.range(2, 254)}`,
          userAgent: podUa,
          activities: [act.patchDeploy('checkout'), act.getDeploy('checkout'), act.listPods('checkout')],
          stretch: [act.getSecret('payments')],
          roleKey: () => pi.roleKey,
          workload: {
            cluster: piSource,
            namespace: pi.namespace,
            serviceAccount: pi.serviceAccount,
            pod,
            associationId: pi.associationId,
          },
        });
      }
    }
    const irsa = f.workloads.irsa;
    const irsaSource = irsa ? byName(irsa.sourceCluster) : undefined;
    const irsaTarget = irsa ? byName(irsa.targetCluster) : undefined;
    if (irsa && irsaSource && irsaTarget) {
      this.actors.push({
        key: `irsa:${irsa.sourceCluster}/${irsa.namespace}/${irsa.serviceAccount}`,
        kind: 'irsa',
        weight: 0.6,
        clusters: [irsaTarget],
        ip: `10.${rng.range(0, 31)}.${rng.range(0, 255)}.${rng.range(2, 254)}`,
        userAgent: 'cost-exporter/1.4.2 (linux/amd64) kubernetes/$Format',
        activities: [act.listPods('*'), act.listDeploy('*'), act.listNodes()],
        stretch: [act.getSecret()],
        roleKey: () => irsa.roleKey,
        workload: {
          cluster: irsaSource,
          namespace: irsa.namespace,
          serviceAccount: irsa.serviceAccount,
          pod: `cost-exporter-${rng.hex(10)}-${rng.fromAlphabet('bcdfghjklmnpqrstvwxz2456789', 5)}`,
        },
      });
    }
    for (const c of f.clusters) {
      for (const provider of c.identityProviders) {
        for (const u of provider.users) {
          this.actors.push({
            key: `oidc:${provider.name}:${u.email}`,
            kind: 'oidc',
            weight: 0.5,
            clusters: [c],
            ip: this.humanIp(),
            userAgent: `kubectl/v1.31.${rng.range(1, 4)} (darwin/arm64) kubernetes/${rng.hex(7)}`,
            activities: [act.listPods('*'), act.getDeploy(), act.listNodes(), act.podLogs()],
            stretch: [act.getSecret(), act.deletePod()],
            oidc: { provider, email: u.email, groups: u.groups },
          });
        }
      }
    }
  }

  // --- emission helpers ---------------------------------------------------------------------

  private logGroup(c: SimCluster): string {
    return `/aws/eks/${c.name}/cluster`;
  }

  private emitLog(
    c: SimCluster,
    apiServer: number,
    streamKind: 'authenticator' | 'audit',
    timeUs: number,
    message: string,
  ): void {
    const s = c.apiServers[apiServer] ?? c.apiServers[0]!;
    this.enqueue({
      kind: 'log',
      timeUs,
      cluster: c.name,
      accountId: c.accountId,
      region: c.region,
      logGroup: this.logGroup(c),
      logStream: streamKind === 'authenticator' ? s.authenticatorStream : s.auditStream,
      streamKind,
      message,
      eventId: '',
    });
  }

  private emitTrail(record: CloudTrailRecord, timeUs: number): void {
    this.enqueue({
      kind: 'cloudtrail',
      timeUs,
      accountId: record.recipientAccountId,
      region: record.awsRegion,
      record,
    });
  }

  /** Pops everything due before the watermark, assigning CloudWatch ids in timestamp order. */
  private *flush(watermarkUs: number): Generator<Emission> {
    while (this.heap.size && (this.heap.peekAt() as number) <= watermarkUs) {
      const e = (this.heap.pop() as Timed<Emission>).value;
      if (e.kind === 'log') {
        let ids = this.cwIds.get(e.logStream);
        if (!ids) {
          ids = new CloudWatchEventIds(new Rng(this.opts.seed).fork(`cw:${e.logStream}`));
          this.cwIds.set(e.logStream, ids);
        }
        e.eventId = ids.next(Math.floor(e.timeUs / US_PER_MS));
      }
      yield e;
    }
  }

  // --- credentials --------------------------------------------------------------------------

  private currentRoleId(key: string): string {
    return this.roleIds.get(key) ?? this.role(key).roleId;
  }

  /**
   * The session an actor holds for a role at time t, issuing a new one (with its CloudTrail
   * AssumeRole* record, shortly before first use) when none is valid.
   */
  private session(actor: Actor, roleKey: string, t: number): CredSession {
    const sKey = `${actor.key}|${roleKey}`;
    const existing = this.sessions.get(sKey);
    const maxAge = actor.kind === 'ci' ? 15 * MINUTE_US : Number.POSITIVE_INFINITY;
    if (existing && existing.expiresUs > t + MINUTE_US && t - existing.issuedUs < maxAge) return existing;
    const role = this.role(roleKey);
    const roleId = this.currentRoleId(roleKey);
    const issued = t - this.rng.range(2, 20) * US_PER_S;
    const key = accessKeyId(this.rng, 'ASIA', role.accountId);
    const durationS = actor.kind === 'sso' ? 8 * 3600 : actor.kind === 'node' ? 6 * 3600 : 3600;
    const expiresUs = issued + durationS * US_PER_S;
    const base = { rng: this.rng, timeUs: issued, region: 'us-east-1', recipientAccountId: role.accountId };
    const creds = (name: string) => ({
      accessKeyId: key,
      expiresUs,
      assumedRoleId: `${roleId}:${name}`,
      assumedRoleArn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${name}`,
    });
    const issue: SessionIssue = { role, issued, base, creds };
    const { sessionName, human } = this.issueSession(actor, issue);
    const s: CredSession = { accessKeyId: key, issuedUs: issued, expiresUs, sessionName, human, principalId: roleId };
    this.sessions.set(sKey, s);
    return s;
  }

  /** The session name of a new session and the human behind it, with the CloudTrail record(s) that issued it. */
  private issueSession(actor: Actor, issue: SessionIssue): IssuedSession {
    switch (actor.kind) {
      case 'sso':
        return this.issueSsoSession(actor, issue);
      case 'assume-role':
        return this.issueAssumedRoleSession(actor, issue);
      case 'ci':
        return this.issueCiSession(actor, issue);
      case 'node':
        return this.issueNodeSession(actor, issue);
      case 'pod-identity':
        return this.issuePodIdentitySession(actor, issue);
      case 'irsa':
        return this.issueIrsaSession(actor, issue);
      case 'eks-internal':
        // AWS-owned account: its STS calls never reach the customer's CloudTrail.
        return {
          sessionName: this.rng.chance(0.5)
            ? 'EKSAuthTokenSession'
            : String(this.rng.range(1_000_000_000, 1_999_999_999) * 1_000_000_000),
        };
      default:
        // Partner account: outside the organisation's trails.
        return { sessionName: 'eks-audit' };
    }
  }

  /** An Identity Center sign-in: AssumeRoleWithSAML with the person's e-mail as session name. */
  private issueSsoSession(actor: Actor, { role, issued, base, creds }: SessionIssue): IssuedSession {
    const sso = actor.sso as SimSsoUser;
    const sessionName = sso.email;
    const samlProviderArn = `arn:aws:iam::${role.accountId}:saml-provider/${this.fleet.samlProviderName}`;
    const rec = assumeRoleWithSamlRecord(
      {
        ...base,
        userIdentity: {
          type: 'SAMLUser',
          principalId: `Qm9ndXNOYW1lUXVhbGlmaWVy:${sso.email}`,
          userName: sso.email,
          identityProvider: samlProviderArn,
        },
        sourceIPAddress: actor.ip,
        userAgent: 'aws-internal/3 aws-sdk-java/1.12.772',
      },
      {
        roleArn: role.arn,
        roleAccountId: role.accountId,
        sessionName,
        samlProviderArn,
        subject: sso.email,
        nameQualifier: 'Qm9ndXNOYW1lUXVhbGlmaWVy',
        issuer: 'https://portal.sso.us-east-1.amazonaws.com/saml/assertion/MDEyMzQ1Njc4OTAx',
      },
      creds(sessionName),
    );
    this.emitTrail(rec, issued);
    return { sessionName, human: { identity: sso.email, via: 'sso-session', credentialEventId: rec.eventID } };
  }

  /** An IAM user assuming a role with its own key (AssumeRole, possibly across accounts). */
  private issueAssumedRoleSession(actor: Actor, { role, issued, base, creds }: SessionIssue): IssuedSession {
    const u = actor.user as SimIamUser;
    const sessionName = u.name;
    const rec = assumeRoleRecord(
      {
        ...base,
        userIdentity: iamUserIdentity({
          accountId: u.accountId,
          userId: u.userId,
          arn: u.arn,
          userName: u.name,
          accessKeyId: u.accessKeyId,
        }),
        sourceIPAddress: actor.ip,
        userAgent:
          'aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 cfg/retry-mode#standard md/command#sts.assume-role',
      },
      {
        roleArn: role.arn,
        roleAccountId: role.accountId,
        sessionName,
        durationSeconds: 3600,
        crossAccount: u.accountId !== role.accountId,
      },
      creds(sessionName),
    );
    this.emitTrail(rec, issued);
    // `via` names what kind of identity `identity` is (HumanLink): here an IAM user ARN. That it
    // was found through an AssumeRole call is what credentialEventId says.
    return { sessionName, human: { identity: u.arn, via: 'iam-user', credentialEventId: rec.eventID } };
  }

  /** A GitHub Actions run: web identity to the runner role, then AssumeRole to the deployer role. */
  private issueCiSession(actor: Actor, { role, issued, base, creds }: SessionIssue): IssuedSession {
    const runner = this.role('ci-runner');
    const runnerKey = accessKeyId(this.rng, 'ASIA', runner.accountId);
    const runnerIssued = issued - this.rng.range(5, 30) * US_PER_S;
    const providerArn = `arn:aws:iam::${runner.accountId}:oidc-provider/token.actions.githubusercontent.com`;
    const runnerSession = 'GitHubActions';
    const runnerArn = `arn:aws:sts::${runner.accountId}:assumed-role/${runner.name}/${runnerSession}`;
    const web = assumeRoleWithWebIdentityRecord(
      {
        rng: this.rng,
        timeUs: runnerIssued,
        region: 'us-east-1',
        recipientAccountId: runner.accountId,
        userIdentity: {
          type: 'WebIdentityUser',
          principalId: `${providerArn}:sts.amazonaws.com:${this.fleet.ciSubject}`,
          userName: this.fleet.ciSubject,
          identityProvider: providerArn,
        },
        sourceIPAddress: actor.ip,
        userAgent:
          'aws-sdk-js/3.637.0 ua/2.0 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.17.0 api/sts#3.637.0 configure-aws-credentials-for-github-actions',
      },
      {
        roleArn: runner.arn,
        roleAccountId: runner.accountId,
        sessionName: runnerSession,
        providerArn,
        subject: this.fleet.ciSubject,
      },
      {
        accessKeyId: runnerKey,
        expiresUs: runnerIssued + HOUR_US,
        assumedRoleId: `${this.currentRoleId('ci-runner')}:${runnerSession}`,
        assumedRoleArn: runnerArn,
      },
    );
    this.emitTrail(web, runnerIssued);
    const sessionName = `gha-${this.rng.range(1_000_000_000, 9_999_999_999)}`;
    const rec = assumeRoleRecord(
      {
        ...base,
        userIdentity: assumedRoleIdentity({
          accountId: runner.accountId,
          roleId: this.currentRoleId('ci-runner'),
          roleName: runner.name,
          roleArnWithPath: runner.arn,
          sessionName: runnerSession,
          accessKeyId: runnerKey,
          sessionIssuedUs: runnerIssued,
        }),
        sourceIPAddress: actor.ip,
        userAgent:
          'aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.11.9 md/command#sts.assume-role',
      },
      { roleArn: role.arn, roleAccountId: role.accountId, sessionName, durationSeconds: 3600, crossAccount: true },
      creds(sessionName),
    );
    this.emitTrail(rec, issued);
    // The person-or-workload behind the chain is the OIDC subject of the GitHub workflow (it
    // received the runner's key); the runner session is the intermediate hop (HumanLink.chain).
    return {
      sessionName,
      human: {
        identity: this.fleet.ciSubject,
        via: 'web-identity',
        credentialEventId: rec.eventID,
        chain: [runnerArn],
      },
    };
  }

  /** A node's instance profile: EC2 assumes the node role for the instance. */
  private issueNodeSession(actor: Actor, { role, issued, base, creds }: SessionIssue): IssuedSession {
    const node = actor.node as SimNode;
    const sessionName = node.sessionName ?? node.instanceId;
    const service = node.issuer ?? 'ec2.amazonaws.com';
    const rec = assumeRoleRecord(
      {
        ...base,
        userIdentity: { type: 'AWSService', invokedBy: service },
        sourceIPAddress: service,
        userAgent: service,
      },
      {
        roleArn: role.arn,
        roleAccountId: role.accountId,
        sessionName,
        durationSeconds: 21600,
        crossAccount: false,
      },
      creds(sessionName),
    );
    this.emitTrail(rec, issued);
    return { sessionName };
  }

  /** A pod's EKS Pod Identity session: the agent asks EKS Auth, then EKS assumes the role with the pod's tags. */
  private issuePodIdentitySession(actor: Actor, { role, issued, base, creds }: SessionIssue): IssuedSession {
    const w = actor.workload as NonNullable<Actor['workload']>;
    const src = w.cluster;
    // The Pod Identity Agent on the pod's node asks EKS Auth (the record names the cluster and the
    // node only), then EKS assumes the role with the pod's session tags (docs/formats.md §3.5).
    const nodeActor = this.actors.find((a) => a.kind === 'node' && a.clusters[0] === src && !a.node?.entryType);
    if (nodeActor) {
      const nodeRole = this.role((nodeActor.roleKey as (c: SimCluster) => string)(src));
      const nodeSession = this.session(nodeActor, nodeRole.key, issued - 2 * US_PER_S);
      this.emitTrail(
        assumeRoleForPodIdentityRecord(
          {
            rng: this.rng,
            timeUs: issued - US_PER_S,
            region: src.region,
            recipientAccountId: src.accountId,
            userIdentity: assumedRoleIdentity({
              accountId: nodeRole.accountId,
              roleId: this.currentRoleId(nodeRole.key),
              roleName: nodeRole.name,
              roleArnWithPath: nodeRole.arn,
              sessionName: nodeSession.sessionName,
              accessKeyId: nodeSession.accessKeyId,
              sessionIssuedUs: nodeSession.issuedUs,
            }),
            sourceIPAddress: nodeActor.ip,
            userAgent: 'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/eksauth#1.4.0',
          },
          src.name,
        ),
        issued - US_PER_S,
      );
    }
    // `eks-<cluster cut to 10>-<pod>-<uuid>`, the pod cut so the name fits STS's 64 characters.
    const uuid = this.rng.uuid();
    const room = 64 - `eks-${src.name.slice(0, 10)}--${uuid}`.length;
    const sessionName = `eks-${src.name.slice(0, 10)}-${w.pod.slice(0, room)}-${uuid}`;
    const rec = podIdentityAssumeRoleRecord(
      {
        ...base,
        region: src.region,
        userIdentity: { type: 'AWSService', invokedBy: 'pods.eks.amazonaws.com' },
        sourceIPAddress: 'pods.eks.amazonaws.com',
        userAgent: 'pods.eks.amazonaws.com',
      },
      {
        roleArn: role.arn,
        roleAccountId: role.accountId,
        sessionName,
        tags: {
          'eks-cluster-arn': src.arn,
          'eks-cluster-name': src.name,
          'kubernetes-namespace': w.namespace,
          'kubernetes-service-account': w.serviceAccount,
          'kubernetes-pod-name': w.pod,
          'kubernetes-pod-uid': this.rng.uuid(),
        },
      },
      creds(sessionName),
    );
    this.emitTrail(rec, issued);
    return {
      sessionName,
      human: {
        identity: `serviceaccount:${src.accountId}/${src.name}/${w.namespace}/${w.serviceAccount}`,
        via: 'pod-identity',
        credentialEventId: rec.eventID,
        workload: {
          kind: 'pod-identity',
          cluster: src.name,
          accountId: src.accountId,
          namespace: w.namespace,
          serviceAccount: w.serviceAccount,
          pod: w.pod,
          ...(w.associationId ? { association: w.associationId } : {}),
        },
      },
    };
  }

  /** A pod's IRSA session: AssumeRoleWithWebIdentity with the service account token of its cluster's issuer. */
  private issueIrsaSession(actor: Actor, { role, issued, base, creds }: SessionIssue): IssuedSession {
    const w = actor.workload as NonNullable<Actor['workload']>;
    const src = w.cluster;
    const issuerHost = src.oidcIssuer.replace(/^https:\/\//, '');
    const providerArn = `arn:aws:iam::${role.accountId}:oidc-provider/${issuerHost}`;
    const subject = `system:serviceaccount:${w.namespace}:${w.serviceAccount}`;
    const sessionName = `botocore-session-${Math.floor(issued / US_PER_S)}`;
    const rec = assumeRoleWithWebIdentityRecord(
      {
        ...base,
        region: src.region,
        userIdentity: {
          type: 'WebIdentityUser',
          principalId: `${providerArn}:sts.amazonaws.com:${subject}`,
          userName: subject,
          identityProvider: providerArn,
        },
        sourceIPAddress: actor.ip,
        userAgent: 'Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.4',
      },
      { roleArn: role.arn, roleAccountId: role.accountId, sessionName, providerArn, subject },
      creds(sessionName),
    );
    this.emitTrail(rec, issued);
    return {
      sessionName,
      human: {
        identity: `serviceaccount:${src.accountId}/${src.name}/${w.namespace}/${w.serviceAccount}`,
        via: 'irsa',
        credentialEventId: rec.eventID,
        workload: {
          kind: 'irsa',
          cluster: src.name,
          accountId: src.accountId,
          namespace: w.namespace,
          serviceAccount: w.serviceAccount,
        },
      },
    };
  }

  /** What the token proves about the caller, or undefined for callers that do not use IAM. */
  private verified(
    actor: Actor,
    c: SimCluster,
    t: number,
  ): { id: VerifiedIdentity; human?: GroundTruth['human'] } | undefined {
    if (
      actor.kind === 'service-account' ||
      actor.kind === 'anonymous' ||
      actor.kind === 'certificate' ||
      actor.kind === 'oidc'
    )
      return undefined;
    if (actor.kind === 'iam-user') {
      const u = actor.user as SimIamUser;
      return {
        id: {
          type: 'user',
          accountId: u.accountId,
          stsArn: u.arn,
          canonicalArn: u.arn,
          principalId: u.userId,
          sessionName: '',
          accessKeyId: u.accessKeyId,
        },
        human: { identity: u.arn, via: 'iam-user' },
      };
    }
    const roleKey = (actor.roleKey as (c: SimCluster) => string)(c);
    const role = this.role(roleKey);
    const s = this.session(actor, roleKey, t);
    return {
      id: {
        type: 'assumed-role',
        accountId: role.accountId,
        stsArn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${s.sessionName}`,
        canonicalArn: role.canonicalArn,
        principalId: this.currentRoleId(roleKey),
        sessionName: s.sessionName,
        accessKeyId: s.accessKeyId,
        roleName: role.name,
        ec2PrivateDnsName: actor.node?.privateDnsName,
      },
      human: s.human,
    };
  }

  private mappingState(cs: ClusterState): MappingState {
    return { mode: cs.mode, awsAuth: cs.awsAuth, entries: cs.entries };
  }

  /** Would this actor be admitted to this cluster right now (no side effects)? Cached per mapping version. */
  private admitted(actor: Actor, c: SimCluster, t: number): boolean {
    if (
      actor.kind === 'service-account' ||
      actor.kind === 'anonymous' ||
      actor.kind === 'certificate' ||
      actor.kind === 'oidc'
    )
      return true;
    const cacheKey = `${actor.key}|${c.name}`;
    const hit = this.admittedCache.get(cacheKey);
    if (hit && hit.version === this.mappingVersion) return hit.ok;
    const ok = this.computeAdmitted(actor, c, t);
    this.admittedCache.set(cacheKey, { version: this.mappingVersion, ok });
    return ok;
  }

  private computeAdmitted(actor: Actor, c: SimCluster, t: number): boolean {
    const cs = this.states.get(c.name) as ClusterState;
    let id: VerifiedIdentity;
    if (actor.kind === 'iam-user') {
      const u = actor.user as SimIamUser;
      id = {
        type: 'user',
        accountId: u.accountId,
        stsArn: u.arn,
        canonicalArn: u.arn,
        principalId: u.userId,
        sessionName: '',
        accessKeyId: u.accessKeyId,
      };
    } else {
      const roleKey = (actor.roleKey as (c: SimCluster) => string)(c);
      const role = this.role(roleKey);
      const session =
        actor.node?.sessionName ?? actor.node?.instanceId ?? actor.sso?.email ?? actor.user?.name ?? 'probe';
      id = {
        type: 'assumed-role',
        accountId: role.accountId,
        stsArn: '',
        canonicalArn: role.canonicalArn,
        principalId: this.currentRoleId(roleKey),
        sessionName: session,
        accessKeyId: '',
        roleName: role.name,
        ec2PrivateDnsName: actor.node?.privateDnsName,
      };
    }
    return authenticate(id, this.mappingState(cs), cs.statics, t).ok;
  }

  // --- requests -----------------------------------------------------------------------------

  private requestFor(a: Activity, actor: Actor, c: SimCluster): { req: K8sRequest; uri: string } {
    const ns = a.ns === '*' ? this.rng.pick(actor.sa ? [actor.sa.namespace] : APP_NS) : a.ns;
    if (a.path !== undefined) {
      return { req: { verb: a.verb, apiGroup: '', apiVersion: '', path: a.path }, uri: a.path };
    }
    const apps = APPS[ns ?? 'default'] ?? ['app'];
    let name: string | undefined;
    let reqNs = ns;
    switch (a.name) {
      case 'pod':
        name = `${this.rng.pick(apps)}-${this.rng.hex(10)}-${this.rng.fromAlphabet('bcdfghjklmnpqrstvwxz2456789', 5)}`;
        break;
      case 'deployment':
        name = this.rng.pick(apps);
        break;
      case 'daemonset':
        name = this.rng.pick(['aws-node', 'kube-proxy']);
        break;
      case 'secret':
        name = this.rng.pick([`${this.rng.pick(apps)}-db-credentials`, `${this.rng.pick(apps)}-tls`]);
        break;
      case 'configmap':
        name = this.rng.pick(['kube-root-ca.crt', `${this.rng.pick(apps)}-config`]);
        break;
      case 'node':
        name = this.rng.pick(c.nodes).privateDnsName;
        break;
      case 'self-node':
        name = actor.node?.privateDnsName ?? this.rng.pick(c.nodes).privateDnsName;
        break;
      case 'namespace':
        name = ns;
        break;
      case 'new':
        name = `${this.rng.pick(apps)}-release-${this.rng.hex(5)}`;
        break;
    }
    if (a.fixedName) name = a.fixedName;
    if (a.resource === 'namespaces') reqNs = name;
    const group = a.group ?? '';
    const version = a.version ?? 'v1';
    const req: K8sRequest = {
      verb: a.verb,
      resource: a.resource,
      subresource: a.sub,
      apiGroup: group,
      apiVersion: version,
      namespace: reqNs,
      name: a.verb === 'create' && !a.sub ? undefined : name,
    };
    let uri = group ? `/apis/${group}/${version}` : '/api/v1';
    if (reqNs && a.resource !== 'namespaces') uri += `/namespaces/${reqNs}`;
    uri += `/${a.resource}`;
    if (req.name) uri += `/${req.name}`;
    if (a.sub) uri += `/${a.sub}`;
    if (a.watch) {
      uri += `?allowWatchBookmarks=true&resourceVersion=${this.rng.range(100000, 9999999)}&timeout=${this.rng.range(5, 9)}m${this.rng.range(0, 59)}s&timeoutSeconds=${this.rng.range(300, 599)}&watch=true`;
    } else if (a.verb === 'list') {
      uri +=
        actor.kind === 'node' ? `?fieldSelector=spec.nodeName%3D${actor.node?.privateDnsName}&limit=500` : '?limit=500';
    } else if (a.sub === 'exec') {
      uri += '?command=sh&container=app&stdin=true&stdout=true&tty=true';
    } else if (a.sub === 'log') {
      uri += '?container=app&tailLines=100';
    } else if (a.verb === 'patch') {
      uri += actor.kind === 'node' ? '' : `?fieldManager=${a.fieldManager ?? 'kubectl-patch'}`;
    } else if (a.verb === 'create') {
      uri += `?fieldManager=${a.fieldManager ?? 'kubectl-client-side-apply'}&fieldValidation=Strict`;
    }
    return { req, uri };
  }

  private pickActor(): Actor {
    // Actors with no cluster to go to (e.g. no cluster maps the partner account) stay idle.
    return this.rng.weighted(
      this.actors.filter((a) => a.weight > 0 && a.clusters.length > 0).map((a) => [a, a.weight] as const),
    );
  }

  private randomRequest(t: number): ScriptedRequest {
    return this.randomRequestBy(this.pickActor(), t);
  }

  /** One of the actor's activities on a cluster it is admitted to (now and then a forbidden one or a bad token). */
  private randomRequestBy(actor: Actor, t: number): ScriptedRequest {
    const admitted = actor.clusters.filter((c) => this.admitted(actor, c, t));
    const pool = admitted.length && this.rng.chance(0.97) ? admitted : actor.clusters;
    const cluster = this.rng.pick(pool.length ? pool : this.fleet.clusters);
    const stretch = actor.stretch.length > 0 && this.rng.chance(this.forbiddenFraction);
    const activity = this.rng.pick(stretch ? actor.stretch : actor.activities);
    const iam = !['service-account', 'anonymous', 'certificate', 'oidc'].includes(actor.kind);
    return {
      atUs: t,
      actor,
      cluster,
      activity,
      cases: [],
      badToken: iam && this.rng.chance(this.unauthorizedFraction),
    };
  }

  private k8sUserBlock(
    actor: Actor,
    v: VerifiedIdentity | undefined,
    username: string,
    groups: string[],
    c: SimCluster,
    t: number,
  ): AuditUser {
    // Client certificates carry a CN and organisations only: no uid, no extra. The API server's OIDC
    // authenticator sets no extra either (docs/formats.md §2.8).
    if (actor.kind === 'anonymous' || actor.kind === 'certificate' || actor.kind === 'oidc')
      return { username, groups };
    if (actor.kind === 'service-account' && actor.pod) return this.podUserBlock(actor, actor.pod, username, groups, t);
    if (actor.kind === 'service-account') {
      const sa = actor.sa as SimServiceAccount;
      const node = this.rng.pick(c.nodes);
      return {
        username,
        uid: sa.uid,
        groups,
        extra: {
          'authentication.kubernetes.io/credential-id': [`JTI=${this.rng.uuid()}`],
          'authentication.kubernetes.io/node-name': [node.privateDnsName],
          'authentication.kubernetes.io/node-uid': [this.rng.uuid()],
          'authentication.kubernetes.io/pod-name': [
            `${sa.name}-${this.rng.hex(10)}-${this.rng.fromAlphabet('bcdfghjklmnpqrstvwxz2456789', 5)}`,
          ],
          'authentication.kubernetes.io/pod-uid': [this.rng.uuid()],
        },
      };
    }
    const id = v as VerifiedIdentity;
    const extra: Record<string, string[]> = { accessKeyId: [id.accessKeyId] };
    // user.extra keys arrived release by release (docs/formats.md §1.7): emit what that era's authenticator wrote.
    if (this.startUs >= ARN_EXTRA_SINCE_US) {
      extra['arn'] = [id.stsArn];
      extra['canonicalArn'] = [id.canonicalArn];
      extra['sessionName'] = [id.sessionName];
    }
    if (this.startUs >= PRINCIPAL_ID_EXTRA_SINCE_US) extra['principalId'] = [id.principalId];
    return { username, uid: `aws-iam-authenticator:${id.accountId}:${id.principalId}`, groups, extra };
  }

  /** A bound service-account token as the pod's kubelet mounts it: the same pod and node until it is refreshed. */
  private podUserBlock(actor: Actor, pod: PodIdentity, username: string, groups: string[], t: number): AuditUser {
    if (t >= pod.credentialRotatesUs) {
      // The kubelet refreshes a projected token at 80 % of its one-hour lifetime; the new token has a new JTI.
      pod.credentialId = `JTI=${this.rng.uuid()}`;
      pod.credentialRotatesUs = t + 48 * MINUTE_US;
    }
    return {
      username,
      uid: (actor.sa as SimServiceAccount).uid,
      groups,
      extra: {
        'authentication.kubernetes.io/credential-id': [pod.credentialId],
        'authentication.kubernetes.io/node-name': [pod.nodeName],
        'authentication.kubernetes.io/node-uid': [pod.nodeUid],
        'authentication.kubernetes.io/pod-name': [pod.name],
        'authentication.kubernetes.io/pod-uid': [pod.uid],
      },
    };
  }

  private statusCode(req: K8sRequest, allowed: boolean): number {
    if (!allowed) return 403;
    if (req.subresource === 'exec') return 101;
    return req.verb === 'create' ? 201 : 200;
  }

  private bodies(req: K8sRequest, t: number, c: SimCluster): { requestObject?: unknown; responseObject?: unknown } {
    const meta = (kind: string, apiVersion: string) => ({
      kind,
      apiVersion,
      metadata: {
        name: req.name,
        namespace: req.namespace,
        uid: this.rng.uuid(),
        resourceVersion: String(this.rng.range(1_000_000, 99_999_999)),
        creationTimestamp: isoSeconds(c.createdAtUs + this.rng.range(1, 100) * HOUR_US),
      },
    });
    if (req.verb === 'patch' && req.resource === 'deployments') {
      return {
        requestObject: {
          spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': isoSeconds(t) } } } },
        },
        responseObject: {
          ...meta('Deployment', 'apps/v1'),
          spec: { replicas: this.rng.range(2, 6) },
          status: { observedGeneration: this.rng.range(2, 90) },
        },
      };
    }
    if (req.verb === 'patch' && req.resource === 'daemonsets') {
      return {
        requestObject: {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    name: 'aws-node',
                    image: `602401143452.dkr.ecr.${c.region}.amazonaws.com/amazon-k8s-cni:v1.18.${this.rng.range(1, 5)}-eksbuild.1`,
                  },
                ],
              },
            },
          },
        },
        responseObject: { ...meta('DaemonSet', 'apps/v1'), status: { numberReady: c.nodes.length } },
      };
    }
    if (req.verb === 'create' && req.resource === 'configmaps') {
      const name = `release-${this.rng.hex(6)}`;
      const body = {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: { name, namespace: req.namespace },
        data: { version: `1.${this.rng.range(0, 40)}.${this.rng.range(0, 9)}` },
      };
      return {
        requestObject: body,
        responseObject: {
          ...body,
          metadata: {
            ...body.metadata,
            uid: this.rng.uuid(),
            resourceVersion: String(this.rng.range(1_000_000, 99_999_999)),
          },
        },
      };
    }
    if (req.verb === 'create' && req.resource === 'clusterrolebindings') {
      const body = {
        kind: 'ClusterRoleBinding',
        apiVersion: 'rbac.authorization.k8s.io/v1',
        metadata: { name: 'ci-cluster-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'ci:deployers' }],
      };
      return { requestObject: body, responseObject: body };
    }
    if (req.verb === 'patch' && req.resource === 'nodes' && !req.subresource) {
      return {
        requestObject: { metadata: { labels: { 'vpc.amazonaws.com/eniConfig': `${c.region}a` } } },
        responseObject: {
          ...meta('Node', 'v1'),
          metadata: { name: req.name, labels: { 'vpc.amazonaws.com/eniConfig': `${c.region}a` } },
        },
      };
    }
    if (req.verb === 'patch' && req.resource === 'nodes') {
      return {
        requestObject: {
          status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: isoSeconds(t) }] },
        },
      };
    }
    if (req.verb === 'delete') {
      return {
        requestObject: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Background' },
        responseObject: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name: req.name, kind: req.resource, uid: this.rng.uuid() },
        },
      };
    }
    return {};
  }

  /**
   * The API server's TokenReview of an IAM token: the authenticator writes its lines unless this API
   * server still caches an answer for the token. Returns the mapper chain's answer.
   */
  private reviewToken(
    actor: Actor,
    c: SimCluster,
    cs: ClusterState,
    apiServer: number,
    t: number,
    authnUs: number,
    verified: VerifiedIdentity,
    lineCtx: (timeUs: number) => AuthnLineContext,
  ): ReturnType<typeof authenticate> {
    const result = authenticate(verified, this.mappingState(cs), cs.statics, t);
    const tokenKey = `${actor.key}|${c.name}|${verified.accessKeyId}`;
    const tok = this.tokens.get(tokenKey);
    const tokenLife = ['node', 'eks-internal', 'ci', 'pod-identity', 'irsa'].includes(actor.kind)
      ? 14 * MINUTE_US
      : 60 * US_PER_S;
    const token = tok && t - tok.mintedUs < tokenLife ? tok : { id: `tok${this.tokenSeq++}`, mintedUs: t };
    this.tokens.set(tokenKey, token);
    const cache = cs.tokenCache[apiServer] as Map<string, number>;
    const cached = result.ok && (cache.get(token.id) ?? 0) > t;
    if (!cached) {
      this.emitLog(
        c,
        apiServer,
        'authenticator',
        authnUs,
        stsResponseLine(lineCtx(authnUs), {
          accessKeyId: verified.accessKeyId,
          accountId: verified.accountId,
          stsArn: verified.stsArn,
          sessionName: verified.sessionName,
          userId: verified.principalId,
        }),
      );
      const after = authnUs + this.rng.range(50, 900);
      if (result.ok) {
        cache.set(token.id, t + this.cacheTtlUs);
        this.emitLog(
          c,
          apiServer,
          'authenticator',
          after,
          accessGrantedLine(lineCtx(after), {
            canonicalArn: verified.canonicalArn,
            groups: result.groups,
            accountId: verified.accountId,
            userId: verified.principalId,
            username: result.username,
          }),
        );
      } else {
        this.emitLog(
          c,
          apiServer,
          'authenticator',
          after,
          accessDeniedLine(lineCtx(after), { canonicalArn: verified.canonicalArn, error: result.error }),
        );
      }
    }
    return result;
  }

  /**
   * A request the audit policy drops: no audit event and no truth, but its token still reaches the
   * authenticator, so the token cache and the authenticator lines stay as real as the logged traffic's.
   */
  private reviewOnly(r: ScriptedRequest): void {
    const { actor, cluster: c } = r;
    const t = r.atUs;
    const v = this.verified(actor, c, t);
    if (!v) return;
    const apiServer = this.rng.int(c.apiServers.length);
    const authnUs = t + this.rng.range(2_000, 40_000);
    const lineCtx = this.authnLineContext(c, t);
    this.reviewToken(actor, c, this.states.get(c.name) as ClusterState, apiServer, t, authnUs, v.id, lineCtx);
  }

  /**
   * Builds and schedules every record of one request and its ground truth. Returns false when the audit
   * policy logs nothing for it (no audit event and no truth; the authenticator still saw the token).
   */
  private doRequest(r: ScriptedRequest): boolean {
    const { actor, cluster: c } = r;
    const t = r.atUs;
    const auditID = this.rng.uuid();
    const apiServer = this.rng.int(c.apiServers.length);
    const { req, uri } = r.prepared ?? this.requestFor(r.activity, actor, c);
    const rc: RequestContext = {
      r,
      cs: this.states.get(c.name) as ClusterState,
      auditID,
      apiServer,
      req,
      uri,
      authnUs: t + this.rng.range(2_000, 40_000),
      lineCtx: this.authnLineContext(c, t),
      truthBase: {
        auditID,
        cluster: c.name,
        accountId: c.accountId,
        at: isoMicros(t),
        actor: actor.key,
        verb: req.verb,
        resource: req.resource,
        subresource: req.subresource,
        namespace: req.namespace,
        name: req.name,
        path: req.path,
        cases: r.cases.length ? r.cases : undefined,
      },
    };
    const who = this.authenticateRequest(rc);
    if (who === undefined) return true;
    const { effective, impersonated, authz } = this.authorizeRequest(rc, who);
    const allowed = authz.decision === 'allow';
    const level = auditLevel(effective, req);
    if (level === 'None') return false;
    const code = this.statusCode(req, allowed);
    const message = allowed ? undefined : forbiddenMessage(effective.username, req, authz.reason);
    const details: Record<string, string> = {};
    if (!allowed && req.path === undefined) {
      if (req.name) details['name'] = req.name;
      if (req.apiGroup) details['group'] = req.apiGroup;
      details['kind'] = req.resource ?? '';
    }
    const responseStatus: Record<string, unknown> = allowed
      ? { metadata: {}, code }
      : { metadata: {}, status: 'Failure', message, reason: 'Forbidden', details, code };
    const bodies = allowed
      ? this.allowedBodies(rc, level)
      : level === 'RequestResponse'
        ? {
            responseObject: {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              message,
              reason: 'Forbidden',
              details,
              code: 403,
            },
          }
        : {};
    this.emitAuditEvents(rc, who, { level, responseStatus, bodies, authz, impersonated });
    this.enqueue({
      kind: 'truth',
      timeUs: t,
      truth: {
        ...rc.truthBase,
        stsArn: who.verified?.stsArn,
        canonicalArn: who.verified?.canonicalArn,
        principalId: who.verified?.principalId,
        accessKeyId: who.verified?.accessKeyId,
        sessionName: who.verified?.sessionName,
        human: who.human,
        mappingSource: who.mappingSource,
        mappingKey: who.mappingKey,
        username: who.username,
        groups: who.groups,
        impersonated,
        outcome: allowed ? 'allow' : 'forbid',
        authorizer: authz.authorizer,
        reason: authz.reason,
        failedStage: allowed ? undefined : 'authorization',
        statusCode: code,
      },
    });
    return true;
  }

  /** Client port and STS endpoint of the authenticator lines of a request at t. */
  private authnLineContext(c: SimCluster, t: number): (timeUs: number) => AuthnLineContext {
    const stsEndpoint = t >= STS_ENDPOINT_SINCE_US ? `sts.${c.region}.amazonaws.com` : undefined;
    return (timeUs: number) => ({ timeUs, clientPort: this.rng.range(32768, 60999), stsEndpoint });
  }

  /**
   * Who the API server takes the caller for. An IAM token goes through the authenticator (a bad
   * token or no mapping ends the request with a 401, already emitted: undefined); service-account
   * tokens, certificates and anonymous requests are the API server's own.
   */
  private authenticateRequest(rc: RequestContext): Authenticated | undefined {
    const { r, cs, apiServer, authnUs, lineCtx, truthBase } = rc;
    const { actor, cluster: c } = r;
    const t = r.atUs;
    if (actor.kind === 'anonymous') {
      return { username: 'system:anonymous', groups: ['system:unauthenticated'], mappingSource: 'anonymous' };
    }
    if (actor.kind === 'service-account') {
      const sa = actor.sa as SimServiceAccount;
      return {
        username: `system:serviceaccount:${sa.namespace}:${sa.name}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'],
        mappingSource: 'service-account',
      };
    }
    if (actor.kind === 'certificate') {
      // The certificate names no organisation: the API server adds only system:authenticated.
      return { username: actor.certUser as string, groups: ['system:authenticated'], mappingSource: 'certificate' };
    }
    if (actor.kind === 'oidc') {
      // The provider config prefixes the email claim and the groups claim (docs/formats.md §3.6).
      const o = actor.oidc as NonNullable<Actor['oidc']>;
      return {
        username: `${o.provider.usernamePrefix}${o.email}`,
        groups: [...o.groups.map((g) => `${o.provider.groupsPrefix}${g}`), 'system:authenticated'],
        mappingSource: 'oidc-provider',
        mappingKey: o.provider.name,
        human: { identity: o.email, via: 'oidc' },
      };
    }
    const v = this.verified(actor, c, t) as { id: VerifiedIdentity; human?: GroundTruth['human'] };
    const verified = v.id;
    const human = v.human;
    if (r.badToken) {
      this.rejectBadToken(rc);
      return undefined;
    }
    const result = this.reviewToken(actor, c, cs, apiServer, t, authnUs, verified, lineCtx);
    if (!result.ok) {
      this.emit401(rc, {
        ...truthBase,
        stsArn: verified.stsArn,
        canonicalArn: verified.canonicalArn,
        principalId: verified.principalId,
        accessKeyId: verified.accessKeyId,
        sessionName: verified.sessionName,
        human,
        mappingSource: 'unmapped',
        groups: [],
        outcome: 'authn-failed',
        authorizer: 'none',
        failedStage: result.stage,
        statusCode: 401,
      });
      return undefined;
    }
    return {
      username: result.username,
      groups: [...result.groups, 'system:authenticated'],
      mappingSource: result.source,
      mappingKey: result.mappingKey,
      verified,
      human,
      ...(result.entry
        ? {
            policy: { principalArn: result.entry.principalArn, principalId: verified.principalId, entry: result.entry },
          }
        : {}),
    };
  }

  /** An expired presigned URL (stale kubeconfig token) or revoked session credentials: the authenticator refuses it. */
  private rejectBadToken(rc: RequestContext): void {
    const { r, apiServer, authnUs, lineCtx, truthBase } = rc;
    const t = r.atUs;
    const expired = this.rng.chance(0.5);
    const error = expired
      ? `input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) ${new Date(
          Math.floor((t - this.rng.range(16, 600) * MINUTE_US) / 1000),
        )
          .toISOString()
          .replace('T', ' ')
          .slice(0, 19)} +0000 UTC`
      : `sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {"Error":{"Code":"ExpiredToken","Message":"The security token included in the request is expired","Type":"Sender"},"RequestId":"${this.rng.uuid()}"}`;
    this.emitLog(r.cluster, apiServer, 'authenticator', authnUs, accessDeniedLine(lineCtx(authnUs), { error }));
    this.emit401(rc, {
      ...truthBase,
      mappingSource: 'unmapped',
      groups: [],
      outcome: 'authn-failed',
      authorizer: 'none',
      failedStage: expired ? 'token' : 'sts',
      statusCode: 401,
    });
  }

  /** The audit event of a request refused at authentication, and its truth. */
  private emit401(rc: RequestContext, truth: GroundTruth): void {
    const { r, auditID, apiServer, req, uri, authnUs } = rc;
    const { actor } = r;
    const level = auditLevel(undefined, req);
    this.emitLog(
      r.cluster,
      apiServer,
      'audit',
      authnUs + 500,
      auditEventLine({
        level: level === 'None' ? 'Metadata' : level,
        auditID,
        stage: 'ResponseStarted',
        requestURI: uri,
        verb: req.verb,
        user: {},
        sourceIPs: [actor.ip],
        userAgent: actor.userAgent,
        req,
        responseStatus: { metadata: {}, message: 'Authentication failed, attempted: bearer', code: 401 },
        receivedUs: r.atUs,
        stageUs: authnUs + 500,
      }),
    );
    this.enqueue({ kind: 'truth', timeUs: r.atUs, truth });
  }

  /**
   * The decision on the request, for the caller or for whom it impersonates; a refused impersonation
   * is the decision itself.
   */
  private authorizeRequest(
    rc: RequestContext,
    who: Authenticated,
  ): { effective: K8sUser; impersonated?: K8sUser; authz: AuthzResult } {
    const { r, req } = rc;
    const c = r.cluster;
    const self: K8sUser = { username: who.username, groups: who.groups };
    if (!r.impersonate) return { effective: self, authz: authorize(c, self, req, who.policy) };
    const imp = { username: r.impersonate.username, groups: [...r.impersonate.groups, 'system:authenticated'] };
    const check = authorize(
      c,
      self,
      { verb: 'impersonate', resource: 'users', apiGroup: '', apiVersion: 'v1', name: imp.username },
      who.policy,
    );
    if (check.decision !== 'allow') return { effective: self, authz: check };
    return { effective: imp, impersonated: imp, authz: authorize(c, imp, req, undefined) };
  }

  /**
   * Bodies of an allowed request at the audit level: an aws-auth edit writes the new ConfigMap (and
   * changes the mappings from here on); Request level keeps the request body only.
   */
  private allowedBodies(rc: RequestContext, level: AuditLevel): AuditBodies {
    if (level !== 'Request' && level !== 'RequestResponse') return {};
    const { r, req, cs } = rc;
    const t = r.atUs;
    let bodies = this.bodies(req, t, r.cluster);
    if (r.awsAuthEdit && cs.awsAuth) {
      const next = r.awsAuthEdit(cs.awsAuth);
      const data = awsAuthData(next);
      bodies = {
        requestObject: { data: { mapRoles: data['mapRoles'] } },
        responseObject: {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          metadata: {
            name: 'aws-auth',
            namespace: 'kube-system',
            uid: next.uid,
            resourceVersion: String(next.resourceVersion),
            creationTimestamp: isoSeconds(next.creationTimestampUs),
            managedFields: [
              {
                manager: 'kubectl-edit',
                operation: 'Update',
                apiVersion: 'v1',
                time: isoSeconds(t),
                fieldsType: 'FieldsV1',
              },
            ],
          },
          data,
        },
      };
      cs.awsAuth = next;
      this.mappingVersion++;
    }
    return level === 'Request' ? { requestObject: bodies.requestObject } : bodies;
  }

  /** The audit stages of a request: ResponseComplete, preceded by ResponseStarted for a watch or long call. */
  private emitAuditEvents(
    rc: RequestContext,
    who: Authenticated,
    outcome: {
      level: Exclude<AuditLevel, 'None'>;
      responseStatus: Record<string, unknown>;
      bodies: AuditBodies;
      authz: AuthzResult;
      impersonated: K8sUser | undefined;
    },
  ): void {
    const { r, auditID, apiServer, req, uri, authnUs } = rc;
    const { actor, cluster: c } = r;
    const t = r.atUs;
    const { level, responseStatus, bodies, authz, impersonated } = outcome;
    const allowed = authz.decision === 'allow';
    const userBlock = this.k8sUserBlock(actor, who.verified, who.username, who.groups, c, t);
    const annotations = {
      'authorization.k8s.io/decision': allowed ? 'allow' : 'forbid',
      'authorization.k8s.io/reason': authz.reason,
    };
    const impersonatedBlock = impersonated
      ? { username: impersonated.username, groups: impersonated.groups }
      : undefined;
    const startedUs = (who.verified ? authnUs : t) + this.rng.range(800, 30_000);
    const longRunning = allowed && (r.activity.watch || r.activity.long);
    const event = (stage: 'ResponseStarted' | 'ResponseComplete', stageUs: number, withBodies: boolean) =>
      auditEventLine({
        level,
        auditID,
        stage,
        requestURI: uri,
        verb: req.verb,
        user: userBlock,
        impersonatedUser: impersonatedBlock,
        sourceIPs: [actor.ip],
        userAgent: actor.userAgent,
        req,
        responseStatus,
        ...(withBodies ? bodies : {}),
        receivedUs: t,
        stageUs,
        annotations,
      });
    if (longRunning) {
      this.emitLog(c, apiServer, 'audit', startedUs, event('ResponseStarted', startedUs, false));
      // A reflector's watch runs until the API server closes it at its timeoutSeconds.
      const doneUs = r.watchUs !== undefined ? t + r.watchUs : startedUs + this.rng.range(30, 590) * US_PER_S;
      this.emitLog(c, apiServer, 'audit', doneUs, event('ResponseComplete', doneUs, true));
    } else {
      this.emitLog(c, apiServer, 'audit', startedUs, event('ResponseComplete', startedUs, true));
    }
  }

  // --- CloudTrail actors and mapping changes -------------------------------------------------

  /** userIdentity (and IP / UA) of an actor calling an AWS API at time t, issuing a session if needed. */
  private awsCaller(
    actor: Actor,
    c: SimCluster,
    t: number,
    command: string,
  ): { userIdentity: UserIdentity; ip: string; ua: string } {
    const roleKey = (actor.roleKey as (c: SimCluster) => string)(c);
    const role = this.role(roleKey);
    const s = this.session(actor, roleKey, t);
    return {
      userIdentity: assumedRoleIdentity({
        accountId: role.accountId,
        roleId: this.currentRoleId(roleKey),
        roleName: role.name,
        roleArnWithPath: role.arn,
        sessionName: s.sessionName,
        accessKeyId: s.accessKeyId,
        sessionIssuedUs: s.issuedUs,
      }),
      ip: actor.ip,
      ua: actor.key.startsWith('creator:')
        ? 'APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.62.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/eks#1.47.0'
        : `aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 cfg/retry-mode#standard md/command#eks.${command}`,
    };
  }

  private recordBase(actor: Actor, c: SimCluster, t: number, command: string) {
    const caller = this.awsCaller(actor, c, t, command);
    return {
      rng: this.rng,
      timeUs: t,
      region: c.region,
      recipientAccountId: c.accountId,
      userIdentity: caller.userIdentity,
      sourceIPAddress: caller.ip,
      userAgent: caller.ua,
    };
  }

  private entryShape(c: SimCluster, e: SimAccessEntry, modifiedUs: number) {
    const role = this.fleet.roles.get(e.principalKey);
    const principalArn = e.principalArn;
    const usernameTemplate =
      e.username ??
      defaultEntryUsername(e, {
        type: role ? 'assumed-role' : 'user',
        accountId: role?.accountId ?? '',
        roleName: role?.name,
        stsArn: '',
        canonicalArn: '',
        principalId: '',
        sessionName: '',
        accessKeyId: '',
      });
    return {
      clusterName: c.name,
      principalArn,
      kubernetesGroups: e.kubernetesGroups,
      accessEntryArn: e.accessEntryArn,
      createdAtUs: e.createdAtUs,
      modifiedAtUs: modifiedUs,
      username: usernameTemplate,
      type: e.type,
    };
  }

  /** At `at`, `actor` creates a STANDARD access entry for `role` on `c` with these policies. */
  private scheduleEntryCreation(
    actor: Actor,
    c: SimCluster,
    role: SimRole,
    at: number,
    policies: SimAccessEntry['policies'],
  ): void {
    this.schedule(at, () => {
      const cs = this.states.get(c.name) as ClusterState;
      const e: SimAccessEntry = {
        principalArn: role.arn,
        principalKey: role.key,
        type: 'STANDARD',
        kubernetesGroups: [],
        policies,
        boundPrincipalId: this.currentRoleId(role.key),
        createdAtUs: at,
        accessEntryArn: `arn:aws:eks:${c.region}:${c.accountId}:access-entry/${c.name}/role/${c.accountId}/${role.name}/${this.rng.uuid()}`,
      };
      cs.entries.push(e);
      this.emitCreateEntry(actor, c, e, at);
    });
  }

  private emitCreateEntry(actor: Actor, c: SimCluster, e: SimAccessEntry, t: number): void {
    const rec = createAccessEntryRecord(this.recordBase(actor, c, t, 'create-access-entry'), this.entryShape(c, e, t), {
      username: e.username,
      kubernetesGroups: e.kubernetesGroups.length && e.type === 'STANDARD' ? e.kubernetesGroups : undefined,
      type: e.type,
    });
    this.emitTrail(rec, t);
    e.policies.forEach((p, i) => {
      const at = t + (i + 1) * this.rng.range(1, 4) * US_PER_S;
      this.emitTrail(
        associateAccessPolicyRecord(
          this.recordBase(actor, c, at, 'associate-access-policy'),
          c.name,
          e.principalArn,
          p.policyArn,
          p.scope,
        ),
        at,
      );
    });
  }

  private actorByKey(prefix: string): Actor | undefined {
    return this.actors.find((a) => a.key.startsWith(prefix));
  }

  private adminActor(): Actor {
    return (this.actors.find((a) => a.kind === 'sso' && a.sso?.permissionSet === 'AdministratorAccess') ??
      this.actors.find((a) => a.kind === 'assume-role')) as Actor;
  }

  /** Cluster history before the window: CreateCluster and the initial access entries. */
  private history(): void {
    for (const c of this.fleet.clusters) {
      const creator = this.actors.find((a) => a.key.startsWith(`creator:${c.name}@`)) as Actor;
      const base = this.recordBase(creator, c, c.createdAtUs, 'create-cluster');
      this.emitTrail(
        createClusterRecord(base, {
          name: c.name,
          arn: c.arn,
          version: c.version,
          roleArn: `arn:aws:iam::${c.accountId}:role/eks-cluster-service-role`,
          mode: c.createdMode,
          bootstrap: c.bootstrapAdmin,
          vpcId: `vpc-0${this.rng.hex(16)}`,
          subnets: [`subnet-0${this.rng.hex(16)}`, `subnet-0${this.rng.hex(16)}`],
          oidcIssuer: c.oidcIssuer,
        }),
        c.createdAtUs,
      );
      for (const e of c.accessEntries) if (!e.bootstrap) this.emitCreateEntry(creator, c, e, e.createdAtUs);
      for (const p of c.identityProviders) {
        this.emitTrail(
          associateIdentityProviderConfigRecord(
            this.recordBase(creator, c, p.associatedAtUs, 'associate-identity-provider-config'),
            c.name,
            {
              identityProviderConfigName: p.name,
              issuerUrl: p.issuerUrl,
              clientId: p.clientId,
              usernameClaim: p.usernameClaim,
              usernamePrefix: p.usernamePrefix,
              groupsClaim: p.groupsClaim,
              groupsPrefix: p.groupsPrefix,
            },
          ),
          p.associatedAtUs,
        );
      }
    }
    const pi = this.fleet.workloads.podIdentity;
    const piCluster = pi ? this.fleet.clusters.find((c) => c.name === pi.sourceCluster) : undefined;
    if (pi && piCluster) {
      const creator = this.actors.find((a) => a.key.startsWith(`creator:${piCluster.name}@`)) as Actor;
      this.emitTrail(
        createPodIdentityAssociationRecord(
          this.recordBase(creator, piCluster, pi.createdAtUs, 'create-pod-identity-association'),
          {
            clusterName: piCluster.name,
            namespace: pi.namespace,
            serviceAccount: pi.serviceAccount,
            roleArn: this.role(pi.roleKey).arn,
            associationArn: pi.associationArn,
            associationId: pi.associationId,
            createdAtUs: pi.createdAtUs,
          },
        ),
        pi.createdAtUs,
      );
    }
  }

  private at(fraction: number): number {
    // Sub-second jitter: real requests never land on whole seconds.
    return Math.floor(this.startUs + (this.endUs - this.startUs) * fraction) + this.rng.int(US_PER_S);
  }

  private schedule(atUs: number, apply: () => void): void {
    this.changes.push({ atUs, apply });
  }

  private script(r: Omit<ScriptedRequest, 'atUs'> & { atUs: number }): void {
    if (r.atUs >= this.startUs && r.atUs < this.endUs) this.scripted.push(r);
  }

  private plan(): void {
    const f = this.fleet;
    const byMode = (m: AuthenticationMode) => f.clusters.find((c) => c.createdMode === m);
    const cm = byMode('CONFIG_MAP');
    const both = byMode('API_AND_CONFIG_MAP');
    const api = byMode('API');
    const admin = this.adminActor();
    const sso = (ps: string) => this.actors.find((a) => a.kind === 'sso' && a.sso?.permissionSet === ps);
    const changes = this.opts.mappingChanges;
    const scripted = this.opts.scripted ?? true;
    const window = this.endUs - this.startUs;
    const short = Math.min(40 * MINUTE_US, Math.floor(window * 0.15));

    const ctx: PlanContext = { f, admin, sso, changes, scripted, window, short };
    if (cm) this.planConfigMapCluster(cm, ctx);
    if (both) this.planMixedModeCluster(both, ctx);
    if (api && changes) this.planApiCluster(api, ctx);
    if (scripted) this.planFleetWide(ctx);
    if (scripted) this.planWorkloads();
    this.changes.sort((a, b) => a.atUs - b.atUs);
    this.scripted.sort((a, b) => a.atUs - b.atUs);
  }

  /** Set pieces of the CONFIG_MAP cluster: aws-auth edits, the invisible creator grant, mapUsers and mapAccounts. */
  private planConfigMapCluster(cm: SimCluster, ctx: PlanContext): void {
    if (ctx.scripted) this.scriptConfigMapRequests(cm, ctx);
    if (!ctx.changes) return;
    this.planAuthModeChange(cm, ctx);
    this.planBreakGlassEdit(cm);
  }

  /** Requests through aws-auth: the creator's invisible grant, session templates, an unmatched path row, mapAccounts, impersonation. */
  private scriptConfigMapRequests(cm: SimCluster, { sso }: PlanContext): void {
    const creator = this.actorByKey(`creator:${cm.name}@`);
    const dev = sso('Developer');
    const user0 = this.actorByKey('iam-user:');
    const operator = this.actorByKey('platform-operator@');
    const partner = this.actorByKey('partner:');
    if (creator)
      this.script({
        atUs: this.at(0.05),
        actor: creator,
        cluster: cm,
        activity: act.listNodes(),
        cases: ['config-map-creator'],
      });
    if (dev) {
      this.script({
        atUs: this.at(0.07),
        actor: dev,
        cluster: cm,
        activity: act.podLogs('payments'),
        cases: ['aws-auth-session-template', 'rbac-rolebinding'],
      });
    }
    if (operator)
      this.script({
        atUs: this.at(0.09),
        actor: operator,
        cluster: cm,
        activity: act.listPods('monitoring'),
        cases: ['unmapped-path-row', 'authn-401'],
      });
    if (partner)
      this.script({
        atUs: this.at(0.11),
        actor: partner,
        cluster: cm,
        activity: act.listDeploy('payments'),
        cases: ['map-accounts'],
      });
    if (user0 && dev?.sso) {
      this.script({
        atUs: this.at(0.13),
        actor: user0,
        cluster: cm,
        activity: act.listPods('payments'),
        cases: ['impersonation'],
        impersonate: { username: `dev:${dev.sso.email.replaceAll('@', '-')}`, groups: ['dev:team'] },
      });
    }
  }

  /** One-way auth-mode change, then an access entry for the SSO admins (API_AND_CONFIG_MAP from then on). */
  private planAuthModeChange(cm: SimCluster, { admin, sso, scripted }: PlanContext): void {
    const modeAt = this.at(0.3);
    this.schedule(modeAt, () => {
      const cs = this.states.get(cm.name) as ClusterState;
      cs.mode = 'API_AND_CONFIG_MAP';
      this.emitTrail(
        updateClusterConfigRecord(
          this.recordBase(admin, cm, modeAt, 'update-cluster-config'),
          cm.name,
          'API_AND_CONFIG_MAP',
        ),
        modeAt,
      );
    });
    const adminRole = this.role(`sso:AdministratorAccess:${cm.accountId}`);
    const entryAt = this.at(0.32);
    this.scheduleEntryCreation(admin, cm, adminRole, entryAt, [
      { policyArn: CLUSTER_ADMIN_POLICY, scope: { type: 'cluster', namespaces: [] } },
    ]);
    const ssoAdmin = sso('AdministratorAccess');
    if (scripted && ssoAdmin) {
      this.script({
        atUs: this.at(0.25),
        actor: ssoAdmin,
        cluster: cm,
        activity: act.listNamespaces(),
        cases: ['before-access-entry', 'authn-401'],
      });
      this.script({
        atUs: this.at(0.35),
        actor: ssoAdmin,
        cluster: cm,
        activity: act.listNamespaces(),
        cases: ['after-auth-mode-change', 'sso-access-entry-cluster-admin'],
      });
    }
  }

  /** aws-auth edit granting system:masters to the break-glass role (kubectl edit -> patch), with requests before and after. */
  private planBreakGlassEdit(cm: SimCluster): void {
    const user0 = this.actorByKey('iam-user:');
    const breakGlass = this.actorByKey('break-glass@');
    if (!user0 || !breakGlass) return;
    const bg = this.role(`break-glass:${cm.accountId}`);
    const editAt = this.at(0.6);
    this.script({
      atUs: this.at(0.55),
      actor: breakGlass,
      cluster: cm,
      activity: act.listPods('kube-system'),
      cases: ['break-glass-before-edit', 'authn-401'],
    });
    this.script({
      atUs: editAt,
      actor: user0,
      cluster: cm,
      activity: {
        verb: 'patch',
        resource: 'configmaps',
        ns: 'kube-system',
        fixedName: 'aws-auth',
        fieldManager: 'kubectl-edit',
      },
      cases: ['aws-auth-add-masters'],
      awsAuthEdit: (spec) => ({
        ...spec,
        resourceVersion: spec.resourceVersion + this.rng.range(1000, 90000),
        mapRoles: [...spec.mapRoles, { rolearn: bg.arn, username: 'break-glass', groups: ['system:masters'] }],
      }),
    });
    this.script({
      atUs: this.at(0.62),
      actor: breakGlass,
      cluster: cm,
      activity: act.getSecret('payments'),
      cases: ['break-glass-masters', 'privileged-allow'],
    });
  }

  /** Set pieces of the API_AND_CONFIG_MAP cluster: access entries beside aws-auth, precedence and policy changes. */
  private planMixedModeCluster(both: SimCluster, ctx: PlanContext): void {
    if (ctx.scripted) this.scriptMixedModeRequests(both, ctx);
    if (!ctx.changes) return;
    this.planDeployerEntryUpdate(both, ctx);
    this.planShortLivedEntry(both, ctx);
    this.planRoleRecreation(both, ctx);
  }

  /** Requests through access entries: cluster admin, a node entry, precedence over aws-auth, a namespace-scoped policy. */
  private scriptMixedModeRequests(both: SimCluster, { sso }: PlanContext): void {
    const node = this.actors.find((a) => a.kind === 'node' && a.clusters[0] === both);
    const ci = this.actorByKey('ci:');
    const ro = sso('ReadOnly');
    const ssoAdmin = sso('AdministratorAccess');
    const team = this.actorByKey('team:0@');
    if (ssoAdmin)
      this.script({
        atUs: this.at(0.04),
        actor: ssoAdmin,
        cluster: both,
        activity: act.listPods(),
        cases: ['sso-access-entry-cluster-admin'],
      });
    if (node) {
      this.script({
        atUs: this.at(0.06),
        actor: node,
        cluster: both,
        activity: { verb: 'patch', resource: 'nodes', sub: 'status', name: 'self-node' },
        cases: ['node-ec2-linux-entry'],
      });
    }
    if (ci)
      this.script({
        atUs: this.at(0.08),
        actor: ci,
        cluster: both,
        activity: act.patchDeploy('payments'),
        cases: ['precedence-entry-over-aws-auth', 'role-chaining'],
      });
    if (ro)
      this.script({
        atUs: this.at(0.1),
        actor: ro,
        cluster: both,
        activity: act.getSecret('payments'),
        cases: ['forbid-empty-reason'],
      });
    if (team)
      this.script({
        atUs: this.at(0.12),
        actor: team,
        cluster: both,
        activity: act.patchDeploy('checkout'),
        cases: ['access-policy-namespace-scope'],
      });
  }

  /** The deployer's access entry gains a group. */
  private planDeployerEntryUpdate(both: SimCluster, { admin }: PlanContext): void {
    const deployerRole = this.role(`deployer:${both.accountId}`);
    const updAt = this.at(0.4);
    this.schedule(updAt, () => {
      const cs = this.states.get(both.name) as ClusterState;
      const e = cs.entries.find((x) => x.principalKey === deployerRole.key);
      if (!e) return;
      e.kubernetesGroups = ['ci:deployers', 'ci:releasers'];
      this.emitTrail(
        updateAccessEntryRecord(
          this.recordBase(admin, both, updAt, 'update-access-entry'),
          this.entryShape(both, e, updAt),
          {
            kubernetesGroups: e.kubernetesGroups,
          },
        ),
        updAt,
      );
    });
  }

  /** An access entry that lives for well under an hour, used while it exists and refused after. */
  private planShortLivedEntry(both: SimCluster, { admin, scripted, short }: PlanContext): void {
    const contractor = this.actorByKey('contractor@');
    const contractorRole = this.role(`contractor:${both.accountId}`);
    const createAt = this.at(0.45);
    const deleteAt = createAt + short;
    this.scheduleEntryCreation(admin, both, contractorRole, createAt, [
      { policyArn: VIEW_POLICY, scope: { type: 'namespace', namespaces: ['checkout'] } },
    ]);
    this.schedule(deleteAt - 30 * US_PER_S, () => {
      const cs = this.states.get(both.name) as ClusterState;
      const e = cs.entries.find((x) => x.principalKey === contractorRole.key);
      if (!e) return;
      e.policies = [];
      const at = deleteAt - 30 * US_PER_S;
      this.emitTrail(
        disassociateAccessPolicyRecord(
          this.recordBase(admin, both, at, 'disassociate-access-policy'),
          both.name,
          e.principalArn,
          VIEW_POLICY,
        ),
        at,
      );
    });
    this.schedule(deleteAt, () => {
      const cs = this.states.get(both.name) as ClusterState;
      cs.entries = cs.entries.filter((x) => x.principalKey !== contractorRole.key);
      this.emitTrail(
        deleteAccessEntryRecord(
          this.recordBase(admin, both, deleteAt, 'delete-access-entry'),
          both.name,
          contractorRole.arn,
        ),
        deleteAt,
      );
    });
    if (scripted && contractor) {
      this.script({
        atUs: createAt + Math.floor(short / 3),
        actor: contractor,
        cluster: both,
        activity: act.listPods('checkout'),
        cases: ['access-entry-short-lived'],
      });
      this.script({
        atUs: deleteAt + Math.floor(short / 4),
        actor: contractor,
        cluster: both,
        activity: act.listPods('checkout'),
        cases: ['access-entry-deleted', 'authn-401'],
      });
    }
  }

  /** A role deleted and recreated under the same name: new AROA, the access entry is stale. */
  private planRoleRecreation(both: SimCluster, { scripted }: PlanContext): void {
    const team = this.actorByKey('team:0@');
    const teamRole = this.role(`team:0:${both.accountId}`);
    const recreateAt = this.at(0.7);
    this.schedule(recreateAt, () => {
      this.roleIds.set(
        teamRole.key,
        `AROA${teamRole.roleId.slice(4, 12)}${this.rng.fromAlphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 9)}`,
      );
      for (const k of [...this.sessions.keys()]) if (k.endsWith(`|${teamRole.key}`)) this.sessions.delete(k);
    });
    if (scripted && team) {
      this.script({
        atUs: this.at(0.66),
        actor: team,
        cluster: both,
        activity: act.listPods('payments'),
        cases: ['recreated-role-before'],
      });
      this.script({
        atUs: this.at(0.74),
        actor: team,
        cluster: both,
        activity: act.listPods('payments'),
        cases: ['recreated-role-stale-entry', 'authn-401'],
      });
    }
  }

  /** Mapping changes of the API cluster: access entries and policy associations only. */
  private planApiCluster(api: SimCluster, ctx: PlanContext): void {
    const { admin } = ctx;
    const op = this.role(`platform-operator:${api.accountId}`);
    const at = this.at(0.5);
    this.scheduleEntryCreation(admin, api, op, at, [
      { policyArn: EDIT_POLICY, scope: { type: 'namespace', namespaces: ['monitoring'] } },
    ]);
    const operator = this.actorByKey('platform-operator@');
    if ((this.opts.scripted ?? true) && operator) {
      this.script({
        atUs: this.at(0.56),
        actor: operator,
        cluster: api,
        activity: act.listPods('monitoring'),
        cases: ['access-entry-path-arn'],
      });
    }
  }

  /** Set pieces that span the fleet: bad tokens, impersonation, role chains. */
  private planFleetWide(ctx: PlanContext): void {
    const { f, sso } = ctx;
    const coredns = this.actors.find((a) => a.sa?.name === 'coredns');
    if (coredns) {
      this.script({
        atUs: this.at(0.15),
        actor: coredns,
        cluster: coredns.clusters[0] as SimCluster,
        activity: { verb: 'watch', resource: 'endpoints', watch: true },
        cases: ['watch-service-account'],
      });
    }
    const addon = this.actorByKey('eks-internal:eks:addon-manager');
    const first = f.clusters[0];
    if (addon && first) {
      this.script({
        atUs: this.at(0.17),
        actor: addon,
        cluster: first,
        activity: { verb: 'patch', resource: 'daemonsets', group: 'apps', ns: 'kube-system', name: 'daemonset' },
        cases: ['eks-internal'],
      });
    }
    const anon = this.actorByKey('anonymous');
    if (anon && first)
      this.script({
        atUs: this.at(0.19),
        actor: anon,
        cluster: first,
        activity: act.listPods('default'),
        cases: ['anonymous'],
      });
    const somebody = sso('Developer') ?? this.adminActor();
    if (somebody && first) {
      this.script({
        atUs: this.at(0.21),
        actor: somebody,
        cluster: first,
        activity: act.listPods('payments'),
        cases: ['token-expired', 'authn-401'],
        badToken: true,
      });
    }
  }

  /**
   * Set pieces of the ways in that are not a person's IAM principal: a pod calling another cluster with
   * its Pod Identity session and one with IRSA, an OIDC provider's user, a node of every node type,
   * and a control-plane component with its client certificate.
   */
  private planWorkloads(): void {
    // Someone rolls out the Deployment whose pods hold the Pod Identity sessions, before they use them.
    const pi = this.fleet.workloads.podIdentity;
    const deployer = this.actorByKey('platform-admin@');
    const source = pi ? this.fleet.clusters.find((c) => c.name === pi.sourceCluster) : undefined;
    if (pi && deployer && source)
      this.script({
        atUs: this.at(0.005),
        actor: deployer,
        cluster: source,
        activity: {
          verb: 'patch',
          resource: 'deployments',
          group: 'apps',
          ns: pi.namespace,
          fixedName: pi.deployment,
          fieldManager: 'kubectl-rollout',
        },
        cases: ['pod-owner-rollout'],
      });
    const pod = this.actors.find((a) => a.kind === 'pod-identity');
    if (pod)
      this.script({
        atUs: this.at(0.16),
        actor: pod,
        cluster: pod.clusters[0] as SimCluster,
        activity: act.patchDeploy('checkout'),
        cases: ['pod-identity-cross-cluster'],
      });
    const irsa = this.actors.find((a) => a.kind === 'irsa');
    if (irsa)
      this.script({
        atUs: this.at(0.18),
        actor: irsa,
        cluster: irsa.clusters[0] as SimCluster,
        activity: act.listPods('monitoring'),
        cases: ['irsa-cross-cluster'],
      });
    const oidc = this.actors.find((a) => a.kind === 'oidc');
    if (oidc)
      this.script({
        atUs: this.at(0.2),
        actor: oidc,
        cluster: oidc.clusters[0] as SimCluster,
        activity: act.listPods('payments'),
        cases: ['oidc-provider-user'],
      });
    const nodeCases: Record<string, string> = {
      EC2_WINDOWS: 'node-ec2-windows-entry',
      FARGATE_LINUX: 'node-fargate-entry',
      HYBRID_LINUX: 'node-hybrid-entry',
      EC2: 'node-auto-mode-entry',
    };
    let k = 0;
    for (const a of this.actors) {
      const type = a.node?.entryType;
      const name = type ? nodeCases[type] : undefined;
      if (!name) continue;
      this.script({
        atUs: this.at(0.22 + 0.01 * k++),
        actor: a,
        cluster: a.clusters[0] as SimCluster,
        activity: { verb: 'patch', resource: 'nodes', sub: 'status', name: 'self-node' },
        cases: [name],
      });
    }
    const first = this.fleet.clusters[0];
    if (first && this.mix !== 'realistic') {
      this.script({
        atUs: this.at(0.27),
        actor: {
          key: `control-plane:${first.name}:kube-scheduler`,
          kind: 'certificate',
          weight: 0,
          clusters: [first],
          ip: `10.${this.rng.range(0, 31)}.${this.rng.range(0, 255)}.${this.rng.range(2, 254)}`,
          userAgent: `kube-scheduler/v${first.version}.0 (linux/amd64) kubernetes/${this.rng.hex(7)}/scheduler`,
          activities: [],
          stretch: [],
          certUser: 'system:kube-scheduler',
        },
        cluster: first,
        activity: act.listPods('payments'),
        cases: ['certificate-user'],
      });
    }
  }

  private applyChange(change: ScheduledChange): void {
    change.apply();
    this.mappingVersion++;
  }

  private pruneCaches(t: number): void {
    for (const cs of this.states.values()) {
      for (const cache of cs.tokenCache) for (const [k, exp] of cache) if (exp <= t) cache.delete(k);
    }
    for (const [k, tok] of this.tokens) if (t - tok.mintedUs > HOUR_US) this.tokens.delete(k);
  }

  // --- realistic schedule -------------------------------------------------------------------

  /** Every recurring request of the realistic mix, each queued at its first occurrence. */
  private buildSchedule(): TimedQueue<PeriodicTask> {
    const rng = this.rng.fork('schedule');
    const queue = new TimedQueue<PeriodicTask>();
    const nodeActors = new Map(this.actors.filter((a) => a.node).map((a) => [a.node?.instanceId, a]));
    for (const c of this.fleet.clusters) {
      const build = rng.hex(7);
      const nodeUids = new Map(c.nodes.map((n) => [n.instanceId, rng.uuid()]));
      // Control-plane components reach the API server from the control plane's addresses in the cluster VPC.
      const controlPlaneIp = `10.${rng.range(0, 31)}.${rng.range(0, 255)}.${rng.range(2, 254)}`;
      for (const spec of REALISTIC_COMPONENTS) {
        const userAgent = spec.userAgent.replaceAll('$version', c.version).replaceAll('$hash', build);
        const senders = this.componentSenders(spec, c, rng, { userAgent, controlPlaneIp, nodeActors, nodeUids });
        if (!senders.length) continue;
        const objects = Array.from({ length: componentObjects(spec, c.nodes.length) }, (_, k) => ({
          namespace: APP_NS[k % 2] as string,
          name: `appconfig-${k + 1}`,
        }));
        for (const sender of senders) {
          for (const t of spec.tasks) {
            for (const object of t.perObject ? objects : [undefined]) {
              const task = this.periodicTask(c, sender.actor, sender.node, t, object);
              const meanUs = meanPeriodS(t) * US_PER_S;
              // A random phase: the window opens in the middle of every loop, not at its start.
              queue.push(this.startUs + Math.floor(rng.next() * meanUs), task);
            }
          }
        }
      }
    }
    return queue;
  }

  /** The actors that send a component's requests on a cluster: one per node, per replica, or the leader. */
  private componentSenders(
    spec: ComponentSpec,
    c: SimCluster,
    rng: Rng,
    ctx: {
      userAgent: string;
      controlPlaneIp: string;
      nodeActors: Map<string | undefined, Actor>;
      nodeUids: Map<string, string>;
    },
  ): { actor: Actor; node?: SimNode }[] {
    const id = spec.identity;
    const base = { weight: 0, clusters: [c], activities: [], stretch: [] };
    switch (id.kind) {
      case 'node':
        return c.nodes.flatMap((n) => {
          const actor = ctx.nodeActors.get(n.instanceId);
          return actor ? [{ actor, node: n }] : [];
        });
      case 'eks-internal': {
        const actor = this.actorByKey(`eks-internal:${id.username}`);
        return actor ? [{ actor }] : [];
      }
      case 'certificate':
        return [
          {
            actor: {
              ...base,
              key: `control-plane:${c.name}:${spec.id}`,
              kind: 'certificate',
              ip: ctx.controlPlaneIp,
              userAgent: ctx.userAgent,
              certUser: id.username,
            },
          },
        ];
      case 'service-account': {
        const sa = [...c.addOns, ...c.serviceAccounts].find((x) => x.namespace === id.namespace && x.name === id.name);
        if (!sa) return [];
        const nodes =
          spec.replicas === 'per-node' ? c.nodes : Array.from({ length: spec.replicas }, () => rng.pick(c.nodes));
        return nodes.map((n) => {
          // DaemonSet pods get a 5-character suffix; Deployment pods the ReplicaSet hash too.
          const suffix = rng.fromAlphabet('bcdfghjklmnpqrstvwxz2456789', 5);
          const podName = spec.replicas === 'per-node' ? `${sa.name}-${suffix}` : `${sa.name}-${rng.hex(10)}-${suffix}`;
          const actor: Actor = {
            ...base,
            key: `sa:${c.name}:${sa.namespace}/${sa.name}@${podName}`,
            kind: 'service-account',
            ip: spec.hostNetwork ? n.privateIp : `10.${rng.range(0, 31)}.${rng.range(0, 255)}.${rng.range(2, 254)}`,
            userAgent: ctx.userAgent,
            sa,
            pod: {
              name: podName,
              uid: rng.uuid(),
              nodeName: n.privateDnsName,
              nodeUid: ctx.nodeUids.get(n.instanceId) ?? '',
              credentialId: `JTI=${rng.uuid()}`,
              credentialRotatesUs: this.startUs + rng.int(48 * MINUTE_US),
            },
          };
          return { actor, node: n };
        });
      }
    }
  }

  private periodicTask(
    c: SimCluster,
    actor: Actor,
    node: SimNode | undefined,
    spec: TaskSpec,
    object: { namespace: string; name: string } | undefined,
  ): PeriodicTask {
    const fill = (s: string) =>
      s.replaceAll('$node', node?.privateDnsName ?? '').replaceAll('$object', object?.name ?? '');
    const group = spec.group ?? '';
    const version = spec.version ?? 'v1';
    const namespace = object && spec.perObject ? object.namespace : spec.namespace;
    const name = spec.name ? fill(spec.name) : undefined;
    const req: K8sRequest = {
      verb: spec.verb,
      resource: spec.resource,
      subresource: spec.sub,
      apiGroup: group,
      apiVersion: version,
      namespace,
      name,
    };
    let path = group ? `/apis/${group}/${version}` : '/api/v1';
    if (namespace) path += `/namespaces/${namespace}`;
    path += `/${spec.resource}`;
    if (name) path += `/${name}`;
    if (spec.sub) path += `/${spec.sub}`;
    // client-go encodes query parameters sorted by key.
    const query: string[] = [];
    if (spec.selector) query.push(fill(spec.selector));
    if (spec.verb === 'list') query.push('limit=500');
    if (spec.timeout && !spec.watch) query.push(`timeout=${spec.timeout}`);
    query.sort();
    const activity: Activity = {
      verb: spec.verb,
      resource: spec.resource,
      sub: spec.sub,
      group: spec.group,
      version: spec.version,
      ns: namespace,
      fixedName: name,
      watch: spec.watch,
    };
    return { actor, cluster: c, spec, activity, req, path, query };
  }

  /** The request a periodic task makes at t, and when it makes the next one. */
  private taskRequest(task: PeriodicTask, t: number): { r: ScriptedRequest; nextUs: number } {
    const { spec } = task;
    const base = { atUs: t, actor: task.actor, cluster: task.cluster, activity: task.activity, cases: [] };
    if (spec.watch) {
      const seconds = this.rng.range(WATCH_MIN_S, WATCH_MAX_S - 1);
      const watchUs = seconds * US_PER_S + this.rng.range(WATCH_CLOSE_US[0], WATCH_CLOSE_US[1] - 1);
      // An etcd revision that only moves forward: about one write a millisecond.
      const rv = 4_000_000 + Math.floor((t - this.startUs) / US_PER_MS);
      const params = [
        'allowWatchBookmarks=true',
        ...task.query,
        `resourceVersion=${rv}`,
        `timeout=${Math.floor(seconds / 60)}m${seconds % 60}s`,
        `timeoutSeconds=${seconds}`,
        'watch=true',
      ];
      return {
        r: { ...base, prepared: { req: task.req, uri: `${task.path}?${params.join('&')}` }, watchUs },
        // The reflector watches again as soon as the API server closes the previous watch.
        nextUs: t + watchUs + this.rng.range(REWATCH_GAP_US[0], REWATCH_GAP_US[1] - 1),
      };
    }
    const uri = task.query.length ? `${task.path}?${task.query.join('&')}` : task.path;
    const jitterUs = Math.floor(this.rng.next() * (spec.jitterS ?? 0) * US_PER_S);
    return {
      r: { ...base, prepared: { req: task.req, uri }, dropped: spec.dropped },
      nextUs: t + (spec.periodS ?? 60) * US_PER_S + jitterUs,
    };
  }

  /** The realistic mix: the periodic schedule, plus a Poisson stream of IAM humans, automation and probes. */
  private *runRealistic(): Generator<Emission> {
    this.history();
    this.plan();
    const target = Math.max(0, Math.floor(this.opts.requests));
    const schedule = this.buildSchedule();
    const people = this.actors
      .filter(
        (a) =>
          ['sso', 'iam-user', 'assume-role', 'ci', 'partner', 'pod-identity', 'irsa', 'oidc'].includes(a.kind) &&
          a.weight > 0 &&
          a.clusters.length > 0,
      )
      .map((a) => [a, a.weight] as const);
    const anonymous = this.actorByKey('anonymous');
    const interactiveShare = REALISTIC_HUMAN_SHARE + REALISTIC_ANONYMOUS_SHARE;
    const rate = realisticRequestsPerSecond(this.fleet.clusters.map((c) => c.nodes.length)) * interactiveShare;
    const meanGapUs = US_PER_S / rate;
    let nextInteractiveUs = this.startUs + this.rng.exponential(meanGapUs);
    let made = 0;
    let si = 0;
    let ci = 0;
    const applyChangesUntil = (t: number) => {
      while (ci < this.changes.length && (this.changes[ci] as ScheduledChange).atUs <= t)
        this.applyChange(this.changes[ci++] as ScheduledChange);
    };
    for (;;) {
      const scriptedNext = this.scripted[si];
      const more = made < target;
      const taskUs = more ? (schedule.peekAt() ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
      const interactiveUs = more ? Math.floor(nextInteractiveUs) : Number.POSITIVE_INFINITY;
      const machineUs = Math.min(taskUs, interactiveUs);
      if (!scriptedNext && machineUs === Number.POSITIVE_INFINITY) break;
      let r: ScriptedRequest;
      let counted = true;
      if (scriptedNext && scriptedNext.atUs <= machineUs) {
        r = scriptedNext;
        si++;
        counted = false;
      } else if (interactiveUs <= taskUs) {
        applyChangesUntil(interactiveUs);
        const probe = anonymous && people.length && this.rng.chance(REALISTIC_ANONYMOUS_SHARE / interactiveShare);
        const actor = probe || !people.length ? (anonymous as Actor) : this.rng.weighted(people);
        r = this.randomRequestBy(actor, interactiveUs);
        nextInteractiveUs += this.rng.exponential(meanGapUs);
      } else {
        const due = schedule.pop() as Timed<PeriodicTask>;
        const next = this.taskRequest(due.value, due.at);
        r = next.r;
        schedule.push(next.nextUs, due.value);
      }
      applyChangesUntil(r.atUs);
      // A request the policy drops: its token review is all that remains of it.
      if (r.dropped && this.admitted(r.actor, r.cluster, r.atUs)) this.reviewOnly(r);
      else if (this.doRequest(r) && counted) made++;
      this.requestCount++;
      if (this.requestCount % 5000 === 0) this.pruneCaches(r.atUs);
      yield* this.flush(r.atUs - LOOKBACK_US);
    }
    applyChangesUntil(Number.POSITIVE_INFINITY);
    yield* this.flush(Number.POSITIVE_INFINITY);
  }

  // --- main loop ----------------------------------------------------------------------------

  *run(): Generator<Emission> {
    if (this.mix === 'realistic') {
      yield* this.runRealistic();
      return;
    }
    this.history();
    this.plan();
    const n = Math.max(0, Math.floor(this.opts.requests));
    const meanGap = (this.endUs - this.startUs) / (n + 1);
    let nextRandomUs = this.startUs + this.rng.exponential(meanGap);
    let made = 0;
    let si = 0;
    let ci = 0;
    for (;;) {
      const scriptedNext = this.scripted[si];
      const randomLeft = made < n;
      if (!scriptedNext && !randomLeft) break;
      let r: ScriptedRequest;
      const tRandom = Math.min(Math.floor(nextRandomUs), this.endUs - 1);
      if (scriptedNext && (!randomLeft || scriptedNext.atUs <= tRandom)) {
        r = scriptedNext;
        si++;
      } else {
        // Apply due changes before choosing, so admission checks see the current mappings.
        while (ci < this.changes.length && (this.changes[ci] as ScheduledChange).atUs <= tRandom)
          this.applyChange(this.changes[ci++] as ScheduledChange);
        r = this.randomRequest(tRandom);
        made++;
        nextRandomUs += this.rng.exponential(meanGap);
      }
      while (ci < this.changes.length && (this.changes[ci] as ScheduledChange).atUs <= r.atUs)
        this.applyChange(this.changes[ci++] as ScheduledChange);
      this.doRequest(r);
      this.requestCount++;
      if (this.requestCount % 5000 === 0) this.pruneCaches(r.atUs);
      yield* this.flush(r.atUs - LOOKBACK_US);
    }
    while (ci < this.changes.length) this.applyChange(this.changes[ci++] as ScheduledChange);
    yield* this.flush(Number.POSITIVE_INFINITY);
  }
}

/**
 * The window that holds `requests` logged requests of the realistic mix on this fleet: the schedule's
 * rate is fixed by the fleet (nodes, components), so the duration follows from the request count.
 */
export const realisticDurationMs = (fleet: Fleet, requests: number): number =>
  Math.max(1, Math.ceil((requests / realisticRequestsPerSecond(fleet.clusters.map((c) => c.nodes.length))) * 1000));

/** Lazily yields the scenario's emissions in time order (µs), ground truth included. */
export function* simulate(fleet: Fleet, opts: ScenarioOptions): Generator<Emission> {
  yield* new Simulation(fleet, opts).run();
}

/** Convenience: ground truth only. */
export function* groundTruth(emissions: Iterable<Emission>): Generator<GroundTruth> {
  for (const e of emissions) if (e.kind === 'truth') yield e.truth;
}
