/**
 * Named traffic mixes for the scenario, and what each one sends.
 *
 * - `human-heavy`: the simulator's original mix, weighted random picks among actors, about half of it
 *   IAM humans and CI. It exercises every identity path densely and is what the samples use.
 * - `realistic`: what an EKS cluster's audit log is actually made of. Kubelets, control-plane
 *   components, add-ons and operators send most requests, on fixed periods; IAM humans and automation
 *   are a small remainder.
 *
 * The component table below drives three things, so that they cannot drift apart: the fleet's RBAC for
 * the components (sim/fleet.ts), the periodic schedule (sim/scenario.ts), and the expected share of
 * each traffic class stated in TRAFFIC_MIXES (checked against generated traffic in test/sim).
 */
import type { FleetOptions, PolicyRule } from './fleet.js';
import type { GroundTruth } from './scenario.js';

export const TRAFFIC_MIX_NAMES = ['human-heavy', 'realistic'] as const;
export type TrafficMixName = (typeof TRAFFIC_MIX_NAMES)[number];

// -----------------------------------------------------------------------------------------------
// Traffic classes
// -----------------------------------------------------------------------------------------------

export const TRAFFIC_CLASSES = {
  'kubelet-lease': 'kubelet lease renewals',
  'kubelet-status': 'kubelet node status',
  'kubelet-reads': 'kubelet watches and reads',
  'control-plane-leader-election': 'kube-controller-manager and kube-scheduler leader election',
  'addon-leader-election': 'add-on controllers leader election',
  'vpc-cni': 'VPC CNI (aws-node)',
  'dns-and-proxy': 'CoreDNS and kube-proxy watches',
  monitoring: 'monitoring',
  autoscaler: 'cluster autoscaler',
  'ingress-controller': 'ingress controller',
  'chatty-operator': 'chatty operator',
  'other-service-accounts': 'other service accounts',
  'eks-internal': 'EKS-internal components (eks:*)',
  'iam-humans-and-automation': 'IAM humans and automation',
  anonymous: 'anonymous',
} as const;

export type TrafficClassId = keyof typeof TRAFFIC_CLASSES;

export interface TrafficShare {
  id: TrafficClassId;
  /** Readable class name. */
  class: string;
  /** Expected share of logged requests (requests the audit policy drops are not counted). */
  share: number;
  /** Where the rate behind this share comes from; "assumption" when no published figure exists. */
  source: string;
}

export interface TrafficMix {
  name: TrafficMixName;
  description: string;
  /** The fleet the shares are stated for (the bench's fleet for this mix). */
  fleet: Omit<FleetOptions, 'seed'>;
  /** Logged requests per second across that fleet. */
  requestsPerSecond: number;
  /** Logged requests per second of each cluster of that fleet, in fleet order. */
  clusterRequestsPerSecond: number[];
  shares: TrafficShare[];
}

const SA_KEY = /^sa:[^:]+:([^/]+)\/([^@]+)/;

const SA_CLASSES: Record<string, TrafficClassId> = {
  'aws-node': 'vpc-cni',
  coredns: 'dns-and-proxy',
  'kube-proxy': 'dns-and-proxy',
  prometheus: 'monitoring',
  'kube-state-metrics': 'monitoring',
  'metrics-agent': 'monitoring',
  'cluster-autoscaler': 'autoscaler',
  'aws-load-balancer-controller': 'ingress-controller',
  'app-operator': 'chatty-operator',
};

/** The traffic class of one request, from its ground truth (the actor key and the object). */
export const trafficClassOf = (t: GroundTruth): TrafficClassId => {
  const a = t.actor;
  if (a.startsWith('node:')) {
    if (t.resource === 'leases') return 'kubelet-lease';
    if (t.resource === 'nodes' && t.subresource === 'status') return 'kubelet-status';
    return 'kubelet-reads';
  }
  if (a.startsWith('control-plane:')) return 'control-plane-leader-election';
  if (a.startsWith('sa:')) {
    if (t.resource === 'leases') return 'addon-leader-election';
    const m = SA_KEY.exec(a);
    return (m && SA_CLASSES[m[2] as string]) || 'other-service-accounts';
  }
  if (a.startsWith('eks-internal:')) return 'eks-internal';
  if (a === 'anonymous') return 'anonymous';
  return 'iam-humans-and-automation';
};

// -----------------------------------------------------------------------------------------------
// Components of the realistic mix
// -----------------------------------------------------------------------------------------------

