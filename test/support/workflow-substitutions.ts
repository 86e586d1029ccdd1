import { WORKFLOW_FUNCTION_NAMES, type WorkflowFunction } from '../../functions/lib/workflow/functions.ts';
import type { WorkflowSubstitutions } from '../../infra/workflow.ts';

const arn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:crossdock-${name}`;

/** Values for every placeholder of the workflow, with Lambda ARNs of the form AWS gives. */
export function exampleSubstitutions(overrides: Partial<WorkflowSubstitutions> = {}): WorkflowSubstitutions {
  return {
    functionArns: Object.fromEntries(WORKFLOW_FUNCTION_NAMES.map((name) => [name, arn(name)])) as Record<
      WorkflowFunction,
      string
    >,
    stateTimeoutSeconds: Object.fromEntries(WORKFLOW_FUNCTION_NAMES.map((name) => [name, 150])) as Record<
      WorkflowFunction,
      number
    >,
    blobsPerJob: 4,
    executionTimeoutSeconds: 3600,
    ...overrides,
  };
}
