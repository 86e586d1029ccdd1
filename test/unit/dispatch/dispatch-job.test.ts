import { describe, expect, it } from 'vitest';
import {
  type DispatchableJob,
  type DispatchPorts,
  dispatchJob,
} from '../../../functions/lib/dispatch/dispatch-job.ts';

function ports(
  job: DispatchableJob | undefined,
  options: {
    enabled?: boolean;
    lease?: boolean;
    held?: boolean;
    behind?: boolean;
    startFails?: boolean;
    /** The execution was there already (AWS: ExecutionAlreadyExists). */
    existed?: boolean;
  } = {},
) {
  const calls: string[] = [];
  const p: DispatchPorts = {
    job: async () => job,
    policyEnabled: async () => options.enabled ?? true,
    cancel: async (id, reason) => {
      calls.push(`cancel ${id}: ${reason}`);
    },
    park: async (waiting) => {
      calls.push(`park ${waiting.id}`);
    },
    unpark: async (started) => {
      calls.push(`unpark ${started.id}`);
    },
    admitParked: async () => {
      calls.push('admit');
    },
    acquireLease: async () => options.lease ?? true,
    holdsLease: async () => options.held ?? true,
    waitsBehind: async () => options.behind ?? false,
    releaseLease: async (id) => {
      calls.push(`release ${id}`);
      return options.held ?? true;
    },
    startExecution: async (name) => {
      if (options.startFails) throw new Error('throttled');
      calls.push(`start ${name}`);
      return options.existed ? 'existed' : 'started';
    },
  };
  return { p, calls };
}

const queued: DispatchableJob = {
  id: 'j1',
  attempt: 2,
  action: 'push',
  status: 'QUEUED',
  policy: 'p',
  destinationRegistry: 'b',
  cancelRequested: false,
  createdAt: '2025-01-01T00:00:00.000Z',
};

describe('dispatchJob', () => {
  it('gives back the slot it took when the job ended while its message was handled (a duplicate)', async () => {
    const running: DispatchableJob = { ...queued, status: 'RUNNING' };
    const { p, calls } = ports(running, { existed: true });
    let reads = 0;
    p.job = async () => (++reads === 1 ? running : { ...running, status: 'SUCCEEDED' });

    await dispatchJob(p, { jobId: 'j1', attempt: 2 });

    expect(calls).toEqual(['start j1-2', 'unpark j1', 'release j1', 'admit']);
  });

  it('reads the job once when it starts the execution itself (its end will free the slot)', async () => {
    const { p, calls } = ports(queued);
    let reads = 0;
    p.job = async () => {
      reads++;
      return queued;
    };

    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('started');
    expect(calls).toEqual(['start j1-2']);
    expect(reads).toBe(1);
  });

  it('neither cancels nor ends a RUNNING job whose cancel was requested or whose policy was disabled', async () => {
    const { p, calls } = ports({ ...queued, status: 'RUNNING', cancelRequested: true }, { enabled: false });

    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('started');
    expect(calls).toEqual(['start j1-2', 'unpark j1']);
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

  it('parks a job when no slot is free — no message sent again — and looks for a slot freed meanwhile', async () => {
    const { p, calls } = ports(queued, { lease: false });
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('parked');
    expect(calls).toEqual(['park j1', 'admit']);
  });

  it('queues a new job up behind the jobs parked before it, even with a slot free', async () => {
    const { p, calls } = ports(queued, { behind: true, lease: true });
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('parked');
    expect(calls).toEqual(['park j1', 'admit']);
  });

  it('takes a parked job whose message came otherwise (a restart, the reconciler) out of its line as it starts', async () => {
    const { p, calls } = ports(
      { ...queued, wait: { reason: 'slot', since: queued.createdAt } },
      { held: false },
    );
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('started');
    expect(calls).toEqual(['start j1-2', 'unpark j1']);
  });

  it('starts a parked job in the slots admission took for it when its wake-up came as a plain message (the reconciler’s re-send)', async () => {
    // Another job is in line before it and no slot is free: only the slots held for it let it start.
    const parked = { ...queued, wait: { reason: 'slot' as const, since: queued.createdAt } };
    const { p, calls } = ports(parked, { held: true, behind: true, lease: false });
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('started');
    expect(calls).toEqual(['start j1-2', 'unpark j1']);
  });

  it('starts a woken job in the slots taken for it, with nothing more to take out of line', async () => {
    const parked = { ...queued, wait: { reason: 'slot' as const, since: queued.createdAt } };
    const { p, calls } = ports(parked, { held: true, lease: false });
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2, woken: true })).toBe('started');
    expect(calls).toEqual(['start j1-2']);

    const expired = ports(parked, { held: false, lease: false });
    expect(await dispatchJob(expired.p, { jobId: 'j1', attempt: 2, woken: true })).toBe('parked');
    expect(expired.calls).toEqual(['park j1', 'admit']);
  });

  it('hands on the slot taken for a woken job that ended meanwhile; a cancel’s end frees it itself', async () => {
    const ended = ports({ ...queued, status: 'CANCELLED' });
    expect(await dispatchJob(ended.p, { jobId: 'j1', attempt: 2, woken: true })).toBe('dropped');
    expect(ended.calls).toEqual(['release j1', 'admit']);

    const released = ports({ ...queued, status: 'CANCELLED' }, { held: false });
    expect(await dispatchJob(released.p, { jobId: 'j1', attempt: 2, woken: true })).toBe('dropped');
    expect(released.calls).toEqual(['release j1']);

    const disabled = ports(queued, { enabled: false });
    expect(await dispatchJob(disabled.p, { jobId: 'j1', attempt: 2, woken: true })).toBe('cancelled');
    expect(disabled.calls).toEqual(['cancel j1: policy p is disabled']);
  });

  it('checks the policy a woken message names while it reads the job, and the job’s own when they differ', async () => {
    const asked: string[] = [];
    const disabled = ports(queued, { enabled: false });
    disabled.p.policyEnabled = async (name) => {
      asked.push(name);
      return false;
    };
    expect(await dispatchJob(disabled.p, { jobId: 'j1', attempt: 2, woken: true, policy: 'p' })).toBe(
      'cancelled',
    );
    expect(asked).toEqual(['p']);

    asked.length = 0;
    expect(await dispatchJob(disabled.p, { jobId: 'j1', attempt: 2, woken: true, policy: 'other' })).toBe(
      'cancelled',
    );
    expect(asked).toEqual(['other', 'p']);
  });

  it('parks a RUNNING job that finds no slot: one re-driven after a restart, its lease gone with the process', async () => {
    const { p, calls } = ports({ ...queued, status: 'RUNNING' }, { lease: false });
    expect(await dispatchJob(p, { jobId: 'j1', attempt: 2 })).toBe('parked');
    expect(calls).toEqual(['park j1', 'admit']);
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
    expect(calls).toEqual(['release j1', 'admit']);
  });
});