export type ComponentIdentity =
  /** The kubelet, through the node role's IAM mapping. */
  | { kind: 'node' }
  /** An x509 client certificate from the cluster CA: no IAM token, no authenticator line. */
  | { kind: 'certificate'; username: string }
  | { kind: 'service-account'; namespace: string; name: string }
  /** An EKS-managed role mapped by the authenticator's static file (the fleet's eks-internal roles). */
  | { kind: 'eks-internal'; username: string };

export interface TaskSpec {
  class: TrafficClassId;
  verb: string;
  resource: string;
  sub?: string;
  /** API group; '' (core) when absent. */
  group?: string;
  /** Default v1. */
  version?: string;
  namespace?: string;
  /**
   * Object name. `$node` is the private DNS name of the pod's node (or the kubelet's own node), `$object`
   * one of the operator's objects.
   */
  name?: string;
  /** Query of a list or watch (fieldSelector / labelSelector), `$node` substituted as above. */
  selector?: string;
  watch?: boolean;
  /** Client-side timeout the client sets on every request (`?timeout=`): heartbeat and leader-election clients. */
  timeout?: string;
  /** Seconds between two requests, plus a uniform jitter in [0, jitterS). Watches ignore both. */
  periodS?: number;
  jitterS?: number;
  /** Repeated for each of the component's objects (the operator's reconcile loop). */
  perObject?: boolean;
  /** The EKS audit policy logs nothing for it (test/sim checks this flag against sim/model.ts). */
  dropped?: boolean;
}

export interface ComponentRbac {
  kind: 'ClusterRole' | 'Role';
  name: string;
  /** Role and RoleBinding namespace. */
  namespace?: string;
  rules: PolicyRule[];
  /** Binding name (same kind family as the role: ClusterRoleBinding or RoleBinding). */
  binding: string;
}

export interface ComponentSpec {
  id: string;
  identity: ComponentIdentity;
  /** 'per-node' for the kubelet and DaemonSet pods; otherwise the pods that send requests (a leader alone). */
  replicas: 'per-node' | number;
  /** Objects the component reconciles per node of its cluster (tasks marked perObject repeat per object). */
  objectsPerNode?: number;
  /** Runs on the fleet's busiest cluster only. */
  busiestOnly?: boolean;
  /** Pods on the host network send from the node's IP. */
  hostNetwork?: boolean;
  /** `$version` is the cluster's Kubernetes version, `$hash` a build hash. */
  userAgent: string;
  tasks: TaskSpec[];
  rbac?: ComponentRbac[];
}

/** client-go reflectors re-watch with timeoutSeconds uniform in [minWatchTimeout, 2 x minWatchTimeout), 5 min. */
export const WATCH_MIN_S = 300;
export const WATCH_MAX_S = 600;
/** The API server closes a watch this long after its timeout fires (µs, uniform in [lo, hi)). */
export const WATCH_CLOSE_US: readonly [number, number] = [100, 2_000];
/** Gap between a watch closing and the reflector's next watch (µs, uniform in [lo, hi)). */
export const REWATCH_GAP_US: readonly [number, number] = [1_000, 50_000];
/** Mean seconds from one watch request to the next of the same reflector. */
export const WATCH_MEAN_PERIOD_S =
  (WATCH_MIN_S + WATCH_MAX_S - 1) / 2 +
  (WATCH_CLOSE_US[0] + WATCH_CLOSE_US[1] - 1 + REWATCH_GAP_US[0] + REWATCH_GAP_US[1] - 1) / 2 / 1_000_000;

const LEADER_ELECTION_TIMEOUT = '5s';
const READ = ['get', 'list', 'watch'];
const COORDINATION = 'coordination.k8s.io';

const watch = (resource: string, more: Partial<TaskSpec> & { class: TrafficClassId }): TaskSpec => ({
  verb: 'watch',
  resource,
  watch: true,
  ...more,
});

const leaderLease = (namespace: string, name: string, cls: TrafficClassId): TaskSpec[] => [
  // client-go leader election: the leader renews every RetryPeriod (2 s) with an optimistic update...
  {
    class: cls,
    verb: 'update',
    resource: 'leases',
    group: COORDINATION,
    namespace,
    name,
    timeout: LEADER_ELECTION_TIMEOUT,
    periodS: 2,
    jitterS: 0.02,
  },
  // ...and reads the lease first when that fast path is not taken (assumed about once a minute).
  {
    class: cls,
    verb: 'get',
    resource: 'leases',
    group: COORDINATION,
    namespace,
    name,
    timeout: LEADER_ELECTION_TIMEOUT,
    periodS: 55,
    jitterS: 10,
  },
];

const leaseRules = (name: string): PolicyRule[] => [
  { verbs: ['create'], apiGroups: [COORDINATION], resources: ['leases'] },
  { verbs: ['get', 'update'], apiGroups: [COORDINATION], resources: ['leases'], resourceNames: [name] },
];

