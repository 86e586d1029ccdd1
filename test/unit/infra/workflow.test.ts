import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { renderWorkflow, taskStates, type WorkflowSubstitutions } from '../../../infra/workflow.ts';
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

  it('names its states after the substates of a job', () => {
    const tasks = taskStates(renderWorkflow(SUBSTITUTIONS));

    expect([...tasks.keys()]).toEqual(
      expect.arrayContaining([
        'RecordRunning',
        'FetchManifest',
        'CheckManifest',
        'CheckBlob',
        'MountOrCopyBlob',
        'PushManifest',
        'CheckTag',
        'DeleteManifest',
        'RecordSucceeded',
        'RecordSkipped',
        'RecordCancelled',
        'RecordFailed',
      ]),
    );
  });

  it('gives every task a timeout, and retries only retryable errors', () => {
    const definition = JSON.parse(renderWorkflow(SUBSTITUTIONS));
    const tasks = [
      ...Object.values(definition.States),
      ...Object.values(definition.States.CopyBlobs.ItemProcessor.States),
    ] as { Type: string; TimeoutSeconds?: number; Retry?: { ErrorEquals: string[] }[] }[];

    for (const task of tasks.filter((s) => s.Type === 'Task')) {
      expect(task.TimeoutSeconds).toBeGreaterThan(0);
      for (const retry of task.Retry ?? []) expect(retry.ErrorEquals).not.toContain('States.ALL');
    }
  });

  it('refuses to render with a placeholder left without a value', () => {
    const { BlobsPerJob: _, ...missing } = SUBSTITUTIONS;
    expect(() => renderWorkflow(missing as WorkflowSubstitutions)).toThrow(/\$\{BlobsPerJob\} has no value/);
  });
});
