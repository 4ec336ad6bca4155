import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../../lib/runtime-env.js';
import { type KeyAttribute, type Projection, TABLE_SCHEMA } from '../../lib/store/table-schema.js';

const attrType = (a: KeyAttribute): dynamodb.AttributeType =>
  a.type === 'S'
    ? dynamodb.AttributeType.STRING
    : a.type === 'N'
      ? dynamodb.AttributeType.NUMBER
      : dynamodb.AttributeType.BINARY;

const projection = (p: Projection): Pick<dynamodb.GlobalSecondaryIndexProps, 'projectionType' | 'nonKeyAttributes'> =>
  p === 'ALL'
    ? { projectionType: dynamodb.ProjectionType.ALL }
    : p === 'KEYS_ONLY'
      ? { projectionType: dynamodb.ProjectionType.KEYS_ONLY }
      : { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...p.include] };

/** Item-level actions the ingest path needs. No DeleteItem (history is never deleted by code: TTL ages it out), no Scan. */
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
] as const;
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;

/**
 * The trail table, built from lib/store/table-schema.ts so the deployed table and the test table
 * cannot drift. Evidence store for compliance: on-demand, PITR, deletion protection, RETAIN, and a
 * customer-managed KMS key with rotation (auditors can see and revoke who decrypts).
 */
export class TrailTable extends Construct {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'eks-access-trail table encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey.name, type: attrType(TABLE_SCHEMA.partitionKey) },
      sortKey: { name: TABLE_SCHEMA.sortKey.name, type: attrType(TABLE_SCHEMA.sortKey) },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: TABLE_SCHEMA.timeToLiveAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const g of TABLE_SCHEMA.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: g.indexName,
        partitionKey: { name: g.partitionKey.name, type: attrType(g.partitionKey) },
        sortKey: { name: g.sortKey.name, type: attrType(g.sortKey) },
        ...projection(g.projection),
      });
    }
  }

  /** The table and each of its indexes by exact ARN (no `index/*` wildcard). */
  private resourceArns(): string[] {
    return [
      this.table.tableArn,
      ...TABLE_SCHEMA.globalSecondaryIndexes.map((g) => `${this.table.tableArn}/index/${g.indexName}`),
    ];
  }

  /** Ingest: read/write items (no delete, no scan) and set TABLE_NAME. */
  grantWriteTo(fn: lambda.Function): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...TABLE_WRITE_ACTIONS], resources: this.resourceArns() }));
    // DynamoDB calls KMS on the caller's behalf: Decrypt to read, GenerateDataKey/Encrypt to write.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [this.key.keyArn],
      }),
    );
    fn.addEnvironment(ENV.tableName, this.table.tableName);
  }

  /** Query API and posture report: read-only, and set TABLE_NAME. */
  grantReadTo(fn: lambda.Function): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...TABLE_READ_ACTIONS], resources: this.resourceArns() }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:DescribeKey'], resources: [this.key.keyArn] }),
    );
    fn.addEnvironment(ENV.tableName, this.table.tableName);
  }
}