export const REALISTIC_COMPONENTS: readonly ComponentSpec[] = [
  {
    id: 'kubelet',
    identity: { kind: 'node' },
    replicas: 'per-node',
    userAgent: 'kubelet/v$version.0-eks-$hash (linux/amd64) kubernetes/$hash',
    tasks: [
      // Node heartbeat: the Lease in kube-node-lease every 10 s (0.25 x the 40 s lease duration), through
      // the heartbeat client whose timeout is the node status update frequency.
      {
        class: 'kubelet-lease',
        verb: 'update',
        resource: 'leases',
        group: COORDINATION,
        namespace: 'kube-node-lease',
        name: '$node',
        timeout: '10s',
        periodS: 10,
        jitterS: 0.05,
      },
      // NodeStatus is computed every 10 s and reported when it changed or every nodeStatusReportFrequency (5 min).
      {
        class: 'kubelet-status',
        verb: 'patch',
        resource: 'nodes',
        sub: 'status',
        name: '$node',
        timeout: '10s',
        periodS: 300,
        jitterS: 10,
      },
      // The status loop reads its own Node every 10 s: the policy drops node GETs by system:nodes.
      {
        class: 'kubelet-reads',
        verb: 'get',
        resource: 'nodes',
        name: '$node',
        timeout: '10s',
        periodS: 10,
        jitterS: 0.05,
        dropped: true,
      },
      // Events are never logged.
      {
        class: 'kubelet-reads',
        verb: 'create',
        resource: 'events',
        namespace: 'default',
        periodS: 60,
        jitterS: 60,
        dropped: true,
      },
      watch('pods', { class: 'kubelet-reads', selector: 'fieldSelector=spec.nodeName%3D$node' }),
      watch('services', { class: 'kubelet-reads' }),
      watch('nodes', { class: 'kubelet-reads', selector: 'fieldSelector=metadata.name%3D$node' }),
      watch('csidrivers', { class: 'kubelet-reads', group: 'storage.k8s.io' }),
      watch('runtimeclasses', { class: 'kubelet-reads', group: 'node.k8s.io' }),
      // Secrets and ConfigMaps mounted by the node's pods, one watch per object.
      watch('configmaps', {
        class: 'kubelet-reads',
        namespace: 'kube-system',
        selector: 'fieldSelector=metadata.name%3Dkube-root-ca.crt',
      }),
      watch('configmaps', {
        class: 'kubelet-reads',
        namespace: 'kube-system',
        selector: 'fieldSelector=metadata.name%3Dkube-proxy-config',
      }),
      watch('configmaps', {
        class: 'kubelet-reads',
        namespace: 'payments',
        selector: 'fieldSelector=metadata.name%3Dkube-root-ca.crt',
      }),
      watch('secrets', {
        class: 'kubelet-reads',
        namespace: 'payments',
        selector: 'fieldSelector=metadata.name%3Dpayments-api-db-credentials',
      }),
    ],
  },
  {
    id: 'aws-node',
    identity: { kind: 'service-account', namespace: 'kube-system', name: 'aws-node' },
    replicas: 'per-node',
    hostNetwork: true,
    userAgent: 'aws-node/v0.0.0 (linux/amd64) kubernetes/$Format',
    tasks: [
      // Assumption: ipamd re-reads its node and the pods on it every minute, and labels its node rarely.
      { class: 'vpc-cni', verb: 'get', resource: 'nodes', name: '$node', periodS: 60, jitterS: 1 },
      {
        class: 'vpc-cni',
        verb: 'list',
        resource: 'pods',
        selector: 'fieldSelector=spec.nodeName%3D$node',
        periodS: 60,
        jitterS: 1,
      },
      { class: 'vpc-cni', verb: 'patch', resource: 'nodes', name: '$node', periodS: 1800, jitterS: 60 },
    ],
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'aws-node',
        binding: 'aws-node',
        rules: [
          { verbs: [...READ, 'patch', 'update'], apiGroups: [''], resources: ['nodes'] },
          { verbs: READ, apiGroups: [''], resources: ['pods', 'namespaces'] },
          { verbs: READ, apiGroups: ['crd.k8s.amazonaws.com'], resources: ['eniconfigs'] },
        ],
      },
    ],
  },
  {
    id: 'kube-proxy',
    identity: { kind: 'service-account', namespace: 'kube-system', name: 'kube-proxy' },
    replicas: 'per-node',
    hostNetwork: true,
    userAgent: 'kube-proxy/v$version.0-eks-$hash (linux/amd64) kubernetes/$hash',
    tasks: [
      watch('endpointslices', {
        class: 'dns-and-proxy',
        group: 'discovery.k8s.io',
        selector: 'labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name',
      }),
      watch('services', {
        class: 'dns-and-proxy',
        selector: 'labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name',
      }),
      watch('nodes', { class: 'dns-and-proxy', selector: 'fieldSelector=metadata.name%3D$node' }),
    ],
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'system:node-proxier',
        binding: 'eks:kube-proxy',
        rules: [
          { verbs: ['list', 'watch'], apiGroups: [''], resources: ['endpoints', 'services'] },
          { verbs: READ, apiGroups: [''], resources: ['nodes'] },
          { verbs: ['list', 'watch'], apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
        ],
      },
    ],
  },
  {
    id: 'coredns',
    // Its RBAC (system:coredns) is part of every fleet.
    identity: { kind: 'service-account', namespace: 'kube-system', name: 'coredns' },
    replicas: 2,
    userAgent: 'coredns/v0.0.0 (linux/amd64) kubernetes/$Format',
    tasks: [
      watch('endpointslices', { class: 'dns-and-proxy', group: 'discovery.k8s.io' }),
      watch('services', { class: 'dns-and-proxy' }),
      watch('namespaces', { class: 'dns-and-proxy' }),
    ],
  },
  {
    id: 'kube-controller-manager',
    identity: { kind: 'certificate', username: 'system:kube-controller-manager' },
    replicas: 1,
    userAgent: 'kube-controller-manager/v$version.0-eks-$hash (linux/amd64) kubernetes/$hash/leader-election',
    tasks: leaderLease('kube-system', 'kube-controller-manager', 'control-plane-leader-election'),
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'system:kube-controller-manager',
        binding: 'system:kube-controller-manager',
        rules: leaseRules('kube-controller-manager'),
      },
    ],
  },
  {
    id: 'kube-scheduler',
    identity: { kind: 'certificate', username: 'system:kube-scheduler' },
    replicas: 1,
    userAgent: 'kube-scheduler/v$version.0-eks-$hash (linux/amd64) kubernetes/$hash/leader-election',
    tasks: leaderLease('kube-system', 'kube-scheduler', 'control-plane-leader-election'),
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'system:kube-scheduler',
        binding: 'system:kube-scheduler',
        rules: leaseRules('kube-scheduler'),
      },
    ],
  },
  {
    id: 'cluster-autoscaler',
    identity: { kind: 'service-account', namespace: 'kube-system', name: 'cluster-autoscaler' },
    replicas: 1,
    userAgent: 'cluster-autoscaler/v0.0.0 (linux/amd64) kubernetes/$Format',
    tasks: [
      ...leaderLease('kube-system', 'cluster-autoscaler', 'addon-leader-election'),
      // The status ConfigMap is rewritten on every scan (--scan-interval, 10 s by default).
      {
        class: 'autoscaler',
        verb: 'update',
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'cluster-autoscaler-status',
        periodS: 10,
        jitterS: 0.5,
      },
      watch('pods', { class: 'autoscaler' }),
      watch('nodes', { class: 'autoscaler' }),
      watch('poddisruptionbudgets', { class: 'autoscaler', group: 'policy' }),
      watch('replicasets', { class: 'autoscaler', group: 'apps' }),
      watch('statefulsets', { class: 'autoscaler', group: 'apps' }),
      watch('persistentvolumeclaims', { class: 'autoscaler' }),
    ],
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'cluster-autoscaler',
        binding: 'cluster-autoscaler',
        rules: [
          ...leaseRules('cluster-autoscaler'),
          { verbs: ['watch', 'list', 'get'], apiGroups: [''], resources: ['pods', 'nodes', 'persistentvolumeclaims'] },
          { verbs: ['watch', 'list', 'get'], apiGroups: ['apps'], resources: ['replicasets', 'statefulsets'] },
          { verbs: ['watch', 'list'], apiGroups: ['policy'], resources: ['poddisruptionbudgets'] },
        ],
      },
      {
        kind: 'Role',
        name: 'cluster-autoscaler',
        namespace: 'kube-system',
        binding: 'cluster-autoscaler',
        rules: [
          {
            verbs: ['get', 'update'],
            apiGroups: [''],
            resources: ['configmaps'],
            resourceNames: ['cluster-autoscaler-status'],
          },
        ],
      },
    ],
  },
  {
    id: 'aws-load-balancer-controller',
    identity: { kind: 'service-account', namespace: 'kube-system', name: 'aws-load-balancer-controller' },
    replicas: 1,
    userAgent: 'controller/v0.0.0 (linux/amd64) kubernetes/$Format',
    tasks: [
      ...leaderLease('kube-system', 'aws-load-balancer-controller-leader', 'addon-leader-election'),
      watch('ingresses', { class: 'ingress-controller', group: 'networking.k8s.io' }),
      watch('services', { class: 'ingress-controller' }),
      watch('endpointslices', { class: 'ingress-controller', group: 'discovery.k8s.io' }),
      watch('pods', { class: 'ingress-controller' }),
      watch('nodes', { class: 'ingress-controller' }),
      watch('targetgroupbindings', { class: 'ingress-controller', group: 'elbv2.k8s.aws', version: 'v1beta1' }),
      // Assumption: target health is written back to one TargetGroupBinding a minute.
      {
        class: 'ingress-controller',
        verb: 'patch',
        resource: 'targetgroupbindings',
        sub: 'status',
        group: 'elbv2.k8s.aws',
        version: 'v1beta1',
        namespace: 'checkout',
        name: 'k8s-checkout-checkout-web-tgb',
        periodS: 60,
        jitterS: 5,
      },
    ],
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'aws-load-balancer-controller-role',
        binding: 'aws-load-balancer-controller-rolebinding',
        rules: [
          { verbs: READ, apiGroups: [''], resources: ['services', 'pods', 'nodes', 'endpoints'] },
          { verbs: READ, apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
          { verbs: READ, apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'] },
          {
            verbs: [...READ, 'patch', 'update'],
            apiGroups: ['elbv2.k8s.aws'],
            resources: ['targetgroupbindings', 'targetgroupbindings/status'],
          },
        ],
      },
      {
        kind: 'Role',
        name: 'aws-load-balancer-controller-leader-election-role',
        namespace: 'kube-system',
        binding: 'aws-load-balancer-controller-leader-election-rolebinding',
        rules: leaseRules('aws-load-balancer-controller-leader'),
      },
    ],
  },
  {
    id: 'prometheus',
    identity: { kind: 'service-account', namespace: 'monitoring', name: 'prometheus' },
    replicas: 1,
    userAgent: 'Prometheus/2.53.0',
    // Kubernetes service discovery: one watch per discovered role.
    tasks: ['pods', 'nodes', 'endpoints', 'services'].map((r) => watch(r, { class: 'monitoring' })),
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'prometheus',
        binding: 'prometheus',
        rules: [{ verbs: READ, apiGroups: [''], resources: ['pods', 'nodes', 'endpoints', 'services'] }],
      },
    ],
  },
  {
    id: 'kube-state-metrics',
    identity: { kind: 'service-account', namespace: 'kube-system', name: 'kube-state-metrics' },
    replicas: 1,
    userAgent: 'kube-state-metrics/v2.13.0 (linux/amd64) kubernetes/$hash',
    tasks: [
      ...[
        'pods',
        'nodes',
        'services',
        'endpoints',
        'namespaces',
        'persistentvolumeclaims',
        'secrets',
        'configmaps',
      ].map((r) => watch(r, { class: 'monitoring' })),
      ...['deployments', 'replicasets', 'daemonsets', 'statefulsets'].map((r) =>
        watch(r, { class: 'monitoring', group: 'apps' }),
      ),
    ],
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'kube-state-metrics',
        binding: 'kube-state-metrics',
        rules: [
          { verbs: ['list', 'watch'], apiGroups: [''], resources: ['*'] },
          { verbs: ['list', 'watch'], apiGroups: ['apps'], resources: ['*'] },
        ],
      },
    ],
  },
  {
    id: 'metrics-agent',
    identity: { kind: 'service-account', namespace: 'monitoring', name: 'metrics-agent' },
    replicas: 1,
    userAgent: 'metrics-agent/v0.0.0 (linux/amd64) kubernetes/$Format',
    tasks: [
      // Assumption: a collector that polls instead of watching, every 30 s.
      { class: 'monitoring', verb: 'list', resource: 'pods', periodS: 30, jitterS: 1 },
      { class: 'monitoring', verb: 'list', resource: 'nodes', periodS: 30, jitterS: 1 },
    ],
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'metrics-agent',
        binding: 'metrics-agent',
        rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'nodes'] }],
      },
    ],
  },
  {
    id: 'app-operator',
    identity: { kind: 'service-account', namespace: 'operators', name: 'app-operator' },
    replicas: 1,
    busiestOnly: true,
    objectsPerNode: 0.5,
    userAgent: 'manager/v0.0.0 (linux/amd64) kubernetes/$Format',
    tasks: [
      ...leaderLease('operators', 'app-operator-leader', 'addon-leader-election'),
      // Assumption: a reconciler without an informer cache re-reads each of its objects, the Secret and
      // ConfigMap it renders, and patches the object's status on every 10 s requeue.
      ...(
        [
          ['get', 'appconfigs', undefined, '$object'],
          ['patch', 'appconfigs', 'status', '$object'],
          ['get', 'secrets', undefined, '$object-credentials'],
          ['get', 'configmaps', undefined, '$object-config'],
        ] as const
      ).map(
        ([verb, resource, sub, name]): TaskSpec => ({
          class: 'chatty-operator',
          verb,
          resource,
          sub,
          group: resource === 'appconfigs' ? 'platform.example.com' : undefined,
          name,
          perObject: true,
          periodS: 10,
          jitterS: 1,
        }),
      ),
    ],
    rbac: [
      {
        kind: 'ClusterRole',
        name: 'app-operator',
        binding: 'app-operator',
        rules: [
          { verbs: ['*'], apiGroups: ['platform.example.com'], resources: ['appconfigs', 'appconfigs/status'] },
          { verbs: [...READ, 'create', 'update'], apiGroups: [''], resources: ['secrets', 'configmaps'] },
        ],
      },
      {
        kind: 'Role',
        name: 'app-operator-leader-election',
        namespace: 'operators',
        binding: 'app-operator-leader-election',
        rules: leaseRules('app-operator-leader'),
      },
    ],
  },
  {
    id: 'eks:addon-manager',
    identity: { kind: 'eks-internal', username: 'eks:addon-manager' },
    replicas: 1,
    userAgent: 'eks-addon-manager/v0.0.0 (linux/amd64) kubernetes/$Format',
    // Assumption: managed add-ons are reconciled every 5 min and re-applied hourly.
    tasks: [
      ...['aws-node', 'kube-proxy'].map(
        (name): TaskSpec => ({
          class: 'eks-internal',
          verb: 'get',
          resource: 'daemonsets',
          group: 'apps',
          namespace: 'kube-system',
          name,
          periodS: 300,
          jitterS: 5,
        }),
      ),
      {
        class: 'eks-internal',
        verb: 'get',
        resource: 'deployments',
        group: 'apps',
        namespace: 'kube-system',
        name: 'coredns',
        periodS: 300,
        jitterS: 5,
      },
      {
        class: 'eks-internal',
        verb: 'get',
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'kube-proxy-config',
        periodS: 300,
        jitterS: 5,
      },
      {
        class: 'eks-internal',
        verb: 'patch',
        resource: 'daemonsets',
        group: 'apps',
        namespace: 'kube-system',
        name: 'aws-node',
        periodS: 3600,
        jitterS: 60,
      },
    ],
  },
  {
    id: 'eks:node-manager',
    identity: { kind: 'eks-internal', username: 'eks:node-manager' },
    replicas: 1,
    userAgent: 'eks-node-manager/v0.0.0 (linux/amd64) kubernetes/$Format',
    tasks: [
      { class: 'eks-internal', verb: 'list', resource: 'nodes', periodS: 300, jitterS: 5 },
      { class: 'eks-internal', verb: 'list', resource: 'pods', periodS: 300, jitterS: 5 },
    ],
  },
];

