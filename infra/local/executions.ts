import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { type StateNode, taskStates } from '../workflow.ts';
import { consoleLogger, type LocalLogger } from './local-logger.ts';

/**
 * Step Functions executions on this machine, with aws-local-stepfunctions: StartExecution by
 * name (a name already running starts nothing, as AWS answers a repeated StartExecution), abort
 * (StopExecution), and the end of every execution reported once to `onEnded`, which stands in
 * for the EventBridge execution-status rule. Differences from AWS, on purpose:
 * - every Task state runs a local handler; one without is refused at construction, so nothing
 *   ever calls AWS (and `AWS_ENDPOINT_URL_LAMBDA` points at a dead local port as a second guard);
 * - the library leaves a running task handler running after an abort or a timeout, so each
 *   handler gets an AbortSignal, and `onEnded` waits until the execution's handlers returned:
 *   whatever `onEnded` records (a job's end, a released lease) comes after the last task wrote;
 * - executions live in memory; a name is free again once its execution has ended;
 * - `stop()` aborts what runs (a job's execution may last hours, and records drive unfinished
 *   jobs again at the next start), reports those ends as ABORTED with `shutdown: true`, and
 *   returns when every handler and `onEnded` call has finished.
 */

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

export interface ExecutionEnded {
  executionArn: string;
  name: string;
  /** The execution input as JSON text, as in the execution-status event. */
  input: string;
  status: ExecutionStatus;
  /** JSON text of the result, when SUCCEEDED. */
  output?: string;
  error?: string;
  cause?: string;
  /** Aborted by `stop()`: the process is shutting down, the job did not end. */
  shutdown?: true;
}

export interface TaskContext {
  executionArn: string;
  name: string;
  /** Aborted when the execution ends before the handler returns (abort, timeout, stop). */
  signal: AbortSignal;
}

// biome-ignore lint/suspicious/noExplicitAny: Parameters and results are each Task state's own JSON.
export type TaskHandler = (parameters: any, context: TaskContext) => Promise<any>;

export interface LocalExecutionsOptions {
  /** ASL JSON with every placeholder already substituted. */
  definition: string;
  /** Keyed by Task state name (also inside Map and Parallel), as taskResourceLocalHandlers. */
  taskHandlers: Record<string, TaskHandler>;
  onEnded: (ended: ExecutionEnded) => Promise<void> | void;
  /** Default `arn:aws:states:us-east-1:000000000000:stateMachine:crossdock`. */
  stateMachineArn?: string;
  /** Retry pauses in milliseconds by state and retrier index, instead of the definition's (aws-local-stepfunctions' `retryIntervalOverrides`). */
  retryIntervals?: Record<string, number[]>;
  logger?: LocalLogger;
}

interface Running {
  controller: AbortController;
  abortRun: () => void;
  abortRequested: boolean;
  /** Aborted by stop(). */
  shutdown: boolean;
  ended?: Promise<void>;
}

/** A port nothing listens on: a Task that slipped through to the AWS SDK fails at once. */
const DEAD_LAMBDA_ENDPOINT = 'http://127.0.0.1:9';
/** Ended executions whose status `describe` still answers. */
const ENDED_KEPT = 10_000;
/** AWS's rule for execution names: 1–80 characters, none of these. */
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]/u;

function endOf(error: unknown): Pick<ExecutionEnded, 'status' | 'error' | 'cause'> {
  if (error instanceof ExecutionAbortedError) return { status: 'ABORTED' };
  if (error instanceof ExecutionTimeoutError) return { status: 'TIMED_OUT' };
  // ExecutionError wraps what failed the execution: a Fail state (name = its Error, message =
  // its Cause), a task handler's own error, or a States.* runtime error.
  const failure = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : error;
  if (failure instanceof Error) return { status: 'FAILED', error: failure.name, cause: failure.message };
  return { status: 'FAILED', error: 'Error', cause: String(failure) };
}

export class LocalExecutions {
  readonly stateMachineArn: string;
  readonly #machine: StateMachine;
  readonly #handlers: Record<string, TaskHandler>;
  readonly #retryIntervals: Record<string, number[]> | undefined;
  readonly #onEnded: LocalExecutionsOptions['onEnded'];
  readonly #logger: LocalLogger;
  readonly #running = new Map<string, Running>();
  /** How recent executions ended, newest last (DescribeExecution's answer for the reconciler). */
  readonly #ended = new Map<string, Pick<ExecutionEnded, 'status' | 'error' | 'cause'>>();
  #stopped = false;

