import { app } from '../app/current.ts';
import type { TaskDependencies } from '../workflow/tasks.ts';
import { addLogKeys } from './invocation-log.ts';
import { observed } from './middleware.ts';

/**
 * A workflow task as a Lambda handler: the state's Payload in, the task's JSON out. Errors are
 * thrown as they are: their `name` is what the state machine's Retry and Catch match.
 */
export function taskHandler<TInput extends { jobId?: string }, TOutput>(
  task: (deps: TaskDependencies, input: TInput) => Promise<TOutput>,
) {
  return observed(async (input: TInput) => {
    addLogKeys({ jobId: input.jobId });
    return task((await app()).taskDependencies, input);
  });
}
