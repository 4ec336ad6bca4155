import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordedAlerts } from '../../lib/alerts/recorded-alerts.js';
import { DEFAULT_ALERT_CONFIG } from '../../lib/alerts/types.js';
import { finalChains } from '../../lib/chain/rederive.js';
import { verifyCluster } from '../../lib/integrity/verify.js';
import { localDigestKey, renderSigning, signLocalTrail } from '../../lib/local/digest-key.js';
import { startLocalEngine } from '../../lib/local/engine.js';
import { createProgress } from '../../lib/local/progress.js';
import { ReplayError, renderReplaySummary, replayFiles } from '../../lib/local/replay.js';
import { formatJson } from '../../lib/query/format.js';
import { parseQuestionParams } from '../../lib/query/params.js';
import { type QueryAnswer, runQuestion } from '../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type Command, str } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import { printAnswer } from '../cli/output.js';
import { openTarget, parseRetentionFlag } from '../cli/target.js';
import { readAlertConfigOption } from './alerts.js';
import { outputFormat } from './questions.js';
import { renderVerifyReport } from './verify.js';

const isoOrUndefined = (text: string | undefined, name: string): string | undefined => {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--${name}: "${text}" is not an ISO 8601 time`);
  return new Date(t).toISOString();
};

export const replay: Command = {
  name: 'replay',
  summary: 'ingest local files (log exports, CloudTrail files, aws-auth YAML) through the real pipelines',
  usage: 'replay <files|dirs…> [--log-group g] [--account id] [--cluster c] [--at iso]',
  options: {
    'log-group': { type: 'string' },
    account: { type: 'string' },
    cluster: { type: 'string' },
    at: { type: 'string' },
    'retention-days': { type: 'string' },
    'alert-config': { type: 'string' },
  },
  help: [
    '--log-group <g>      log group of log exports (else from <cluster>.filter-log-events.json or /aws/eks/<cluster>/cluster in the path)',
    '--account <id>       workload account owning the clusters (12 digits)',
    '--cluster <name>     cluster of aws-auth files (else from <cluster>.yaml)',
    '--at <iso>           time of aws-auth snapshots (else metadata.creationTimestamp, else the file modification time)',
    '--retention-days <c=d,…>  TTL per item class of what is written (request, bulkRequest, authenticator, credential, quarantine)',
    '--alert-config <f>   local mode: raise alerts with this deployment configuration (alertSuppressions, memberAccountIds…)',
  ],
  run: async ({ values, positionals, io }) => {
    if (positionals.length === 0) throw new UsageError(`nothing to replay (usage: eks-trail ${replay.usage})`);
    if (str(values.api)) throw new UsageError('--api: replay writes to the trail; use local mode or --table');
    const account = str(values.account);
    if (account !== undefined && !/^\d{12}$/.test(account))
      throw new UsageError(`--account: "${account}" is not a 12-digit account id`);
    const logGroup = str(values['log-group']);
    if (logGroup !== undefined && !/^\/aws\/eks\/[A-Za-z0-9][A-Za-z0-9_-]*\/cluster$/.test(logGroup)) {
      throw new UsageError(
        `--log-group: "${logGroup}" is not an EKS control-plane log group (/aws/eks/<cluster>/cluster)`,
      );
    }
    const at = isoOrUndefined(str(values.at), 'at');
    const alertConfig = readAlertConfigOption(values, io);
    const target = await openTarget(
      {
        dataDir: str(values['data-dir']),
        table: str(values.table),
        region: str(values.region),
        retentionDays: parseRetentionFlag(str(values['retention-days'])),
      },
      io.env,
    );
    try {
      const store = target.store as DynamoDbTrailStore;
      const progress = createProgress(io.stderr, 'replay', 0);
      // Claiming alert ids in a deployed ledger without publishing would silence the deployed pipeline
      // for those changes, so the alert stage runs in local mode only.
      const alerts =
        target.kind === 'local' ? recordedAlerts(store, alertConfig.file?.config ?? DEFAULT_ALERT_CONFIG) : undefined;
      if (!alerts)
        io.stderr.write('# alerts: not raised into a deployed table (eks-trail alerts --rerun --table … shows them)\n');
      const summary = await replayFiles(positionals, store, {
        now: io.now,
        progress,
        accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
        ...(alerts ? { alerts } : {}),
        ...(logGroup ? { logGroup } : {}),
        ...(account ? { accountId: account } : {}),
        ...(str(values.cluster) ? { cluster: str(values.cluster) as string } : {}),
        ...(at ? { at } : {}),
      });
      if (outputFormat(values) === 'json') io.stdout.write(`${formatJson(summary)}\n`);
      else io.stdout.write(`${renderReplaySummary(summary)}\n`);
      // Local mode signs what it stored at once (docs/tamper-evidence.md); a deployed table is signed
      // by its scheduled signer, from the pending marks this replay left.
      if (target.kind === 'local' && target.dataDir) {
        io.stderr.write(`${renderSigning(await signLocalTrail(store.digests, target.dataDir, io.now()))}\n`);
      }
      return summary.failedItems > 0 ? 1 : 0;
    } catch (err) {
      if (err instanceof ReplayError) throw new UsageError(err.message, { cause: err });
      throw err;
    } finally {
      await target.close();
    }
  },
};

/** The bundled sample scenario: samples/ at the package root. */
export const samplesDir = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples');

export const demo: Command = {
  name: 'demo',
  summary: 'replay the bundled sample scenario into a temporary data dir and answer a few questions',
  usage: 'demo [--keep]',
  options: { keep: { type: 'boolean' }, samples: { type: 'string' } },
  help: [
    '--keep               keep the temporary data dir (printed) for your own questions',
    '--samples <dir>      another scenario folder',
  ],
  run: async ({ values, positionals, io }) => {
    if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
    const dir = str(values.samples) ?? samplesDir();
    const dataDir = mkdtempSync(join(tmpdir(), 'eks-trail-demo-'));
    const engine = await startLocalEngine({ dataDir });
    const out = (s: string) => io.stdout.write(s);
    try {
      const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
      out(`== replaying ${dir}\n`);
      const summary = await replayFiles([dir], store, {
        now: io.now,
        progress: createProgress(io.stderr, 'replay', 0),
        accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
        alerts: recordedAlerts(store, DEFAULT_ALERT_CONFIG),
      });
      out(`${renderReplaySummary(summary)}\n`);
      out(`${renderSigning(await signLocalTrail(store.digests, dataDir, io.now()))}\n`);
      const clusters = (await store.clusters()).sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
      // The sample data is in the past: ask over exactly the span it covers (listings fan out per hour).
      const first = summary.firstEventAt ?? io.now() - 86_400_000;
      const last = summary.lastEventAt ?? io.now();
      const wide = { from: new Date(first).toISOString(), to: new Date(last + 1).toISOString() };
      const ask = async (
        title: string,
        question: string,
        params: Record<string, string>,
      ): Promise<QueryAnswer | undefined> => {
        const p = parseQuestionParams(question, params, io.now());
        if (!p.ok) throw new Error(p.issues.map((i) => i.message).join('; '));
        out(
          `\n== ${title}\n$ eks-trail ${question === 'mappings-history' ? 'mappings history' : question} ${Object.entries(
            params,
          )
            .map(([k, v]) => (k === 'audit-id' || k === 'at' || k === 'target' ? v : `--${k} ${v}`))
            .join(' ')}\n`,
        );
        const a = await runQuestion(store, p.value);
        printAnswer(a, 'table', { ...io, stderr: io.stdout });
        return a;
      };
      for (const ref of clusters) {
        const cluster = `${ref.accountId}/${ref.cluster}`;
        const chains = await finalChains(store, ref, wide);
        const sso = chains.find((c) => c.human.value?.via === 'sso-session');
        if (sso?.human.value) {
          await ask(`who-did: what SSO user ${sso.human.value.identity} did on ${cluster}`, 'who-did', {
            cluster,
            human: sso.human.value.identity,
            from: wide.from,
            to: wide.to,
            limit: '10',
          });
        }
        const interesting =
          chains.find((c) => c.decision.value?.authorizer === 'eks-access-policy') ??
          chains.find((c) => c.mapping.value?.source === 'aws-auth-role') ??
          sso;
        if (interesting?.auditID) {
          await ask('explain: one request link by link', 'explain', { cluster, 'audit-id': interesting.auditID });
        }
        await ask(`denied on ${cluster}`, 'denied', { cluster, from: wide.from, to: wide.to, limit: '10' });
        const last = interesting?.at ?? new Date(io.now()).toISOString();
        await ask(`access-at: who could authenticate to ${cluster} at ${last}`, 'access-at', { cluster, at: last });
        await ask(`mappings history of ${cluster}`, 'mappings-history', {
          cluster,
          from: wide.from,
          to: wide.to,
          limit: '15',
        });
        await ask(`alerts the replay raised on ${cluster}`, 'alerts', {
          cluster,
          from: wide.from,
          to: wide.to,
          limit: '10',
        });
        const key = localDigestKey(dataDir, false);
        if (key) {
          out(
            `\n== verify: the stored trail of ${cluster} against its signed digests\n$ eks-trail verify --cluster ${cluster} --from ${wide.from} --to ${wide.to}\n`,
          );
          const report = await verifyCluster(store.digests, await store.registry.joined(ref), {
            trusted: key.trusted,
            now: io.now(),
            fromHour: wide.from.slice(0, 13),
            toHour: wide.to.slice(0, 13),
          });
          out(`${renderVerifyReport(report)}\n`);
        }
      }
      if (values.keep) out(`\ndata kept in ${dataDir}: eks-trail <question> --data-dir ${dataDir}\n`);
      return 0;
    } finally {
      await engine.stop();
      if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
