import { join } from 'node:path';
import {
  type RetryClass,
  WORKFLOW_FUNCTION_NAMES,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
} from '../functions/lib/workflow/functions.ts';
import workflow from './workflow.asl.json' with { type: 'json' };

/**
 * The one state machine both infrastructures run: `infra/workflow.asl.json`. Its placeholders
 * are quoted (`"${Name}"`) so the file stays valid JSON; rendering replaces each quoted
 * placeholder with the JSON of its value, so numbers (MaxConcurrency, TimeoutSeconds) become
 * numbers, ARNs strings and retriers arrays. What fills them comes from the workflow functions'
 * table (functions/lib/workflow/functions.ts): `${<name>FunctionArn}` the function's ARN (CDK
 * tokens when deployed, local names in the local runtime), `${<name>Retry}` the retriers of its
 * retry class, `${<name>StateTimeout}` the TimeoutSeconds of the states calling it;
 * `${CancelOrFail}` is the one Catch of the job's states.
 */

export const WORKFLOW_FILE = join(import.meta.dirname, 'workflow.asl.json');
/** The file's JSON, imported (not read at run time) so that bundles (dist/, Lambda) carry it. */
const WORKFLOW_TEXT = JSON.stringify(workflow);

export interface WorkflowSubstitutions {
  /** The ARN (or local name) each Task state's function is reached by. */
  functionArns: Record<WorkflowFunction, string>;
  /** TimeoutSeconds of the states calling each function: longer than the function may run (infra/limits.ts). */
  stateTimeoutSeconds: Record<WorkflowFunction, number>;
  /** Blobs of one job copied at once: the Map's MaxConcurrency. */
  blobsPerJob: number;
  executionTimeoutSeconds: number;
}

/**
 * Errors a later attempt may get past (docs/reliability.md). Each retrier counts its own attempts:
 * - a throttled invocation (the function's reserved concurrency is the IO pool, and full) is
 *   tried again for minutes — about seven at most — never failing the job for waiting;
 * - an invocation that ran out of time (its function's timeout, or the state's) is tried again:
 *   a copy resumes from the destination's offset;
 * - a registry's 5xx, resets and 429s, and Lambda's own hiccups, a few times.
 */
const TRANSIENT = [
  {
    ErrorEquals: ['Lambda.TooManyRequestsException'],
    IntervalSeconds: 1,
    BackoffRate: 2,
    MaxAttempts: 12,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: ['States.Timeout', 'Sandbox.Timedout', 'Lambda.Unknown'],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 3,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: [
      'RegistryUnavailableError',
      'RateLimitedError',
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.ClientExecutionTimeoutException',
    ],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 4,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
];

/**
 * How a lane of CopyBlobs goes on (tasks.ts `mountOrCopyBlobsTask`): an invocation that spent its
 * byte budget, or whose blobs left are another job's to copy, keeps the rest in the job's record
 * and fails with one of these; calling it again costs one state transition, not a Choice, a Map
 * and every lane again. A budget of 1 GiB (the default) gives blobs of up to ~4.8 TiB; a shared
 * blob is waited for up to ~1000 × (2 s + the invocation's own wait), about two hours, like
 * another job's claim on it at most. The local runtime goes on without the 1 s pause
 * (`LOCAL_RETRY_INTERVALS`).
 */
const COPY_CONTINUES = {
  ErrorEquals: ['CopyContinuesError'],
  IntervalSeconds: 1,
  BackoffRate: 1,
  MaxAttempts: 5000,
};
const LANE_GOES_ON = [
  COPY_CONTINUES,
  { ErrorEquals: ['SharedBlobBusyError'], IntervalSeconds: 2, BackoffRate: 1, MaxAttempts: 1000 },
];

const RETRIERS: Record<RetryClass, unknown[]> = {
  transient: TRANSIENT,
  lane: [...LANE_GOES_ON, ...TRANSIENT],
};

/**
 * aws-local-stepfunctions' `retryIntervalOverrides` for the local runtime: milliseconds by the
 * retrier's index in each state calling a `lane` function (their state names are the functions'
 * names), -1 keeping the definition's pause. A lane whose byte budget ran out goes on at once, as
 * a Choice looping back did; every other pause stays.
 */
export const LOCAL_RETRY_INTERVALS: Record<string, number[]> = Object.fromEntries(
  WORKFLOW_FUNCTION_NAMES.filter((name) => WORKFLOW_FUNCTIONS[name].retry === 'lane').map((name) => [
    name,
    RETRIERS.lane.map((retrier) => (retrier === COPY_CONTINUES ? 0 : -1)),
  ]),
);

/** A cancelled job records CANCELLED; anything else that got past the retriers, FAILED. */
const CANCEL_OR_FAIL = [
  { ErrorEquals: ['JobCancelledError'], ResultPath: '$.error', Next: 'RecordCancelled' },
  { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailed' },
];

const PLACEHOLDER = /"\$\{(\w+)\}"/g;

/** Every placeholder's value, from the table and the substitutions. */
function placeholderValues(substitutions: WorkflowSubstitutions): Map<string, unknown> {
  const values = new Map<string, unknown>([
    ['BlobsPerJob', substitutions.blobsPerJob],
    ['ExecutionTimeoutSeconds', substitutions.executionTimeoutSeconds],
    ['CancelOrFail', CANCEL_OR_FAIL],
  ]);
  for (const name of WORKFLOW_FUNCTION_NAMES) {
    values.set(`${name}FunctionArn`, substitutions.functionArns[name]);
    values.set(`${name}Retry`, RETRIERS[WORKFLOW_FUNCTIONS[name].retry]);
    values.set(`${name}StateTimeout`, substitutions.stateTimeoutSeconds[name]);
  }
  return values;
}

export function renderWorkflow(substitutions: WorkflowSubstitutions, text = WORKFLOW_TEXT): string {
  const values = placeholderValues(substitutions);
  const rendered = text.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`workflow placeholder \${${name}} has no value`);
    return JSON.stringify(value);
  });
  // A function the table deploys that no state calls is a table and an ASL out of step.
  const uncalled = WORKFLOW_FUNCTION_NAMES.filter((name) => !text.includes(`"\${${name}FunctionArn}"`));
  if (uncalled.length > 0) throw new Error(`no workflow state calls ${uncalled.join(', ')}`);
  return rendered;
}

