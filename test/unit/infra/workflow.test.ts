import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../functions/lib/config/defaults.ts';
import { WORKFLOW_FUNCTION_NAMES } from '../../../functions/lib/workflow/functions.ts';
import type { TaskDependencies } from '../../../functions/lib/workflow/ports.ts';
import { pipelineLimits } from '../../../infra/limits.ts';
import { localTaskHandlers } from '../../../infra/local/workflow-binding.ts';
import {
  forEachState,
  LOCAL_RETRY_INTERVALS,
  renderWorkflow,
  taskStates,
  WORKFLOW_FILE,
} from '../../../infra/workflow.ts';
import { exampleSubstitutions } from '../../support/workflow-substitutions.ts';

const SUBSTITUTIONS = exampleSubstitutions();

describe('the workflow definition', () => {
  it('is valid ASL once rendered, numbers as numbers', () => {
    const definition = renderWorkflow(SUBSTITUTIONS);
    const { isValid, errors } = aslValidator(JSON.parse(definition));

    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
    expect(JSON.parse(definition).TimeoutSeconds).toBe(3600);
    expect(JSON.parse(definition).States.CopyBlobs.MaxConcurrency).toBe(4);
  });

  it('is valid ASL as the local runtime renders it (the runtime does not check it again at each start)', () => {
    const { definition } = localTaskHandlers(pipelineLimits(DEFAULT_LIMITS), {} as TaskDependencies);
    const { isValid, errors } = aslValidator(JSON.parse(definition), { checkArn: true, checkPaths: true });

    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('lets the local runtime skip only the pause before a copy lane goes on, not a wait for a shared blob or any backoff', () => {
    const retriers = (JSON.parse(renderWorkflow(SUBSTITUTIONS)).States.CopyBlobs.ItemProcessor.States
      .MountOrCopyBlobs.Retry ?? []) as { ErrorEquals: string[]; IntervalSeconds: number }[];
    const overrides = LOCAL_RETRY_INTERVALS.MountOrCopyBlobs ?? [];

    expect(Object.keys(LOCAL_RETRY_INTERVALS)).toEqual(['MountOrCopyBlobs']);
    expect(overrides).toHaveLength(retriers.length);
    const skipped = retriers.filter((_, i) => (overrides[i] ?? -1) >= 0);
    expect(skipped.map((retrier) => retrier.ErrorEquals)).toEqual([['CopyContinuesError']]);
    expect(
      retriers.find((retrier) => retrier.ErrorEquals.includes('SharedBlobBusyError'))?.IntervalSeconds,
    ).toBe(2);
  });

  it('names its states after the substates of a job', () => {
    const tasks = taskStates(renderWorkflow(SUBSTITUTIONS));

    expect([...tasks.keys()]).toEqual(
      expect.arrayContaining([
        'FetchManifest',
        'MountOrCopyBlobs',
        'PushManifest',
        'DeleteManifest',
        'RecordCancelled',
        'RecordFailed',
      ]),
    );
  });

  it('gives every task a timeout, and retries only retryable errors', () => {
    const tasks: { Type?: string; TimeoutSeconds?: number; Retry?: { ErrorEquals: string[] }[] }[] = [];
    forEachState(renderWorkflow(SUBSTITUTIONS), (_name, state) => {
      tasks.push(state as (typeof tasks)[number]);
    });

    for (const task of tasks.filter((s) => s.Type === 'Task')) {
      expect(task.Retry?.length).toBeGreaterThan(0);
      expect(task.TimeoutSeconds).toBeGreaterThan(0);
      for (const retry of task.Retry ?? []) expect(retry.ErrorEquals).not.toContain('States.ALL');
    }
  });

  it('refuses to render a placeholder it has no value for, and a table function no state calls', () => {
    const withUnknown = JSON.stringify({
      StartAt: 'A',
      States: { A: { Type: 'Pass', Result: '${Nope}', End: true } },
    });
    expect(() => renderWorkflow(SUBSTITUTIONS, withUnknown)).toThrow(/\$\{Nope\} has no value/);
    expect(() => renderWorkflow(SUBSTITUTIONS, withUnknown.replace('${Nope}', 'x'))).toThrow(
      /no workflow state calls RecordState, FetchManifest/,
    );
  });

  it('calls one function of the table from each Task state, with that function’s retriers, and one Catch for the job’s states', () => {
    const raw = readFileSync(WORKFLOW_FILE, 'utf8');
    const called = new Set<string>();
    forEachState(raw, (name, state) => {
      if (state.Type !== 'Task') return;
      const fn = /^\$\{(\w+)FunctionArn\}$/.exec(state.Parameters?.FunctionName ?? '')?.[1];
      expect(fn, name).toBeDefined();
      expect(WORKFLOW_FUNCTION_NAMES, name).toContain(fn);
      expect(state.Retry, name).toBe(`\${${fn}Retry}`);
      called.add(fn as string);
    });
    expect([...called].sort()).toEqual([...WORKFLOW_FUNCTION_NAMES].sort());
    const catches = raw.match(/"Catch": "[^"]*"/g) ?? [];
    expect(new Set(catches)).toEqual(new Set(['"Catch": "${CancelOrFail}"']));
  });
});