/** Share of logged requests made by IAM humans and automation in the realistic mix (well under 5 % in real clusters). */
export const REALISTIC_HUMAN_SHARE = 0.015;
/** Share of anonymous probes of the public endpoint. */
export const REALISTIC_ANONYMOUS_SHARE = 0.0005;

/** The realistic fleet: one busy cluster and three smaller ones. */
export const REALISTIC_FLEET: Omit<FleetOptions, 'seed'> = {
  mix: 'realistic',
  clusters: 4,
  accountsPerOrg: 3,
  ssoUsers: 40,
  iamUsers: 12,
  roles: 4,
  nodesPerCluster: 10,
  nodeCounts: [100, 30, 12, 6],
  serviceAccounts: 4,
};

/** The bench's fleet for the human-heavy mix. */
export const HUMAN_HEAVY_FLEET: Omit<FleetOptions, 'seed'> = {
  clusters: 6,
  accountsPerOrg: 3,
  ssoUsers: 40,
  iamUsers: 12,
  roles: 4,
  nodesPerCluster: 10,
  serviceAccounts: 4,
};

/** Nodes of each cluster of a fleet built from these options (as sim/fleet.ts builds it). */
export const nodeCountsOf = (opts: Omit<FleetOptions, 'seed'>): number[] =>
  Array.from({ length: Math.max(1, opts.clusters) }, (_, c) =>
    Math.max(1, opts.nodeCounts?.[c] ?? opts.nodesPerCluster),
  );

