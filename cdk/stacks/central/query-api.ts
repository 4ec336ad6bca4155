import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';

export interface QueryApiAccess {
  url: lambda.FunctionUrl;
  invokePolicy: iam.ManagedPolicy;
}

/** The query function's IAM-authenticated URL and the managed policy auditors' roles attach to call it. */
export function createQueryApiAccess(stack: Stack, queryApi: lambda.IFunction): QueryApiAccess {
  const url = queryApi.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  const invokePolicy = new iam.ManagedPolicy(stack, 'QueryApiInvoke', {
    managedPolicyName: `EksAccessTrail-QueryApiInvoke-${stack.region}`,
    description: 'Attach to auditor roles: call the eks-access-trail query API (read-only)',
    statements: [
      new iam.PolicyStatement({
        sid: 'InvokeTheFunctionUrl',
        actions: ['lambda:InvokeFunctionUrl'],
        resources: [queryApi.functionArn],
        conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
      }),
      // Function URLs created since October 2025 also require lambda:InvokeFunction; the condition
      // limits it to invocations through the URL. A direct Invoke could hand the handler any
      // requestContext, caller identity included: this policy must never allow one.
      new iam.PolicyStatement({
        sid: 'InvokeOnlyThroughTheUrl',
        actions: ['lambda:InvokeFunction'],
        resources: [queryApi.functionArn],
        conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
      }),
    ],
  });
  return { url, invokePolicy };
}
