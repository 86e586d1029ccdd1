import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  type ExecutionEnded,
  LocalExecutions,
  type LocalExecutionsOptions,
  type TaskContext,
  type TaskHandler,
} from '../../../infra/local/executions.ts';

/** A Lambda-invoke Task state, as the workflow writes them (JSONPath). */
function task(next: { Next: string } | { End: true }, extra: object = {}) {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: 'local', 'Payload.$': '$', 'ExecutionId.$': '$$.Execution.Id' },
    ResultSelector: { 'value.$': '$.Payload' },
    ...extra,
    ...next,
  };
}

function machine(states: Record<string, unknown>, startAt: string, extra: object = {}): string {
  return JSON.stringify({ StartAt: startAt, States: states, ...extra });
}

const ONE_TASK = machine({ Work: task({ End: true }) }, 'Work');

function executions(
  definition: string,
  taskHandlers: Record<string, TaskHandler>,
  options: Partial<LocalExecutionsOptions> = {},
) {
  const ended: ExecutionEnded[] = [];
  const local = new LocalExecutions({
    definition,
    taskHandlers,
    onEnded: (end) => {
      ended.push(end);
    },
    ...options,
  });
  onTestFinished(() => local.stop());
  return { local, ended };
}

/** A handler that runs until its execution's signal aborts, and tells when it returned. */
function untilAborted() {
  const calls: { context: TaskContext; returnedAt?: number }[] = [];
  const handler: TaskHandler = (_parameters, context) => {
    const call: (typeof calls)[number] = { context };
    calls.push(call);
    return new Promise((resolve) => {
      context.signal.addEventListener('abort', () =>
        setTimeout(() => {
          call.returnedAt = Date.now();
          resolve({ Payload: 'stopped' });
        }, 50),
      );
    });
  };
  return { handler, calls };
}

