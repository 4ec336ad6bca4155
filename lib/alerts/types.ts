/**
 * Alerts on identity-mapping changes and posture findings over the mapping state. Plain data: the
 * rules are pure, and the ledger (dedupe) and sink (SNS) are ports, so the same code runs in Lambda,
 * in the CLI's local mode and in tests.
 */
import type { MappingActor } from '../identity/types.js';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** Most severe first; used to sort and to compare. */
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

/** The more severe of two severities. */
export const maxSeverity = (a: Severity, b: Severity): Severity => (severityRank(a) <= severityRank(b) ? a : b);

/** Stable rule identifiers: suppressions and downstream filters name them, never reword them. */
export const MAPPING_RULE_IDS = [
  'access-entry-created',
  'access-entry-updated',
  'access-entry-deleted',
  'access-entry-churn',
  'access-policy-associated',
  'access-policy-disassociated',
  'aws-auth-created',
  'aws-auth-edited',
  'aws-auth-deleted',
  'aws-auth-unparseable',
  'system-masters-mapping',
  'untrusted-account-mapping',
  'aws-auth-map-accounts',
  'auth-mode-changed',
  'control-plane-logging-disabled',
  'cluster-created-creator-admin',
  'new-mapping-first-use',
  'pod-identity-association-created',
  'pod-identity-association-updated',
  'pod-identity-association-deleted',
  'pod-identity-escalation',
  'pod-identity-cross-account-target',
  'pod-identity-session-tags-disabled',
  'identity-provider-associated',
  'identity-provider-disassociated',
] as const;

export type MappingRuleId = (typeof MAPPING_RULE_IDS)[number];

export interface AlertActor {
  /** The caller's ARN as the source gave it (STS assumed-role form for sessions). */
  awsArn?: string;
  /** Canonical ARN (path-less role, users keep their path). */
  canonicalArn?: string;
  accessKeyId?: string;
  accountId?: string;
  /** Set for changes made through the Kubernetes API (aws-auth edits). */
  k8sUsername?: string;
  /** AWS service that made the call on the caller's behalf (CloudTrail invokedBy), e.g. eks.amazonaws.com. */
  invokedBy?: string;
}

export interface AlertDiff {
  before?: unknown;
  after?: unknown;
  /** Human-readable lines: `- old` / `+ new` / `  context`. */
  lines: string[];
}

/** A request that used a mapping (first-use alerts). */
export interface AlertRequestRef {
  chainId: string;
  at: string;
  verb?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  requestURI?: string;
  statusCode?: number;
  decision?: string;
  username?: string;
}

/**
 * Where an alert's evidence is read: the question (CLI, query API, console) that shows the change or the
 * request behind it, with its parameters. A pure function of the alert, stored with it in the ledger so
 * a listing links to it without deriving anything.
 */
export interface AlertEvidence {
  question: 'explain' | 'mappings-history';
  /** The question's parameters, as the CLI and the query API take them (cluster is `<account>/<name>`). */
  params: Record<string, string>;
  /** The same as an `eks-trail` command line. */
  command: string;
}

export interface Alert {
  /** Deterministic: rule id + source event id (+ sub key). The ledger dedupes on it. */
  alertId: string;
  ruleId: MappingRuleId;
  severity: Severity;
  cluster: string;
  accountId?: string;
  /** When the change happened (the change's own clock, never the evaluation time). */
  at: string;
  title: string;
  actor: AlertActor;
  /** The person behind the actor when known (SSO session, IAM user, AssumeRole* caller). */
  human?: string;
  diff: AlertDiff;
  sourceEventIds: string[];
  related?: {
    principalArn?: string;
    policyArn?: string;
    mappingKey?: string;
    mappingCreatedAt?: string;
    mappingActor?: MappingActor;
    request?: AlertRequestRef;
    /** Free-form notes (e.g. why the severity was raised). */
    notes?: string[];
  };
  /** The question that shows the evidence (absent on alerts recorded before it was kept). */
  evidence?: AlertEvidence;
}

/** A rule that silences alerts; every field given must match (an empty rule matches nothing). */
export interface AlertSuppression {
  ruleId?: string;
  /** Glob (`*` any run of characters, `?` one) over the mapped principal ARN or the actor ARN. */
  principal?: string;
  cluster?: string;
}

export interface AlertConfig {
  /** Accounts whose principals may be mapped without an alert (the cluster's own account always may). */
  trustedAccountIds: string[];
  /** AWS Organizations id, shown in alerts; membership cannot be checked offline. */
  organizationId?: string;
  suppressions: AlertSuppression[];
  /** A mapping created at most this many days before its first use raises a first-use alert. */
  recentMappingDays: number;
  /** Posture: a mapping unused for this many days is reported. */
  unusedMappingDays: number;
}

export const DEFAULT_ALERT_CONFIG: AlertConfig = {
  trustedAccountIds: [],
  suppressions: [],
  recentMappingDays: 7,
  unusedMappingDays: 90,
};

/** When a mapping (see mappingKey) was first and last used on a cluster. Times ISO, µs, UTC. */

export type PostureRuleId =
  | 'iam-user-mapped'
  | 'system-masters-mapping'
  | 'cluster-admin-policy'
  | 'aws-auth-row-never-matches'
  | 'aws-auth-shadowed-duplicate'
  | 'aws-auth-map-accounts'
  | 'aws-auth-migration'
  | 'aws-auth-unparseable'
  | 'creator-invisible-admin'
  | 'mapping-unused'
  | 'pod-identity-escalation-path'
  | 'pod-identity-cross-account-target'
  | 'pod-identity-session-tags-disabled'
  | 'pod-identity-privileged-service-account'
  | 'oidc-identity-provider';

export interface Finding {
  /** Deterministic: rule id + cluster + subject. */
  findingId: string;
  ruleId: PostureRuleId;
  severity: Severity;
  cluster: string;
  accountId?: string;
  title: string;
  detail: string;
  principalArn?: string;
  mappingKey?: string;
  /** Commands that fix or migrate it (aws eks …), in order. */
  commands?: string[];
  /** The change that put the mapping in force. */
  since?: string;
  sourceEventId?: string;
}

/** Delivery port (SNS in Lambda, stdout in the CLI, an array in tests). */
export interface AlertSink {
  publish(alert: Alert): Promise<void>;
}

// The alert ledger and mapping usage are parts of the storage port (lib/store/trail-store.ts).
export type { AlertLedger, MappingUsage, MappingUsagePort, RecordUseResult } from '../store/trail-store.js';
