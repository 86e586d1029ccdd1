import { join } from 'node:path';
import workflow from './workflow.asl.json' with { type: 'json' };

/**
 * The one state machine both infrastructures run: `infra/workflow.asl.json`. Its placeholders
 * are quoted (`"${Name}"`) so the file stays valid JSON; rendering replaces each quoted
 * placeholder with the JSON of its value, so numbers (MaxConcurrency, TimeoutSeconds) become
 * numbers and ARNs strings. CDK renders it with ARN tokens, the local runtime with local names.
 */

export const WORKFLOW_FILE = join(import.meta.dirname, 'workflow.asl.json');
/** The file's JSON, imported (not read at run time) so that bundles (dist/, Lambda) carry it. */
const WORKFLOW_TEXT = JSON.stringify(workflow);

export interface WorkflowSubstitutions {
  RecordStateFunctionArn: string;
  FetchManifestFunctionArn: string;
  CheckManifestFunctionArn: string;
  CheckBlobFunctionArn: string;
  CopyBlobFunctionArn: string;
  PushManifestFunctionArn: string;
  CheckTagFunctionArn: string;
  DeleteManifestFunctionArn: string;
  BlobsPerJob: number;
  ExecutionTimeoutSeconds: number;
}

const PLACEHOLDER = /"\$\{(\w+)\}"/g;

export function renderWorkflow(substitutions: WorkflowSubstitutions, text = WORKFLOW_TEXT): string {
  const values = substitutions as unknown as Record<string, string | number>;
  const used = new Set<string>();
  const rendered = text.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`workflow placeholder \${${name}} has no value`);
    used.add(name);
    return JSON.stringify(value);
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`workflow has no placeholder for ${unused.join(', ')}`);
  return rendered;
}

/** The names of the Task states and the function placeholder each one calls. */
export function taskStates(definition: string): Map<string, string> {
  const tasks = new Map<string, string>();
  const visit = (
    states: Record<
      string,
      {
        Type: string;
        Parameters?: { FunctionName?: string };
        ItemProcessor?: { States: Record<string, never> };
      }
    >,
  ) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task' && state.Parameters?.FunctionName)
        tasks.set(name, state.Parameters.FunctionName);
      if (state.ItemProcessor) visit(state.ItemProcessor.States);
    }
  };
  visit(JSON.parse(definition).States);
  return tasks;
}

/**
 * Like `lambda:invoke` for aws-local-stepfunctions: the state's Parameters (`{ FunctionName,
 * Payload }`) in, `{ Payload }` out.
 */
// biome-ignore lint/suspicious/noExplicitAny: Parameters and answers are JSON of each task's own shape.
export type LocalTaskHandler = (parameters: any) => Promise<any>;

/**
 * Handlers keyed by Task state name, as aws-local-stepfunctions' `taskResourceLocalHandlers`
 * wants them: each state's function (its `FunctionName`) resolved to code run in-process. A
 * Task state whose function resolves to nothing is an error here, before anything runs: it
 * must never reach out to AWS.
 */
export function bindTaskStates(
  definition: string,
  resolve: (functionName: string) => ((payload: unknown) => Promise<unknown>) | undefined,
): Record<string, LocalTaskHandler> {
  const handlers: Record<string, LocalTaskHandler> = {};
  for (const [state, functionName] of taskStates(definition)) {
    const run = resolve(functionName);
    if (!run) throw new Error(`workflow state ${state} calls ${functionName}, which has no local handler`);
    handlers[state] = async (parameters: { Payload: unknown }) => ({
      Payload: await run(parameters.Payload),
    });
  }
  return handlers;
}