  constructor(options: LocalExecutionsOptions) {
    const definition = JSON.parse(options.definition) as StateMachineDefinition & StateNode;
    const tasks = [...taskStates(definition).keys()];
    for (const state of tasks) {
      if (typeof options.taskHandlers[state] !== 'function') {
        throw new Error(`workflow Task state ${state} has no local handler: it would call AWS`);
      }
    }
    for (const state of Object.keys(options.taskHandlers)) {
      if (!tasks.includes(state)) throw new Error(`a local handler is given for ${state}, not a Task state`);
    }
    process.env.AWS_ENDPOINT_URL_LAMBDA ??= DEAD_LAMBDA_ENDPOINT;
    this.stateMachineArn =
      options.stateMachineArn ?? 'arn:aws:states:us-east-1:000000000000:stateMachine:crossdock';
    const region = this.stateMachineArn.split(':')[3] || 'us-east-1';
    this.#machine = new StateMachine(definition, {
      // The definition is checked against the ASL schema by the tests (workflow.test.ts);
      // checking it here compiled the schema at every start: ~0.4 s of a ~1.4 s start.
      validationOptions: { noValidate: true },
      // Dummy credentials: never look for real ones, whatever happens.
      awsConfig: { region, credentials: { accessKeys: { accessKeyId: 'local', secretAccessKey: 'local' } } },
    });
    this.#handlers = options.taskHandlers;
    this.#retryIntervals = options.retryIntervals;
    this.#onEnded = options.onEnded;
    this.#logger = options.logger ?? consoleLogger;
  }

  executionArn(name: string): string {
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }

  /** Starts an execution, unless one of this name is running (then `alreadyRunning`). */
  async start(name: string, input: object): Promise<{ executionArn: string; alreadyRunning: boolean }> {
    if (this.#stopped) throw new Error('local executions are stopped');
    if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) {
      throw new Error(`invalid execution name ${JSON.stringify(name)}`);
    }
    const executionArn = this.executionArn(name);
    if (this.#running.has(name)) return { executionArn, alreadyRunning: true };

    const controller = new AbortController();
    const inFlight = new Set<Promise<unknown>>();
    const context: TaskContext = { executionArn, name, signal: controller.signal };
    const taskResourceLocalHandlers = Object.fromEntries(
      Object.entries(this.#handlers).map(([state, handler]) => [
        state,
        (parameters: unknown) => {
          const call = (async () => handler(parameters, context))();
          const settled: Promise<unknown> = call.then(
            () => inFlight.delete(settled),
            () => inFlight.delete(settled),
          );
          inFlight.add(settled);
          return call;
        },
      ]),
    );
    const run = this.#machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers,
        ...(this.#retryIntervals ? { retryIntervalOverrides: this.#retryIntervals } : {}),
      },
      context: {
        Execution: { Id: executionArn, Name: name },
        StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineArn.split(':').pop() },
      },
    });
    const running: Running = {
      controller,
      abortRun: run.abort,
      abortRequested: false,
      shutdown: false,
    };
    this.#running.set(name, running);
    running.ended = (async () => {
      let end: Omit<ExecutionEnded, 'executionArn' | 'name' | 'input'>;
      try {
        end = { status: 'SUCCEEDED', output: JSON.stringify(await run.result) };
      } catch (error) {
        end = endOf(error);
      }
      controller.abort(); // whatever still runs belongs to an execution that has ended
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      const report: ExecutionEnded = { executionArn, name, input: JSON.stringify(input), ...end };
      if (running.shutdown && end.status === 'ABORTED') report.shutdown = true;
      try {
        await this.#onEnded(report);
      } catch (error) {
        this.#logger.error('reporting the end of an execution failed', {
          executionArn,
          status: end.status,
          error,
        });
      } finally {
        if (!report.shutdown) this.#remember(name, end);
        this.#running.delete(name);
      }
    })();
    return { executionArn, alreadyRunning: false };
  }

  /** Stops a running execution: it ends ABORTED. False when none of this name runs. */
  abort(name: string): boolean {
    const running = this.#running.get(name);
    if (!running || running.abortRequested || running.controller.signal.aborted) return false;
    running.abortRequested = true;
    running.abortRun();
    return true;
  }

  #remember(name: string, end: Pick<ExecutionEnded, 'status' | 'error' | 'cause'>): void {
    this.#ended.delete(name);
    this.#ended.set(name, {
      status: end.status,
      ...(end.error === undefined ? {} : { error: end.error }),
      ...(end.cause === undefined ? {} : { cause: end.cause }),
    });
    if (this.#ended.size > ENDED_KEPT) this.#ended.delete(this.#ended.keys().next().value as string);
  }

  /**
   * As DescribeExecution answers: RUNNING, how it ended, or UNKNOWN — an execution of an
   * earlier process, or one ended too long ago to be remembered.
   */
  describe(
    executionArn: string,
  ): { status: 'RUNNING' } | Pick<ExecutionEnded, 'status' | 'error' | 'cause'> | { status: 'UNKNOWN' } {
    const name = executionArn.split(':').pop() ?? '';
    if (this.#running.has(name)) return { status: 'RUNNING' };
    return this.#ended.get(name) ?? { status: 'UNKNOWN' };
  }

  /** Names of the executions that have not ended (or whose end is being reported). */
  running(): string[] {
    return [...this.#running.keys()];
  }

  /** Refuses new starts, aborts every running execution, and waits until all have ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#running.values()];
    for (const running of all) {
      if (running.abortRequested || running.controller.signal.aborted) continue;
      running.abortRequested = true;
      running.shutdown = true;
      running.abortRun();
    }
    await Promise.all(all.map((running) => running.ended));
  }
}
