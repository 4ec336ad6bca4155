import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finalChains } from '../../lib/chain/rederive.js';
import { startLocalEngine } from '../../lib/local/engine.js';
import { createProgress } from '../../lib/local/progress.js';
import { anythingRefused, ReplayError, type ReplaySummary, replayFiles } from '../../lib/local/replay.js';
import { renderReplaySummary } from '../../lib/local/replay-summary.js';
import { formatJson } from '../../lib/query/format.js';
import { parseQuestionParams } from '../../lib/query/params.js';
import { type QueryAnswer, runQuestion } from '../../lib/query/run.js';
import { DynamoDbTrailStore } from '../../lib/store/dynamodb/dynamodb-trail-store.js';
import { type Command, str } from '../cli/command.js';
import { EXIT, UsageError } from '../cli/errors.js';
import { printAnswer } from '../cli/output.js';
import { openTarget, parseRetentionFlag } from '../cli/target.js';
import { outputFormat } from './questions.js';
import type { ReplayChildMessage, ReplayJob } from './replay-child.js';

const isoOrUndefined = (text: string | undefined, name: string): string | undefined => {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--${name}: "${text}" is not an ISO 8601 time`);
  return new Date(t).toISOString();
};

export const replay: Command = {
  name: 'replay',
  summary: 'ingest local files (log exports, audit events, CloudTrail files, aws-auth YAML) through the real pipelines',
  usage: 'replay <files|dirs…> [--log-group g] [--account id] [--cluster c] [--at iso]',
  options: {
    'log-group': { type: 'string' },
    account: { type: 'string' },
    cluster: { type: 'string' },
    at: { type: 'string' },
    'retention-days': { type: 'string' },
  },
  help: [
    '--log-group <g>      log group of exports that do not name one (else --cluster, <cluster>.filter-log-events.json or /aws/eks/<cluster>/cluster in the path)',
    '--account <id>       workload account owning the clusters (12 digits; else from the CloudTrail replayed with them)',
    '--cluster <name>     cluster of plain audit events and aws-auth files (else from <cluster>.yaml or the path)',
    '--at <iso>           time of aws-auth snapshots (else metadata.creationTimestamp, else the file modification time)',
    '--retention-days <c=d,…>  TTL per item class of what is written (request, bulkRequest, authenticator, credential, quarantine)',
    'Shapes are recognised from the content; a file of none of them is refused with the list of accepted shapes.',
    'exit codes: 0 everything landed; 4 the rest landed but files or records were refused (see the summary and',
    '`eks-trail quarantine`); 1 store faults; 2 usage errors',
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
    const options = {
      ...(logGroup ? { logGroup } : {}),
      ...(account ? { accountId: account } : {}),
      ...(str(values.cluster) ? { cluster: str(values.cluster) as string } : {}),
      ...(at ? { at } : {}),
    };
    const retentionDays = parseRetentionFlag(str(values['retention-days']));
    let summary: ReplaySummary;
    if (str(values.table)) {
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
            ...(retentionDays ? { retentionDays } : {}),
          },
          io.env,
        );
      } finally {
        await engine.stop();
      }
    }
    if (outputFormat(values) === 'json') io.stdout.write(`${formatJson(summary)}\n`);
    else io.stdout.write(`${renderReplaySummary(summary)}\n`);
    if (summary.failedItems > 0) return EXIT.runtime;
    return anythingRefused(summary) ? EXIT.refused : EXIT.ok;
  },
};

/** Old-generation heap of the replay process (MiB): its working set is one delivery of at most 10,000 events. */
const REPLAY_HEAP_MB = 192;

/**
 * Runs the replay in a child process with a capped heap (bin/commands/replay-child.ts): V8 otherwise
 * grows its heap with the allocation rate, well past the working set, and the engine's LevelDB
 * memory would add to the same process.
 */
const replayInChild = (job: ReplayJob, env: Record<string, string | undefined>): Promise<ReplaySummary> =>
  new Promise((ok, ko) => {
    const heap = Number(env.EKS_TRAIL_REPLAY_HEAP_MB ?? REPLAY_HEAP_MB);
    const child = fork(fileURLToPath(new URL('./replay-child.ts', import.meta.url)), [JSON.stringify(job)], {
      execArgv: [
        `--max-old-space-size=${Number.isFinite(heap) && heap > 0 ? heap : REPLAY_HEAP_MB}`,
        '--import',
        import.meta.resolve('tsx'),
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
      // The scenario's data folders (its README and ground truth are not trail input).
      const inputs = ['cloudtrail', 'aws-auth', 'logs'].map((d) => join(dir, d)).filter((d) => existsSync(d));
      const summary = await replayFiles(inputs.length ? inputs : [dir], store, {
        now: io.now,
        progress: createProgress(io.stderr, 'replay', 0),
        accountFor: async (c) => (await store.resolveCluster(c))?.accountId,
      });
      out(`${renderReplaySummary(summary)}\n`);
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
      }
      if (values.keep) out(`\ndata kept in ${dataDir}: eks-trail <question> --data-dir ${dataDir}\n`);
      return 0;
    } finally {
      await engine.stop();
      if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
