import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeActor } from '../../../lib/alerts/alert-actors.js';
import { recordedAlerts } from '../../../lib/alerts/recorded-alerts.js';
import { type AlertConfig, DEFAULT_ALERT_CONFIG, SEVERITIES, type Severity } from '../../../lib/alerts/types.js';
import { type ReplaySummary, replayFiles } from '../../../lib/local/replay.js';
import type { AlertRow, AlertsQuestion } from '../../../lib/query/alerts.js';
import { rerunAlerts } from '../../../lib/query/alerts-rerun.js';
import { QueryParamError } from '../../../lib/query/errors.js';
import { formatCsv } from '../../../lib/query/format.js';
import { csvColumns } from '../../../lib/query/output-columns.js';
import { parseQuestionParams } from '../../../lib/query/params.js';
import { type QueryAnswer, runQuestion } from '../../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../../lib/store/dynamodb/dynamodb-trail-store.js';
import { createTestTable, type Engine, startEngine } from '../../support/engine.js';
import { dumpTable } from '../../support/table-dump.js';

/**
 * Alerts in local mode, on real public samples replayed through the real pipelines into a real engine:
 * the aws-cli example CloudTrail records, the stratus red team access entry and ClusterAdmin
 * association, the stratus aws-auth backdoor (an audit event completed around the excerpt) over the
 * aws-auth it edited, and the KIEMPossible scenario. Replay raises what the deployed pipeline would
 * (same rules, ledger and suppressions); `alerts` lists the ledger; `alerts --rerun` evaluates the
 * rules over the stored history without writing.
 */

const FIXTURES = resolve(__dirname, '../../fixtures');
const NOW = Date.parse('2025-07-01T00:00:00Z');
const ALL_TIME = { from: '2019-01-01T00:00:00Z', to: '2025-07-01T00:00:00Z' };

let engine: Engine;
let table: string;
let store: DynamoDbTrailStore;
let dir: string;
const summaries: ReplaySummary[] = [];

/** The stratus backdoor ConfigMap without its backdoor row: the aws-auth the attacker edited. */
const baselineYaml = (): string => {
  const event = JSON.parse(
    readFileSync(join(FIXTURES, 'alerts/stratus-backdoor-aws-auth-audit.completed.json'), 'utf8'),
  );
  const mapRoles: string = event.requestObject.data.mapRoles;
  const cut = mapRoles.indexOf(
    '- groups:\n    - system:masters\n  rolearn: arn:aws:iam::012345678901:role/stratus-red-team',
  );
  return JSON.stringify({ ...event.requestObject, data: { mapRoles: mapRoles.slice(0, cut) } });
};

const replays = (): { paths: string[]; opts: Record<string, string> }[] => {
  const cloudtrail = join(dir, 'cloudtrail');
  const stratus = join(dir, 'stratus');
  for (const d of [cloudtrail, stratus]) rmSync(d, { recursive: true, force: true });
  mkdir(cloudtrail);
  mkdir(stratus);
  copyFileSync(join(FIXTURES, 'alerts/eks-records-from-aws-cli-examples.json'), join(cloudtrail, 'cli.json'));
  copyFileSync(
    join(FIXTURES, 'alerts/stratus-create-access-entry.fixed.json'),
    join(cloudtrail, 'stratus-create.json'),
  );
  copyFileSync(
    join(FIXTURES, 'alerts/stratus-associate-access-policy.completed.json'),
    join(cloudtrail, 'stratus-associate.json'),
  );
  const event = readFileSync(join(FIXTURES, 'alerts/stratus-backdoor-aws-auth-audit.completed.json'), 'utf8');
  writeFileSync(join(stratus, 'eks-cluster.aws-auth.json'), baselineYaml());
  // `aws logs filter-log-events` output around the one audit event (docs/formats.md §4).
  writeFileSync(
    join(stratus, 'eks-cluster.filter-log-events.json'),
    JSON.stringify({
      events: [
        {
          logStreamName: 'kube-apiserver-audit-1f2e3d4c5b6a79881f2e3d4c5b6a7988',
          timestamp: Date.parse('2024-03-05T10:15:42.131Z'),
          message: JSON.stringify(JSON.parse(event)),
          ingestionTime: Date.parse('2024-03-05T10:15:43.000Z'),
          eventId: '38111111111111111111111111111111111111111111111111111111',
        },
      ],
    }),
  );
  return [
    { paths: [cloudtrail], opts: {} },
    { paths: [join(FIXTURES, 'query/kiem')], opts: { at: '2024-08-05T00:00:00.000Z' } },
    // The baseline's creationTimestamp (2022-07-20) dates it before the edit.
    { paths: [stratus], opts: { accountId: '012345678901' } },
  ];
};

const mkdir = (d: string) => {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
};

