import { bindTaskStates, type LocalTaskHandler } from '../../../infra/workflow.ts';
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
export type Task = (deps: TaskDependencies, input: any) => Promise<unknown>;

export const TASKS_BY_FUNCTION = {
  RecordStateFunctionArn: recordStateTask,
  FetchManifestFunctionArn: fetchManifestTask,
  CheckManifestFunctionArn: checkManifestTask,
  CheckBlobFunctionArn: checkBlobTask,
  CopyBlobFunctionArn: copyBlobTask,
  PushManifestFunctionArn: pushManifestTask,
  CheckTagFunctionArn: checkTagTask,
  DeleteManifestFunctionArn: deleteManifestTask,
} satisfies Record<string, Task>;

export type TaskFunction = keyof typeof TASKS_BY_FUNCTION;

/**
 * The task functions bound to the Task states of `definition` (ASL with `${…}` placeholders),
 * called in-process with `deps`: the workflow run without Lambda, as the tests run it.
 */
export function localTaskHandlers(
  definition: string,
  deps: TaskDependencies,
): Record<string, LocalTaskHandler> {
  return bindTaskStates(definition, (functionName) => {
    const name = /^\$\{(\w+)\}$/.exec(functionName)?.[1] ?? functionName;
    const task = (TASKS_BY_FUNCTION as Record<string, Task | undefined>)[name];
    return task && ((payload) => task(deps, payload));
  });
}
