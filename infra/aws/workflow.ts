import { Duration } from 'aws-cdk-lib';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  WORKFLOW_FUNCTION_NAMES,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
  type WorkflowFunctionSpec,
} from '../../functions/lib/workflow/functions.ts';
import type { PipelineLimits } from '../limits.ts';
import { renderWorkflow } from '../workflow.ts';
import { CrossdockFunction } from './function.ts';

export interface WorkflowProps {
  environment: Record<string, string>;
  /** Timeouts and reserved concurrency of each function, the states' timeouts (infra/limits.ts). */
  pipeline: PipelineLimits;
  vpc?: IVpc | undefined;
}

export class ReplicationWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly functions: CrossdockFunction[];
  readonly transferFunction: IFunction;
  readonly recordStateFunction: IFunction;
  /** Every function but the transfer one: each may end a job (and so send its hand-offs). */
  readonly jobEndingFunctions: IFunction[];

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    // One Lambda per workflow function (its table: functions/lib/workflow/functions.ts), each
    // its own handler of functions/workflow/handler.ts: the console shows each substate's function.
    const byName = {} as Record<WorkflowFunction, CrossdockFunction>;
    const { pipeline } = props;
    for (const name of WORKFLOW_FUNCTION_NAMES) {
      const spec: WorkflowFunctionSpec = WORKFLOW_FUNCTIONS[name];
      const limits = pipeline.functions[name];
      byName[name] = new CrossdockFunction(this, name, {
        entry: 'functions/workflow/handler',
        handler: `index.handlers.${name}`,
        description: spec.description,
        environment: props.environment,
        timeout: Duration.seconds(limits.timeoutSeconds),
        memorySize: spec.memoryMiB,
        reservedConcurrentExecutions: limits.reservedConcurrency,
        vpc: props.vpc,
      });
    }
    this.functions = Object.values(byName);
    this.transferFunction = byName.MountOrCopyBlobs;
    this.recordStateFunction = byName.RecordState;
    this.jobEndingFunctions = this.functions.filter((fn) => fn !== byName.MountOrCopyBlobs);
    const functionArns = Object.fromEntries(
      WORKFLOW_FUNCTION_NAMES.map((name) => [name, byName[name].functionArn]),
    ) as Record<WorkflowFunction, string>;

    const logs = new LogGroup(this, 'ExecutionLogs', { retention: RetentionDays.ONE_MONTH });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(
        renderWorkflow({
          functionArns,
          stateTimeoutSeconds: pipeline.stateTimeoutSeconds,
          blobsPerJob: pipeline.limits.blobsPerJob,
          executionTimeoutSeconds: pipeline.executionTimeoutSeconds,
        }),
      ),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    for (const fn of this.functions) fn.grantInvoke(this.stateMachine);
  }
}