describe('local executions (aws-local-stepfunctions)', () => {
  it("retries a Task state at once where the runtime overrides its retrier's pause, and keeps the others", async () => {
    const definition = machine(
      {
        Work: task(
          { End: true },
          {
            Retry: [
              { ErrorEquals: ['GoesOnError'], IntervalSeconds: 3600, MaxAttempts: 5 },
              { ErrorEquals: ['States.ALL'], IntervalSeconds: 3600, MaxAttempts: 1 },
            ],
          },
        ),
      },
      'Work',
    );
    let calls = 0;
    const { local, ended } = executions(
      definition,
      {
        Work: async () => {
          calls++;
          if (calls < 3) throw Object.assign(new Error('more to do'), { name: 'GoesOnError' });
          return { Payload: calls };
        },
      },
      { retryIntervals: { Work: [0] } },
    );

    await local.start('job-r-1', {});

    // An hour's pause each without the override: the test's timeout would end it first.
    await vi.waitFor(() => expect(ended).toHaveLength(1));
    expect(ended[0]).toMatchObject({ status: 'SUCCEEDED', output: JSON.stringify({ value: 3 }) });
  });

  it('runs an execution to SUCCEEDED and reports its output once, under an AWS-like ARN', async () => {
    const seen: { parameters: unknown; context: TaskContext }[] = [];
    const { local, ended } = executions(ONE_TASK, {
      Work: async (parameters: { Payload: { a: number; b: number } }, context) => {
        seen.push({ parameters, context });
        return { Payload: parameters.Payload.a + parameters.Payload.b };
      },
    });

    const started = await local.start('job-1-1', { a: 1, b: 2 });
    await vi.waitFor(() => expect(ended).toHaveLength(1));

    const arn = 'arn:aws:states:us-east-1:000000000000:execution:crossdock:job-1-1';
    expect(started).toEqual({ executionArn: arn, alreadyRunning: false });
    expect(ended[0]).toEqual({
      executionArn: arn,
      name: 'job-1-1',
      input: '{"a":1,"b":2}',
      status: 'SUCCEEDED',
      output: '{"value":3}',
    });
    expect(seen[0]?.parameters).toEqual({ FunctionName: 'local', Payload: { a: 1, b: 2 }, ExecutionId: arn });
    expect(seen[0]?.context).toMatchObject({ executionArn: arn, name: 'job-1-1' });
    expect(local.running()).toEqual([]);
  });

  it('reports FAILED with the error name and message of a task that throws', async () => {
    class RegistryUnavailable extends Error {
      override name = 'RegistryUnavailable';
    }
    const { local, ended } = executions(ONE_TASK, {
      Work: async () => {
        throw new RegistryUnavailable('dc-b answered 503 three times');
      },
    });

    await local.start('job-2-1', { jobId: 'job-2', attempt: 1 });
    await vi.waitFor(() => expect(ended).toHaveLength(1));

    expect(ended[0]).toMatchObject({
      name: 'job-2-1',
      status: 'FAILED',
      error: 'RegistryUnavailable',
      cause: 'dc-b answered 503 three times',
      input: '{"jobId":"job-2","attempt":1}',
    });
  });

  it("reports FAILED with a Fail state's Error and Cause", async () => {
    const definition = machine(
      {
        Work: task({ Next: 'Give up' }),
        'Give up': { Type: 'Fail', Error: 'JobFailed', Cause: 'no manifest' },
      },
      'Work',
    );
    const { local, ended } = executions(definition, { Work: async () => ({ Payload: null }) });

    await local.start('job-3-1', {});
    await vi.waitFor(() => expect(ended).toHaveLength(1));

    expect(ended[0]).toMatchObject({ status: 'FAILED', error: 'JobFailed', cause: 'no manifest' });
  });

  it('ends an aborted execution ABORTED, reported after its running task handler returned', async () => {
    const { handler, calls } = untilAborted();
    let reportedAt = 0;
    const { local, ended } = executions(
      ONE_TASK,
      { Work: handler },
      {
        onEnded: (end) => {
          reportedAt = Date.now();
          ended.push(end);
        },
      },
    );
    await local.start('job-4-1', {});
    await vi.waitFor(() => expect(calls).toHaveLength(1));

    expect(local.abort('job-4-1')).toBe(true);
    await vi.waitFor(() => expect(ended).toHaveLength(1));

    expect(ended[0]).toMatchObject({ name: 'job-4-1', status: 'ABORTED' });
    expect(ended[0]?.shutdown).toBeUndefined();
    expect(calls[0]?.context.signal.aborted).toBe(true);
    expect(calls[0]?.returnedAt).toBeDefined();
    expect(reportedAt).toBeGreaterThanOrEqual(calls[0]?.returnedAt ?? Number.POSITIVE_INFINITY);
    expect(local.abort('job-4-1')).toBe(false);
  });

  it('ends an execution that runs past its TimeoutSeconds TIMED_OUT', async () => {
    const { handler } = untilAborted();
    const definition = machine({ Work: task({ End: true }) }, 'Work', { TimeoutSeconds: 1 });
    const { local, ended } = executions(definition, { Work: handler });

    await local.start('job-5-1', {});
    await vi.waitFor(() => expect(ended).toHaveLength(1), { timeout: 5000 });

    expect(ended[0]).toMatchObject({ name: 'job-5-1', status: 'TIMED_OUT' });
  });

  it('fails a Task state that runs past its own TimeoutSeconds with States.Timeout, which a Retry matches', async () => {
    let calls = 0;
    const slowOnce: TaskHandler = async () => {
      calls++;
      if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 2500));
      return { Payload: 'done' };
    };
    const retried = machine(
      {
        Work: task(
          { End: true },
          {
            TimeoutSeconds: 1,
            Retry: [{ ErrorEquals: ['States.Timeout'], IntervalSeconds: 1, MaxAttempts: 1 }],
          },
        ),
      },
      'Work',
    );
    const { local, ended } = executions(retried, { Work: slowOnce });

    await local.start('job-timeout-1', {});
    await vi.waitFor(() => expect(ended).toHaveLength(1), { timeout: 8000 });

    expect(ended[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(calls).toBe(2);

    const { local: strict, ended: failed } = executions(
      machine({ Work: task({ End: true }, { TimeoutSeconds: 1 }) }, 'Work'),
      {
        Work: async () => new Promise((resolve) => setTimeout(() => resolve({ Payload: 'late' }), 2500)),
      },
    );
    await strict.start('job-timeout-2', {});
    await vi.waitFor(() => expect(failed).toHaveLength(1), { timeout: 8000 });
    expect(failed[0]).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('fails a Task state inside a Map that runs past its TimeoutSeconds with States.Timeout', async () => {
    const definition = machine(
      {
        Blobs: {
          Type: 'Map',
          ItemsPath: '$.blobs',
          ItemProcessor: {
            StartAt: 'CopyBlob',
            States: { CopyBlob: task({ End: true }, { TimeoutSeconds: 1 }) },
          },
          End: true,
        },
      },
      'Blobs',
    );
    const { local, ended } = executions(definition, {
      CopyBlob: async () => new Promise((resolve) => setTimeout(() => resolve({ Payload: 'late' }), 2500)),
    });

    await local.start('job-map-timeout-1', { blobs: [1, 2] });
    await vi.waitFor(() => expect(ended).toHaveLength(1), { timeout: 8000 });

    expect(ended[0]).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('starts nothing for the name of a running execution, as a repeated StartExecution', async () => {
    const { handler, calls } = untilAborted();
    const { local, ended } = executions(ONE_TASK, { Work: handler });

    const first = await local.start('job-6-1', { n: 1 });
    const second = await local.start('job-6-1', { n: 2 });
    await vi.waitFor(() => expect(calls).toHaveLength(1));

    expect(first.alreadyRunning).toBe(false);
    expect(second).toEqual({ executionArn: first.executionArn, alreadyRunning: true });
    expect(local.running()).toEqual(['job-6-1']);
    local.abort('job-6-1');
    await vi.waitFor(() => expect(ended).toHaveLength(1));
    expect(calls).toHaveLength(1);
    expect(local.running()).toEqual([]);
  });

  it('refuses at construction a Task state without a local handler, naming it (also inside a Map)', () => {
    const definition = machine(
      {
        Work: task({ Next: 'Blobs' }),
        Blobs: {
          Type: 'Map',
          ItemsPath: '$.blobs',
          ItemProcessor: { StartAt: 'CopyBlob', States: { CopyBlob: task({ End: true }) } },
          End: true,
        },
      },
      'Work',
    );
    const create = (handlers: Record<string, TaskHandler>) =>
      new LocalExecutions({ definition, taskHandlers: handlers, onEnded: () => undefined });
    const ok: TaskHandler = async () => ({ Payload: null });

    expect(() => create({ Work: ok })).toThrow('workflow Task state CopyBlob has no local handler');
    expect(() => create({ CopyBlob: ok })).toThrow('workflow Task state Work has no local handler');
    expect(() => create({ Work: ok, CopyBlob: ok, Typo: ok })).toThrow('Typo, not a Task state');
    expect(() => create({ Work: ok, CopyBlob: ok })).not.toThrow();
    expect(process.env.AWS_ENDPOINT_URL_LAMBDA).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });

  it('logs an error thrown by onEnded instead of losing it, and frees the name', async () => {
    const errors: { message: string; details: Record<string, unknown> }[] = [];
    const { local } = executions(
      ONE_TASK,
      { Work: async () => ({ Payload: 1 }) },
      {
        onEnded: () => {
          throw new Error('the records are unreachable');
        },
        logger: { warn: () => undefined, error: (message, details) => errors.push({ message, details }) },
      },
    );

    await local.start('job-7-1', {});
    await vi.waitFor(() => expect(errors).toHaveLength(1));

    expect(errors[0]?.details).toMatchObject({
      executionArn: 'arn:aws:states:us-east-1:000000000000:execution:crossdock:job-7-1',
      status: 'SUCCEEDED',
      error: new Error('the records are unreachable'),
    });
    expect(local.running()).toEqual([]);
  });

  it('stop() aborts running executions, reports them as a shutdown and waits for their handlers', async () => {
    const { handler, calls } = untilAborted();
    const { local, ended } = executions(ONE_TASK, { Work: handler });
    await local.start('job-8-1', {});
    await local.start('job-9-1', {});
    await vi.waitFor(() => expect(calls).toHaveLength(2));

    await local.stop();

    expect(calls.every((call) => call.returnedAt !== undefined)).toBe(true);
    expect(ended.map((end) => [end.name, end.status, end.shutdown]).sort()).toEqual([
      ['job-8-1', 'ABORTED', true],
      ['job-9-1', 'ABORTED', true],
    ]);
    await expect(local.start('job-10-1', {})).rejects.toThrow('stopped');
  });

  it('uses the state machine ARN it is given for execution ARNs', async () => {
    const { local } = executions(
      ONE_TASK,
      { Work: async () => ({ Payload: 1 }) },
      { stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:other' },
    );

    const { executionArn } = await local.start('job-11-1', {});

    expect(executionArn).toBe('arn:aws:states:eu-west-1:123456789012:execution:other:job-11-1');
  });
});
