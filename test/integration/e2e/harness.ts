import type { Context } from 'aws-lambda';
import { type DerivationSource, finalChains } from '../../../lib/chain/rederive.js';
import type { DecisionChain } from '../../../lib/chain/types.js';
import type { MappingChange } from '../../../lib/identity/types.js';
import { awsAuthSnapshotChange } from '../../../lib/local/replay.js';
import type { ClusterRef } from '../../../lib/store/keys.js';
import type { GroundTruth } from '../../../sim/index.js';
import { type AgreementReport, agreementReport } from '../../../sim/truth-compare.js';

/** Shared plumbing of the end-to-end ground-truth tests. */

export const lambdaContext = (name: string): Context =>
  ({
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:999900001111:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: 'e2e00000-0000-4000-8000-000000000000',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: '2025/06/02/[$LATEST]e2e',
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }) as unknown as Context;

/**
 * The aws-auth ConfigMap as it stood when monitoring began: the operator's backfill (`kubectl get cm
 * aws-auth -o yaml`). Later edits reach the product through the audit log.
 */
export const awsAuthBackfill = (yamlOrData: string, cluster: string, accountId: string, at: string): MappingChange =>
  awsAuthSnapshotChange(yamlOrData, cluster, at, accountId, `aws-auth of ${cluster}`);

/** Request chains of every cluster the truth names, re-derived as the query layer reads them, keyed by auditID. */
export const requestChainsByAuditId = async (
  store: DerivationSource,
  truths: readonly GroundTruth[],
  range: { from: string; to: string },
): Promise<Map<string, DecisionChain>> => {
  const refs = new Map<string, ClusterRef>();
  for (const t of truths) refs.set(`${t.accountId}/${t.cluster}`, { cluster: t.cluster, accountId: t.accountId });
  const out = new Map<string, DecisionChain>();
  for (const ref of refs.values()) {
    for (const c of await finalChains(store, ref, range)) {
      if (c.kind === 'request' && c.auditID) out.set(c.auditID, c);
    }
  }
  return out;
};

export const compareAll = (truths: readonly GroundTruth[], chains: ReadonlyMap<string, DecisionChain>) =>
  agreementReport(truths.map((truth) => ({ chain: chains.get(truth.auditID), truth })));

/** Readable summary for a failing assertion. */
export const describeReport = (r: AgreementReport): string =>
  [
    `${r.agreeing}/${r.requests} requests agree (${(r.agreement * 100).toFixed(2)}%); excused as unknowable: ${JSON.stringify(r.excused)}`,
    ...r.classes.map((c) => `  ${c.field}: ${c.shape} x${c.count} e.g. ${c.examples.slice(0, 3).join(', ')}`),
  ].join('\n');
