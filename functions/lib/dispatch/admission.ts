import type { JobMessage } from '../jobs/message.ts';

/**
 * Admission of parked jobs (docs/architecture.md, "Admission"). A job the dispatcher cannot
 * admit — no running slot free, overall or for its destination — is parked in the records, in
 * its destination's line, and its message is done with: nothing polls. Whenever a slot may have
 * freed (a job ended, a job was parked, the reconciler's safety net), `admitParked` takes the
 * first jobs in line that fit now — across destinations by their place in line (events before
 * scans, then oldest first), each destination within its own limit — out of their lines, takes
 * a running slot for each (so the next wake-up counts it, and none is woken twice for one
 * slot), and sends each a message without delay; the dispatcher finds its slot held and starts
 * it. Taking a job out of line is conditional, so of two callers at once only one sends it; a
 * job whose slot another took first goes back to its place in line.
 */

export interface Parked {
  jobId: string;
  attempt: number;
  destination: string;
  /** Its place in line: lower comes first. */
  order: string;
  policy?: string | undefined;
}

export interface AdmissionPorts {
  /** The destination registries jobs may be parked for. */
  destinations(): Promise<string[]>;
  /** Running slots in use, overall or for one destination. */
  slotsInUse(destination?: string): Promise<number>;
  /** The first `limit` jobs in the destination's line. */
  parked(destination: string, limit: number): Promise<Parked[]>;
  /** Takes the job out of its line; false when another caller already did. */
  unpark(parked: Parked): Promise<boolean>;
  /** Puts the job back at its place in line. */
  repark(parked: Parked): Promise<void>;
  /** Takes a running slot (overall and for its destination) for the job; false when none is free. */
  reserve(parked: Parked): Promise<boolean>;
  send(messages: (JobMessage & { woken: true; policy?: string })[]): Promise<void>;
}

export interface AdmissionLimits {
  runningJobs: number;
  perDestination: number;
}

/** Rounds of looking again when other callers took the jobs this one picked (each round re-reads). */
const ROUNDS = 3;

/** Sends the parked jobs that fit into the free slots now; answers how many. */
export async function admitParked(ports: AdmissionPorts, limits: AdmissionLimits): Promise<number> {
  let admitted = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const { sent, lostRaces } = await admitRound(ports, limits);
    admitted += sent;
    // Another caller woke a job this one had picked: the slot it meant for it may be free still.
    if (!lostRaces) break;
  }
  return admitted;
}

async function admitRound(
  ports: AdmissionPorts,
  limits: AdmissionLimits,
): Promise<{ sent: number; lostRaces: boolean }> {
  // Every count and every line at once: one round trip to the records, not two (the hand-off's
  // time is mostly such round trips in a row).
  const destinations = await ports.destinations();
  const [inUse, lines] = await Promise.all([
    ports.slotsInUse(),
    Promise.all(
      destinations.map(async (destination) => {
        const [inUseThere, line] = await Promise.all([
          ports.slotsInUse(destination),
          ports.parked(destination, Math.min(limits.runningJobs, limits.perDestination)),
        ]);
        return line.slice(0, Math.max(0, limits.perDestination - inUseThere));
      }),
    ),
  ]);
  const free = limits.runningJobs - inUse;
  if (free <= 0) return { sent: 0, lostRaces: false };
  const candidates = lines.flat();
  candidates.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  let lostRaces = false;
  const admit = async (parked: Parked): Promise<Parked | undefined> => {
    if (!(await ports.unpark(parked))) {
      lostRaces = true; // another caller took it
      return undefined;
    }
    try {
      if (await ports.reserve(parked)) return parked;
    } catch (error) {
      // Out of line with no message to come, it would wait for the reconciler's safety net:
      // back to its place, for the next admission.
      await ports.repark(parked).catch(() => undefined);
      throw error;
    }
    await ports.repark(parked); // its slot went to another job: back to its place
    return undefined;
  };
  // One job's failure (a throttled write) does not hold back the others' wake-ups: they are out
  // of line with their slots taken, and only this round sends them.
  const settled = await Promise.allSettled(candidates.slice(0, free).map(admit));
  const woken = settled
    .flatMap((result) => (result.status === 'fulfilled' && result.value !== undefined ? [result.value] : []))
    .map((parked) => ({
      jobId: parked.jobId,
      attempt: parked.attempt,
      woken: true as const,
      // The dispatcher reads the policy while it reads the job, not after.
      ...(parked.policy === undefined ? {} : { policy: parked.policy }),
    }));
  if (woken.length > 0) await ports.send(woken);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return { sent: woken.length, lostRaces };
}
