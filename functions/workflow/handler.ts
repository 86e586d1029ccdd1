import type { Context } from 'aws-lambda';
import { app } from '../lib/app/current.ts';
import { keepHeapSmall } from '../lib/runtime/heap-limits.ts';
import { addLogKeys } from '../lib/runtime/invocation-log.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { WORKFLOW_FUNCTION_NAMES, type WorkflowFunction } from '../lib/workflow/functions.ts';
import { TASKS } from '../lib/workflow/tasks.ts';

/**
 * The workflow's Lambda handlers, one per workflow function (functions/lib/workflow/functions.ts),
 * from this one module: the CDK stack deploys each as `index.handlers.<name>`, the local runtime
 * binds each Task state to the handler its function names. A handler takes the state's Payload
 * and answers the task's JSON; errors are thrown as they are: their `name` is what the state
 * machine's Retry and Catch match.
 */
// In a Lambda the copies' memory stays flat without flags (heap-limits.ts); the local runtime
// runs these handlers inside serve, whose own pipeline keeps V8's defaults.
if (process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined) keepHeapSmall();

export type WorkflowHandler = (payload: { jobId?: string }, context: Context) => Promise<unknown>;

export const handlers = Object.fromEntries(
  WORKFLOW_FUNCTION_NAMES.map((name): [WorkflowFunction, WorkflowHandler] => [
    name,
    observed(async (input: { jobId?: string }, context: Context) => {
      addLogKeys({ jobId: input.jobId });
      return TASKS[name](
        {
          ...(await app()).taskDependencies,
          timeLeft: () => context.getRemainingTimeInMillis(),
          // The local runtime aborts an invocation's work at its timeout (infra/local/lambda-function.ts).
          signal: (context as { abortSignal?: AbortSignal }).abortSignal,
        },
        input,
      );
    }),
  ]),
) as Record<WorkflowFunction, WorkflowHandler>;