/** Index of the busiest cluster: the one with the most nodes, the first on a tie. */
export const busiestCluster = (nodeCounts: readonly number[]): number =>
  nodeCounts.reduce((best, n, i) => (n > (nodeCounts[best] ?? 0) ? i : best), 0);

/** Objects a per-object component reconciles on a cluster of this size. */
export const componentObjects = (spec: ComponentSpec, nodes: number): number =>
  Math.max(1, Math.round((spec.objectsPerNode ?? 0) * nodes));

/** Pods of a component that send requests on a cluster of this size. */
export const componentPods = (spec: ComponentSpec, nodes: number): number =>
  spec.replicas === 'per-node' ? nodes : spec.replicas;

/** Mean seconds between two requests of one task. */
export const meanPeriodS = (t: TaskSpec): number =>
  t.watch ? WATCH_MEAN_PERIOD_S : (t.periodS ?? 60) + (t.jitterS ?? 0) / 2;

/** Expected logged requests per second of each machine class on each cluster (humans excluded). */
export const machineRates = (nodeCounts: readonly number[]): Map<TrafficClassId, number>[] => {
  const busiest = busiestCluster(nodeCounts);
  return nodeCounts.map((nodes, ci) => {
    const rates = new Map<TrafficClassId, number>();
    for (const spec of REALISTIC_COMPONENTS) {
      if (spec.busiestOnly && ci !== busiest) continue;
      const pods = componentPods(spec, nodes);
      const objects = componentObjects(spec, nodes);
      for (const t of spec.tasks) {
        if (t.dropped) continue;
        const r = (pods * (t.perObject ? objects : 1)) / meanPeriodS(t);
        rates.set(t.class, (rates.get(t.class) ?? 0) + r);
      }
    }
    return rates;
  });
};

