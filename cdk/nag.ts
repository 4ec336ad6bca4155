import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** Runs the AWS Solutions rule pack at synthesis; any unacknowledged finding fails `cdk synth`. */
export function applyNag(app: IConstruct): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

/** Shortest reason accepted: a reason must say why this resource is fine, not that it is. */
export const MIN_ACK_REASON_LENGTH = 40;

/**
 * Acknowledges one cdk-nag finding on `scope` (and below). Granular rules (IAM4, IAM5) need the full
 * finding id, e.g. `AwsSolutions-IAM5[Resource::*]`. Refuses short reasons, so every exception in
 * the templates carries an explanation an auditor can check.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < MIN_ACK_REASON_LENGTH) {
    throw new Error(`cdk-nag acknowledgement of ${id} needs a specific reason (>= ${MIN_ACK_REASON_LENGTH} chars)`);
  }
  Validations.of(scope).acknowledge({ id, reason });
}
