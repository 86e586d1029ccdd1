import { taskStates } from '../../../infra/workflow.ts';
import {
  checkBlobTask,
  checkManifestTask,
  checkTagTask,
  copyBlobTask,
  deleteManifestTask,
  fetchManifestTask,
  pushManifestTask,
  recordStateTask,
  type TaskDependencies,
} from './tasks.ts';

/**
 * Which task function serves which Lambda of the workflow, by the placeholder the ASL uses for
 * its ARN. The CDK stack deploys one Lambda per entry; the local runtime calls them in-process.
 */
// biome-ignore lint/suspicious/noExplicitAny: each task takes its own input shape from the ASL.
type Task = (deps: TaskDependencies, input: any) => Promise<unknown>;

export const TASKS_BY_FUNCTION: Record<string, Task> = {
  RecordStateFunctionArn: recordStateTask,
  FetchManifestFunctionArn: fetchManifestTask,
  CheckManifestFunctionArn: checkManifestTask,
  CheckBlobFunctionArn: checkBlobTask,
  CopyBlobFunctionArn: copyBlobTask,
  PushManifestFunctionArn: pushManifestTask,
  CheckTagFunctionArn: checkTagTask,
  DeleteManifestFunctionArn: deleteManifestTask,
};

// biome-ignore lint/suspicious/noExplicitAny: Parameters and answers are JSON of each task's own shape.
type LocalHandler = (parameters: any) => Promise<any>;

/**
 * Local handlers keyed by state name, as aws-local-stepfunctions' `taskResourceLocalHandlers`
 * wants them: like `lambda:invoke`, each gets the state's Parameters (`{ FunctionName, Payload }`)
 * and answers `{ Payload }`. A Task state whose function has no task here fails loudly instead
 * of calling AWS.
 */
export function localTaskHandlers(definition: string, deps: TaskDependencies): Record<string, LocalHandler> {
  const handlers: Record<string, LocalHandler> = {};
  for (const [state, functionPlaceholder] of taskStates(definition)) {
    const name = /^\$\{(\w+)\}$/.exec(functionPlaceholder)?.[1] ?? functionPlaceholder;
    const task = TASKS_BY_FUNCTION[name];
    if (!task)
      throw new Error(`workflow state ${state} calls ${functionPlaceholder}, which has no local task`);
    handlers[state] = async (parameters: { FunctionName: string; Payload: unknown }) => ({
      Payload: await task(deps, parameters.Payload),
    });
  }
  return handlers;
}