const sum = (xs: Iterable<number>): number => {
  let s = 0;
  for (const x of xs) s += x;
  return s;
};

/** Logged requests per second of the whole realistic fleet with these node counts, humans included. */
export const realisticRequestsPerSecond = (nodeCounts: readonly number[]): number =>
  sum(machineRates(nodeCounts).map((m) => sum(m.values()))) / (1 - REALISTIC_HUMAN_SHARE - REALISTIC_ANONYMOUS_SHARE);

const REALISTIC_SOURCES: Record<TrafficClassId, string> = {
  'kubelet-lease':
    'Kubernetes docs, "Leases" and node heartbeats: the kubelet renews its Lease in kube-node-lease every 10 s (0.25 x the 40 s lease duration)',
  'kubelet-status':
    'Kubernetes docs, node heartbeats: the kubelet reports NodeStatus when it changes or every nodeStatusReportFrequency (5 min default)',
  'kubelet-reads':
    'client-go reflectors re-watch after timeoutSeconds, uniform in [5, 10) min; the nine watched kinds per node are an assumption',
  'control-plane-leader-election':
    'client-go leader election: the leader renews every RetryPeriod (2 s, the kube-controller-manager and kube-scheduler default); one get a minute is an assumption',
  'addon-leader-election':
    'client-go / controller-runtime leader election defaults (RetryPeriod 2 s) for cluster-autoscaler, aws-load-balancer-controller and the operator',
  'vpc-cni': 'assumption: aws-node reads its node and lists the pods on it every 60 s, patches its node every 30 min',
  'dns-and-proxy':
    'CoreDNS (2 replicas) and kube-proxy (one per node) watch Services and EndpointSlices; re-watch every 5-10 min',
  monitoring:
    'assumption: a collector lists pods and nodes every 30 s; Prometheus discovery and kube-state-metrics watch (re-watch every 5-10 min)',
  autoscaler:
    'cluster-autoscaler rewrites its status ConfigMap every scan (--scan-interval 10 s default) and watches pods, nodes and workloads',
  'ingress-controller':
    'assumption: aws-load-balancer-controller watches 6 kinds and patches one TargetGroupBinding status a minute',
  'chatty-operator':
    "published: one controller service account made 71 % of a cluster's 634k events; here an uncached reconciler of 0.5 objects per node on the busiest cluster, 4 requests per object every 10 s",
  'other-service-accounts': 'none in this mix',
  'eks-internal':
    'assumption: eks:addon-manager and eks:node-manager reconcile every 5 min (IAM-mapped as in the human-heavy mix)',
  'iam-humans-and-automation':
    'published: IAM-authenticated humans and CI are well under 5 % of real audit volume; set to 1.5 %, with the human-heavy denials',
  anonymous: 'assumption: internet scanners probing a public endpoint',
};

