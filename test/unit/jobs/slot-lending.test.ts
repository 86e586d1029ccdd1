import { describe, expect, it } from 'vitest';
import { ProcessSlots } from '../../../functions/lib/jobs/process-slots.ts';
import { SlotLending } from '../../../functions/lib/jobs/slot-lending.ts';

/** One destination with `perDestination` slots, the local runtime's slots, and a count of admissions. */
function lendingWith(perDestination: number) {
  const slots = new ProcessSlots();
  const admissions: number[] = [];
  const take = (id: string) =>
    slots.acquire({
      jobId: id,
      destination: 'b',
      globalLimit: 10,
      perDestinationLimit: perDestination,
      ttlSeconds: 600,
    });
  const lending = new SlotLending({
    release: (jobId) => slots.release(jobId),
    take: (job) => take(job.id),
    admitParked: async () => {
      admissions.push(await slots.countActive('b'));
    },
  });
  // Lending and taking back run after the report that decided them.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  /**
   * A lending on the same slots whose look at the line is slow (a burst's admissions): turns
   * decided meanwhile wait behind it until `lineLookedAt()`.
   */
  const withSlowLine = () => {
    const line: { lineLookedAt: () => void } = { lineLookedAt: () => undefined };
    const slow = new SlotLending({
      release: (jobId) => slots.release(jobId),
      take: (job) => take(job.id),
      admitParked: () => new Promise<void>((resolve) => (line.lineLookedAt = resolve)),
    });
    return { lending: slow, lineLookedAt: () => line.lineLookedAt() };
  };
  return {
    slots,
    take,
    lending,
    admissions,
    settle,
    withSlowLine,
    job: (id: string) => ({ id, destinationRegistry: 'b' }),
  };
}

describe('SlotLending', () => {
  it('lends the slot while the job’s only blob waits, and takes one back when the wait ends', async () => {
    const { slots, take, lending, admissions, settle, job } = lendingWith(1);
    await take('a');
    const blob = lending.blob(job('a'));

    const resumed = blob.waits();
    await settle();
    expect(await slots.holds('a')).toBe(false);
    expect(admissions).toEqual([0]); // the line was looked at with the slot free
    expect(lending.lends('a')).toBe(true);

    resumed();
    await settle();
    expect(await slots.holds('a')).toBe(true);
    expect(lending.lends('a')).toBe(false);
    blob.ends();
  });

  it('keeps the slot while another blob of the job is still being copied', async () => {
    const { slots, take, lending, admissions, settle, job } = lendingWith(1);
    await take('a');
    const copying = lending.blob(job('a'));
    const waiting = lending.blob(job('a'));

    waiting.waits();
    await settle();
    expect(await slots.holds('a')).toBe(true);

    copying.ends(); // now every blob in flight waits
    await settle();
    expect(await slots.holds('a')).toBe(false);
    expect(admissions).toHaveLength(1);
  });

  it('finishes without a slot when the lent one went to the next job meanwhile', async () => {
    const { slots, take, lending, settle, job } = lendingWith(1);
    await take('a');
    const blob = lending.blob(job('a'));
    const resumed = blob.waits();
    await settle();
    expect(await take('next')).toBe(true); // admitted into the lent slot

    resumed();
    await settle();
    expect(await slots.holds('a')).toBe(false);
    expect(await slots.countActive('b')).toBe(1);
    blob.ends();
  });

  it('leaves the slot lent when a blob is handed back still waiting, and takes one back at the job’s next blob', async () => {
    const { slots, take, lending, settle, job } = lendingWith(1);
    await take('a');
    const first = lending.blob(job('a'));
    first.waits();
    first.ends(); // the lane handed back waiting (SharedBlobBusyError): no invocation until its Retry
    await settle();
    expect(await slots.holds('a')).toBe(false);
    expect(lending.lends('a')).toBe(true);

    const next = lending.blob(job('a')); // CopyBlobs again, after the wait
    await settle();
    expect(await slots.holds('a')).toBe(true);
    next.ends();
  });

  it('forgets a job that ended, lent or not', async () => {
    const { take, lending, settle, job } = lendingWith(1);
    await take('a');
    lending.blob(job('a')).waits();
    await settle();
    expect(lending.lends('a')).toBe(true);

    lending.forget('a');
    expect(lending.lends('a')).toBe(false);
  });

  it('takes no slot back for a job that ended while its lending still ran', async () => {
    const { slots, take, settle, job, withSlowLine } = lendingWith(1);
    const { lending, lineLookedAt } = withSlowLine();
    await take('a');
    const blob = lending.blob(job('a'));
    const resumed = blob.waits();
    await settle();

    resumed(); // the wait ends: a take-back is decided, behind the lending
    blob.ends(); // the job mounts, pushes its manifest and ends: its end finds no slot to free
    lending.forget('a');
    lineLookedAt();
    await settle();

    expect(await slots.holds('a')).toBe(false);
    expect(await slots.countActive('b')).toBe(0);
  });

  it('gives back a slot it took for a job that ended meanwhile, and looks at the line again', async () => {
    const { slots, take, settle, job } = lendingWith(1);
    let lineLookedAt = 0;
    let slotTaken: () => void = () => undefined;
    const lending = new SlotLending({
      release: (jobId) => slots.release(jobId),
      // Taking the slot is slow (the records' round trips): the job ends in the middle of it.
      take: (lender) =>
        new Promise<boolean>((resolve) => {
          slotTaken = () => resolve(take(lender.id));
        }),
      admitParked: async () => {
        lineLookedAt++;
      },
    });
    await take('a');
    const blob = lending.blob(job('a'));
    const resumed = blob.waits();
    await settle();
    expect(lineLookedAt).toBe(1);

    resumed();
    await settle();
    blob.ends();
    lending.forget('a');
    slotTaken();
    await settle();

    expect(await slots.holds('a')).toBe(false);
    expect(await slots.countActive('b')).toBe(0);
    expect(lineLookedAt).toBe(2); // the slot freed again went to the line
  });

  it('lends nothing for a job that ended while the lending waited its turn: the slot under its id is a later attempt’s', async () => {
    const { slots, take, settle, job, withSlowLine } = lendingWith(1);
    const { lending, lineLookedAt } = withSlowLine();
    await take('a');
    const first = lending.blob(job('a'));
    const resumed = first.waits(); // lends, then looks at the line (slowly)
    await settle();
    resumed(); // a take-back, behind it
    const second = lending.blob(job('a'));
    second.waits(); // lends again, behind both
    first.ends();
    second.ends();
    lending.forget('a'); // the job ended
    expect(await take('a')).toBe(true); // its next attempt is admitted under the same id

    lineLookedAt();
    await settle();

    expect(await slots.holds('a')).toBe(true);
  });

  it('reports a slot it could not give back, and the job goes on', async () => {
    const warnings: string[] = [];
    const lending = new SlotLending({
      release: async () => {
        throw new Error('records unreachable');
      },
      take: async () => true,
      admitParked: async () => undefined,
      warn: (message) => warnings.push(message),
    });
    const blob = lending.blob({ id: 'a', destinationRegistry: 'b' });

    const resumed = blob.waits();
    await new Promise((resolve) => setTimeout(resolve, 0));
    resumed();
    blob.ends();

    expect(warnings).toEqual(['job a could not lend its slot']);
  });
});
