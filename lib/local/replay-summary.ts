import type { AlertTally } from '../alerts/recorded-alerts.js';
import { SEVERITIES } from '../alerts/types.js';
import { ACCEPTED_SHAPES } from '../sources/log-exports.js';
import type { ReplaySummary } from './replay.js';

const ACCEPTED = '. Accepted shapes:';

/**
 * The replay summary as a person reads it: what landed, what was refused and why, and what the
 * replayed data could not tie (with the command or file that would tie it).
 */

const iso = (t: number): string => new Date(t).toISOString();

const byKind = (s: ReplaySummary): string =>
  Object.entries(
    s.files.reduce<Record<string, number>>((acc, f) => {
      acc[f.shape] = (acc[f.shape] ?? 0) + 1;
      return acc;
    }, {}),
  )
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');

/** What to do about what could not be tied; empty when everything was tied. */
export const replayHints = (s: ReplaySummary): string[] => {
  const u = s.untied;
  const hints: string[] = [];
  const span =
    s.firstEventAt !== undefined && s.lastEventAt !== undefined
      ? ` from ${iso(s.firstEventAt)} to ${iso(s.lastEventAt)}`
      : '';
  if (u.noAccount > 0) {
    hints.push(
      `${u.noAccount} requests on ${u.clustersWithoutAccount.join(', ')} are filed under no account (the logs do not name it): ` +
        'pass --account <12-digit id>, or replay the CloudTrail of that account too (its EKS events name the cluster)',
    );
  }
  if (u.noIssuance > 0) {
    const keys = u.accessKeys.join(', ') + (u.accessKeyCount > u.accessKeys.length ? ', …' : '');
    hints.push(
      `${u.noIssuance} requests used ${u.accessKeyCount} temporary access keys with no AssumeRole* issuance in what was replayed (${keys}): ` +
        `the human behind them is unknown; replay the CloudTrail (STS AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity)${span} of the account that issued them`,
    );
  }
  for (const [cluster, n] of Object.entries(u.noMappingHistory).sort(([a], [b]) => (a < b ? -1 : 1))) {
    hints.push(
      `${n} requests on ${cluster} name an IAM principal that no known aws-auth or access-entry history maps: ` +
        `run \`eks-trail backfill --cluster ${cluster}\` (reads the access entries and aws-auth), ` +
        `or replay \`kubectl get cm aws-auth -n kube-system -o yaml > ${cluster}.yaml\` with --at, and the CloudTrail of its access-entry changes`,
    );
  }
  const quarantined = Object.values(s.quarantined).reduce((n: number, v) => n + (v ?? 0), 0);
  if (quarantined > 0 && s.quarantinedFrom !== undefined && s.quarantinedTo !== undefined) {
    hints.push(
      `${quarantined} records were quarantined with their raw text: list them with ` +
        `\`eks-trail quarantine --from ${iso(s.quarantinedFrom)} --to ${iso(s.quarantinedTo + 1)}\``,
    );
  }
  return hints;
};

const alertsLine = (a: AlertTally): string => {
  const total = SEVERITIES.reduce((n, sev) => n + a.raised[sev], 0);
  const parts = SEVERITIES.filter((sev) => a.raised[sev] > 0).map((sev) => `${a.raised[sev]} ${sev}`);
  return `alerts: ${total} raised${parts.length ? ` (${parts.join(', ')})` : ''}${a.alreadyRecorded ? `; ${a.alreadyRecorded} already recorded` : ''} (eks-trail alerts lists them)`;
};

export const renderReplaySummary = (s: ReplaySummary): string => {
  const q = Object.entries(s.quarantined).sort(([a], [b]) => (a < b ? -1 : 1));
  const qTotal = q.reduce((n, [, v]) => n + (v ?? 0), 0);
  const skipped = s.skipped;
  const skippedTotal =
    skipped.otherStreams +
    skipped.uninterestingAuthenticatorLines +
    skipped.controlMessages +
    skipped.cloudTrailNotTracked;
  const lines = [
    `files: ${s.files.length} read${s.files.length ? ` (${byKind(s)})` : ''}, ${s.refused.length} refused${s.ignored.length ? `, ${s.ignored.length} hidden ignored` : ''}`,
    ...s.refused.map(
      (r) =>
        `  refused ${r.path} [${r.code}]${r.recordsRead !== undefined ? ` after ${r.recordsRead} records` : ''}: ${r.message.split(ACCEPTED)[0]}`,
    ),
    ...(s.refused.some((r) => r.message.includes(ACCEPTED))
      ? [`  accepted shapes:`, ...ACCEPTED_SHAPES.map((a) => `    - ${a}`)]
      : []),
    s.firstEventAt !== undefined && s.lastEventAt !== undefined
      ? `events from ${iso(s.firstEventAt)} to ${iso(s.lastEventAt)}`
      : 'events: none with a time',
    `records: ${s.logEvents} log events, ${s.cloudTrailRecords} CloudTrail records; duplicates: ${s.duplicates}`,
    `requests: ${s.requests} distinct stored; authentication failures: ${s.authnFailureChains}${s.countsBounded ? ' (distinct requests and duplicates counted against the first 500,000 only)' : ''}`,
    `mapping changes: ${s.mappingChanges} (${s.newMappingChanges} new); credentials: ${s.credentials} new`,
    `skipped: ${skippedTotal}${
      skippedTotal
        ? ` (other control-plane streams ${skipped.otherStreams}, authenticator lines of no interest ${skipped.uninterestingAuthenticatorLines}, control messages ${skipped.controlMessages}, CloudTrail events not tracked ${skipped.cloudTrailNotTracked})`
        : ''
    }`,
    `quarantined: ${qTotal}${q.length ? ` (${q.map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`,
    ...(s.invalidUtf8 ? [`invalid UTF-8: ${s.invalidUtf8} records read with U+FFFD (flagged)`] : []),
    ...(s.alerts ? [alertsLine(s.alerts)] : []),
    ...(s.failedItems ? [`FAILED items (store faults): ${s.failedItems}`] : []),
  ];
  const hints = replayHints(s);
  if (hints.length) lines.push('not tied or not read, and what to do:', ...hints.map((h) => `  - ${h}`));
  return lines.join('\n');
};
