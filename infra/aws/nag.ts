import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { CrossdockStack } from './stack.ts';

/**
 * cdk-nag findings crossdock accepts, each acknowledged by its exact finding id (so a new
 * wildcard elsewhere still fails the check) and with its reason. Everything else must pass.
 */
export function acknowledgeNagFindings(stack: CrossdockStack): void {
  const acknowledge = (id: string, reason: string) => Validations.of(stack).acknowledge({ id, reason });
  const logicalId = (construct: IConstruct) =>
    stack.resolve(Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement)) as string;

  acknowledge(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'Lambda functions write their logs with AWSLambdaBasicExecutionRole, the managed policy AWS maintains for exactly that.',
  );
  acknowledge(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    'Functions placed in a VPC (private registries) need their network interfaces: the managed policy AWS maintains for that.',
  );
  acknowledge(
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray (PutTraceSegments, PutTelemetryRecords) and Step Functions log delivery (logs:CreateLogDelivery and friends) accept no narrower resource.',
  );
  acknowledge(
    `AwsSolutions-IAM5[Resource::<${logicalId(stack.store.table)}.Arn>/index/*]`,
    'Reading the job indexes (by policy, by status) of the one records table; CDK grants name the indexes by wildcard.',
  );
  for (const fn of stack.workflow.functions) {
    acknowledge(
      `AwsSolutions-IAM5[Resource::<${logicalId(fn)}.Arn>:*]`,
      'The state machine invokes its own task functions; `:*` covers their versions and aliases (CDK grantInvoke).',
    );
  }
  acknowledge(
    `AwsSolutions-IAM5[Resource::<${logicalId(stack.management.scanFunction)}.Arn>:*]`,
    'The API invokes the scan function asynchronously; `:*` covers its versions and aliases (CDK grantInvoke).',
  );
  acknowledge(
    'AwsSolutions-SMG4',
    'The API token is a generated bearer token an operator reads and rotates (update the secret; the authorizer re-reads it within five minutes); there is no database user for a rotation Lambda to manage.',
  );
  acknowledge(
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:crossdock/*]',
    'Registry credentials are secrets the operator creates per registry under the crossdock/ prefix; the functions read only those.',
  );
  for (const kind of ['registry', 'source']) {
    acknowledge(
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:crossdock/${kind}/*]`,
      `The API keeps each ${kind}'s secret as crossdock/${kind}/<name>, created when the ${kind} is; names are not known at deploy time.`,
    );
  }
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
    "Dead-letter queues are the end of the line: the jobs DLQ's consumer sends each message again later or records its job FAILED; the events DLQ is alarmed on, and the reconciler repairs those jobs.",
  );
  acknowledge(
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(stack.workflow.stateMachine)}"}]}]}:*]`,
    "The reconciler asks how the executions of crossdock's one state machine stand; their names are per job attempt, unknown at deploy time (CDK grantRead).",
  );
}