const replayAll = async (config: AlertConfig = DEFAULT_ALERT_CONFIG): Promise<ReplaySummary[]> => {
  const out: ReplaySummary[] = [];
  for (const r of replays()) {
    out.push(
      await replayFiles(r.paths, store, {
        now: () => NOW,
        accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
        alerts: recordedAlerts(store, config),
        ...r.opts,
      }),
    );
  }
  return out;
};

const question = (params: Record<string, string>): AlertsQuestion => {
  const p = parseQuestionParams('alerts', params, NOW);
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  return p.value as AlertsQuestion;
};

type Answer = Omit<QueryAnswer, 'rows'> & { rows: AlertRow[] };

const ask = async (params: Record<string, string>): Promise<Answer> =>
  (await runQuestion(store, question(params))) as Answer;

const total = (s: ReplaySummary[]): Record<Severity, number> => {
  const out = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const x of s) for (const sev of SEVERITIES) out[sev] += x.alerts?.raised[sev] ?? 0;
  return out;
};

beforeAll(async () => {
  engine = await startEngine();
  table = await createTestTable(engine.client, 'local-alerts');
  store = new DynamoDbTrailStore(engine.client, { tableName: table });
  dir = mkdtempSync(join(tmpdir(), 'eks-trail-local-alerts-'));
  summaries.push(...(await replayAll()));
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await engine?.stop();
});

describe('replay raises the alerts the deployed pipeline would', () => {
  it('counts them by severity in its summary, and the ledger holds exactly those', async () => {
    const counts = total(summaries);
    const listed = await ask({ ...ALL_TIME, limit: '1000' });
    const bySeverity = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
    for (const r of listed.rows) bySeverity[r.severity] += 1;
    expect(bySeverity).toEqual(counts);
    expect(counts.critical).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['system-masters-mapping', 'critical', '012345678901/eks-cluster', 'the stratus backdoor row'],
    ['aws-auth-edited', 'medium', '012345678901/eks-cluster', 'the stratus aws-auth edit'],
    ['access-policy-associated', 'high', '012345678901/eks-cluster', 'stratus ClusterAdmin at cluster scope'],
    ['access-entry-created', 'medium', '111122223333/eks-customer', 'aws-cli CreateAccessEntry'],
    ['access-entry-updated', 'medium', '111122223333/eks-customer', 'aws-cli UpdateAccessEntry'],
    ['access-entry-deleted', 'low', '111122223333/eks-customer', 'aws-cli DeleteAccessEntry'],
    ['access-policy-disassociated', 'low', '111122223333/eks-customer', 'aws-cli DisassociateAccessPolicy'],
    ['auth-mode-changed', 'medium', '111122223333/eks-customer', 'aws-cli UpdateClusterConfig accessConfig'],
    ['cluster-created-creator-admin', 'high', '111122223333/example', 'aws-cli CreateCluster in CONFIG_MAP mode'],
    ['cluster-created-creator-admin', 'medium', '211125685544/kiem', 'the kiem cluster created with a bootstrap admin'],
  ])('%s (%s) on %s: %s', async (ruleId, severity, cluster, _sample) => {
    const a = await ask({ ...ALL_TIME, rule: ruleId, limit: '1000' });
    const hit = a.rows.find((r) => r.cluster === cluster && r.severity === severity);
    expect(hit, JSON.stringify(a.rows.map((r) => `${r.ruleId} ${r.cluster} ${r.severity}`))).toBeDefined();
    expect(hit?.status).toBe('raised');
    expect(hit?.evidence?.command).toMatch(/^eks-trail (mappings history|explain) /);
    expect(hit?.diff.lines.length).toBeGreaterThan(0);
  });

  it('names the actor and the human behind the backdoor edit, with the before/after of aws-auth', async () => {
    const [edit] = (await ask({ ...ALL_TIME, rule: 'aws-auth-edited' })).rows;
    expect(edit).toMatchObject({
      diff: {
        lines: expect.arrayContaining([
          expect.stringContaining(
            '+ rolearn: arn:aws:iam::012345678901:role/stratus-red-team-eks-backdoor-aws-auth-role',
          ),
        ]),
      },
      sourceEventIds: ['5b1f8a64-3c0e-4a52-9d0b-7f3a2e6c9d11'],
    });
    expect(describeActor(edit?.actor ?? {})).toContain(
      'arn:aws:sts::012345678901:assumed-role/account-admin/attacker-session',
    );
    expect(edit?.diff.before).toBeDefined();
    expect(edit?.diff.after).toBeDefined();
  });

  it('stays silent on the UpdateClusterConfig logging samples: both leave audit and authenticator on', async () => {
    const a = await ask({ ...ALL_TIME, rule: 'control-plane-logging-disabled' });
    expect(a.rows).toEqual([]);
  });

  it('records each alert once: a second replay of the same files raises nothing new', async () => {
    const again = await replayAll();
    expect(total(again)).toEqual({ critical: 0, high: 0, medium: 0, low: 0, info: 0 });
    const raised = Object.values(total(summaries)).reduce((n, x) => n + x, 0);
    expect(again.reduce((n, s) => n + (s.alerts?.alreadyRecorded ?? 0), 0)).toBeGreaterThanOrEqual(raised);
  });
});

