import type { Context } from 'aws-lambda';
import { WORKFLOW_HANDLERS } from '../../functions/workflow/index.ts';
import {
  bindTaskStates,
  type LocalTaskHandler,
  renderWorkflow,
  type WorkflowSubstitutions,
} from '../workflow.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * The workflow as the local runtime runs it: the same ASL file, its function placeholders
 * filled with local ARNs, and each Task state bound to the Lambda handler module that ARN
 * names — the modules the CDK stack deploys.
 */

const PREFIX = 'arn:aws:lambda:local:000000000000:function:crossdock-';

type LambdaHandler = (payload: unknown, context: Context) => Promise<unknown>;

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
  const taskHandlers = bindTaskStates(definition, (functionArn) => {
    const placeholder = functionArn.startsWith(PREFIX) ? functionArn.slice(PREFIX.length) : functionArn;
    const handler = (WORKFLOW_HANDLERS as Record<string, LambdaHandler | undefined>)[placeholder];
    const functionName = `crossdock-${placeholder.replace(/FunctionArn$/, '')}`;
    return handler && ((payload) => handler(payload, lambdaContext(functionName, 900_000)));
  });
  return { definition, taskHandlers };
}