/** A state of an ASL definition, as far as the walkers read it. */
export interface StateNode {
  Type?: string;
  Parameters?: { FunctionName?: string };
  Retry?: unknown;
  States?: Record<string, StateNode>;
  ItemProcessor?: StateNode;
  Iterator?: StateNode;
  Branches?: StateNode[];
}

/** Visits every state of a definition (JSON text or parsed), also those inside Map and Parallel states. */
export function forEachState(
  definition: string | StateNode,
  visit: (name: string, state: StateNode) => void,
) {
  const walk = (machine: StateNode | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      visit(name, state);
      walk(state.ItemProcessor ?? state.Iterator);
      for (const branch of state.Branches ?? []) walk(branch);
    }
  };
  walk(typeof definition === 'string' ? (JSON.parse(definition) as StateNode) : definition);
}

/** The names of the Task states and the function each one calls (its `FunctionName`). */
export function taskStates(definition: string | StateNode): Map<string, string> {
  const tasks = new Map<string, string>();
  forEachState(definition, (name, state) => {
    if (state.Type === 'Task') tasks.set(name, state.Parameters?.FunctionName ?? '');
  });
  return tasks;
}

/**
 * Like `lambda:invoke` for aws-local-stepfunctions: the state's Parameters (`{ FunctionName,
 * Payload }`) in, `{ Payload }` out; `signal` aborts when the execution ends first.
 */
// biome-ignore lint/suspicious/noExplicitAny: Parameters and answers are JSON of each task's own shape.
export type LocalTaskHandler = (parameters: any, context?: { signal?: AbortSignal }) => Promise<any>;

/**
 * Handlers keyed by Task state name, as aws-local-stepfunctions' `taskResourceLocalHandlers`
 * wants them: each state's function (its `FunctionName`) resolved to code run in-process. A
 * Task state whose function resolves to nothing is an error here, before anything runs: it
 * must never reach out to AWS.
 */
export function bindTaskStates(
  definition: string,
  resolve: (
    functionName: string,
  ) => ((payload: unknown, signal: AbortSignal | undefined) => Promise<unknown>) | undefined,
): Record<string, LocalTaskHandler> {
  const handlers: Record<string, LocalTaskHandler> = {};
  for (const [state, functionName] of taskStates(definition)) {
    const run = resolve(functionName);
    if (!run) throw new Error(`workflow state ${state} calls ${functionName}, which has no local handler`);
    handlers[state] = async (parameters: { Payload: unknown }, context) => ({
      Payload: await run(parameters.Payload, context?.signal),
    });
  }
  return handlers;
}
