import { afterEach, describe, expect, it, vi } from 'vitest';

const TOPIC = 'arn:aws:sns:us-east-1:111111111111:eks-access-trail-alerts';

/** A misconfigured function must fail its init phase instead of consuming records it cannot store. */
describe('ingest handlers at cold start', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it.each([
    ['log-ingest', () => import('../../functions/log-ingest.js')],
    ['cloudtrail-ingest', () => import('../../functions/cloudtrail-ingest.js')],
  ])('%s refuses to load without a table name', async (_name, load) => {
    vi.stubEnv('TABLE_NAME', '');
    vi.stubEnv('ALERT_TOPIC_ARN', TOPIC);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.resetModules();
    await expect(load()).rejects.toMatchObject({
      name: 'ConfigError',
      problems: [{ variable: 'TABLE_NAME', message: 'is required and missing or empty' }],
    });
  });

  it.each([
    ['log-ingest', () => import('../../functions/log-ingest.js')],
    ['cloudtrail-ingest', () => import('../../functions/cloudtrail-ingest.js')],
  ])('%s refuses a malformed retention setting', async (_name, load) => {
    vi.stubEnv('TABLE_NAME', 'trail');
    vi.stubEnv('RETENTION_DAYS', '{"request":"forever"}');
    vi.stubEnv('ALERT_TOPIC_ARN', TOPIC);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.resetModules();
    await expect(load()).rejects.toMatchObject({ name: 'ConfigError', problems: [{ variable: 'RETENTION_DAYS' }] });
  });

  it.each([
    ['log-ingest', () => import('../../functions/log-ingest.js')],
    ['cloudtrail-ingest', () => import('../../functions/cloudtrail-ingest.js')],
  ])('%s refuses to load without an alert topic or with bad alert settings', async (_name, load) => {
    vi.stubEnv('TABLE_NAME', 'trail');
    vi.stubEnv('ALERT_TOPIC_ARN', '');
    vi.stubEnv('ALERT_SUPPRESSIONS', '[{}]');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.resetModules();
    await expect(load()).rejects.toMatchObject({
      name: 'ConfigError',
      problems: [{ variable: 'ALERT_TOPIC_ARN' }, { variable: 'ALERT_SUPPRESSIONS' }],
    });
  });
});
