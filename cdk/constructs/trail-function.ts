import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS } from '../../lib/runtime-env.js';
import { FUNCTION_MEMORY_MB, FUNCTION_NODE_OPTIONS, type TrailFunctionEntry } from '../function-settings.js';

export type { TrailFunctionEntry } from '../function-settings.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface TrailFunctionProps {
  entry: TrailFunctionEntry;
  description: string;
  timeout: Duration;
  /** Defaults to the entry's size in FUNCTION_MEMORY_MB. */
  memorySize?: number;
  logRetention: logs.RetentionDays;
  /** Encrypts the function's log group (its key policy must admit CloudWatch Logs of this region). */
  logsKey: kms.IKey;
  environment?: Record<string, string>;
  /** Cap concurrency (e.g. the query API) so a runaway caller cannot starve ingestion; undefined = unreserved. */
  reservedConcurrentExecutions?: number;
}

/**
 * One Lambda function of the product: Node.js 24 (the newest Lambda runtime; 20 is past end of life) on arm64, ESM bundle built by the local esbuild
 * (no Docker), an explicit KMS-encrypted log group with retention, kept with the stack, and a role that can write to that log group
 * only (instead of the AWSLambdaBasicExecutionRole managed policy, which covers every log group).
 *
 * The AWS SDK v3 is bundled, not taken from the runtime: the lockfile pins the SDK the tests ran
 * against (lib-dynamodb marshalling, retry defaults), and the runtime's copy changes without notice.
 * The price is a larger bundle (about 1 MB minified) and a slightly longer cold start.
 */
export class TrailFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TrailFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.logsKey,
      // Kept when the stack goes: these logs are evidence too. The query function's holds the query
      // audit log, and the ingest functions' the raw text of any record even the quarantine refused.
      // The retention still ages them out.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `eks-access-trail ${props.entry} execution role`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // logGroupArn already ends in ":*", which covers the group's streams and nothing else.
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: `${repoRoot}functions/${props.entry}.ts`,
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: `${repoRoot}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout,
      memorySize: props.memorySize ?? FUNCTION_MEMORY_MB[props.entry],
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
        POWERTOOLS_SERVICE_NAME: props.entry,
        POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Prefer the ESM builds of dependencies; CommonJS leftovers still call require(), which an
        // ESM bundle does not define unless the banner creates it.
        mainFields: ['module', 'main'],
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        externalModules: [],
        forceDockerBundling: false,
      },
    });
  }
}
