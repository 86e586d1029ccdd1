import { taskHandler } from '../lib/runtime/task-handler.ts';
import { TASKS_BY_FUNCTION, type Task, type TaskFunction } from '../lib/workflow/bindings.ts';

/**
 * The workflow's Lambda handlers by the placeholder the ASL uses for their ARN: one per task
 * function. The CDK stack deploys each from its own entry file (`functions/workflow/<state>.ts`,
 * `infra/aws/workflow.ts`); the local runtime binds each Task state to the handler named here,
 * so both run the same modules.
 */
export const WORKFLOW_HANDLERS = Object.fromEntries(
  Object.entries(TASKS_BY_FUNCTION as Record<TaskFunction, Task>).map(([name, task]) => [
    name,
    taskHandler(task),
  ]),
) as Record<TaskFunction, ReturnType<typeof taskHandler<{ jobId?: string }, unknown>>>;
