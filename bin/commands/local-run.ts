import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordedAlerts } from '../../lib/alerts/recorded-alerts.js';
import { DEFAULT_ALERT_CONFIG } from '../../lib/alerts/types.js';
import { finalChains } from '../../lib/chain/rederive.js';
import type { DecisionChain } from '../../lib/chain/types.js';
import { verifyCluster } from '../../lib/integrity/verify.js';
import { localDigestKey, renderSigning, signLocalTrail } from '../../lib/local/digest-key.js';
import { startLocalEngine } from '../../lib/local/engine.js';
import { createProgress } from '../../lib/local/progress.js';
import { anythingRefused, ReplayError, type ReplaySummary, replayFiles } from '../../lib/local/replay.js';
import { renderReplaySummary } from '../../lib/local/replay-summary.js';
import { formatJson } from '../../lib/query/format.js';
import { parseQuestionParams } from '../../lib/query/params.js';
import { runQuestion } from '../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type Command, str } from '../cli/command.js';
import { EXIT, UsageError } from '../cli/errors.js';
import { printAnswer } from '../cli/output.js';
import { packageRoot, samplesDir, scenarioInputs } from '../cli/package-root.js';
import { openTarget, parseRetentionFlag } from '../cli/target.js';
import { readAlertConfigOption } from './alerts-run.js';
import { DEMO_DATA_DIR, replay } from './local.js';
import { outputFormat } from './questions.js';
import type { ReplayChildMessage, ReplayJob } from './replay-child.js';
import { renderVerifyReport } from './verify.js';

