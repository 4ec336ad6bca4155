import { describe, expect, it } from 'vitest';
import { askApi } from '../../bin/cli/api-client.js';

const URL_ = 'https://abcdefg.lambda-url.eu-west-1.on.aws/';
const credentials = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });
const answering =
  (status: number, body: unknown): typeof fetch =>
  async () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('askApi: refusals', () => {
  it.each([
    [
      "the handler's ACCESS_DENIED (no grant covers the caller or the cluster)",
      answering(403, {
        error: { code: 'ACCESS_DENIED', message: 'no query access grant of this caller covers cluster prod' },
      }),
      /denied access \(403 ACCESS_DENIED\): no query access grant of this caller covers cluster prod \(see queryAccess/,
    ],
    [
      "the function URL's own IAM refusal",
      answering(403, { Message: 'Forbidden' }),
      /check IAM permission lambda:InvokeFunctionUrl/,
    ],
  ])('explains %s', async (_kind, fetchImpl, message) => {
    await expect(askApi({ url: URL_, fetchImpl, credentials }, 'denied', { cluster: 'prod' })).rejects.toThrow(message);
  });
});
