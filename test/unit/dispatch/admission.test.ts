import { describe, expect, it } from 'vitest';
import { type AdmissionPorts, admitParked, type Parked } from '../../../functions/lib/dispatch/admission.ts';

/** Lines and slots in memory: enough to state admission's rules. */
function world(options: { runningJobs: number; perDestination: number }) {
  const lines = new Map<string, Parked[]>();
  const held = new Map<string, string>(); // jobId → destination
  const sent: string[] = [];
  let stolen: string[] = []; // jobs another caller takes out of line first
  const park = (destination: string, ...jobs: [id: string, order: string][]) => {
    const line = lines.get(destination) ?? [];
    line.push(...jobs.map(([jobId, order]) => ({ jobId, attempt: 1, destination, order })));
    line.sort((a, b) => (a.order < b.order ? -1 : 1));
    lines.set(destination, line);
  };
  const inUse = (destination?: string) =>
    [...held.values()].filter((d) => destination === undefined || d === destination).length;
  const ports: AdmissionPorts = {
    destinations: async () => [...lines.keys()],
    slotsInUse: async (destination) => inUse(destination),
    parked: async (destination, limit) => (lines.get(destination) ?? []).slice(0, limit),
    unpark: async (parked) => {
      const line = lines.get(parked.destination) ?? [];
      const at = line.findIndex((job) => job.jobId === parked.jobId);
      if (at < 0) return false;
      line.splice(at, 1);
      if (stolen.includes(parked.jobId)) {
        stolen = stolen.filter((id) => id !== parked.jobId);
        return false; // another caller woke it a moment before
      }
      return true;
    },
    repark: async (parked) => park(parked.destination, [parked.jobId, parked.order]),
    reserve: async (parked) => {
      if (inUse() >= options.runningJobs || inUse(parked.destination) >= options.perDestination) return false;
      held.set(parked.jobId, parked.destination);
      return true;
    },
    send: async (messages) => {
      sent.push(...messages.map((message) => message.jobId));
    },
  };
  return {
    ports,
    park,
    held,
    sent,
    lines,
    steal: (jobId: string) => stolen.push(jobId),
    admit: () => admitParked(ports, options),
  };
}

describe('admitParked', () => {
  it('wakes the first jobs in line into the free slots, and takes their slots for them', async () => {
    const w = world({ runningJobs: 3, perDestination: 3 });
    w.held.set('running', 'b');
    w.park('b', ['j3', '0#3'], ['j1', '0#1'], ['j2', '0#2']);

    expect(await w.admit()).toBe(2);

    expect(w.sent).toEqual(['j1', 'j2']);
    expect([...w.held.keys()]).toEqual(['running', 'j1', 'j2']);
    expect(w.lines.get('b')?.map((job) => job.jobId)).toEqual(['j3']);
  });

  it('sends nothing and changes nothing when no slot is free', async () => {
    const w = world({ runningJobs: 1, perDestination: 1 });
    w.held.set('running', 'b');
    w.park('b', ['j1', '0#1']);

    expect(await w.admit()).toBe(0);
    expect(w.sent).toEqual([]);
    expect(w.lines.get('b')).toHaveLength(1);
  });

  it('takes a fresh push (events come first) before an older job of a backfill', async () => {
    const w = world({ runningJobs: 1, perDestination: 1 });
    w.park('b', ['scan-old', '1#2026-01-01'], ['push-new', '0#2026-06-01']);

    await w.admit();

    expect(w.sent).toEqual(['push-new']);
  });

  it('keeps each destination within its own limit, so a full destination does not hold another back', async () => {
    const w = world({ runningJobs: 4, perDestination: 2 });
    w.held.set('r1', 'b');
    w.held.set('r2', 'b');
    w.park('b', ['b1', '0#1'], ['b2', '0#2']);
    w.park('c', ['c1', '0#3'], ['c2', '0#4'], ['c3', '0#5']);

    await w.admit();

    expect(w.sent).toEqual(['c1', 'c2']);
    expect(w.lines.get('b')?.map((job) => job.jobId)).toEqual(['b1', 'b2']);
  });

  it('across destinations, the oldest in line comes first when slots are few', async () => {
    const w = world({ runningJobs: 1, perDestination: 1 });
    w.park('b', ['b1', '0#2']);
    w.park('c', ['c1', '0#1']);

    await w.admit();

    expect(w.sent).toEqual(['c1']);
  });

  it('looks again when another caller woke the job it picked: the slot it meant for it goes to the next', async () => {
    const w = world({ runningJobs: 1, perDestination: 1 });
    w.park('b', ['j1', '0#1'], ['j2', '0#2']);
    w.steal('j1');

    expect(await w.admit()).toBe(1);

    expect(w.sent).toEqual(['j2']);
  });

  it('sends the others when one job cannot take its slot (a throttled write), and puts that one back in line', async () => {
    const w = world({ runningJobs: 3, perDestination: 3 });
    w.park('b', ['j1', '0#1'], ['j2', '0#2'], ['j3', '0#3']);
    const reserve = w.ports.reserve;
    w.ports.reserve = async (parked) => {
      if (parked.jobId === 'j2') throw new Error('ProvisionedThroughputExceededException');
      return reserve(parked);
    };

    await expect(w.admit()).rejects.toThrow('ProvisionedThroughputExceededException');

    expect(w.sent).toEqual(['j1', 'j3']);
    expect([...w.held.keys()]).toEqual(['j1', 'j3']);
    expect(w.lines.get('b')?.map((job) => job.jobId)).toEqual(['j2']);
  });
});