const realisticMix = (): TrafficMix => {
  const counts = nodeCountsOf(REALISTIC_FLEET);
  const perCluster = machineRates(counts);
  const total = realisticRequestsPerSecond(counts);
  const byClass = new Map<TrafficClassId, number>();
  for (const m of perCluster) for (const [k, v] of m) byClass.set(k, (byClass.get(k) ?? 0) + v);
  byClass.set('iam-humans-and-automation', total * REALISTIC_HUMAN_SHARE);
  byClass.set('anonymous', total * REALISTIC_ANONYMOUS_SHARE);
  return {
    name: 'realistic',
    description:
      'Kubelets, control-plane components, add-ons and one chatty operator on fixed periods; IAM humans and automation 1.5 %',
    fleet: REALISTIC_FLEET,
    requestsPerSecond: total,
    // Humans and anonymous probes spread over the clusters like the machines (their cluster is picked uniformly).
    clusterRequestsPerSecond: perCluster.map(
      (m) => sum(m.values()) + (total * (REALISTIC_HUMAN_SHARE + REALISTIC_ANONYMOUS_SHARE)) / counts.length,
    ),
    shares: orderedShares(byClass, total, REALISTIC_SOURCES),
  };
};

const orderedShares = (
  byClass: Map<TrafficClassId, number>,
  total: number,
  sources: Partial<Record<TrafficClassId, string>>,
): TrafficShare[] =>
  (Object.keys(TRAFFIC_CLASSES) as TrafficClassId[])
    .filter((id) => (byClass.get(id) ?? 0) > 0)
    .map((id) => ({
      id,
      class: TRAFFIC_CLASSES[id],
      share: (byClass.get(id) ?? 0) / total,
      source: sources[id] ?? 'simulator actor weights',
    }));

