import { Duration } from 'aws-cdk-lib';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { renderWorkflow, type WorkflowSubstitutions } from '../workflow.ts';
import { CrossdockFunction } from './function.ts';

/** One Lambda per Task state of the workflow: the console shows each substate's own function. */
const TASK_FUNCTIONS = [
  {
    placeholder: 'RecordStateFunctionArn',
    entry: 'functions/workflow/record-state',
    description: 'Records a job state (RUNNING, SUCCEEDED, SKIPPED, CANCELLED, FAILED)',
  },
  {
    placeholder: 'FetchManifestFunctionArn',
    entry: 'functions/workflow/fetch-manifest',
    description: 'FetchManifest: resolves the tag at the source',
  },
  {
    placeholder: 'CheckManifestFunctionArn',
    entry: 'functions/workflow/check-manifest',
    description: 'CheckManifest: is the digest already at the destination?',
  },
  {
    placeholder: 'CheckBlobFunctionArn',
    entry: 'functions/workflow/check-blob',
    description: 'CheckBlob: does the destination repository hold the blob?',
  },
  {
    placeholder: 'CopyBlobFunctionArn',
    entry: 'functions/workflow/copy-blob',
    description: 'MountOrCopyBlob: mounts or streams one blob, in chunks',
  },
  {
    placeholder: 'PushManifestFunctionArn',
    entry: 'functions/workflow/push-manifest',
    description: 'PushManifest: children, index, then the tag',
  },
  {
    placeholder: 'CheckTagFunctionArn',
    entry: 'functions/workflow/check-tag',
    description: 'CheckTag: does the destination tag still point at the deleted digest?',
  },
  {
    placeholder: 'DeleteManifestFunctionArn',
    entry: 'functions/workflow/delete-manifest',
    description: 'DeleteManifest: removes the destination manifest',
  },
] as const;

export interface WorkflowProps {
  environment: Record<string, string>;
  blobsPerJob: number;
  executionTimeout: Duration;
  /** Reserved concurrency of the blob-copying function: the IO worker pool. */
  transferConcurrency: number;
  vpc?: IVpc | undefined;
}

export class ReplicationWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly functions: CrossdockFunction[];
  readonly copyBlobFunction: IFunction;
  readonly recordStateFunction: IFunction;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const substitutions: Record<string, string | number> = {
      BlobsPerJob: props.blobsPerJob,
      ExecutionTimeoutSeconds: props.executionTimeout.toSeconds(),
    };
    this.functions = TASK_FUNCTIONS.map((task) => {
      const isTransfer = task.placeholder === 'CopyBlobFunctionArn';
      const fn = new CrossdockFunction(this, task.placeholder.replace(/FunctionArn$/, ''), {
        entry: task.entry,
        description: task.description,
        environment: props.environment,
        // Lambda's ceiling; the task hands a big blob to the next invocation well before it.
        timeout: isTransfer ? Duration.minutes(15) : Duration.minutes(2),
        memorySize: isTransfer ? 1024 : 512,
        ...(isTransfer ? { reservedConcurrentExecutions: props.transferConcurrency } : {}),
        vpc: props.vpc,
      });
      substitutions[task.placeholder] = fn.functionArn;
      return fn;
    });
    const byPlaceholder = (placeholder: string) =>
      this.functions[TASK_FUNCTIONS.findIndex((t) => t.placeholder === placeholder)] as IFunction;
    this.copyBlobFunction = byPlaceholder('CopyBlobFunctionArn');
    this.recordStateFunction = byPlaceholder('RecordStateFunctionArn');

    const logs = new LogGroup(this, 'ExecutionLogs', { retention: RetentionDays.ONE_MONTH });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(
        renderWorkflow(substitutions as unknown as WorkflowSubstitutions),
      ),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    for (const fn of this.functions) fn.grantInvoke(this.stateMachine);
  }
}
