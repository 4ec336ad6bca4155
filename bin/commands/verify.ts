import { readFileSync } from 'node:fs';
import { KMSClient } from '@aws-sdk/client-kms';
import { ISSUANCE_SCOPE } from '../../lib/integrity/coverage.js';
import { DIGEST_KEY_ALIAS, kmsTrustedKey } from '../../lib/integrity/kms-key.js';
import { DigestKeyError, keyFingerprint, type TrustedKey, trustedKeyOf } from '../../lib/integrity/signing.js';
import { type BucketReport, type Finding, type VerifyReport, verifyCluster } from '../../lib/integrity/verify.js';
import { localDigestKey } from '../../lib/local/digest-key.js';
import { formatJson, formatTable } from '../../lib/query/format.js';
import { parseInstant } from '../../lib/query/time-range.js';
import { clusterRefKey, parseClusterRefKey } from '../../lib/store/keys.js';
import { type Command, str } from '../cli/command.js';
import { EXIT, NotFoundError, UsageError } from '../cli/errors.js';
import type { CliIo } from '../cli/io.js';
import { openTarget } from '../cli/target.js';

/**
 * `eks-trail verify`: the stored trail of one cluster against its signed digests
 * (docs/tamper-evidence.md, "Verifying"). Read-only. Exit 0 when every hour checks out (or only
 * awaits the signer), 4 when anything was changed, removed, inserted or left unsigned.
 */

const HOUR_MS = 3_600_000;
const MAX_KEYS_SHOWN = 20;

const hourOfArg = (text: string | undefined, name: string): string | undefined => {
  if (text === undefined) return undefined;
  const t = parseInstant(text, name);
  if (!t.ok) throw new UsageError(`--${t.issues[0].message}`);
  return new Date(t.value).toISOString().slice(0, 13);
};

const scopeName = (scope: string): string => {
  if (scope === ISSUANCE_SCOPE) return 'issuances';
  const ref = parseClusterRefKey(scope);
  return ref ? `${ref.accountId}/${ref.cluster}` : scope;
};

const trustedKeyFor = async (
  kind: 'local' | 'table',
  dataDir: string | undefined,
  values: { digestKey?: string; publicKey?: string; region?: string },
  env: CliIo['env'],
): Promise<TrustedKey> => {
  if (values.publicKey !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(values.publicKey, 'utf8');
    } catch (cause) {
      throw new UsageError(`--public-key: cannot read ${values.publicKey}`, { cause });
    }
    const key = trustedKeyOf('', pem);
    // A deployment's links name the KMS key ARN; local ones the key's fingerprint.
    return { ...key, keyId: values.digestKey ?? `local:${keyFingerprint(key.publicKey)}` };
  }
  if (kind === 'local') {
    const key = dataDir ? localDigestKey(dataDir, false) : undefined;
    if (!key) {
      throw new NotFoundError(
        'this data dir has no signing key, so nothing in it was signed (replay signs what it stores)',
      );
    }
    return key.trusted;
  }
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const client = new KMSClient(region ? { region } : {});
  try {
    return await kmsTrustedKey(client, values.digestKey ?? DIGEST_KEY_ALIAS);
  } finally {
    client.destroy();
  }
};

const keysText = (f: Finding): string[] => {
  const shown = f.keys.slice(0, MAX_KEYS_SHOWN).map((k) => `    ${k.pk}  ${k.sk}`);
  if (f.keys.length > MAX_KEYS_SHOWN)
    shown.push(`    … and ${f.keys.length - MAX_KEYS_SHOWN} more (--format json lists all)`);
  return shown;
};

const COLUMNS = [
  { key: 'scope', header: 'SCOPE' },
  { key: 'bucket', header: 'HOUR' },
  { key: 'status', header: 'STATUS' },
  { key: 'integrity', header: 'INTEGRITY' },
  { key: 'items', header: 'ITEMS' },
  { key: 'versions', header: 'SIGNED' },
  { key: 'findings', header: 'FINDINGS', maxWidth: 80 },
];

