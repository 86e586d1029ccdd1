import { describe, expect, it } from 'vitest';
import { JobBatches } from '../../../functions/lib/jobs/job-batches.ts';
import type { JobMessage } from '../../../functions/lib/jobs/message.ts';

describe('JobBatches', () => {
  it('sends a batch as soon as it is full, the rest on flush, and only jobs that hold their tag', async () => {
    const sent: JobMessage[][] = [];
    const batches = new JobBatches(async (batch) => {
      sent.push(batch);
    }, 2);

    const filled = [
      await batches.add({ jobId: 'a', attempt: 1, enqueue: true }),
      await batches.add({ jobId: 'waits-for-its-tag', attempt: 1, enqueue: false }),
      await batches.add({ jobId: 'b', attempt: 2, enqueue: true }),
      await batches.add({ jobId: 'c', attempt: 1, enqueue: true }),
    ];
    await batches.flush();
    await batches.flush(); // nothing left: sends nothing

    expect(filled).toEqual([false, false, true, false]);
    expect(sent).toEqual([
      [
        { jobId: 'a', attempt: 1 },
        { jobId: 'b', attempt: 2 },
      ],
      [{ jobId: 'c', attempt: 1 }],
    ]);
  });
});