describe('eks-trail alerts (the question)', () => {
  it('filters on cluster, severity and rule', async () => {
    const crit = await ask({ ...ALL_TIME, severity: 'critical' });
    expect(crit.rows.every((r) => r.severity === 'critical')).toBe(true);
    const high = await ask({ ...ALL_TIME, severity: 'high+', cluster: 'eks-customer' });
    expect(high.cluster).toBe('111122223333/eks-customer');
    expect(
      high.rows.every((r) => r.cluster === '111122223333/eks-customer' && ['critical', 'high'].includes(r.severity)),
    ).toBe(true);
  });

  it('pages newest first without losing or repeating an alert', async () => {
    const all = (await ask({ ...ALL_TIME, limit: '1000' })).rows.map((r) => r.alertId);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await ask({ ...ALL_TIME, limit: '3', ...(cursor ? { cursor } : {}) });
      paged.push(...page.rows.map((r) => r.alertId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all);
    const times = (await ask({ ...ALL_TIME, limit: '1000' })).rows.map((r) => Date.parse(r.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('prints CSV with the actor, the change and the evidence command', async () => {
    const a = await ask({ ...ALL_TIME, rule: 'access-policy-associated', cluster: 'eks-customer' });
    const csv = formatCsv(a.rows, csvColumns(a));
    expect((csv.split('\r\n')[0] as string).split(',')).toEqual(
      expect.arrayContaining(['at', 'severity', 'ruleId', 'cluster', 'actor.awsArn', 'diff.lines', 'evidence.command']),
    );
    expect(csv).toContain('eks-trail mappings history --cluster 111122223333/eks-customer');
  });

  it('refuses --rerun through the question layer (the query API has no alert configuration)', async () => {
    await expect(runQuestion(store, question({ ...ALL_TIME, rerun: 'true' }))).rejects.toThrow(QueryParamError);
  });
});

describe('eks-trail alerts --rerun', () => {
  it('raises again exactly what the ledger holds, with the configuration the replay used', async () => {
    const before = await dumpTable(engine.client, table);
    const a = await rerunAlerts(store, question({ ...ALL_TIME, limit: '1000' }), DEFAULT_ALERT_CONFIG, 'defaults');
    const rows = a.rows as AlertRow[];
    const recorded = (await ask({ ...ALL_TIME, limit: '1000' })).rows;
    expect(rows.map((r) => r.alertId).sort()).toEqual(recorded.map((r) => r.alertId).sort());
    expect(rows.every((r) => r.status === 'would fire' && r.ledger === 'recorded')).toBe(true);
    // Nothing sent, nothing written: not a claim, not a mapping-usage item.
    expect(await dumpTable(engine.client, table)).toEqual(before);
  });

  it('shows which recorded alerts a new suppression would silence', async () => {
    const config = { ...DEFAULT_ALERT_CONFIG, suppressions: [{ ruleId: 'access-entry-created', cluster: 'eks-*' }] };
    const a = await rerunAlerts(store, question({ ...ALL_TIME, limit: '1000' }), config, 'trial');
    const rows = a.rows as AlertRow[];
    const silenced = rows.filter((r) => r.status === 'silenced');
    expect(silenced.map((r) => `${r.ruleId} ${r.cluster}`).sort()).toEqual(
      rows
        .filter((r) => r.ruleId === 'access-entry-created' && /\/eks-/.test(r.cluster))
        .map((r) => `${r.ruleId} ${r.cluster}`)
        .sort(),
    );
    expect(silenced.length).toBeGreaterThan(0);
    // The kiem cluster is not eks-*: its access entry still fires.
    const firing = rows.filter((r) => r.status === 'would fire' && r.ruleId === 'access-entry-created');
    expect(firing.map((r) => r.cluster)).toEqual(['211125685544/kiem']);
    expect(a.notes.join('\n')).toMatch(/recorded alert\(s\) would be silent now/);
  });

  it('finds over history a first use the deployed window would have flagged with a wider setting', async () => {
    // kiem: the sso_admin entry of 2024-08-10 first used 2024-08-24; 14 days, outside the default 7.
    const config = { ...DEFAULT_ALERT_CONFIG, recentMappingDays: 30 };
    const a = await rerunAlerts(store, question({ cluster: 'kiem', ...ALL_TIME }), config, 'trial');
    const first = (a.rows as AlertRow[]).find(
      (r) =>
        r.ruleId === 'new-mapping-first-use' && r.related?.principalArn === 'arn:aws:iam::211125685544:role/sso_admin',
    );
    expect(first).toMatchObject({ status: 'would fire', ledger: 'not recorded', severity: 'high' });
    expect(first?.evidence?.question).toBe('explain');
  });
});