const isoOrUndefined = (text: string | undefined, name: string): string | undefined => {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--${name}: "${text}" is not an ISO 8601 time`);
  return new Date(t).toISOString();
};

export const replayRun: Command['run'] = async ({ values, positionals, io }) => {
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
  const options = {
    ...(logGroup ? { logGroup } : {}),
    ...(account ? { accountId: account } : {}),
    ...(str(values.cluster) ? { cluster: str(values.cluster) as string } : {}),
    ...(at ? { at } : {}),
  };
  const retentionDays = parseRetentionFlag(str(values['retention-days']));
  const alertConfig = readAlertConfigOption(values, io);
  let summary: ReplaySummary;
  let signing: string | undefined;
  if (str(values.table)) {
    // Claiming alert ids in a deployed ledger without publishing would silence the deployed pipeline
    // for those changes, so the alert stage runs in local mode only.
    io.stderr.write('# alerts: not raised into a deployed table (eks-trail alerts --rerun --table … shows them)\n');
    const target = await openTarget(
      {
        dataDir: str(values['data-dir']),
        table: str(values.table),
        region: str(values.region),
        ...(retentionDays ? { retentionDays } : {}),
      },
      io.env,
    );
    try {
      const store = target.store as DynamoDbTrailStore;
      summary = await replayFiles(positionals, store, {
        ...options,
        now: io.now,
        progress: createProgress(io.stderr, 'replay', 0),
        accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
      });
    } catch (err) {
      if (err instanceof ReplayError) throw new UsageError(err.message, { cause: err });
      throw err;
    } finally {
      await target.close();
    }
  } else {
    const dataDir = str(values['data-dir']);
    const engine = await startLocalEngine(dataDir ? { dataDir } : {});
    try {
      summary = await replayInChild(
        {
          endpoint: engine.endpoint,
          tableName: engine.tableName,
          paths: positionals.map((p) => resolve(p)),
          options,
          alertConfig: alertConfig.file?.config ?? DEFAULT_ALERT_CONFIG,
          ...(retentionDays ? { retentionDays } : {}),
        },
        io.env,
      );
      // Local mode signs what it stored at once (docs/tamper-evidence.md); a deployed table is signed
      // by its scheduled signer, from the pending marks the replay left.
      if (engine.dataDir) {
        const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
        signing = renderSigning(await signLocalTrail(store.digests, engine.dataDir, io.now()));
      }
    } finally {
      await engine.stop();
    }
  }
  if (outputFormat(values) === 'json') io.stdout.write(`${formatJson(summary)}\n`);
  else io.stdout.write(`${renderReplaySummary(summary)}\n`);
  if (signing) io.stderr.write(`${signing}\n`);
  if (summary.failedItems > 0) return EXIT.runtime;
  return anythingRefused(summary) ? EXIT.refused : EXIT.ok;
};

/** Old-generation heap of the replay process (MiB): its working set is one delivery of at most 10,000 events. */
const REPLAY_HEAP_MB = 192;

/**
 * The replay process's entry and the Node options it needs: from source, replay-child.ts run through
 * tsx; bundled (bin/build.ts), dist/replay-child.js, an entry of its own, since this module is then a
 * chunk under dist/chunks/ and tsx is not installed with the package.
 */
const replayChildEntry = (): { script: string; execArgv: string[] } => {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return {
      script: fileURLToPath(new URL('./replay-child.ts', import.meta.url)),
      execArgv: ['--import', import.meta.resolve('tsx')],
    };
  }
  return { script: join(packageRoot(), 'dist', 'replay-child.js'), execArgv: [] };
};

/**
 * Runs the replay in a child process with a capped heap (bin/commands/replay-child.ts): V8 otherwise
 * grows its heap with the allocation rate, well past the working set, and the engine's LevelDB
 * memory would add to the same process.
 */
const replayInChild = (job: ReplayJob, env: Record<string, string | undefined>): Promise<ReplaySummary> =>
  new Promise((ok, ko) => {
    const heap = Number(env.EKS_TRAIL_REPLAY_HEAP_MB ?? REPLAY_HEAP_MB);
    const entry = replayChildEntry();
    const child = fork(entry.script, [JSON.stringify(job)], {
      execArgv: [
        `--max-old-space-size=${Number.isFinite(heap) && heap > 0 ? heap : REPLAY_HEAP_MB}`,
        ...entry.execArgv,
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answer: ReplayChildMessage | undefined;
    child.on('message', (m) => {
      answer = m as ReplayChildMessage;
    });
    child.on('error', ko);
    child.on('exit', (code, signal) => {
      if (answer && 'summary' in answer) {
        // tools/replay-memory.ts reads this line to report both processes' peak memory.
        if (env.EKS_TRAIL_REPLAY_STATS) {
          const engineMaxRssKiB = process.resourceUsage().maxRSS;
          process.stderr.write(
            `replay-stats ${JSON.stringify({ replayMaxRssKiB: answer.maxRssKiB, engineMaxRssKiB, engineNow: rssParts() })}\n`,
          );
        }
        ok(answer.summary);
      } else if (answer?.usage) ko(new UsageError(answer.error.split('\n')[0] as string));
      else if (answer) ko(new ReplayProcessError(answer.error));
      else
        ko(
          new ReplayProcessError(
            `the replay process ended without a summary (exit ${code ?? signal}); if it ran out of memory, raise EKS_TRAIL_REPLAY_HEAP_MB (now ${heap})`,
          ),
        );
    });
  });

/** Resident memory now, split into anonymous and file-backed (LevelDB maps its table files), where Linux says. */
const rssParts = (): { anonKiB: number; fileKiB: number } | undefined => {
  try {
    const text = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { anonKiB: kib('Anonymous'), fileKiB: kib('Rss') - kib('Anonymous') };
  } catch {
    return undefined;
  }
};

export class ReplayProcessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReplayProcessError';
  }
}

/** A file the demo leaves in its data dir, so a later run replaces only a dir the demo made. */
const DEMO_MARK = 'EKS-TRAIL-DEMO';

/** The demo's data dir, emptied: a previous demo's is replaced; anything else is refused, never deleted. */
const freshDemoDir = (dir: string, shown: string): void => {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!existsSync(join(dir, DEMO_MARK))) {
      throw new UsageError(
        `--data-dir: ${shown} exists and was not made by the demo; give the demo another --data-dir`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DEMO_MARK), 'Made by `eks-trail demo`, which replaces this folder at each run.\n');
};

const HOUR_MS = 3_600_000;
const hourText = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

/**
 * `demo`: replay the samples into a data dir that is kept, then ask the README's questions, printing
 * each as the command that asks it again (with that data dir), so every printed command works as shown.
 */
export const demoRun: Command['run'] = async ({ values, positionals, io }) => {
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  for (const o of ['table', 'api'] as const) {
    if (str(values[o]) !== undefined) throw new UsageError(`--${o}: the demo replays into a local data dir`);
  }
  const scenario = str(values.samples) ?? samplesDir();
  const shownDir = str(values['data-dir']) ?? DEMO_DATA_DIR;
  const dataDir = resolve(io.cwd, shownDir);
  freshDemoDir(dataDir, shownDir);
  const out = (s: string) => io.stdout.write(s);
  const engine = await startLocalEngine({ dataDir });
  try {
    const store = new DynamoDbTrailStore(engine.client, { tableName: engine.tableName });
    out(`== replaying ${scenario} into ${shownDir}\n`);
    const summary = await replayFiles(scenarioInputs(scenario), store, {
      now: io.now,
      progress: createProgress(io.stderr, 'replay', 0),
      accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
      alerts: recordedAlerts(store, DEFAULT_ALERT_CONFIG),
    });
    out(`${renderReplaySummary(summary)}\n`);
    out(`${renderSigning(await signLocalTrail(store.digests, dataDir, io.now()))}\n`);
    const key = localDigestKey(dataDir, false);
    const refs = (await store.clusters()).sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
    // The sample data is in the past: ask over whole hours that cover it.
    const first = summary.firstEventAt ?? io.now() - 24 * HOUR_MS;
    const last = summary.lastEventAt ?? io.now();
    const from = hourText(Math.floor(first / HOUR_MS) * HOUR_MS);
    const to = hourText(Math.ceil((last + 1) / HOUR_MS) * HOUR_MS);
    const ask = async (title: string, argv: string[], params: Record<string, string>): Promise<void> => {
      const question = argv[0] === 'mappings' ? 'mappings-history' : (argv[0] as string);
      const p = parseQuestionParams(question, params, io.now());
      if (!p.ok) throw new Error(p.issues.map((i) => i.message).join('; '));
      out(`\n== ${title}\n$ eks-trail ${[...argv, '--data-dir', shownDir].join(' ')}\n`);
      printAnswer(await runQuestion(store, p.value), 'table', { ...io, stderr: io.stdout });
    };
    const names = new Map<string, number>();
    for (const r of refs) names.set(r.cluster, (names.get(r.cluster) ?? 0) + 1);
    for (const ref of refs) {
      // The bare name when it is unique, as a person would type it.
      const cluster = (names.get(ref.cluster) ?? 0) > 1 ? `${ref.accountId}/${ref.cluster}` : ref.cluster;
      const window = ['--from', from, '--to', to];
      const chains = await finalChains(store, ref, {
        from: new Date(Date.parse(from)).toISOString(),
        to: new Date(Date.parse(to)).toISOString(),
      });
      const sso = chains.find((c) => c.human.value?.via === 'sso-session' && c.auditID);
      const human = sso?.human.value?.identity;
      if (human) {
        await ask(
          `who-did: what ${human} did on ${cluster}`,
          ['who-did', '--cluster', cluster, '--human', human, ...window, '--limit', '10'],
          { cluster, human, from, to, limit: '10' },
        );
      }
      const interesting: DecisionChain | undefined =
        chains.find((c) => c.decision.value?.authorizer === 'eks-access-policy' && c.auditID) ??
        chains.find((c) => c.mapping.value?.source === 'aws-auth-role' && c.auditID) ??
        sso;
      if (interesting?.auditID) {
        await ask('explain: one request, link by link', ['explain', interesting.auditID, '--cluster', cluster], {
          cluster,
          'audit-id': interesting.auditID,
        });
      }
      await ask(`denied on ${cluster}`, ['denied', '--cluster', cluster, ...window, '--limit', '10'], {
        cluster,
        from,
        to,
        limit: '10',
      });
      await ask(
        `touched: who read or changed aws-auth on ${cluster}`,
        ['touched', 'kube-system/configmaps/aws-auth', '--cluster', cluster, ...window],
        { cluster, target: 'kube-system/configmaps/aws-auth', from, to },
      );
      const at = interesting?.at ? new Date(Date.parse(interesting.at)).toISOString().replace(/\.\d+Z$/, 'Z') : to;
      await ask(`access-at: who could authenticate to ${cluster} at ${at}`, ['access-at', at, '--cluster', cluster], {
        cluster,
        at,
      });
      await ask(
        `mappings history of ${cluster}`,
        ['mappings', 'history', '--cluster', cluster, ...window, '--limit', '15'],
        { cluster, from, to, limit: '15' },
      );
      await ask(
        `alerts the replay raised on ${cluster}`,
        ['alerts', '--cluster', cluster, ...window, '--limit', '10'],
        { cluster, from, to, limit: '10' },
      );
      if (key) {
        out(
          `\n== verify: the stored trail of ${cluster} against its signed digests\n$ eks-trail verify --cluster ${cluster} ${window.join(' ')} --data-dir ${shownDir}\n`,
        );
        const report = await verifyCluster(store.digests, await store.registry.joined(ref), {
          trusted: key.trusted,
          now: io.now(),
          fromHour: from.slice(0, 13),
          toHour: to.slice(0, 13),
        });
        out(`${renderVerifyReport(report)}\n`);
      }
    }
    out(
      `\nThe replayed trail is kept in ${shownDir}: every command above works as printed, and so does any other question with --data-dir ${shownDir} (eks-trail help).\n`,
    );
    return 0;
  } finally {
    await engine.stop();
  }
};