export const renderVerifyReport = (r: VerifyReport): string => {
  const buckets: (BucketReport & { scopeName: string })[] = r.scopes.flatMap((s) =>
    s.buckets.map((b) => ({ ...b, scopeName: scopeName(s.scope) })),
  );
  const rows = buckets.map((b) => ({
    scope: b.scopeName,
    bucket: b.bucket,
    status: b.status,
    integrity: b.integrity,
    items: b.items,
    versions: b.signedAt.length,
    findings: b.findings.map((f) => `${f.kind}${f.keys.length ? ` (${f.keys.length})` : ''}`).join(', '),
  }));
  const out: string[] = [
    `verified ${r.from}:00Z to ${r.to}:59Z and the mapping history, against key ${r.keyId}`,
    rows.length ? formatTable(rows, COLUMNS) : '(nothing stored or signed in this window)',
    '',
  ];
  for (const s of r.scopes) {
    const chainProblems = s.chain.findings.filter((f) => f.problem);
    out.push(
      `chain ${scopeName(s.scope)}: ${s.chain.links} links read${s.chain.newest ? `, newest ${s.chain.newest}` : ''}${
        chainProblems.length ? `, ${chainProblems.length} problems` : ', intact'
      }`,
    );
    for (const f of s.chain.findings) out.push(`  ${f.kind}: ${f.detail}`, ...keysText(f));
  }
  for (const b of buckets) {
    for (const f of b.findings) {
      if (f.kind === 'replaced' || f.kind === 'expired') continue;
      out.push(`${b.scopeName} ${b.bucket} ${f.kind}: ${f.detail}`, ...keysText(f));
    }
  }
  out.push(
    r.ok
      ? `ok: nothing stored differs from what was signed${buckets.some((b) => b.status === 'pending') ? ' (some items await the next signer run)' : ''}`
      : `NOT OK: ${r.problems} problems`,
  );
  return out.join('\n');
};

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check the stored trail against its signed digests: records missing, added or altered, gaps in the chain',
  usage: 'verify --cluster <name> [--from <iso>] [--to <iso>] [--digest-key <kms key>] [--public-key <pem file>]',
  options: {
    cluster: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'digest-key': { type: 'string' },
    'public-key': { type: 'string' },
  },
  help: [
    '--cluster <name>     cluster name, or <account-id>/<name>',
    '--from <iso> --to <iso>  hours to verify (default: the 24 hours up to the newest signed hour)',
    `--digest-key <k>     --table: KMS key the digests are signed with (ARN, id or alias; default ${DIGEST_KEY_ALIAS})`,
    '--public-key <pem>   verify offline against this public key (with --digest-key naming its ARN for a deployment)',
    'exit codes: 0 verified, 5 something differs from what was signed',
  ],
  run: async ({ values, positionals, io }) => {
    if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
    if (str(values.api)) throw new UsageError('--api: verify reads the table itself; use local mode or --table');
    const format = str(values.format) ?? 'table';
    if (format !== 'table' && format !== 'json')
      throw new UsageError(`--format: "${format}" is not one of table, json`);
    const cluster = str(values.cluster);
    if (!cluster) throw new UsageError(`--cluster: required (usage: eks-trail ${verifyCommand.usage})`);
    let fromHour = hourOfArg(str(values.from), 'from');
    let toHour = hourOfArg(str(values.to), 'to');
    const target = await openTarget(
      { dataDir: str(values['data-dir']), table: str(values.table), region: str(values.region) },
      io.env,
    );
    try {
      const store = target.store;
      if (!store || target.kind === 'api') throw new UsageError('verify needs local mode or --table');
      const ref = await store.resolveCluster(cluster);
      if (!ref) throw new NotFoundError(`cluster: "${cluster}" is not in the trail`);
      const refs = await store.registry.joined(ref);
      let trusted: TrustedKey;
      try {
        trusted = await trustedKeyFor(
          target.kind,
          target.dataDir,
          {
            ...(str(values['digest-key']) ? { digestKey: str(values['digest-key']) } : {}),
            ...(str(values['public-key']) ? { publicKey: str(values['public-key']) } : {}),
            ...(str(values.region) ? { region: str(values.region) } : {}),
          },
          io.env,
        );
      } catch (err) {
        if (err instanceof DigestKeyError) throw new UsageError(err.message, { cause: err });
        throw err;
      }
      if (toHour === undefined) {
        const newest = (await Promise.all(refs.map((r) => store.digests.newestSignedHour(clusterRefKey(r))))).filter(
          (h): h is string => h !== undefined,
        );
        toHour =
          fromHour !== undefined
            ? new Date(Date.parse(`${fromHour}:00:00Z`) + 23 * HOUR_MS).toISOString().slice(0, 13)
            : (newest.sort().pop() ?? new Date(io.now()).toISOString().slice(0, 13));
      }
      fromHour ??= new Date(Date.parse(`${toHour}:00:00Z`) - 23 * HOUR_MS).toISOString().slice(0, 13);
      if (fromHour > toHour) throw new UsageError(`--from (${fromHour}) is after --to (${toHour})`);
      const report = await verifyCluster(store.digests, refs, { trusted, now: io.now(), fromHour, toHour });
      io.stdout.write(format === 'json' ? `${formatJson(report)}\n` : `${renderVerifyReport(report)}\n`);
      return report.ok ? EXIT.ok : EXIT.integrity;
    } finally {
      await target.close();
    }
  },
};
