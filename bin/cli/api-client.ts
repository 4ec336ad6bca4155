import { createHash, createHmac } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import type { QueryAnswer } from '../../lib/query/run.js';
import { NotFoundError, UsageError } from './errors.js';

/**
 * Client of the deployed query API: a Lambda function URL with AuthType AWS_IAM, so every request is
 * SigV4-signed for service `lambda` with the caller's default credentials. @smithy/signature-v4 is the
 * SDK's own signer (installed with the AWS SDK clients).
 */

const toBytes = (d: ArrayBuffer | ArrayBufferView): Uint8Array =>
  d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** node:crypto behind the Checksum interface the signer expects (HMAC when given a secret). */
class NodeSha256 {
  private readonly h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key = secret === undefined || typeof secret === 'string' ? secret : toBytes(secret);
    this.h = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(typeof data === 'string' ? data : toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    throw new Error('NodeSha256.reset is not supported');
  }
}

/** Region of a function URL host `<id>.lambda-url.<region>.on.aws`. */
export const functionUrlRegion = (url: URL): string | undefined =>
  /\.lambda-url\.([a-z0-9-]+)\.on\.aws$/.exec(url.hostname)?.[1];

export interface ApiClientOptions {
  url: string;
  region?: string;
  /** For tests: replaces global fetch. */
  fetchImpl?: typeof fetch;
  credentials?: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
}

export const askApi = async (
  opts: ApiClientOptions,
  question: string,
  params: Record<string, string>,
): Promise<QueryAnswer> => {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch (cause) {
    throw new UsageError(
      `--api: "${opts.url}" is not a URL (give the query function URL, https://<id>.lambda-url.<region>.on.aws/)`,
      { cause },
    );
  }
  if (url.protocol !== 'https:' && url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new UsageError('--api: the function URL must be https');
  }
  const region = opts.region ?? functionUrlRegion(url);
  if (!region) throw new UsageError('--region: required with --api when the URL is not a lambda-url host');
  const credentials =
    opts.credentials ??
    (() => {
      // The SDK's default provider chain (env, profile, SSO, IMDS…), reached through a client's config.
      const c = new DynamoDBClient({ region });
      return c.config.credentials();
    });
  const signer = new SignatureV4({ credentials, region, service: 'lambda', sha256: NodeSha256 });
  const body = JSON.stringify({ question, params });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname || '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/json' },
    body,
  });
  const res = await (opts.fetchImpl ?? fetch)(url.toString(), {
    method: 'POST',
    headers: signed.headers as Record<string, string>,
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`query API answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  if (res.ok) return json as QueryAnswer;
  const err = (json as { error?: { code?: string; message?: string } }).error;
  const message = err?.message ?? `HTTP ${res.status}`;
  if (res.status === 400) throw new UsageError(message);
  if (res.status === 404) throw new NotFoundError(message);
  // The handler's own refusal (no grant covers the caller or the cluster) carries ACCESS_DENIED; any
  // other 403 comes from the function URL's IAM check, before the handler runs.
  if (res.status === 403 && err?.code === 'ACCESS_DENIED')
    throw new Error(`query API denied access (403 ACCESS_DENIED): ${message} (see queryAccess in docs/deploy.md)`);
  if (res.status === 403)
    throw new Error(`query API refused the request (403): check IAM permission lambda:InvokeFunctionUrl. ${message}`);
  throw new Error(`query API failed (${res.status}${err?.code ? ` ${err.code}` : ''}): ${message}`);
};
