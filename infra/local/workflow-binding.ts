import { WORKFLOW_FUNCTION_NAMES, type WorkflowFunction } from '../../functions/lib/workflow/functions.ts';
import { TASKS, type TaskDependencies } from '../../functions/lib/workflow/tasks.ts';
import { handlers, type WorkflowHandler } from '../../functions/workflow/handler.ts';
import { bindTaskStates, type LocalTaskHandler, renderWorkflow } from '../workflow.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * The workflow as the local runtime runs it: the same ASL file, its function placeholders
 * filled with local ARNs, and each Task state bound to the Lambda handler of the function that
 * ARN names — the modules the CDK stack deploys.
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

function renderLocal(options: { blobsPerJob: number; executionTimeoutSeconds: number }): string {
  return renderWorkflow({ functionArns: localArns(), ...options });
}

export function localWorkflow(options: { blobsPerJob: number; executionTimeoutSeconds: number }): {
  definition: string;
  taskHandlers: Record<string, LocalTaskHandler>;
} {
  const definition = renderLocal(options);
  const taskHandlers = bindTaskStates(definition, (functionArn) => {
    const name = functionOf(functionArn);
    if (!name) return undefined;
    const handler: WorkflowHandler = handlers[name];
    return (payload) => handler(payload as { jobId?: string }, lambdaContext(`crossdock-${name}`, 900_000));
  });
  return { definition, taskHandlers };
}

/**
 * The workflow run without Lambda, as the workflow tests run it: each Task state bound straight
 * to its task function with `deps` (no app, no middleware).
 */
export function localTaskHandlers(
  options: { blobsPerJob: number; executionTimeoutSeconds: number },
  deps: TaskDependencies,
): { definition: string; taskHandlers: Record<string, LocalTaskHandler> } {
  const definition = renderLocal(options);
  const taskHandlers = bindTaskStates(definition, (functionArn) => {
    const name = functionOf(functionArn);
    return name && ((payload) => TASKS[name](deps, payload));
  });
  return { definition, taskHandlers };
}
