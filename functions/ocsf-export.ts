import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { closedWindow, exportToLake, type LakeExportResult } from '../lib/export/security-lake.js';
import { DynamoDbTrailStore } from '../lib/store/dynamodb/dynamodb-trail-store.js';
import { loadOcsfExportConfig } from './config/ocsf-export-config.js';

/**
 * Scheduled OCSF export (EventBridge rule): the last closed window of every cluster, as Parquet
 * objects under the Security Lake custom-source layout. The work is lib/export/security-lake.ts.
 */

export const logger = new Logger({ serviceName: 'ocsf-export' });

const config = (() => {
  try {
    return loadOcsfExportConfig(process.env);
  } catch (err) {
    logger.error('invalid configuration', { error: err as Error });
    throw err;
  }
})();

export const dynamoDbClient = new DynamoDBClient({});
const sts = new STSClient({});

/**
 * Security Lake's provider role trusts this function's role only with the external id it was
 * created with; the credentials are refreshed by the SDK when they near expiry.
 */
const writerCredentials = config.writer
  ? async () => {
      const w = config.writer as NonNullable<typeof config.writer>;
      const r = await sts.send(
        new AssumeRoleCommand({
          RoleArn: w.roleArn,
          RoleSessionName: 'eks-trail-ocsf-export',
          ...(w.externalId ? { ExternalId: w.externalId } : {}),
        }),
      );
      const c = r.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        ...(c.Expiration ? { expiration: c.Expiration } : {}),
      };
    }
  : undefined;

export const s3Client = new S3Client(writerCredentials ? { credentials: writerCredentials } : {});
const store = new DynamoDbTrailStore(dynamoDbClient, { tableName: config.tableName });

export const handler = middy(async (_event: unknown, _context: Context): Promise<LakeExportResult> => {
  const window = closedWindow(Date.now(), config.intervalMinutes, config.lagMinutes);
  const result = await exportToLake({
    store,
    window,
    // The deployment lists each cluster with its region; a cluster it does not list is filed under the
    // stack's region, since the log records themselves do not carry one (docs/ocsf.md).
    regionOf: (ref) => config.clusterRegions[`${ref.accountId}/${ref.cluster}`] ?? config.region,
    productVersion: config.productVersion,
    apiActivity: config.apiActivity,
    ...(config.entityManagement ? { entityManagement: config.entityManagement } : {}),
    put: async (loc, key, body) => {
      await s3Client.send(
        new PutObjectCommand({
          Bucket: loc.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/vnd.apache.parquet',
          // The lake's account must own what a source writes: bucket-owner-full-control grants it where
          // ACLs are enabled and is the one ACL a bucket with ACLs disabled still accepts.
          ACL: config.writer ? 'bucket-owner-full-control' : undefined,
        }),
      );
    },
  });
  logger.info('ocsf export', {
    window,
    clusters: result.clusters,
    requests: result.requests,
    objects: result.objects.length,
  });
  return result;
}).use(injectLambdaContext(logger));
