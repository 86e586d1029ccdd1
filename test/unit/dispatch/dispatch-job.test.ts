import { describe, expect, it } from 'vitest';
import {
  admissionDelay,
  type DispatchableJob,
  type DispatchPorts,
  dispatchJob,
} from '../../../functions/lib/dispatch/dispatch-job.ts';

function ports(
  job: DispatchableJob | undefined,
  options: { enabled?: boolean; lease?: boolean; startFails?: boolean } = {},
) {
  const calls: string[] = [];
  const p: DispatchPorts = {
    job: async () => job,
    policyEnabled: async () => options.enabled ?? true,
    cancel: async (id, reason) => {
      calls.push(`cancel ${id}: ${reason}`);
    },
    waitForSlot: async (waiting) => {
      calls.push(`wait ${waiting.id}`);
    },
    acquireLease: async () => options.lease ?? true,
    releaseLease: async (id) => {
      calls.push(`release ${id}`);
    },
    startExecution: async (name) => {
      if (options.startFails) throw new Error('throttled');
      calls.push(`start ${name}`);
    },
    requeue: async (message, delay) => {
      calls.push(`requeue ${message.jobId} waits=${message.waits} delay>=${delay >= 1}`);
    },
  };
  return { p, calls };
}

const queued: DispatchableJob = {
  id: 'j1',
  attempt: 2,
  status: 'QUEUED',
  policy: 'p',
  destinationRegistry: 'b',
  cancelRequested: false,
};

describe('dispatchJob', () => {
  it('gives back the slot it took when the job ended while its message was handled (a duplicate)', async () => {
    const running: DispatchableJob = { ...queued, status: 'RUNNING' };
    const { p, calls } = ports(running);
    let reads = 0;
    p.job = async () => (++reads === 1 ? running : { ...running, status: 'SUCCEEDED' });

    await dispatchJob(p, { jobId: 'j1', attempt: 2 });

    expect(calls).toEqual(['start j1-2', 'release j1']);
  });

  it('neither cancels nor ends a RUNNING job whose cancel was requested or whose policy was disabled', async () => {
    const { p, calls } = ports({ ...queued, status: 'RUNNING', cancelRequested: true }, { enabled: false });

    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('started');
    expect(calls).toEqual(['start j1-2']);
  });

  it('starts the execution named after the job and its attempt', async () => {
    const { p, calls } = ports(queued);
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('started');
    expect(calls).toEqual(['start j1-2']);
  });

  it('cancels a job whose policy is disabled, without starting it', async () => {
    const { p, calls } = ports(queued, { enabled: false });
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('cancelled');
    expect(calls).toEqual(['cancel j1: policy p is disabled']);
  });

  it('holds a job back with a delay when no slot is free, counting its waits, and records that it waits for a slot', async () => {
    const { p, calls } = ports(queued, { lease: false });
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2, waits: 3 })).toBe('delayed');
    expect(calls).toEqual(['wait j1', 'requeue j1 waits=4 delay>=true']);
  });

  it('drops messages of finished jobs and of older attempts', async () => {
    expect(await dispatchJob(ports({ ...queued, status: 'SUCCEEDED' }).p, { jobId: 'j1', attempt: 2 })).toBe(
      'dropped',
    );
    expect(await dispatchJob(ports(queued).p, { jobId: 'j1', attempt: 1 })).toBe('dropped');
    expect(await dispatchJob(ports(undefined).p, { jobId: 'j1', attempt: 1 })).toBe('dropped');
  });

  it('gives the slot back when the execution cannot be started', async () => {
    const { p, calls } = ports(queued, { startFails: true });
    await expect(dispatchJob(p, { jobId: 'j1', attempt: 2 })).rejects.toThrow('throttled');
    expect(calls).toEqual(['release j1']);
  });

  it('waits longer the more often a job waited, within SQS limits', () => {
    expect(admissionDelay(1, () => 1)).toBe(4);
    expect(admissionDelay(3, () => 1)).toBe(16);
    expect(admissionDelay(20, () => 1)).toBe(60);
    expect(admissionDelay(0, () => 0)).toBeGreaterThanOrEqual(1);
  });
});
