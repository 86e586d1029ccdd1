import { Validations } from 'aws-cdk-lib';
import type { CrossdockStack } from './stack.ts';

/**
 * cdk-nag findings crossdock accepts, each with its reason. Everything else must pass.
 */
export function acknowledgeNagFindings(stack: CrossdockStack): void {
  const acknowledge = (id: string, reason: string) => Validations.of(stack).acknowledge({ id, reason });
  acknowledge(
    'AwsSolutions-IAM4',
    'Lambda functions use AWSLambdaBasicExecutionRole (logs) and, in a VPC, AWSLambdaVPCAccessExecutionRole: the managed policies AWS maintains for exactly that.',
  );
  acknowledge(
    'AwsSolutions-IAM5',
    'Wildcards come from CDK grants (table index ARNs `/index/*`, X-Ray, Lambda version ARNs `:*` for Step Functions) and from the `crossdock/*` prefix of registry credential secrets, which the operator creates per registry.',
  );
  acknowledge(
    'AwsSolutions-APIG4',
    'The webhook routes authenticate each sender themselves (static header, HMAC signature or query token per source, as registries send them); registries cannot use IAM or Cognito.',
  );
  acknowledge(
    'AwsSolutions-L1',
    'Functions run nodejs22.x, the runtime the project targets; cdk-nag flags any runtime that is not the newest.',
  );
  acknowledge(
    'AwsSolutions-SQS3',
    'The dead-letter queue is the end of the line: its own consumer records each message as a FAILED job.',
  );
}