// -----------------------------------------------------------------------------------------------
// Human-heavy: weighted random picks (sim/scenario.ts buildActors)
// -----------------------------------------------------------------------------------------------

/** Default share of requests outside the caller's permissions (ScenarioOptions.forbiddenFraction). */
const DEFAULT_FORBIDDEN = 0.05;

/**
 * Expected shares of the human-heavy mix for a fleet: each request picks an actor in proportion to its
 * weight. The weights mirror sim/scenario.ts buildActors; test/sim checks them against generated traffic.
 */
export const humanHeavyShares = (opts: Omit<FleetOptions, 'seed'>, forbiddenFraction = DEFAULT_FORBIDDEN) => {
  const clusters = Math.max(1, opts.clusters);
  const nodes = sum(nodeCountsOf(opts));
  const users = Math.max(2, opts.iamUsers);
  const sso = 3 * Math.max(3, opts.ssoUsers);
  // iam-user, platform-admin per other user, team families, platform-operator, creators, CI, partner.
  const humans = sso + 1 + 2 * (users - 1) + Math.max(1, opts.roles) + 0.1 + 0.3 * clusters + 4 + 0.3;
  const byClass = new Map<TrafficClassId, number>([
    ['iam-humans-and-automation', humans],
    // A node sends one of four activities (one of them the status patch), or a stretch read when forbidden.
    ['kubelet-status', (nodes * (1 - forbiddenFraction)) / 4],
    ['kubelet-reads', nodes - (nodes * (1 - forbiddenFraction)) / 4],
    ['dns-and-proxy', 2 * clusters],
    ['other-service-accounts', 2 * (1 + Math.max(0, opts.serviceAccounts)) * clusters],
    ['eks-internal', 2],
    ['anonymous', 0.2],
  ]);
  const total = sum(byClass.values());
  return orderedShares(byClass, total, {
    'iam-humans-and-automation': 'simulator actor weights: SSO users 3 each, IAM users and assumed roles 1-2, CI 4',
    'kubelet-status': 'simulator actor weights: each node 1, a quarter of its picks the status patch',
  });
};

const humanHeavyMix = (): TrafficMix => {
  // The bench's window: one request every 166 ms across the fleet (bench/workload.ts windowMs).
  const rps = 1000 / 166;
  const clusters = Math.max(1, HUMAN_HEAVY_FLEET.clusters);
  return {
    name: 'human-heavy',
    description: 'Weighted random picks among actors: about half of the requests from IAM humans and CI',
    fleet: HUMAN_HEAVY_FLEET,
    requestsPerSecond: rps,
    // Every cluster has the same nodes and service accounts, and humans pick clusters evenly: about even.
    clusterRequestsPerSecond: Array.from({ length: clusters }, () => rps / clusters),
    shares: humanHeavyShares(HUMAN_HEAVY_FLEET),
  };
};

export const TRAFFIC_MIXES: Readonly<Record<TrafficMixName, TrafficMix>> = {
  'human-heavy': humanHeavyMix(),
  realistic: realisticMix(),
};
