/**
 * Text and JSON forms of alerts and findings: the text form is what people read in e-mail and chat
 * (SNS e-mail subscriptions show Subject and Message verbatim), the JSON form is for machines.
 */
import { describeActor } from './alert-actors.js';
import type { Alert, Finding, Severity } from './types.js';
import { SEVERITIES, severityRank } from './types.js';

/** SNS rejects a Subject over 100 characters. */
export const SUBJECT_MAX = 100;

/** SNS Message limit is 256 KB; leave room for message attributes and the JSON envelope of e-mail-json. */
export const BODY_MAX_BYTES = 240 * 1024;

/**
 * A subject SNS accepts: printable ASCII only (no line breaks or control characters), must not
 * start with whitespace, at most 100 characters. Non-ASCII is replaced rather than dropped so that
 * text stays readable.
 */
export const safeSubject = (text: string): string => {
  const ascii = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  if (ascii.length <= SUBJECT_MAX) return ascii || 'eks-access-trail';
  return `${ascii.slice(0, SUBJECT_MAX - 3).trimEnd()}...`;
};

/** Cuts text to a byte budget on a character boundary, saying so. */
export const capBytes = (text: string, maxBytes = BODY_MAX_BYTES): string => {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const note = '\n[truncated: the full content is in the JSON form and in the trail table]';
  let cut = text.slice(0, maxBytes - note.length);
  while (Buffer.byteLength(cut, 'utf8') > maxBytes - note.length) cut = cut.slice(0, -1);
  return `${cut}${note}`;
};

const SEVERITY_LABEL: Record<Severity, string> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  low: 'LOW',
  info: 'INFO',
};

const clusterLabel = (cluster: string, accountId?: string): string => (accountId ? `${accountId}/${cluster}` : cluster);

export const alertSubject = (alert: Alert): string =>
  safeSubject(`[${SEVERITY_LABEL[alert.severity]}] ${clusterLabel(alert.cluster, alert.accountId)}: ${alert.title}`);

/** Readable body: header fields, then the diff lines, then related facts. */
export const alertBody = (alert: Alert): string => {
  const lines = [
    alert.title,
    '',
    `Severity: ${SEVERITY_LABEL[alert.severity]}`,
    `Rule:     ${alert.ruleId}`,
    `Cluster:  ${clusterLabel(alert.cluster, alert.accountId)}`,
    `When:     ${alert.at}`,
    `Actor:    ${describeActor(alert.actor)}`,
  ];
  if (alert.actor.accessKeyId) lines.push(`Key:      ${alert.actor.accessKeyId}`);
  lines.push(`Human:    ${alert.human ?? 'unknown (no credential issuance recorded for the actor)'}`);
  lines.push('', 'Change:');
  for (const l of alert.diff.lines) lines.push(`  ${l}`);
  const r = alert.related;
  if (r) {
    const facts: string[] = [];
    if (r.principalArn) facts.push(`Principal: ${r.principalArn}`);
    if (r.policyArn) facts.push(`Policy:    ${r.policyArn}`);
    if (r.mappingKey)
      facts.push(`Mapping:   ${r.mappingKey}${r.mappingCreatedAt ? ` (since ${r.mappingCreatedAt})` : ''}`);
    if (r.request) {
      const q = r.request;
      facts.push(`Request:   ${q.chainId}${q.statusCode !== undefined ? ` -> ${q.statusCode}` : ''}`);
    }
    for (const n of r.notes ?? []) facts.push(`Note:      ${n}`);
    if (facts.length > 0) lines.push('', ...facts);
  }
  if (alert.evidence) lines.push('', `Evidence: ${alert.evidence.command}`);
  lines.push('', `Source events: ${alert.sourceEventIds.join(', ')}`, `Alert id: ${alert.alertId}`);
  return capBytes(lines.join('\n'));
};

export const renderAlertText = (alert: Alert): { subject: string; body: string } => ({
  subject: alertSubject(alert),
  body: alertBody(alert),
});

/** Stable JSON (2-space indent) for webhooks and files. */
export const renderAlertJson = (alert: Alert): string => JSON.stringify(alert, null, 2);

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

export const countBySeverity = (items: readonly { severity: Severity }[]): Record<Severity, number> => {
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const i of items) counts[i.severity] += 1;
  return counts;
};

const countsText = (counts: Record<Severity, number>): string =>
  SEVERITIES.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');

/** Text report for the CLI and the daily e-mail: findings grouped by cluster, most severe first. */
export const renderFindingsReport = (findings: readonly Finding[]): string => {
  if (findings.length === 0) return 'No posture findings.';
  const byCluster = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = clusterLabel(f.cluster, f.accountId);
    const list = byCluster.get(key) ?? [];
    list.push(f);
    byCluster.set(key, list);
  }
  const out = [
    `${findings.length} posture finding${findings.length === 1 ? '' : 's'} (${countsText(countBySeverity(findings))})`,
  ];
  for (const [cluster, list] of [...byCluster].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push('', `== ${cluster} (${countsText(countBySeverity(list))})`);
    const sorted = [...list].sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
    for (const f of sorted) {
      out.push(`[${SEVERITY_LABEL[f.severity]}] ${f.title}`);
      out.push(`    rule: ${f.ruleId}${f.since ? `  in force since: ${f.since}` : ''}`);
      out.push(`    ${f.detail}`);
      for (const c of f.commands ?? []) out.push(`    $ ${c}`);
    }
  }
  return out.join('\n');
};

/** Subject and body of the daily posture e-mail. */
export const renderFindingsSummary = (
  findings: readonly Finding[],
  clusters: number,
): { subject: string; body: string } => {
  const counts = countBySeverity(findings);
  const worst = SEVERITIES.find((s) => counts[s] > 0);
  const subject = safeSubject(
    `[${worst ? SEVERITY_LABEL[worst] : 'OK'}] eks-access-trail posture: ${findings.length} finding${findings.length === 1 ? '' : 's'} on ${clusters} cluster${clusters === 1 ? '' : 's'}`,
  );
  return { subject, body: capBytes(renderFindingsReport(findings)) };
};
