import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_MEMORY_MB } from '../../cdk/function-settings.js';
import { DIGEST_KEY_ALIAS } from '../../lib/integrity/kms-key.js';
import { DIGEST_METRICS, ENV } from '../../lib/runtime-env.js';
import { multiAccountInput, synthApp } from './support/trail-apps.js';

/** The tamper-evidence resources of the central stack (cdk/constructs/digest-signer.ts). */

// biome-ignore lint/suspicious/noExplicitAny: assertions walk nested template fields
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

let template: Template;
let resources: Resources;

beforeAll(() => {
  template = Template.fromStack(synthApp(multiAccountInput).stacks.central);
  resources = template.toJSON().Resources as Resources;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const functionOf = (service: string) =>
  ofType('AWS::Lambda::Function').find(
    ([, r]) => r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
  ) as [string, Resources[string]];
const statementsOf = (service: string): Statement[] => {
  const [, fn] = functionOf(service);
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
};
const actions = (s: Statement) => [s.Action].flat();
const signingKey = () => ofType('AWS::KMS::Key').find(([, k]) => k.Properties.KeyUsage === 'SIGN_VERIFY');

describe('central stack: tamper evidence', () => {
  it('signs with an asymmetric RSA_2048 key that is kept, under the alias eks-trail verify looks for', () => {
    const key = signingKey();
    expect(key?.[1].Properties).toMatchObject({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    // KMS rotates symmetric keys only; a rotation flag on an asymmetric key fails the deployment.
    expect(key?.[1].Properties.EnableKeyRotation).toBeUndefined();
    expect((resources[String(key?.[0])] as unknown as { DeletionPolicy: string }).DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: DIGEST_KEY_ALIAS,
      TargetKeyId: { 'Fn::GetAtt': [key?.[0], 'Arn'] },
    });
  });

  it('lets only the signer role sign; the account may administer and verify but not sign', () => {
    const statements = signingKey()?.[1].Properties.KeyPolicy.Statement as Statement[];
    const signers = statements.filter((s) =>
      actions(s).some((a) => a === 'kms:Sign' || a === 'kms:*' || a === 'kms:Sign*'),
    );
    expect(signers).toHaveLength(1);
    expect(signers[0]).toMatchObject({
      Sid: 'SignDigests',
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^DigestsFunctionRole/), 'Arn'] } },
      Condition: { StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' } },
    });
    for (const s of statements) {
      expect(actions(s)).not.toContain('kms:CreateGrant');
      expect(actions(s).some((a) => a.endsWith('*'))).toBe(false);
    }
    expect(statements.find((s) => s.Sid === 'Verify')).toMatchObject({ Action: ['kms:GetPublicKey', 'kms:Verify'] });
  });

  it('runs the signer every hour, one run at a time, with the key ARN and the settle and retry windows', () => {
    const [id, fn] = functionOf('digest-signer');
    expect(fn.Properties.MemorySize).toBe(FUNCTION_MEMORY_MB['digest-signer']);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Properties.Timeout).toBe(900);
    const vars = fn.Properties.Environment.Variables;
    expect(vars[ENV.digestKeyArn]).toEqual({ 'Fn::GetAtt': [signingKey()?.[0], 'Arn'] });
    // Three times the longest writer timeout (log-ingest, 5 minutes).
    expect(vars[ENV.digestSettleMinutes]).toBe('15');
    expect(vars[ENV.digestRetryWindowMinutes]).toBe('360');
    expect(vars).toHaveProperty(ENV.tableName);
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'EksAccessTrail-DigestSchedule',
      ScheduleExpression: 'cron(20 * * * ? *)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [id, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventDeliveryDlq'), 'Arn'] } },
        }),
      ],
    });
  });

  it('gives the signer reads, writes under DG# only, deletes under DG# and DP# only, and kms:Sign', () => {
    const st = statementsOf('digest-signer');
    const writes = st.filter((s) =>
      actions(s).some((a) => /Put|BatchWrite|Update|Delete/.test(a) && a.startsWith('dynamodb:')),
    );
    expect(writes).toEqual([
      expect.objectContaining({
        Action: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DG#*'] } },
      }),
      expect.objectContaining({
        Action: 'dynamodb:DeleteItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DG#*', 'DP#*'] } },
      }),
    ]);
    expect(st.flatMap(actions)).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'dynamodb:BatchGetItem', 'kms:Sign']),
    );
    expect(st.flatMap(actions)).not.toContain('dynamodb:Scan');
  });

  it.each(['log-ingest', 'cloudtrail-ingest'])('denies %s every write to the digest partitions', (service) => {
    const deny = statementsOf(service).filter((s) => s.Effect === 'Deny');
    expect(deny).toEqual([
      expect.objectContaining({
        Sid: 'NoDigestWrites',
        Action: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Condition: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['DG#*'] } },
      }),
    ]);
    expect(statementsOf(service).flatMap(actions)).not.toContain('kms:Sign');
  });

  it.each(['query-api', 'posture-report'])('gives %s no way to sign', (service) => {
    expect(statementsOf(service).flatMap(actions)).not.toContain('kms:Sign');
  });

  it('alarms on a failed run, on no run for three hours, and on signed items found changed', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const [fnId] = functionOf('digest-signer');
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);
    expect(byMetric('Errors').some((a) => a.Dimensions?.[0]?.Value?.Ref === fnId && a.Period === 3600)).toBe(true);
    expect(byMetric('Invocations')).toEqual([
      expect.objectContaining({
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        Period: 10800,
        TreatMissingData: 'breaching',
      }),
    ]);
    expect(byMetric(DIGEST_METRICS.mismatches)).toEqual([
      expect.objectContaining({ Dimensions: [{ Name: 'service', Value: 'digest-signer' }], Threshold: 1 }),
    ]);
    for (const a of [...byMetric('Invocations'), ...byMetric(DIGEST_METRICS.mismatches)]) {
      expect(a.AlarmActions).toHaveLength(1);
    }
  });

  it('outputs the key ARN for eks-trail verify --digest-key', () => {
    template.hasOutput('DigestKeyArn', { Value: { 'Fn::GetAtt': [signingKey()?.[0], 'Arn'] } });
  });
});
