import { WORKFLOW_FUNCTION_NAMES, type WorkflowFunction } from '../../functions/lib/workflow/functions.ts';
import type { TaskDependencies } from '../../functions/lib/workflow/ports.ts';
import { TASKS } from '../../functions/lib/workflow/tasks.ts';
import { handlers } from '../../functions/workflow/handler.ts';
import type { PipelineLimits } from '../limits.ts';
import { bindTaskStates, LOCAL_RETRY_INTERVALS, type LocalTaskHandler, renderWorkflow } from '../workflow.ts';
import { LocalFunction } from './lambda-function.ts';

/**
 * The workflow as the local runtime runs it: the same ASL file, its placeholders filled from
 * the pipeline's limits (state timeouts, the Map's concurrency) and with local ARNs, and each
 * Task state bound to the Lambda handler of the function that ARN names — the modules the CDK
 * stack deploys — run as a LocalFunction with that function's timeout and reserved concurrency.
 */

const PREFIX = 'arn:aws:lambda:local:000000000000:function:crossdock-';

const localArns = () =>
  Object.fromEntries(WORKFLOW_FUNCTION_NAMES.map((name) => [name, `${PREFIX}${name}`])) as Record<
    WorkflowFunction,
    string
  >;

/** The workflow function a local ARN names. */
function functionOf(functionArn: string): WorkflowFunction | undefined {
  const name = functionArn.startsWith(PREFIX) ? functionArn.slice(PREFIX.length) : functionArn;
  return (WORKFLOW_FUNCTION_NAMES as string[]).includes(name) ? (name as WorkflowFunction) : undefined;
}

function renderLocal(pipeline: PipelineLimits): string {
  return renderWorkflow({
    functionArns: localArns(),
    stateTimeoutSeconds: pipeline.stateTimeoutSeconds,
    blobsPerJob: pipeline.limits.blobsPerJob,
    executionTimeoutSeconds: pipeline.executionTimeoutSeconds,
  });
}

export interface LocalWorkflow {
  definition: string;
  taskHandlers: Record<string, LocalTaskHandler>;
  /** Retry pauses the local runtime shortens (LOCAL_RETRY_INTERVALS). */
  retryIntervals: Record<string, number[]>;
  /** The workflow's functions, with their invocation, throttle and timeout counts. */
  functions: Record<WorkflowFunction, LocalFunction<{ jobId?: string }, unknown>>;
}

export function localWorkflow(pipeline: PipelineLimits): LocalWorkflow {
  const definition = renderLocal(pipeline);
  const functions = Object.fromEntries(
    WORKFLOW_FUNCTION_NAMES.map((name) => [
      name,
      new LocalFunction(`crossdock-${name}`, handlers[name], pipeline.functions[name]),
    ]),
  ) as LocalWorkflow['functions'];
  const taskHandlers = bindTaskStates(definition, (functionArn) => {
    const name = functionOf(functionArn);
    if (!name) return undefined;
    return (payload, signal) => functions[name].invoke(payload as { jobId?: string }, { signal });
  });
  return { definition, taskHandlers, functions, retryIntervals: LOCAL_RETRY_INTERVALS };
}

/**
 * The workflow run without Lambda, as the workflow tests run it: each Task state bound straight
 * to its task function with `deps` (no app, no middleware, no limits).
 */
export function localTaskHandlers(
  pipeline: PipelineLimits,
  deps: TaskDependencies,
): Omit<LocalWorkflow, 'functions'> {
  const definition = renderLocal(pipeline);
  const taskHandlers = bindTaskStates(definition, (functionArn) => {
    const name = functionOf(functionArn);
    return name && ((payload) => TASKS[name](deps, payload));
  });
  return { definition, taskHandlers, retryIntervals: LOCAL_RETRY_INTERVALS };
}
