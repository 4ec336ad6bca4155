import { CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../lib/runtime-env.js';
import type { ClusterConfig, OcsfExportConfig } from '../config.js';
import { acknowledge } from '../nag.js';
import { TrailFunction } from './trail-function.js';
import type { TrailTable } from './trail-table.js';

export interface OcsfExportProps {
  config: OcsfExportConfig;
  table: TrailTable;
  clusters: ClusterConfig[];
  logRetention: logs.RetentionDays;
  /** Key of the function's log group (the stack's logs key). */
  logsKey: kms.IKey;
  productVersion: string;
  /** Where the schedule's invocations go when they cannot be delivered (the stack's event DLQ). */
  deadLetterQueue: sqs.IQueue;
}

/** Where the two sources are written: `s3://bucket/prefix` each; no entity location = not exported. */
interface ExportLocations {
  api: string;
  entity: string | undefined;
}

/** `s3://bucket/prefix` to its parts (validated by cdk/config.ts). */
const splitLocation = (loc: string): { bucket: string; prefix: string } => {
  const rest = loc.slice('s3://'.length);
  const slash = rest.indexOf('/');
  return slash < 0
    ? { bucket: rest, prefix: '' }
    : { bucket: rest.slice(0, slash), prefix: rest.slice(slash + 1).replace(/\/+$/, '') };
};

/**
 * The continuous OCSF export (docs/ocsf.md, "Deployed export"): a function on a schedule that writes
 * the last closed window of every cluster as Parquet under the Security Lake custom-source layout,
 * and the role Security Lake's CreateCustomLogSource needs for the Glue crawler it runs over a
 * source (`crawlerConfiguration.roleArn`).
 *
 * Two targets. With `securityLake`, the function assumes the provider role Security Lake created
 * for each source (with its external id) and writes into the data lake's bucket. Without it, the
 * stack keeps its own encrypted bucket in the same layout, with a Glue database and crawler over it,
 * so Athena reads it as it reads a custom source and the objects can be copied into a lake later.
 */
export class OcsfExport extends Construct {
  readonly fn: TrailFunction;
  readonly crawlerRole: iam.Role;
  readonly bucket?: s3.Bucket;

  constructor(scope: Construct, id: string, props: OcsfExportProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    this.crawlerRole = this.createCrawlerRole(stack);

    const lake = config.securityLake;
    let locations: ExportLocations;
    if (lake) {
      locations = { api: lake.apiActivityLocation, entity: lake.entityManagementLocation };
    } else {
      const own = this.createBucket(stack);
      this.bucket = own.bucket;
      locations = {
        api: `s3://${own.bucket.bucketName}/ext/${config.apiActivitySourceName}`,
        entity: `s3://${own.bucket.bucketName}/ext/${config.entityManagementSourceName}`,
      };
      this.createCatalog(stack, own.key, locations);
      new CfnOutput(stack, 'OcsfExportBucket', { value: own.bucket.bucketName });
    }

    this.fn = this.createFunction(stack, props, locations);
    props.table.grantReadTo(this.fn.fn);
    if (lake) this.grantLakeWrite(stack, lake.providerRoleArn, locations);
    else this.grantBucketWrite(stack, this.bucket as s3.Bucket);

    new events.Rule(this, 'Schedule', {
      description: 'Runs the eks-access-trail OCSF export once per window',
      schedule: events.Schedule.rate(Duration.minutes(config.intervalMinutes)),
      targets: [new targets.LambdaFunction(this.fn.fn, { retryAttempts: 2, deadLetterQueue: props.deadLetterQueue })],
    });
    new CfnOutput(stack, 'OcsfExportFunctionRoleArn', {
      value: this.fn.role.roleArn,
      description: 'Principal to give CreateCustomLogSource as providerIdentity.principal',
    });
    new CfnOutput(stack, 'OcsfCrawlerRoleArn', {
      value: this.crawlerRole.roleArn,
      description: 'Role to give CreateCustomLogSource as crawlerConfiguration.roleArn',
    });
  }

  /** The role Security Lake's CreateCustomLogSource runs the source's Glue crawler with. */
  private createCrawlerRole(stack: Stack): iam.Role {
    const crawlerRole = new iam.Role(this, 'CrawlerRole', {
      description: 'Glue crawler role of the eks-access-trail Security Lake custom sources',
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSGlueServiceRole')],
    });
    acknowledge(
      crawlerRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSGlueServiceRole]',
      'Security Lake documents AWSGlueServiceRole as the base policy of the crawler role a custom source is registered with; the crawler needs its Glue catalog and CloudWatch Logs rights, and data access is granted separately per location.',
    );
    return crawlerRole;
  }

  /** The stack's own export bucket (no Security Lake), with its access-log bucket; the crawler may read it. */
  private createBucket(stack: Stack): { bucket: s3.Bucket; key: kms.Key } {
    const key = new kms.Key(this, 'Key', {
      description: 'eks-access-trail OCSF export bucket encryption',
      enableKeyRotation: true,
    });
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      accessLogs,
      'AwsSolutions-S1',
      'This is the server access log bucket of the OCSF export bucket; logging its own accesses into itself would loop, and S3 delivers access logs only to SSE-S3 buckets.',
    );
    const bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'ocsf-export/',
      // Exported audit evidence outlives the stack, like the table.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const bucketLogicalId = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('ext/*')] }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['ext/*'] } },
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [key.keyArn] }),
    );
    acknowledge(
      this.crawlerRole,
      `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/ext/*]`,
      'The crawler reads every object under ext/ of the export bucket, its only target: objects are named by partition (region, account, day) and window as windows close, so no fixed list exists.',
    );
    return { bucket, key };
  }

  /** A Glue database and an encrypted crawler over the own bucket, so Athena reads it as a custom source. */
  private createCatalog(stack: Stack, key: kms.IKey, { api, entity }: ExportLocations): void {
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: 'eks_access_trail_ocsf',
        description: 'OCSF records exported by eks-access-trail (one table per custom source)',
      },
    });
    const glueKey = new kms.Key(this, 'GlueKey', {
      description: 'eks-access-trail Glue crawler log encryption',
      enableKeyRotation: true,
    });
    glueKey.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:*`,
          },
        },
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [glueKey.keyArn],
      }),
    );
    const security = new glue.CfnSecurityConfiguration(this, 'SecurityConfiguration', {
      name: `eks-access-trail-ocsf-${stack.region}`,
      encryptionConfiguration: {
        cloudWatchEncryption: { cloudWatchEncryptionMode: 'SSE-KMS', kmsKeyArn: glueKey.keyArn },
        s3Encryptions: [{ s3EncryptionMode: 'SSE-KMS', kmsKeyArn: key.keyArn }],
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: 'CSE-KMS', kmsKeyArn: glueKey.keyArn },
      },
    });
    // The crawler associates its log group with the key (security configuration) when it runs.
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:AssociateKmsKey'],
        resources: [`arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:/aws-glue/crawlers-role/*`],
      }),
    );
    acknowledge(
      this.crawlerRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:${Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region}:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:log-group:/aws-glue/crawlers-role/*]`,
      'Glue names the log group of a crawler with a security configuration /aws-glue/crawlers-role/<role>-<configuration>; the crawler associates the KMS key with that group when it first runs.',
    );
    const crawler = new glue.CfnCrawler(this, 'Crawler', {
      role: this.crawlerRole.roleArn,
      databaseName: 'eks_access_trail_ocsf',
      description: 'Partitions and schema of the OCSF export (region, accountId, eventDay)',
      crawlerSecurityConfiguration: security.name,
      targets: {
        s3Targets: [api, entity].map((path) => ({ path: `${path}/` })),
      },
      schedule: { scheduleExpression: 'cron(30 * * * ? *)' },
      schemaChangePolicy: { updateBehavior: 'UPDATE_IN_DATABASE', deleteBehavior: 'LOG' },
      recrawlPolicy: { recrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
      configuration: JSON.stringify({ Version: 1.0, Grouping: { TableLevelConfiguration: 3 } }),
    });
    crawler.addDependency(database);
    crawler.addDependency(security);
  }

  private createFunction(stack: Stack, props: OcsfExportProps, { api, entity }: ExportLocations): TrailFunction {
    const { config } = props;
    const lake = config.securityLake;
    const clusterRegions = Object.fromEntries(props.clusters.map((c) => [`${c.account}/${c.name}`, c.region]));
    return new TrailFunction(this, 'Function', {
      entry: 'ocsf-export',
      description: 'Exports closed windows of the trail as OCSF Parquet (Security Lake custom sources)',
      // A window of every cluster, derived page by page; an hour of a busy fleet takes minutes.
      timeout: Duration.minutes(15),
      logRetention: props.logRetention,
      logsKey: props.logsKey,
      // One run at a time: two overlapping runs of one window would write the same objects twice.
      reservedConcurrentExecutions: 1,
      environment: {
        [ENV.ocsfApiActivityLocation]: api,
        ...(entity ? { [ENV.ocsfEntityManagementLocation]: entity } : {}),
        [ENV.ocsfRegion]: stack.region,
        [ENV.ocsfClusterRegions]: JSON.stringify(clusterRegions),
        [ENV.ocsfIntervalMinutes]: String(config.intervalMinutes),
        [ENV.ocsfLagMinutes]: String(config.lagMinutes),
        [ENV.productVersion]: props.productVersion,
        ...(lake ? { [ENV.ocsfWriterRoleArn]: lake.providerRoleArn, [ENV.ocsfWriterExternalId]: lake.externalId } : {}),
      },
    });
  }

  /** The function writes through the provider role; the crawler Security Lake runs reads what it wrote. */
  private grantLakeWrite(stack: Stack, providerRoleArn: string, { api, entity }: ExportLocations): void {
    this.fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [providerRoleArn] }),
    );
    // The crawler Security Lake runs with this role reads what the source writes.
    for (const l of [api, entity]) {
      if (!l) continue;
      const { bucket, prefix } = splitLocation(l);
      const objects = `${bucket}/${prefix ? `${prefix}/` : ''}*`;
      this.crawlerRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [`arn:${stack.partition}:s3:::${objects}`],
        }),
      );
      acknowledge(
        this.crawlerRole,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${objects}]`,
        'The crawler Security Lake runs for the custom source reads every object under the location Security Lake assigned to it; objects are named by partition and window as they are written.',
      );
    }
  }

  /** The function writes under ext/ of the own bucket. */
  private grantBucketWrite(stack: Stack, bucket: s3.Bucket): void {
    const key = bucket.encryptionKey as kms.IKey;
    this.fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects('ext/*')] }),
    );
    // SSE-KMS with a bucket key: a single PutObject asks KMS for a data key, nothing else.
    this.fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [key.keyArn] }),
    );
    acknowledge(
      this.fn.role,
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/ext/*]`,
      'The export writes one object per cluster, partition (region, account, day) and window under ext/<source>/ of its own bucket; the names exist only once a window closes.',
    );
  }
}
