import type { Context } from 'aws-lambda';
import { WORKFLOW_HANDLERS } from '../../functions/workflow/index.ts';
import { renderWorkflow, taskStates, type WorkflowSubstitutions } from '../workflow.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * The workflow as the local runtime runs it: the same ASL file, its function placeholders
 * filled with local ARNs, and each Task state bound to the Lambda handler module that ARN
 * names — the modules the CDK stack deploys. A Task whose function has no handler is an error
 * here, before anything runs: it must never reach out to AWS.
 */

const PREFIX = 'arn:aws:lambda:local:000000000000:function:crossdock-';

type Placeholder = keyof typeof WORKFLOW_HANDLERS;
/** Like `lambda:invoke`: the state's Parameters in, `{ Payload }` out (each task's own JSON). */
export type LocalTaskHandler = (parameters: {
  FunctionName: string;
  Payload: unknown;
}) => Promise<{ Payload: unknown }>;

export function localWorkflow(options: { blobsPerJob: number; executionTimeoutSeconds: number }): {
  definition: string;
  taskHandlers: Record<string, LocalTaskHandler>;
} {
  const substitutions = Object.fromEntries(
    Object.keys(WORKFLOW_HANDLERS).map((placeholder) => [placeholder, `${PREFIX}${placeholder}`]),
  ) as unknown as WorkflowSubstitutions;
  substitutions.BlobsPerJob = options.blobsPerJob;
  substitutions.ExecutionTimeoutSeconds = options.executionTimeoutSeconds;
  const definition = renderWorkflow(substitutions);

  const taskHandlers: Record<string, LocalTaskHandler> = {};
  for (const [state, functionArn] of taskStates(definition)) {
    const placeholder = functionArn.startsWith(PREFIX) ? functionArn.slice(PREFIX.length) : functionArn;
    const handler = WORKFLOW_HANDLERS[placeholder as Placeholder] as unknown as
      | ((payload: unknown, context: Context) => Promise<unknown>)
      | undefined;
    if (!handler) throw new Error(`workflow state ${state} calls ${functionArn}, which has no local handler`);
    taskHandlers[state] = async (parameters) => ({
      Payload: await handler(
        parameters.Payload,
        lambdaContext(`crossdock-${placeholder.replace(/FunctionArn$/, '')}`, 900_000),
      ),
    });
  }
  return { definition, taskHandlers };
}
