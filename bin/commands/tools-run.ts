import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from '../../lib/local/engine.js';
import { formatJson, formatTable } from '../../lib/query/format.js';
import { attributeToken } from '../../lib/token/attribute-token.js';
import { decodeToken } from '../../lib/token/decode-token.js';
import { type Command, str } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import { openTarget } from '../cli/target.js';
import { outputFormat } from './questions.js';
import { decodeTokenCommand } from './tools.js';

/** `decode-token`, loaded when the command runs. */
export const decodeTokenRun: Command['run'] = async ({ values, positionals, io }) => {
  if (positionals.length !== 1)
    throw new UsageError(`decode-token takes one token (usage: eks-trail ${decodeTokenCommand.usage})`);
  const input = positionals[0] === '-' ? await io.readStdin() : (positionals[0] as string);
  const format = outputFormat(values);
  const r = decodeToken(input);
  if (!r.ok) throw new UsageError(`token: ${r.issues.map((i) => `${i.message} [${i.code}]`).join('; ')}`);
  const t = r.value;
  // Attribution only when a trail exists: never create an empty data dir just to decode a token.
  const dataDir = str(values['data-dir']) ?? join(io.cwd, DEFAULT_DATA_DIR);
  const haveTrail =
    !values['no-trail'] && !values.api && (str(values.table) !== undefined || existsSync(resolve(dataDir)));
  let attribution: Awaited<ReturnType<typeof attributeToken>>;
  if (haveTrail) {
    const target = await openTarget(
      { dataDir: str(values.table) ? undefined : dataDir, table: str(values.table), region: str(values.region) },
      io.env,
    );
    try {
      if (target.store) attribution = await attributeToken(t, target.store);
    } finally {
      await target.close();
    }
  }
  if (format === 'json') {
    io.stdout.write(`${formatJson({ token: t, attribution })}\n`);
    return 0;
  }
  const rows: { field: string; value: string }[] = [
    { field: 'sts endpoint', value: `${t.stsHost}${t.globalEndpoint ? ' (global endpoint)' : ''}` },
    { field: 'endpoint region', value: t.endpointRegion ?? '' },
    { field: 'signing region', value: t.signingRegion ?? '' },
    { field: 'access key id', value: `${t.accessKeyId ?? ''} (${t.accessKeyKind ?? 'unknown'})` },
    { field: 'signed at', value: t.signedAt ?? '' },
    {
      field: 'X-Amz-Expires',
      value: t.expiresSeconds === undefined ? '' : `${t.expiresSeconds}s -> ${t.presignExpiresAt}`,
    },
    {
      field: 'authenticator expiry',
      value: `${t.authenticatorExpiresAt ?? ''} (15 min after signing, whatever X-Amz-Expires says)`,
    },
    {
      field: 'cluster id',
      value:
        t.clusterId ??
        (t.clusterIdSigned ? 'signed as header x-k8s-aws-id; its value is not in the token' : 'NOT signed'),
    },
    // Their values are never printed, in any format (lib/sources/redact.ts).
    { field: 'signature', value: t.hasSignature ? 'present (not shown)' : 'absent' },
    {
      field: 'security token',
      value: t.hasSecurityToken ? 'present (temporary credentials; not shown)' : 'absent',
    },
    { field: 'signed headers', value: t.signedHeaders.join(';') },
  ];
  for (const p of t.problems) rows.push({ field: 'authenticator would reject', value: p });
  if (attribution) {
    rows.push({ field: 'trail', value: attribution.summary });
    for (const s of attribution.seenAs) {
      rows.push({
        field: 'seen as',
        value: `${s.canonicalArn ?? s.principalId ?? '?'} session=${s.sessionName ?? ''} requests=${s.requests} clusters=${s.clusters.join(',')}`,
      });
    }
  } else if (haveTrail) {
    rows.push({ field: 'trail', value: 'no access key to look up' });
  }
  io.stdout.write(
    `${formatTable(rows, [
      { key: 'field', header: 'field' },
      { key: 'value', header: 'value', maxWidth: 120 },
    ])}\n`,
  );
  return 0;
};
